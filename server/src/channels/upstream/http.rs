//! The HTTP plumbing the live adapters share: one client with a timeout, and the mapping of
//! transport failures, error statuses and unreadable bodies to [`UpstreamError`]; multipart
//! bodies for uploads and size-capped downloads for media.

use std::time::Duration;

use base64::Engine;
use rand::Rng;
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Operation, UpstreamError, UpstreamErrorKind, UpstreamResult};

/// WhatsApp's largest media (a document, whatsapp-facts "Media"): a download growing past it is
/// cut off rather than held in memory.
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;

/// Media moves up to [`MAX_MEDIA_BYTES`]: an upload or download may take this many times the
/// timeout of an ordinary call (two minutes for the default 15 seconds).
const TRANSFER_TIMEOUT_FACTOR: u32 = 8;

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

    /// Upload a multipart body (with the longer transfer timeout) and decode the JSON answer.
    pub async fn upload<T: DeserializeOwned>(&self, operation: Operation, request: RequestBuilder, form: Multipart) -> UpstreamResult<T> {
        let after = self.transfer_timeout();
        let (content_type, body) = form.finish();
        let request = request.timeout(after).header(reqwest::header::CONTENT_TYPE, content_type).body(body);
        let response = request.send().await.map_err(|cause| self.transport_error(operation, cause, after))?;
        let body = self.read_answer(operation, response, after).await?;
        serde_json::from_slice(&body).map_err(|cause| self.error(operation, UpstreamErrorKind::Malformed { cause: cause.to_string() }))
    }

    /// Fetch a file (with the longer transfer timeout), refusing one larger than [`MAX_MEDIA_BYTES`]
    /// before it is all in memory.
    pub async fn download(&self, operation: Operation, request: RequestBuilder) -> UpstreamResult<Downloaded> {
        let after = self.transfer_timeout();
        let mut response = request.timeout(after).send().await.map_err(|cause| self.transport_error(operation, cause, after))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.bytes().await.map_err(|cause| self.transport_error(operation, cause, after))?;
            return Err(self.refusal(operation, status, &body));
        }
        let too_large = || self.error(operation, UpstreamErrorKind::Malformed { cause: format!("the file is larger than {MAX_MEDIA_BYTES} bytes") });
        if response.content_length().is_some_and(|length| length > MAX_MEDIA_BYTES) {
            return Err(too_large());
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|cause| self.transport_error(operation, cause, after))? {
            if (bytes.len() + chunk.len()) as u64 > MAX_MEDIA_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Downloaded { bytes: bytes.into(), content_type })
    }

    async fn send(&self, operation: Operation, request: RequestBuilder) -> UpstreamResult<Vec<u8>> {
        let response = request.send().await.map_err(|cause| self.transport_error(operation, cause, self.timeout))?;
        self.read_answer(operation, response, self.timeout).await
    }

    /// The body of a successful answer, or the provider's refusal in its own words.
    async fn read_answer(&self, operation: Operation, response: Response, after: Duration) -> UpstreamResult<Vec<u8>> {
        let status = response.status();
        let body = response.bytes().await.map_err(|cause| self.transport_error(operation, cause, after))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        Err(self.refusal(operation, status, &body))
    }

    fn refusal(&self, operation: Operation, status: StatusCode, body: &[u8]) -> UpstreamError {
        let (code, message) = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|value| (self.read_error_body)(&value))
            .unwrap_or_else(|| {
                let reason = status.canonical_reason().unwrap_or("error");
                (status.as_u16().to_string(), format!("HTTP {} {reason}", status.as_u16()))
            });
        UpstreamError::rejected(self.provider, operation, status.as_u16(), code, message)
    }

    fn transfer_timeout(&self) -> Duration {
        self.timeout * TRANSFER_TIMEOUT_FACTOR
    }

    fn transport_error(&self, operation: Operation, cause: reqwest::Error, after: Duration) -> UpstreamError {
        let kind = if cause.is_timeout() {
            UpstreamErrorKind::Timeout { after }
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

/// A downloaded file and the type its answer declared.
pub struct Downloaded {
    pub bytes: bytes::Bytes,
    pub content_type: Option<String>,
}

/// A `multipart/form-data` body (RFC 7578), the way both providers take uploads.
pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Self {
        let boundary = format!("wadesk-{:032x}", rand::thread_rng().gen::<u128>());
        Multipart { boundary, body: Vec::new() }
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.open_part(name, None, None);
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.open_part(name, Some(file_name), Some(content_type));
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    fn open_part(&mut self, name: &str, file_name: Option<&str>, content_type: Option<&str>) {
        let mut head = format!("--{}\r\nContent-Disposition: form-data; name=\"{}\"", self.boundary, quoted(name));
        if let Some(file_name) = file_name {
            head.push_str(&format!("; filename=\"{}\"", quoted(file_name)));
        }
        head.push_str("\r\n");
        if let Some(content_type) = content_type {
            head.push_str(&format!("Content-Type: {}\r\n", content_type.replace(['\r', '\n'], "")));
        }
        head.push_str("\r\n");
        self.body.extend_from_slice(head.as_bytes());
    }

    /// The `Content-Type` header (with the boundary) and the body.
    fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (format!("multipart/form-data; boundary={}", self.boundary), self.body)
    }
}

/// A name inside a quoted header parameter: quotes and line breaks escaped the way browsers do
/// (the HTML form encoding), so a customer's file name cannot add header lines.
fn quoted(text: &str) -> String {
    text.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A")
}

/// Whether `bytes` hash to `expected`, which providers write as hex (Meta's media lookup) or
/// base64 (webhooks); `None` when `expected` is neither.
pub fn sha256_matches(expected: &str, bytes: &[u8]) -> Option<bool> {
    let expected = expected.trim();
    let digest = Sha256::digest(bytes);
    let wanted = if expected.len() == 64 {
        hex::decode(expected).ok()
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(expected)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(expected))
            .ok()
    }
    .filter(|wanted| wanted.len() == digest.len())?;
    Some(wanted.as_slice() == digest.as_slice())
}

/// An id from outside (a wamid holds `+`, `/` and `=`) made safe as one URL path segment.
pub fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A URL's scheme, host and port, to tell whether a link points where a secret may go.
pub fn origin_of(url: &str) -> Option<(String, String, Option<u16>)> {
    let parsed = url::Url::parse(url).ok()?;
    Some((parsed.scheme().to_owned(), parsed.host_str()?.to_ascii_lowercase(), parsed.port_or_known_default()))
}

/// Whether `url` is on `base_url`'s origin, or an https URL on one of `hosts` or their subdomains.
pub fn link_is_trusted(url: &str, base_url: &str, hosts: &[&str]) -> bool {
    let Some(origin) = origin_of(url) else {
        return false;
    };
    if origin_of(base_url).is_some_and(|base| base == origin) {
        return true;
    }
    let (scheme, host, _) = origin;
    scheme == "https" && hosts.iter().any(|trusted| host == *trusted || host.ends_with(&format!(".{trusted}")))
}
