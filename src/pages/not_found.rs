//! The page for any address the console does not know.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::page_title::use_page_title;
use crate::i18n::use_i18n;
use crate::state::navigation::app_href;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    let i18n = use_i18n();
    use_page_title("not_found.title");
    view! {
        <main class="auth-screen">
            <div class="auth-card not-found" data-testid="not-found-page">
                <p class="not-found-code" aria-hidden="true">"404"</p>
                <h1 class="auth-title">{i18n.text("not_found.title")}</h1>
                <p class="muted">{i18n.text("not_found.explanation")}</p>
                <A href=app_href("/") attr:class="button button-primary button-block" attr:data-testid="not-found-home-link">
                    {i18n.text("not_found.home")}
                </A>
            </div>
        </main>
    }
}
