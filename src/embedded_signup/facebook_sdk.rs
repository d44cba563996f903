//! The Facebook JS SDK in the page: loading it at runtime, `FB.init`, `FB.login` for Embedded
//! Signup, and the `message` listener for the popup's session info.
//!
//! The SDK URL comes from `config.json` (the sandbox serves a stand-in), so nothing about
//! Facebook is compiled into the bundle.

use std::cell::Cell;
use std::time::Duration;

use api_types::{FacebookConfig, SignupFlow};
use leptos::leptos_dom::helpers::{window_event_listener_untyped, WindowListenerHandle};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::login_options::{init_options, login_options};
use super::origin::is_trusted_origin;
use super::session_info::{parse_session_info, SessionInfoMessage};

/// The `id` of the SDK's `<script>`, as in Facebook's own snippet (it skips loading twice).
const SCRIPT_ID: &str = "facebook-jssdk";

/// How long to wait for the SDK before offering a retry.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(15);

thread_local! {
    /// `FB.init` ran for the `FB` object on this page. Navigating away from the onboarding page
    /// and back must not initialise or load the SDK again.
    static INITIALISED: Cell<bool> = const { Cell::new(false) };
}

/// Why the SDK is not available.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdkError {
    #[error("the Facebook SDK script could not be fetched from {0}")]
    ScriptFailed(String),
    #[error("the Facebook SDK did not start within {0} seconds")]
    TimedOut(u64),
    #[error("the Facebook SDK is not usable: {0}")]
    Broken(String),
}

fn window() -> web_sys::Window {
    web_sys::window().expect("the SPA runs in a browser window")
}

fn global_fb() -> Option<JsValue> {
    let fb = js_sys::Reflect::get(&window(), &JsValue::from_str("FB")).ok()?;
    (!fb.is_undefined() && !fb.is_null()).then_some(fb)
}

