//! The HTTP surface: the router (API, config.json, WhatsApp public routes, the SPA bundle), the
//! base path, request logging, and the extractors handlers share.

mod api;
mod base_path;
mod client_address;
mod config;
mod json;
mod openapi;
mod spa;

use axum::http::Request;
use axum::routing::get;
use axum::Router;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use client_address::ClientAddress;
pub use json::{parse_body, ApiJson};
pub use openapi::ErrorEnvelope;

use crate::state::AppState;

/// Everything the server answers, under `settings.base_path`.
pub fn router(state: AppState) -> Router {
    let base_path = state.settings.base_path.clone();
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
    base_path::mount(site, &base_path).layer(trace)
}
