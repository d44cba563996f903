//! Compressing answers made per request (tower-http's `CompressionLayer`, Brotli or gzip by the
//! client's `Accept-Encoding`): the API's JSON and the console's HTML page. The bundle's static
//! files are not compressed here: they are sent from the `.br` / `.gz` siblings `cargo xtask`
//! writes next to them (see `spa`).
//!
//! Never compressed: bodies under [`MIN_BYTES`], answers that are already encoded or are a range
//! (tower-http skips those itself), and Server-Sent Events ([`not_an_event_stream`]): an encoder
//! holds bytes back until its buffer fills, so events would arrive late and in bursts.

use axum::http::{header, Extensions, HeaderMap, StatusCode, Version};
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Smaller bodies go as they are: they fit in one packet either way, and the encoder's framing
/// eats most of what it would save.
pub const MIN_BYTES: u16 = 1024;

/// The layer on the API routes: JSON of at least [`MIN_BYTES`], never an event stream. The
/// level is tower-http's default (Brotli 4, gzip 6): quick enough to run on every answer.
pub fn api_layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Default)
        .compress_when(SizeAbove::new(MIN_BYTES).and(not_an_event_stream as AnswerCheck))
}

/// The layer on the SPA's fallback: only its HTML page (index.html with a fresh CSP nonce, or the
/// "not built" page). Bundle files there come from their precompressed siblings, or as they are
/// (with their length and byte ranges) when none is acceptable.
pub fn page_layer() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Default)
        .compress_when(SizeAbove::new(MIN_BYTES).and(is_html as AnswerCheck).and(not_an_event_stream as AnswerCheck))
}

/// A check on an answer's status, version, headers and extensions (tower-http's closure form of a
/// predicate).
type AnswerCheck = fn(StatusCode, Version, &HeaderMap, &Extensions) -> bool;

/// False for a Server-Sent Events stream (`text/event-stream`, any case, any parameters): each
/// event must reach the browser when it is written, which an encoder's buffering prevents.
pub fn not_an_event_stream(_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    media_type(headers).is_none_or(|media_type| !media_type.eq_ignore_ascii_case("text/event-stream"))
}

/// True for `text/html`.
pub fn is_html(_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    media_type(headers).is_some_and(|media_type| media_type.eq_ignore_ascii_case("text/html"))
}

/// The `Content-Type` without its parameters (`text/html` of `text/html; charset=utf-8`).
fn media_type(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim())
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::io::Read as _;

    use axum::body::Body;
    use axum::http::{HeaderValue, Request, Response};
    use tower::{service_fn, Layer as _, ServiceExt as _};

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    fn check(predicate: AnswerCheck, content_type: &str) -> bool {
        predicate(StatusCode::OK, Version::HTTP_11, &headers(content_type), &Extensions::new())
    }

    #[test]
    fn event_streams_are_never_compressed() {
        for stream in ["text/event-stream", "text/event-stream; charset=utf-8", "Text/Event-Stream", " text/event-stream ;x=1"] {
            assert!(!check(not_an_event_stream, stream), "{stream}");
        }
        for other in ["application/json", "text/html; charset=utf-8", "text/event-streams", "text/plain"] {
            assert!(check(not_an_event_stream, other), "{other}");
        }
        assert!(not_an_event_stream(StatusCode::OK, Version::HTTP_11, &HeaderMap::new(), &Extensions::new()));
    }

    #[test]
    fn pages_are_html_only() {
        assert!(check(is_html, "text/html; charset=utf-8"));
        for other in ["application/wasm", "text/javascript", "application/json", "text/htmlx"] {
            assert!(!check(is_html, other), "{other}");
        }
        assert!(!is_html(StatusCode::OK, Version::HTTP_11, &HeaderMap::new(), &Extensions::new()));
    }

    /// What `layer` makes of an answer with `content_type` and `body` for a client that accepts
    /// Brotli and gzip: its `Content-Encoding` (if any), its decoded body and its `Vary`.
    async fn through<P>(layer: &CompressionLayer<P>, content_type: &'static str, body: String) -> (Option<String>, String, Option<String>)
    where
        P: Predicate + Send + Sync + 'static,
    {
        let service = layer.layer(service_fn(move |_: Request<Body>| {
            let body = body.clone();
            async move { Ok::<_, Infallible>(Response::builder().header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap()) }
        }));
        let request = Request::builder().header(header::ACCEPT_ENCODING, "gzip, deflate, br").body(Body::empty()).unwrap();
        let response = service.oneshot(request).await.unwrap();
        let text = |name| response.headers().get(name).map(|value: &HeaderValue| value.to_str().unwrap().to_owned());
        let (encoding, vary) = (text(header::CONTENT_ENCODING), text(header::VARY));
        let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await.unwrap();
        let mut decoded = String::new();
        match encoding.as_deref() {
            Some("br") => brotli::Decompressor::new(&bytes[..], 4096).read_to_string(&mut decoded).map(drop).unwrap(),
            Some("gzip") => flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut decoded).map(drop).unwrap(),
            Some(other) => panic!("unexpected encoding {other}"),
            None => decoded = String::from_utf8(bytes.to_vec()).unwrap(),
        }
        (encoding, decoded, vary)
    }

    fn long_json() -> String {
        let items: Vec<String> = (0..60).map(|id| format!("{{\"id\":{id},\"displayPhoneNumber\":\"+1 555 01{id:02}\"}}")).collect();
        format!("{{\"code\":0,\"message\":\"Success\",\"data\":[{}]}}", items.join(","))
    }

    #[tokio::test]
    async fn the_api_layer_compresses_json_but_not_tiny_bodies_nor_event_streams() {
        let layer = api_layer();
        let json = long_json();
        assert!(json.len() > usize::from(MIN_BYTES));
        let (encoding, body, vary) = through(&layer, "application/json", json.clone()).await;
        assert_eq!((encoding.as_deref(), vary.as_deref()), (Some("br"), Some("accept-encoding")));
        assert_eq!(body, json);

        let tiny = r#"{"code":0,"message":"Success","data":{"database":"ok"}}"#.to_owned();
        assert_eq!(through(&layer, "application/json", tiny.clone()).await, (None, tiny, None));

        // However large: an event stream goes out as it is written.
        let events = "event: message\ndata: {\"id\":1}\n\n".repeat(100);
        for content_type in ["text/event-stream", "text/event-stream; charset=utf-8"] {
            assert_eq!(through(&layer, content_type, events.clone()).await, (None, events.clone(), None), "{content_type}");
        }
    }

    #[tokio::test]
    async fn the_page_layer_compresses_html_only() {
        let layer = page_layer();
        let page = format!("<!doctype html><html><body>{}</body></html>", "<p>wadesk</p>".repeat(200));
        let (encoding, body, _) = through(&layer, "text/html; charset=utf-8", page.clone()).await;
        assert_eq!((encoding.as_deref(), body), (Some("br"), page));
        // A bundle file that has no acceptable sibling is sent as it is (length, ranges and all).
        let script = "console.log('wadesk');\n".repeat(200);
        assert_eq!(through(&layer, "text/javascript", script.clone()).await, (None, script, None));
    }
}
