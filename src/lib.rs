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
use leptos_router::hooks::use_navigate;
use leptos_router::path;

use crate::api::ApiClient;
use crate::i18n::I18n;
use crate::components::skeleton::{PageShape, SkeletonKind};
use crate::pages::lazy::Lazy;
use crate::pages::session_gate::RequireSession;
use crate::pages::{
    login::LoginPage, not_found::NotFoundPage, INBOX_PAGE, NUMBERS_PAGE, ONBOARDING_PAGE, SETTINGS_PAGE, SIGNUP_PAGE,
    TEAM_PAGE,
};
use crate::state::navigation::{prefix_base, strip_base, use_base_path, AppBasePath, Go, HOME_PATH, LOGIN_PATH};
use crate::state::session::Session;

/// Make the app-wide contexts available to everything rendered under the current owner.
pub fn provide_app_context(config: RuntimeConfig, base_path: String, i18n: I18n, session: Session, api: ApiClient) {
    provide_context(config);
    provide_context(AppBasePath(base_path));
    provide_context(i18n);
    provide_context(session);
    provide_context(api);
}

/// The whole console: contexts, the start-up session check, and then either the login page or
/// the app with its router.
///
/// The router and every page but the login page are loaded on first use (see `pages::lazy`): a
/// visit to `/login` shows the login form without waiting for them (the first download stays
/// small) and fetches them once the browser is idle; logging in then moves to the app. Any other
/// address loads the app at once, in parallel with the session check, and shows the skeleton of
/// the page asked for meanwhile.
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

    let path = strip_base(&browser::current_pathname(), &base_path);
    let show_app = RwSignal::new(path != LOGIN_PATH);
    let skeleton = match pages::app_page_for(&path) {
        Some(page) => {
            APP_SHELL.preload();
            pages::APP_FRAME.preload();
            page.preload();
            SkeletonKind::Framed(page.skeleton.shape())
        }
        None => SkeletonKind::Alone(PageShape::AuthForm),
    };
    // Until the app is up, leaving the login page means: that address, then the app.
    provide_context(Go(Callback::new(move |(next, replace): (String, bool)| {
        browser::set_address(&prefix_base(&base_path, &next), replace);
        show_app.set(true);
    })));
    move || {
        if show_app.get() {
            view! { <Lazy page=&APP_SHELL skeleton /> }.into_any()
        } else {
            view! { <LoginPage /> }.into_any()
        }
    }
}

lazy_page!(pub APP_SHELL, app_shell_chunk, SkeletonKind::Alone(PageShape::AuthForm), || view! { <AppShell /> }.into_any());

/// The router and every route: the app once it is past the login page.
#[component]
pub fn AppShell() -> impl IntoView {
    view! {
        <Router base=use_base_path()>
            <AppRoutes />
        </Router>
    }
}

/// Every route of the console. Pages behind the login are children of the session guard; all
/// but the login and 404 pages are loaded on first use (see `pages::lazy`).
#[component]
pub fn AppRoutes() -> impl IntoView {
    let navigate = use_navigate();
    provide_context(Go(Callback::new(move |(path, replace): (String, bool)| {
        navigate(&path, leptos_router::NavigateOptions { replace, ..Default::default() })
    })));
    view! {
        <Routes fallback=|| view! { <NotFoundPage /> }>
            <Route path=path!("/login") view=LoginPage />
            <Route path=path!("/signup") view=|| view! { <Lazy page=&SIGNUP_PAGE /> } />
            <ParentRoute path=path!("") view=RequireSession>
                <Route path=path!("/onboarding") view=|| view! { <Lazy page=&ONBOARDING_PAGE /> } />
                <Route path=path!("/numbers") view=|| view! { <Lazy page=&NUMBERS_PAGE /> } />
                <Route path=path!("/inbox") view=|| view! { <Lazy page=&INBOX_PAGE /> } />
                <Route path=path!("/team") view=|| view! { <Lazy page=&TEAM_PAGE /> } />
                <Route path=path!("/settings") view=|| view! { <Lazy page=&SETTINGS_PAGE /> } />
                <Route path=path!("") view=|| view! { <Redirect path=HOME_PATH /> } />
            </ParentRoute>
        </Routes>
    }
}
