//! The live adapters (Meta Graph API, YCloud v2) against a local fake upstream: an axum app on
//! 127.0.0.1:0 that records each request and answers what the test scripts, including errors in
//! each provider's own JSON, 5xx, broken JSON, and answers too slow for the timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_types::ErrorCode;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::Router;
use serde_json::{json, Value};
use wadesk_server::channels::upstream::meta::{MetaConfig, MetaUpstream};
use wadesk_server::channels::upstream::ycloud::{YcloudConfig, YcloudUpstream};
use wadesk_server::channels::upstream::{BusinessToken, SyncKind, Upstream, UpstreamErrorKind};
use wadesk_server::ApiError;

#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: String,
}

/// What the fake answers: status, body, and how long it waits first.
struct Answer {
    status: u16,
    body: String,
    delay: Duration,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer { status, body: body.to_string(), delay: Duration::ZERO }
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
    };
    let answer = (fake.script)(&recorded);
    fake.recorded.lock().unwrap().push(recorded);
    tokio::time::sleep(answer.delay).await;
    (StatusCode::from_u16(answer.status).unwrap(), [("content-type", "application/json")], answer.body)
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
        "/v23.0/1000000000000001/subscribed_apps" => Answer { status: 503, body: "<html>down</html>".to_owned(), delay: Duration::ZERO },
        "/v23.0/1000000000000001" => Answer { status: 200, body: "{\"id\": ".to_owned(), delay: Duration::ZERO },
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
    let upstream = FakeUpstream::start(|_| Answer { status: 200, body: "{}".to_owned(), delay: Duration::from_secs(5) }).await;
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
                Answer { status: 503, body: "<html>busy</html>".to_owned(), delay: Duration::ZERO }
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
