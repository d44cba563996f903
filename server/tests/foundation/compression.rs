//! Compression over real HTTP: bundle files sent from their `.br` / `.gz` siblings by
//! `Accept-Encoding` (q-values, `q=0`, `identity`), with the original's type, `Vary` and the
//! bundle's caching; index.html and config.json made per request and never read from a sibling;
//! API JSON compressed as it goes out; the same under a base path. Every compressed body is
//! decoded and compared with what it stands for. The database plays no part here: SQLite only.

use std::io::Read as _;
use std::path::Path;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::common::*;

const WASM: &str = "app-0123456789abcdef_bg.wasm";
const SCRIPT: &str = "app-0123456789abcdef.js";
/// Has a `.gz` sibling only.
const STYLE: &str = "style-0123456789abcdef.css";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const STALE: &str = "STALE precompressed copy";

/// Bytes shaped like a small wasm module: a header, then instruction-like runs.
fn wasm_bytes() -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    for index in 0u32..4000 {
        bytes.extend_from_slice(&[0x20, (index % 7) as u8, 0x41, (index % 113) as u8, 0x6a, 0x21, 0x0b]);
    }
    bytes
}

fn script_bytes() -> Vec<u8> {
    (0..200).map(|index| format!("export function handler_{index}(arg) {{ return getObject(arg).call({index}); }}\n")).collect::<String>().into_bytes()
}

fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut output = Vec::new();
    let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut output, &params).unwrap();
    output
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The body as it was before `encoding` (`None`: as it is).
fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut decoded = Vec::new();
    match encoding {
        Some("br") => drop(brotli::Decompressor::new(body, 4096).read_to_end(&mut decoded).unwrap()),
        Some("gzip") => drop(flate2::read::GzDecoder::new(body).read_to_end(&mut decoded).unwrap()),
        Some(other) => panic!("unexpected Content-Encoding {other}"),
        None => decoded = body.to_vec(),
    }
    decoded
}

/// Writes `name` and the siblings listed in `siblings` (`"br"`, `"gz"`) into the bundle.
fn write_with_siblings(dist: &Path, name: &str, bytes: &[u8], siblings: &[&str]) {
    std::fs::write(dist.join(name), bytes).unwrap();
    for sibling in siblings {
        let compressed = if *sibling == "br" { brotli(bytes) } else { gzip(bytes) };
        assert!(compressed.len() < bytes.len(), "{name}.{sibling} must be smaller to mean anything");
        std::fs::write(dist.join(format!("{name}.{sibling}")), compressed).unwrap();
    }
}

/// index.html large enough to be compressed, with an inline script that gets the nonce, and
/// stale siblings that must never be sent.
fn write_large_index(dist: &Path) {
    let filler = "<p>wadesk keeps every WhatsApp number of the business in one console.</p>\n".repeat(30);
    let index = format!(
        "<!doctype html><html><head><base href=\"/\"><title>{TEST_BUNDLE_MARKER}</title>\
         <script type=\"module\">import init from './{SCRIPT}'; init();</script></head>\
         <body>{TEST_BUNDLE_MARKER}\n{filler}</body></html>"
    );
    std::fs::write(dist.join("index.html"), index).unwrap();
    let stale = format!("<!doctype html><title>{STALE}</title>{}", "x".repeat(3000));
    std::fs::write(dist.join("index.html.br"), brotli(stale.as_bytes())).unwrap();
    std::fs::write(dist.join("index.html.gz"), gzip(stale.as_bytes())).unwrap();
    let stale_config = format!("{{\"stale\":\"{STALE}\"}}");
    std::fs::write(dist.join("config.json"), &stale_config).unwrap();
    std::fs::write(dist.join("config.json.br"), brotli(stale_config.as_bytes())).unwrap();
    std::fs::write(dist.join("config.json.gz"), gzip(stale_config.as_bytes())).unwrap();
}

