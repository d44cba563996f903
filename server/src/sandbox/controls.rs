//! `whatsapp/sandbox/simulate`: in sandbox mode a tester makes WhatsApp flag a number, raise its
//! messaging limit or disconnect it, to see how the console reacts. Each event is the webhook Meta
//! sends for it, stored and applied through the real webhook path. Outside sandbox mode the route
//! answers 404.

use api_types::{NumberDetails, SimulateRequest};
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::simulator;
use crate::auth::CurrentUser;
use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::openapi::NotLoggedIn;
use crate::web::{ApiJson, ErrorEnvelope};
use crate::state::AppState;
use crate::channels::numbers;
use api_types::validation;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(simulate))
}

/// Sandbox mode only: make WhatsApp do something to one of the caller's numbers. Admins only.
#[utoipa::path(
    post,
    path = "/whatsapp/sandbox/simulate",
    tag = "whatsapp",
    request_body = SimulateRequest,
    responses(
        (status = 200, description = "The number after the simulated webhook was applied", body = api_types::Envelope<NumberDetails>),
        (status = 400, description = "`phoneNumberId` or `event` is missing or unknown (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "Not an admin (code 40300)", body = ErrorEnvelope),
        (status = 404, description = "Not in sandbox mode, or not a number of this account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn simulate(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<SimulateRequest>) -> ApiResult<NumberDetails> {
    if state.sandbox.is_none() {
        return Err(ApiError::not_found("Simulated WhatsApp events exist only in sandbox mode"));
    }
    user.require_admin()?;
    let mut errors = Vec::new();
    validation::required("phoneNumberId", &request.phone_number_id, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // Only the caller's own numbers: another account's id is a 404, like any number not here.
    let db = numbers::tenant(&state, &user);
    let number = numbers::own_number(&db, &request.phone_number_id).await?;
    simulator::deliver_now(&state.webhooks, &simulator::simulated_event_payload(&number, request.event)).await;
    let number = numbers::own_number(&db, &request.phone_number_id).await?;
    ok(numbers::details(&db, number).await?)
}
