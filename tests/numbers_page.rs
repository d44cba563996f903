//! The Numbers page mounted in a real browser, with `window.fetch` answering for the server:
//! a failed load shows an error with a retry (never an empty list), a `number` event updates a
//! row in place, with its open settings panel, instead of rebuilding it, and a reload after the
//! event stream was down (or a reset) that fails keeps the list under a "stale" notice.
//!
//! Each test file runs in its own page, so replacing `fetch` here touches no other test file.

#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use api_types::RuntimeConfig;
use leptos::prelude::*;
use leptos_router::components::Router;
use support::*;
use wadesk::api::ApiClient;
use wadesk::i18n::{I18n, Language};
use wadesk::api::events::StreamSignal;
use wadesk::pages::numbers::NumbersPage;
use wadesk::state::realtime::{provide_realtime, Realtime};
use wadesk::state::session::Session;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// A stand-in server for `fetch`: the first path segment names the test's server, whose
/// `window.__servers[name]` says what it answers (`fail`: a proxy's error page; `status` of the
/// one number; `numbers`: whether the account has it) and counts the loads (each asks for the WABAs first). The browser runs
/// this file's async tests side by side, so each test has its own.
const FAKE_FETCH: &str = r#"
window.__servers = window.__servers || {};
window.fetch = function (input) {
    const path = new URL(typeof input === 'string' ? input : input.url, window.location.href).pathname;
    const api = window.__servers[path.split('/')[1]];
    const answer = (data) => Promise.resolve(new Response(JSON.stringify({ code: 0, message: 'Success', data }),
        { status: 200, headers: { 'Content-Type': 'application/json' } }));
    if (path.endsWith('/whatsapp/account/wabaInfo')) api.loads += 1;
    if (api.fail) return Promise.resolve(new Response('<html>Bad gateway</html>', { status: 502 }));
    if (path.endsWith('/whatsapp/account/wabaInfo')) {
        return answer(api.numbers ? [{ wabaId: 'waba-1', wabaName: 'Blue Bakery', wabaStatus: 'APPROVED' }] : []);
    }
    if (path.endsWith('/whatsapp/numbers/list')) {
        return answer(api.numbers ? [{
            phoneNumberId: 'phone-1', wabaId: 'waba-1', wabaName: 'Blue Bakery',
            displayPhoneNumber: '+1 555-0102', verifiedName: 'Blue Bakery', status: api.status,
            disconnectReason: null, qualityRating: 'GREEN', messageLimit: 'TIER_250', origin: 'manual',
            registration: { attemptsInWindow: 0, limit: 10, nextAttemptAt: null }, sync: null,
            createdAt: 0, updatedAt: 0,
        }] : []);
    }
    if (path.endsWith('/whatsapp/webhookSettings')) {
        return answer({ callbackUrl: 'https://console.example/webhooks/meta', verifyToken: 'token-1' });
    }
    return Promise.resolve(new Response(JSON.stringify({ code: 40400, message: 'Not found' }), { status: 404 }));
};
"#;

fn js(source: &str) -> JsValue {
    js_sys::Function::new_no_args(source).call0(&JsValue::NULL).expect("script runs")
}

/// One test's stand-in server.
struct FakeServer {
    name: &'static str,
}

impl FakeServer {
    /// A server with one PENDING number, changed by `setup` (`{ fail: true }`) before the page asks.
    fn start(name: &'static str, setup: &str) -> FakeServer {
        js(FAKE_FETCH);
        js(&format!("window.__servers[{name:?}] = {{ fail: false, status: 'PENDING', numbers: true, loads: 0 }}"));
        let server = FakeServer { name };
        server.set(setup);
        server
    }

    /// Change what the server answers from now on: `{ status: 'CONNECTED' }`.
    fn set(&self, changes: &str) {
        if !changes.is_empty() {
            js(&format!("Object.assign(window.__servers[{:?}], {changes})", self.name));
        }
    }

    fn loads(&self) -> f64 {
        js(&format!("return window.__servers[{:?}].loads", self.name)).as_f64().unwrap_or(0.0)
    }

    /// Mount the Numbers page talking to this server, in a realtime context the test dispatches
    /// events to (unmounted when the handle is dropped).
    fn mount_numbers_page(&self, language: Language) -> (Element, Realtime, Box<dyn std::any::Any>) {
        let root = container();
        let api_base = format!("http://127.0.0.1:9/{}", self.name);
        let slot = RwSignal::new(None::<Realtime>);
        let handle = leptos::mount::mount_to(root.clone(), move || {
            let session = Session::settled(Some(test_user()));
            let api = ApiClient::new(&api_base, "", Callback::new(move |_| session.clear()));
            wadesk::provide_app_context(RuntimeConfig::default(), String::new(), I18n::with_language(language), session, api);
            slot.set(Some(provide_realtime()));
            view! { <Router><NumbersPage /></Router> }
        });
        (root.into(), slot.get_untracked().expect("mounted"), Box::new(handle))
    }
}

fn same_node(a: &Element, b: Option<&Element>) -> bool {
    a.is_same_node(b.map(std::ops::Deref::deref))
}

