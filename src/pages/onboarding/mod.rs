//! The Onboarding page. (Placeholder until the onboarding work, issue 3, fills it.)

use leptos::prelude::*;

use crate::components::not_built::NotBuiltYet;

#[component]
pub fn OnboardingPage() -> impl IntoView {
    view! { <NotBuiltYet title_key="nav.onboarding" /> }
}
