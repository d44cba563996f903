//! What can go wrong with an API call, decoded once from the response envelope.

use api_types::{Envelope, ErrorCode, ErrorDetails, FieldError};
use serde::de::DeserializeOwned;

use crate::i18n::I18n;

/// A failed API call. Pages match on the variant; [`ApiError::describe`] gives the text to show.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// Not logged in or the session expired (code 40100). The client has already cleared the session.
    #[error("not logged in")]
    Unauthorized,
    /// Logged in, but this role or account may not do this (code 40300).
    #[error("forbidden: {message}")]
    Forbidden { message: String },
    /// No such route or record (code 40400).
    #[error("not found: {message}")]
    NotFound { message: String },
    /// The request was invalid; `field_errors` say which fields, in form order (code 40000,
    /// and a conflict such as a taken email when the server names the field).
    #[error("invalid request: {message}")]
    Validation { message: String, field_errors: Vec<FieldError> },
    /// Too many attempts (code 42900).
    #[error("rate limited: {message}")]
    RateLimited { message: String, retry_after_seconds: Option<u64> },
    /// Any other documented failure (wrong password 40101, sign-up disabled 40301, conflicts,
    /// upstream failures...), with the server's code and English message.
    #[error("API error {code}: {message}")]
    Api { code: i64, message: String },
    /// The server could not be reached or did not answer with the API's JSON.
    #[error("network error: {0}")]
    Network(String),
}

impl ApiError {
    /// The per-field failures, empty unless this is a validation error.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ApiError::Validation { field_errors, .. } => field_errors,
            _ => &[],
        }
    }

    /// The failure of one field (by its JSON name), if the server named it.
    pub fn field_error(&self, field: &str) -> Option<&FieldError> {
        self.field_errors().iter().find(|error| error.field == field)
    }

    /// The documented error code, when the server sent one we know.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Unauthorized => Some(ErrorCode::Unauthorized),
            ApiError::Forbidden { .. } => Some(ErrorCode::Forbidden),
            ApiError::NotFound { .. } => Some(ErrorCode::NotFound),
            ApiError::Validation { .. } => Some(ErrorCode::Validation),
            ApiError::RateLimited { .. } => Some(ErrorCode::RateLimited),
            ApiError::Api { code, .. } => ErrorCode::from_code(*code),
            ApiError::Network(_) => None,
        }
    }

    /// The message to show the user, in the current language. Known codes have their own
    /// translated text; an unknown code falls back to the server's (English) message.
    pub fn describe(&self, i18n: I18n) -> String {
        match self {
            ApiError::Network(_) => i18n.t("error.network").to_owned(),
            ApiError::RateLimited { retry_after_seconds: Some(seconds), .. } => {
                i18n.tf("error.rate_limited_seconds", &[("seconds", &seconds.to_string())])
            }
            ApiError::Api { message, .. } if self.error_code().is_none() => {
                if message.trim().is_empty() {
                    i18n.t("error.unknown").to_owned()
                } else {
                    message.clone()
                }
            }
            _ => i18n.t(error_code_key(self.error_code().unwrap_or(ErrorCode::Internal))).to_owned(),
        }
    }
}

fn error_code_key(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Validation => "error.validation",
        ErrorCode::Unauthorized => "error.unauthorized",
        ErrorCode::InvalidCredentials => "error.invalid_credentials",
        ErrorCode::Forbidden => "error.forbidden",
        ErrorCode::SignupDisabled => "error.signup_disabled",
        // A wrong method means this backend has no such POST route: to the user, it is not there.
        ErrorCode::NotFound | ErrorCode::MethodNotAllowed => "error.not_found",
        ErrorCode::Conflict => "error.conflict",
        ErrorCode::PayloadTooLarge => "error.payload_too_large",
        ErrorCode::RateLimited => "error.rate_limited",
        ErrorCode::UpstreamError => "error.upstream",
        ErrorCode::UpstreamTimeout => "error.upstream_timeout",
        ErrorCode::Unavailable => "error.unavailable",
        ErrorCode::Internal => "error.internal",
    }
}

