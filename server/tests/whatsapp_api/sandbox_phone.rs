//! The sandbox phone (issue 9): customers chat with the business numbers through
//! `whatsapp/sandbox/phone/...`, and what they send reaches the inbox as Meta's webhooks; reading
//! on the phone turns the business's messages read; the `/sandbox/phone` page and the API exist
//! only in sandbox mode.

use api_types::ErrorCode;
use base64::Engine as _;
use serde_json::{json, Value};
use sqlx::Row;

use crate::both_stores;
use crate::common::*;
use crate::support::*;
use wadesk_server::channels::upstream::messaging::{OutgoingMessage, Recipient};

const CUSTOMER: &str = "8613800138000";
/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63,
    0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// Account alpha holds Acme's number, bravo the bakery's; returns (alpha, bravo).
async fn two_accounts(server: &TestServer) -> (reqwest::Client, reqwest::Client) {
    let mut clients = Vec::new();
    for (account, waba_id, number) in [("alpha", ACME_WABA, ACME_NUMBER), ("bravo", BAKERY_WABA, BAKERY_NUMBER)] {
        let (client, _) = server.signup(account, &format!("owner@{account}.example")).await;
        let bound = server
            .post_as(&client, "/whatsapp/account/bind", &json!({"accountName": account, "wabaId": waba_id, "phoneNumberId": number}))
            .await;
        assert_eq!(bound.code(), 0, "{}", bound.body);
        clients.push(client);
    }
    let bravo = clients.pop().unwrap();
    (clients.pop().unwrap(), bravo)
}

async fn phone(server: &TestServer, action: &str, body: &Value) -> Reply {
    server.post(&format!("/whatsapp/sandbox/phone/{action}"), body).await
}

fn text_from(customer: Value, number: &str, text: &str) -> Value {
    json!({"phoneNumberId": number, "customer": customer, "type": "text", "text": text})
}

async fn conversations(server: &TestServer, client: &reqwest::Client) -> Vec<Value> {
    server.post_as(client, "/inbox/conversations/list", &json!({})).await.data()["items"].as_array().unwrap().clone()
}

async fn messages(server: &TestServer, client: &reqwest::Client, conversation: &Value) -> Vec<Value> {
    let reply = server.post_as(client, "/inbox/messages/list", &json!({"conversationId": conversation["id"]})).await;
    reply.data()["items"].as_array().unwrap().clone()
}

fn phones(server: &TestServer) -> std::sync::Arc<wadesk_server::sandbox::phones::SandboxPhones> {
    server.running.as_ref().and_then(|running| running.sandbox()).expect("a sandbox server").phones().clone()
}

fn live(settings: &mut wadesk_server::Settings) {
    settings.mode = wadesk_server::Mode::Live;
    settings.upstream = wadesk_server::settings::UpstreamKind::Meta;
    settings.secret_key = Some("a live secret key for tests".to_owned());
    settings.upstream_url = Some("http://127.0.0.1:9".to_owned());
}

