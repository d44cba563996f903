//! The `/intwa-api` tree: every documented route (auth, health, WhatsApp), the OpenAPI document
//! generated from them, and JSON answers for unknown paths and wrong methods, so a caller never
//! gets the SPA's index.html where it expected JSON.

use std::sync::Arc;

use api_types::{Envelope, ErrorCode};
use axum::extract::State;
use axum::http::{header, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Json, Router};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::{api_description, reference_inlined_schemas};
use crate::web::ErrorEnvelope;
use crate::web::error::ApiError;
use crate::state::AppState;

/// The document's frame; the routes add their paths and the schemas they use. `ErrorEnvelope` and
/// `RuntimeConfig` (config.json, not an API route) are listed so partners find them.
#[derive(OpenApi)]
#[openapi(
    info(title = "wadesk API"),
    components(schemas(ErrorEnvelope, api_types::RuntimeConfig)),
    tags(
        (name = "auth", description = "Log in, log out, sign up"),
        (name = "system", description = "Health and this document"),
        (name = "whatsapp", description = "WhatsApp business accounts and numbers"),
        (name = "inbox", description = "The team inbox: conversations and messages"),
        (name = "team", description = "The account's users"),
    )
)]
struct ApiDoc;

/// The OpenAPI document, serialised once when the router is built.
#[derive(Clone)]
struct OpenApiJson(Arc<String>);

/// The API routes (with `/intwa-api` in their paths) and the document describing them.
pub fn router(base_path: &str) -> Router<AppState> {
    let documented = OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(openapi_json))
        .merge(crate::auth::api_routes())
        .merge(crate::channels::api_routes())
        .merge(crate::inbox::api_routes())
        .merge(crate::team::api_routes())
        .merge(crate::sandbox::api_routes());
    let (router, mut document) =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(crate::API_PREFIX, documented).split_for_parts();
    document.info.description = Some(api_description());
    document.servers = Some(vec![utoipa::openapi::Server::new(if base_path.is_empty() { "/" } else { base_path })]);
    let document = serde_json::to_value(&document)
        .map(|mut document| {
            reference_inlined_schemas(&mut document);
            document.to_string()
        })
        .unwrap_or_else(|cause| {
            tracing::error!(%cause, "cannot serialise the OpenAPI document");
            "{}".to_owned()
        });
    router
        .route(crate::API_PREFIX, any(unknown_route))
        .route(&format!("{}/{{*rest}}", crate::API_PREFIX), any(unknown_route))
        .method_not_allowed_fallback(wrong_method)
        .layer(Extension(OpenApiJson(Arc::new(document))))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// `ok` when the database answers.
    database: &'static str,
}

/// Whether the server and its database answer.
#[utoipa::path(
    get,
    path = "/health",
    tag = "system",
    responses(
        (status = 200, description = "The server and its database answer", body = Envelope<Health>),
        (status = 503, description = "The database does not answer (code 50300)", body = ErrorEnvelope),
    )
)]
async fn health(State(state): State<AppState>) -> Result<Json<Envelope<Health>>, ApiError> {
    if crate::db::is_healthy(&state.db).await {
        Ok(Json(Envelope::success(Health { database: "ok" })))
    } else {
        Err(ApiError::new(ErrorCode::Unavailable, "The database is not reachable"))
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "system",
    responses((status = 200, description = "This OpenAPI 3.1 document", body = serde_json::Value, content_type = "application/json"))
)]
async fn openapi_json(Extension(OpenApiJson(document)): Extension<OpenApiJson>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document.as_str().to_owned()).into_response()
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("There is no API route {method} {}", uri.path()))
}

/// 405 (code MethodNotAllowed) in the envelope; axum adds the `Allow` header.
async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} does not answer {method}; API routes answer POST", uri.path()),
    )
}