fn write_bundle(dist: &Path) {
    write_with_siblings(dist, WASM, &wasm_bytes(), &["br", "gz"]);
    write_with_siblings(dist, SCRIPT, &script_bytes(), &["br", "gz"]);
    write_with_siblings(dist, STYLE, &".console { display: grid; gap: 8px }\n".repeat(100).into_bytes(), &["gz"]);
    write_large_index(dist);
}

/// One answer: status, headers, and the body exactly as it came over the wire.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    fn encoding(&self) -> Option<&str> {
        self.header("content-encoding")
    }

    fn decoded(&self) -> Vec<u8> {
        decode(self.encoding(), &self.body)
    }

    fn text(&self) -> String {
        String::from_utf8(self.decoded()).unwrap()
    }

    fn varies_by_encoding(&self) -> bool {
        self.headers.get_all("vary").iter().any(|value| value.to_str().unwrap().to_ascii_lowercase().contains("accept-encoding"))
    }
}

async fn request(url: &str, method: Method, headers: &[(&str, &str)]) -> Answer {
    // reqwest is built without its decompression, so it neither asks for an encoding nor decodes.
    let mut request = new_client().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.bytes().await.unwrap().to_vec();
    Answer { status, headers, body }
}

async fn get(url: &str, accept_encoding: Option<&str>) -> Answer {
    match accept_encoding {
        Some(accept) => request(url, Method::GET, &[("accept-encoding", accept)]).await,
        None => request(url, Method::GET, &[]).await,
    }
}

async fn started(configure: impl FnOnce(&mut wadesk_server::Settings)) -> TestServer {
    let server = TestServer::start(Store::Sqlite, configure).await.expect("SQLite always runs");
    write_bundle(&server.dist);
    server
}

/// The precompressed file an answer must be, byte for byte.
fn sibling(dist: &Path, name: &str, encoding: &str) -> Vec<u8> {
    let ending = if encoding == "br" { "br" } else { "gz" };
    std::fs::read(dist.join(format!("{name}.{ending}"))).unwrap()
}

#[tokio::test]
async fn bundle_files_come_from_their_siblings_by_accept_encoding() {
    let server = started(default_settings).await;
    let url = format!("{}/{WASM}", server.url);
    let wasm = wasm_bytes();
    for (accept, expected) in [
        (Some("gzip, deflate, br"), Some("br")),
        (Some("br"), Some("br")),
        (Some("gzip"), Some("gzip")),
        (Some("x-gzip"), Some("gzip")),
        (Some("br;q=0, gzip"), Some("gzip")),
        (Some("gzip;q=0.8, br;q=0.5"), Some("gzip")),
        (Some("GZIP;Q=0.5, BR;Q=0.9"), Some("br")),
        (Some("br;q=0, gzip;q=0"), None),
        (Some("identity"), None),
        (Some("deflate"), None),
        (Some(""), None),
        (None, None),
    ] {
        let answer = get(&url, accept).await;
        assert_eq!(answer.status, 200, "{accept:?}");
        assert_eq!(answer.encoding(), expected, "{accept:?}");
        assert_eq!(answer.header("content-type"), Some("application/wasm"), "{accept:?}");
        assert!(answer.varies_by_encoding(), "{accept:?}: {:?}", answer.headers);
        assert_eq!(answer.header("cache-control"), Some(IMMUTABLE), "{accept:?}");
        assert_eq!(answer.header("content-length"), Some(answer.body.len().to_string().as_str()), "{accept:?}");
        match expected {
            Some(encoding) => assert_eq!(answer.body, sibling(&server.dist, WASM, encoding), "{accept:?}"),
            None => assert_eq!(answer.body, wasm, "{accept:?}"),
        }
        assert_eq!(answer.decoded(), wasm, "{accept:?}");
    }

    let script = get(&format!("{}/{SCRIPT}", server.url), Some("gzip, deflate, br")).await;
    assert_eq!(script.encoding(), Some("br"));
    assert_eq!(script.header("content-type"), Some("text/javascript"));
    assert_eq!(script.decoded(), script_bytes());

    // Only a .gz exists: gzip when accepted, else the file itself (still with Vary).
    let style_url = format!("{}/{STYLE}", server.url);
    let style = get(&style_url, Some("gzip, deflate, br")).await;
    assert_eq!((style.encoding(), style.header("content-type")), (Some("gzip"), Some("text/css")));
    assert_eq!(style.body, sibling(&server.dist, STYLE, "gzip"));
    let style_raw = get(&style_url, Some("br")).await;
    assert_eq!(style_raw.encoding(), None);
    assert!(style_raw.varies_by_encoding());
    assert_eq!(style_raw.decoded(), style.decoded());

    // A plain name without siblings: as it is, revalidated as usual, still with Vary.
    let plain = get(&format!("{}/assets/app.js", server.url), Some("gzip, br")).await;
    assert_eq!(plain.encoding(), None);
    assert!(plain.varies_by_encoding());
    assert!(plain.header("cache-control").is_none());
    assert_eq!(plain.body, b"console.log('wadesk test bundle');");
}

