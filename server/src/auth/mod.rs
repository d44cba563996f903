//! Who is calling: accounts, users, password login, sessions, and the [`CurrentUser`] extractor
//! every protected handler takes.

pub mod accounts;
pub mod password;
pub mod rate_limit;
pub mod routes;
pub mod session;
pub mod validation;

use std::sync::Arc;

use api_types::{Role, SessionUser};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use crate::web::client_address::TrustedProxies;
use crate::web::error::ApiError;
use crate::state::AppState;

pub use routes::api_routes;

/// What keeps login and sign-up from being abused: their rate limits and the limit on how many
/// password hashes run at once. One per server, in the app state.
pub struct AuthLimits {
    pub login: rate_limit::LoginRateLimiter,
    pub signup: rate_limit::SignupRateLimiter,
    pub hashing: password::PasswordHashing,
}

impl Default for AuthLimits {
    /// The documented limits on the system clock, hashing as many at once as there are CPUs.
    fn default() -> Self {
        AuthLimits::with_clock(Arc::new(rate_limit::SystemClock))
    }
}

impl AuthLimits {
    /// The documented limits, on `clock`.
    pub fn with_clock(clock: Arc<dyn rate_limit::Clock>) -> Self {
        AuthLimits {
            login: rate_limit::LoginRateLimiter::new(rate_limit::LoginLimits::default(), clock.clone()),
            signup: rate_limit::SignupRateLimiter::new(rate_limit::SignupLimits::default(), clock),
            hashing: password::PasswordHashing::default(),
        }
    }
}

/// [`crate::web::ClientAddress`] and [`crate::web::client_address::ClientConnection`] believe
/// forwarding headers only from `--trusted-proxies`; this is where they find them.
impl FromRef<AppState> for TrustedProxies {
    fn from_ref(state: &AppState) -> TrustedProxies {
        state.settings.trusted_proxy_networks.clone()
    }
}

/// The logged-in user behind the request's session cookie. Taking it as a handler argument makes
/// the route answer 401 (JSON) to anyone not logged in; every query a handler makes for the user
/// is scoped by `account_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub user_id: String,
    pub account_id: String,
    /// The account's API name (seed 003 `accountName`).
    pub account_name: String,
    pub email: String,
    pub name: String,
    pub role: Role,
}

impl CurrentUser {
    /// `current_user.require_admin()?`: 403 unless the user is an admin of their account.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Agent => Err(ApiError::forbidden("Only an admin of this account can do this")),
        }
    }

    pub fn session_user(&self) -> SessionUser {
        SessionUser {
            id: self.user_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
            account_id: self.account_id.clone(),
            account_name: self.account_name.clone(),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A handler (or a middleware before it) may ask twice; look the session up once.
        if let Some(known) = parts.extensions.get::<CurrentUser>() {
            return Ok(known.clone());
        }
        let token = session::token_from(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let record = session::find(&state.db, &token).await?.ok_or_else(ApiError::unauthorized)?;
        let role = Role::parse(&record.role).ok_or_else(|| ApiError::internal(format!("unknown role {:?}", record.role)))?;
        let user = CurrentUser {
            user_id: record.user_id,
            account_id: record.account_id,
            account_name: record.account_name,
            email: record.email,
            name: record.name,
            role,
        };
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}
