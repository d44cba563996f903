//! The live adapters (Meta Graph API, YCloud v2) against a local fake upstream: an axum app on
//! 127.0.0.1:0 that records each request and answers what the test scripts, including errors in
//! each provider's own JSON, 5xx, broken JSON, answers too slow for the timeout, and media files.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::{ErrorCode, MessageType};
use axum::body::Bytes;
use base64::Engine;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wadesk_server::channels::upstream::messaging::{MediaFile, MediaSource, OutgoingMedia, OutgoingMessage, Recipient};
use wadesk_server::channels::upstream::meta::{MetaConfig, MetaUpstream};
use wadesk_server::channels::upstream::ycloud::{YcloudConfig, YcloudUpstream};
use wadesk_server::channels::upstream::{BusinessToken, Operation, SyncKind, Upstream, UpstreamError, UpstreamErrorKind};
use wadesk_server::ApiError;

#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: String,
    /// The body's bytes as sent (uploads carry files that are not text).
    raw: Vec<u8>,
}

/// What the fake answers: status, body, its type, and how long it waits first.
struct Answer {
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
    delay: Duration,
}

impl Answer {
    /// A body that is not the JSON the provider should send (HTML, truncated JSON).
    fn text(status: u16, body: &str) -> Answer {
        Answer { status, body: body.as_bytes().to_vec(), content_type: "application/json", delay: Duration::ZERO }
    }

    /// A file, as a media host serves it.
    fn file(content_type: &'static str, bytes: &[u8]) -> Answer {
        Answer { status: 200, body: bytes.to_vec(), content_type, delay: Duration::ZERO }
    }

    fn after(self, delay: Duration) -> Answer {
        Answer { delay, ..self }
    }
}

fn answer(status: u16, body: Value) -> Answer {
    Answer::text(status, &body.to_string())
}

type Script = Box<dyn Fn(&Recorded) -> Answer + Send + Sync>;

struct Fake {
    recorded: Mutex<Vec<Recorded>>,
    script: Script,
}

struct FakeUpstream {
    url: String,
    fake: Arc<Fake>,
}

impl FakeUpstream {
    async fn start(script: impl Fn(&Recorded) -> Answer + Send + Sync + 'static) -> FakeUpstream {
        let fake = Arc::new(Fake { recorded: Mutex::new(Vec::new()), script: Box::new(script) });
        let app = Router::new().fallback(respond).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeUpstream { url, fake }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.fake.recorded.lock().unwrap().clone()
    }
}

async fn respond(State(fake): State<Arc<Fake>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let recorded = Recorded {
        method,
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body.to_vec(),
    };
    let answer = (fake.script)(&recorded);
    fake.recorded.lock().unwrap().push(recorded);
    tokio::time::sleep(answer.delay).await;
    (StatusCode::from_u16(answer.status).unwrap(), [("content-type", answer.content_type)], answer.body)
}

fn meta(url: &str, timeout: Duration) -> MetaUpstream {
    MetaUpstream::new(
        MetaConfig {
            base_url: url.to_owned(),
            graph_api_version: "v23.0".to_owned(),
            app_id: "app-1".to_owned(),
            app_secret: "app-secret".to_owned(),
        },
        timeout,
    )
}

fn ycloud(url: &str, timeout: Duration) -> YcloudUpstream {
    YcloudUpstream::new(YcloudConfig { base_url: url.to_owned(), api_key: "yc-key".to_owned(), code_exchange: None }, timeout)
}

fn token() -> BusinessToken {
    BusinessToken("EAAG-business-token".to_owned())
}

fn graph_happy_path(request: &Recorded) -> Answer {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v23.0/oauth/access_token") => answer(200, json!({"access_token": "EAAG-business-token", "token_type": "bearer"})),
        ("GET", "/v23.0/1000000000000001") => answer(200, json!({"id": "1000000000000001", "name": "Acme",
            "account_review_status": "APPROVED", "owner_business_info": {"id": "3000000000000001", "name": "Acme Ltd"}})),
        ("GET", "/v23.0/1000000000000001/phone_numbers") => answer(200, json!({"data": [{"id": "2000000000000001",
            "display_phone_number": "+1 555-0100", "verified_name": "Acme", "status": "CONNECTED", "quality_rating": "GREEN",
            "messaging_limit_tier": "TIER_1K"}], "paging": {"cursors": {"after": "x"}}})),
        ("POST", _) => answer(200, json!({"success": true})),
        _ => answer(404, json!({"error": {"message": "Unknown path", "type": "OAuthException", "code": 803}})),
    }
}

#[tokio::test]
async fn whatsapp_meta_adapter_speaks_the_graph_api() {
    let upstream = FakeUpstream::start(graph_happy_path).await;
    let meta = meta(&upstream.url, Duration::from_secs(5));

    let token = meta.exchange_code("the-code").await.unwrap().unwrap();
    assert_eq!(token, self::token());
    let waba = meta.get_waba(Some(&token), "1000000000000001").await.unwrap();
    assert_eq!((waba.name.as_str(), waba.status.as_str()), ("Acme", "APPROVED"));
    assert_eq!(waba.business_id.as_deref(), Some("3000000000000001"));
    let numbers = meta.list_numbers(Some(&token), "1000000000000001").await.unwrap();
    assert_eq!(numbers.len(), 1);
    assert_eq!(numbers[0].messaging_limit, "TIER_1K");
    assert_eq!(numbers[0].waba_id, "1000000000000001");
    meta.subscribe_app(Some(&token), "1000000000000001").await.unwrap();
    meta.register_number(Some(&token), "1000000000000001", "2000000000000001", "123456").await.unwrap();
    meta.request_sync(Some(&token), "1000000000000001", "2000000000000001", SyncKind::Contacts).await.unwrap();
    meta.request_sync(Some(&token), "1000000000000001", "2000000000000001", SyncKind::History).await.unwrap();

    let requests = upstream.requests();
    let exchange = &requests[0];
    assert!(exchange.query.contains("client_id=app-1"), "{}", exchange.query);
    assert!(exchange.query.contains("client_secret=app-secret"));
    assert!(exchange.query.contains("code=the-code"));
    for later in &requests[1..] {
        assert_eq!(later.headers["authorization"], "Bearer EAAG-business-token", "{}", later.path);
    }
    let paths: Vec<String> = requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(
        paths,
        [
            "GET /v23.0/oauth/access_token",
            "GET /v23.0/1000000000000001",
            "GET /v23.0/1000000000000001/phone_numbers",
            "POST /v23.0/1000000000000001/subscribed_apps",
            "POST /v23.0/2000000000000001/register",
            "POST /v23.0/2000000000000001/smb_app_data",
            "POST /v23.0/2000000000000001/smb_app_data",
        ]
    );
    let register: Value = serde_json::from_str(&requests[4].body).unwrap();
    assert_eq!(register, json!({"messaging_product": "whatsapp", "pin": "123456"}));
    let contacts: Value = serde_json::from_str(&requests[5].body).unwrap();
    assert_eq!(contacts, json!({"messaging_product": "whatsapp", "sync_type": "smb_app_state_sync"}));
    let history: Value = serde_json::from_str(&requests[6].body).unwrap();
    assert_eq!(history, json!({"messaging_product": "whatsapp", "sync_type": "history"}));
}

/// A WABA's numbers over three Graph pages: `next` says another page follows, `cursors.after` names it.
fn graph_paged_numbers(request: &Recorded) -> Answer {
    let number = |id: u32| json!({"id": id.to_string(), "display_phone_number": format!("+1 555-{id:04}"),
        "verified_name": "Acme", "status": "CONNECTED", "quality_rating": "GREEN"});
    let page = |ids: std::ops::Range<u32>, after: &str, has_next: bool| {
        let mut paging = json!({"cursors": {"before": "b", "after": after}});
        if has_next {
            paging["next"] = json!(format!("https://graph.facebook.com/v23.0/1000000000000001/phone_numbers?after={after}"));
        }
        answer(200, json!({"data": ids.map(number).collect::<Vec<_>>(), "paging": paging}))
    };
    let query = &request.query;
    if query.contains("after=page-2") {
        page(200..230, "page-3", false)
    } else if query.contains("after=page-1") {
        page(100..200, "page-2", true)
    } else {
        page(0..100, "page-1", true)
    }
}

