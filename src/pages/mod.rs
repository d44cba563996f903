//! One module per route, and the table of which pages are loaded lazily.
//!
//! The login page, the 404 page and the route guard are in the first download; every other page,
//! and the app frame around the pages behind the login, is its own chunk (see [`lazy`]).

pub mod auth_form;
pub mod inbox;
pub mod lazy;
pub mod login;
pub mod not_found;
pub mod numbers;
pub mod onboarding;
pub mod session_gate;
pub mod settings;
pub mod signup;
pub mod team;

use leptos::prelude::*;
use leptos_router::components::Outlet;

use crate::components::app_frame::AppFrame;
use crate::components::skeleton::{PageShape, SkeletonKind};
use crate::i18n::Table;
use crate::lazy_page;
use lazy::LazyPage;

lazy_page!(pub APP_FRAME, app_frame_chunk, SkeletonKind::Framed(PageShape::Cards), || view! {
    <AppFrame on_intent=Callback::new(prefetch_page)><Outlet /></AppFrame>
}
.into_any());

/// The user is about to open the page at `path` (pointer over its link): fetch its code now.
fn prefetch_page(path: &'static str) {
    if let Some(page) = app_page_for(path) {
        page.preload();
    }
    if path == "/inbox" {
        INBOX_THREAD.preload();
    }
}
lazy_page!(pub SIGNUP_PAGE, signup_page_chunk, SkeletonKind::Alone(PageShape::AuthForm), || view! {
    <signup::SignupPage />
}
.into_any());
lazy_page!(pub ONBOARDING_PAGE, onboarding_page_chunk, SkeletonKind::Alone(PageShape::Steps), || view! {
    <onboarding::OnboardingPage />
}
.into_any());
lazy_page!(pub NUMBERS_PAGE, numbers_page_chunk, SkeletonKind::Alone(PageShape::Cards), || view! {
    <numbers::NumbersPage />
}
.into_any());
lazy_page!(pub INBOX_PAGE, inbox_page_chunk, SkeletonKind::Alone(PageShape::Inbox), || view! {
    <inbox::InboxPage />
}
.into_any());
// The inbox's thread pane (messages and composer) is a chunk of its own, fetched as soon as the
// inbox is on its way: the whole inbox would be over the per-chunk budget.
lazy_page!(pub INBOX_THREAD, inbox_thread_chunk, SkeletonKind::Alone(PageShape::Inbox), || view! {
    <inbox::thread::ThreadPane />
}
.into_any());
lazy_page!(pub TEAM_PAGE, team_page_chunk, SkeletonKind::Alone(PageShape::Table), || view! {
    <team::TeamPage />
}
.into_any());
lazy_page!(pub SETTINGS_PAGE, settings_page_chunk, SkeletonKind::Alone(PageShape::Form), || view! {
    <settings::SettingsPage />
}
.into_any());

/// The pages behind the login, by their app path (without the base path).
pub static APP_PAGES: [(&str, &LazyPage); 5] = [
    ("/onboarding", &ONBOARDING_PAGE),
    ("/numbers", &NUMBERS_PAGE),
    ("/inbox", &INBOX_PAGE),
    ("/team", &TEAM_PAGE),
    ("/settings", &SETTINGS_PAGE),
];

/// The page an app path (`/numbers`, `/numbers/123?x=1`) lands on, if it is one behind the login.
pub fn app_page_for(path: &str) -> Option<&'static LazyPage> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    APP_PAGES.iter().find(|(prefix, _)| path == *prefix || path.starts_with(&format!("{prefix}/"))).map(|(_, page)| *page)
}

/// While a visitor logs in or signs up: once the browser is idle, fetch the app frame and the
/// page they will land on (`next`, an app path), so arriving never waits on the network.
pub fn prefetch_landing(next: String) {
    crate::browser::when_idle(move || {
        crate::APP_SHELL.preload();
        APP_FRAME.preload();
        if let Some(page) = app_page_for(&next) {
            page.preload();
        }
    });
}

/// Every page's string table (each page registers its own as it renders): for the i18n checks
/// and for tests that mount a page's pieces on their own.
pub const STRING_TABLES: [Table; 3] = [numbers::strings::STRINGS, onboarding::strings::STRINGS, inbox::strings::STRINGS];
