//! The centred card layout of the login and sign-up pages.

use leptos::prelude::*;

use crate::components::language_switch::LanguageSwitch;
use crate::components::page_title::use_page_title;
use crate::i18n::use_i18n;

/// Brand, language switch and a card holding the page's form.
#[component]
pub fn AuthLayout(
    /// The i18n key of the card's heading.
    title_key: &'static str,
    /// The i18n key of the line under the heading.
    subtitle_key: &'static str,
    children: Children,
) -> impl IntoView {
    let i18n = use_i18n();
    use_page_title(title_key);
    view! {
        <main class="auth-screen">
            <div class="auth-corner">
                <LanguageSwitch />
            </div>
            <div class="auth-card">
                <div class="brand brand-large">
                    <span class="brand-mark" aria-hidden="true"></span>
                    <span class="brand-name">"wadesk"</span>
                </div>
                <h1 class="auth-title">{i18n.text(title_key)}</h1>
                <p class="auth-subtitle muted">{i18n.text(subtitle_key)}</p>
                {children()}
            </div>
            <p class="auth-footer muted">{i18n.text("shell.tagline")}</p>
        </main>
    }
}
