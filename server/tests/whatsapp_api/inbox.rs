//! The team inbox's ingestion over real HTTP (issue 9): signed Meta and YCloud message webhooks
//! become contacts, conversations and messages, each stored once, with statuses that never move
//! backwards, reactions attached to their message, echoes from the business's phone, and
//! customers known only by their user id merged when a message carries both ids.


use serde_json::{json, Value};
use sqlx::{AnyPool, Row};

use crate::both_stores;
use crate::common::*;
use crate::support::*;

const APP_SECRET: &str = "inbox-app-secret";
const YCLOUD_SECRET: &str = "inbox-ycloud-secret";
const HOOKS: SignedWebhooks = SignedWebhooks { meta_app_secret: APP_SECRET, ycloud_secret: YCLOUD_SECRET };

const ALPHA_WABA: &str = "6100000000000001";
const ALPHA_NUMBER: &str = "6200000000000001";
const ALPHA_DISPLAY: &str = "8613300006161";
const BRAVO_WABA: &str = "7100000000000001";
const BRAVO_NUMBER: &str = "7200000000000001";

const CUSTOMER: &str = "8613800138000";

fn with_secrets(settings: &mut wadesk_server::Settings) {
    settings.meta_app_secret = Some(APP_SECRET.to_owned());
    settings.ycloud_webhook_secrets = vec![YCLOUD_SECRET.to_owned()];
}

/// Account alpha holding ALPHA_NUMBER (display ALPHA_DISPLAY); returns its client.
async fn alpha(server: &TestServer) -> reqwest::Client {
    let (client, _) = server.signup("alpha", "owner@alpha.example").await;
    let bound = server
        .post_as(&client, "/whatsapp/account/bind", &json!({"accountName": "alpha", "wabaId": ALPHA_WABA,
            "phoneNumberId": ALPHA_NUMBER, "phoneNumber": ALPHA_DISPLAY}))
        .await;
    assert_eq!(bound.code(), 0, "{}", bound.body);
    client
}

fn meta(field: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": ALPHA_DISPLAY, "phone_number_id": ALPHA_NUMBER});
    json!({"object": "whatsapp_business_account", "entry": [{"id": ALPHA_WABA, "changes": [{"field": field, "value": value}]}]})
}

/// A `messages` delivery from CUSTOMER (named `name`) carrying these message objects.
fn inbound(name: &str, messages: Vec<Value>) -> Value {
    meta("messages", json!({"contacts": [{"profile": {"name": name}, "wa_id": CUSTOMER}], "messages": messages}))
}

fn message(wamid: &str, seconds: i64, kind: &str, part: Value) -> Value {
    let mut message = json!({"from": CUSTOMER, "id": wamid, "timestamp": seconds.to_string(), "type": kind});
    message[kind] = part;
    message
}

fn echo(wamid: &str, seconds: i64, body: &str) -> Value {
    meta("smb_message_echoes", json!({"message_echoes": [{"from": ALPHA_DISPLAY, "to": CUSTOMER, "id": wamid,
        "timestamp": seconds.to_string(), "type": "text", "text": {"body": body}}]}))
}

fn status(wamid: &str, state: &str, seconds: i64) -> Value {
    json!({"id": wamid, "status": state, "timestamp": seconds.to_string(), "recipient_id": CUSTOMER})
}

fn statuses(list: Vec<Value>) -> Value {
    meta("messages", json!({"statuses": list}))
}

/// One stored message's columns, by wamid.
async fn message_row(db: &AnyPool, wamid: &str) -> sqlx::any::AnyRow {
    sqlx::query("SELECT * FROM messages WHERE wamid = $1").bind(wamid).fetch_one(db).await.unwrap_or_else(|_| panic!("{wamid} is stored"))
}

fn column(row: &sqlx::any::AnyRow, name: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(name).unwrap()
}

async fn count(db: &AnyPool, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(db).await.unwrap().try_get::<i64, _>(0).unwrap()
}

