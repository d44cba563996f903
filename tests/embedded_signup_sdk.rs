//! The web-sys glue around the Facebook SDK (`wadesk::embedded_signup::facebook_sdk`), driven with a
//! stand-in `window.FB` and real `message` events.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use api_types::{FacebookConfig, SignupFlow};
use wadesk::embedded_signup::facebook_sdk::{launch, listen_for_session_info};
use wadesk::embedded_signup::session_info::SessionInfoEvent;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn js(source: &str) -> JsValue {
    js_sys::Function::new_no_args(source).call0(&JsValue::NULL).expect("script runs")
}

/// A stand-in `FB` whose `login` keeps the callback in `window.__fbCallback`.
fn install_fake_fb() {
    js("window.FB = {init: function () {}, login: function (cb) { window.__fbCallback = cb; }}");
}

/// Launch with the stand-in and collect every code the page is told about.
fn launch_and_record() -> Rc<RefCell<Vec<Option<String>>>> {
    install_fake_fb();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let record = seen.clone();
    launch(&FacebookConfig::default(), SignupFlow::Cloud, move |code| record.borrow_mut().push(code)).expect("launch");
    seen
}

#[wasm_bindgen_test]
fn a_login_callback_called_twice_counts_once_and_does_not_throw() {
    let seen = launch_and_record();
    js("window.__fbCallback({status: 'connected', authResponse: {code: 'code-1'}})");
    // A second call (the SDK reporting a status change) must neither throw inside the SDK nor be heard.
    js("window.__fbCallback({status: 'unknown', authResponse: null})");
    js("window.__fbCallback({status: 'connected', authResponse: {code: 'code-2'}})");
    assert_eq!(*seen.borrow(), vec![Some("code-1".to_owned())]);
}

#[wasm_bindgen_test]
fn login_responses_without_a_usable_code_give_none() {
    for response in [
        "{status: 'unknown', authResponse: null}",
        "{status: 'unknown'}",
        "undefined",
        "null",
        "'connected'",
        "{authResponse: {code: 42}}",
        "{authResponse: {code: ''}}",
        "{authResponse: 'code'}",
    ] {
        let seen = launch_and_record();
        js(&format!("window.__fbCallback({response})"));
        assert_eq!(*seen.borrow(), vec![None], "{response}");
    }
}

#[wasm_bindgen_test]
fn only_trusted_origins_are_heard_and_object_data_is_read_too() {
    let heard = Rc::new(RefCell::new(Vec::new()));
    let record = heard.clone();
    let handle = listen_for_session_info(Vec::new(), move |message| record.borrow_mut().push(message.event));
    let post = |origin: &str, data: &str| {
        js(&format!("window.dispatchEvent(new MessageEvent('message', {{data: {data}, origin: {}}}))", serde_json::to_string(origin).unwrap()))
    };
    let cancel = r#"'{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PERMISSIONS"}}'"#;
    post("https://evilfacebook.com", cancel);
    post("https://www.facebook.com.evil.com", cancel);
    post("null", cancel);
    // Other Facebook frames talk to the page too: ignored without a sound.
    post("https://www.facebook.com", "'cb=f1c2&origin=https%3A%2F%2Fexample&relation=opener'");
    post("https://www.facebook.com", "{type: 'xd', payload: {a: 1}}");
    post("https://www.facebook.com", "new ArrayBuffer(8)");
    post("https://www.facebook.com", "(function () { var o = {type: 'WA_EMBEDDED_SIGNUP'}; o.self = o; return o; })()");
    post("https://www.facebook.com", "12");
    assert!(heard.borrow().is_empty(), "{:?}", heard.borrow());
    post("https://www.facebook.com", cancel);
    post("https://business.facebook.com", "{type: 'WA_EMBEDDED_SIGNUP', event: 'FINISH', data: {waba_id: 102290129340398}}");
    handle.remove();
    post("https://www.facebook.com", cancel);
    let heard = heard.borrow();
    assert_eq!(heard.len(), 2, "{heard:?}");
    assert_eq!(heard[0], SessionInfoEvent::Cancelled { step: Some("PERMISSIONS".into()) });
    assert!(matches!(&heard[1], SessionInfoEvent::Finished(finish) if finish.waba_id == "102290129340398"), "{heard:?}");
}
