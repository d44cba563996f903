//! One error type for every handler: a documented code, a human message, the right HTTP status,
//! and the `{code, message, data}` envelope. Internal details are logged, never sent.

use api_types::{Envelope, ErrorCode, ErrorDetails, FieldError};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: ErrorDetails,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), details: ErrorDetails::default() }
    }

    /// A 400 naming the offending fields.
    pub fn validation(field_errors: Vec<FieldError>) -> Self {
        let message = field_errors
            .first()
            .map(|first| first.message.clone())
            .unwrap_or_else(|| "The request is not valid".to_owned());
        ApiError {
            code: ErrorCode::Validation,
            message,
            details: ErrorDetails { field_errors, retry_after_seconds: None },
        }
    }

    pub fn unauthorized() -> Self {
        ApiError::new(ErrorCode::Unauthorized, "Please log in")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Conflict, message)
    }

    /// A 409 naming the fields whose value is in use (code `taken`).
    pub fn conflict_fields(field_errors: Vec<FieldError>) -> Self {
        let message = field_errors
            .first()
            .map(|first| first.message.clone())
            .unwrap_or_else(|| "This exists already".to_owned());
        ApiError {
            code: ErrorCode::Conflict,
            message,
            details: ErrorDetails { field_errors, retry_after_seconds: None },
        }
    }

    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        ApiError {
            code: ErrorCode::RateLimited,
            message: format!("Too many attempts. Try again in {retry_after_seconds} seconds"),
            details: ErrorDetails { field_errors: Vec::new(), retry_after_seconds: Some(retry_after_seconds) },
        }
    }

    /// A bug or an unexpected failure: log the cause, tell the caller only that it happened.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        ApiError::new(ErrorCode::Internal, "Something went wrong on the server")
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(cause: sqlx::Error) -> Self {
        match &cause {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                tracing::error!(%cause, "database unavailable");
                ApiError::new(ErrorCode::Unavailable, "The database is not reachable")
            }
            _ => ApiError::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.details.retry_after_seconds;
        let has_details = !self.details.field_errors.is_empty() || retry_after.is_some();
        let body = Envelope {
            code: self.code.code(),
            message: self.message,
            data: has_details.then_some(self.details),
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// What a handler returns: the envelope on success, an [`ApiError`] otherwise.
pub type ApiResult<T> = Result<Json<Envelope<T>>, ApiError>;

/// Wrap a handler's data in the success envelope.
pub fn ok<T>(data: T) -> ApiResult<T> {
    Ok(Json(Envelope::success(data)))
}
