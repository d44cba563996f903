//! Sending from the team inbox over real HTTP (issue 9 "Sending", "Media"), in sandbox mode: the
//! sandbox upstream delivers to the customers' simulated phones and plays WhatsApp's statuses
//! back as signed-path webhooks. Text and media go pending -> sent -> delivered; a client message
//! id sends once; limits are checked; the outbox retries what may pass and fails what will not,
//! with the upstream's code; inbound media is downloaded (or shown unavailable); files are served
//! to their account only; read receipts go once per message, the typing indicator once per 20 s.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Row;
use wadesk_server::channels::upstream::messaging::MediaFile;
use wadesk_server::sandbox::phones::CustomerKey;
use wadesk_server::sandbox::upstream::{SandboxUpstream, NOT_ALLOWED_PREFIX, TIMEOUT_ONCE_MARKER, UNDELIVERABLE_PREFIX};

use crate::both_stores;
use crate::common::*;
use crate::support::*;

const APP_SECRET: &str = "sending-app-secret";
const HOOKS: SignedWebhooks = SignedWebhooks { meta_app_secret: APP_SECRET, ycloud_secret: "unused-ycloud-secret" };

const ALPHA_WABA: &str = "6100000000000009";
const ALPHA_NUMBER: &str = "6200000000000009";
const ALPHA_DISPLAY: &str = "8613300006169";
const BRAVO_WABA: &str = "7100000000000009";
const BRAVO_NUMBER: &str = "7200000000000009";
const CUSTOMER: &str = "8613800138009";

/// A JPEG's first bytes (enough for the type check) and some more.
fn jpeg(size: usize) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00];
    bytes.resize(size, 0x42);
    bytes
}

/// Where a test server keeps media: beside the SQLite file (cleaned with it), or a folder named
/// after the PostgreSQL test database, removed by [`forget_media`].
fn media_dir_for(database_url: &str) -> Option<std::path::PathBuf> {
    let name = database_url.starts_with("postgres").then(|| database_url.rsplit('/').next().unwrap_or("db").to_owned())?;
    Some(std::env::temp_dir().join(format!("{name}-media")))
}

fn forget_media(server: &TestServer) {
    if let Some(folder) = media_dir_for(&server.database_url) {
        let _ = std::fs::remove_dir_all(folder);
    }
}

fn configured(settings: &mut wadesk_server::Settings) {
    settings.meta_app_secret = Some(APP_SECRET.to_owned());
    settings.media_dir = media_dir_for(&settings.database_url);
    settings.outbox_retry_delays_ms = vec![50, 50];
    settings.media_retry_delays_ms = vec![20, 20];
}

fn sandbox(server: &TestServer) -> &SandboxUpstream {
    server.running.as_ref().expect("running").sandbox().expect("sandbox mode")
}

/// Account `name` holding `number` in `waba`; returns its logged-in client.
async fn account_with_number(server: &TestServer, name: &str, waba: &str, number: &str, display: &str) -> reqwest::Client {
    let (client, _) = server.signup(name, &format!("owner@{name}.example")).await;
    let bound = server
        .post_as(&client, "/whatsapp/account/bind", &json!({"accountName": name, "wabaId": waba, "phoneNumberId": number, "phoneNumber": display}))
        .await;
    assert_eq!(bound.code(), 0, "{}", bound.body);
    client
}

fn delivery(number: &str, display: &str, waba: &str, customer: &str, messages: Vec<Value>) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": display, "phone_number_id": number},
        "contacts": [{"profile": {"name": "Zoë"}, "wa_id": customer}], "messages": messages}}]}]})
}

fn text_message(customer: &str, wamid: &str, seconds: i64, body: &str) -> Value {
    json!({"from": customer, "id": wamid, "timestamp": seconds.to_string(), "type": "text", "text": {"body": body}})
}