both_stores! {
    async fn a_customer_text_from_the_phone_lands_in_that_accounts_inbox_with_the_profile_name(server) {
        let (alpha, bravo) = two_accounts(&server).await;
        let customer = json!({"waId": "+86 138 0013 8000", "name": "<b>Zoë</b> 李"});
        let sent = phone(&server, "send", &text_from(customer.clone(), ACME_NUMBER, "Hello 你好")).await;
        let sent = sent.data().clone();
        assert_eq!(sent["fromBusiness"], false);
        assert_eq!(sent["status"], "delivered", "the business's webhook got it: {sent}");
        assert!(sent["wamid"].as_str().unwrap().starts_with("wamid."));

        let listed = conversations(&server, &alpha).await;
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["phoneNumberId"], ACME_NUMBER);
        assert_eq!(listed[0]["customer"]["waId"], CUSTOMER);
        assert_eq!(listed[0]["customer"]["name"], "<b>Zoë</b> 李");
        let items = messages(&server, &alpha, &listed[0]).await;
        assert_eq!(items.len(), 1);
        assert_eq!((items[0]["direction"].as_str(), items[0]["origin"].as_str()), (Some("inbound"), Some("customer")));
        assert_eq!(items[0]["text"], "Hello 你好");
        assert_eq!(items[0]["wamid"], sent["wamid"]);
        // Bravo's inbox holds nothing of it; its own number gets its own customers.
        assert!(conversations(&server, &bravo).await.is_empty());
        phone(&server, "send", &text_from(customer.clone(), BAKERY_NUMBER, "A cake, please")).await.data();
        let bravo_listed = conversations(&server, &bravo).await;
        assert_eq!(bravo_listed.len(), 1);
        assert_eq!(messages(&server, &bravo, &bravo_listed[0]).await[0]["text"], "A cake, please");
        assert_eq!(conversations(&server, &alpha).await.len(), 1);

        // The phone shows the chat with that number only.
        let thread = phone(&server, "thread", &json!({"phoneNumberId": ACME_NUMBER, "customer": customer})).await;
        let thread = thread.data();
        assert_eq!(thread["messages"].as_array().unwrap().len(), 1);
        assert_eq!(thread["messages"][0]["text"], "Hello 你好");
        assert_eq!(thread["typing"], false);
        assert_eq!(thread["chats"], json!([{"waId": CUSTOMER, "userId": null}]));
    }

    async fn a_customer_known_only_by_user_id_lands_in_the_inbox(server) {
        let (alpha, _) = two_accounts(&server).await;
        let customer = json!({"userId": "US.1029384756", "name": "Sam"});
        phone(&server, "send", &text_from(customer.clone(), ACME_NUMBER, "no number here")).await.data();
        let listed = conversations(&server, &alpha).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["customer"]["userId"], "US.1029384756");
        assert_eq!(listed[0]["customer"]["waId"], Value::Null);
        assert_eq!(listed[0]["customer"]["name"], "Sam");
        assert_eq!(messages(&server, &alpha, &listed[0]).await[0]["text"], "no number here");
        let db = database(&server).await;
        let body = text_of(&db, "SELECT body FROM webhook_events WHERE provider = $1 ORDER BY received_at DESC", "sandbox").await.unwrap();
        let value = &serde_json::from_str::<Value>(&body).unwrap()["entry"][0]["changes"][0]["value"];
        assert_eq!(value["contacts"][0], json!({"profile": {"name": "Sam"}, "user_id": "US.1029384756"}));
        assert_eq!(value["messages"][0]["from_user_id"], "US.1029384756");
        assert!(value["messages"][0].get("from").is_none(), "{value}");
    }

    async fn an_image_from_the_phone_is_stored_with_its_media_id_and_type(server) {
        let (alpha, _) = two_accounts(&server).await;
        let image = json!({"phoneNumberId": ACME_NUMBER, "customer": {"waId": CUSTOMER}, "type": "image", "text": "my cat",
            "media": {"dataBase64": base64::engine::general_purpose::STANDARD.encode(PNG), "mimeType": "image/png", "fileName": "cat.png"}});
        let sent = phone(&server, "send", &image).await.data().clone();
        let media_id = sent["mediaId"].as_str().expect("a media id").to_owned();
        assert_eq!(sent["mimeType"], "image/png");

        let db = database(&server).await;
        let row = sqlx::query("SELECT type, media_id, media_mime_type, media_caption FROM messages WHERE wamid = $1")
            .bind(sent["wamid"].as_str().unwrap())
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(row.try_get::<String, _>("type").unwrap(), "image");
        assert_eq!(row.try_get::<Option<String>, _>("media_id").unwrap().as_deref(), Some(media_id.as_str()));
        assert_eq!(row.try_get::<Option<String>, _>("media_mime_type").unwrap().as_deref(), Some("image/png"));
        assert_eq!(row.try_get::<Option<String>, _>("media_caption").unwrap().as_deref(), Some("my cat"));
        let listed = conversations(&server, &alpha).await;
        let item = &messages(&server, &alpha, &listed[0]).await[0];
        assert_eq!((item["type"].as_str(), item["media"]["mimeType"].as_str()), (Some("image"), Some("image/png")));

        // The bytes are kept for the sandbox upstream's download, and for the page's thumbnail.
        assert_eq!(phones(&server).media(&media_id).expect("kept").bytes.as_ref(), PNG);
        let file = server.client.get(server.api_url(&format!("/whatsapp/sandbox/phone/media/{media_id}"))).send().await.unwrap();
        assert_eq!(file.status(), 200);
        assert_eq!(file.headers()["content-type"], "image/png");
        assert!(file.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
        assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);
        let missing = server.client.get(server.api_url("/whatsapp/sandbox/phone/media/1234")).send().await.unwrap();
        Reply::read(missing).await.assert_error(404, ErrorCode::NotFound);

        // A document keeps its name, and a file that could run as a page is only ever a download.
        let page = json!({"phoneNumberId": ACME_NUMBER, "customer": {"waId": CUSTOMER}, "type": "document",
            "media": {"dataBase64": base64::engine::general_purpose::STANDARD.encode("<script>alert(1)</script>"), "mimeType": "text/html", "fileName": "Relevé.html"}});
        let sent = phone(&server, "send", &page).await.data().clone();
        assert_eq!(sent["fileName"], "Relevé.html");
        let file = server.client.get(server.api_url(&format!("/whatsapp/sandbox/phone/media/{}", sent["mediaId"].as_str().unwrap()))).send().await.unwrap();
        assert_eq!(file.headers()["content-type"], "application/octet-stream");
        assert!(file.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    }

    async fn locations_and_contact_cards_from_the_phone_are_stored_as_what_they_are(server) {
        let (alpha, _) = two_accounts(&server).await;
        let customer = json!({"waId": CUSTOMER});
        phone(&server, "send", &json!({"phoneNumberId": ACME_NUMBER, "customer": customer, "type": "location",
            "location": {"latitude": 31.2304, "longitude": 121.4737, "name": "People's Square"}})).await.data();
        phone(&server, "send", &json!({"phoneNumberId": ACME_NUMBER, "customer": customer, "type": "contacts",
            "contact": {"name": "Li Lei", "phone": "+86 138 0000 0000"}})).await.data();
        let listed = conversations(&server, &alpha).await;
        let items = messages(&server, &alpha, &listed[0]).await;
        // Sorted: both were sent within one second, WhatsApp's timestamps' grain.
        let mut kinds: Vec<(&str, &str)> = items.iter().map(|item| (item["type"].as_str().unwrap(), item["text"].as_str().unwrap())).collect();
        kinds.sort();
        assert_eq!(kinds, [("contacts", "Li Lei"), ("location", "People's Square")]);
    }

    async fn reading_on_the_phone_turns_the_business_messages_read_in_the_inbox(server) {
        let (alpha, _) = two_accounts(&server).await;
        let customer = json!({"waId": CUSTOMER, "name": "Li"});
        phone(&server, "send", &text_from(customer.clone(), ACME_NUMBER, "Is it in stock?")).await.data();
        // The business answers. Until the sandbox's send path lands, its message is made here as
        // it will be: recorded in the inbox (an echo stands in) and put on the customer's phone.
        let sandbox = server.running.as_ref().unwrap().sandbox().unwrap().clone();
        let wamid = "wamid.sandbox.business-answer";
        let echo = json!({"object": "whatsapp_business_account", "entry": [{"id": ACME_WABA, "changes": [{"field": "smb_message_echoes",
            "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550100", "phone_number_id": ACME_NUMBER},
                "message_echoes": [{"from": "15550100", "to": CUSTOMER, "id": wamid, "timestamp": "1700000000", "type": "text", "text": {"body": "Yes!"}}]}}]}]});
        wadesk_server::sandbox::simulator::deliver_now(sandbox.inbox().unwrap(), &echo).await;
        let answer = OutgoingMessage {
            to: Recipient { wa_id: Some(CUSTOMER.to_owned()), user_id: None },
            kind: api_types::MessageType::Text,
            text: Some("Yes!".to_owned()),
            media: None,
            reply_to: None,
            client_reference: None,
            from_display_number: None,
        };
        sandbox.phones().business_sent(ACME_NUMBER, &answer, wamid, 1_700_000_000_000);
        let listed = conversations(&server, &alpha).await;
        let outbound = |items: &[Value]| items.iter().find(|item| item["wamid"] == wamid).cloned().expect("the answer is in the inbox");
        assert_ne!(outbound(&messages(&server, &alpha, &listed[0]).await)["status"], "read");

        let thread = phone(&server, "read", &json!({"phoneNumberId": ACME_NUMBER, "customer": customer})).await;
        let on_phone = thread.data()["messages"].as_array().unwrap().iter().find(|message| message["wamid"] == wamid).cloned().unwrap();
        assert_eq!((on_phone["fromBusiness"].as_bool(), on_phone["status"].as_str()), (Some(true), Some("read")));
        assert_eq!(outbound(&messages(&server, &alpha, &listed[0]).await)["status"], "read");
        let db = database(&server).await;
        let statuses = "SELECT COUNT(*) FROM webhook_events WHERE provider = $1 AND body LIKE '%\"statuses\"%'";
        assert_eq!(count_of(&db, statuses, "sandbox").await, 1);
        // Nothing new to read: no second status.
        phone(&server, "read", &json!({"phoneNumberId": ACME_NUMBER, "customer": customer})).await.data();
        assert_eq!(count_of(&db, statuses, "sandbox").await, 1);
    }

    async fn the_phone_api_names_what_is_wrong(server) {
        two_accounts(&server).await;
        let reply = phone(&server, "send", &json!({"phoneNumberId": ACME_NUMBER, "customer": {}, "type": "text"})).await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(reply.field_errors(), [("customer".to_owned(), "required".to_owned()), ("text".to_owned(), "required".to_owned())]);
        let reply = phone(&server, "send", &json!({"phoneNumberId": ACME_NUMBER, "customer": {"waId": CUSTOMER}, "type": "image",
            "media": {"dataBase64": "!!", "mimeType": "image/png"}})).await;
        assert_eq!(reply.field_errors(), [("media.dataBase64".to_owned(), "invalid".to_owned())]);
        let reply = phone(&server, "send", &json!({"phoneNumberId": ACME_NUMBER, "customer": {"waId": CUSTOMER}, "type": "sticker"})).await;
        assert_eq!(reply.field_errors(), [("type".to_owned(), "invalid".to_owned())]);
        let reply = phone(&server, "thread", &json!({"phoneNumberId": "abc", "customer": {"waId": CUSTOMER}})).await;
        assert_eq!(reply.field_errors(), [("phoneNumberId".to_owned(), "invalid".to_owned())]);
        // A number no account holds is not there.
        phone(&server, "send", &text_from(json!({"waId": CUSTOMER}), "2999999999999999", "hello")).await.assert_error(404, ErrorCode::NotFound);
        phone(&server, "read", &json!({"phoneNumberId": "2999999999999999", "customer": {"waId": CUSTOMER}})).await.assert_error(404, ErrorCode::NotFound);
        // A file over the limit is refused before it is read.
        let big = "A".repeat(8 * 1024 * 1024);
        let reply = phone(&server, "send", &json!({"phoneNumberId": ACME_NUMBER, "customer": {"waId": CUSTOMER}, "type": "document",
            "media": {"dataBase64": big, "mimeType": "application/pdf"}})).await;
        reply.assert_error(413, ErrorCode::PayloadTooLarge);
        let document = server.get("/intwa-api/openapi.json").await;
        for route in ["send", "read", "thread"] {
            assert!(document.body["paths"][format!("/intwa-api/whatsapp/sandbox/phone/{route}")]["post"].is_object(), "{route}");
        }
        assert!(document.body["paths"]["/intwa-api/whatsapp/sandbox/phone/media/{id}"]["get"].is_object());
    }

    async fn the_page_offers_every_number_and_shows_customer_names_as_text(server) {
        two_accounts(&server).await;
        let url = format!("{}/sandbox/phone?number={BAKERY_NUMBER}&waId={CUSTOMER}&name=%3Cscript%3Ealert(1)%3C%2Fscript%3E", server.url);
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(policy.contains("'nonce-") && !policy.contains("unsafe-inline"), "{policy}");
        let page = response.text().await.unwrap();
        assert!(!page.contains("<script>alert(1)"), "the name is echoed raw");
        assert!(page.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(page.contains(&format!("<option value=\"{BAKERY_NUMBER}\" selected>+1 555-0102 · Blue Bakery</option>")), "{page}");
        assert!(page.contains(&format!("<option value=\"{ACME_NUMBER}\">+1 555-0100 · Acme Trading</option>")));
        for id in [
            "phone-number-select", "phone-customer-wa-id", "phone-customer-user-id", "phone-customer-name", "phone-text", "phone-send",
            "phone-attach", "phone-send-location", "phone-send-contact", "phone-read", "phone-typing", "phone-messages",
        ] {
            assert!(page.contains(&format!("data-testid=\"{id}\"")), "no {id}");
        }
        // The bubbles are drawn by the script, with these test ids.
        for id in ["phone-message", "phone-message-status"] {
            assert!(page.contains(&format!("'data-testid', '{id}'")), "no {id}");
        }
        assert!(page.contains("<html lang=\"en\">") && page.contains("Business number"));
        let chinese = server.client.get(format!("{}/sandbox/phone?lang=zh-CN", server.url)).send().await.unwrap().text().await.unwrap();
        assert!(chinese.contains("<html lang=\"zh-CN\">") && chinese.contains("企业号码"));
        let asked = server.client.get(format!("{}/sandbox/phone", server.url)).header("accept-language", "zh-CN,zh;q=0.9,en;q=0.8").send().await.unwrap();
        assert!(asked.text().await.unwrap().contains("<html lang=\"zh-CN\">"));
    }

    async fn live_mode_has_no_phone(server, live) {
        let page = server.client.get(format!("{}/sandbox/phone", server.url)).send().await.unwrap();
        Reply::read(page).await.assert_error(404, ErrorCode::NotFound);
        for action in ["send", "read", "thread"] {
            let body = json!({"phoneNumberId": ACME_NUMBER, "customer": {"waId": CUSTOMER}, "type": "text", "text": "hi"});
            phone(&server, action, &body).await.assert_error(404, ErrorCode::NotFound);
        }
        let media = server.client.get(server.api_url("/whatsapp/sandbox/phone/media/1234")).send().await.unwrap();
        Reply::read(media).await.assert_error(404, ErrorCode::NotFound);
    }
}
