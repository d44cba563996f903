//! wadesk: the WhatsApp Business console, a Leptos client-side app.
//!
//! `main.rs` only reads `config.json` and mounts [`App`]; everything else lives here so tests can
//! mount any piece with their own contexts (see [`provide_app_context`]).

pub mod api;
pub mod browser;
pub mod components;
pub mod config;
pub mod embedded_signup;
pub mod i18n;
pub mod pages;
pub mod state;

use api_types::RuntimeConfig;
use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;

use crate::api::ApiClient;
use crate::components::session_gate::RequireSession;
use crate::i18n::I18n;
use crate::pages::{
    inbox::InboxPage, login::LoginPage, not_found::NotFoundPage, numbers::NumbersPage, onboarding::OnboardingPage,
    settings::SettingsPage, signup::SignupPage, team::TeamPage,
};
use crate::state::navigation::{AppBasePath, HOME_PATH};
use crate::state::session::Session;

/// Make the app-wide contexts available to everything rendered under the current owner.
pub fn provide_app_context(config: RuntimeConfig, base_path: String, i18n: I18n, session: Session, api: ApiClient) {
    provide_context(config);
    provide_context(AppBasePath(base_path));
    provide_context(i18n);
    provide_context(session);
    provide_context(api);
}

/// The whole console: contexts, the start-up session check and the routes.
#[component]
pub fn App(config: RuntimeConfig) -> impl IntoView {
    let base_path = browser::base_path();
    let i18n = I18n::new(&config.default_language);
    let session = Session::unknown();
    // The one place a "not logged in" answer is handled: forget the user, and the route guard
    // takes them to the login page.
    let api = ApiClient::new(&config.api_base_url, &base_path, Callback::new(move |_| session.clear()));
    provide_app_context(config, base_path.clone(), i18n, session, api);
    session.load(api);

    view! {
        <Router base=base_path>
            <AppRoutes />
        </Router>
    }
}

/// Every route of the console. Pages behind the login are children of the session guard.
#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=|| view! { <NotFoundPage /> }>
            <Route path=path!("/login") view=LoginPage />
            <Route path=path!("/signup") view=SignupPage />
            <ParentRoute path=path!("") view=RequireSession>
                <Route path=path!("/onboarding") view=OnboardingPage />
                <Route path=path!("/numbers") view=NumbersPage />
                <Route path=path!("/inbox") view=InboxPage />
                <Route path=path!("/team") view=TeamPage />
                <Route path=path!("/settings") view=SettingsPage />
                <Route path=path!("") view=|| view! { <Redirect path=HOME_PATH /> } />
            </ParentRoute>
        </Routes>
    }
}
