//! The response envelope and the documented error codes.

use serde::{Deserialize, Deserializer, Serialize};

/// `{"code": 0, "message": "Success", "data": ...}`: the shape of every API response.
///
/// `code` is 0 on success. The seed's examples send it as the string `"0"`, so reading accepts
/// both a number and a numeric string; writing always sends a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope<T> {
    /// 0 on success; otherwise one of the documented error codes (see the API description).
    #[serde(deserialize_with = "number_or_numeric_string")]
    pub code: i64,
    /// `Success`, or why the request failed, in English.
    pub message: String,
    /// The answer on success; on failure the error details, or absent.
    #[serde(default = "Option::default")]
    pub data: Option<T>,
}

impl<T> Envelope<T> {
    pub fn success(data: T) -> Self {
        Envelope { code: 0, message: "Success".to_owned(), data: Some(data) }
    }

    pub fn is_success(&self) -> bool {
        self.code == 0
    }
}

fn number_or_numeric_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(i64),
        Text(String),
    }
    match NumberOrString::deserialize(deserializer)? {
        NumberOrString::Number(code) => Ok(code),
        NumberOrString::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("code {text:?} is not a number"))),
    }
}

/// The `data` of a failed response: why it failed, field by field where that applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    /// Validation failures, one per offending field, in the order of the form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_errors: Vec<FieldError>,
    /// Seconds to wait before trying again (rate limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

/// One invalid field: `field` is the request's JSON field name, `code` a stable machine reason
/// (`required`, `invalid`, `too_long`, `too_short`, `taken`) the SPA translates, and `message`
/// the server's English wording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        FieldError { field: field.to_owned(), code: code.to_owned(), message: message.into() }
    }
}

/// The documented failure codes. The number is what goes over the wire; each has one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request body or a field is invalid (see `fieldErrors`).
    Validation,
    /// Not logged in, or the session expired.
    Unauthorized,
    /// Wrong email or password.
    InvalidCredentials,
    /// Logged in, but this role or account may not do this.
    Forbidden,
    /// Self-service sign-up is turned off on this server.
    SignupDisabled,
    /// No such route or record (in the caller's account).
    NotFound,
    /// The path exists but does not answer this HTTP method (API routes answer POST).
    MethodNotAllowed,
    /// The record exists already (an email, an account name, a number bound to another account).
    Conflict,
    /// The request body is larger than the server accepts.
    PayloadTooLarge,
    /// Too many attempts; `retryAfterSeconds` says when to try again.
    RateLimited,
    /// The upstream provider (Meta, YCloud) refused or failed; `message` says why.
    UpstreamError,
    /// The upstream provider did not answer in time.
    UpstreamTimeout,
    /// The database cannot be reached.
    Unavailable,
    /// A bug on the server; the message never carries internals.
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::Validation,
        ErrorCode::Unauthorized,
        ErrorCode::InvalidCredentials,
        ErrorCode::Forbidden,
        ErrorCode::SignupDisabled,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::UpstreamError,
        ErrorCode::UpstreamTimeout,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The number sent as `code`.
    pub const fn code(self) -> i64 {
        match self {
            ErrorCode::Validation => 40000,
            ErrorCode::Unauthorized => 40100,
            ErrorCode::InvalidCredentials => 40101,
            ErrorCode::Forbidden => 40300,
            ErrorCode::SignupDisabled => 40301,
            ErrorCode::NotFound => 40400,
            ErrorCode::MethodNotAllowed => 40500,
            ErrorCode::Conflict => 40900,
            ErrorCode::PayloadTooLarge => 41300,
            ErrorCode::RateLimited => 42900,
            ErrorCode::UpstreamError => 50200,
            ErrorCode::UpstreamTimeout => 50400,
            ErrorCode::Unavailable => 50300,
            ErrorCode::Internal => 50000,
        }
    }

    /// The HTTP status that goes with the code.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::Validation => 400,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden | ErrorCode::SignupDisabled => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::UpstreamError => 502,
            ErrorCode::UpstreamTimeout => 504,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// What the code means, in English, for documentation (the OpenAPI document lists every code).
    pub const fn meaning(self) -> &'static str {
        match self {
            ErrorCode::Validation => "The request body or a field is invalid; `data.fieldErrors` names the fields",
            ErrorCode::Unauthorized => "Not logged in, or the session expired",
            ErrorCode::InvalidCredentials => "Wrong email or password",
            ErrorCode::Forbidden => "Logged in, but this role or account may not do this",
            ErrorCode::SignupDisabled => "Self-service sign-up is turned off on this server",
            ErrorCode::NotFound => "No such route or record (in the caller's account)",
            ErrorCode::MethodNotAllowed => "The path exists but does not answer this HTTP method; `Allow` lists the ones it does",
            ErrorCode::Conflict => "The record exists already (an email, an account name, a number bound to another account)",
            ErrorCode::PayloadTooLarge => "The request body is larger than the server accepts",
            ErrorCode::RateLimited => "Too many attempts; `data.retryAfterSeconds` and `Retry-After` say when to try again",
            ErrorCode::UpstreamError => "The upstream provider (Meta, YCloud) refused or failed; `message` says why",
            ErrorCode::UpstreamTimeout => "The upstream provider did not answer in time",
            ErrorCode::Unavailable => "The database cannot be reached",
            ErrorCode::Internal => "A bug on the server; the message never carries internals",
        }
    }

    pub fn from_code(code: i64) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|known| known.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_reads_as_number_or_string() {
        let from_number: Envelope<serde_json::Value> =
            serde_json::from_str(r#"{"code":0,"message":"Success","data":[]}"#).unwrap();
        let from_string: Envelope<serde_json::Value> =
            serde_json::from_str(r#"{"code":"0","message":"Success","data":[]}"#).unwrap();
        assert!(from_number.is_success());
        assert!(from_string.is_success());
        let failure: Envelope<ErrorDetails> =
            serde_json::from_str(r#"{"code":"40400","message":"Not found"}"#).unwrap();
        assert_eq!(failure.code, 40400);
        assert_eq!(failure.data, None);
        assert!(serde_json::from_str::<Envelope<()>>(r#"{"code":"zero","message":""}"#).is_err());
    }

    #[test]
    fn success_is_written_with_a_numeric_code() {
        let text = serde_json::to_string(&Envelope::success(1)).unwrap();
        assert_eq!(text, r#"{"code":0,"message":"Success","data":1}"#);
    }

    #[test]
    fn every_code_is_distinct_and_round_trips() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
            assert!(code.code() != 0);
            assert!(code.http_status() >= 400);
            assert!(!code.meaning().is_empty());
        }
        let codes: std::collections::HashSet<i64> = ErrorCode::ALL.into_iter().map(ErrorCode::code).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn a_wrong_method_has_its_own_code_and_status() {
        assert_eq!(ErrorCode::MethodNotAllowed.code(), 40500);
        assert_eq!(ErrorCode::MethodNotAllowed.http_status(), 405);
        assert_eq!(ErrorCode::from_code(40500), Some(ErrorCode::MethodNotAllowed));
    }
}
