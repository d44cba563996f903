//! Webhooks over HTTP: Meta's and YCloud's signatures over the raw body, store-before-acknowledge,
//! unreadable bodies, duplicates, offboarding, quality updates, removed numbers.

use std::time::{Duration, Instant};

use api_types::ErrorCode;
use serde_json::{json, Value};
use wadesk_server::webhooks::signature::{meta_signature, ycloud_signature};

use crate::both_stores;
use crate::common::*;
use crate::support::*;

const APP_SECRET: &str = "test-app-secret";

fn with_secrets(settings: &mut wadesk_server::Settings) {
    settings.meta_app_secret = Some(APP_SECRET.to_owned());
    settings.ycloud_webhook_secrets = vec!["old-ycloud-secret".to_owned(), "new-ycloud-secret".to_owned()];
}

async fn post_raw(server: &TestServer, path: &str, body: &[u8], headers: &[(&str, String)]) -> Reply {
    let mut request = server.client.post(format!("{}{path}", server.url)).header("content-type", "application/json").body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    Reply::read(request.send().await.unwrap()).await
}

/// POST with one header sent once per value, as raw bytes (not necessarily ASCII).
async fn post_header_bytes(server: &TestServer, path: &str, body: &[u8], name: &str, values: &[Vec<u8>]) -> Reply {
    let mut request = server.client.post(format!("{}{path}", server.url)).header("content-type", "application/json").body(body.to_vec());
    for value in values {
        request = request.header(name, reqwest::header::HeaderValue::from_bytes(value).expect("a header value"));
    }
    Reply::read(request.send().await.unwrap()).await
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn post_meta(server: &TestServer, payload: &Value) -> Reply {
    let body = payload.to_string();
    post_raw(server, "/webhooks/meta", body.as_bytes(), &[("x-hub-signature-256", meta_signature(APP_SECRET, body.as_bytes()))]).await
}

fn meta_envelope(field: &str, value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": ACME_WABA, "changes": [{"field": field, "value": value}]}]})
}

fn body_hash(body: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(body))
}

async fn state_of_delivery(server: &TestServer, body: &[u8]) -> String {
    let db = database(server).await;
    let deadline = Instant::now() + SETTLE;
    loop {
        let state = text_of(&db, "SELECT state FROM webhook_events WHERE body_sha256 = $1 ORDER BY received_at", &body_hash(body)).await;
        match state.as_deref() {
            Some("pending") | None if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return state.unwrap_or_default(),
        }
    }
}

