//! `GET {base}/config.json`: the SPA's runtime configuration, made from the settings on every
//! request. Only public values go here: never a secret, key or token.

use api_types::{FacebookConfig, RuntimeConfig};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::web::client_address::ClientConnection;
use crate::settings::Mode;
use crate::state::AppState;

/// Ids the sandbox uses when none are configured: the SPA needs something to pass to `FB.init`.
const SANDBOX_APP_ID: &str = "sandbox-app";
const SANDBOX_CONFIG_ID: &str = "sandbox-config";

pub async fn config_json(State(state): State<AppState>, connection: ClientConnection, headers: HeaderMap) -> Response {
    let config = runtime_config(&state, &headers, connection.https);
    ([(header::CACHE_CONTROL, "no-store")], Json(config)).into_response()
}

fn runtime_config(state: &AppState, headers: &HeaderMap, https: bool) -> RuntimeConfig {
    let settings = &state.settings;
    let base = settings.base_path.as_str();
    let sandbox = settings.mode == Mode::Sandbox;
    let or_sandbox = |value: &str, sandbox_value: &str| {
        if value.is_empty() && sandbox { sandbox_value.to_owned() } else { value.to_owned() }
    };
    let config_id = or_sandbox(&settings.meta_config_id, SANDBOX_CONFIG_ID);
    let coexistence_config_id =
        if settings.meta_coexistence_config_id.is_empty() { config_id.clone() } else { settings.meta_coexistence_config_id.clone() };
    let facebook = FacebookConfig {
        sdk_url: if sandbox { format!("{base}/sandbox/facebook/sdk.js") } else { FacebookConfig::default().sdk_url },
        app_id: or_sandbox(&settings.meta_app_id, SANDBOX_APP_ID),
        config_id,
        coexistence_config_id,
        solution_id: settings.meta_solution_id.clone(),
        graph_api_version: settings.graph_api_version.clone(),
        embedded_signup_version: settings.embedded_signup_version.clone(),
    };
    let trusted_origins = if sandbox { own_origin(headers, https).into_iter().collect() } else { Vec::new() };
    RuntimeConfig {
        api_base_url: base.to_owned(),
        sandbox,
        signup_enabled: settings.signup_enabled,
        facebook,
        trusted_origins,
        ..RuntimeConfig::default()
    }
}

/// `http(s)://<Host>` as the browser sees this server (the sandbox's popup posts from here).
fn own_origin(headers: &HeaderMap, https: bool) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plausible = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !plausible {
        return None;
    }
    let scheme = if https { "https" } else { "http" };
    Some(format!("{scheme}://{host}"))
}