#[tokio::test]
async fn whatsapp_meta_lists_every_page_of_numbers() {
    let upstream = FakeUpstream::start(graph_paged_numbers).await;
    let meta = meta(&upstream.url, Duration::from_secs(5));
    let numbers = meta.list_numbers(Some(&token()), "1000000000000001").await.unwrap();
    assert_eq!(numbers.len(), 230);
    assert_eq!(numbers.first().unwrap().id, "0");
    assert_eq!(numbers.last().unwrap().id, "229");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 3);
    assert!(!requests[0].query.contains("after="), "{}", requests[0].query);
    assert!(requests[2].query.contains("after=page-2"), "{}", requests[2].query);
    // Every page is asked of the configured host, never of the absolute `next` URL.
    assert!(requests.iter().all(|request| request.path == "/v23.0/1000000000000001/phone_numbers"));
}

#[tokio::test]
async fn whatsapp_meta_errors_become_clear_messages() {
    let upstream = FakeUpstream::start(|request| match request.path.as_str() {
        "/v23.0/oauth/access_token" => answer(400, json!({"error": {"message": "This authorization code has expired.",
            "type": "OAuthException", "code": 100, "error_subcode": 36007, "fbtrace_id": "A1"}})),
        "/v23.0/2000000000000001/register" => answer(400, json!({"error": {"message": "(#133005) Two step verification PIN mismatch",
            "type": "OAuthException", "code": 133005, "error_user_msg": "The PIN does not match the one set for this number"}})),
        "/v23.0/1000000000000001/subscribed_apps" => Answer::text(503, "<html>down</html>"),
        "/v23.0/1000000000000001" => Answer::text(200, "{\"id\": "),
        _ => answer(200, json!({})),
    })
    .await;
    let meta = meta(&upstream.url, Duration::from_secs(5));

    let expired = meta.exchange_code("old-code").await.unwrap_err();
    assert_eq!(expired.to_string(), "Meta refused the sign-up code exchange: This authorization code has expired.");
    assert!(matches!(&expired.kind, UpstreamErrorKind::Rejected { status: 400, code, .. } if code == "100"));

    let refused = meta.register_number(Some(&token()), "1000000000000001", "2000000000000001", "000000").await.unwrap_err();
    let api: ApiError = refused.into();
    assert_eq!(api.code, ErrorCode::UpstreamError);
    assert_eq!(api.message, "Meta refused the registration: The PIN does not match the one set for this number");

    let down = meta.subscribe_app(Some(&token()), "1000000000000001").await.unwrap_err();
    assert_eq!(down.to_string(), "Meta failed the webhook subscription (HTTP 503): HTTP 503 Service Unavailable");

    let garbled = meta.get_waba(Some(&token()), "1000000000000001").await.unwrap_err();
    assert!(matches!(garbled.kind, UpstreamErrorKind::Malformed { .. }));
    assert_eq!(garbled.to_string(), "Meta sent an unreadable answer to the WhatsApp Business Account lookup");

    let no_token = meta.get_waba(None, "1000000000000001").await.unwrap_err();
    assert!(no_token.to_string().contains("no access token"), "{no_token}");
}

#[tokio::test]
async fn whatsapp_slow_and_unreachable_upstreams_fail_in_time() {
    let upstream = FakeUpstream::start(|_| Answer::text(200, "{}").after(Duration::from_secs(5))).await;
    let meta = meta(&upstream.url, Duration::from_millis(300));
    let started = std::time::Instant::now();
    let slow = meta.exchange_code("code").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "gave up after {:?}", started.elapsed());
    assert!(matches!(slow.kind, UpstreamErrorKind::Timeout { .. }));
    let api: ApiError = slow.into();
    assert_eq!(api.code, ErrorCode::UpstreamTimeout);
    assert_eq!(api.message, "Meta did not answer the sign-up code exchange within 0.3 seconds");

    // A port nobody listens on any more.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let gone = ycloud(&url, Duration::from_secs(2)).get_waba(None, "1000000000000001").await.unwrap_err();
    assert!(matches!(gone.kind, UpstreamErrorKind::Unreachable { .. }), "{gone:?}");
    assert_eq!(gone.to_string(), "YCloud could not be reached for the WhatsApp Business Account lookup");
}

#[tokio::test]
async fn whatsapp_ycloud_adapter_speaks_api_v2() {
    let upstream = FakeUpstream::start(|request| match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v2/whatsapp/businessAccounts/1000000000000001") => answer(200, json!({"id": "1000000000000001",
            "name": "WABA name", "accountReviewStatus": "APPROVED", "paymentMethodAttached": true, "currency": "EUR",
            "timezoneId": "1", "businessId": "3000000000000001"})),
        ("GET", "/v2/whatsapp/phoneNumbers") => answer(200, json!({"offset": 0, "limit": 100, "length": 1, "items": [{
            "id": "2000000000000001", "phoneNumber": "+15550100", "displayPhoneNumber": "+1 555-0100", "wabaId": "1000000000000001",
            "qualityRating": "GREEN", "messagingLimit": "TIER_1K", "whatsappBusinessManagerMessagingLimit": "TIER_2K",
            "verifiedName": "John's Cake Shop", "status": "CONNECTED"}]})),
        ("POST", "/v2/whatsapp/phoneNumbers/1000000000000001/2000000000000001/register") => answer(200, json!({
            "phoneNumber": "+15550100", "wabaId": "1000000000000001", "verifiedName": "John's Cake Shop",
            "qualityRating": "GREEN", "messagingLimit": "TIER_250", "status": "CONNECTED"})),
        ("POST", "/v2/whatsapp/businessAccounts/1000000000000001/smb/bind") => answer(200, json!({"id": "2000000000000001", "status": "PENDING"})),
        ("PATCH", "/v2/whatsapp/phoneNumbers/1000000000000001/+15550100/displayName") => answer(200, json!({"success": true})),
        _ => answer(404, json!({"error": {"status": 404, "code": "NOT_FOUND", "message": "The requested resource does not exist."}})),
    })
    .await;
    let ycloud = ycloud(&upstream.url, Duration::from_secs(5));

    assert_eq!(ycloud.exchange_code("code").await.unwrap(), None, "without a Meta app the key does the work");
    let waba = ycloud.get_waba(None, "1000000000000001").await.unwrap();
    assert_eq!(waba.payment_method_attached, Some(true));
    assert_eq!(waba.status, "APPROVED");
    let number = ycloud.get_number(None, "1000000000000001", "2000000000000001").await.unwrap();
    assert_eq!(number.display_phone_number, "+1 555-0100");
    assert_eq!(number.messaging_limit, "TIER_2K");
    ycloud.register_number(None, "1000000000000001", "2000000000000001", "123456").await.unwrap();
    ycloud.bind_coexistence(None, "1000000000000001", "2000000000000001").await.unwrap();
    ycloud.update_display_name(None, "1000000000000001", "2000000000000001", "Cake Shop").await.unwrap();

    let requests = upstream.requests();
    assert!(requests.iter().all(|request| request.headers["x-api-key"] == "yc-key"));
    let list = requests.iter().find(|request| request.path == "/v2/whatsapp/phoneNumbers").unwrap();
    assert!(list.query.contains("filter.wabaId=1000000000000001"), "{}", list.query);
    let rename = requests.iter().find(|request| request.method == Method::PATCH).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&rename.body).unwrap(), json!({"newName": "Cake Shop"}));

    let missing = ycloud.get_waba(None, "1000000000000009").await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(missing.to_string(), "YCloud refused the WhatsApp Business Account lookup: The requested resource does not exist.");
    let not_in_waba = ycloud.get_number(None, "1000000000000001", "2000000000000009").await.unwrap_err();
    assert!(not_in_waba.is_not_found());
}

#[tokio::test]
async fn whatsapp_ycloud_relays_meta_errors() {
    let upstream = FakeUpstream::start(|_| {
        answer(400, json!({"error": {"status": 400, "code": "WHATSAPP_API_ERROR", "message": "Bad request",
            "whatsappApiError": {"code": "133016", "message": "Account register deregister rate limit exceeded"}}}))
    })
    .await;
    let error = ycloud(&upstream.url, Duration::from_secs(5))
        .register_number(None, "1000000000000001", "2000000000000001", "123456")
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "YCloud refused the registration: Account register deregister rate limit exceeded");
}