/// Wait (polling, up to `seconds`) until `check` holds.
async fn wait_until(what: &str, seconds: u64, mut check: impl FnMut() -> bool) {
    for _ in 0..seconds * 50 {
        if check() {
            return;
        }
        gloo_timers::future::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn text_of(root: &Element, testid: &str) -> String {
    find(root, testid).and_then(|element| element.text_content()).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_failed_load_shows_an_error_and_a_retry_never_an_empty_list() {
    let server = FakeServer::start("failed_load", "{ fail: true }");
    let (root, _realtime, _mounted) = server.mount_numbers_page(Language::English);

    let error = wait_for(&root, "numbers-error").await;
    let text = error.text_content().unwrap_or_default();
    assert!(text.contains("The numbers could not be loaded."), "{text}");
    assert!(find(&root, "numbers-empty").is_none(), "a failure is not an empty account");
    assert!(find(&root, "number-row").is_none());
    assert!(find(&root, "numbers-loading").is_none(), "the load has ended");

    // The server answers again: the retry brings the list, and the error goes.
    server.set("{ fail: false }");
    click(&wait_for(&root, "numbers-retry").await);
    wait_for_text(&root, "number-display", "+1 555-0102").await;
    wait_for_text(&root, "waba-name", "Blue Bakery").await;
    eventually("the error to go", || find(&root, "numbers-error").is_none().then_some(())).await;
}

#[wasm_bindgen_test]
async fn an_account_without_numbers_says_so() {
    let server = FakeServer::start("no_numbers", "{ numbers: false }");
    let (root, _realtime, _mounted) = server.mount_numbers_page(Language::SimplifiedChinese);
    let empty = wait_for(&root, "numbers-empty").await;
    assert!(empty.text_content().unwrap_or_default().contains("此账户尚未连接任何 WhatsApp 号码。"));
    assert!(find(&root, "numbers-error").is_none());
    assert!(find(&root, "numbers-empty-onboarding").is_some(), "it says where to connect one");
}

#[wasm_bindgen_test]
async fn a_number_event_updates_the_row_in_place_and_a_failed_reload_keeps_it() {
    let server = FakeServer::start("refresh", "");
    let (root, realtime, _mounted) = server.mount_numbers_page(Language::English);
    let row = wait_for(&root, "number-row").await;
    let status = wait_for(&root, "number-status").await;
    assert_eq!(status.get_attribute("data-status").as_deref(), Some("PENDING"));
    assert_eq!(text_of(&root, "number-status"), "Pending");
    let loads = server.loads();

    // Open the settings panel: it must survive the updates below.
    click(&wait_for(&root, "number-settings").await);
    wait_for(&root, "number-settings-panel").await;

    // The stream brings the number's new status into the same row, without asking the server.
    let mut connected = realtime.numbers.get("phone-1").expect("the number is in the store");
    connected.status = api_types::NumberStatus::Connected;
    realtime.dispatch(StreamSignal::Event(Box::new(api_types::InboxEvent {
        id: "7".into(),
        data: api_types::InboxEventData::Number { number: connected },
    })));
    wait_until("the status to turn CONNECTED", 3, || {
        find(&root, "number-status").and_then(|badge| badge.get_attribute("data-status")).as_deref() == Some("CONNECTED")
    })
    .await;
    assert_eq!(text_of(&root, "number-status"), "Connected");
    assert!(same_node(&row, find(&root, "number-row").as_ref()), "the row was updated in place, not rebuilt");
    assert!(find(&root, "number-settings-panel").is_some(), "the open settings panel stayed open");
    assert!(find(&root, "numbers-loading").is_none(), "an event shows no loading state");
    assert_eq!(server.loads(), loads, "no polling: the event was enough");

    // After the stream was down the page reloads; a reload that fails keeps the list on screen,
    // under an error that says it is stale.
    server.set("{ fail: true }");
    realtime.dispatch(StreamSignal::Up);
    realtime.dispatch(StreamSignal::Down);
    realtime.dispatch(StreamSignal::Up);
    wait_until("a failed reload", 3, || find(&root, "numbers-error").is_some()).await;
    assert!(server.loads() > loads, "the error comes from a reload");
    assert!(text_of(&root, "numbers-error").contains("The list could not be refreshed"), "{}", text_of(&root, "numbers-error"));
    assert!(same_node(&row, find(&root, "number-row").as_ref()), "the row is still shown");
    assert!(find(&root, "numbers-empty").is_none());

    // A removed number leaves at once; the server asking for a reset reloads, and the error goes.
    server.set("{ fail: false }");
    realtime.dispatch(StreamSignal::Reset);
    wait_until("the error to go after the reload", 3, || find(&root, "numbers-error").is_none()).await;
    assert!(same_node(&row, find(&root, "number-row").as_ref()));
    realtime.dispatch(StreamSignal::Event(Box::new(api_types::InboxEvent {
        id: "8".into(),
        data: api_types::InboxEventData::NumberRemoved { phone_number_id: "phone-1".into() },
    })));
    wait_until("the row to go", 3, || find(&root, "number-row").is_none()).await;
}
