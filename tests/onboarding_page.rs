//! The onboarding page mounted in a real browser with a stand-in `window.FB` (loaded from a
//! `data:` URL through the same runtime SDK loader), fed with real `message` events.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use api_types::{FacebookConfig, Role, RuntimeConfig, SessionUser};
use leptos::prelude::*;
use wadesk::api::ApiClient;
use wadesk::i18n::{I18n, Language};
use wadesk::pages::onboarding::OnboardingPage;
use wadesk::state::session::Session;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const FAKE_SDK: &str = "window.FB={init:function(o){window.__fbInit=o},\
login:function(cb,o){window.__fbLogins=(window.__fbLogins||0)+1;window.__fbOptions=o;window.__fbCallback=cb}};\
if(typeof window.fbAsyncInit==='function'){window.fbAsyncInit()}";

fn js(source: &str) -> wasm_bindgen::JsValue {
    js_sys::Function::new_no_args(source).call0(&wasm_bindgen::JsValue::NULL).expect("script runs")
}

fn page_origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}

fn element(testid: &str) -> Option<web_sys::HtmlElement> {
    let document = web_sys::window()?.document()?;
    document.query_selector(&format!("[data-testid=\"{testid}\"]")).ok()??.dyn_into().ok()
}

fn attr(testid: &str, name: &str) -> Option<String> {
    element(testid)?.get_attribute(name)
}

async fn wait_until(what: &str, check: impl Fn() -> bool) {
    for _ in 0..250 {
        if check() {
            return;
        }
        gloo_timers::future::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Dispatch a `message` event as the browser would for a cross-window post from `origin`.
fn post_session_info(origin: &str, payload: &str) {
    let script = format!(
        "window.dispatchEvent(new MessageEvent('message', {{data: {}, origin: {}}}))",
        serde_json::to_string(payload).unwrap(),
        serde_json::to_string(origin).unwrap()
    );
    js(&script);
}

fn mount_page() {
    let sdk_url = format!("data:text/javascript,{}", js_sys::encode_uri_component(FAKE_SDK));
    let config = RuntimeConfig {
        sandbox: true,
        trusted_origins: vec![page_origin()],
        facebook: FacebookConfig {
            sdk_url,
            app_id: "app-123".into(),
            config_id: "cfg-cloud".into(),
            coexistence_config_id: "cfg-coex".into(),
            solution_id: String::new(),
            graph_api_version: "v23.0".into(),
            embedded_signup_version: "v4".into(),
        },
        ..RuntimeConfig::default()
    };
    let user = SessionUser {
        id: "u1".into(),
        email: "admin@example.com".into(),
        name: "Admin".into(),
        role: Role::Admin,
        account_id: "a1".into(),
        account_name: "wadesk".into(),
    };
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().dyn_into().unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host, move || {
        let session = Session::settled(Some(user.clone()));
        let api = ApiClient::new("", "", Callback::new(|_| ()));
        wadesk::provide_app_context(config.clone(), String::new(), I18n::with_language(Language::English), session, api);
        view! { <OnboardingPage /> }
    });
    std::mem::forget(handle);
}

#[wasm_bindgen_test]
async fn the_page_loads_the_sdk_guards_double_clicks_and_follows_trusted_messages_only() {
    mount_page();
    wait_until("the SDK to be ready", || attr("sdk-status", "data-state").as_deref() == Some("ready")).await;
    assert_eq!(js("return window.__fbInit.appId").as_string().as_deref(), Some("app-123"));
    assert_eq!(js("return window.__fbInit.version").as_string().as_deref(), Some("v23.0"));

    // A double click opens one popup, with the v4 options of the cloud flow.
    let launch = element("signup-launch-cloud").expect("the launch button");
    launch.click();
    launch.click();
    assert_eq!(js("return window.__fbLogins").as_f64(), Some(1.0));
    assert_eq!(js("return window.__fbOptions.config_id").as_string().as_deref(), Some("cfg-cloud"));
    assert_eq!(js("return window.__fbOptions.response_type").as_string().as_deref(), Some("code"));
    assert_eq!(js("return JSON.stringify(window.__fbOptions.extras)").as_string().as_deref(), Some(r#"{"setup":{}}"#));
    wait_until("the launch buttons to be disabled", || {
        element("signup-launch-coexistence").and_then(|button| button.get_attribute("disabled")).is_some()
    })
    .await;
    assert_eq!(attr("signup-status", "data-state").as_deref(), Some("running"));

    // A look-alike origin is ignored; a trusted one ends the attempt with its step.
    let cancel = r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PHONE_NUMBER_VERIFICATION"}}"#;
    post_session_info("https://evilfacebook.com", cancel);
    post_session_info("http://www.facebook.com", cancel);
    // `dispatchEvent` runs the listener synchronously: had it accepted the cancel, the state would show it now.
    assert_eq!(attr("signup-status", "data-state").as_deref(), Some("running"), "untrusted origins change nothing");
    post_session_info(&page_origin(), cancel);
    wait_until("the cancel", || attr("signup-status", "data-state").as_deref() == Some("cancelled")).await;
    let words = element("signup-cancel-step").unwrap().text_content().unwrap_or_default();
    assert!(words.contains("Verify the phone number"), "the step in words: {words}");
    assert_eq!(attr("signup-step-connecting", "data-status").as_deref(), Some("failed"));

    // The late login callback of the cancelled attempt is ignored.
    js("window.__fbCallback({status:'unknown', authResponse:null})");
    assert_eq!(attr("signup-status", "data-state").as_deref(), Some("cancelled"));

    // Restart with coexistence; Facebook itself (as an object, not a string) reports an error.
    element("signup-launch-coexistence").unwrap().click();
    assert_eq!(js("return window.__fbLogins").as_f64(), Some(2.0));
    assert_eq!(js("return window.__fbOptions.config_id").as_string().as_deref(), Some("cfg-coex"));
    assert_eq!(
        js("return window.__fbOptions.extras.featureType").as_string().as_deref(),
        Some("whatsapp_business_app_onboarding")
    );
    js(r#"window.dispatchEvent(new MessageEvent('message', {origin: 'https://business.facebook.com',
        data: {type:'WA_EMBEDDED_SIGNUP', event:'ERROR', data:{error_message:'<b>not bold</b>', error_id:'e-7', session_id:'sess-42'}}}))"#);
    wait_until("the error", || attr("signup-status", "data-state").as_deref() == Some("error")).await;
    assert_eq!(element("signup-session-id").unwrap().text_content().as_deref(), Some("sess-42"));
    let message = element("signup-error-message").unwrap();
    assert_eq!(message.text_content().as_deref(), Some("<b>not bold</b>"), "upstream text is shown as text");
    assert!(message.query_selector("b").unwrap().is_none(), "never as HTML");
    assert_eq!(element("signup-error-code").unwrap().text_content().as_deref(), Some("e-7"));
}
