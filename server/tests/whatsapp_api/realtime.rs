//! The inbox's real time over real HTTP (issue 9 "Real time"): `GET /intwa-api/inbox/events`
//! streams what signed webhooks and agents change, replays what a reconnecting browser missed,
//! keeps an idle stream alive, shows each account only its own events, reaches streams on
//! another server sharing the PostgreSQL database; and assign / resolve / reopen.

use serde_json::{json, Value};

use crate::both_stores;
use crate::common::*;
use crate::event_stream::{EventStream, Sse};
use crate::support::*;

const APP_SECRET: &str = "realtime-app-secret";
const HOOKS: SignedWebhooks = SignedWebhooks { meta_app_secret: APP_SECRET, ycloud_secret: "realtime-ycloud-secret" };

const ALPHA_WABA: &str = "6100000000000001";
const ALPHA_NUMBER: &str = "6200000000000001";
const ALPHA_DISPLAY: &str = "8613300006161";
const BRAVO_WABA: &str = "7100000000000001";
const BRAVO_NUMBER: &str = "7200000000000001";
const BRAVO_DISPLAY: &str = "8613300007171";

const CUSTOMER: &str = "8613800138000";

fn with_secrets(settings: &mut wadesk_server::Settings) {
    settings.meta_app_secret = Some(APP_SECRET.to_owned());
}

/// Bind a number to the client's account, and wait until the sandbox has connected it and said
/// so (its status events are over before a test's own).
async fn bind(server: &TestServer, client: &reqwest::Client, account: &str, waba: &str, number: &str, display: &str) {
    let mut events = stream(server, client).await;
    let bound = server
        .post_as(client, "/whatsapp/account/bind", &json!({"accountName": account, "wabaId": waba,
            "phoneNumberId": number, "phoneNumber": display}))
        .await;
    assert_eq!(bound.code(), 0, "{}", bound.body);
    events.next_matching("number", |data| data["number"]["phoneNumberId"] == number && data["number"]["status"] == "CONNECTED").await;
}

/// The seeded account (admin) holding ALPHA_NUMBER.
async fn alpha(server: &TestServer) -> reqwest::Client {
    let admin = server.admin_client().await;
    bind(server, &admin, ADMIN_ACCOUNT, ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY).await;
    admin
}

/// Another account, bravo, holding BRAVO_NUMBER.
async fn bravo(server: &TestServer) -> reqwest::Client {
    let (client, _) = server.signup("bravo", "owner@bravo.example").await;
    bind(server, &client, "bravo", BRAVO_WABA, BRAVO_NUMBER, BRAVO_DISPLAY).await;
    client
}

fn delivery(waba: &str, number: &str, display: &str, field: &str, mut value: Value) -> Value {
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": display, "phone_number_id": number});
    json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{"field": field, "value": value}]}]})
}

/// A text from CUSTOMER to ALPHA_NUMBER.
fn text_to_alpha(wamid: &str, seconds: i64, body: &str) -> Value {
    text_to(ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY, wamid, seconds, body)
}

fn text_to(waba: &str, number: &str, display: &str, wamid: &str, seconds: i64, body: &str) -> Value {
    delivery(waba, number, display, "messages", json!({"contacts": [{"profile": {"name": "Zoë"}, "wa_id": CUSTOMER}],
        "messages": [{"from": CUSTOMER, "id": wamid, "timestamp": seconds.to_string(), "type": "text", "text": {"body": body}}]}))
}

fn events_url(server: &TestServer) -> String {
    server.api_url("/inbox/events")
}

async fn stream(server: &TestServer, client: &reqwest::Client) -> EventStream {
    let stream = EventStream::open(client, &events_url(server), None).await;
    assert_eq!(stream.status.as_u16(), 200);
    stream
}

async fn user_id(server: &TestServer, client: &reqwest::Client) -> String {
    server.post_as(client, "/auth/me", &json!({})).await.data()["id"].as_str().unwrap().to_owned()
}

