//! The Inbox page. (A placeholder: a later issue builds it.)

use leptos::prelude::*;

use crate::components::not_built::NotBuiltYet;

#[component]
pub fn InboxPage() -> impl IntoView {
    view! { <NotBuiltYet title_key="nav.inbox" /> }
}
