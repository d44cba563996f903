//! Helpers shared by the browser tests: mount with test contexts, act like a user, wait for the DOM.
#![allow(dead_code)]

use std::time::Duration;

use api_types::{Role, RuntimeConfig, SessionUser};
use leptos::prelude::{document, Callback};
use wadesk::api::ApiClient;
use wadesk::i18n::{I18n, Language};
use wadesk::state::session::Session;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement};

/// A fresh container in the page, so each test mounts into its own element.
pub fn container() -> HtmlElement {
    let element = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&element).unwrap();
    element.unchecked_into()
}

pub fn test_user() -> SessionUser {
    SessionUser {
        id: "user-1".into(),
        email: "ana@example.com".into(),
        name: "Ana Pereira".into(),
        role: Role::Admin,
        account_id: "account-1".into(),
        account_name: "Acme Trading".into(),
    }
}

/// The app contexts for a test: an API client pointing nowhere (tests here make no calls),
/// the given language and session user.
pub fn provide_test_context(config: RuntimeConfig, language: Language, user: Option<SessionUser>) -> (I18n, Session) {
    let i18n = I18n::with_language(language);
    // Pieces mounted on their own (a number card, a form) find their page's strings.
    for table in wadesk::pages::STRING_TABLES {
        wadesk::i18n::register(table);
    }
    let session = Session::settled(user);
    let api = ApiClient::new("http://127.0.0.1:9", "", Callback::new(move |_| session.clear()));
    wadesk::provide_app_context(config, String::new(), i18n, session, api);
    (i18n, session)
}

/// Wait (by polling, up to 3 s) until `found` answers something.
pub async fn eventually<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(value) = found() {
            return value;
        }
        gloo_timers::future::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

pub fn find(root: &Element, testid: &str) -> Option<Element> {
    root.query_selector(&format!("[data-testid=\"{testid}\"]")).unwrap()
}

/// The element with this test id, once it appears under `root`.
pub async fn wait_for(root: &Element, testid: &str) -> Element {
    let root = root.clone();
    eventually(testid, || find(&root, testid)).await
}

/// Wait until the text of `testid` is `expected`.
pub async fn wait_for_text(root: &Element, testid: &str, expected: &str) {
    let root = root.clone();
    eventually(&format!("{testid} to read {expected:?}"), || {
        find(&root, testid).and_then(|element| element.text_content()).filter(|text| text.trim() == expected).map(|_| ())
    })
    .await
}

fn bubbling_event(name: &str) -> web_sys::Event {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    web_sys::Event::new_with_event_init_dict(name, &init).unwrap()
}

/// Type into an input: set its value and fire `input`, as the browser does.
pub fn type_into(element: &Element, text: &str) {
    let input: &HtmlInputElement = element.unchecked_ref();
    input.set_value(text);
    input.dispatch_event(&bubbling_event("input")).unwrap();
}

/// Pick an option of a `<select>` and fire `change`.
pub fn choose(element: &Element, value: &str) {
    let select: &web_sys::HtmlSelectElement = element.unchecked_ref();
    select.set_value(value);
    select.dispatch_event(&bubbling_event("change")).unwrap();
}

pub fn click(element: &Element) {
    element.unchecked_ref::<HtmlElement>().click();
}

/// Put the browser at `path` (as if the user had opened that address) before mounting a router.
pub fn open_path(path: &str) {
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path))
        .unwrap();
}

pub fn current_path_and_query() -> String {
    let location = web_sys::window().unwrap().location();
    format!("{}{}", location.pathname().unwrap(), location.search().unwrap())
}