fn js_error_text(error: &JsValue) -> String {
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// Load the SDK from `config.sdk_url` (a relative URL resolves against the document's base URL,
/// as any `<script src>` does) and call `FB.init`. Safe to call again after a failure: the old
/// script element is replaced.
pub async fn load(config: &FacebookConfig, timeout: Duration) -> Result<(), SdkError> {
    if INITIALISED.with(Cell::get) && global_fb().is_some() {
        return Ok(());
    }
    if global_fb().is_none() {
        inject_script_and_wait(&config.sdk_url, timeout).await?;
    }
    initialise(config)
}

async fn inject_script_and_wait(sdk_url: &str, timeout: Duration) -> Result<(), SdkError> {
    let window = window();
    let document = window.document().ok_or_else(|| SdkError::Broken("no document".into()))?;
    if let Some(old) = document.get_element_by_id(SCRIPT_ID) {
        old.remove();
    }
    let script: web_sys::HtmlScriptElement = document
        .create_element("script")
        .and_then(|element| element.dyn_into().map_err(JsValue::from))
        .map_err(|error| SdkError::Broken(js_error_text(&error)))?;
    script.set_id(SCRIPT_ID);
    script.set_async(true);
    script.set_cross_origin(Some("anonymous"));
    script.set_src(sdk_url);
    let resolved_url = script.src();

    let timeout_ms = timeout.as_millis() as i32;
    let ready = js_sys::Promise::new(&mut |resolve, reject| {
        // Facebook calls `fbAsyncInit` once `FB` exists; `onload` covers stand-ins that define
        // `FB` without calling it. Either settles the promise; the first one wins.
        let on_async_init = {
            let resolve = resolve.clone();
            Closure::once_into_js(move || {
                _ = resolve.call1(&JsValue::NULL, &JsValue::from_str("fbAsyncInit"));
            })
        };
        _ = js_sys::Reflect::set(&window, &JsValue::from_str("fbAsyncInit"), &on_async_init);
        let on_load = {
            let resolve = resolve.clone();
            let reject = reject.clone();
            Closure::once_into_js(move || {
                if global_fb().is_some() {
                    _ = resolve.call1(&JsValue::NULL, &JsValue::from_str("load"));
                } else {
                    // The script ran but defined nothing yet: leave it to fbAsyncInit or the timeout,
                    // unless it never will (an empty or wrong script).
                    let reject = reject.clone();
                    let check = Closure::once_into_js(move || {
                        if global_fb().is_none() {
                            _ = reject.call1(&JsValue::NULL, &JsValue::from_str("no-fb"));
                        }
                    });
                    _ = web_sys::window()
                        .expect("window")
                        .set_timeout_with_callback_and_timeout_and_arguments_0(check.unchecked_ref(), 3_000);
                }
            })
        };
        script.set_onload(Some(on_load.unchecked_ref()));
        let on_error = {
            let reject = reject.clone();
            Closure::once_into_js(move || {
                _ = reject.call1(&JsValue::NULL, &JsValue::from_str("error"));
            })
        };
        script.set_onerror(Some(on_error.unchecked_ref()));
        let on_timeout = Closure::once_into_js(move || {
            _ = reject.call1(&JsValue::NULL, &JsValue::from_str("timeout"));
        });
        _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(on_timeout.unchecked_ref(), timeout_ms);
    });

    let parent = document
        .query_selector("head")
        .ok()
        .flatten()
        .or_else(|| document.document_element())
        .ok_or_else(|| SdkError::Broken("no document element".into()))?;
    parent.append_child(&script).map_err(|error| SdkError::Broken(js_error_text(&error)))?;

    match JsFuture::from(ready).await {
        Ok(_) => Ok(()),
        Err(reason) => Err(match reason.as_string().as_deref() {
            Some("timeout") => SdkError::TimedOut(timeout.as_secs()),
            Some("no-fb") => SdkError::Broken(format!("{resolved_url} did not define FB")),
            _ => SdkError::ScriptFailed(resolved_url),
        }),
    }
}

fn to_js(value: &serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("serde_json writes valid JSON")
}

fn fb_function(fb: &JsValue, name: &str) -> Result<js_sys::Function, SdkError> {
    js_sys::Reflect::get(fb, &JsValue::from_str(name))
        .ok()
        .and_then(|function| function.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| SdkError::Broken(format!("FB.{name} is missing")))
}

fn initialise(config: &FacebookConfig) -> Result<(), SdkError> {
    if INITIALISED.with(Cell::get) {
        return Ok(());
    }
    let fb = global_fb().ok_or_else(|| SdkError::Broken("FB is missing".into()))?;
    fb_function(&fb, "init")?
        .call1(&fb, &to_js(&init_options(config)))
        .map_err(|error| SdkError::Broken(js_error_text(&error)))?;
    INITIALISED.with(|initialised| initialised.set(true));
    Ok(())
}

/// Open the Embedded Signup popup. Must run inside the click handler (popup blockers).
/// `on_response` receives `authResponse.code`, or `None` when the login ended without one.
pub fn launch(
    config: &FacebookConfig,
    flow: SignupFlow,
    on_response: impl FnOnce(Option<String>) + 'static,
) -> Result<(), SdkError> {
    let fb = global_fb().ok_or_else(|| SdkError::Broken("FB is missing".into()))?;
    let login = fb_function(&fb, "login")?;
    // The SDK may call back more than once for one login (a status change after the popup
    // closed): only the first call counts, and later ones must not throw inside the SDK, which
    // a `Closure::once` does when called again.
    let mut on_response = Some(on_response);
    let callback = Closure::<dyn FnMut(JsValue)>::new(move |response: JsValue| {
        let Some(on_response) = on_response.take() else {
            return;
        };
        on_response(authorization_code(&response));
    })
    .into_js_value();
    login
        .call2(&fb, &callback, &to_js(&login_options(config, flow)))
        .map_err(|error| SdkError::Broken(js_error_text(&error)))?;
    Ok(())
}

/// `response.authResponse.code` of an `FB.login` callback, when it is a non-empty string
/// (`authResponse` is `null` when the user closed the popup, `response` itself may be missing).
fn authorization_code(response: &JsValue) -> Option<String> {
    if !response.is_object() {
        return None;
    }
    js_sys::Reflect::get(response, &JsValue::from_str("authResponse"))
        .ok()
        .filter(|auth| auth.is_object())
        .and_then(|auth| js_sys::Reflect::get(&auth, &JsValue::from_str("code")).ok())
        .and_then(|code| code.as_string())
        .filter(|code| !code.trim().is_empty())
}

/// The text of a message's `data`: the popup posts a JSON string; an object is serialised so
/// the same parser reads it.
fn message_data_text(data: &JsValue) -> Option<String> {
    if let Some(text) = data.as_string() {
        return Some(text);
    }
    if data.is_object() {
        return js_sys::JSON::stringify(data).ok().and_then(|text| text.as_string());
    }
    None
}

/// Listen to `message` events on the window and hand understood session info from trusted
/// origins to `on_message`. The origin is checked before the data is even read; anything else
/// is dropped silently. Remove the returned handle on cleanup.
pub fn listen_for_session_info(
    trusted_origins: Vec<String>,
    on_message: impl Fn(SessionInfoMessage) + 'static,
) -> WindowListenerHandle {
    window_event_listener_untyped("message", move |event| {
        let Some(event) = event.dyn_ref::<web_sys::MessageEvent>() else {
            return;
        };
        if !is_trusted_origin(&event.origin(), &trusted_origins) {
            return;
        }
        if let Some(message) = message_data_text(&event.data()).and_then(|text| parse_session_info(&text)) {
            on_message(message);
        }
    })
}
