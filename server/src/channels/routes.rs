//! The `/intwa-api/whatsapp/...` handlers: thin wrappers that check the role, read the body and
//! call `onboarding` or `numbers`. Every query is scoped to the caller's account.

use api_types::{
    BindRequest, Empty, Envelope, NumberDetails, NumberRef, PhoneInfo, PhoneInfoRequest, RemovedNumber, SignupCompleteRequest,
    SignupCompleteResponse, UpdateNumberProfileRequest, WabaInfo, WabaInfoRequest, WebhookSettings,
};
use axum::extract::State;
use axum::http::HeaderMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{numbers, onboarding};
use crate::webhooks;
use api_types::validation;
use crate::auth::CurrentUser;
use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::client_address::ClientConnection;
use crate::web::openapi::{NotLoggedIn, UpstreamFailures};
use crate::web::{ApiJson, ErrorEnvelope};
use crate::state::AppState;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(bind))
        .routes(routes!(phone_info))
        .routes(routes!(waba_info))
        .routes(routes!(signup_complete))
        .routes(routes!(list_numbers))
        .routes(routes!(get_number))
        .routes(routes!(retry_registration))
        .routes(routes!(remove_number))
        .routes(routes!(update_profile))
        .routes(routes!(webhook_settings))
}

/// Every bound number's id went through [`validation::meta_id`], so an id that is not one (letters,
/// other scripts' digits, 10 KB of text) is a 400 naming the field, not a lookup that finds nothing.
fn check_number_ref(request: &NumberRef) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    validation::meta_id("phoneNumberId", &request.phone_number_id, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Bind a WABA's number to the caller's account (seed 003 1.1). Admins only.
#[utoipa::path(
    post,
    path = "/whatsapp/account/bind",
    tag = "whatsapp",
    request_body = BindRequest,
    responses(
        (status = 200, description = "The bound number (binding it again changes nothing)", body = Envelope<PhoneInfo>),
        (status = 400, description = "Invalid ids (code 40000, `fieldErrors`), or the upstream does not know them", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "`accountName` is not the caller's account, or the caller is not an admin (code 40300)", body = ErrorEnvelope),
        (status = 409, description = "The WABA or number is bound to another account (code 40900)", body = ErrorEnvelope),
        UpstreamFailures,
    )
)]
async fn bind(State(state): State<AppState>, user: CurrentUser, headers: HeaderMap, ApiJson(request): ApiJson<BindRequest>) -> ApiResult<PhoneInfo> {
    user.require_admin()?;
    let binder = match headers.get(OPERATOR_KEY_HEADER) {
        Some(key) if is_operator_key(&state, key.as_bytes()) => onboarding::Binder::Operator,
        Some(_) => return Err(ApiError::forbidden(format!("The {OPERATOR_KEY_HEADER} header does not hold an operator key of this server"))),
        None => onboarding::Binder::User,
    };
    ok(onboarding::bind(&state, &user, request, binder).await?)
}

/// The header a partner's backend presents a platform operator key in (`--operator-keys`).
pub const OPERATOR_KEY_HEADER: &str = "x-wadesk-operator-key";

/// Compared in constant time against each configured key.
fn is_operator_key(state: &AppState, presented: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    state
        .settings
        .operator_keys
        .iter()
        .filter(|key| !key.is_empty())
        .fold(false, |found, key| found | (key.len() == presented.len() && bool::from(key.as_bytes().ct_eq(presented))))
}