/// The text for one field error, translated by its machine `code`
/// (`required`, `invalid`, `too_long`, `too_short`, `taken`); the server's message otherwise.
pub fn describe_field_error(error: &FieldError, i18n: I18n) -> String {
    let key = match error.code.as_str() {
        "required" => "field.required",
        "invalid" => "field.invalid",
        "too_long" => "field.too_long",
        "too_short" => "field.too_short",
        "taken" => "field.taken",
        "mismatch" => "field.mismatch",
        "not_found" => "field.not_found",
        "digits_only" => "field.digits_only",
        "phone_number" => "field.phone_number",
        _ => return error.message.clone(),
    };
    i18n.t(key).to_owned()
}

/// Decode one HTTP response of the API: the `data` of a successful envelope, or the typed error.
pub fn decode_response<T: DeserializeOwned>(status: u16, body: &str) -> Result<T, ApiError> {
    decode_envelope(status, body).and_then(decode_data)
}

/// Unwrap one HTTP response of the API: the `data` of a successful envelope (`null` when absent),
/// or the typed error.
///
/// This is the only place the envelope is unwrapped. The envelope's `code` decides; the HTTP
/// status is used only when the body is not an envelope at all (a proxy's error page). Not
/// generic on purpose: one copy in the wasm bundle serves every call.
pub fn decode_envelope(status: u16, body: &str) -> Result<serde_json::Value, ApiError> {
    let envelope: Envelope<serde_json::Value> = match serde_json::from_str(body) {
        Ok(envelope) => envelope,
        Err(_) => return Err(error_without_envelope(status)),
    };
    if envelope.is_success() && (200..300).contains(&status) {
        // `data` may be absent for calls that answer nothing (logout): read it as `null`.
        return Ok(envelope.data.unwrap_or(serde_json::Value::Null));
    }
    let details: ErrorDetails = envelope
        .data
        .and_then(|data| serde_json::from_value(data).ok())
        .unwrap_or_default();
    Err(error_from_envelope(status, envelope.code, envelope.message, details))
}

/// The typed `data` of a successful envelope.
pub fn decode_data<T: DeserializeOwned>(data: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(data).map_err(unexpected_data)
}

fn unexpected_data(error: serde_json::Error) -> ApiError {
    ApiError::Api { code: ErrorCode::Internal.code(), message: format!("unexpected response data: {error}") }
}

fn error_from_envelope(status: u16, code: i64, message: String, details: ErrorDetails) -> ApiError {
    // A success code on an error status is a broken server; trust the status.
    let code = if code == 0 { status_as_code(status) } else { code };
    match ErrorCode::from_code(code) {
        Some(ErrorCode::Unauthorized) => ApiError::Unauthorized,
        Some(ErrorCode::Forbidden) => ApiError::Forbidden { message },
        Some(ErrorCode::NotFound) => ApiError::NotFound { message },
        Some(ErrorCode::Validation) => ApiError::Validation { message, field_errors: details.field_errors },
        Some(ErrorCode::Conflict) if !details.field_errors.is_empty() => {
            ApiError::Validation { message, field_errors: details.field_errors }
        }
        Some(ErrorCode::RateLimited) => {
            ApiError::RateLimited { message, retry_after_seconds: details.retry_after_seconds }
        }
        _ => ApiError::Api { code, message },
    }
}

fn error_without_envelope(status: u16) -> ApiError {
    match status {
        401 => ApiError::Unauthorized,
        403 => ApiError::Forbidden { message: String::new() },
        404 => ApiError::NotFound { message: String::new() },
        429 => ApiError::RateLimited { message: String::new(), retry_after_seconds: None },
        _ => ApiError::Network(format!("the server answered HTTP {status} without the API's JSON")),
    }
}

fn status_as_code(status: u16) -> i64 {
    ErrorCode::ALL
        .into_iter()
        .find(|code| code.http_status() == status)
        .map(|code| code.code())
        .unwrap_or(ErrorCode::Internal.code())
}
