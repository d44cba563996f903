//! What the console shows when `config.json` cannot be read: nothing else can work without it.

use leptos::prelude::*;

use crate::config::ConfigError;
use crate::i18n::{lookup, Language};

/// A plain, bilingual error screen with a retry button (which reloads the page).
/// It shows both languages at once, because the language choice itself comes from the config.
#[component]
pub fn ConfigErrorView(error: ConfigError) -> impl IntoView {
    let both = |key: &str| {
        Language::ALL
            .into_iter()
            .map(|language| {
                view! { <span lang=language.code()>{lookup(language, key)}</span> }
            })
            .collect_view()
    };
    let title = Language::ALL
        .into_iter()
        .map(|language| view! { <h1 class="auth-title" lang=language.code()>{lookup(language, "config_error.title")}</h1> })
        .collect_view();
    let explanation = Language::ALL
        .into_iter()
        .map(|language| view! { <p class="muted" lang=language.code()>{lookup(language, "config_error.explanation")}</p> })
        .collect_view();
    view! {
        <main class="auth-screen">
            <div class="auth-card" data-testid="config-error" role="alert">
                <div class="brand brand-large"><span class="brand-mark" aria-hidden="true"></span>"wadesk"</div>
                {title}
                {explanation}
                <pre class="config-error-detail" data-testid="config-error-detail">{error.to_string()}</pre>
                <button
                    class="button button-primary button-block button-stacked"
                    type="button"
                    data-testid="config-error-retry"
                    on:click=move |_| crate::browser::reload_page()
                >
                    {both("config_error.retry")}
                </button>
            </div>
        </main>
    }
}
