//! Accounts (tenants), users, sessions.

use serde::{Deserialize, Serialize};

/// What a user may do. Admins manage the account, numbers and team; agents answer customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }
}

/// `POST /intwa-api/auth/login`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// `POST /intwa-api/auth/signup`: creates a business account (tenant) and its first admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignupRequest {
    pub account_name: String,
    pub email: String,
    pub password: String,
    pub name: String,
}

/// The logged-in user, as `login`, `signup` and `me` return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub account_id: String,
    /// The account's API name (seed 003 `accountName`).
    pub account_name: String,
}

/// Limits the server enforces on sign-up fields; the SPA checks the same before sending.
pub mod limits {
    pub const PASSWORD_MIN_CHARS: usize = 10;
    pub const PASSWORD_MAX_CHARS: usize = 256;
    pub const NAME_MAX_CHARS: usize = 100;
    pub const ACCOUNT_NAME_MIN_CHARS: usize = 2;
    pub const ACCOUNT_NAME_MAX_CHARS: usize = 64;
    pub const EMAIL_MAX_CHARS: usize = 254;
}
