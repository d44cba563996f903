//! The composition root: every feature's routes (auth, channels, webhooks, sandbox), the API
//! tree with its OpenAPI document, config.json and the SPA bundle, mounted under the base path with
//! the layers every answer passes through. Features never depend on this module.

mod api;
mod base_path;
mod compression;
mod config_json;
mod openapi;
pub mod spa;

use axum::handler::Handler as _;
use axum::http::{header, HeaderValue, Method, Request};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use std::sync::Arc;

use sqlx::AnyPool;

use crate::auth::AuthLimits;
use crate::channels::upstream;
use crate::sandbox::upstream::SandboxUpstream;
use crate::settings::{Mode, Settings};
use crate::state::AppState;
use crate::webhooks::WebhookInbox;

/// The state for `settings`: the one place where sandbox mode is chosen. In sandbox mode the
/// upstream is the sandbox, which plays WhatsApp's follow-ups back through this state's webhook
/// inbox; in live mode it is the Meta or YCloud adapter.
pub fn build_state(db: AnyPool, settings: Settings) -> AppState {
    build_state_with_work_pool(db, None, settings)
}

/// [`build_state`], with webhook processing on `work_db` when given ([`crate::db::connect_for_redoable_work`]).
pub fn build_state_with_work_pool(db: AnyPool, work_db: Option<AnyPool>, settings: Settings) -> AppState {
    let webhooks = match work_db {
        Some(work_db) => WebhookInbox::new(db.clone()).with_work_pool(work_db),
        None => WebhookInbox::new(db.clone()),
    };
    let (upstream, sandbox): (Arc<dyn upstream::Upstream>, _) = match settings.mode {
        Mode::Sandbox => {
            let sandbox = Arc::new(SandboxUpstream::with_inbox(webhooks.clone()));
            (sandbox.clone(), Some(sandbox))
        }
        Mode::Live => (upstream::live_from_settings(&settings), None),
    };
    let media = crate::inbox::media::store_from_settings(&settings).expect("validated settings name a usable media store");
    AppState {
        media,
        realtime: webhooks.realtime().clone(),
        db,
        settings: Arc::new(settings),
        upstream,
        sandbox,
        webhooks,
        auth_limits: Arc::new(AuthLimits::default()),
        onboarding_locks: Arc::default(),
    }
}

/// Everything the server answers, under `settings.base_path`.
pub fn router(state: AppState) -> Router {
    let base_path = state.settings.base_path.clone();
    let cors = cors_layer(&state.settings.cors_origins);
    let site = Router::new()
        // API JSON is compressed as it goes out; the bundle's files are precompressed (see spa).
        .merge(api::router(&base_path).layer(compression::api_layer()))
        .route("/config.json", get(config_json::config_json))
        .merge(crate::webhooks::routes())
        .merge(crate::sandbox::public_routes())
        .fallback(spa::serve.layer(compression::page_layer()))
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
    crate::web::headers::security_headers(app).layer(trace)
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