// ---- The inbox operations: send, upload, download, mark read, typing ----

const PHONE_ID: &str = "2000000000000001";
/// A base64 wamid holds `+`, `/` and `=`: it must survive being a path segment.
const INBOUND_WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYz/MjEzNDM2+RTZGQ0MzMDJBRgA=";
/// Bytes that are not text, so a lossy copy anywhere would show.
const PICTURE: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x02\xfe\xff not quite a jpeg";

fn to_customer(kind: MessageType) -> OutgoingMessage {
    OutgoingMessage {
        to: Recipient { wa_id: Some("16315551111".to_owned()), user_id: None },
        kind,
        text: None,
        media: None,
        reply_to: None,
        client_reference: None,
        from_display_number: None,
    }
}

fn text_message(text: &str) -> OutgoingMessage {
    OutgoingMessage { text: Some(text.to_owned()), ..to_customer(MessageType::Text) }
}

fn media_message(kind: MessageType, id: Option<&str>, link: Option<&str>, caption: Option<&str>, file_name: Option<&str>) -> OutgoingMessage {
    let media = OutgoingMedia {
        upstream_media_id: id.map(str::to_owned),
        link: link.map(str::to_owned),
        mime_type: "application/pdf".to_owned(),
        file_name: file_name.map(str::to_owned),
        caption: caption.map(str::to_owned),
    };
    OutgoingMessage { media: Some(media), ..to_customer(kind) }
}

fn picture_file(file_name: &str) -> MediaFile {
    MediaFile { bytes: Bytes::from_static(PICTURE), mime_type: "image/jpeg".to_owned(), file_name: Some(file_name.to_owned()) }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sha256_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

fn json_body(request: &Recorded) -> Value {
    serde_json::from_str(&request.body).unwrap_or_else(|_| panic!("{} {} sent no JSON: {}", request.method, request.path, request.body))
}

/// The fake's own address, as the request named it: where its media links point.
fn own_url(request: &Recorded) -> String {
    format!("http://{}", request.headers["host"].to_str().unwrap())
}

/// One part of a `multipart/form-data` body.
#[derive(Debug)]
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The parts of a multipart request, read by the RFC 7578 rules.
fn multipart_parts(request: &Recorded) -> Vec<Part> {
    let content_type = request.headers["content-type"].to_str().unwrap().to_owned();
    let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap_or_else(|| panic!("{content_type}"));
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut rest = request.raw.strip_prefix(&delimiter[2..]).expect("the body opens with the boundary");
    let mut parts = Vec::new();
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n").expect("a line break after the boundary");
        let head_end = find(rest, b"\r\n\r\n").expect("the part's headers end");
        let head = std::str::from_utf8(&rest[..head_end]).unwrap();
        let body_start = head_end + 4;
        let body_end = body_start + find(&rest[body_start..], &delimiter).expect("the part ends with the boundary");
        let mut part = Part { name: String::new(), file_name: None, content_type: None, bytes: rest[body_start..body_end].to_vec() };
        for line in head.split("\r\n") {
            if let Some(disposition) = line.strip_prefix("Content-Disposition: form-data") {
                for parameter in disposition.split("; ").skip(1) {
                    let (key, value) = parameter.split_once('=').unwrap();
                    let value = value.trim_matches('"').to_owned();
                    match key {
                        "name" => part.name = value,
                        "filename" => part.file_name = Some(value),
                        other => panic!("unexpected parameter {other}"),
                    }
                }
            } else if let Some(content_type) = line.strip_prefix("Content-Type: ") {
                part.content_type = Some(content_type.to_owned());
            } else {
                panic!("unexpected part header {line:?}");
            }
        }
        parts.push(part);
        rest = &rest[body_end + delimiter.len()..];
    }
    parts
}

fn graph_messaging(request: &Recorded) -> Answer {
    let media_path = "/v23.0/4490709327384033";
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/v23.0/2000000000000001/messages") if request.body.contains("\"status\":\"read\"") => answer(200, json!({"success": true})),
        ("POST", "/v23.0/2000000000000001/messages") => {
            let sent = json_body(request);
            answer(200, json!({"messaging_product": "whatsapp", "contacts": [{"input": sent["to"], "wa_id": sent["to"]}],
                "messages": [{"id": format!("wamid.sent-{}", sent["type"].as_str().unwrap())}]}))
        }
        ("POST", "/v23.0/2000000000000001/media") => answer(200, json!({"id": "4490709327384033"})),
        ("GET", path) if path == media_path => answer(200, json!({"messaging_product": "whatsapp", "id": "4490709327384033",
            "url": format!("{}/whatsapp_business/attachments/?mid=4490709327384033&ext=1727438564", own_url(request)),
            "mime_type": "image/jpeg", "sha256": sha256_hex(PICTURE), "file_size": PICTURE.len()})),
        ("GET", "/v23.0/4490709327384034") => answer(200, json!({"messaging_product": "whatsapp", "id": "4490709327384034",
            "url": format!("{}/whatsapp_business/attachments/?mid=4490709327384034", own_url(request)),
            "mime_type": "image/jpeg", "sha256": sha256_hex(b"other bytes"), "file_size": "303833"})),
        ("GET", "/v23.0/4490709327384035") => answer(200, json!({"messaging_product": "whatsapp", "id": "4490709327384035",
            "url": "https://lookaside.evil.example/whatsapp_business/attachments/?mid=4490709327384035", "mime_type": "image/jpeg"})),
        ("GET", "/whatsapp_business/attachments/") => Answer::file("image/jpeg", PICTURE),
        _ => answer(404, json!({"error": {"message": "Unknown path", "type": "OAuthException", "code": 803}})),
    }
}

#[tokio::test]
async fn whatsapp_meta_sends_text_and_media_messages() {
    let upstream = FakeUpstream::start(graph_messaging).await;
    let meta = meta(&upstream.url, Duration::from_secs(5));

    let reply = OutgoingMessage {
        reply_to: Some("wamid.customer-question".to_owned()),
        client_reference: Some("client-0001".to_owned()),
        ..text_message("Olá! Veja https://example.com/pedido")
    };
    let sent = meta.send_message(Some(&token()), PHONE_ID, &reply).await.unwrap();
    assert_eq!(sent.wamid, "wamid.sent-text");
    let plain = meta.send_message(Some(&token()), PHONE_ID, &text_message("Thanks")).await.unwrap();
    assert_eq!(plain.wamid, "wamid.sent-text");
    let image = media_message(MessageType::Image, Some("1013859600285441"), None, Some("Your order"), Some("ignored.jpg"));
    assert_eq!(meta.send_message(Some(&token()), PHONE_ID, &image).await.unwrap().wamid, "wamid.sent-image");
    let document = media_message(MessageType::Document, None, Some("https://files.example.com/f.pdf"), Some("Invoice"), Some("Facture été.pdf"));
    meta.send_message(Some(&token()), PHONE_ID, &document).await.unwrap();
    let sticker = media_message(MessageType::Sticker, Some("798882015472548"), None, Some("no captions on stickers"), None);
    meta.send_message(Some(&token()), PHONE_ID, &sticker).await.unwrap();

    let requests = upstream.requests();
    assert!(requests.iter().all(|request| request.path == "/v23.0/2000000000000001/messages" && request.method == Method::POST));
    assert!(requests.iter().all(|request| request.headers["authorization"] == "Bearer EAAG-business-token"));
    let bodies: Vec<Value> = requests.iter().map(json_body).collect();
    assert_eq!(
        bodies[0],
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16315551111", "type": "text",
            "text": {"body": "Olá! Veja https://example.com/pedido", "preview_url": true},
            "context": {"message_id": "wamid.customer-question"}, "biz_opaque_callback_data": "client-0001"})
    );
    assert_eq!(
        bodies[1],
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16315551111", "type": "text",
            "text": {"body": "Thanks", "preview_url": false}})
    );
    assert_eq!(bodies[2]["image"], json!({"id": "1013859600285441", "caption": "Your order"}), "no file name on images");
    assert_eq!(bodies[3]["document"], json!({"link": "https://files.example.com/f.pdf", "caption": "Invoice", "filename": "Facture été.pdf"}));
    assert_eq!(bodies[4]["sticker"], json!({"id": "798882015472548"}), "stickers take neither caption nor file name");
    assert_eq!(bodies[4]["type"], "sticker");
}

