//! The Settings page. (A placeholder: a later issue builds it.)

use leptos::prelude::*;

use crate::components::not_built::NotBuiltYet;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! { <NotBuiltYet title_key="nav.settings" /> }
}