/// The numbers of one of the caller's WABAs (seed 003 1.2).
#[utoipa::path(
    post,
    path = "/whatsapp/account/phoneInfo",
    tag = "whatsapp",
    request_body = PhoneInfoRequest,
    responses(
        (status = 200, description = "The WABA's numbers", body = Envelope<Vec<PhoneInfo>>),
        (status = 400, description = "A field is missing or invalid (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "`accountName` is not the caller's account (code 40300)", body = ErrorEnvelope),
        (status = 404, description = "No such WABA in the caller's account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn phone_info(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<PhoneInfoRequest>) -> ApiResult<Vec<PhoneInfo>> {
    ok(onboarding::phone_info(&state, &user, &request.account_name, &request.waba_id).await?)
}

/// The caller's WABAs (seed 003 1.3).
#[utoipa::path(
    post,
    path = "/whatsapp/account/wabaInfo",
    tag = "whatsapp",
    request_body = WabaInfoRequest,
    responses(
        (status = 200, description = "The caller's WABAs", body = Envelope<Vec<WabaInfo>>),
        (status = 400, description = "`accountName` is missing (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "`accountName` is not the caller's account (code 40300)", body = ErrorEnvelope),
    )
)]
async fn waba_info(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<WabaInfoRequest>) -> ApiResult<Vec<WabaInfo>> {
    ok(onboarding::waba_list(&state, &user, &request.account_name).await?)
}

/// Finish Embedded Signup: exchange the 30-second code at once, fetch the WABA, subscribe the app,
/// then register (cloud) or bind and request contact and history sync (coexistence). Admins only.
#[utoipa::path(
    post,
    path = "/whatsapp/signup/complete",
    tag = "whatsapp",
    request_body = SignupCompleteRequest,
    responses(
        (status = 200, description = "What was bound; completing again is harmless (`alreadyBound`)", body = Envelope<SignupCompleteResponse>),
        (status = 400, description = "Invalid fields (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "The caller is not an admin (code 40300)", body = ErrorEnvelope),
        (status = 409, description = "The WABA or number is bound to another account (code 40900)", body = ErrorEnvelope),
        (status = 429, description = "The registration limit (10 per number in 72 h) is reached (code 42900)", body = ErrorEnvelope),
        (status = 502, description = "The upstream refused (an expired or used code, a refused registration; code 50200); the message says which step", body = ErrorEnvelope),
        (status = 504, description = "The upstream did not answer in time (code 50400)", body = ErrorEnvelope),
    )
)]
async fn signup_complete(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<SignupCompleteRequest>,
) -> ApiResult<SignupCompleteResponse> {
    user.require_admin()?;
    ok(onboarding::complete_signup(&state, &user, request).await?)
}

/// Every number of the caller's account, with status, limits, registration allowance and sync progress.
#[utoipa::path(
    post,
    path = "/whatsapp/numbers/list",
    tag = "whatsapp",
    request_body = Empty,
    responses(
        (status = 200, description = "Every number of the caller's account", body = Envelope<Vec<NumberDetails>>),
        (status = 400, description = "The body is not a JSON object (code 40000)", body = ErrorEnvelope),
        NotLoggedIn,
    )
)]
async fn list_numbers(State(state): State<AppState>, user: CurrentUser, ApiJson(_request): ApiJson<Empty>) -> ApiResult<Vec<NumberDetails>> {
    ok(numbers::list(&numbers::tenant(&state, &user)).await?)
}

