//! The placeholder for pages that later issues fill in.

use leptos::prelude::*;

use crate::components::icons::{Icon, IconKind};
use crate::components::page_title::use_page_title;
use crate::i18n::use_i18n;

/// A page that exists in the navigation but has no content yet: its title and a plain notice.
#[component]
pub fn NotBuiltYet(
    /// The i18n key of the page title (usually the navigation label, such as `nav.inbox`).
    title_key: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    use_page_title(title_key);
    view! {
        <section class="page" data-testid="page-not-built">
            <header class="page-header">
                <h1 class="page-title">{i18n.text(title_key)}</h1>
            </header>
            <div class="empty-state">
                <div class="empty-state-icon"><Icon kind=IconKind::Construction /></div>
                <p class="empty-state-text">{i18n.text("page.not_built")}</p>
            </div>
        </section>
    }
}
