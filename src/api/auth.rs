//! Login, logout, sign-up and "who am I" (`/intwa-api/auth/...`).

use api_types::{LoginRequest, SessionUser, SignupRequest};
use serde::Serialize;

use super::{ApiClient, ApiError};

/// The body of calls that take no input.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Empty {}

pub async fn login(api: ApiClient, request: &LoginRequest) -> Result<SessionUser, ApiError> {
    api.post("/auth/login", request).await
}

pub async fn signup(api: ApiClient, request: &SignupRequest) -> Result<SessionUser, ApiError> {
    api.post("/auth/signup", request).await
}

/// The logged-in user; [`ApiError::Unauthorized`] when there is no session.
pub async fn me(api: ApiClient) -> Result<SessionUser, ApiError> {
    api.post("/auth/me", &Empty {}).await
}

pub async fn logout(api: ApiClient) -> Result<(), ApiError> {
    // The answer carries no data we need; accept whatever `data` the server sends.
    api.post::<_, serde_json::Value>("/auth/logout", &Empty {}).await.map(|_| ())
}