both_stores! {
    async fn every_inbound_type_is_stored_once_as_what_it_is(server, with_secrets) {
        let client = alpha(&server).await;
        let all = inbound("Zoë Ørsted", vec![
            message("wamid.text", 1_700_000_001, "text", json!({"body": "Hello 你好"})),
            message("wamid.image", 1_700_000_002, "image", json!({"id": "m-img", "mime_type": "image/jpeg", "sha256": "abc", "caption": "a photo"})),
            message("wamid.video", 1_700_000_003, "video", json!({"id": "m-vid", "mime_type": "video/mp4"})),
            message("wamid.voice", 1_700_000_004, "audio", json!({"id": "m-aud", "mime_type": "audio/ogg; codecs=opus", "voice": true})),
            message("wamid.doc", 1_700_000_005, "document", json!({"id": "m-doc", "mime_type": "application/pdf",
                "filename": "Relevé – Crème brûlée.pdf", "caption": "Voilà  l’extrait"})),
            message("wamid.sticker", 1_700_000_006, "sticker", json!({"id": "m-stk", "mime_type": "image/webp", "animated": false})),
            message("wamid.location", 1_700_000_007, "location", json!({"latitude": 31.2, "longitude": 121.5, "name": "Bund", "address": "Shanghai"})),
            message("wamid.contacts", 1_700_000_008, "contacts", json!([{"name": {"formatted_name": "Li Lei", "first_name": "Lei"},
                "phones": [{"phone": "+86 138 0000 0000", "type": "CELL"}]}])),
            message("wamid.button_reply", 1_700_000_009, "interactive", json!({"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}})),
            message("wamid.list_reply", 1_700_000_010, "interactive", json!({"type": "list_reply", "list_reply": {"id": "r1", "title": "Row one", "description": "d"}})),
            message("wamid.nfm_reply", 1_700_000_011, "interactive", json!({"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{\"a\": 1, oops"}})),
            message("wamid.button", 1_700_000_012, "button", json!({"payload": "STOP", "text": "Stop promotions"})),
            message("wamid.order", 1_700_000_013, "order", json!({"catalog_id": "c1", "text": "My order", "product_items": [{"product_retailer_id": "sku", "quantity": 2, "item_price": 9.5, "currency": "USD"}]})),
            message("wamid.system", 1_700_000_014, "system", json!({"body": "Customer changed their number", "type": "user_changed_number", "new_wa_id": "8613800138001"})),
            json!({"from": CUSTOMER, "id": "wamid.unknown", "timestamp": "1700000015", "type": "hologram", "hologram": {"x": 1},
                "errors": [{"code": 131051, "title": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]}),
            json!({"from": CUSTOMER, "id": "wamid.lost", "timestamp": "1700000016", "type": "image", "image": {"id": "m-gone"},
                "errors": [{"code": 131052, "title": "Media download error", "error_data": {"details": "Media could not be downloaded"}}]}),
        ]);
        assert_eq!(HOOKS.meta(&server, &all).await, "processed");
        let db = database(&server).await;
        let stored: Vec<(String, String, Option<String>)> = sqlx::query("SELECT wamid, type, text FROM messages ORDER BY timestamp")
            .fetch_all(&db).await.unwrap().iter()
            .map(|row| (row.try_get("wamid").unwrap(), row.try_get("type").unwrap(), row.try_get("text").unwrap()))
            .collect();
        let expected: Vec<(&str, &str, Option<&str>)> = vec![
            ("wamid.text", "text", Some("Hello 你好")),
            ("wamid.image", "image", Some("a photo")),
            ("wamid.video", "video", None),
            ("wamid.voice", "audio", None),
            ("wamid.doc", "document", Some("Voilà  l’extrait")),
            ("wamid.sticker", "sticker", None),
            ("wamid.location", "location", Some("Bund")),
            ("wamid.contacts", "contacts", Some("Li Lei")),
            ("wamid.button_reply", "interactive", Some("Yes please")),
            ("wamid.list_reply", "interactive", Some("Row one")),
            ("wamid.nfm_reply", "interactive", Some("{\"a\": 1, oops")),
            ("wamid.button", "button", Some("Stop promotions")),
            ("wamid.order", "order", Some("My order")),
            ("wamid.system", "system", Some("Customer changed their number")),
            ("wamid.unknown", "unsupported", None),
            ("wamid.lost", "image", None),
        ];
        let expected: Vec<(String, String, Option<String>)> =
            expected.into_iter().map(|(w, t, x)| (w.to_owned(), t.to_owned(), x.map(str::to_owned))).collect();
        assert_eq!(stored, expected);

        let document = message_row(&db, "wamid.doc").await;
        assert_eq!(column(&document, "media_file_name").as_deref(), Some("Relevé – Crème brûlée.pdf"));
        assert_eq!(column(&document, "media_caption").as_deref(), Some("Voilà  l’extrait"));
        assert_eq!(column(&document, "media_mime_type").as_deref(), Some("application/pdf"));
        assert_eq!(column(&document, "direction").as_deref(), Some("inbound"));
        assert_eq!(column(&document, "origin").as_deref(), Some("customer"));
        let unknown = message_row(&db, "wamid.unknown").await;
        assert_eq!(column(&unknown, "error_code").as_deref(), Some("131051"));
        assert_eq!(column(&unknown, "error_details").as_deref(), Some("Message type is currently not supported."));
        let payload: Value = serde_json::from_str(&column(&unknown, "payload").unwrap()).unwrap();
        assert_eq!(payload["type"], "hologram", "the raw object is kept");
        let lost = message_row(&db, "wamid.lost").await;
        assert_eq!((column(&lost, "media_id").as_deref(), column(&lost, "error_code").as_deref()), (Some("m-gone"), Some("131052")));
        let location: Value = serde_json::from_str(&column(&message_row(&db, "wamid.location").await, "payload").unwrap()).unwrap();
        assert_eq!(location["location"]["latitude"], 31.2);

        // One contact, one open conversation with every message unread.
        assert_eq!(text_of(&db, "SELECT profile_name FROM contacts WHERE wa_id = $1", CUSTOMER).await.as_deref(), Some("Zoë Ørsted"));
        let conversation = sqlx::query("SELECT state, unread_count, last_message_at, phone_number_id FROM conversations").fetch_all(&db).await.unwrap();
        assert_eq!(conversation.len(), 1);
        assert_eq!(conversation[0].try_get::<String, _>("state").unwrap(), "open");
        assert_eq!(conversation[0].try_get::<i64, _>("unread_count").unwrap(), 16);
        assert_eq!(conversation[0].try_get::<i64, _>("last_message_at").unwrap(), 1_700_000_016_000);
        assert_eq!(conversation[0].try_get::<String, _>("phone_number_id").unwrap(), ALPHA_NUMBER);

        // The same body again is a duplicate; the same messages in another delivery change nothing.
        assert_eq!(HOOKS.meta(&server, &all).await, "duplicate");
        let again = inbound("Zoë Ørsted", vec![message("wamid.text", 1_700_000_001, "text", json!({"body": "Hello 你好"}))]);
        assert_eq!(HOOKS.meta(&server, &again).await, "processed");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 16);
        assert_eq!(count(&db, "SELECT unread_count FROM conversations").await, 16);

        // The API shows the place and the contact cards as structured cards, and nothing of the kind elsewhere.
        let listed = server.post_as(&client, "/inbox/conversations/list", &json!({})).await;
        let conversation_id = listed.data()["items"][0]["id"].clone();
        let messages = server.post_as(&client, "/inbox/messages/list", &json!({"conversationId": conversation_id, "limit": 200})).await;
        let items = messages.data()["items"].as_array().unwrap().clone();
        let by_wamid = |wamid: &str| items.iter().find(|item| item["wamid"] == wamid).unwrap_or_else(|| panic!("{wamid} listed")).clone();
        assert_eq!(by_wamid("wamid.location")["location"], json!({"latitude": 31.2, "longitude": 121.5, "name": "Bund", "address": "Shanghai"}));
        assert_eq!(by_wamid("wamid.contacts")["contacts"],
            json!([{"name": "Li Lei", "phones": [{"phone": "+86 138 0000 0000", "waId": null, "type": "CELL"}]}]));
        assert!(by_wamid("wamid.text").get("location").is_none() && by_wamid("wamid.text").get("contacts").is_none());
    }

    async fn statuses_in_every_order_end_at_the_highest(server, with_secrets) {
        alpha(&server).await;
        let orders: Vec<[&str; 3]> = vec![
            ["sent", "delivered", "read"], ["sent", "read", "delivered"], ["delivered", "sent", "read"],
            ["delivered", "read", "sent"], ["read", "sent", "delivered"], ["read", "delivered", "sent"],
        ];
        for index in 0..orders.len() {
            assert_eq!(HOOKS.meta(&server, &echo(&format!("wamid.out{index}"), 1_700_000_000 + index as i64, "hi")).await, "processed");
        }
        // Step k carries the k-th status of every order, one delivery per step.
        for step in 0..3 {
            let list = orders.iter().enumerate().map(|(index, order)| status(&format!("wamid.out{index}"), order[step], 1_700_000_100 + step as i64)).collect();
            assert_eq!(HOOKS.meta(&server, &statuses(list)).await, "processed");
        }
        let db = database(&server).await;
        for index in 0..orders.len() {
            let row = message_row(&db, &format!("wamid.out{index}")).await;
            assert_eq!(column(&row, "status").as_deref(), Some("read"), "order {:?}", orders[index]);
        }
        // Within one delivery too, and a voice note's `played` outranks `read`.
        let list = vec![status("wamid.out0", "played", 1_700_000_200), status("wamid.out0", "delivered", 1_700_000_201), status("wamid.out1", "sent", 1_700_000_202)];
        HOOKS.meta(&server, &statuses(list)).await;
        assert_eq!(column(&message_row(&db, "wamid.out0").await, "status").as_deref(), Some("played"));
        assert_eq!(column(&message_row(&db, "wamid.out1").await, "status").as_deref(), Some("read"));
    }

    async fn a_failed_status_keeps_its_error_and_a_late_sent_does_not_hide_it(server, with_secrets) {
        alpha(&server).await;
        HOOKS.meta(&server, &echo("wamid.late", 1_700_000_000, "are you there?")).await;
        let mut failed = status("wamid.late", "failed", 1_700_000_010);
        failed["errors"] = json!([{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]);
        assert_eq!(HOOKS.meta(&server, &statuses(vec![failed])).await, "processed");
        HOOKS.meta(&server, &statuses(vec![status("wamid.late", "sent", 1_700_000_005)])).await;
        let db = database(&server).await;
        let row = message_row(&db, "wamid.late").await;
        assert_eq!(column(&row, "status").as_deref(), Some("failed"));
        assert_eq!(column(&row, "error_code").as_deref(), Some("131047"));
        assert_eq!(column(&row, "error_title").as_deref(), Some("Re-engagement message"));
        assert_eq!(
            column(&row, "error_details").as_deref(),
            Some("Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
        );
    }

    async fn a_user_id_only_customer_merges_with_their_number_when_a_message_carries_both(server, with_secrets) {
        alpha(&server).await;
        let by_user_id = meta("messages", json!({"contacts": [{"profile": {"name": "Nameless"}, "user_id": "CN.42"}],
            "messages": [{"from_user_id": "CN.42", "id": "wamid.u1", "timestamp": "1700000001", "type": "text", "text": {"body": "one"}}]}));
        assert_eq!(HOOKS.meta(&server, &by_user_id).await, "processed");
        let db = database(&server).await;
        assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts WHERE wa_id IS NULL").await, 1);
        // The same person by number only: a second contact for now (nothing ties them yet).
        HOOKS.meta(&server, &inbound("Wang", vec![message("wamid.u2", 1_700_000_002, "text", json!({"body": "two"}))])).await;
        assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts").await, 2);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM conversations").await, 2);
        // A message with both ids: one contact, one conversation with all three messages.
        let both = meta("messages", json!({"contacts": [{"profile": {"name": "Wang Fang"}, "wa_id": CUSTOMER, "user_id": "CN.42"}],
            "messages": [{"from": CUSTOMER, "from_user_id": "CN.42", "id": "wamid.u3", "timestamp": "1700000003", "type": "text", "text": {"body": "three"}}]}));
        assert_eq!(HOOKS.meta(&server, &both).await, "processed");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts").await, 1);
        let contact = sqlx::query("SELECT id, wa_id, user_id, profile_name FROM contacts").fetch_one(&db).await.unwrap();
        assert_eq!(column(&contact, "wa_id").as_deref(), Some(CUSTOMER));
        assert_eq!(column(&contact, "user_id").as_deref(), Some("CN.42"));
        assert_eq!(column(&contact, "profile_name").as_deref(), Some("Wang Fang"));
        let contact_id = column(&contact, "id").unwrap();
        let conversations = sqlx::query("SELECT id, contact_id, unread_count FROM conversations").fetch_all(&db).await.unwrap();
        assert_eq!(conversations.len(), 1);
        assert_eq!(column(&conversations[0], "contact_id").as_deref(), Some(contact_id.as_str()));
        assert_eq!(conversations[0].try_get::<i64, _>("unread_count").unwrap(), 3);
        let conversation_id = column(&conversations[0], "id").unwrap();
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE conversation_id = $1", &conversation_id).await, 3);
        // A later message with the user id alone reaches the same contact.
        let later = meta("messages", json!({"contacts": [{"profile": {"name": "Fang"}, "user_id": "CN.42"}],
            "messages": [{"from_user_id": "CN.42", "id": "wamid.u4", "timestamp": "1700000004", "type": "text", "text": {"body": "four"}}]}));
        HOOKS.meta(&server, &later).await;
        assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts").await, 1);
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE conversation_id = $1", &conversation_id).await, 4);
        assert_eq!(text_of(&db, "SELECT profile_name FROM contacts WHERE user_id = $1", "CN.42").await.as_deref(), Some("Fang"));
    }

    async fn one_delivery_of_many_customers_and_a_merge_midway_ends_as_one_message_at_a_time_would(server, with_secrets) {
        alpha(&server).await;
        let db = database(&server).await;
        // Known by user id alone so far.
        let first = meta("messages", json!({"contacts": [{"profile": {"name": "Nameless"}, "user_id": "CN.7"}],
            "messages": [{"from_user_id": "CN.7", "id": "wamid.m0", "timestamp": "1700000000", "type": "text", "text": {"body": "zero"}}]}));
        assert_eq!(HOOKS.meta(&server, &first).await, "processed");
        // One delivery: two customers, a wamid twice, a message carrying both ids (merging CN.7
        // into CUSTOMER's contact) after a message of CUSTOMER's, a reaction, then a status for an
        // echo earlier in the same delivery.
        let text = |from: Value, wamid: &str, seconds: i64, body: &str| {
            let mut message = json!({"id": wamid, "timestamp": seconds.to_string(), "type": "text", "text": {"body": body}});
            for (key, value) in from.as_object().unwrap() {
                message[key] = value.clone();
            }
            message
        };
        let other = "8613900139000";
        let many = meta("messages", json!({
            "contacts": [{"profile": {"name": "Wang"}, "wa_id": CUSTOMER}, {"profile": {"name": "Zhao"}, "wa_id": other},
                {"profile": {"name": "Wang Fang"}, "wa_id": CUSTOMER, "user_id": "CN.7"}],
            "messages": [
                text(json!({"from": CUSTOMER}), "wamid.m1", 1_700_000_001, "one"),
                text(json!({"from": other}), "wamid.m2", 1_700_000_002, "two"),
                text(json!({"from": CUSTOMER}), "wamid.m1", 1_700_000_001, "one again"),
                text(json!({"from": CUSTOMER, "from_user_id": "CN.7"}), "wamid.m3", 1_700_000_003, "three"),
                text(json!({"from": other}), "wamid.m4", 1_700_000_009, "four"),
                {"from": other, "id": "wamid.m5", "timestamp": "1700000010", "type": "reaction",
                    "reaction": {"message_id": "wamid.m2", "emoji": "👍"}},
                text(json!({"from": CUSTOMER}), "wamid.m6", 1_700_000_005, "six"),
            ]}));
        assert_eq!(HOOKS.meta(&server, &many).await, "processed");
        assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 6, "m0..m4 and m6, m1 once, the reaction not a message");
        assert_eq!(text_of(&db, "SELECT text FROM messages WHERE wamid = $1", "wamid.m1").await.as_deref(), Some("one"));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM contacts").await, 2);
        assert_eq!(count(&db, "SELECT COUNT(*) FROM conversations").await, 2);
        let wang = sqlx::query("SELECT c.id, c.unread_count, c.last_message_at FROM conversations c JOIN contacts k ON k.id = c.contact_id \
            WHERE k.wa_id = $1").bind(CUSTOMER).fetch_one(&db).await.unwrap();
        assert_eq!(wang.try_get::<i64, _>("unread_count").unwrap(), 4, "m0, m1, m3, m6");
        assert_eq!(wang.try_get::<i64, _>("last_message_at").unwrap(), 1_700_000_005_000, "the newest, not the last in the delivery");
        let wang_id = column(&wang, "id").unwrap();
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE conversation_id = $1", &wang_id).await, 4);
        let zhao = sqlx::query("SELECT c.unread_count, c.last_message_at FROM conversations c JOIN contacts k ON k.id = c.contact_id \
            WHERE k.wa_id = $1").bind(other).fetch_one(&db).await.unwrap();
        assert_eq!(zhao.try_get::<i64, _>("unread_count").unwrap(), 2);
        assert_eq!(zhao.try_get::<i64, _>("last_message_at").unwrap(), 1_700_000_009_000);
        assert_eq!(column(&message_row(&db, "wamid.m2").await, "customer_reaction").as_deref(), Some("👍"));
        assert_eq!(text_of(&db, "SELECT wa_id FROM contacts WHERE user_id = $1", "CN.7").await.as_deref(), Some(CUSTOMER), "merged");

        // Echoes and their statuses in one delivery: the status finds the echo stored before it.
        let echoes = meta("smb_message_echoes", json!({"message_echoes": [
            {"from": ALPHA_DISPLAY, "to": CUSTOMER, "id": "wamid.e1", "timestamp": "1700000020", "type": "text", "text": {"body": "a"}},
            {"from": ALPHA_DISPLAY, "to": other, "id": "wamid.e2", "timestamp": "1700000021", "type": "text", "text": {"body": "b"}}]}));
        assert_eq!(HOOKS.meta(&server, &echoes).await, "processed");
        let mut both = meta("messages", json!({"statuses": [status("wamid.e1", "read", 1_700_000_030)],
            "messages": [text(json!({"from": CUSTOMER}), "wamid.m7", 1_700_000_031, "seven")]}));
        both["entry"][0]["changes"][0]["value"]["contacts"] = json!([{"profile": {"name": "Wang Fang"}, "wa_id": CUSTOMER}]);
        assert_eq!(HOOKS.meta(&server, &both).await, "processed");
        assert_eq!(column(&message_row(&db, "wamid.e1").await, "status").as_deref(), Some("read"));
        assert_eq!(column(&message_row(&db, "wamid.e2").await, "status").as_deref(), Some("sent"));
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM messages WHERE conversation_id = $1", &wang_id).await, 6);
    }

    async fn an_echo_is_an_outgoing_message_sent_from_the_phone(server, with_secrets) {
        alpha(&server).await;
        HOOKS.meta(&server, &inbound("Li", vec![message("wamid.q", 1_700_000_001, "text", json!({"body": "price?"}))])).await;
        let db = database(&server).await;
        sqlx::query("UPDATE conversations SET state = 'resolved', unread_count = 0").execute(&db).await.unwrap();
        assert_eq!(HOOKS.meta(&server, &echo("wamid.e", 1_700_000_002, "10 yuan")).await, "processed");
        let row = message_row(&db, "wamid.e").await;
        assert_eq!(column(&row, "direction").as_deref(), Some("outbound"));
        assert_eq!(column(&row, "origin").as_deref(), Some("phone"));
        assert_eq!(column(&row, "status").as_deref(), Some("sent"));
        assert_eq!(column(&row, "text").as_deref(), Some("10 yuan"));
        // The business's own message neither reopens nor counts as unread, and is in the customer's conversation.
        let conversation = sqlx::query("SELECT state, unread_count, last_message_at FROM conversations").fetch_all(&db).await.unwrap();
        assert_eq!(conversation.len(), 1);
        assert_eq!(column(&conversation[0], "state").as_deref(), Some("resolved"));
        assert_eq!(conversation[0].try_get::<i64, _>("unread_count").unwrap(), 0);
        assert_eq!(conversation[0].try_get::<i64, _>("last_message_at").unwrap(), 1_700_000_002_000);
        // A new customer message reopens it.
        HOOKS.meta(&server, &inbound("Li", vec![message("wamid.q2", 1_700_000_003, "text", json!({"body": "ok"}))])).await;
        let conversation = sqlx::query("SELECT state, unread_count FROM conversations").fetch_one(&db).await.unwrap();
        assert_eq!(column(&conversation, "state").as_deref(), Some("open"));
        assert_eq!(conversation.try_get::<i64, _>("unread_count").unwrap(), 1);
    }

    async fn a_status_before_its_message_is_applied_when_the_message_arrives(server, with_secrets) {
        alpha(&server).await;
        assert_eq!(HOOKS.meta(&server, &statuses(vec![status("wamid.early", "delivered", 1_700_000_010)])).await, "processed");
        HOOKS.meta(&server, &statuses(vec![status("wamid.early", "sent", 1_700_000_009)])).await;
        let db = database(&server).await;
        assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 0);
        assert_eq!(text_of(&db, "SELECT status FROM pending_statuses WHERE wamid = $1", "wamid.early").await.as_deref(), Some("delivered"));
        HOOKS.meta(&server, &echo("wamid.early", 1_700_000_008, "sent from the phone")).await;
        assert_eq!(column(&message_row(&db, "wamid.early").await, "status").as_deref(), Some("delivered"));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM pending_statuses").await, 0);
    }

    async fn a_reaction_attaches_to_its_message_and_an_empty_one_removes_it(server, with_secrets) {
        alpha(&server).await;
        HOOKS.meta(&server, &echo("wamid.offer", 1_700_000_001, "20% off today")).await;
        let reaction = |wamid: &str, seconds: i64, emoji: &str| {
            inbound("Li", vec![message(wamid, seconds, "reaction", json!({"message_id": "wamid.offer", "emoji": emoji}))])
        };
        assert_eq!(HOOKS.meta(&server, &reaction("wamid.r1", 1_700_000_002, "👍")).await, "processed");
        let db = database(&server).await;
        assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 1, "a reaction is not a message of its own");
        assert_eq!(column(&message_row(&db, "wamid.offer").await, "customer_reaction").as_deref(), Some("👍"));
        assert_eq!(count(&db, "SELECT unread_count FROM conversations").await, 0);
        // Removed (Meta sends the reaction without an emoji), then an older reaction arriving late changes nothing.
        let removed = inbound("Li", vec![message("wamid.r2", 1_700_000_003, "reaction", json!({"message_id": "wamid.offer"}))]);
        HOOKS.meta(&server, &removed).await;
        assert_eq!(column(&message_row(&db, "wamid.offer").await, "customer_reaction").as_deref(), Some(""));
        HOOKS.meta(&server, &reaction("wamid.r0", 1_700_000_000, "❤️")).await;
        assert_eq!(column(&message_row(&db, "wamid.offer").await, "customer_reaction").as_deref(), Some(""));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM messages").await, 1);
    }

    async fn ycloud_inbound_messages_statuses_and_echoes_are_stored(server, with_secrets) {
        alpha(&server).await;
        let received = json!({"id": "evt_in_1", "type": "whatsapp.inbound_message.received", "apiVersion": "v2", "createTime": "2026-12-01T10:00:01Z",
            "whatsappInboundMessage": {"id": "in_1", "wamid": "wamid.yc1", "wabaId": ALPHA_WABA, "from": format!("+{CUSTOMER}"),
                "fromUserId": "CN.77", "customerProfile": {"name": "Chen"}, "to": format!("+{ALPHA_DISPLAY}"), "sendTime": "2026-12-01T10:00:00Z",
                "type": "document", "document": {"id": "d1", "link": "https://api.ycloud.com/v2/whatsapp/media/download/d1",
                    "filename": "Facture n°12 – été.pdf", "mime_type": "application/pdf"}}});
        assert_eq!(HOOKS.ycloud(&server, &received).await, "processed");
        let db = database(&server).await;
        let row = message_row(&db, "wamid.yc1").await;
        assert_eq!(column(&row, "media_file_name").as_deref(), Some("Facture n°12 – été.pdf"));
        assert_eq!(column(&row, "media_link").as_deref(), Some("https://api.ycloud.com/v2/whatsapp/media/download/d1"));
        assert_eq!(row.try_get::<i64, _>("timestamp").unwrap(), 1_796_119_200_000);
        let contact = sqlx::query("SELECT wa_id, user_id, profile_name FROM contacts").fetch_one(&db).await.unwrap();
        assert_eq!(
            (column(&contact, "wa_id"), column(&contact, "user_id"), column(&contact, "profile_name")),
            (Some(CUSTOMER.to_owned()), Some("CN.77".to_owned()), Some("Chen".to_owned()))
        );
        let echo = json!({"id": "evt_echo_1", "type": "whatsapp.smb.message.created", "apiVersion": "v2", "createTime": "2026-12-01T10:01:00Z",
            "whatsappMessage": {"id": "out_1", "wamid": "wamid.yc2", "wabaId": ALPHA_WABA, "from": format!("+{ALPHA_DISPLAY}"),
                "to": format!("+{CUSTOMER}"), "type": "text", "text": {"body": "Got it"}}});
        assert_eq!(HOOKS.ycloud(&server, &echo).await, "processed");
        let failed = json!({"id": "evt_st_1", "type": "whatsapp.message.updated", "apiVersion": "v2", "createTime": "2026-12-01T10:02:00Z",
            "whatsappMessage": {"id": "out_1", "wamid": "wamid.yc2", "wabaId": ALPHA_WABA, "from": format!("+{ALPHA_DISPLAY}"),
                "to": format!("+{CUSTOMER}"), "status": "failed", "errorCode": "131047", "errorMessage": "Re-engagement message"}});
        assert_eq!(HOOKS.ycloud(&server, &failed).await, "processed");
        let row = message_row(&db, "wamid.yc2").await;
        assert_eq!((column(&row, "direction").as_deref(), column(&row, "origin").as_deref()), (Some("outbound"), Some("phone")));
        assert_eq!((column(&row, "status").as_deref(), column(&row, "error_code").as_deref()), (Some("failed"), Some("131047")));
        assert_eq!(count(&db, "SELECT COUNT(*) FROM conversations").await, 1);
    }

    async fn messages_reach_only_the_account_holding_the_number(server, with_secrets) {
        alpha(&server).await;
        let (bravo, _) = server.signup("bravo", "owner@bravo.example").await;
        let bound = server.post_as(&bravo, "/whatsapp/account/bind",
            &json!({"accountName": "bravo", "wabaId": BRAVO_WABA, "phoneNumberId": BRAVO_NUMBER})).await;
        assert_eq!(bound.code(), 0, "{}", bound.body);
        HOOKS.meta(&server, &inbound("Li", vec![message("wamid.a1", 1_700_000_001, "text", json!({"body": "to alpha"}))])).await;
        // Alpha's number named inside bravo's WABA reaches nobody.
        let mut wrong_waba = inbound("Li", vec![message("wamid.a2", 1_700_000_002, "text", json!({"body": "spoofed"}))]);
        wrong_waba["entry"][0]["id"] = json!(BRAVO_WABA);
        assert_eq!(HOOKS.meta(&server, &wrong_waba).await, "ignored");
        let db = database(&server).await;
        let alpha_id = text_of(&db, "SELECT id FROM accounts WHERE name_key = $1", "alpha").await.unwrap();
        let bravo_id = text_of(&db, "SELECT id FROM accounts WHERE name_key = $1", "bravo").await.unwrap();
        for table in ["contacts", "conversations", "messages"] {
            assert_eq!(count_of(&db, &format!("SELECT COUNT(*) FROM {table} WHERE account_id = $1"), &alpha_id).await, 1, "{table}");
            assert_eq!(count_of(&db, &format!("SELECT COUNT(*) FROM {table} WHERE account_id = $1"), &bravo_id).await, 0, "{table}");
        }
    }

    async fn the_inbox_api_lists_only_the_callers_conversations_and_messages(server, with_secrets) {
        let alpha_client = alpha(&server).await;
        let (bravo, _) = server.signup("bravo", "owner@bravo.example").await;
        let bound = server.post_as(&bravo, "/whatsapp/account/bind",
            &json!({"accountName": "bravo", "wabaId": BRAVO_WABA, "phoneNumberId": BRAVO_NUMBER})).await;
        assert_eq!(bound.code(), 0, "{}", bound.body);
        HOOKS.meta(&server, &inbound("Zoë", vec![
            message("wamid.l1", 1_700_000_001, "text", json!({"body": "first <b>not markup</b>"})),
            message("wamid.l2", 1_700_000_002, "document", json!({"id": "d", "filename": "Façade.pdf", "mime_type": "application/pdf"})),
            json!({"from": CUSTOMER, "id": "wamid.l3", "timestamp": "1700000003", "type": "image", "image": {"id": "gone"},
                "errors": [{"code": 131052, "title": "Media download error"}]}),
        ])).await;
        let other = meta("messages", json!({"contacts": [{"profile": {"name": "Anon"}, "user_id": "CN.5"}],
            "messages": [{"from_user_id": "CN.5", "id": "wamid.l4", "timestamp": "1700000009", "type": "text", "text": {"body": "hello 世界"}}]}));
        HOOKS.meta(&server, &other).await;
        HOOKS.meta(&server, &echo("wamid.l5", 1_700_000_004, "sent from the phone")).await;

        let listed = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({})).await;
        assert_eq!(listed.code(), 0, "{}", listed.body);
        let items = listed.data()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["customer"], json!({"waId": null, "userId": "CN.5", "name": "Anon"}), "newest activity first");
        assert_eq!(items[1]["customer"]["waId"], CUSTOMER);
        assert_eq!(items[1]["unreadCount"], 3);
        assert_eq!(items[1]["state"], "open");
        assert_eq!(items[1]["phoneNumberId"], ALPHA_NUMBER);
        assert_eq!(items[1]["lastMessageAt"], 1_700_000_004_000_i64);
        assert_eq!(listed.data()["nextCursor"], Value::Null);
        // The preview line: the newest message by its time (the echo), as text.
        assert_eq!(items[1]["lastMessage"], json!({"direction": "outbound", "type": "text", "text": "sent from the phone", "status": "sent"}));
        assert_eq!(items[0]["lastMessage"], json!({"direction": "inbound", "type": "text", "text": "hello 世界", "status": null}));
        let first_contact = items[1]["firstContactAt"].as_i64().expect("firstContactAt");
        assert!(first_contact > 1_700_000_000_000 && first_contact <= items[0]["firstContactAt"].as_i64().unwrap(), "{first_contact}");
        // Pages, search (Chinese text too) and filters.
        let page = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({"limit": 1})).await;
        assert_eq!(page.data()["items"][0]["id"], items[0]["id"]);
        let cursor = page.data()["nextCursor"].as_str().expect("a next page").to_owned();
        let page = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({"limit": 1, "cursor": cursor})).await;
        assert_eq!(page.data()["items"][0]["id"], items[1]["id"]);
        // Bad paging input is refused with the field named, not silently read as "from the start".
        for (path, body, field, code) in [
            ("/inbox/conversations/list", json!({"limit": 0}), "limit", "range"),
            ("/inbox/conversations/list", json!({"limit": 1, "cursor": "not-a-cursor"}), "cursor", "invalid"),
            ("/inbox/messages/list", json!({"conversationId": items[1]["id"], "before": "x:y"}), "before", "invalid"),
        ] {
            let refused = server.post_as(&alpha_client, path, &body).await;
            assert_eq!(refused.code(), 40000, "{path} {body}: {}", refused.body);
            assert_eq!(refused.field_errors(), [(field.to_owned(), code.to_owned())], "{}", refused.body);
        }
        let found = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({"query": "世界"})).await;
        assert_eq!(found.data()["items"].as_array().unwrap().len(), 1);
        assert_eq!(found.data()["items"][0]["id"], items[0]["id"]);
        let found = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({"query": "zoË"})).await;
        assert_eq!(found.data()["items"].as_array().unwrap().len(), 1, "{}", found.body);
        let mine = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({"filter": "mine"})).await;
        assert_eq!(mine.data()["items"], json!([]));
        let unassigned = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({"filter": "unassigned", "state": "open"})).await;
        assert_eq!(unassigned.data()["items"].as_array().unwrap().len(), 2);
        let resolved = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({"state": "resolved"})).await;
        assert_eq!(resolved.data()["items"], json!([]));

        let conversation_id = items[1]["id"].as_str().unwrap().to_owned();
        let messages = server.post_as(&alpha_client, "/inbox/messages/list", &json!({"conversationId": conversation_id})).await;
        assert_eq!(messages.code(), 0, "{}", messages.body);
        let list = messages.data()["items"].as_array().unwrap().clone();
        let wamids: Vec<&str> = list.iter().map(|item| item["wamid"].as_str().unwrap()).collect();
        assert_eq!(wamids, ["wamid.l1", "wamid.l2", "wamid.l3", "wamid.l5"], "oldest first");
        assert_eq!(list[0]["text"], "first <b>not markup</b>");
        assert_eq!((list[0]["direction"].clone(), list[0]["origin"].clone(), list[0]["type"].clone()), (json!("inbound"), json!("customer"), json!("text")));
        assert_eq!(list[1]["media"], json!({"id": null, "sizeBytes": null, "fileName": "Façade.pdf", "mimeType": "application/pdf", "caption": null, "available": true}));
        assert_eq!(list[2]["media"]["available"], false, "media unavailable, not a broken image");
        assert_eq!(list[2]["error"]["code"], "131052");
        assert_eq!((list[3]["origin"].clone(), list[3]["status"].clone()), (json!("phone"), json!("sent")));
        // Paging back.
        let newest = server.post_as(&alpha_client, "/inbox/messages/list", &json!({"conversationId": conversation_id, "limit": 2})).await;
        let newest_wamids: Vec<&str> = newest.data()["items"].as_array().unwrap().iter().map(|item| item["wamid"].as_str().unwrap()).collect();
        assert_eq!(newest_wamids, ["wamid.l3", "wamid.l5"]);
        let before = newest.data()["nextCursor"].as_str().unwrap().to_owned();
        let older = server.post_as(&alpha_client, "/inbox/messages/list", &json!({"conversationId": conversation_id, "limit": 2, "before": before})).await;
        let older_wamids: Vec<&str> = older.data()["items"].as_array().unwrap().iter().map(|item| item["wamid"].as_str().unwrap()).collect();
        assert_eq!(older_wamids, ["wamid.l1", "wamid.l2"]);
        assert_eq!(older.data()["nextCursor"], Value::Null);

        // Bravo sees none of it, and alpha's conversation is not found for bravo.
        let bravo_list = server.post_as(&bravo, "/inbox/conversations/list", &json!({})).await;
        assert_eq!(bravo_list.data()["items"], json!([]));
        let stolen = server.post_as(&bravo, "/inbox/messages/list", &json!({"conversationId": conversation_id})).await;
        stolen.assert_error(404, api_types::ErrorCode::NotFound);
        let logged_out = server.post_as(&new_client(), "/inbox/conversations/list", &json!({})).await;
        logged_out.assert_error(401, api_types::ErrorCode::Unauthorized);
        let document = server.get("/intwa-api/openapi.json").await;
        for route in ["/intwa-api/inbox/conversations/list", "/intwa-api/inbox/messages/list"] {
            assert!(document.body["paths"].get(route).is_some(), "{route} is documented");
        }
        // A long text is cut to 120 characters (not bytes), a document shows its file name.
        let long = "长".repeat(130);
        HOOKS.meta(&server, &inbound("Zoë", vec![message("wamid.l6", 1_700_000_010, "text", json!({"body": long}))])).await;
        let listed = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({})).await;
        assert_eq!(listed.data()["items"][0]["lastMessage"]["text"], "长".repeat(120));
        HOOKS.meta(&server, &inbound("Zoë", vec![message("wamid.l7", 1_700_000_011, "document",
            json!({"id": "d2", "filename": "Relevé.pdf", "mime_type": "application/pdf"}))])).await;
        let listed = server.post_as(&alpha_client, "/inbox/conversations/list", &json!({})).await;
        assert_eq!(listed.data()["items"][0]["lastMessage"]["type"], "document");
        assert_eq!(listed.data()["items"][0]["lastMessage"]["text"], "Relevé.pdf");
    }
}