#[tokio::test]
async fn whatsapp_meta_refuses_what_it_cannot_send_without_calling() {
    let upstream = FakeUpstream::start(graph_messaging).await;
    let meta = meta(&upstream.url, Duration::from_secs(5));

    let user_only = OutgoingMessage {
        to: Recipient { wa_id: None, user_id: Some("US.13491208655302741918".to_owned()) },
        ..text_message("Hello")
    };
    let refused = meta.send_message(Some(&token()), PHONE_ID, &user_only).await.unwrap_err();
    assert!(refused.to_string().contains("known only by a user id"), "{refused}");
    assert!(!refused.is_retryable());
    assert_eq!(refused.error_code(), Some("NO_WA_ID"));

    let location = meta.send_message(Some(&token()), PHONE_ID, &to_customer(MessageType::Location)).await.unwrap_err();
    assert!(!location.is_retryable(), "an unsupported type is final: {location}");
    let empty = meta.send_message(Some(&token()), PHONE_ID, &to_customer(MessageType::Image)).await.unwrap_err();
    assert_eq!(empty.error_code(), Some("INVALID_MESSAGE"));
    let no_token = meta.send_message(None, PHONE_ID, &text_message("Hello")).await.unwrap_err();
    assert!(no_token.to_string().contains("no access token"), "{no_token}");

    assert!(upstream.requests().is_empty(), "nothing reached Meta");
}

#[tokio::test]
async fn whatsapp_meta_uploads_media_as_multipart() {
    let upstream = FakeUpstream::start(graph_messaging).await;
    let meta = meta(&upstream.url, Duration::from_secs(5));

    let id = meta.upload_media(Some(&token()), PHONE_ID, &picture_file("Foto \"pedido\" nº1.jpg")).await.unwrap();
    assert_eq!(id, "4490709327384033");

    let requests = upstream.requests();
    let upload = &requests[0];
    assert_eq!((upload.method.as_str(), upload.path.as_str()), ("POST", "/v23.0/2000000000000001/media"));
    assert_eq!(upload.headers["authorization"], "Bearer EAAG-business-token");
    let parts = multipart_parts(upload);
    let names: Vec<&str> = parts.iter().map(|part| part.name.as_str()).collect();
    assert_eq!(names, ["messaging_product", "type", "file"]);
    assert_eq!(parts[0].bytes, b"whatsapp");
    assert_eq!(parts[1].bytes, b"image/jpeg");
    assert_eq!(parts[2].file_name.as_deref(), Some("Foto %22pedido%22 nº1.jpg"), "quotes escaped, accents kept");
    assert_eq!(parts[2].content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(parts[2].bytes, PICTURE, "the file arrives byte for byte");
}

#[tokio::test]
async fn whatsapp_meta_downloads_media_through_its_short_lived_url() {
    let upstream = FakeUpstream::start(graph_messaging).await;
    let meta = meta(&upstream.url, Duration::from_secs(5));
    let source = |id: &str| MediaSource { upstream_media_id: Some(id.to_owned()), link: None, mime_type: Some("image/jpeg".to_owned()), sha256: None };

    let file = meta.download_media(Some(&token()), PHONE_ID, &source("4490709327384033")).await.unwrap();
    assert_eq!(file.bytes.as_ref(), PICTURE);
    assert_eq!(file.mime_type, "image/jpeg");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v23.0/4490709327384033");
    assert_eq!(requests[0].query, "phone_number_id=2000000000000001");
    assert_eq!(requests[1].path, "/whatsapp_business/attachments/");
    assert_eq!(requests[1].query, "mid=4490709327384033&ext=1727438564");
    assert!(requests.iter().all(|request| request.headers["authorization"] == "Bearer EAAG-business-token"), "the URL needs the token too");

    // The webhook's checksum (base64) is checked as well as the lookup's (hex).
    let webhook_sum = MediaSource { sha256: Some(sha256_base64(PICTURE)), ..source("4490709327384033") };
    meta.download_media(Some(&token()), PHONE_ID, &webhook_sum).await.unwrap();

    let corrupt = meta.download_media(Some(&token()), PHONE_ID, &source("4490709327384034")).await.unwrap_err();
    assert!(matches!(&corrupt.kind, UpstreamErrorKind::Malformed { cause } if cause.contains("sha256")), "{corrupt:?}");
    assert_eq!(corrupt.to_string(), "Meta sent an unreadable answer to the media download");

    let before = upstream.requests().len();
    let elsewhere = meta.download_media(Some(&token()), PHONE_ID, &source("4490709327384035")).await.unwrap_err();
    assert!(matches!(&elsewhere.kind, UpstreamErrorKind::Malformed { cause } if cause.contains("not on a Meta host")), "{elsewhere:?}");
    assert_eq!(upstream.requests().len(), before + 1, "only the lookup: the token never went to the foreign host");

    let missing = meta.download_media(Some(&token()), PHONE_ID, &source("4490709327389999")).await.unwrap_err();
    assert!(missing.is_not_found());
    assert!(!missing.is_retryable());
}

#[tokio::test]
async fn whatsapp_meta_marks_read_and_shows_typing() {
    let upstream = FakeUpstream::start(graph_messaging).await;
    let meta = meta(&upstream.url, Duration::from_secs(5));

    meta.mark_read(Some(&token()), PHONE_ID, INBOUND_WAMID).await.unwrap();
    meta.send_typing(Some(&token()), PHONE_ID, INBOUND_WAMID).await.unwrap();

    let requests = upstream.requests();
    assert!(requests.iter().all(|request| request.path == "/v23.0/2000000000000001/messages"));
    assert!(requests.iter().all(|request| request.headers["authorization"] == "Bearer EAAG-business-token"));
    assert_eq!(json_body(&requests[0]), json!({"messaging_product": "whatsapp", "status": "read", "message_id": INBOUND_WAMID}));
    assert_eq!(
        json_body(&requests[1]),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": INBOUND_WAMID, "typing_indicator": {"type": "text"}})
    );
}

/// A Graph API that refuses each message the way Meta does, chosen by the text sent.
fn graph_refusals(request: &Recorded) -> Answer {
    let body = json_body(request);
    match body["text"]["body"].as_str().unwrap_or_default() {
        "outside the window" => answer(400, json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
            "code": 131047, "error_data": {"messaging_product": "whatsapp",
                "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})),
        "not on whatsapp" => answer(400, json!({"error": {"message": "(#131026) Message undeliverable", "type": "OAuthException",
            "code": 131026, "error_data": {"messaging_product": "whatsapp", "details": "Message Undeliverable."}, "fbtrace_id": "A2"}})),
        "too fast" => answer(400, json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
            "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached."}, "fbtrace_id": "A3"}})),
        "too many calls" => answer(429, json!({"error": {"message": "(#80007) Rate limit issues", "type": "OAuthException", "code": 80007}})),
        "slow" => answer(200, json!({"messages": [{"id": "wamid.late"}]})).after(Duration::from_secs(5)),
        "no id" => answer(200, json!({"messaging_product": "whatsapp", "messages": []})),
        _ => answer(500, json!({"error": {"message": "An unexpected error has occurred. Please retry your request later.",
            "type": "OAuthException", "code": 2, "is_transient": true, "fbtrace_id": "A4"}})),
    }
}

#[tokio::test]
async fn whatsapp_meta_send_failures_say_whether_to_retry() {
    let upstream = FakeUpstream::start(graph_refusals).await;
    let meta = meta(&upstream.url, Duration::from_millis(500));
    let send = async |text: &str| meta.send_message(Some(&token()), PHONE_ID, &text_message(text)).await.unwrap_err();

    let window = send("outside the window").await;
    assert!(matches!(window.kind, UpstreamErrorKind::Rejected { status: 400, .. }));
    assert_eq!(window.error_code(), Some("131047"));
    assert!(!window.is_retryable());
    assert_eq!(
        window.to_string(),
        "Meta refused the message: (#131047) Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number."
    );
    let undeliverable = send("not on whatsapp").await;
    assert_eq!(undeliverable.error_code(), Some("131026"));
    assert!(!undeliverable.is_retryable());
    assert_eq!(undeliverable.to_string(), "Meta refused the message: (#131026) Message undeliverable: Message Undeliverable.");

    let throughput = send("too fast").await;
    assert_eq!(throughput.error_code(), Some("130429"));
    assert!(throughput.is_retryable(), "a throughput limit passes");
    assert!(send("too many calls").await.is_retryable());
    let down = send("anything else").await;
    assert!(matches!(down.kind, UpstreamErrorKind::Rejected { status: 500, .. }));
    assert!(down.is_retryable());
    assert_eq!(down.error_code(), Some("2"));

    let slow = send("slow").await;
    assert!(matches!(slow.kind, UpstreamErrorKind::Timeout { .. }), "{slow:?}");
    assert!(slow.is_retryable());
    let no_id = send("no id").await;
    assert!(matches!(no_id.kind, UpstreamErrorKind::Malformed { .. }));
    assert!(!no_id.is_retryable(), "Meta may have sent it: never twice");
    assert_eq!(no_id.error_code(), None);
}

