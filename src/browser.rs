//! Thin, failure-tolerant wrappers around the browser APIs the app needs.
//!
//! Storage can be disabled (private mode, sandboxed iframes) and a `<base>` element may be
//! missing; none of that may stop the console from rendering, so every helper degrades quietly.

use wasm_bindgen::JsCast;

fn document() -> Option<web_sys::Document> {
    web_sys::window()?.document()
}

/// A remembered value from `localStorage`, or `None` when absent or storage is unavailable.
pub fn local_storage_get(key: &str) -> Option<String> {
    let storage = web_sys::window()?.local_storage().ok()??;
    storage.get_item(key).ok()?
}

/// Remember a value in `localStorage`; silently skipped when storage is unavailable.
pub fn local_storage_set(key: &str, value: &str) {
    if let Some(Ok(Some(storage))) = web_sys::window().map(|window| window.local_storage()) {
        let _ = storage.set_item(key, value);
    }
}

/// The languages the browser asks for, most wanted first (`navigator.languages`, else
/// `navigator.language`); empty when unknown.
pub fn preferred_languages() -> Vec<String> {
    let Some(navigator) = web_sys::window().map(|window| window.navigator()) else {
        return Vec::new();
    };
    let listed: Vec<String> = navigator.languages().iter().filter_map(|language| language.as_string()).collect();
    if !listed.is_empty() {
        return listed;
    }
    navigator.language().into_iter().collect()
}

/// Set the browser tab's title (`document.title`).
pub fn set_document_title(title: &str) {
    if let Some(document) = document() {
        document.set_title(title);
    }
}

/// Set `<html lang>` so fonts, hyphenation and screen readers follow the chosen language.
pub fn set_document_language(code: &str) {
    if let Some(root) = document().and_then(|document| document.document_element()) {
        let _ = root.set_attribute("lang", code);
    }
}

/// The document's base URI (`<base href>` resolved against the page), used to resolve
/// `config.json` so the bundle works under any sub-path such as `/console/`.
pub fn document_base_uri() -> Option<String> {
    let document = document()?;
    let node: &web_sys::Node = document.unchecked_ref();
    node.base_uri().ok().flatten()
}

/// The app's path prefix: the path of `<base href>` without its trailing slash
/// (`""` for a bundle served at the root, `"/console"` under `/console/`).
///
/// Only an explicit `<base>` counts: without one the document URL would be used, and a
/// deep link such as `/numbers` would wrongly become the prefix.
pub fn base_path() -> String {
    let base_href = document()
        .and_then(|document| document.query_selector("base[href]").ok().flatten())
        .and_then(|element| element.dyn_into::<web_sys::HtmlBaseElement>().ok())
        .map(|base| base.href());
    match base_href {
        Some(href) => base_path_of_url(&href),
        None => String::new(),
    }
}

/// The path of an absolute (or path-only) URL without query, fragment or trailing slash.
pub fn base_path_of_url(url: &str) -> String {
    let after_origin = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|slash| &rest[slash..]).unwrap_or(""),
        None => url,
    };
    let path = after_origin.split(['?', '#']).next().unwrap_or("");
    path.trim_end_matches('/').to_owned()
}

/// Remove an element by id (the static loading indicator of `index.html`, once the app mounts).
pub fn remove_element_by_id(id: &str) {
    if let Some(element) = document().and_then(|document| document.get_element_by_id(id)) {
        element.remove();
    }
}

/// Reload the page (the config error view's retry: everything starts from scratch).
pub fn reload_page() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// Copy text to the clipboard; false when the browser refuses (no permission, insecure origin).
///
/// `navigator.clipboard` is absent on insecure (plain HTTP) origins, so it is looked up and
/// checked before use.
pub fn copy_to_clipboard(text: &str) -> bool {
    use wasm_bindgen::JsValue;
    let Some(window) = web_sys::window() else { return false };
    let clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard")).ok();
    let write = clipboard
        .as_ref()
        .filter(|clipboard| clipboard.is_object())
        .and_then(|clipboard| js_sys::Reflect::get(clipboard, &JsValue::from_str("writeText")).ok())
        .and_then(|write| write.dyn_into::<js_sys::Function>().ok());
    match (clipboard, write) {
        (Some(clipboard), Some(write)) => write.call1(&clipboard, &JsValue::from_str(text)).is_ok(),
        _ => false,
    }
}

/// Run `task` once the browser is idle (`requestIdleCallback`, at most two seconds later), or
/// after a short timeout where the browser has no idle callbacks (Safari).
pub fn when_idle(task: impl FnOnce() + 'static) {
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else {
        return;
    };
    let callback = Closure::once_into_js(task);
    let idle = js_sys::Reflect::get(&window, &"requestIdleCallback".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match idle {
        Some(request_idle_callback) => {
            let options = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&options, &"timeout".into(), &2000.into());
            let _ = request_idle_callback.call2(&window, &callback, &options);
        }
        None => {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), 300);
        }
    }
}

/// The path of the page's address (`/console/numbers`), `"/"` when unknown.
pub fn current_pathname() -> String {
    web_sys::window().and_then(|window| window.location().pathname().ok()).unwrap_or_else(|| "/".to_owned())
}

/// A query parameter of the page's address, decoded (`?next=%2Fnumbers` -> `/numbers`).
pub fn query_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// Change the address without loading a page (a history entry, or a replacement of this one).
pub fn set_address(url: &str, replace: bool) {
    let Some(history) = web_sys::window().and_then(|window| window.history().ok()) else {
        return;
    };
    let state = wasm_bindgen::JsValue::NULL;
    let _ = if replace {
        history.replace_state_with_url(&state, "", Some(url))
    } else {
        history.push_state_with_url(&state, "", Some(url))
    };
}
