//! The route guard of every page behind the login.

use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_location};

use crate::components::skeleton::{PageShape, PageSkeleton, SkeletonKind};
use crate::pages::lazy::Lazy;
use crate::pages::{app_page_for, APP_FRAME};
use crate::state::navigation::{login_path_returning_to, strip_base, use_base_path};
use crate::state::session::use_session;

/// The parent route of the app pages: while the session is being checked it shows a loading
/// notice, once known it shows the app frame with the matched page, or sends a logged-out
/// visitor to `/login?next=<where they wanted to go>`.
///
/// The frame and the page are loaded lazily: both downloads start at once, in parallel with the
/// session check, and the frame's skeleton shows the page's skeleton inside it meanwhile.
#[component]
pub fn RequireSession() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let base = use_base_path();
    let landing = app_page_for(&strip_base(&location.pathname.get_untracked(), &base));
    APP_FRAME.preload();
    if let Some(page) = landing {
        page.preload();
    }
    let page_shape = landing.map(|page| page.skeleton.shape()).unwrap_or(PageShape::Cards);
    // Only a change between logged-in and logged-out re-renders the frame, not a refreshed user.
    let access = Memo::new(move |_| {
        if session.is_loading() {
            None
        } else {
            Some(session.is_logged_in())
        }
    });
    move || match access.get() {
        // The frame's skeleton while the session is checked: usually it is there, and the page follows.
        None => view! { <PageSkeleton kind=SkeletonKind::Framed(page_shape) /> }.into_any(),
        Some(true) => view! { <Lazy page=&APP_FRAME skeleton=SkeletonKind::Framed(page_shape) /> }.into_any(),
        Some(false) => {
            // Where the visitor wanted to go, as an app path (without the base) with its query.
            let path = strip_base(&location.pathname.get_untracked(), &base);
            let search = location.search.get_untracked();
            let return_to = if search.is_empty() { path } else { format!("{path}?{search}") };
            let login = login_path_returning_to(&return_to);
            view! { <Redirect path=login options=replace_history() /> }.into_any()
        }
    }
}

fn replace_history() -> leptos_router::NavigateOptions {
    leptos_router::NavigateOptions { replace: true, ..Default::default() }
}
