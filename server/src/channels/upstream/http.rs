//! The HTTP plumbing the live adapters share: one client with a timeout, and the mapping of
//! transport failures, error statuses and unreadable bodies to [`UpstreamError`].

use std::time::Duration;

use reqwest::{Client, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Operation, UpstreamError, UpstreamErrorKind, UpstreamResult};

/// How a provider words its errors: (their code, their message) from an error body.
pub type ErrorBodyReader = fn(&Value) -> Option<(String, String)>;

pub struct UpstreamHttp {
    pub client: Client,
    pub base_url: String,
    pub provider: &'static str,
    timeout: Duration,
    read_error_body: ErrorBodyReader,
}

impl UpstreamHttp {
    pub fn new(provider: &'static str, base_url: &str, timeout: Duration, read_error_body: ErrorBodyReader) -> Self {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .unwrap_or_else(|_| Client::new());
        UpstreamHttp {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            provider,
            timeout,
            read_error_body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Send and decode a JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, operation: Operation, request: RequestBuilder) -> UpstreamResult<T> {
        let body = self.send(operation, request).await?;
        serde_json::from_slice(&body).map_err(|cause| self.error(operation, UpstreamErrorKind::Malformed { cause: cause.to_string() }))
    }

    /// Send and ignore the answer's body (only its status matters).
    pub async fn call(&self, operation: Operation, request: RequestBuilder) -> UpstreamResult<()> {
        self.send(operation, request).await.map(|_| ())
    }

    async fn send(&self, operation: Operation, request: RequestBuilder) -> UpstreamResult<Vec<u8>> {
        let response = request.send().await.map_err(|cause| self.transport_error(operation, cause))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|cause| self.transport_error(operation, cause))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let (code, message) = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|value| (self.read_error_body)(&value))
            .unwrap_or_else(|| {
                let reason = status.canonical_reason().unwrap_or("error");
                (status.as_u16().to_string(), format!("HTTP {} {reason}", status.as_u16()))
            });
        Err(UpstreamError::rejected(self.provider, operation, status.as_u16(), code, message))
    }

    fn transport_error(&self, operation: Operation, cause: reqwest::Error) -> UpstreamError {
        let kind = if cause.is_timeout() {
            UpstreamErrorKind::Timeout { after: self.timeout }
        } else if cause.is_decode() || cause.is_body() {
            UpstreamErrorKind::Malformed { cause: cause.to_string() }
        } else {
            UpstreamErrorKind::Unreachable { cause: cause.to_string() }
        };
        self.error(operation, kind)
    }

    pub fn error(&self, operation: Operation, kind: UpstreamErrorKind) -> UpstreamError {
        UpstreamError { provider: self.provider, operation, kind }
    }
}

/// Text from a JSON field, numbers included (Meta's codes are numbers).
pub fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