#[test]
fn whatsapp_an_unsupported_operation_is_not_retried() {
    let unsupported = UpstreamError::rejected("The sandbox", Operation::Typing, 501, "unsupported", "this upstream does not support it");
    assert!(!unsupported.is_retryable());
    let unavailable = UpstreamError::rejected("YCloud", Operation::SendMessage, 503, "UNAVAILABLE", "try later");
    assert!(unavailable.is_retryable());
    let gone = UpstreamError { provider: "Meta", operation: Operation::MarkRead, kind: UpstreamErrorKind::Unreachable { cause: "refused".to_owned() } };
    assert!(gone.is_retryable());
}

fn ycloud_messaging(request: &Recorded) -> Answer {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/v2/whatsapp/messages/sendDirectly") => {
            let sent = json_body(request);
            answer(200, json!({"id": "63f5d2d4a5a6c87f2a4e0f4b", "wamid": format!("wamid.yc-{}", sent["type"].as_str().unwrap()),
                "status": "sent", "from": sent["from"], "to": sent["to"], "type": sent["type"], "wabaId": "1000000000000001",
                "externalId": sent["externalId"]}))
        }
        ("GET", "/v2/whatsapp/phoneNumbers") => answer(200, json!({"offset": 0, "limit": 100, "length": 2, "items": [
            {"id": "2000000000000009", "phoneNumber": "+15550109", "wabaId": "1000000000000002"},
            {"id": "2000000000000001", "phoneNumber": "+15550100", "displayPhoneNumber": "+1 555-0100", "wabaId": "1000000000000001"}]})),
        ("POST", "/v2/whatsapp/media/+15550100/upload") => answer(200, json!({"id": "1243345678901234"})),
        ("GET", "/media/inbound/4490709327384033") => Answer::file("image/jpeg", PICTURE),
        ("POST", path) if path.starts_with("/v2/whatsapp/inboundMessages/") => Answer::text(200, ""),
        _ => answer(404, json!({"error": {"status": 404, "code": "NOT_FOUND", "message": "The requested resource does not exist."}})),
    }
}

#[tokio::test]
async fn whatsapp_ycloud_sends_directly() {
    let upstream = FakeUpstream::start(ycloud_messaging).await;
    let ycloud = ycloud(&upstream.url, Duration::from_secs(5));

    let reply = OutgoingMessage {
        reply_to: Some("wamid.customer-question".to_owned()),
        client_reference: Some("client-0001".to_owned()),
        from_display_number: Some("+1 555-0100".to_owned()),
        ..text_message("你好，订单已发货")
    };
    let sent = ycloud.send_message(None, PHONE_ID, &reply).await.unwrap();
    assert_eq!(sent.wamid, "wamid.yc-text");
    let user_only = OutgoingMessage {
        to: Recipient { wa_id: None, user_id: Some("US.13491208655302741918".to_owned()) },
        from_display_number: Some("15550100".to_owned()),
        ..media_message(MessageType::Document, Some("1243345678901234"), None, Some("Invoice"), Some("Facture été.pdf"))
    };
    assert_eq!(ycloud.send_message(None, PHONE_ID, &user_only).await.unwrap().wamid, "wamid.yc-document");

    let requests = upstream.requests();
    assert!(requests.iter().all(|request| request.headers["x-api-key"] == "yc-key"));
    assert!(requests.iter().all(|request| request.path == "/v2/whatsapp/messages/sendDirectly"), "no lookup: the number was given");
    assert_eq!(
        json_body(&requests[0]),
        json!({"from": "+15550100", "to": "+16315551111", "type": "text", "text": {"body": "你好，订单已发货", "preview_url": false},
            "context": {"message_id": "wamid.customer-question"}, "externalId": "client-0001"})
    );
    assert_eq!(
        json_body(&requests[1]),
        json!({"from": "+15550100", "recipient": "US.13491208655302741918", "type": "document",
            "document": {"id": "1243345678901234", "caption": "Invoice", "filename": "Facture été.pdf"}})
    );
}