/// One number of the caller's account.
#[utoipa::path(
    post,
    path = "/whatsapp/numbers/get",
    tag = "whatsapp",
    request_body = NumberRef,
    responses(
        (status = 200, description = "The number", body = Envelope<NumberDetails>),
        (status = 400, description = "`phoneNumberId` is missing or not an id (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 404, description = "Not a number of this account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn get_number(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<NumberRef>) -> ApiResult<NumberDetails> {
    check_number_ref(&request)?;
    let db = numbers::tenant(&state, &user);
    let number = numbers::own_number(&db, &request.phone_number_id).await?;
    ok(numbers::details(&db, number).await?)
}

/// Register a Cloud API number again. Admins only; at most 10 attempts per number in 72 hours.
#[utoipa::path(
    post,
    path = "/whatsapp/numbers/retryRegistration",
    tag = "whatsapp",
    request_body = NumberRef,
    responses(
        (status = 200, description = "The number after the attempt", body = Envelope<NumberDetails>),
        (status = 400, description = "`phoneNumberId` is missing or not an id (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "The caller is not an admin (code 40300)", body = ErrorEnvelope),
        (status = 404, description = "Not a number of this account (code 40400)", body = ErrorEnvelope),
        (status = 409, description = "A coexistence number is never registered (code 40900)", body = ErrorEnvelope),
        (status = 429, description = "Limit reached (code 42900); `retryAfterSeconds` and the message say when to try again", body = ErrorEnvelope),
        (status = 502, description = "The upstream refused the registration (code 50200)", body = ErrorEnvelope),
        (status = 504, description = "The upstream did not answer in time (code 50400)", body = ErrorEnvelope),
    )
)]
async fn retry_registration(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<NumberRef>) -> ApiResult<NumberDetails> {
    user.require_admin()?;
    check_number_ref(&request)?;
    ok(numbers::retry_registration(&state, &user, &request.phone_number_id).await?)
}

/// Unbind a number (and its WABA when it was the last one). Later webhooks for it are ignored. Admins only.
#[utoipa::path(
    post,
    path = "/whatsapp/numbers/remove",
    tag = "whatsapp",
    request_body = NumberRef,
    responses(
        (status = 200, description = "What was unbound", body = Envelope<RemovedNumber>),
        (status = 400, description = "`phoneNumberId` is missing or not an id (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "The caller is not an admin (code 40300)", body = ErrorEnvelope),
        (status = 404, description = "Not a number of this account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn remove_number(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<NumberRef>) -> ApiResult<RemovedNumber> {
    user.require_admin()?;
    check_number_ref(&request)?;
    ok(numbers::remove(&state, &user, &request.phone_number_id).await?)
}

/// Ask for a new display name (Meta reviews it). Admins only.
#[utoipa::path(
    post,
    path = "/whatsapp/numbers/updateProfile",
    tag = "whatsapp",
    request_body = UpdateNumberProfileRequest,
    responses(
        (status = 200, description = "The number; `verifiedName` changes when Meta approves", body = Envelope<NumberDetails>),
        (status = 400, description = "The id is invalid, or the name is empty, shorter than 3 or longer than 150 characters, has no letter or digit, holds a web address or a line break (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "The caller is not an admin (code 40300)", body = ErrorEnvelope),
        (status = 404, description = "Not a number of this account (code 40400)", body = ErrorEnvelope),
        (status = 502, description = "The upstream refused the new name (code 50200)", body = ErrorEnvelope),
        (status = 504, description = "The upstream did not answer in time (code 50400)", body = ErrorEnvelope),
    )
)]
async fn update_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<UpdateNumberProfileRequest>,
) -> ApiResult<NumberDetails> {
    user.require_admin()?;
    let mut errors = Vec::new();
    validation::meta_id("phoneNumberId", &request.phone_number_id, &mut errors);
    validation::display_name("verifiedName", &request.verified_name, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    ok(numbers::update_profile(&state, &user, &request.phone_number_id, &request.verified_name).await?)
}

/// What to paste into Meta's app dashboard: the callback URL and this account's verify token. Admins only.
#[utoipa::path(
    post,
    path = "/whatsapp/webhookSettings",
    tag = "whatsapp",
    request_body = Empty,
    responses(
        (status = 200, description = "The callback URL and this account's verify token", body = Envelope<WebhookSettings>),
        (status = 400, description = "The body is not a JSON object (code 40000)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 403, description = "The caller is not an admin (code 40300)", body = ErrorEnvelope),
    )
)]
async fn webhook_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    connection: ClientConnection,
    headers: HeaderMap,
    ApiJson(_request): ApiJson<Empty>,
) -> ApiResult<WebhookSettings> {
    user.require_admin()?;
    let verify_token = numbers::tenant(&state, &user).webhook_verify_token().await?;
    ok(WebhookSettings { callback_url: callback_url(&state, &headers, connection.https), verify_token })
}

/// `settings.public_url` when set, else the address the caller reached us at, plus the base path.
/// The scheme is https only when a trusted proxy says so (`--trusted-proxies`).
fn callback_url(state: &AppState, headers: &HeaderMap, https: bool) -> String {
    let base_path = &state.settings.base_path;
    if let Some(public) = state.settings.public_url.as_deref().filter(|url| !url.trim().is_empty()) {
        let public = public.trim().trim_end_matches('/');
        // A public URL that already ends with the base path is not given it twice.
        let root = if !base_path.is_empty() && public.ends_with(base_path.as_str()) { public.to_owned() } else { format!("{public}{base_path}") };
        return format!("{root}{}", webhooks::META_PATH);
    }
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let host = header("x-forwarded-host")
        .and_then(|hosts| hosts.split(',').next())
        .map(str::trim)
        .or_else(|| header("host"))
        .filter(|host| !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
        .unwrap_or("localhost");
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{host}{base_path}{}", webhooks::META_PATH)
}
