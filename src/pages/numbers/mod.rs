//! The Numbers page. (Being written.)

pub mod parts;

use leptos::prelude::*;

use crate::components::not_built::NotBuiltYet;

#[component]
pub fn NumbersPage() -> impl IntoView {
    view! { <NotBuiltYet title_key="nav.numbers" /> }
}
