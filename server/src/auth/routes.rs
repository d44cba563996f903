//! `POST /intwa-api/auth/{login,logout,me,signup}`.

use api_types::{Empty, Envelope, LoginRequest, Role, SessionUser, SignupRequest};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{accounts, session, validation, CurrentUser};
use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::client_address::ClientConnection;
use crate::web::openapi::NotLoggedIn;
use crate::web::{ApiJson, ErrorEnvelope};
use crate::state::AppState;

/// id, account id, account name, name, role, password hash.
type UserRow = (String, String, String, String, String, String);

/// Wrong email and wrong password get the same answer, so it does not reveal who has an account.
const WRONG_CREDENTIALS: &str = "Wrong email or password";

/// The auth routes, relative to `/intwa-api`.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(signup))
}

/// Log in with email and password; sets the session cookie.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "The logged-in user; the `wadesk_session` cookie is set", body = Envelope<SessionUser>),
        (status = 400, description = "The body is not JSON or a field is missing (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        (status = 401, description = "Wrong email or password (code 40101)", body = ErrorEnvelope),
        (status = 429, description = "Too many failed attempts (code 42900); see `retryAfterSeconds` and `Retry-After`", body = ErrorEnvelope),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    connection: ClientConnection,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let (email, password) = validation::login(&request).map_err(ApiError::validation)?;
    let address = connection.address;
    let limits = &state.auth_limits;
    // From here on the attempt counts as a failure, until the password proves right.
    let attempt = limits.login.begin(&email, address).map_err(ApiError::rate_limited)?;

    let found: Result<Option<UserRow>, sqlx::Error> = sqlx::query_as(
        "SELECT users.id, users.account_id, accounts.name, users.name, users.role, users.password_hash
         FROM users JOIN accounts ON accounts.id = users.account_id
         WHERE users.email = $1",
    )
    .bind(&email)
    .fetch_optional(&state.db)
    .await;
    let user = match found {
        Ok(user) => user,
        Err(cause) => {
            limits.login.cancel(attempt);
            return Err(cause.into());
        }
    };
    let stored_hash = user.as_ref().map(|(.., hash)| hash.clone());
    let verified = limits.hashing.verify(password, stored_hash).await;
    let (true, Some((user_id, account_id, account_name, name, role, _))) = (verified, user) else {
        tracing::info!(%address, "failed login");
        return Err(ApiError::new(api_types::ErrorCode::InvalidCredentials, WRONG_CREDENTIALS));
    };
    limits.login.succeeded(attempt);
    let role = Role::parse(&role).ok_or_else(|| ApiError::internal(format!("unknown role {role:?}")))?;
    let user = SessionUser { id: user_id, email, name, role, account_id, account_name };
    start_session(&state, &connection, user).await
}

/// Log out: forget the session (harmless when there is none) and clear the cookie.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    request_body(content = Empty, description = "`{}`; the body is not read"),
    responses((status = 200, description = "`data` is `{}`; the session ends and the cookie is cleared", body = Envelope<Empty>))
)]
pub async fn logout(
    State(state): State<AppState>,
    connection: ClientConnection,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session::token_from(&headers) {
        session::delete(&state.db, &token).await?;
    }
    let cookie = session::clearing_cookie(&state.settings.base_path, session::secure_cookie(&state.settings, &connection));
    Ok(with_cookie(cookie, Json(Envelope::success(Empty {}))))
}

/// The logged-in user.
#[utoipa::path(
    post,
    path = "/auth/me",
    tag = "auth",
    request_body(content = Empty, description = "`{}`; the body is not read"),
    responses(
        (status = 200, description = "The logged-in user", body = Envelope<SessionUser>),
        NotLoggedIn,
    )
)]
pub async fn me(current_user: CurrentUser) -> ApiResult<SessionUser> {
    ok(current_user.session_user())
}

/// Create a business account and its first admin, and log the admin in.
#[utoipa::path(
    post,
    path = "/auth/signup",
    tag = "auth",
    request_body = SignupRequest,
    responses(
        (status = 200, description = "The new admin, logged in; the `wadesk_session` cookie is set", body = Envelope<SessionUser>),
        (status = 400, description = "Invalid fields, listed in `fieldErrors` (code 40000)", body = ErrorEnvelope),
        (status = 403, description = "Sign-up is turned off on this server (code 40301)", body = ErrorEnvelope),
        (status = 409, description = "The account name or email is taken (code 40900, field error code `taken`)", body = ErrorEnvelope),
        (status = 429, description = "Too many sign-ups from this client or in total (code 42900); see `retryAfterSeconds` and `Retry-After`", body = ErrorEnvelope),
    )
)]
pub async fn signup(
    State(state): State<AppState>,
    connection: ClientConnection,
    ApiJson(request): ApiJson<SignupRequest>,
) -> Result<Response, ApiError> {
    if !state.settings.signup_enabled {
        return Err(ApiError::new(
            api_types::ErrorCode::SignupDisabled,
            "Sign-up is turned off on this server; ask an admin for an account",
        ));
    }
    let clean = validation::signup(&request).map_err(ApiError::validation)?;
    // Every valid attempt counts, a taken name or email too: sign-up must not become a fast way
    // to find out which emails have accounts.
    state.auth_limits.signup.attempt(connection.address).map_err(ApiError::rate_limited)?;
    // A taken name or email is refused before the hash is paid for (creating checks again).
    let taken = accounts::taken_fields(&state.db, &clean.account_name, &clean.email).await?;
    if !taken.is_empty() {
        return Err(ApiError::conflict_fields(taken));
    }
    let password_hash = state.auth_limits.hashing.hash(clean.password).await?;
    let created =
        accounts::create_with_admin(&state.db, &clean.account_name, &clean.email, &clean.name, &password_hash).await?;
    tracing::info!(account_id = %created.account_id, "account signed up");
    let user = SessionUser {
        id: created.user_id,
        email: created.email,
        name: created.name,
        role: Role::Admin,
        account_id: created.account_id,
        account_name: created.account_name,
    };
    start_session(&state, &connection, user).await
}

async fn start_session(state: &AppState, connection: &ClientConnection, user: SessionUser) -> Result<Response, ApiError> {
    let token = session::create(&state.db, &user.id, &user.account_id).await?;
    let cookie = session::cookie(&token, &state.settings.base_path, session::secure_cookie(&state.settings, connection));
    Ok(with_cookie(cookie, Json(Envelope::success(user))))
}

fn with_cookie(cookie: HeaderValue, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    // Responses that log someone in or out must never be stored by a cache.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
