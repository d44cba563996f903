//! The HTTP surface: the router (API, config.json, WhatsApp public routes, the SPA bundle), the
//! base path, request logging, and the extractors handlers share.

mod api;
mod base_path;
mod client_address;
mod config;
mod json;
mod openapi;
mod spa;

use axum::http::{header, HeaderValue, Method, Request};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use client_address::ClientAddress;
pub use json::{parse_body, ApiJson};
pub use openapi::ErrorEnvelope;

use crate::state::AppState;

/// Everything the server answers, under `settings.base_path`.
pub fn router(state: AppState) -> Router {
    let base_path = state.settings.base_path.clone();
    let cors = cors_layer(&state.settings.cors_origins);
    let site = Router::new()
        .merge(api::router(&base_path))
        .route("/config.json", get(config::config_json))
        .merge(crate::whatsapp::public_routes())
        .fallback(spa::serve)
        .with_state(state);
    // One line per request: method, path, status, latency. Never bodies, headers or cookies.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .on_failure(DefaultOnFailure::new().level(Level::ERROR));
    let app = base_path::mount(site, &base_path);
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    security_headers(app).layer(trace)
}

/// Headers every answer carries: no MIME sniffing, no full URLs in the Referer to other sites,
/// and no framing of the console by other sites (clickjacking). Handlers may set their own.
fn security_headers(app: Router) -> Router {
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(header::HeaderName::from_static(name), HeaderValue::from_static(value))
    };
    app.layer(header("x-content-type-options", "nosniff"))
        .layer(header("referrer-policy", "strict-origin-when-cross-origin"))
        .layer(header("x-frame-options", "SAMEORIGIN"))
        .layer(header("content-security-policy", "frame-ancestors 'self'"))
}

/// Consoles hosted on another origin (a partner's static host) call the API with the user's
/// cookie: each listed origin gets CORS with credentials; any other origin gets no CORS headers,
/// so the browser keeps the answer from it. Preflights are answered here, before routing.
/// Without listed origins there is no CORS layer at all (same-origin consoles need none).
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600));
    Some(layer)
}