/// A customer writes to alpha's number; returns the conversation id.
async fn customer_writes(server: &TestServer, client: &reqwest::Client, customer: &str, wamid: &str, seconds: i64) -> String {
    let payload = delivery(ALPHA_NUMBER, ALPHA_DISPLAY, ALPHA_WABA, customer, vec![text_message(customer, wamid, seconds, "hello")]);
    assert_eq!(HOOKS.meta(server, &payload).await, "processed");
    let listed = server.post_as(client, "/inbox/conversations/list", &json!({})).await;
    let items = listed.data()["items"].as_array().unwrap().clone();
    items
        .iter()
        .find(|item| item["customer"]["waId"] == customer)
        .unwrap_or_else(|| panic!("a conversation with {customer}: {items:?}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn messages_of(server: &TestServer, client: &reqwest::Client, conversation_id: &str) -> Vec<Value> {
    let page = server.post_as(client, "/inbox/messages/list", &json!({"conversationId": conversation_id, "limit": 200})).await;
    page.data()["items"].as_array().unwrap().clone()
}

/// The message `id` of the conversation once `done` holds (or panic after [`SETTLE`]).
async fn message_until(server: &TestServer, client: &reqwest::Client, conversation_id: &str, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SETTLE;
    loop {
        let found = messages_of(server, client, conversation_id).await.into_iter().find(|item| item["id"] == id);
        if let Some(message) = found.as_ref().filter(|message| done(message)) {
            return message.clone();
        }
        assert!(Instant::now() < deadline, "waited for {what}; the message is {found:?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn upload(server: &TestServer, client: &reqwest::Client, bytes: Vec<u8>, file_name: &str, mime_type: &str, kind: Option<&str>) -> Reply {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()).mime_str(mime_type).unwrap();
    let mut form = reqwest::multipart::Form::new().part("file", part);
    if let Some(kind) = kind {
        form = form.text("type", kind.to_owned());
    }
    Reply::read(client.post(server.api_url("/inbox/media/upload")).multipart(form).send().await.unwrap()).await
}

/// `GET /intwa-api/inbox/media/{id}`: status, headers and raw bytes.
async fn fetch_media(server: &TestServer, client: &reqwest::Client, id: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = client.get(server.api_url(&format!("/inbox/media/{id}"))).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn business_messages(server: &TestServer, customer: &str) -> Vec<wadesk_server::sandbox::phones::PhoneMessage> {
    sandbox(server).phones().thread(ALPHA_NUMBER, &CustomerKey::WaId(customer.to_owned())).into_iter().filter(|message| message.from_business).collect()
}

async fn message_events(server: &TestServer, message_id: &str) -> i64 {
    let db = database(server).await;
    let pattern = format!("%\"id\":\"{message_id}\"%");
    count_of(&db, "SELECT COUNT(*) FROM inbox_events WHERE kind = 'message' AND data LIKE $1", &pattern).await
}

both_stores! {
    async fn text_and_an_image_go_pending_sent_delivered_with_a_wamid(server, configured) {
        let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
        let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.in1", 1_700_000_001).await;
        let sent = server.post_as(&alpha, "/inbox/messages/send",
            &json!({"conversationId": conversation, "clientMessageId": "c-text-1", "type": "text", "text": "Bonjour, ça va ? 你好"})).await;
        let message = sent.data().clone();
        assert_eq!((message["status"].clone(), message["wamid"].clone()), (json!("pending"), json!("")), "answered at once, before the upstream");
        assert_eq!((message["direction"].clone(), message["origin"].clone()), (json!("outbound"), json!("agent")));
        assert_eq!(message["clientMessageId"], "c-text-1");
        let id = message["id"].as_str().unwrap().to_owned();
        let delivered = message_until(&server, &alpha, &conversation, &id, "delivered", |m| m["status"] == "delivered").await;
        let wamid = delivered["wamid"].as_str().unwrap().to_owned();
        assert!(wamid.starts_with("wamid."), "{delivered}");
        let phone = business_messages(&server, CUSTOMER);
        assert_eq!(phone.len(), 1);
        assert_eq!((phone[0].wamid.as_str(), phone[0].text.as_deref()), (wamid.as_str(), Some("Bonjour, ça va ? 你好")));
        assert_eq!(phone[0].status, api_types::MessageStatus::Delivered, "the phone shows it delivered too");
        assert!(message_events(&server, &id).await >= 2, "stored and accepted are message events");

        // An image: uploaded, sent with a caption, on the phone with the same bytes.
        let bytes = jpeg(2048);
        let uploaded = upload(&server, &alpha, bytes.clone(), "photo.jpg", "image/jpeg", None).await;
        let media = uploaded.data().clone();
        assert_eq!((media["mimeType"].clone(), media["sizeBytes"].clone(), media["fileName"].clone()), (json!("image/jpeg"), json!(2048), json!("photo.jpg")));
        let media_id = media["mediaId"].as_str().unwrap().to_owned();
        let sent = server.post_as(&alpha, "/inbox/messages/send", &json!({"conversationId": conversation, "clientMessageId": "c-img-1",
            "type": "image", "text": "the receipt", "mediaId": media_id})).await;
        let image = sent.data().clone();
        assert_eq!(image["media"], json!({"id": media_id, "sizeBytes": 2048, "fileName": "photo.jpg", "mimeType": "image/jpeg", "caption": "the receipt", "available": true}));
        let id = image["id"].as_str().unwrap().to_owned();
        message_until(&server, &alpha, &conversation, &id, "the image delivered", |m| m["status"] == "delivered" && m["wamid"] != "").await;
        let phone = business_messages(&server, CUSTOMER);
        assert_eq!(phone.len(), 2);
        assert_eq!((phone[1].kind.clone(), phone[1].text.as_deref()), (api_types::MessageType::Image, Some("the receipt")));
        let on_phone = sandbox(&server).phones().media(phone[1].media_id.as_deref().expect("uploaded to the upstream")).unwrap();
        assert_eq!((on_phone.bytes.to_vec(), on_phone.mime_type.as_str()), (bytes.clone(), "image/jpeg"));
        let (status, headers, served) = fetch_media(&server, &alpha, &media_id).await;
        assert_eq!((status, served), (200, bytes));
        assert_eq!(headers["content-type"], "image/jpeg");
        assert!(headers["content-disposition"].to_str().unwrap().starts_with("inline"), "{headers:?}");
        let document = server.get("/intwa-api/openapi.json").await;
        for route in ["/intwa-api/inbox/messages/send", "/intwa-api/inbox/messages/retry", "/intwa-api/inbox/media/upload",
            "/intwa-api/inbox/media/{id}", "/intwa-api/inbox/conversations/markRead", "/intwa-api/inbox/conversations/typing"] {
            assert!(document.body["paths"].get(route).is_some(), "{route} is documented");
        }
        forget_media(&server);
    }

    async fn one_client_message_id_sends_once_and_another_body_is_a_conflict(server, configured) {
        let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
        let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.in1", 1_700_000_001).await;
        let body = json!({"conversationId": conversation, "clientMessageId": "same-id", "type": "text", "text": "only once"});
        let first = server.post_as(&alpha, "/inbox/messages/send", &body).await.data().clone();
        let again = server.post_as(&alpha, "/inbox/messages/send", &body).await.data().clone();
        assert_eq!(first["id"], again["id"]);
        let id = first["id"].as_str().unwrap().to_owned();
        message_until(&server, &alpha, &conversation, &id, "delivered", |m| m["status"] == "delivered").await;
        let late = server.post_as(&alpha, "/inbox/messages/send", &body).await.data().clone();
        assert_eq!((late["id"].clone(), late["status"].clone()), (first["id"].clone(), json!("delivered")), "a late retry sees where it got");
        let other = json!({"conversationId": conversation, "clientMessageId": "same-id", "type": "text", "text": "something else"});
        server.post_as(&alpha, "/inbox/messages/send", &other).await.assert_error(409, api_types::ErrorCode::Conflict);
        // Many at once with one id: still one message.
        let racing = json!({"conversationId": conversation, "clientMessageId": "race", "type": "text", "text": "raced"});
        let replies = futures_join(&server, &alpha, &racing, 6).await;
        let ids: std::collections::HashSet<String> = replies.iter().map(|reply| reply["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 1, "{replies:?}");
        let raced = ids.into_iter().next().unwrap();
        message_until(&server, &alpha, &conversation, &raced, "delivered", |m| m["status"] == "delivered").await;
        let texts: Vec<Option<String>> = business_messages(&server, CUSTOMER).into_iter().map(|message| message.text).collect();
        assert_eq!(texts, [Some("only once".to_owned()), Some("raced".to_owned())], "one upstream send per client message id");
        let db = database(&server).await;
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE client_message_id = $1", "same-id").await, 1);
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM outbox WHERE account_id <> $1", "").await, 0, "the outbox is empty");
    }

    async fn limits_are_checked_with_the_field_named(server, configured) {
        let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
        let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.in1", 1_700_000_001).await;
        let send = |client_id: &str, body: Value| {
            let mut body = body;
            body["conversationId"] = json!(conversation);
            body["clientMessageId"] = json!(client_id);
            body
        };
        let refused = server.post_as(&alpha, "/inbox/messages/send", &send("long", json!({"type": "text", "text": "é".repeat(4097)}))).await;
        refused.assert_error(400, api_types::ErrorCode::Validation);
        assert_eq!(refused.field_errors(), [("text".to_owned(), "too_long".to_owned())], "{}", refused.body);
        assert!(refused.message().contains("4096"), "{}", refused.message());
        let longest = server.post_as(&alpha, "/inbox/messages/send", &send("longest", json!({"type": "text", "text": "é".repeat(4096)}))).await;
        assert_eq!(longest.code(), 0, "4096 characters are fine: {}", longest.message());
        for (body, field, code) in [
            (json!({"type": "text", "text": "  "}), "text", "required"),
            (json!({"type": "text"}), "text", "required"),
            (json!({"type": "image"}), "mediaId", "required"),
            (json!({"type": "image", "mediaId": "not-ours"}), "mediaId", "not_found"),
            (json!({"type": "location", "text": "x"}), "type", "unsupported"),
        ] {
            let refused = server.post_as(&alpha, "/inbox/messages/send", &send("bad", body.clone())).await;
            assert_eq!(refused.field_errors(), [(field.to_owned(), code.to_owned())], "{body}: {}", refused.body);
        }
        let blank_id = server.post_as(&alpha, "/inbox/messages/send", &json!({"conversationId": conversation, "clientMessageId": "", "type": "text", "text": "x"})).await;
        assert_eq!(blank_id.field_errors(), [("clientMessageId".to_owned(), "required".to_owned())]);

        // Uploads: too large for an image, a type WhatsApp does not take, content that is not what it says.
        let big = upload(&server, &alpha, jpeg(5 * 1024 * 1024 + 1), "big.jpg", "image/jpeg", None).await;
        assert_eq!(big.field_errors(), [("file".to_owned(), "too_large".to_owned())], "{}", big.body);
        assert!(big.message().contains("5 MB"), "{}", big.message());
        let gif = upload(&server, &alpha, b"GIF89a....".to_vec(), "a.gif", "image/gif", Some("image")).await;
        assert_eq!(gif.field_errors(), [("file".to_owned(), "type".to_owned())], "{}", gif.body);
        let fake = upload(&server, &alpha, b"<html><script>alert(1)</script>".to_vec(), "x.jpg", "image/jpeg", None).await;
        assert_eq!(fake.field_errors(), [("file".to_owned(), "type_mismatch".to_owned())], "{}", fake.body);
        let empty = upload(&server, &alpha, Vec::new(), "e.pdf", "application/pdf", None).await;
        assert_eq!(empty.field_errors(), [("file".to_owned(), "empty".to_owned())], "{}", empty.body);
        // Only the upload takes large bodies: a JSON body past 2 MB is still refused.
        let huge = server.post_as(&alpha, "/inbox/messages/send", &send("huge", json!({"type": "text", "text": "a".repeat(3 * 1024 * 1024)}))).await;
        huge.assert_error(413, api_types::ErrorCode::PayloadTooLarge);
        let no_file = Reply::read(alpha.post(server.api_url("/inbox/media/upload")).multipart(reqwest::multipart::Form::new().text("type", "image")).send().await.unwrap()).await;
        assert_eq!(no_file.field_errors(), [("file".to_owned(), "required".to_owned())], "{}", no_file.body);
        // A document is fine as an upload, but not as an image; and a caption has its own limit.
        let pdf = upload(&server, &alpha, b"%PDF-1.7 ...".to_vec(), "a.pdf", "application/pdf", None).await.data()["mediaId"].clone();
        let as_image = server.post_as(&alpha, "/inbox/messages/send", &send("pdf-image", json!({"type": "image", "mediaId": pdf}))).await;
        assert_eq!(as_image.field_errors(), [("mediaId".to_owned(), "type".to_owned())], "{}", as_image.body);
        let caption = server.post_as(&alpha, "/inbox/messages/send", &send("caption", json!({"type": "document", "mediaId": pdf, "text": "c".repeat(1025)}))).await;
        assert_eq!(caption.field_errors(), [("text".to_owned(), "too_long".to_owned())], "{}", caption.body);
        let db = database(&server).await;
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE direction = $1", "outbound").await, 1, "only the valid one was stored");
        forget_media(&server);
    }

    async fn a_timeout_is_tried_again_and_a_refusal_fails_with_its_code(server, configured) {
        let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
        let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.in1", 1_700_000_001).await;
        let text = format!("slow network {TIMEOUT_ONCE_MARKER}");
        let sent = server.post_as(&alpha, "/inbox/messages/send", &json!({"conversationId": conversation, "clientMessageId": "slow", "type": "text", "text": text})).await;
        let id = sent.data()["id"].as_str().unwrap().to_owned();
        let delivered = message_until(&server, &alpha, &conversation, &id, "delivered after a retry", |m| m["status"] == "delivered").await;
        assert_eq!(delivered["error"], Value::Null);
        assert_eq!(business_messages(&server, CUSTOMER).len(), 1, "the timed-out try reached nobody; the retry did");

        // A number not on the allowed list: refused with 131030 at the first try, shown at once.
        let refused_customer = format!("{NOT_ALLOWED_PREFIX}5550001");
        let other = customer_writes(&server, &alpha, &refused_customer, "wamid.in2", 1_700_000_002).await;
        let sent = server.post_as(&alpha, "/inbox/messages/send", &json!({"conversationId": other, "clientMessageId": "refused", "type": "text", "text": "hi"})).await;
        let id = sent.data()["id"].as_str().unwrap().to_owned();
        let failed = message_until(&server, &alpha, &other, &id, "failed", |m| m["status"] == "failed").await;
        assert_eq!(failed["error"]["code"], "131030");
        assert_eq!(failed["error"]["title"], "Recipient phone number not in allowed list");
        assert_eq!(failed["wamid"], "");
        // A failed message can be sent again (and fails again here); anything else cannot.
        let retried = server.post_as(&alpha, "/inbox/messages/retry", &json!({"messageId": id})).await;
        assert_eq!((retried.data()["status"].clone(), retried.data()["error"].clone()), (json!("pending"), Value::Null));
        message_until(&server, &alpha, &other, &id, "failed again", |m| m["status"] == "failed").await;
        let db = database(&server).await;
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE id = $1", &id).await, 1, "the same message");
        let not_failed = server.post_as(&alpha, "/inbox/messages/retry", &json!({"messageId": delivered["id"]})).await;
        not_failed.assert_error(409, api_types::ErrorCode::Conflict);

        // Accepted, then WhatsApp says undeliverable (131026) in a status webhook.
        let gone_customer = format!("{UNDELIVERABLE_PREFIX}5550002");
        let third = customer_writes(&server, &alpha, &gone_customer, "wamid.in3", 1_700_000_003).await;
        let sent = server.post_as(&alpha, "/inbox/messages/send", &json!({"conversationId": third, "clientMessageId": "gone", "type": "text", "text": "hi"})).await;
        let id = sent.data()["id"].as_str().unwrap().to_owned();
        let failed = message_until(&server, &alpha, &third, &id, "failed by status", |m| m["status"] == "failed").await;
        assert_eq!(failed["error"]["code"], "131026");
        assert!(failed["wamid"].as_str().unwrap().starts_with("wamid."), "it was accepted: {failed}");
    }

    async fn inbound_media_is_downloaded_or_shown_unavailable(server, configured) {
        let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
        let bytes = jpeg(4000);
        sandbox(&server).phones().put_media("sbx-photo-1", MediaFile { bytes: bytes.clone().into(), mime_type: "image/jpeg".to_owned(), file_name: None });
        let payload = delivery(ALPHA_NUMBER, ALPHA_DISPLAY, ALPHA_WABA, CUSTOMER, vec![
            json!({"from": CUSTOMER, "id": "wamid.photo", "timestamp": "1700000001", "type": "image", "image": {"id": "sbx-photo-1", "mime_type": "image/jpeg", "caption": "look"}}),
            json!({"from": CUSTOMER, "id": "wamid.lost", "timestamp": "1700000002", "type": "image", "image": {"id": "sbx-never-uploaded", "mime_type": "image/jpeg"}}),
        ]);
        assert_eq!(HOOKS.meta(&server, &payload).await, "processed");
        let listed = server.post_as(&alpha, "/inbox/conversations/list", &json!({})).await;
        let conversation = listed.data()["items"][0]["id"].as_str().unwrap().to_owned();
        let items = messages_of(&server, &alpha, &conversation).await;
        let (photo_id, lost_id) = (items[0]["id"].as_str().unwrap().to_owned(), items[1]["id"].as_str().unwrap().to_owned());
        let photo = message_until(&server, &alpha, &conversation, &photo_id, "downloaded", |m| !m["media"]["id"].is_null()).await;
        assert_eq!((photo["media"]["sizeBytes"].clone(), photo["media"]["available"].clone(), photo["media"]["caption"].clone()), (json!(4000), json!(true), json!("look")));
        let (status, headers, served) = fetch_media(&server, &alpha, photo["media"]["id"].as_str().unwrap()).await;
        assert_eq!((status, served), (200, bytes));
        assert_eq!(headers["content-type"], "image/jpeg");
        let lost = message_until(&server, &alpha, &conversation, &lost_id, "given up", |m| m["media"]["available"] == false).await;
        assert_eq!((lost["media"]["id"].clone(), lost["error"]["title"].clone()), (Value::Null, json!("Media unavailable")));
        assert!(message_events(&server, &photo_id).await >= 1 && message_events(&server, &lost_id).await >= 1, "both changes are message events");
        let db = database(&server).await;
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM media_downloads WHERE account_id <> $1", "").await, 0, "nothing left to download");
        let tries = count_of(&db, "SELECT COUNT(*) FROM media_files WHERE origin = $1", "inbound").await;
        assert_eq!(tries, 1);
        forget_media(&server);
    }

    async fn another_account_sees_and_changes_nothing(server, configured) {
        let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
        let bravo = account_with_number(&server, "bravo", BRAVO_WABA, BRAVO_NUMBER, "8613300007179").await;
        let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.in1", 1_700_000_001).await;
        let uploaded = upload(&server, &alpha, b"%PDF-1.7 alpha".to_vec(), "Relevé – Crème brûlée.pdf", "application/pdf", None).await;
        let media_id = uploaded.data()["mediaId"].as_str().unwrap().to_owned();
        let (status, headers, served) = fetch_media(&server, &alpha, &media_id).await;
        assert_eq!((status, served.as_slice()), (200, &b"%PDF-1.7 alpha"[..]));
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(
            headers["content-disposition"].to_str().unwrap(),
            "attachment; filename=\"Relev_ _ Cr_me br_l_e.pdf\"; filename*=UTF-8''Relev%C3%A9%20%E2%80%93%20Cr%C3%A8me%20br%C3%BBl%C3%A9e.pdf"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["cache-control"].to_str().unwrap().starts_with("private"), "{headers:?}");

        let (status, _, body) = fetch_media(&server, &bravo, &media_id).await;
        assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
        let (status, _, _) = fetch_media(&server, &new_client(), &media_id).await;
        assert_eq!(status, 401);
        let stolen_media = server.post_as(&bravo, "/inbox/messages/send", &json!({"conversationId": conversation, "clientMessageId": "x", "type": "text", "text": "hi"})).await;
        stolen_media.assert_error(404, api_types::ErrorCode::NotFound);
        let sent = server.post_as(&alpha, "/inbox/messages/send", &json!({"conversationId": conversation, "clientMessageId": "a1",
            "type": "document", "mediaId": media_id, "text": "your statement"})).await;
        let message_id = sent.data()["id"].as_str().unwrap().to_owned();
        for (path, body) in [
            ("/inbox/conversations/markRead", json!({"conversationId": conversation})),
            ("/inbox/conversations/typing", json!({"conversationId": conversation})),
            ("/inbox/messages/retry", json!({"messageId": message_id})),
        ] {
            server.post_as(&bravo, path, &body).await.assert_error(404, api_types::ErrorCode::NotFound);
        }
        // Bravo's own conversation cannot send alpha's file.
        let payload = delivery(BRAVO_NUMBER, "8613300007179", BRAVO_WABA, CUSTOMER, vec![text_message(CUSTOMER, "wamid.b1", 1_700_000_005, "hi bravo")]);
        assert_eq!(HOOKS.meta(&server, &payload).await, "processed");
        let bravo_conversation = server.post_as(&bravo, "/inbox/conversations/list", &json!({})).await.data()["items"][0]["id"].clone();
        let borrowed = server.post_as(&bravo, "/inbox/messages/send", &json!({"conversationId": bravo_conversation, "clientMessageId": "b1",
            "type": "document", "mediaId": media_id})).await;
        assert_eq!(borrowed.field_errors(), [("mediaId".to_owned(), "not_found".to_owned())], "{}", borrowed.body);
        let db = database(&server).await;
        let alpha_unread = count_of(&db, "SELECT unread_count FROM conversations WHERE id = $1", conversation.as_str()).await;
        assert_eq!(alpha_unread, 1, "bravo's markRead changed nothing");
        message_until(&server, &alpha, &conversation, &message_id, "the document delivered", |m| m["status"] == "delivered").await;
        let on_phone = business_messages(&server, CUSTOMER);
        assert_eq!(on_phone[0].file_name.as_deref(), Some("Relevé – Crème brûlée.pdf"), "the name reaches the customer exactly");
        forget_media(&server);
    }

    async fn mark_read_reaches_the_phone_once_per_message(server, configured) {
        let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
        let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.r1", 1_700_000_001).await;
        let second = delivery(ALPHA_NUMBER, ALPHA_DISPLAY, ALPHA_WABA, CUSTOMER, vec![text_message(CUSTOMER, "wamid.r2", 1_700_000_002, "are you there?")]);
        HOOKS.meta(&server, &second).await;
        let read = server.post_as(&alpha, "/inbox/conversations/markRead", &json!({"conversationId": conversation})).await;
        assert_eq!(read.data()["unreadCount"], 0);
        assert_eq!(sandbox(&server).read_receipts(ALPHA_NUMBER), ["wamid.r2"], "the newest marks the earlier ones read too");
        server.post_as(&alpha, "/inbox/conversations/markRead", &json!({"conversationId": conversation})).await.data();
        assert_eq!(sandbox(&server).read_receipts(ALPHA_NUMBER).len(), 1, "opening it again sends nothing");
        let third = delivery(ALPHA_NUMBER, ALPHA_DISPLAY, ALPHA_WABA, CUSTOMER, vec![text_message(CUSTOMER, "wamid.r3", 1_700_000_003, "hello?")]);
        HOOKS.meta(&server, &third).await;
        server.post_as(&alpha, "/inbox/conversations/markRead", &json!({"conversationId": conversation})).await.data();
        server.post_as(&alpha, "/inbox/conversations/markRead", &json!({"conversationId": conversation})).await.data();
        assert_eq!(sandbox(&server).read_receipts(ALPHA_NUMBER), ["wamid.r2", "wamid.r3"]);
        let db = database(&server).await;
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE read_marked_at IS NULL AND direction = $1", "inbound").await, 0);
        let db_events = count_of(&db, "SELECT COUNT(*) FROM inbox_events WHERE kind = $1", "conversation").await;
        assert!(db_events >= 2, "each zeroing is a conversation event ({db_events})");
    }
}

/// Six sends of one body at once; their answers' data.
async fn futures_join(server: &TestServer, client: &reqwest::Client, body: &Value, count: usize) -> Vec<Value> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count {
        let (client, url, body) = (client.clone(), server.api_url("/inbox/messages/send"), body.clone());
        tasks.spawn(async move { Reply::read(client.post(url).json(&body).send().await.unwrap()).await });
    }
    let mut answers = Vec::new();
    while let Some(reply) = tasks.join_next().await {
        answers.push(reply.unwrap().data().clone());
    }
    answers
}

/// The typing indicator, with the inbox clock in the test's hand.
async fn typing_is_sent_at_most_every_20_seconds(store: Store) {
    let clock = wadesk_server::inbox::clock::WallClock::manual(1_800_000_000_000);
    let server_clock = clock.clone();
    let Some(server) = TestServer::start(store, move |settings| {
        configured(settings);
        settings.clock = server_clock;
    })
    .await
    else {
        return;
    };
    let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
    let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.t1", 1_700_000_001).await;
    // The customer's phone holds what they wrote (as the /sandbox/phone page records it).
    let key = CustomerKey::WaId(CUSTOMER.to_owned());
    sandbox(&server).phones().customer_sent(ALPHA_NUMBER, &key, wadesk_server::sandbox::phones::PhoneMessage {
        wamid: "wamid.t1".to_owned(), from_business: false, kind: api_types::MessageType::Text, text: Some("hello".to_owned()),
        media_id: None, mime_type: None, file_name: None, status: api_types::MessageStatus::Sent, at: 1_700_000_001_000,
    });
    let body = json!({"conversationId": conversation});
    let typing = || server.post_as(&alpha, "/inbox/conversations/typing", &body);
    assert_eq!(typing().await.data()["sent"], true);
    assert!(sandbox(&server).phones().is_typing(ALPHA_NUMBER, &key, wadesk_server::db::now_millis()), "the customer sees it");
    assert_eq!(sandbox(&server).phones().thread(ALPHA_NUMBER, &key)[0].status, api_types::MessageStatus::Read, "and blue ticks");
    clock.advance(19_999);
    assert_eq!(typing().await.data()["sent"], false, "inside the window: answered, not sent");
    assert_eq!(sandbox(&server).typing_indicators(ALPHA_NUMBER), ["wamid.t1"]);
    clock.advance(1);
    assert_eq!(typing().await.data()["sent"], true, "20 s later it goes again");
    assert_eq!(typing().await.data()["sent"], false);
    assert_eq!(sandbox(&server).typing_indicators(ALPHA_NUMBER).len(), 2);
    let db = database(&server).await;
    let marked = count_of(&db, "SELECT COUNT(*) FROM messages WHERE read_marked_at IS NOT NULL AND wamid = $1", "wamid.t1").await;
    assert_eq!(marked, 1, "the indicator marks the message read, so markRead does not send it again");
    server.post_as(&alpha, "/inbox/conversations/markRead", &json!({"conversationId": conversation})).await.data();
    assert!(sandbox(&server).read_receipts(ALPHA_NUMBER).is_empty());
}

#[tokio::test]
async fn typing_is_sent_at_most_every_20_seconds_sqlite() {
    typing_is_sent_at_most_every_20_seconds(Store::Sqlite).await;
}

#[tokio::test]
async fn typing_is_sent_at_most_every_20_seconds_postgres() {
    typing_is_sent_at_most_every_20_seconds(Store::Postgres).await;
}

/// Two servers on one PostgreSQL database share the outbox: every message is sent once, by one of them.
#[tokio::test]
async fn two_instances_send_each_message_once() {
    let Some(server) = TestServer::start(Store::Postgres, configured).await else { return };
    let mut second_settings = wadesk_server::Settings::for_tests(&server.database_url, server.dist.clone());
    configured(&mut second_settings);
    let second = wadesk_server::start(second_settings).await.expect("a second instance starts");
    let alpha = account_with_number(&server, "alpha", ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
    let conversation = customer_writes(&server, &alpha, CUSTOMER, "wamid.in1", 1_700_000_001).await;
    let mut ids = Vec::new();
    for index in 0..12 {
        let sent = server.post_as(&alpha, "/inbox/messages/send",
            &json!({"conversationId": conversation, "clientMessageId": format!("m{index}"), "type": "text", "text": format!("message {index}")})).await;
        ids.push(sent.data()["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        message_until(&server, &alpha, &conversation, id, "accepted", |m| m["wamid"] != "").await;
    }
    let key = CustomerKey::WaId(CUSTOMER.to_owned());
    let on_first = sandbox(&server).phones().thread(ALPHA_NUMBER, &key).len();
    let on_second = second.sandbox().unwrap().phones().thread(ALPHA_NUMBER, &key).len();
    assert_eq!(on_first + on_second, ids.len(), "each message sent by exactly one instance ({on_first} + {on_second})");
    let db = database(&server).await;
    let distinct = sqlx::query("SELECT COUNT(DISTINCT wamid) AS n FROM messages WHERE direction = 'outbound'").fetch_one(&db).await.unwrap();
    assert_eq!(distinct.try_get::<i64, _>("n").unwrap(), ids.len() as i64);
    second.shutdown().await;
}