#[tokio::test]
async fn whatsapp_ycloud_finds_the_business_number_once() {
    let upstream = FakeUpstream::start(ycloud_messaging).await;
    let ycloud = ycloud(&upstream.url, Duration::from_secs(5));

    let image = media_message(MessageType::Image, None, Some("https://files.example.com/p.jpg"), None, None);
    ycloud.send_message(None, PHONE_ID, &image).await.unwrap();
    let id = ycloud.upload_media(None, PHONE_ID, &picture_file("pedido.jpg")).await.unwrap();
    assert_eq!(id, "1243345678901234");
    let unknown = ycloud.upload_media(None, "2000000000000404", &picture_file("pedido.jpg")).await.unwrap_err();
    assert!(unknown.is_not_found(), "{unknown:?}");

    let requests = upstream.requests();
    let paths: Vec<String> = requests.iter().map(|request| format!("{} {}", request.method, request.path)).collect();
    assert_eq!(
        paths,
        [
            "GET /v2/whatsapp/phoneNumbers",
            "POST /v2/whatsapp/messages/sendDirectly",
            "POST /v2/whatsapp/media/+15550100/upload",
            "GET /v2/whatsapp/phoneNumbers",
        ],
        "the number is looked up once, then remembered"
    );
    assert_eq!(requests[0].query, "page=1&limit=100");
    assert_eq!(json_body(&requests[1])["image"], json!({"link": "https://files.example.com/p.jpg"}));
    assert_eq!(json_body(&requests[1])["from"], "+15550100");

    let upload = &requests[2];
    assert_eq!(upload.headers["x-api-key"], "yc-key");
    let parts = multipart_parts(upload);
    assert_eq!(parts.len(), 1, "YCloud takes the file alone: {parts:?}");
    assert_eq!(parts[0].name, "file");
    assert_eq!(parts[0].file_name.as_deref(), Some("pedido.jpg"));
    assert_eq!(parts[0].content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(parts[0].bytes, PICTURE);
}

#[tokio::test]
async fn whatsapp_ycloud_downloads_the_webhook_link() {
    let upstream = FakeUpstream::start(ycloud_messaging).await;
    let elsewhere = FakeUpstream::start(|_| Answer::file("image/jpeg", PICTURE)).await;
    let ycloud = ycloud(&upstream.url, Duration::from_secs(5));
    let source = |link: String, sha256: Option<String>| MediaSource { upstream_media_id: Some("4490709327384033".to_owned()),
        link: Some(link), mime_type: Some("image/jpeg".to_owned()), sha256 };

    let link = format!("{}/media/inbound/4490709327384033", upstream.url);
    let file = ycloud.download_media(None, PHONE_ID, &source(link.clone(), Some(sha256_base64(PICTURE)))).await.unwrap();
    assert_eq!(file.bytes.as_ref(), PICTURE);
    assert_eq!(file.mime_type, "image/jpeg");
    assert_eq!(upstream.requests()[0].headers["x-api-key"], "yc-key", "the link keeps working for a month with the key");

    let corrupt = ycloud.download_media(None, PHONE_ID, &source(link, Some(sha256_hex(b"other bytes")))).await.unwrap_err();
    assert!(matches!(&corrupt.kind, UpstreamErrorKind::Malformed { cause } if cause.contains("sha256")), "{corrupt:?}");

    let foreign = ycloud.download_media(None, PHONE_ID, &source(format!("{}/cdn/file.jpg", elsewhere.url), None)).await.unwrap();
    assert_eq!(foreign.bytes.as_ref(), PICTURE);
    assert!(!elsewhere.requests()[0].headers.contains_key("x-api-key"), "the API key goes to YCloud only");

    let gone = ycloud.download_media(None, PHONE_ID, &source(format!("{}/media/inbound/expired", upstream.url), None)).await.unwrap_err();
    assert!(gone.is_not_found());
    let no_link = MediaSource { link: None, ..source(String::new(), None) };
    assert!(ycloud.download_media(None, PHONE_ID, &no_link).await.unwrap_err().to_string().contains("no link"));
}

#[tokio::test]
async fn whatsapp_ycloud_marks_read_and_shows_typing_by_wamid() {
    let upstream = FakeUpstream::start(ycloud_messaging).await;
    let ycloud = ycloud(&upstream.url, Duration::from_secs(5));

    ycloud.mark_read(None, PHONE_ID, INBOUND_WAMID).await.unwrap();
    ycloud.send_typing(None, PHONE_ID, INBOUND_WAMID).await.unwrap();

    let requests = upstream.requests();
    let encoded = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYz%2FMjEzNDM2%2BRTZGQ0MzMDJBRgA%3D";
    let paths: Vec<String> = requests.iter().map(|request| format!("{} {}", request.method, request.path)).collect();
    assert_eq!(
        paths,
        [
            format!("POST /v2/whatsapp/inboundMessages/{encoded}/markAsRead"),
            format!("POST /v2/whatsapp/inboundMessages/{encoded}/typingIndicator"),
        ]
    );
    assert!(requests.iter().all(|request| request.headers["x-api-key"] == "yc-key"));
}

/// YCloud refusing sends: relaying WhatsApp's error, answering 200 with a failed message, or failing itself.
fn ycloud_refusals(request: &Recorded) -> Answer {
    let body = json_body(request);
    match body["text"]["body"].as_str().unwrap_or_default() {
        "outside the window" => answer(400, json!({"error": {"status": 400, "code": "WHATSAPP_API_ERROR",
            "message": "WhatsApp API error.", "requestId": "req_1", "whatsappApiError": {"message": "(#131047) Re-engagement message",
                "type": "OAuthException", "code": "131047", "error_data": {"messaging_product": "whatsapp",
                    "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
                "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}})),
        "bad number" => answer(400, json!({"error": {"status": 400, "code": "INVALID_PARAMETER", "message": "Invalid parameter: to"}})),
        "failed" => answer(200, json!({"id": "63f5d2d4a5a6c87f2a4e0f4c", "status": "failed", "errorCode": "131026",
            "errorMessage": "Message undeliverable.", "from": "+15550100", "wabaId": "1000000000000001",
            "whatsappApiError": {"code": "131026", "message": "(#131026) Message undeliverable"}})),
        "slow" => answer(200, json!({"id": "x", "wamid": "wamid.late"})).after(Duration::from_secs(5)),
        _ => answer(500, json!({"error": {"status": 500, "code": "INTERNAL_SERVER_ERROR", "message": "Internal server error."}})),
    }
}

#[tokio::test]
async fn whatsapp_ycloud_send_failures_keep_the_whatsapp_code() {
    let upstream = FakeUpstream::start(ycloud_refusals).await;
    let ycloud = ycloud(&upstream.url, Duration::from_millis(500));
    let send = async |text: &str| {
        let message = OutgoingMessage { from_display_number: Some("+1 555-0100".to_owned()), ..text_message(text) };
        ycloud.send_message(None, PHONE_ID, &message).await.unwrap_err()
    };

    let window = send("outside the window").await;
    assert!(matches!(window.kind, UpstreamErrorKind::Rejected { status: 400, .. }));
    assert_eq!(window.error_code(), Some("131047"), "WhatsApp's code, not YCloud's WHATSAPP_API_ERROR");
    assert!(!window.is_retryable());
    assert_eq!(
        window.to_string(),
        "YCloud refused the message: (#131047) Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number."
    );
    let invalid = send("bad number").await;
    assert_eq!(invalid.error_code(), Some("INVALID_PARAMETER"));
    assert!(!invalid.is_retryable());

    let failed = send("failed").await;
    assert_eq!(failed.error_code(), Some("131026"));
    assert!(!failed.is_retryable(), "a failed message is final though YCloud answered 200");
    assert_eq!(failed.to_string(), "YCloud refused the message: (#131026) Message undeliverable");

    let down = send("anything else").await;
    assert!(matches!(down.kind, UpstreamErrorKind::Rejected { status: 500, .. }));
    assert!(down.is_retryable());
    let slow = send("slow").await;
    assert!(matches!(slow.kind, UpstreamErrorKind::Timeout { .. }), "{slow:?}");
    assert!(slow.is_retryable());
}

// ---- The whole server in live mode, its upstream being the local fake ----

mod common;

use common::{Store, TestServer};

/// The platform operator key the live YCloud server is configured with.
const OPERATOR_KEY: &str = "operator-key-for-the-tests-0123456789";

/// A Graph API that knows one WABA with two numbers; the second one's registration is refused.
fn live_graph(request: &Recorded) -> Answer {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v23.0/oauth/access_token") => answer(200, json!({"access_token": "EAAG-live-token", "token_type": "bearer"})),
        ("GET", "/v23.0/1000000000000001") => answer(200, json!({"id": "1000000000000001", "name": "Live Shop", "account_review_status": "APPROVED"})),
        ("GET", "/v23.0/2000000000000001") | ("GET", "/v23.0/2000000000000002") => {
            let id = request.path.rsplit('/').next().unwrap();
            // Each number has a display number of its own, as on WhatsApp.
            let display = if id.ends_with('1') { "+1 555-0199" } else { "+1 555-0198" };
            answer(200, json!({"id": id, "display_phone_number": display, "verified_name": "Live Shop",
                "status": "CONNECTED", "quality_rating": "GREEN", "messaging_limit_tier": "TIER_2K"}))
        }
        ("POST", "/v23.0/2000000000000002/register") => answer(400, json!({"error": {"message": "(#133016) Account register deregister rate limit exceeded",
            "type": "OAuthException", "code": 133016}})),
        ("POST", _) => answer(200, json!({"success": true})),
        _ => answer(404, json!({"error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}})),
    }
}

/// Live mode straight to Meta's Graph API at `graph_url` (a fake).
fn live_meta(settings: &mut wadesk_server::Settings, graph_url: String) {
    settings.mode = wadesk_server::Mode::Live;
    settings.upstream = wadesk_server::settings::UpstreamKind::Meta;
    settings.upstream_url = Some(graph_url);
    settings.secret_key = Some("a live secret key for tests".to_owned());
    settings.meta_app_id = "app-live".to_owned();
    settings.meta_app_secret = Some("live-app-secret".to_owned());
}

async fn live_meta_scenario(store: Store) {
    let graph = FakeUpstream::start(live_graph).await;
    let graph_url = graph.url.clone();
    let Some(server) = TestServer::start(store, |settings| live_meta(settings, graph_url)).await else {
        return;
    };
    let admin = server.admin_client().await;
    let complete = |phone: &str| json!({"code": "live-code", "wabaId": "1000000000000001", "phoneNumberId": phone, "flow": "cloud"});

    let done = server.post_as(&admin, "/whatsapp/signup/complete", &complete("2000000000000001")).await;
    let done = done.data();
    assert_eq!(done["waba"]["wabaName"], "Live Shop");
    assert_eq!(done["number"]["status"], "CONNECTED", "read back from Meta after registering");
    assert_eq!(done["number"]["messageLimit"], "TIER_2K");
    let requests = graph.requests();
    let register = requests.iter().find(|request| request.path == "/v23.0/2000000000000001/register").expect("registered");
    let register: Value = serde_json::from_str(&register.body).unwrap();
    assert_eq!(register["messaging_product"], "whatsapp");
    let pin = register["pin"].as_str().unwrap();
    assert!(pin.len() == 6 && pin.bytes().all(|byte| byte.is_ascii_digit()), "{pin}");
    assert!(requests.iter().any(|request| request.path == "/v23.0/1000000000000001/subscribed_apps"));
    assert!(requests.iter().skip(1).all(|request| request.headers["authorization"] == "Bearer EAAG-live-token"));

    let refused = server.post_as(&admin, "/whatsapp/signup/complete", &complete("2000000000000002")).await;
    refused.assert_error(502, ErrorCode::UpstreamError);
    assert_eq!(refused.message(), "Meta refused the registration: (#133016) Account register deregister rate limit exceeded");
    // Bound, with the failed attempt counted: the Numbers page offers a retry.
    let number = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": "2000000000000002"})).await;
    assert_eq!(number.data()["registration"]["attemptsInWindow"], 1);
}

#[tokio::test]
async fn whatsapp_live_meta_signup_through_the_server_sqlite() {
    live_meta_scenario(Store::Sqlite).await;
}

#[tokio::test]
async fn whatsapp_live_meta_signup_through_the_server_postgres() {
    live_meta_scenario(Store::Postgres).await;
}

#[tokio::test]
async fn whatsapp_live_ycloud_bind_names_unknown_ids() {
    let ycloud_fake = FakeUpstream::start(|request| match request.path.as_str() {
        "/v2/whatsapp/businessAccounts/1000000000000001" => answer(200, json!({"id": "1000000000000001", "name": "YC Shop", "accountReviewStatus": "APPROVED"})),
        "/v2/whatsapp/phoneNumbers" => answer(200, json!({"items": [{"id": "2000000000000001", "phoneNumber": "+15550100",
            "displayPhoneNumber": "+1 555-0100", "verifiedName": "YC Shop", "status": "CONNECTED", "qualityRating": "GREEN", "messagingLimit": "TIER_1K"}]})),
        _ => answer(404, json!({"error": {"status": 404, "code": "NOT_FOUND", "message": "The requested resource does not exist."}})),
    })
    .await;
    let url = ycloud_fake.url.clone();
    let server = TestServer::start(Store::Sqlite, |settings| {
        settings.mode = wadesk_server::Mode::Live;
        settings.upstream = wadesk_server::settings::UpstreamKind::Ycloud;
        settings.upstream_url = Some(url);
        settings.secret_key = Some("a live secret key for tests".to_owned());
        settings.ycloud_api_key = Some("yc-live-key".to_owned());
        settings.operator_keys = vec![OPERATOR_KEY.to_owned()];
    })
    .await
    .unwrap();
    let admin = server.admin_client().await;
    let bind = |waba: &str, phone: &str| json!({"accountName": "wadesk", "wabaId": waba, "phoneNumberId": phone});
    let as_operator = async |key: &str, body: &Value| {
        let request = admin.post(server.api_url("/whatsapp/account/bind")).header("x-wadesk-operator-key", key).json(body);
        common::Reply::read(request.send().await.unwrap()).await
    };

    // A WABA this account never connected: without a token or an operator key it cannot be
    // claimed, however visible it is to the BSP's YCloud key; a wrong key is refused too.
    let unproven = server.post_as(&admin, "/whatsapp/account/bind", &bind("1000000000000001", "2000000000000001")).await;
    unproven.assert_error(403, ErrorCode::Forbidden);
    let wrong_key = as_operator("not-the-operator-key-at-all", &bind("1000000000000001", "2000000000000001")).await;
    wrong_key.assert_error(403, ErrorCode::Forbidden);

    let unknown_waba = as_operator(OPERATOR_KEY, &bind("1000000000000009", "2000000000000001")).await;
    unknown_waba.assert_error(400, ErrorCode::Validation);
    assert_eq!(unknown_waba.field_errors(), [("wabaId".to_owned(), "not_found".to_owned())]);
    let unknown_number = as_operator(OPERATOR_KEY, &bind("1000000000000001", "2000000000000009")).await;
    assert_eq!(unknown_number.field_errors(), [("phoneNumberId".to_owned(), "not_found".to_owned())]);

    let bound = as_operator(OPERATOR_KEY, &bind("1000000000000001", "2000000000000001")).await;
    let bound = bound.data();
    assert_eq!(bound["status"], "CONNECTED", "live numbers keep the status the provider reports");
    assert_eq!(bound["displayPhoneNumber"], "+1 555-0100");
    assert!(ycloud_fake.requests().iter().all(|request| request.headers["x-api-key"] == "yc-live-key"));
    // No sandbox pages in live mode.
    let sdk = server.client.get(format!("{}/sandbox/facebook/sdk.js", server.url)).send().await.unwrap();
    assert_eq!(sdk.status(), 404);
}

// ---- An upstream failure part-way through a sign-up: completing it again finishes it ----

async fn live_meta_server(store: Store, graph_url: String) -> Option<TestServer> {
    TestServer::start(store, |settings| live_meta(settings, graph_url))
    .await
}

/// A Graph API whose first registration fails with a 503, and whose number reads PENDING until a
/// registration went through.
fn flaky_register_graph(registrations: Arc<std::sync::atomic::AtomicUsize>) -> impl Fn(&Recorded) -> Answer + Send + Sync + 'static {
    use std::sync::atomic::Ordering;
    move |request| match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v23.0/oauth/access_token") => answer(200, json!({"access_token": "EAAG-live-token", "token_type": "bearer"})),
        ("GET", "/v23.0/1000000000000001") => answer(200, json!({"id": "1000000000000001", "name": "Live Shop", "account_review_status": "APPROVED"})),
        ("GET", "/v23.0/2000000000000001") => {
            let status = if registrations.load(Ordering::SeqCst) >= 2 { "CONNECTED" } else { "PENDING" };
            answer(200, json!({"id": "2000000000000001", "display_phone_number": "+1 555-0199", "verified_name": "Live Shop",
                "status": status, "quality_rating": "GREEN", "messaging_limit_tier": "TIER_2K"}))
        }
        ("POST", "/v23.0/2000000000000001/register") => {
            if registrations.fetch_add(1, Ordering::SeqCst) == 0 {
                Answer::text(503, "<html>busy</html>")
            } else {
                answer(200, json!({"success": true}))
            }
        }
        ("POST", _) => answer(200, json!({"success": true})),
        _ => answer(404, json!({"error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}})),
    }
}

async fn a_failed_registration_is_retried_by_completing_again(store: Store) {
    let registrations = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let graph = FakeUpstream::start(flaky_register_graph(registrations.clone())).await;
    let Some(server) = live_meta_server(store, graph.url.clone()).await else {
        return;
    };
    let admin = server.admin_client().await;
    let complete = json!({"code": "live-code", "wabaId": "1000000000000001", "phoneNumberId": "2000000000000001", "flow": "cloud"});

    let failed = server.post_as(&admin, "/whatsapp/signup/complete", &complete).await;
    failed.assert_error(502, ErrorCode::UpstreamError);
    assert_eq!(failed.message(), "Meta failed the registration (HTTP 503): HTTP 503 Service Unavailable");
    let number = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": "2000000000000001"})).await;
    assert_eq!(number.data()["status"], "PENDING");

    // The business signs up again (a new code): the registration that failed is done now.
    let done = server.post_as(&admin, "/whatsapp/signup/complete", &complete).await;
    let done = done.data();
    assert_eq!(done["alreadyBound"], true);
    assert_eq!(done["number"]["status"], "CONNECTED", "{done}");
    assert_eq!(done["number"]["registration"]["attemptsInWindow"], 2);
    let register_calls = graph.requests().iter().filter(|request| request.path.ends_with("/register")).count();
    assert_eq!(register_calls, 2);

    // Once it is connected, completing again registers nothing more.
    let again = server.post_as(&admin, "/whatsapp/signup/complete", &complete).await;
    assert_eq!(again.data()["number"]["registration"]["attemptsInWindow"], 2);
    assert_eq!(graph.requests().iter().filter(|request| request.path.ends_with("/register")).count(), 2);
}

#[tokio::test]
async fn whatsapp_live_failed_registration_completes_again_sqlite() {
    a_failed_registration_is_retried_by_completing_again(Store::Sqlite).await;
}

#[tokio::test]
async fn whatsapp_live_failed_registration_completes_again_postgres() {
    a_failed_registration_is_retried_by_completing_again(Store::Postgres).await;
}

/// A Graph API whose first history sync request fails with a 500.
fn flaky_history_graph(history_requests: Arc<std::sync::atomic::AtomicUsize>) -> impl Fn(&Recorded) -> Answer + Send + Sync + 'static {
    use std::sync::atomic::Ordering;
    move |request| match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v23.0/oauth/access_token") => answer(200, json!({"access_token": "EAAG-live-token", "token_type": "bearer"})),
        ("GET", "/v23.0/1000000000000002") => answer(200, json!({"id": "1000000000000002", "name": "App Shop", "account_review_status": "APPROVED"})),
        ("GET", "/v23.0/2000000000000003") => answer(200, json!({"id": "2000000000000003", "display_phone_number": "+1 555-0102",
            "verified_name": "App Shop", "status": "CONNECTED", "quality_rating": "GREEN", "messaging_limit_tier": "TIER_250"})),
        ("POST", "/v23.0/2000000000000003/smb_app_data") if request.body.contains("\"history\"") => {
            if history_requests.fetch_add(1, Ordering::SeqCst) == 0 {
                answer(500, json!({"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                    "type": "OAuthException", "code": 2, "is_transient": true}}))
            } else {
                answer(200, json!({"success": true}))
            }
        }
        ("POST", _) => answer(200, json!({"success": true})),
        _ => answer(404, json!({"error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}})),
    }
}

async fn a_failed_sync_request_is_retried_by_completing_again(store: Store) {
    let history_requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let graph = FakeUpstream::start(flaky_history_graph(history_requests.clone())).await;
    let Some(server) = live_meta_server(store, graph.url.clone()).await else {
        return;
    };
    let admin = server.admin_client().await;
    let complete = json!({"code": "live-code", "wabaId": "1000000000000002", "phoneNumberId": "2000000000000003", "flow": "coexistence"});

    let failed = server.post_as(&admin, "/whatsapp/signup/complete", &complete).await;
    failed.assert_error(502, ErrorCode::UpstreamError);
    assert!(failed.message().starts_with("Meta failed the chat history sync request (HTTP 500)"), "{}", failed.message());
    let number = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": "2000000000000003"})).await;
    assert_eq!(number.data()["sync"]["contacts"], "REQUESTED");
    assert_eq!(number.data()["sync"]["history"], "NOT_REQUESTED");

    let done = server.post_as(&admin, "/whatsapp/signup/complete", &complete).await;
    let sync = done.data()["number"]["sync"].clone();
    assert_eq!(sync["contacts"], "REQUESTED", "{sync}");
    assert_eq!(sync["history"], "REQUESTED", "{sync}");
    let sync_bodies: Vec<String> = graph
        .requests()
        .iter()
        .filter(|request| request.path.ends_with("/smb_app_data"))
        .map(|request| request.body.clone())
        .collect();
    // The contacts once (each sync is requested once), the history twice (once failed).
    assert_eq!(sync_bodies.iter().filter(|body| body.contains("smb_app_state_sync")).count(), 1, "{sync_bodies:?}");
    assert_eq!(sync_bodies.iter().filter(|body| body.contains("\"history\"")).count(), 2, "{sync_bodies:?}");

    // Done: completing again asks for nothing more.
    server.post_as(&admin, "/whatsapp/signup/complete", &complete).await.data();
    assert_eq!(graph.requests().iter().filter(|request| request.path.ends_with("/smb_app_data")).count(), 3);
}

#[tokio::test]
async fn whatsapp_live_failed_sync_request_completes_again_sqlite() {
    a_failed_sync_request_is_retried_by_completing_again(Store::Sqlite).await;
}

#[tokio::test]
async fn whatsapp_live_failed_sync_request_completes_again_postgres() {
    a_failed_sync_request_is_retried_by_completing_again(Store::Postgres).await;
}

/// A Graph API that answers about other ids than the ones asked for.
fn mixed_up_graph(request: &Recorded) -> Answer {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v23.0/oauth/access_token") => answer(200, json!({"access_token": "EAAG-live-token", "token_type": "bearer"})),
        ("GET", "/v23.0/1000000000000001") => answer(200, json!({"id": "1000000000000999", "name": "Live Shop", "account_review_status": "APPROVED"})),
        ("GET", "/v23.0/2000000000000001") => answer(200, json!({"id": "2000000000000999", "display_phone_number": "+1 555-0199",
            "verified_name": "Live Shop", "status": "CONNECTED", "quality_rating": "GREEN", "messaging_limit_tier": "TIER_2K"})),
        ("POST", _) => answer(200, json!({"success": true})),
        _ => answer(404, json!({"error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}})),
    }
}

async fn answers_about_other_ids_bind_the_requested_ones(store: Store) {
    let graph = FakeUpstream::start(mixed_up_graph).await;
    let Some(server) = live_meta_server(store, graph.url.clone()).await else {
        return;
    };
    let admin = server.admin_client().await;
    let complete = json!({"code": "live-code", "wabaId": "1000000000000001", "phoneNumberId": "2000000000000001", "flow": "cloud"});
    let done = server.post_as(&admin, "/whatsapp/signup/complete", &complete).await;
    let done = done.data();
    assert_eq!(done["waba"]["wabaId"], "1000000000000001");
    assert_eq!(done["number"]["phoneNumberId"], "2000000000000001");
    assert_eq!(done["number"]["wabaName"], "Live Shop");
    let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
    let listed = listed.data().as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["phoneNumberId"], "2000000000000001");
    let wabas = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": "wadesk"})).await;
    assert_eq!(wabas.data(), &json!([{"wabaId": "1000000000000001", "wabaName": "Live Shop", "wabaStatus": "APPROVED"}]));
}

#[tokio::test]
async fn whatsapp_live_answers_about_other_ids_bind_the_requested_ones_sqlite() {
    answers_about_other_ids_bind_the_requested_ones(Store::Sqlite).await;
}

#[tokio::test]
async fn whatsapp_live_answers_about_other_ids_bind_the_requested_ones_postgres() {
    answers_about_other_ids_bind_the_requested_ones(Store::Postgres).await;
}

/// A Graph API where only the WABA owner's own token can read WABA 1000000000000001.
fn owner_only_graph(request: &Recorded) -> Answer {
    let owner = request.headers.get("authorization").and_then(|value| value.to_str().ok()) == Some("Bearer EAAG-waba-owner");
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v23.0/1000000000000001") if owner => {
            answer(200, json!({"id": "1000000000000001", "name": "Owner Shop", "account_review_status": "APPROVED"}))
        }
        ("GET", "/v23.0/2000000000000001") if owner => answer(200, json!({"id": "2000000000000001", "display_phone_number": "+1 555-0150",
            "verified_name": "Owner Shop", "status": "CONNECTED", "quality_rating": "GREEN", "messaging_limit_tier": "TIER_1K"})),
        ("GET", _) => answer(400, json!({"error": {"message": "Unsupported get request. Object does not exist or missing permissions",
            "type": "GraphMethodException", "code": 100}})),
        _ => answer(200, json!({"success": true})),
    }
}

/// Live Meta, bound by hand: the WABA's own access token shows control and is checked with Meta;
/// a token that cannot read the WABA is a field error, and nothing is bound.
#[tokio::test]
async fn whatsapp_live_meta_bind_by_hand_needs_the_wabas_own_token() {
    let graph = FakeUpstream::start(owner_only_graph).await;
    let graph_url = graph.url.clone();
    let server = TestServer::start(Store::Sqlite, |settings| live_meta(settings, graph_url)).await.unwrap();
    let admin = server.admin_client().await;
    let bind = |token: Option<&str>| {
        let mut body = json!({"accountName": "wadesk", "wabaId": "1000000000000001", "phoneNumberId": "2000000000000001"});
        if let Some(token) = token {
            body["accessToken"] = json!(token);
        }
        body
    };
    server.post_as(&admin, "/whatsapp/account/bind", &bind(None)).await.assert_error(403, ErrorCode::Forbidden);
    let stranger = server.post_as(&admin, "/whatsapp/account/bind", &bind(Some("EAAG-someone-else"))).await;
    stranger.assert_error(400, ErrorCode::Validation);
    assert_eq!(stranger.field_errors(), [("accessToken".to_owned(), "invalid".to_owned())]);
    let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
    assert_eq!(listed.data(), &json!([]), "nothing bound");

    let bound = server.post_as(&admin, "/whatsapp/account/bind", &bind(Some("EAAG-waba-owner"))).await;
    assert_eq!(bound.data()["displayPhoneNumber"], "+1 555-0150", "{}", bound.body);
    assert_eq!(bound.data()["status"], "CONNECTED");
    // The token is kept (sealed) for the WABA's later calls: a retry reads the number with it.
    let requests = graph.requests();
    assert!(requests.iter().filter(|request| request.method == "GET").all(|request| request.headers.contains_key("authorization")));
}
