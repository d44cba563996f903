//! The SPA bundle (`settings.dist`): real files as they are, and `index.html` for every other path
//! so deep links such as `/numbers/123` load the app. When the bundle is not built, a plain page
//! says how to build it (the API keeps working).
//!
//! A bundle file is sent from its precompressed sibling (`app.js.br`, `app.js.gz`, written by
//! `cargo xtask`) when the browser accepts that encoding (by q-value, Brotli before gzip at equal
//! ones, never one refused with `q=0`), with the original's `Content-Type`, and the file itself
//! when no acceptable sibling exists. Every file answer says `Vary: Accept-Encoding`, so a cache keeps the encodings
//! apart. `index.html` is never read from a sibling: it is rewritten per request (CSP nonce, base
//! path) and compressed as it goes out (`compression::page_layer`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::settings::{Mode, Settings};
use crate::state::AppState;
use crate::web::client_address::ClientConnection;
use crate::web::headers::{html_page, PagePolicy, FACEBOOK_FRAME_ORIGINS, FACEBOOK_SCRIPT_ORIGIN};

pub async fn serve(State(state): State<AppState>, connection: ClientConnection, request: Request) -> Response {
    let https = served_over_https(&state.settings) || connection.https;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")], "Method not allowed").into_response();
    }
    let dist = state.settings.dist.clone();
    let index_file = dist.join("index.html");
    let index = match tokio::fs::read_to_string(&index_file).await {
        Ok(index) => index,
        Err(_) => return bundle_not_built(&state, https),
    };
    let path = request.uri().path();
    if path != "/" && path != "/index.html" {
        let fingerprinted = is_fingerprinted(path);
        let files = ServeDir::new(&dist).append_index_html_on_directories(false).precompressed_br().precompressed_gzip();
        match files.oneshot(request).await {
            Ok(response) if response.status() != StatusCode::NOT_FOUND => {
                let mut response = response.map(Body::new);
                let status = response.status();
                let headers = response.headers_mut();
                // ServeDir picks the encoding by Accept-Encoding but does not say so.
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                if fingerprinted && matches!(status, StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED) {
                    // A new build gets new names, so these never change: browsers keep them.
                    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
                }
                return response;
            }
            Ok(_) => {}
            Err(infallible) => match infallible {},
        }
    }
    index_page(&state, index, https)
}

/// The policy every page of the console is served with (see `web::headers::PagePolicy`): in live
/// mode Facebook's SDK and dialogs are allowed; the sandbox's stand-ins are this server's own.
pub fn page_policy(settings: &Settings) -> PagePolicy {
    let live = settings.mode == Mode::Live;
    let facebook_frames = || FACEBOOK_FRAME_ORIGINS.iter().map(|origin| (*origin).to_owned()).collect::<Vec<_>>();
    PagePolicy {
        script_origins: if live { vec![FACEBOOK_SCRIPT_ORIGIN.to_owned()] } else { Vec::new() },
        connect_origins: if live { vec!["https://*.facebook.com".to_owned()] } else { Vec::new() },
        frame_origins: if live { facebook_frames() } else { Vec::new() },
        frame_ancestors: settings.frame_ancestors.clone(),
    }
}

/// True when the public URL says pages are served over https (a trusted proxy's
/// `X-Forwarded-Proto: https` says so per request).
pub fn served_over_https(settings: &Settings) -> bool {
    settings.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
}

/// `index.html`, revalidated on every load so a new bundle is picked up at once (its assets have
/// hashed names and may be cached), with the console's Content-Security-Policy. Under a base
/// path, `<base href="/">` points at the base.
fn index_page(state: &AppState, index: String, https: bool) -> Response {
    let base_path = &state.settings.base_path;
    let index = if base_path.is_empty() {
        index
    } else {
        index.replacen("<base href=\"/\"", &format!("<base href=\"{base_path}/\""), 1)
    };
    let mut response = html_page(&index, &page_policy(&state.settings), https);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn bundle_not_built(state: &AppState, https: bool) -> Response {
    let dist = html_escape(&state.settings.dist.display().to_string());
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wadesk: bundle not built</title></head>\n\
         <body><main data-testid=\"page-not-built\">\n\
         <h1>The wadesk web app is not built yet</h1>\n\
         <p>The server is running and its API answers, but there is no <code>index.html</code> in <code>{dist}</code>.</p>\n\
         <p>Build the bundle with <code>cargo xtask run</code> (builds and serves), or <code>trunk build --release</code> \
         at the repository root, or point <code>--dist</code> / <code>WADESK_DIST</code> at a built bundle.</p>\n\
         </main></body></html>\n"
    );
    let mut response = html_page(&page, &page_policy(&state.settings), https);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Trunk names bundle files `<name>-<16 hex digits>.<ext>` (`wadesk-1a2b…_bg.wasm`,
/// `chunk-1a2b….wasm` and `__wasm_split-1a2b….js` too): the content hash is in the name. The
/// folder does not count (wasm-bindgen's `snippets/<crate>-<hash>/` is no content hash).
fn is_fingerprinted(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or("");
    let stem = file.split('.').next().unwrap_or("").trim_end_matches("_bg");
    stem.rsplit_once('-').is_some_and(|(_, hash)| hash.len() >= 15 && hash.len() <= 16 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::is_fingerprinted;

    #[test]
    fn trunk_fingerprints_are_recognised() {
        for fingerprinted in [
            "/wadesk-2b69f5ff180be0b_bg.wasm",
            "/wadesk-0123456789abcdef_bg.wasm",
            "/console/wadesk-a426dc47696834be.js",
            "/app-ce7f27d36669f6c9.css",
            "/favicon-91d7d6cbd1d86df4.svg",
            "/chunk-0123456789abcdef.wasm",
            "/console/chunk-fedcba9876543210.wasm",
            "/__wasm_split-0123456789abcdef.js",
            "/WADESK-0123456789ABCDEF_bg.wasm",
        ] {
            assert!(is_fingerprinted(fingerprinted), "{fingerprinted}");
        }
        for plain in [
            "/config.json",
            "/index.html",
            "/numbers",
            "/my-page.js",
            "/x-zzzzzzzzzzzzzzzz.js",
            "/",
            "/snippets/wadesk-0123456789abcdef/inline0.js",
            "/chunk-0123456789.wasm",
            "/chunk-0123456789abcdef0.wasm",
        ] {
            assert!(!is_fingerprinted(plain), "{plain}");
        }
    }
}
