//! The language picker of the top bar and the login pages.

use leptos::prelude::*;

use crate::config::use_config;
use crate::components::icons::{Icon, IconKind};
use crate::i18n::{use_i18n, Language};

/// A `<select>` of the configured languages, each labelled in its own language.
/// Picking one switches every text at once and is remembered for the next visit.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let mut languages: Vec<Language> =
        use_config().languages.iter().filter_map(|code| Language::from_code(code)).collect();
    languages.dedup();
    if languages.is_empty() {
        languages = Language::ALL.to_vec();
    }
    let on_change = move |event| {
        if let Some(language) = Language::from_code(&event_target_value(&event)) {
            i18n.set_language(language);
        }
    };
    view! {
        <label class="language-switch">
            <span class="visually-hidden">{i18n.text("shell.language")}</span>
            <span class="language-switch-icon"><Icon kind=IconKind::Language /></span>
            <select
                data-testid="language-switch"
                aria-label=i18n.text("shell.language")
                prop:value=move || i18n.language().code()
                on:change=on_change
            >
                {languages
                    .into_iter()
                    .map(|language| {
                        view! {
                            <option
                                value=language.code()
                                selected=move || i18n.language() == language
                            >
                                {language.native_name()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