#[tokio::test]
async fn head_ranges_and_revalidation_still_work() {
    let server = started(default_settings).await;
    let url = format!("{}/{WASM}", server.url);
    let br = sibling(&server.dist, WASM, "br");

    let head = request(&url, Method::HEAD, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.encoding(), Some("br"));
    assert_eq!(head.header("content-length"), Some(br.len().to_string().as_str()));
    assert_eq!(head.header("content-type"), Some("application/wasm"));
    assert!(head.varies_by_encoding());
    assert!(head.body.is_empty());

    // A range of the file itself, and (when an encoding is accepted) of the encoded file: the
    // range applies to the representation that is sent.
    let raw_range = request(&url, Method::GET, &[("range", "bytes=0-3")]).await;
    assert_eq!(raw_range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(raw_range.body, b"\0asm");
    assert_eq!(raw_range.encoding(), None);
    assert_eq!(raw_range.header("content-range"), Some(format!("bytes 0-3/{}", wasm_bytes().len()).as_str()));
    assert!(raw_range.varies_by_encoding());
    assert_eq!(raw_range.header("cache-control"), Some(IMMUTABLE));
    let br_range = request(&url, Method::GET, &[("range", "bytes=0-9"), ("accept-encoding", "br")]).await;
    assert_eq!(br_range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(br_range.encoding(), Some("br"));
    assert_eq!(br_range.body, br[..10]);
    assert_eq!(br_range.header("content-range"), Some(format!("bytes 0-9/{}", br.len()).as_str()));

    let first = get(&url, Some("br")).await;
    let last_modified = first.header("last-modified").expect("a Last-Modified").to_owned();
    let again = request(&url, Method::GET, &[("accept-encoding", "br"), ("if-modified-since", &last_modified)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.varies_by_encoding());
    assert_eq!(again.header("cache-control"), Some(IMMUTABLE));
}

#[tokio::test]
async fn index_html_and_config_json_are_made_per_request_never_read_from_siblings() {
    let server = started(default_settings).await;
    for path in ["/", "/index.html", "/numbers/123"] {
        let url = format!("{}{path}", server.url);
        for (accept, expected) in [(Some("gzip, deflate, br"), Some("br")), (Some("gzip"), Some("gzip")), (None, None)] {
            let page = get(&url, accept).await;
            assert_eq!(page.status, 200, "{path} {accept:?}");
            assert_eq!(page.encoding(), expected, "{path} {accept:?}");
            assert_eq!(page.header("cache-control"), Some("no-cache"), "{path} {accept:?}");
            assert!(page.header("content-type").unwrap().starts_with("text/html"), "{path} {accept:?}");
            assert!(page.varies_by_encoding(), "{path} {accept:?}");
            let html = page.text();
            assert!(html.contains(TEST_BUNDLE_MARKER) && !html.contains(STALE), "{path} {accept:?}: {html}");
            // Made for this answer: the inline script carries the nonce of this answer's policy.
            let policy = page.header("content-security-policy").unwrap();
            let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).unwrap();
            assert!(html.contains(&format!("<script nonce=\"{nonce}\" type=\"module\">")), "{path}: {html}");
        }
    }

    // config.json is the server's own, never the bundle's file nor its siblings.
    for accept in [Some("gzip, deflate, br"), None] {
        let config = get(&format!("{}/config.json", server.url), accept).await;
        assert_eq!(config.status, 200);
        assert_eq!(config.header("cache-control"), Some("no-store"));
        let text = config.text();
        assert!(!text.contains(STALE), "{text}");
        let config: api_types::RuntimeConfig = serde_json::from_str(&text).unwrap();
        assert!(config.sandbox);
    }
}

#[tokio::test]
async fn api_json_is_compressed_when_accepted() {
    let server = started(default_settings).await;
    let url = server.api_url("/openapi.json");
    let plain = get(&url, None).await;
    assert_eq!((plain.status, plain.encoding()), (StatusCode::OK, None));
    assert!(plain.varies_by_encoding(), "the same URL answers in other encodings");
    let document: Value = serde_json::from_slice(&plain.body).unwrap();
    assert!(document["paths"].as_object().unwrap().contains_key("/intwa-api/health"));
    for (accept, expected) in [("gzip", "gzip"), ("gzip, deflate, br", "br"), ("br;q=0, gzip", "gzip")] {
        let answer = get(&url, Some(accept)).await;
        assert_eq!(answer.status, 200, "{accept}");
        assert_eq!(answer.encoding(), Some(expected), "{accept}");
        assert!(answer.header("content-type").unwrap().starts_with("application/json"), "{accept}");
        assert!(answer.varies_by_encoding(), "{accept}");
        assert!(answer.body.len() * 3 < plain.body.len(), "{accept}: {} of {} bytes", answer.body.len(), plain.body.len());
        let decoded: Value = serde_json::from_slice(&answer.decoded()).expect("the decoded body is JSON");
        assert_eq!(decoded, document, "{accept}");
    }

    // Tiny answers go as they are, and still read as JSON.
    let health = get(&server.api_url("/health"), Some("gzip, br")).await;
    assert_eq!(health.encoding(), None);
    let health: Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(health["data"]["database"], "ok");

    // A POST answer of the API (an error envelope) comes back as JSON either way.
    let headers = [("accept-encoding", "gzip"), ("content-type", "application/json")];
    let login = request(&server.api_url("/auth/login"), Method::POST, &headers).await;
    assert_eq!(login.status, StatusCode::BAD_REQUEST);
    let envelope: Value = serde_json::from_slice(&login.decoded()).unwrap();
    assert_eq!(envelope["code"].as_i64().map(|code| code != 0), Some(true), "{envelope}");
}

#[tokio::test]
async fn under_a_base_path_the_siblings_are_served_too() {
    let server = started(|settings| settings.base_path = "/console/".to_owned()).await;
    assert!(server.url.ends_with("/console"), "{}", server.url);
    let wasm = get(&format!("{}/console/{WASM}", server.origin), Some("gzip, deflate, br")).await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.encoding(), Some("br"));
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("cache-control"), Some(IMMUTABLE));
    assert!(wasm.varies_by_encoding());
    assert_eq!(wasm.decoded(), wasm_bytes());
    let gzipped = get(&format!("{}/console/{SCRIPT}", server.origin), Some("gzip")).await;
    assert_eq!(gzipped.encoding(), Some("gzip"));
    assert_eq!(gzipped.decoded(), script_bytes());

    let page = get(&format!("{}/console/numbers", server.origin), Some("br")).await;
    assert_eq!(page.encoding(), Some("br"));
    assert_eq!(page.header("cache-control"), Some("no-cache"));
    let html = page.text();
    assert!(html.contains("<base href=\"/console/\"") && !html.contains(STALE), "{html}");

    let api = get(&format!("{}/console/intwa-api/openapi.json", server.origin), Some("gzip")).await;
    assert_eq!(api.encoding(), Some("gzip"));
    let document: Value = serde_json::from_slice(&api.decoded()).unwrap();
    assert_eq!(document["servers"][0]["url"], "/console");

    let outside = get(&format!("{}/{WASM}", server.origin), Some("br")).await;
    assert_eq!(outside.status, 404, "outside the base path");
}
