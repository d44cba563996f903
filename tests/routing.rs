//! The routes and the session guard, mounted with the real router in the browser.
//! Each test opens its address first, as a user typing it would.
#![cfg(target_arch = "wasm32")]

mod support;

use api_types::RuntimeConfig;
use leptos::prelude::*;
use leptos_router::components::Router;
use support::*;
use wadesk::i18n::Language;
use wadesk::AppRoutes;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Open `address` as a user typing it would, and mount the routes there (logged in as `user`).
fn open_app(address: &str, user: Option<api_types::SessionUser>) -> (web_sys::HtmlElement, impl Drop) {
    open_path(address);
    let root = container();
    let mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_test_context(RuntimeConfig::default(), Language::English, user);
        view! { <Router><AppRoutes /></Router> }
    });
    (root, mounted)
}

#[wasm_bindgen_test]
async fn routes_and_guard_behave_like_the_contract_says() {
    // One test, run in order: the router follows the single browser address of the page.
    // The link click comes first: a router of an earlier mount may still listen for clicks.

    // Logged in, the page shows inside the frame, with the user and the active navigation item.
    let (root, mounted) = open_app("/inbox", Some(test_user()));
    wait_for(&root, "inbox-page").await;
    wait_for_text(&root, "topbar-account-name", "Acme Trading").await;
    wait_for_text(&root, "topbar-user-name", "Ana Pereira").await;
    wait_for_text(&root, "topbar-user-role", "Admin").await;
    let inbox_link = find(&root, "nav-inbox").unwrap();
    assert_eq!(inbox_link.get_attribute("aria-current").as_deref(), Some("page"));
    assert_eq!(find(&root, "nav-team").unwrap().get_attribute("aria-current"), None);
    for testid in ["nav-onboarding", "nav-numbers", "nav-settings", "language-switch", "logout-button"] {
        assert!(find(&root, testid).is_some(), "{testid} is missing");
    }

    // Following a navigation link changes the page without reloading.
    click(&find(&root, "nav-team").unwrap());
    eventually("the team page", || (current_path_and_query() == "/team").then_some(())).await;
    eventually("the team link to be active", || {
        (find(&root, "nav-team").unwrap().get_attribute("aria-current").as_deref() == Some("page")).then_some(())
    })
    .await;
    drop(mounted);

    // Logged out, an app page sends the visitor to the login page, remembering where they were.
    let (root, mounted) = open_app("/team?tab=agents", None);
    wait_for(&root, "login-email").await;
    eventually("the login address", || {
        (current_path_and_query() == "/login?next=/team%3Ftab%3Dagents").then_some(())
    })
    .await;
    assert!(find(&root, "page-not-built").is_none());
    drop(mounted);

    // A logged-in user opening the login page goes on to the page in `next`...
    let (root, mounted) = open_app("/login?next=/settings", Some(test_user()));
    eventually("the settings page", || (current_path_and_query() == "/settings").then_some(())).await;
    wait_for(&root, "page-not-built").await;
    drop(mounted);

    // ...but never off the site.
    let (_, mounted) = open_app("/login?next=//evil.com", Some(test_user()));
    eventually("the home page", || (current_path_and_query() == "/onboarding").then_some(())).await;
    drop(mounted);

    // An escaped `//` in `next` (decoded once by the query) is not followed either.
    let (_, mounted) = open_app("/login?next=/%252F%252Fevil.com", Some(test_user()));
    eventually("the home page", || (current_path_and_query() == "/onboarding").then_some(())).await;
    drop(mounted);

    // Under a base path, a `next` that carries the base (a browser path) is not prefixed twice,
    // and `/console//evil.com` does not become `//evil.com`.
    for (address, expected) in [
        ("/console/login?next=/console/settings%3Ftab%3D1", "/console/settings?tab=1"),
        ("/console/login?next=/console//evil.com", "/console/onboarding"),
    ] {
        open_path(address);
        let root = container();
        let mounted = leptos::mount::mount_to(root.clone(), || {
            let session = wadesk::state::session::Session::settled(Some(test_user()));
            let api = wadesk::api::ApiClient::new("http://127.0.0.1:9", "/console", Callback::new(|_| ()));
            let i18n = wadesk::i18n::I18n::with_language(Language::English);
            wadesk::provide_app_context(RuntimeConfig::default(), "/console".into(), i18n, session, api);
            view! { <Router base="/console"><AppRoutes /></Router> }
        });
        eventually(expected, || (current_path_and_query() == expected).then_some(())).await;
        drop(mounted);
    }

    // An unknown address shows the 404 page with a way home.
    let (root, mounted) = open_app("/no/such/page", None);
    wait_for(&root, "not-found-page").await;
    let home = find(&root, "not-found-home-link").unwrap();
    assert_eq!(home.get_attribute("href").as_deref(), Some("/"));
    drop(mounted);
}
