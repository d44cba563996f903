//! The one HTTP client of the console: every backend call goes through [`ApiClient::post`].
//!
//! It builds `{apiBaseUrl}/intwa-api{path}` from the runtime config, sends JSON with the session
//! cookie, unwraps the `{code, message, data}` envelope ([`decode_response`]) and reacts to
//! "not logged in" in a single place: it runs the `on_unauthorized` callback, which the app wires
//! to clearing the session, so the route guard sends the user to the login page.

pub mod auth;
pub mod events;
pub mod inbox;
pub mod team;
pub mod whatsapp;
mod error;

pub use error::{decode_data, decode_envelope, decode_response, describe_field_error, ApiError};

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use web_sys::RequestCredentials;

/// The backend client, shared through context. `Copy`, so closures and actions take it freely.
#[derive(Debug, Clone, Copy)]
pub struct ApiClient {
    endpoint: StoredValue<Endpoint>,
    on_unauthorized: Callback<()>,
}

#[derive(Debug, Clone)]
struct Endpoint {
    /// Everything before `/intwa-api`, without a trailing slash.
    root: String,
    credentials: RequestCredentials,
}

impl ApiClient {
    /// A client for `api_base_url` (config.json's `apiBaseUrl`). An empty value means the
    /// console's own origin and base path (`app_base_path`, e.g. `/console`), so the same bundle
    /// works at `/` and under a sub-path.
    pub fn new(api_base_url: &str, app_base_path: &str, on_unauthorized: Callback<()>) -> ApiClient {
        let root = api_root(api_base_url, app_base_path);
        // Cookies go along on our own origin by default; a backend on another origin needs
        // `include` (and CORS with credentials on its side).
        let credentials =
            if is_absolute_url(&root) { RequestCredentials::Include } else { RequestCredentials::SameOrigin };
        ApiClient { endpoint: StoredValue::new(Endpoint { root, credentials }), on_unauthorized }
    }

    /// The full URL of an API path such as `/auth/me`.
    pub fn url(&self, path: &str) -> String {
        self.endpoint.with_value(|endpoint| api_url(&endpoint.root, path))
    }

    /// POST `request` as JSON to `path` (relative to `/intwa-api`) and decode the answer.
    ///
    /// Only the two ends are generic (encoding `Req`, decoding `Resp` from the envelope's
    /// `data`); the fetch and the envelope handling are one shared function, so each typed call
    /// adds little to the wasm bundle.
    pub async fn post<Req, Resp>(&self, path: &str, request: &Req) -> Result<Resp, ApiError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let body = serde_json::to_string(request).map_err(|error| ApiError::Network(error.to_string()))?;
        let data = self.post_json(path, body).await?;
        decode_data(data)
    }

    /// POST a JSON body and return the `data` of a successful envelope; on "not logged in", run
    /// the `on_unauthorized` callback first.
    async fn post_json(&self, path: &str, body: String) -> Result<serde_json::Value, ApiError> {
        let result = self.send(path, body).await;
        if matches!(result, Err(ApiError::Unauthorized)) {
            self.on_unauthorized.run(());
        }
        result
    }

    /// POST a multipart form (a file upload) to `path` and decode the answer's `data`, with the
    /// same envelope and "not logged in" handling as [`ApiClient::post`]. The browser writes the
    /// `Content-Type` with its boundary itself.
    pub async fn post_form<Resp: DeserializeOwned>(&self, path: &str, form: web_sys::FormData) -> Result<Resp, ApiError> {
        let credentials = self.endpoint.with_value(|endpoint| endpoint.credentials);
        let sent = async {
            let response = gloo_net::http::Request::post(&self.url(path))
                .credentials(credentials)
                .header("Accept", "application/json")
                .body(form)
                .map_err(|error| ApiError::Network(error.to_string()))?
                .send()
                .await
                .map_err(|error| ApiError::Network(error.to_string()))?;
            let status = response.status();
            let body = response.text().await.map_err(|error| ApiError::Network(error.to_string()))?;
            decode_envelope(status, &body)
        };
        let result = sent.await;
        if matches!(result, Err(ApiError::Unauthorized)) {
            self.on_unauthorized.run(());
        }
        decode_data(result?)
    }

    /// Whether calls carry the session cookie to another origin (an API hosted apart from the
    /// console): the event stream must then be opened `withCredentials` too.
    pub fn sends_credentials_cross_origin(&self) -> bool {
        self.endpoint.with_value(|endpoint| endpoint.credentials == RequestCredentials::Include)
    }

    async fn send(&self, path: &str, body: String) -> Result<serde_json::Value, ApiError> {
        let credentials = self.endpoint.with_value(|endpoint| endpoint.credentials);
        let response = gloo_net::http::Request::post(&self.url(path))
            .credentials(credentials)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body)
            .map_err(|error| ApiError::Network(error.to_string()))?
            .send()
            .await
            .map_err(|error| ApiError::Network(error.to_string()))?;
        let status = response.status();
        let body = response.text().await.map_err(|error| ApiError::Network(error.to_string()))?;
        decode_envelope(status, &body)
    }
}

/// The [`ApiClient`] provided by the app root.
pub fn use_api() -> ApiClient {
    expect_context::<ApiClient>()
}

/// Where `/intwa-api` lives: the configured base, or the console's own base path when empty.
pub fn api_root(api_base_url: &str, app_base_path: &str) -> String {
    let configured = api_base_url.trim();
    let root = if configured.is_empty() { app_base_path } else { configured };
    root.trim_end_matches('/').to_owned()
}

/// `{root}/intwa-api{path}`.
pub fn api_url(root: &str, path: &str) -> String {
    let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
    format!("{}{}{}", root.trim_end_matches('/'), api_types::API_PREFIX, path)
}

fn is_absolute_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("//")
}