both_stores! {
    async fn a_customer_message_reaches_an_open_stream_live(server, with_secrets) {
        let admin = alpha(&server).await;
        let mut events = stream(&server, &admin).await;
        assert!(events.headers["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        assert!(events.headers.get("content-encoding").is_none(), "an event stream is never compressed");

        assert_eq!(HOOKS.meta(&server, &text_to_alpha("wamid.live", 1_700_000_001, "Hello 你好")).await, "processed");
        let message = events.next_event().await;
        assert_eq!(message.name, "message");
        assert_eq!(message.data["id"], message.id.as_str(), "the SSE id is the event's id");
        assert_eq!(message.data["kind"], "message");
        assert_eq!(message.data["message"]["wamid"], "wamid.live");
        assert_eq!(message.data["message"]["text"], "Hello 你好");
        assert_eq!(message.data["message"]["direction"], "inbound");
        let conversation_id = message.data["conversationId"].as_str().unwrap().to_owned();
        assert_eq!(message.data["message"]["conversationId"], conversation_id.as_str());

        let conversation = events.next_event().await;
        assert_eq!(conversation.name, "conversation");
        assert_eq!(conversation.id.parse::<i64>().unwrap(), message.id.parse::<i64>().unwrap() + 1);
        assert_eq!(conversation.data["conversation"]["id"], conversation_id.as_str());
        assert_eq!(conversation.data["conversation"]["unreadCount"], 1);
        assert_eq!(conversation.data["conversation"]["customer"]["name"], "Zoë");

        // Documented as what it is.
        let document = server.get("/intwa-api/openapi.json").await.body;
        let operation = &document["paths"]["/intwa-api/inbox/events"]["get"];
        assert!(operation["responses"]["200"]["content"]["text/event-stream"].is_object(), "{operation}");
        for path in ["assign", "resolve", "reopen"] {
            assert!(document["paths"][format!("/intwa-api/inbox/conversations/{path}")]["post"].is_object(), "{path}");
        }

        // A redelivery changes nothing and says nothing: the next event is the next message's.
        assert_eq!(HOOKS.meta(&server, &text_to_alpha("wamid.live", 1_700_000_001, "Hello 你好")).await, "duplicate");
        let mut redelivered = text_to_alpha("wamid.live", 1_700_000_001, "Hello 你好");
        redelivered["entry"][0]["changes"][0]["value"]["sandbox_note"] = json!("same message, another body");
        assert_eq!(HOOKS.meta(&server, &redelivered).await, "processed");
        HOOKS.meta(&server, &text_to_alpha("wamid.next", 1_700_000_002, "Second")).await;
        let next = events.next_event().await;
        assert_eq!(next.data["message"]["wamid"], "wamid.next");
        assert_eq!(events.next_event().await.data["conversation"]["unreadCount"], 2);
    }

    async fn replay_from_the_last_event_id_returns_exactly_the_missed_events_in_order(server, with_secrets) {
        let admin = alpha(&server).await;
        let mut first = stream(&server, &admin).await;
        HOOKS.meta(&server, &text_to_alpha("wamid.r1", 1_700_000_001, "one")).await;
        first.next_event().await;
        let seen = first.next_event().await;
        drop(first);

        HOOKS.meta(&server, &text_to_alpha("wamid.r2", 1_700_000_002, "two")).await;
        HOOKS.meta(&server, &text_to_alpha("wamid.r3", 1_700_000_003, "three")).await;
        let expected = |events: &[crate::event_stream::InboxEvent]| {
            let shown: Vec<(String, String, Value)> = events
                .iter()
                .map(|event| (event.id.clone(), event.name.clone(), event.data["message"]["wamid"].clone()))
                .collect();
            let base: i64 = seen.id.parse().unwrap();
            let want: Vec<(String, String, Value)> = vec![
                ((base + 1).to_string(), "message".to_owned(), json!("wamid.r2")),
                ((base + 2).to_string(), "conversation".to_owned(), Value::Null),
                ((base + 3).to_string(), "message".to_owned(), json!("wamid.r3")),
                ((base + 4).to_string(), "conversation".to_owned(), Value::Null),
            ];
            assert_eq!(shown, want);
        };

        // A reconnecting browser (Last-Event-ID), then live events on the same stream.
        let mut resumed = EventStream::open(&admin, &events_url(&server), Some(&seen.id)).await;
        let mut missed = Vec::new();
        for _ in 0..4 {
            missed.push(resumed.next_event().await);
        }
        expected(&missed);
        HOOKS.meta(&server, &text_to_alpha("wamid.r4", 1_700_000_004, "four")).await;
        assert_eq!(resumed.next_event().await.data["message"]["wamid"], "wamid.r4");

        // A page load resuming from the id it rendered with (lastEventId), the same.
        let url = format!("{}?lastEventId={}", events_url(&server), seen.id);
        let mut loaded = EventStream::open(&admin, &url, None).await;
        let mut missed = Vec::new();
        for _ in 0..4 {
            missed.push(loaded.next_event().await);
        }
        expected(&missed);

        // An id that is not one: a field error, not a stream.
        let bad = EventStream::open(&admin, &events_url(&server), Some("yesterday")).await;
        assert_eq!(bad.status.as_u16(), 400);

        // Events pruned before the browser came back: it is told to reload, from the latest id.
        let db = database(&server).await;
        let pruned = wadesk_server::realtime::prune_events(&db, wadesk_server::db::now_millis() + 1).await.unwrap();
        assert!(pruned >= 9, "pruned {pruned}");
        let mut late = EventStream::open(&admin, &events_url(&server), Some(&seen.id)).await;
        let reset = late.next_event().await;
        assert_eq!(reset.name, "reset");
        assert_eq!(reset.data["kind"], "reset");
        assert_eq!(reset.id.parse::<i64>().unwrap(), seen.id.parse::<i64>().unwrap() + 6, "the reset names the latest id");
        HOOKS.meta(&server, &text_to_alpha("wamid.r5", 1_700_000_005, "five")).await;
        let after_reset = late.next_event().await;
        assert_eq!(after_reset.data["message"]["wamid"], "wamid.r5");
        assert_eq!(after_reset.id.parse::<i64>().unwrap(), reset.id.parse::<i64>().unwrap() + 1);
    }

    async fn a_customer_merge_removes_one_conversation_and_updates_the_other(server, with_secrets) {
        let admin = alpha(&server).await;
        let from = |contact: Value, message: Value| {
            delivery(ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY, "messages", json!({"contacts": [contact], "messages": [message]}))
        };
        HOOKS.meta(&server, &from(json!({"profile": {"name": "Nameless"}, "user_id": "CN.42"}),
            json!({"from_user_id": "CN.42", "id": "wamid.m1", "timestamp": "1700000001", "type": "text", "text": {"body": "one"}}))).await;
        HOOKS.meta(&server, &text_to_alpha("wamid.m2", 1_700_000_002, "two")).await;
        let listed = server.post_as(&admin, "/inbox/conversations/list", &json!({})).await;
        let by_number = listed.data()["items"][0]["id"].as_str().unwrap().to_owned();
        let by_user_id = listed.data()["items"][1]["id"].as_str().unwrap().to_owned();
        assert_eq!(listed.data()["items"][1]["customer"]["userId"], "CN.42");
        let mut events = stream(&server, &admin).await;

        HOOKS.meta(&server, &from(json!({"profile": {"name": "Wang Fang"}, "wa_id": CUSTOMER, "user_id": "CN.42"}),
            json!({"from": CUSTOMER, "from_user_id": "CN.42", "id": "wamid.m3", "timestamp": "1700000003", "type": "text", "text": {"body": "three"}}))).await;
        let removed = events.next_event().await;
        assert_eq!(removed.name, "conversationRemoved");
        assert_eq!(removed.data["conversationId"], by_user_id.as_str());
        assert_eq!(removed.data["mergedInto"], by_number.as_str());
        let message = events.next_event().await;
        assert_eq!((message.name.as_str(), &message.data["message"]["wamid"]), ("message", &json!("wamid.m3")));
        assert_eq!(message.data["conversationId"], by_number.as_str());
        let kept = events.next_event().await;
        assert_eq!(kept.data["conversation"]["id"], by_number.as_str());
        assert_eq!(kept.data["conversation"]["customer"], json!({"waId": CUSTOMER, "userId": "CN.42", "name": "Wang Fang"}));
        assert_eq!(kept.data["conversation"]["unreadCount"], 3);

        // The same customer again, by user id only, with a new name: their conversation changes.
        HOOKS.meta(&server, &from(json!({"profile": {"name": "Fang"}, "user_id": "CN.42"}),
            json!({"from_user_id": "CN.42", "id": "wamid.m4", "timestamp": "1700000004", "type": "text", "text": {"body": "four"}}))).await;
        assert_eq!(events.next_event().await.data["message"]["wamid"], "wamid.m4");
        let renamed = events.next_event().await;
        assert_eq!(renamed.data["conversation"]["customer"]["name"], "Fang");
    }

    async fn a_user_of_another_account_gets_nothing_of_it(server, with_secrets) {
        let admin = alpha(&server).await;
        let other = bravo(&server).await;
        let mut alpha_events = stream(&server, &admin).await;
        let mut bravo_events = stream(&server, &other).await;

        HOOKS.meta(&server, &text_to_alpha("wamid.for-alpha", 1_700_000_001, "alpha's")).await;
        HOOKS.meta(&server, &text_to(BRAVO_WABA, BRAVO_NUMBER, BRAVO_DISPLAY, "wamid.for-bravo", 1_700_000_002, "bravo's")).await;
        // Bravo's first event is its own message: alpha's, committed before it, never came.
        let first = bravo_events.next_event().await;
        assert_eq!(first.data["message"]["wamid"], "wamid.for-bravo");
        assert_eq!(bravo_events.next_event().await.data["conversation"]["phoneNumberId"], BRAVO_NUMBER);
        assert_eq!(alpha_events.next_event().await.data["message"]["wamid"], "wamid.for-alpha");

        // Nor by replay: another account's ids say nothing about this one's.
        let mut replayed = EventStream::open(&other, &events_url(&server), Some("0")).await;
        let first_message = replayed.next_matching("message", |_| true).await;
        assert_eq!(first_message.data["message"]["wamid"], "wamid.for-bravo");

        // Not logged in: 401 in JSON, no stream.
        let anonymous = EventStream::open(&new_client(), &events_url(&server), None).await;
        assert_eq!(anonymous.status.as_u16(), 401);
    }

    async fn heartbeats_keep_an_idle_stream_open_until_its_session_ends(server, |settings: &mut wadesk_server::Settings| {
        settings.events_heartbeat_ms = 50;
    }) {
        let admin = server.admin_client().await;
        let mut events = stream(&server, &admin).await;
        for _ in 0..2 {
            assert_eq!(events.next_within(SETTLE).await, Some(Sse::Comment("heartbeat".to_owned())));
        }
        server.post_as(&admin, "/auth/logout", &json!({})).await.data();
        // The next heartbeat finds the session gone and ends the stream.
        let deadline = std::time::Instant::now() + SETTLE;
        loop {
            match events.next_within(SETTLE).await {
                None => break,
                Some(Sse::Comment(_)) => assert!(std::time::Instant::now() < deadline, "the stream outlived its session"),
                Some(other) => panic!("unexpected {other:?}"),
            }
        }
    }

    async fn assign_resolve_and_reopen_change_the_conversation_on_every_screen(server, with_secrets) {
        let admin = alpha(&server).await;
        let agent = agent_client(&server).await;
        let agent_id = user_id(&server, &agent).await;
        let other = bravo(&server).await;
        let outsider_id = user_id(&server, &other).await;
        HOOKS.meta(&server, &text_to_alpha("wamid.assign", 1_700_000_001, "help")).await;
        let listed = server.post_as(&admin, "/inbox/conversations/list", &json!({})).await;
        let conversation_id = listed.data()["items"][0]["id"].as_str().unwrap().to_owned();
        let conversation = json!({"conversationId": conversation_id});
        let mut agent_events = stream(&server, &agent).await;

        // Assigned to the agent: the answer and the agent's screen say so.
        let assigned = server.post_as(&admin, "/inbox/conversations/assign", &json!({"conversationId": conversation_id, "userId": agent_id})).await;
        assert_eq!(assigned.data()["assigneeUserId"], agent_id.as_str());
        assert_eq!(assigned.data()["id"], conversation_id.as_str());
        let event = agent_events.next_event().await;
        assert_eq!(event.name, "conversation");
        assert_eq!(event.data["conversation"], *assigned.data());
        let mine = server.post_as(&agent, "/inbox/conversations/list", &json!({"filter": "mine"})).await;
        assert_eq!(mine.data()["items"].as_array().unwrap().len(), 1);

        // Only users of the account can be assigned.
        for (stranger, problem) in [(outsider_id.as_str(), "unknown"), ("no-such-user", "unknown"), ("nul\u{0}id", "invalid")] {
            let refused = server.post_as(&admin, "/inbox/conversations/assign", &json!({"conversationId": conversation_id, "userId": stranger})).await;
            refused.assert_error(400, api_types::ErrorCode::Validation);
            assert_eq!(refused.field_errors(), vec![("userId".to_owned(), problem.to_owned())]);
        }

        // Resolved, then resolved again (harmless: the same answer, no event), then reopened.
        let resolved = server.post_as(&agent, "/inbox/conversations/resolve", &conversation).await;
        assert_eq!(resolved.data()["state"], "resolved");
        assert_eq!(agent_events.next_event().await.data["conversation"]["state"], "resolved");
        let again = server.post_as(&agent, "/inbox/conversations/resolve", &conversation).await;
        assert_eq!(again.data(), resolved.data());
        let reopened = server.post_as(&agent, "/inbox/conversations/reopen", &conversation).await;
        assert_eq!(reopened.data()["state"], "open");
        let event = agent_events.next_event().await;
        assert_eq!(event.data["conversation"]["state"], "open", "resolving twice made one event");
        assert_eq!(server.post_as(&agent, "/inbox/conversations/reopen", &conversation).await.data(), reopened.data());

        // Unassigned.
        let unassigned = server.post_as(&admin, "/inbox/conversations/assign", &json!({"conversationId": conversation_id, "userId": null})).await;
        assert_eq!(unassigned.data()["assigneeUserId"], Value::Null);
        assert_eq!(agent_events.next_event().await.data["conversation"]["assigneeUserId"], Value::Null);

        // Another account can change nothing: 404, as for a conversation that does not exist.
        let mut other_events = stream(&server, &other).await;
        for (path, body) in [
            ("/inbox/conversations/assign", json!({"conversationId": conversation_id, "userId": outsider_id})),
            ("/inbox/conversations/assign", json!({"conversationId": conversation_id, "userId": null})),
            ("/inbox/conversations/resolve", conversation.clone()),
            ("/inbox/conversations/reopen", conversation.clone()),
            ("/inbox/conversations/resolve", json!({"conversationId": "no-such-conversation"})),
        ] {
            server.post_as(&other, path, &body).await.assert_error(404, api_types::ErrorCode::NotFound);
        }
        let unchanged = server.post_as(&admin, "/inbox/conversations/list", &json!({})).await;
        assert_eq!(unchanged.data()["items"][0], *unassigned.data());
        let missing = server.post_as(&admin, "/inbox/conversations/resolve", &json!({})).await;
        missing.assert_error(400, api_types::ErrorCode::Validation);

        // Neither screen heard of the refused changes: the next events are this new message's.
        HOOKS.meta(&server, &text_to(BRAVO_WABA, BRAVO_NUMBER, BRAVO_DISPLAY, "wamid.bravo", 1_700_000_002, "hi")).await;
        HOOKS.meta(&server, &text_to_alpha("wamid.after", 1_700_000_003, "again")).await;
        assert_eq!(agent_events.next_event().await.data["message"]["wamid"], "wamid.after");
        assert_eq!(other_events.next_event().await.data["message"]["wamid"], "wamid.bravo");
    }

    async fn a_status_webhook_brings_the_message_with_its_new_status(server, with_secrets) {
        let admin = alpha(&server).await;
        let mut events = stream(&server, &admin).await;
        let echo = delivery(ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY, "smb_message_echoes", json!({"message_echoes": [{
            "from": ALPHA_DISPLAY, "to": CUSTOMER, "id": "wamid.out", "timestamp": "1700000001", "type": "text", "text": {"body": "From the phone"}}]}));
        HOOKS.meta(&server, &echo).await;
        let sent = events.next_matching("message", |_| true).await;
        assert_eq!(sent.data["message"]["status"], "sent");
        assert_eq!(sent.data["message"]["origin"], "phone");
        events.next_matching("conversation", |_| true).await;

        let status = |state: &str, seconds: i64| {
            delivery(ALPHA_WABA, ALPHA_NUMBER, ALPHA_DISPLAY, "messages", json!({"statuses": [{"id": "wamid.out",
                "status": state, "timestamp": seconds.to_string(), "recipient_id": CUSTOMER}]}))
        };
        HOOKS.meta(&server, &status("read", 1_700_000_003)).await;
        let read = events.next_event().await;
        assert_eq!(read.name, "message");
        assert_eq!(read.data["message"]["wamid"], "wamid.out");
        assert_eq!(read.data["message"]["status"], "read");
        // A late "delivered" moves nothing back and says nothing.
        HOOKS.meta(&server, &status("delivered", 1_700_000_002)).await;
        HOOKS.meta(&server, &text_to_alpha("wamid.in", 1_700_000_004, "thanks")).await;
        assert_eq!(events.next_event().await.data["message"]["wamid"], "wamid.in");
    }

    async fn a_numbers_changes_reach_the_numbers_page(server, with_secrets) {
        let admin = server.admin_client().await;
        let other = bravo(&server).await;
        let mut events = stream(&server, &admin).await;
        let mut other_events = stream(&server, &other).await;
        let bound = server
            .post_as(&admin, "/whatsapp/account/bind", &json!({"accountName": ADMIN_ACCOUNT, "wabaId": ALPHA_WABA,
                "phoneNumberId": ALPHA_NUMBER, "phoneNumber": ALPHA_DISPLAY}))
            .await;
        assert_eq!(bound.code(), 0, "{}", bound.body);
        let pending = events.next_event().await;
        assert_eq!(pending.name, "number");
        assert_eq!(pending.data["number"]["phoneNumberId"], ALPHA_NUMBER);
        assert_eq!(pending.data["number"]["status"], "PENDING");
        // The sandbox connects it a moment later, as Meta would tell by webhook.
        let connected = events.next_event().await;
        assert_eq!(connected.data["number"]["status"], "CONNECTED");

        // WhatsApp flags the number: the event carries what the Numbers page shows.
        let flagged = json!({"object": "whatsapp_business_account", "entry": [{"id": ALPHA_WABA, "changes": [{
            "field": "phone_number_quality_update", "value": {"display_phone_number": ALPHA_DISPLAY,
            "event": "FLAGGED", "current_limit": "TIER_1K", "max_daily_conversations_per_business": "TIER_2K"}}]}]});
        assert_eq!(HOOKS.meta(&server, &flagged).await, "processed");
        let event = events.next_event().await;
        assert_eq!(event.name, "number");
        assert_eq!(event.data["number"]["status"], "FLAGGED");
        assert_eq!(event.data["number"]["messageLimit"], "TIER_2K");
        let shown = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": ALPHA_NUMBER})).await;
        assert_eq!(event.data["number"], *shown.data(), "the event is the number as numbers/get shows it");

        server.post_as(&admin, "/whatsapp/numbers/remove", &json!({"phoneNumberId": ALPHA_NUMBER})).await.data();
        let removed = events.next_event().await;
        assert_eq!(removed.name, "numberRemoved");
        assert_eq!(removed.data["phoneNumberId"], ALPHA_NUMBER);

        // Bravo saw none of it: its first event is about its own number.
        server.post_as(&other, "/whatsapp/numbers/remove", &json!({"phoneNumberId": BRAVO_NUMBER})).await.data();
        let own = other_events.next_event().await;
        assert_eq!((own.name.as_str(), &own.data["phoneNumberId"]), ("numberRemoved", &json!(BRAVO_NUMBER)));
    }
}

/// A second server on the test server's PostgreSQL database, with a client logged in as the
/// seeded admin there.
async fn second_server(server: &TestServer) -> (wadesk_server::RunningServer, reqwest::Client) {
    let settings = wadesk_server::Settings::for_tests(&server.database_url, server.dist.clone());
    let running = wadesk_server::start(settings).await.expect("the second server starts");
    let client = new_client();
    let login = client
        .post(format!("{}/intwa-api/auth/login", running.url()))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 200);
    (running, client)
}

#[tokio::test]
async fn an_event_raised_on_one_server_reaches_a_stream_on_another() {
    let Some(server) = TestServer::start(Store::Postgres, with_secrets).await else { return };
    let admin = alpha(&server).await;
    let (other_server, other_admin) = second_server(&server).await;
    let mut events = EventStream::open(&other_admin, &format!("{}/intwa-api/inbox/events", other_server.url()), None).await;
    assert_eq!(events.status.as_u16(), 200);

    HOOKS.meta(&server, &text_to_alpha("wamid.elsewhere", 1_700_000_001, "to server A")).await;
    let message = events.next_event().await;
    assert_eq!(message.data["message"]["wamid"], "wamid.elsewhere");
    let conversation = events.next_event().await;
    let conversation_id = conversation.data["conversation"]["id"].as_str().unwrap().to_owned();

    // The listeners' connections drop: they reconnect, and streams read what they may have missed.
    let db = database(&server).await;
    let killed: i64 = sqlx::Row::try_get(
        &sqlx::query(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        )
        .fetch_one(&db)
        .await
        .unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(killed, 2, "each server listens");
    let resolved = server.post_as(&admin, "/inbox/conversations/resolve", &json!({"conversationId": conversation_id})).await;
    assert_eq!(resolved.data()["state"], "resolved");
    let event = events.next_event().await;
    assert_eq!(event.data["conversation"]["state"], "resolved");
    other_server.shutdown().await;
}