both_stores! {
    async fn meta_deliveries_are_checked_over_the_raw_body(server, with_secrets) {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let good = meta_signature(APP_SECRET, body);
        let accepted = post_raw(&server, "/webhooks/meta", body, &[("x-hub-signature-256", good.clone())]).await;
        assert_eq!(accepted.status, 200, "{}", accepted.body);
        // Stored before the acknowledgement went out.
        let db = database(&server).await;
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1", &body_hash(body)).await, 1);

        let tampered: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{}]}"#;
        post_raw(&server, "/webhooks/meta", tampered, &[("x-hub-signature-256", good.clone())]).await.assert_error(401, ErrorCode::Unauthorized);
        let wrong_key = meta_signature("another-secret", body);
        post_raw(&server, "/webhooks/meta", body, &[("x-hub-signature-256", wrong_key)]).await.assert_error(401, ErrorCode::Unauthorized);
        let missing = post_raw(&server, "/webhooks/meta", body, &[]).await;
        missing.assert_error(401, ErrorCode::Unauthorized);
        assert!(missing.message().contains("missing"), "{}", missing.message());
        post_raw(&server, "/webhooks/meta", body, &[("x-hub-signature-256", "sha256=zz".to_owned())]).await.assert_error(401, ErrorCode::Unauthorized);
        // Refused deliveries are not stored.
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1", &body_hash(tampered)).await, 0);
    }

    async fn without_an_app_secret_nothing_is_accepted(server) {
        let body = br#"{"entry":[]}"#;
        let reply = post_raw(&server, "/webhooks/meta", body, &[("x-hub-signature-256", meta_signature("guess", body))]).await;
        reply.assert_error(401, ErrorCode::Unauthorized);
    }

    async fn an_unreadable_body_is_stored_acknowledged_and_marked(server, with_secrets) {
        let body = b"{this is not json";
        let reply = post_raw(&server, "/webhooks/meta", body, &[("x-hub-signature-256", meta_signature(APP_SECRET, body))]).await;
        assert_eq!(reply.status, 200);
        assert_eq!(state_of_delivery(&server, body).await, "unprocessable");
    }

    async fn an_oversized_body_gets_a_json_413_from_both_providers(server, with_secrets) {
        let body = format!(r#"{{"entry":[],"padding":"{}"}}"#, "x".repeat(5 * 1024 * 1024));
        let signature = meta_signature(APP_SECRET, body.as_bytes());
        let meta = post_raw(&server, "/webhooks/meta", body.as_bytes(), &[("x-hub-signature-256", signature)]).await;
        meta.assert_error(413, ErrorCode::PayloadTooLarge);
        let ycloud = post_raw(&server, "/webhooks/ycloud", body.as_bytes(), &[]).await;
        ycloud.assert_error(413, ErrorCode::PayloadTooLarge);
    }

    async fn settled_deliveries_past_the_retention_are_pruned_pending_ones_kept(server) {
        let db = database(&server).await;
        let day_ms: i64 = 24 * 60 * 60 * 1000;
        let now = wadesk_server::db::now_millis();
        for (id, state, age_days) in [("old-done", "processed", 31), ("old-failed", "unprocessable", 40), ("old-pending", "pending", 45), ("recent-done", "processed", 29)] {
            sqlx::query("INSERT INTO webhook_events (id, provider, received_at, body, body_sha256, state) VALUES ($1, 'meta', $2, '{}', $3, $4)")
                .bind(id).bind(now - age_days * day_ms).bind(format!("hash-{id}")).bind(state)
                .execute(&db).await.unwrap();
        }
        let count = |id: &'static str| count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE id = $1", id);
        // A restart prunes at once; then every hour.
        let mut server = server;
        server.restart(|settings| settings.webhook_retention_days = 30).await;
        let deadline = Instant::now() + SETTLE;
        while count("old-done").await + count("old-failed").await > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!((count("old-done").await, count("old-failed").await), (0, 0), "settled deliveries past 30 days are gone");
        assert_eq!(count("old-pending").await, 1, "a pending delivery is kept whatever its age");
        assert_eq!(count("recent-done").await, 1, "a delivery within the retention is kept");
        server.restart(|settings| settings.webhook_retention_days = 0).await;
        server.get("/intwa-api/health").await.data();
        assert_eq!(count("recent-done").await, 1, "a retention of 0 keeps everything");
        server.stop().await;
    }

    async fn partner_removed_disconnects_and_quality_updates_apply(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        number_until(&server, &admin, ACME_NUMBER, "CONNECTED", |number| number["status"] == "CONNECTED").await;

        let quality = meta_envelope("phone_number_quality_update", json!({"display_phone_number": "15550100",
            "event": "FLAGGED", "current_limit": "TIER_1K", "max_daily_conversations_per_business": "TIER_2K"}));
        assert_eq!(post_meta(&server, &quality).await.status, 200);
        number_until(&server, &admin, ACME_NUMBER, "FLAGGED with TIER_2K", |number| {
            number["status"] == "FLAGGED" && number["messageLimit"] == "TIER_2K"
        })
        .await;

        let removed = meta_envelope("account_update", json!({"event": "PARTNER_REMOVED",
            "waba_info": {"waba_id": ACME_WABA, "owner_business_id": "3000000000000001"},
            "disconnection_info": {"reason": "PRIMARY_INACTIVITY"}}));
        assert_eq!(post_meta(&server, &removed).await.status, 200);
        let disconnected = number_until(&server, &admin, ACME_NUMBER, "DISCONNECTED", |number| number["status"] == "DISCONNECTED").await;
        assert_eq!(disconnected["disconnectReason"], "PRIMARY_INACTIVITY", "the number says why: {disconnected}");
    }

    async fn a_banned_waba_shows_disabled_until_whatsapp_reinstates_it(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let waba_status = async || {
            let wabas = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT})).await;
            wabas.data()[0]["wabaStatus"].as_str().unwrap_or_default().to_owned()
        };
        assert_eq!(waba_status().await, "APPROVED");
        let ban = |state: &str| meta_envelope("account_update", json!({"event": "DISABLED_UPDATE",
            "ban_info": {"waba_ban_state": [state], "waba_ban_date": "2026-11-25"}}));
        assert_eq!(post_meta(&server, &ban("SCHEDULE_FOR_DISABLE")).await.status, 200);
        assert_eq!(post_meta(&server, &ban("DISABLE")).await.status, 200);
        let deadline = Instant::now() + SETTLE;
        while waba_status().await != "DISABLED" {
            assert!(Instant::now() < deadline, "the ban never showed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(post_meta(&server, &ban("REINSTATE")).await.status, 200);
        while waba_status().await != "APPROVED" {
            assert!(Instant::now() < deadline, "the reinstatement never showed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn a_reconnected_number_no_longer_shows_why_it_was_disconnected(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        number_until(&server, &admin, ACME_NUMBER, "CONNECTED", |number| number["status"] == "CONNECTED").await;
        let connected = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": ACME_NUMBER})).await.data().clone();
        assert_eq!(connected["disconnectReason"], Value::Null);
        let uninstalled = meta_envelope("account_update", json!({"event": "PARTNER_APP_UNINSTALLED",
            "waba_info": {"waba_id": ACME_WABA, "owner_business_id": "3000000000000001"}}));
        assert_eq!(post_meta(&server, &uninstalled).await.status, 200);
        let disconnected = number_until(&server, &admin, ACME_NUMBER, "DISCONNECTED", |number| number["status"] == "DISCONNECTED").await;
        assert_eq!(disconnected["disconnectReason"], "PARTNER_APP_UNINSTALLED");
        // Connecting it again (Embedded Signup once more) clears the reason with the status.
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let again = number_until(&server, &admin, ACME_NUMBER, "CONNECTED again", |number| number["status"] == "CONNECTED").await;
        assert_eq!(again["disconnectReason"], Value::Null, "{again}");
    }

    async fn a_disconnected_app_number_connects_again_through_coexistence(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, BAKERY_WABA, BAKERY_NUMBER, "coexistence").await;
        number_until(&server, &admin, BAKERY_NUMBER, "CONNECTED", |number| number["status"] == "CONNECTED").await;
        let removed = meta_envelope("account_update", json!({"event": "PARTNER_REMOVED",
            "waba_info": {"waba_id": BAKERY_WABA}, "disconnection_info": {"reason": "PRIMARY_INACTIVITY"}}));
        assert_eq!(post_meta(&server, &removed).await.status, 200);
        number_until(&server, &admin, BAKERY_NUMBER, "DISCONNECTED", |number| number["disconnectReason"] == "PRIMARY_INACTIVITY").await;
        sign_up_number(&server, &admin, BAKERY_WABA, BAKERY_NUMBER, "coexistence").await;
        let again = number_until(&server, &admin, BAKERY_NUMBER, "CONNECTED again", |number| number["status"] == "CONNECTED").await;
        assert_eq!((again["origin"].as_str(), again["disconnectReason"].as_str()), (Some("coexistence"), None));
    }

    async fn a_redelivered_history_chunk_counts_once(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, BAKERY_WABA, BAKERY_NUMBER, "coexistence").await;
        let synced = number_until(&server, &admin, BAKERY_NUMBER, "history done", |number| number["sync"]["history"] == "COMPLETED").await;
        let before = synced["sync"]["historyMessagesImported"].as_u64().unwrap();
        let chunk = json!({"object": "whatsapp_business_account", "entry": [{"id": BAKERY_WABA, "changes": [{"field": "history", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550102", "phone_number_id": BAKERY_NUMBER},
            "history": [{"metadata": {"phase": 2, "chunk_order": 9, "progress": 100},
                "threads": [{"id": "14155550105", "messages": [{"id": "wamid.extra.1"}, {"id": "wamid.extra.2"}]}]}]}}]}]});
        let body = chunk.to_string();
        assert_eq!(post_meta(&server, &chunk).await.status, 200);
        assert_eq!(post_meta(&server, &chunk).await.status, 200);
        let db = database(&server).await;
        let deadline = Instant::now() + SETTLE;
        while count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1 AND state <> 'pending'", &body_hash(body.as_bytes())).await < 2 {
            assert!(Instant::now() < deadline, "the deliveries were never processed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let after = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": BAKERY_NUMBER})).await;
        assert_eq!(after.data()["sync"]["historyMessagesImported"].as_u64().unwrap(), before + 2);
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1 AND state = 'duplicate'", &body_hash(body.as_bytes())).await, 1);
    }

    async fn deliveries_for_a_removed_number_are_acknowledged_and_ignored(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        server.post_as(&admin, "/whatsapp/numbers/remove", &json!({"phoneNumberId": ACME_NUMBER})).await.data();
        let quality = meta_envelope("phone_number_quality_update", json!({"display_phone_number": "15550100", "event": "FLAGGED"}));
        let reply = post_meta(&server, &quality).await;
        assert_eq!(reply.status, 200);
        assert_eq!(state_of_delivery(&server, quality.to_string().as_bytes()).await, "ignored");
    }

    async fn ycloud_signatures_rotate_and_expire(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        number_until(&server, &admin, ACME_NUMBER, "CONNECTED", |number| number["status"] == "CONNECTED").await;
        let event = json!({"id": "evt_1", "type": "whatsapp.phone_number.quality_updated", "apiVersion": "v2",
            "createTime": "2026-11-25T00:00:00Z", "whatsappPhoneNumber": {"id": ACME_NUMBER, "wabaId": ACME_WABA,
            "qualityRating": "YELLOW", "messagingLimit": "TIER_1K", "status": "CONNECTED"}});
        let body = event.to_string();
        let now = unix_now();
        let signed = |secret: &str, at: i64| vec![("ycloud-signature", ycloud_signature(secret, at, body.as_bytes()))];

        let reply = post_raw(&server, "/webhooks/ycloud", body.as_bytes(), &signed("old-ycloud-secret", now)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        number_until(&server, &admin, ACME_NUMBER, "YELLOW", |number| number["qualityRating"] == "YELLOW").await;
        let reply = post_raw(&server, "/webhooks/ycloud", body.as_bytes(), &signed("new-ycloud-secret", now - 60)).await;
        assert_eq!(reply.status, 200);

        let stale = post_raw(&server, "/webhooks/ycloud", body.as_bytes(), &signed("new-ycloud-secret", now - 301)).await;
        stale.assert_error(401, ErrorCode::Unauthorized);
        assert!(stale.message().contains("too old"), "{}", stale.message());
        post_raw(&server, "/webhooks/ycloud", body.as_bytes(), &signed("retired-secret", now)).await.assert_error(401, ErrorCode::Unauthorized);
        post_raw(&server, "/webhooks/ycloud", body.as_bytes(), &[]).await.assert_error(401, ErrorCode::Unauthorized);
        let tampered = body.replace("YELLOW", "GREEN");
        post_raw(&server, "/webhooks/ycloud", tampered.as_bytes(), &signed("new-ycloud-secret", now)).await.assert_error(401, ErrorCode::Unauthorized);
    }

    async fn the_configured_verify_token_passes_the_handshake(server, |settings| settings.webhook_verify_token = Some("configured-token".to_owned())) {
        let url = format!("{}/webhooks/meta?hub.mode=subscribe&hub.verify_token=configured-token&hub.challenge=42", server.url);
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "42");
    }

    async fn a_meta_delivery_of_up_to_3_mb_is_stored_not_refused(server, with_secrets) {
        // Meta documents payloads of up to 3 MB; refusing one loses it, since every retry is as large.
        let padding = "x".repeat(2_990_000);
        let payload = json!({"object": "whatsapp_business_account", "entry": [], "padding": padding});
        let body = payload.to_string();
        assert!(body.len() > 2 * 1024 * 1024);
        let reply = post_meta(&server, &payload).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(state_of_delivery(&server, body.as_bytes()).await, "ignored");
    }

    async fn odd_but_valid_meta_payloads_are_stored_and_never_a_500(server, with_secrets) {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let wide = json!({"object": "whatsapp_business_account", "entry": (0..20_000).map(|i| json!({"id": i})).collect::<Vec<_>>()});
        let bodies: Vec<String> = vec![
            json!({"object": "whatsapp_business_account", "entry": []}).to_string(),
            json!({"object": "whatsapp_business_account", "entry": [{"id": 1000000000000001u64, "changes": [{"field": "phone_number_quality_update", "value": null}]}]}).to_string(),
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "no_such_field_yet", "value": {"x": [1, 2]}}]}]}).to_string(),
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": 42, "value": "text"}, null, 7]}]}).to_string(),
            json!({"object": "whatsapp_business_account", "entry": [null, 1, "x", {"changes": null}]}).to_string(),
            json!({"object": "whatsapp_business_account", "entry": "not an array"}).to_string(),
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "history", "value": {
                "metadata": {"phone_number_id": 2000000000000009u64}, "history": [{"metadata": {"phase": "1", "progress": 40.0, "chunk_order": "x"}, "threads": "none"}]}}]}]}).to_string(),
            json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "contacts": [{"profile": {"name": "Zoë 🌸 \u{202e}"}, "user_id": "US.1"}], "statuses": [{"id": "wamid.1", "status": "read", "timestamp": 1750857384}]}}]}]}).to_string(),
            deep,
            wide.to_string(),
            "null".to_owned(),
            "".to_owned(),
        ];
        for body in &bodies {
            let signature = meta_signature(APP_SECRET, body.as_bytes());
            let reply = post_raw(&server, "/webhooks/meta", body.as_bytes(), &[("x-hub-signature-256", signature)]).await;
            assert_eq!(reply.status, 200, "{} for {}", reply.body, &body[..body.len().min(200)]);
            let state = state_of_delivery(&server, body.as_bytes()).await;
            assert!(["ignored", "unprocessable"].contains(&state.as_str()), "{state} for {}", &body[..body.len().min(200)]);
        }
    }

    async fn a_nul_character_in_a_payload_does_not_hold_up_later_deliveries(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, BAKERY_WABA, BAKERY_NUMBER, "coexistence").await;
        number_until(&server, &admin, BAKERY_NUMBER, "contacts done", |number| number["sync"]["contacts"] == "COMPLETED").await;
        // JSON may carry NUL as \u0000; PostgreSQL text cannot hold it.
        let contacts = json!({"object": "whatsapp_business_account", "entry": [{"id": BAKERY_WABA, "changes": [{"field": "smb_app_state_sync", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550102", "phone_number_id": BAKERY_NUMBER},
            "state_sync": [{"type": "contact", "contact": {"full_name": "Nul\u{0}Name", "phone_number": "+1 555 0199"}, "action": "add",
                "metadata": {"timestamp": "1750857384"}}]}}]}]});
        assert_eq!(post_meta(&server, &contacts).await.status, 200);
        assert_eq!(state_of_delivery(&server, contacts.to_string().as_bytes()).await, "processed");
        let db = database(&server).await;
        assert_eq!(text_of(&db, "SELECT full_name FROM whatsapp_sync_contacts WHERE contact_phone = $1", "15550199").await.as_deref(), Some("NulName"));
        // And what comes next is applied.
        let quality = json!({"object": "whatsapp_business_account", "entry": [{"id": BAKERY_WABA, "changes": [{"field": "phone_number_quality_update",
            "value": {"display_phone_number": "15550102", "event": "FLAGGED", "max_daily_conversations_per_business": "TIER_2K"}}]}]});
        assert_eq!(post_meta(&server, &quality).await.status, 200);
        number_until(&server, &admin, BAKERY_NUMBER, "FLAGGED", |number| number["status"] == "FLAGGED").await;
    }

    async fn ycloud_timestamps_that_overflow_are_refused_not_a_crash(server, with_secrets) {
        let body = br#"{"id":"evt_x","type":"whatsapp.phone_number.quality_updated"}"#;
        for header in [
            ycloud_signature("new-ycloud-secret", i64::MIN, body),
            ycloud_signature("new-ycloud-secret", i64::MAX, body),
            "t=99999999999999999999999999,s=00".to_owned(),
            "t=abc,s=00".to_owned(),
            "t=,s=".to_owned(),
            ",,,".to_owned(),
        ] {
            let reply = post_raw(&server, "/webhooks/ycloud", body, &[("ycloud-signature", header.clone())]).await;
            reply.assert_error(401, ErrorCode::Unauthorized);
        }
        // Spaces inside the header are not YCloud's format: refused like any other malformed header.
        let now = unix_now();
        let signed = ycloud_signature("new-ycloud-secret", now, body);
        let spaced = signed.replace("t=", "t = ").replace(",s=", " , s = ");
        let reply = post_raw(&server, "/webhooks/ycloud", body, &[("ycloud-signature", spaced)]).await;
        reply.assert_error(401, ErrorCode::Unauthorized);
        assert_eq!(count_of(&database(&server).await, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1", &body_hash(body)).await, 0);
        let reply = post_raw(&server, "/webhooks/ycloud", body, &[("ycloud-signature", signed)]).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    async fn malformed_signature_headers_get_a_json_401_and_nothing_is_stored(server, with_secrets) {
        let body = br#"{"id":"evt_malformed","type":"whatsapp.phone_number.quality_updated"}"#;
        let now = unix_now();
        let meta = meta_signature(APP_SECRET, body);
        let meta_hex = meta.trim_start_matches("sha256=").to_owned();
        let ycloud = ycloud_signature("new-ycloud-secret", now, body);
        let ycloud_hex = ycloud.rsplit_once("s=").unwrap().1.to_owned();
        let non_ascii = |text: &str| [text.as_bytes(), b"\xe9"].concat();
        let meta_headers: Vec<Vec<Vec<u8>>> = vec![
            vec![meta.to_uppercase().into_bytes()],
            vec![format!("sha256={}", meta_hex.to_uppercase()).into_bytes()],
            vec![format!("sha256= {meta_hex}").into_bytes()],
            vec![format!("sha256={}", &meta_hex[..62]).into_bytes()],
            vec![format!("{meta}00").into_bytes()],
            vec![format!("{meta},{meta}").into_bytes()],
            vec![meta_hex.clone().into_bytes()],
            vec![b"sha256=".to_vec()],
            vec![non_ascii(&meta[..meta.len() - 1])],
            // The right header, sent twice.
            vec![meta.clone().into_bytes(), meta.clone().into_bytes()],
        ];
        let ycloud_headers: Vec<Vec<Vec<u8>>> = vec![
            vec![format!("t={now},s={}", ycloud_hex.to_uppercase()).into_bytes()],
            vec![format!("t={now}, s={ycloud_hex}").into_bytes()],
            vec![format!("t={now},t={now},s={ycloud_hex}").into_bytes()],
            vec![format!("t={now},s={ycloud_hex},s={ycloud_hex}").into_bytes()],
            vec![format!("t={now},s={ycloud_hex},v1={ycloud_hex}").into_bytes()],
            vec![format!("t={now}").into_bytes()],
            vec![format!("s={ycloud_hex}").into_bytes()],
            vec![format!("t={now},s={}", &ycloud_hex[..62]).into_bytes()],
            vec![format!("t=+{now},s={ycloud_hex}").into_bytes()],
            vec![b",".to_vec()],
            vec![non_ascii(&ycloud[..ycloud.len() - 1])],
            vec![ycloud.clone().into_bytes(), ycloud.clone().into_bytes()],
        ];
        let db = database(&server).await;
        let stored = async || count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE provider <> $1", "").await;
        let before = stored().await;
        for (path, name, headers) in [("/webhooks/meta", "x-hub-signature-256", &meta_headers), ("/webhooks/ycloud", "ycloud-signature", &ycloud_headers)] {
            for values in headers {
                let reply = post_header_bytes(&server, path, body, name, values).await;
                let shown = values.iter().map(|value| String::from_utf8_lossy(value).into_owned()).collect::<Vec<_>>();
                assert_eq!(reply.status, 401, "{path} {shown:?}: {}", reply.body);
                reply.assert_error(401, ErrorCode::Unauthorized);
                assert!(reply.message().contains("not in the expected format"), "{path} {shown:?}: {}", reply.message());
            }
        }
        assert_eq!(stored().await, before, "a refused delivery writes no webhook_events row");
        // The well-formed headers over the same body are accepted (the cases above differ only in form).
        assert_eq!(post_raw(&server, "/webhooks/meta", body, &[("x-hub-signature-256", meta)]).await.status, 200);
        assert_eq!(post_raw(&server, "/webhooks/ycloud", body, &[("ycloud-signature", ycloud)]).await.status, 200);
        assert_eq!(stored().await, before + 2);
    }

    async fn a_replayed_ycloud_delivery_is_stored_as_a_duplicate_and_changes_nothing(server, with_secrets) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        number_until(&server, &admin, ACME_NUMBER, "CONNECTED", |number| number["status"] == "CONNECTED").await;
        let quality = |id: &str, rating: &str| json!({"id": id, "type": "whatsapp.phone_number.quality_updated", "apiVersion": "v2",
            "createTime": "2026-11-25T00:00:00Z", "whatsappPhoneNumber": {"id": ACME_NUMBER, "wabaId": ACME_WABA,
            "qualityRating": rating, "messagingLimit": "TIER_1K", "status": "CONNECTED"}}).to_string();
        let yellow = quality("evt_replayed", "YELLOW");
        // The very same delivery (body and header) is what a replay or a retry sends.
        let header = vec![("ycloud-signature", ycloud_signature("new-ycloud-secret", unix_now(), yellow.as_bytes()))];
        assert_eq!(post_raw(&server, "/webhooks/ycloud", yellow.as_bytes(), &header).await.status, 200);
        number_until(&server, &admin, ACME_NUMBER, "YELLOW", |number| number["qualityRating"] == "YELLOW").await;
        let green = quality("evt_later", "GREEN");
        let signed = vec![("ycloud-signature", ycloud_signature("new-ycloud-secret", unix_now(), green.as_bytes()))];
        assert_eq!(post_raw(&server, "/webhooks/ycloud", green.as_bytes(), &signed).await.status, 200);
        number_until(&server, &admin, ACME_NUMBER, "GREEN", |number| number["qualityRating"] == "GREEN").await;

        let replay = post_raw(&server, "/webhooks/ycloud", yellow.as_bytes(), &header).await;
        assert_eq!(replay.status, 200, "a replay inside the window is acknowledged: {}", replay.body);
        let db = database(&server).await;
        let deadline = Instant::now() + SETTLE;
        while count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1 AND state <> 'pending'", &body_hash(yellow.as_bytes())).await < 2 {
            assert!(Instant::now() < deadline, "the replay was never processed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let hash = body_hash(yellow.as_bytes());
        let processed = count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1 AND state = 'processed'", &hash).await;
        let duplicate = count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE body_sha256 = $1 AND state = 'duplicate'", &hash).await;
        assert_eq!((processed, duplicate), (1, 1), "stored twice: once processed, once a duplicate");
        let number = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": ACME_NUMBER})).await.data().clone();
        assert_eq!(number["qualityRating"], "GREEN", "the replay did not put the older rating back: {number}");
    }

    async fn the_handshake_refuses_wrong_modes_and_tokens_with_json(server, |settings| settings.webhook_verify_token = Some("configured-token".to_owned())) {
        let get = |query: &'static str| {
            let url = format!("{}/webhooks/meta?{query}", server.url);
            let client = server.client.clone();
            async move { Reply::read(client.get(&url).send().await.unwrap()).await }
        };
        for query in [
            "hub.mode=unsubscribe&hub.verify_token=configured-token&hub.challenge=42",
            "hub.verify_token=configured-token&hub.challenge=42",
            "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42",
            "hub.mode=subscribe&hub.challenge=42",
            "hub.mode=subscribe&hub.verify_token=&hub.challenge=42",
            // NUL cannot be stored or compared by PostgreSQL: still a plain wrong token.
            "hub.mode=subscribe&hub.verify_token=%00&hub.challenge=42",
            "hub.mode=subscribe&hub.verify_token=configured-token%00&hub.challenge=42",
            "hub.mode=subscribe&hub.verify_token=%FF%FE&hub.challenge=42",
        ] {
            get(query).await.assert_error(403, ErrorCode::Forbidden);
        }
        let echoed = server.client
            .get(format!("{}/webhooks/meta?hub.mode=subscribe&hub.verify_token=configured-token&hub.challenge=%3Cb%3E%20caf%C3%A9%2B1", server.url))
            .send().await.unwrap();
        assert_eq!(echoed.status(), 200);
        assert!(echoed.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        assert_eq!(echoed.text().await.unwrap(), "<b> café+1");
    }

    async fn a_wrong_method_on_a_webhook_gets_a_json_405(server, with_secrets) {
        for (method, path) in [("GET", "/webhooks/ycloud"), ("PUT", "/webhooks/meta"), ("DELETE", "/webhooks/ycloud")] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let response = server.client.request(method.clone(), format!("{}{path}", server.url)).send().await.unwrap();
            let reply = Reply::read(response).await;
            reply.assert_error(405, ErrorCode::MethodNotAllowed);
            assert!(reply.header("allow").is_some(), "{method} {path}: {:?}", reply.headers);
        }
    }
}
