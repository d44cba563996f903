//! The placeholder for pages that later issues fill in.

use leptos::prelude::*;

use crate::components::icons::{Icon, IconKind};
use crate::i18n::use_i18n;

/// A page that exists in the navigation but has no content yet: its title and a plain notice.
#[component]
pub fn NotBuiltYet(
    /// The i18n key of the page title (usually the navigation label, such as `nav.inbox`).
    title_key: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="page" data-testid="page-not-built">
            <header class="page-header">
                <h1 class="page-title">{move || i18n.t(title_key)}</h1>
            </header>
            <div class="empty-state">
                <div class="empty-state-icon"><Icon kind=IconKind::Construction /></div>
                <p class="empty-state-text">{move || i18n.t("page.not_built")}</p>
            </div>
        </section>
    }
}
