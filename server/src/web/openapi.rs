//! The error envelope as the OpenAPI document describes it, shared by every route's annotation.

use api_types::{ErrorCode, ErrorDetails};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::ToSchema;

/// The body of every failed request: `api_types::Envelope<ErrorDetails>` with a non-zero `code`.
/// The HTTP status always matches the code (see the table in the API description).
#[derive(ToSchema)]
#[allow(dead_code)] // Only described: the server writes `Envelope<ErrorDetails>`, which has this shape.
pub struct ErrorEnvelope {
    #[schema(schema_with = error_code_schema)]
    code: i64,
    /// Why the request failed, in English; the SPA shows its own translation of `code`.
    message: String,
    /// Present when there is more to say: `fieldErrors` (400, 409) or `retryAfterSeconds` (429).
    #[schema(required = false)]
    data: Option<ErrorDetails>,
}

/// `code` of a failure: an integer from the documented set.
fn error_code_schema() -> utoipa::openapi::schema::Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
        .description(Some("The error code; one HTTP status per code (see the table in the API description)."))
        .enum_values(Some(ErrorCode::ALL.into_iter().map(ErrorCode::code)))
        .examples([ErrorCode::Validation.code()])
        .build()
}


/// The failures many routes share, described once: use them in a route's `responses(...)` next
/// to the route's own (`responses((status = 200, ...), NotLoggedIn, UpstreamFailures)`).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only described.
pub enum NotLoggedIn {
    /// No session cookie, or it expired or was revoked (code 40100).
    #[response(status = 401, description = "Not logged in, or the session ended (code 40100)")]
    NotLoggedIn(#[to_schema] ErrorEnvelope),
}

/// The upstream (Meta, YCloud) refused, failed or did not answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Only described.
pub enum UpstreamFailures {
    #[response(status = 502, description = "The upstream refused or failed (code 50200); the message says which step")]
    Failed(#[to_schema] ErrorEnvelope),
    #[response(status = 504, description = "The upstream did not answer in time (code 50400)")]
    TimedOut(#[to_schema] ErrorEnvelope),
}
