//! [`ApiJson`]: the JSON body extractor every API handler uses. Whatever is wrong with a body (not
//! JSON, a missing field, a wrong type, no JSON content type), the caller gets our 400
//! Validation envelope with a clear message, naming the field when serde says which; a body over the limit gets 413.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use api_types::{ErrorCode, FieldError};

use crate::web::error::ApiError;

/// A JSON request body of type `T`. Use it instead of `axum::Json` in handlers (as the last argument).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(request.headers()) {
            return Err(body_error("Send the request body as JSON, with the header Content-Type: application/json"));
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge, "The request body is too large")
            } else {
                body_error("The request body could not be read")
            }
        })?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// Parse a JSON body into `T` with the same errors as [`ApiJson`] (for handlers that need the raw
/// bytes too, such as webhooks that check a signature first).
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(body_error("The request body is empty; send a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => value,
        Err(error) => return Err(describe(error.path().to_string(), error.into_inner())),
    };
    deserializer
        .end()
        .map_err(|error| body_error(format!("The request body is not valid JSON: {}", without_position(&error))))?;
    refuse_nul_text(bytes)?;
    Ok(value)
}

/// Text holding NUL (`\u0000`) means nothing in this API and PostgreSQL cannot store or compare it:
/// such a body gets a 400 naming the field, before any query sees it.
fn refuse_nul_text(bytes: &[u8]) -> Result<(), ApiError> {
    // JSON can only carry NUL escaped, and the escape is always spelled `\u0000`.
    if !bytes.windows(6).any(|window| window == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(());
    };
    match path_of_nul_text(&value, "") {
        Some(path) => {
            let field = if path.is_empty() { "body".to_owned() } else { path };
            let message = format!("The field `{field}` must not contain the NUL character");
            Err(ApiError::validation(vec![FieldError::new(&field, "invalid", message)]))
        }
        None => Ok(()),
    }
}

/// The path (`phoneNumberId`, `items[2].name`) of the first string or key that holds NUL.
fn path_of_nul_text(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0').then(|| path.to_owned()),
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(index, item)| path_of_nul_text(item, &format!("{path}[{index}]")))
        }
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            if key.contains('\0') {
                Some(child)
            } else {
                path_of_nul_text(item, &child)
            }
        }),
        _ => None,
    }
}

fn describe(path: String, error: serde_json::Error) -> ApiError {
    let reason = without_position(&error);
    if !error.is_data() {
        return body_error(format!("The request body is not valid JSON: {reason}"));
    }
    let at_root = path.is_empty() || path == ".";
    if let Some(missing) = reason.strip_prefix("missing field `").and_then(|rest| rest.strip_suffix('`')) {
        let field = if at_root { missing.to_owned() } else { format!("{path}.{missing}") };
        let message = format!("The field `{field}` is required");
        return ApiError::validation(vec![FieldError::new(&field, "required", message)]);
    }
    if at_root {
        return body_error(format!("The request body must be a JSON object of the expected shape: {reason}"));
    }
    let message = format!("The field `{path}` is not valid: {reason}");
    ApiError::validation(vec![FieldError::new(&path, "invalid", message)])
}

/// serde_json's message without " at line 1 column 12" (the body is one line from a program).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(position) => text[..position].to_owned(),
        None => text,
    }
}

fn body_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Validation, message)
}

fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        inner: Option<Inner>,
    }

    fn field_errors(error: ApiError) -> Vec<(String, String)> {
        error.details.field_errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn a_missing_field_is_named() {
        let error = parse_body::<Body>(br#"{"inner":null}"#).unwrap_err();
        assert_eq!(error.code, ErrorCode::Validation);
        assert_eq!(field_errors(error), [("email".to_owned(), "required".to_owned())]);
        let nested = parse_body::<Body>(br#"{"email":"a","inner":{}}"#).unwrap_err();
        assert_eq!(field_errors(nested), [("inner.count".to_owned(), "required".to_owned())]);
    }

    #[test]
    fn a_wrong_type_is_named() {
        let error = parse_body::<Body>(br#"{"email":5}"#).unwrap_err();
        assert!(error.message.contains("`email`"), "{}", error.message);
        assert!(!error.message.contains("line"), "{}", error.message);
        assert_eq!(field_errors(error), [("email".to_owned(), "invalid".to_owned())]);
    }

    #[test]
    fn broken_json_and_trailing_garbage_are_rejected() {
        for body in [&b"{"[..], b"{\"email\":\"a\"} x", b"\"text\"", b"  "] {
            let error = parse_body::<Body>(body).unwrap_err();
            assert_eq!(error.code, ErrorCode::Validation);
            assert!(error.details.field_errors.is_empty());
        }
    }

    #[test]
    fn text_holding_nul_is_refused_by_field() {
        let error = parse_body::<Body>(br#"{"email":"a\u0000b"}"#).unwrap_err();
        assert_eq!(field_errors(error), [("email".to_owned(), "invalid".to_owned())]);
        let nested = parse_body::<serde_json::Value>(br#"{"list":[{"name":"ok"},{"name":"x\u0000"}]}"#).unwrap_err();
        assert_eq!(field_errors(nested), [("list[1].name".to_owned(), "invalid".to_owned())]);
        // An escaped backslash followed by the text "u0000" is not NUL.
        assert!(parse_body::<Body>(br#"{"email":"a\\u0000b"}"#).is_ok());
    }

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!has_json_content_type(&headers));
        headers.insert(header::CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        assert!(has_json_content_type(&headers));
        headers.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert!(!has_json_content_type(&headers));
    }
}
