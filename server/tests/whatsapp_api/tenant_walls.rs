//! Tenant walls: one account never touches another account's numbers, whatever it types at
//! manual bind and whatever a webhook names (issue 7 §1). Two accounts, alpha and bravo, each
//! with numbers of their own, in sandbox mode (typed display numbers are taken for ids the
//! sandbox never made, so alpha can try to claim bravo's display number).


use api_types::ErrorCode;
use serde_json::{json, Value};
use wadesk_server::webhooks::signature::meta_signature;

use crate::both_stores;
use crate::common::*;
use crate::support::*;

const APP_SECRET: &str = "walls-app-secret";
const YCLOUD_SECRET: &str = "walls-ycloud-secret";
const HOOKS: SignedWebhooks = SignedWebhooks { meta_app_secret: APP_SECRET, ycloud_secret: YCLOUD_SECRET };

const BRAVO_WABA: &str = "4100000000000001";
const BRAVO_NUMBER: &str = "4200000000000001";
const BRAVO_DISPLAY: &str = "8613300005155";
const ALPHA_WABA: &str = "5100000000000001";
const ALPHA_NUMBER: &str = "5200000000000001";

fn with_secrets(settings: &mut wadesk_server::Settings) {
    settings.meta_app_secret = Some(APP_SECRET.to_owned());
    settings.ycloud_webhook_secrets = vec![YCLOUD_SECRET.to_owned()];
}

fn bind_body(account: &str, waba_id: &str, number_id: &str, display: Option<&str>) -> Value {
    let mut body = json!({"accountName": account, "wabaId": waba_id, "phoneNumberId": number_id});
    if let Some(display) = display {
        body["phoneNumber"] = json!(display);
    }
    body
}

/// Two accounts: bravo holds BRAVO_NUMBER (display BRAVO_DISPLAY), alpha holds ALPHA_NUMBER.
async fn two_accounts(server: &TestServer) -> (reqwest::Client, reqwest::Client) {
    let (bravo, _) = server.signup("bravo", "owner@bravo.example").await;
    let (alpha, _) = server.signup("alpha", "owner@alpha.example").await;
    let bound = server.post_as(&bravo, "/whatsapp/account/bind", &bind_body("bravo", BRAVO_WABA, BRAVO_NUMBER, Some(BRAVO_DISPLAY))).await;
    assert_eq!(bound.code(), 0, "{}", bound.body);
    assert_eq!(bound.data()["displayPhoneNumber"], BRAVO_DISPLAY);
    let bound = server.post_as(&alpha, "/whatsapp/account/bind", &bind_body("alpha", ALPHA_WABA, ALPHA_NUMBER, None)).await;
    assert_eq!(bound.code(), 0, "{}", bound.body);
    for (client, number) in [(&bravo, BRAVO_NUMBER), (&alpha, ALPHA_NUMBER)] {
        number_until(server, client, number, "CONNECTED", |n| n["status"] == "CONNECTED").await;
    }
    (alpha, bravo)
}

async fn number_of(server: &TestServer, client: &reqwest::Client, number: &str) -> Value {
    let reply = server.post_as(client, "/whatsapp/numbers/get", &json!({"phoneNumberId": number})).await;
    assert_eq!(reply.code(), 0, "{}", reply.body);
    reply.data().clone()
}

fn meta_envelope(waba_id: &str, field: &str, value: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [{"field": field, "value": value}]}]})
}

fn flagged(display: &str) -> Value {
    json!({"display_phone_number": display, "event": "FLAGGED", "max_daily_conversations_per_business": "TIER_2K"})
}

both_stores! {
    async fn a_display_number_typed_at_bind_cannot_take_another_accounts_number(server, with_secrets) {
        let (alpha, bravo) = two_accounts(&server).await;
        // The reproduced attack: alpha types bravo's display number for ids of its own.
        let claimed = server
            .post_as(&alpha, "/whatsapp/account/bind", &bind_body("alpha", ALPHA_WABA, "5200000000000002", Some("+86 133 0000 5155")))
            .await;
        claimed.assert_error(409, ErrorCode::Conflict);
        // Nothing half-bound: the number is not in alpha's account.
        let missing = server.post_as(&alpha, "/whatsapp/numbers/get", &json!({"phoneNumberId": "5200000000000002"})).await;
        missing.assert_error(404, ErrorCode::NotFound);
        // Then alpha disconnects its own number through the sandbox: bravo's stays connected.
        let disconnected = server
            .post_as(&alpha, "/whatsapp/sandbox/simulate", &json!({"phoneNumberId": ALPHA_NUMBER, "event": "disconnected"}))
            .await;
        assert_eq!(disconnected.data()["status"], "DISCONNECTED", "{}", disconnected.body);
        assert_eq!(number_of(&server, &bravo, BRAVO_NUMBER).await["status"], "CONNECTED");
        // And alpha cannot simulate on bravo's number at all.
        let foreign = server
            .post_as(&alpha, "/whatsapp/sandbox/simulate", &json!({"phoneNumberId": BRAVO_NUMBER, "event": "disconnected"}))
            .await;
        foreign.assert_error(404, ErrorCode::NotFound);
        assert_eq!(number_of(&server, &bravo, BRAVO_NUMBER).await["status"], "CONNECTED");
    }

    async fn a_display_number_the_provider_contradicts_is_a_field_error(server, with_secrets) {
        let admin = server.admin_client().await;
        // The sandbox's own portfolio number is +1 555-0100: another display number is refused.
        let body = bind_body(ADMIN_ACCOUNT, ACME_WABA, ACME_NUMBER, Some("+1 555 999 0000"));
        let refused = server.post_as(&admin, "/whatsapp/account/bind", &body).await;
        refused.assert_error(400, ErrorCode::Validation);
        assert_eq!(refused.field_errors().first().map(|(field, _)| field.as_str()), Some("phoneNumber"));
        let missing = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": ACME_NUMBER})).await;
        missing.assert_error(404, ErrorCode::NotFound);
        // The same digits written another way are the same number.
        let body = bind_body(ADMIN_ACCOUNT, ACME_WABA, ACME_NUMBER, Some("+1 (555) 0100"));
        let bound = server.post_as(&admin, "/whatsapp/account/bind", &body).await;
        assert_eq!(bound.code(), 0, "{}", bound.body);
        assert_eq!(bound.data()["displayPhoneNumber"], "+1 555-0100", "the provider's spelling is kept");
    }

    async fn meta_webhooks_naming_a_display_number_stay_inside_the_wabas_account(server, with_secrets) {
        let (alpha, bravo) = two_accounts(&server).await;
        // Named by display digits but delivered for alpha's WABA: bravo's number is not in it.
        let state = HOOKS.meta(&server, &meta_envelope(ALPHA_WABA, "phone_number_quality_update", flagged(BRAVO_DISPLAY))).await;
        assert_eq!(state, "ignored");
        // For a WABA nobody holds: nothing changes either.
        let state = HOOKS.meta(&server, &meta_envelope("9100000000000001", "phone_number_quality_update", flagged(BRAVO_DISPLAY))).await;
        assert_eq!(state, "ignored");
        // Offboarding that names bravo's display number under alpha's WABA.
        let offboard = json!({"phone_number": BRAVO_DISPLAY, "event": "PARTNER_REMOVED",
            "waba_info": {"waba_id": ALPHA_WABA, "owner_business_id": "3"}, "disconnection_info": {"reason": "PRIMARY_INACTIVITY"}});
        HOOKS.meta(&server, &meta_envelope(ALPHA_WABA, "account_update", offboard)).await;
        let bravo_number = number_of(&server, &bravo, BRAVO_NUMBER).await;
        assert_eq!(bravo_number["status"], "CONNECTED", "{bravo_number}");
        assert_eq!(bravo_number["messageLimit"], "TIER_250");
        assert_eq!(number_of(&server, &alpha, ALPHA_NUMBER).await["status"], "CONNECTED", "no alpha number has that display number");
        // The same event for bravo's own WABA does reach bravo's number.
        let state = HOOKS.meta(&server, &meta_envelope(BRAVO_WABA, "phone_number_quality_update", flagged(BRAVO_DISPLAY))).await;
        assert_eq!(state, "processed");
        let bravo_number = number_of(&server, &bravo, BRAVO_NUMBER).await;
        assert_eq!((bravo_number["status"].as_str(), bravo_number["messageLimit"].as_str()), (Some("FLAGGED"), Some("TIER_2K")));
        assert_eq!(number_of(&server, &alpha, ALPHA_NUMBER).await["status"], "CONNECTED");
    }

    async fn ycloud_webhooks_reach_only_the_account_holding_the_number_and_its_waba(server, with_secrets) {
        let (alpha, bravo) = two_accounts(&server).await;
        // bravo's number id, but a WABA it is not bound through: refused.
        let quality = |waba_id: &str| json!({"id": format!("evt_{}", random_hex()), "type": "whatsapp.phone_number.quality_updated",
            "apiVersion": "v2", "createTime": "2026-12-01T00:00:00Z",
            "whatsappPhoneNumber": {"id": BRAVO_NUMBER, "wabaId": waba_id, "qualityRating": "RED", "status": "FLAGGED"}});
        assert_eq!(HOOKS.ycloud(&server, &quality(ALPHA_WABA)).await, "ignored");
        assert_eq!(number_of(&server, &bravo, BRAVO_NUMBER).await["qualityRating"], "GREEN");
        // Alpha's WABA offboarded: alpha's numbers only.
        let removed = json!({"id": format!("evt_{}", random_hex()), "type": "whatsapp.business_account.updated",
            "whatsappBusinessAccount": {"id": ALPHA_WABA, "updateEvent": "PARTNER_REMOVED"}});
        assert_eq!(HOOKS.ycloud(&server, &removed).await, "processed");
        assert_eq!(number_of(&server, &alpha, ALPHA_NUMBER).await["status"], "DISCONNECTED");
        assert_eq!(number_of(&server, &bravo, BRAVO_NUMBER).await["status"], "CONNECTED");
        // Through bravo's own WABA the update applies.
        assert_eq!(HOOKS.ycloud(&server, &quality(BRAVO_WABA)).await, "processed");
        assert_eq!(number_of(&server, &bravo, BRAVO_NUMBER).await["qualityRating"], "RED");
    }

    async fn another_accounts_numbers_and_wabas_are_invisible(server, with_secrets) {
        let (alpha, bravo) = two_accounts(&server).await;
        let listed = server.post_as(&alpha, "/whatsapp/numbers/list", &json!({})).await;
        let ids: Vec<&str> = listed.data().as_array().unwrap().iter().filter_map(|n| n["phoneNumberId"].as_str()).collect();
        assert_eq!(ids, [ALPHA_NUMBER]);
        for path in ["/whatsapp/numbers/get", "/whatsapp/numbers/retryRegistration", "/whatsapp/numbers/remove"] {
            let reply = server.post_as(&alpha, path, &json!({"phoneNumberId": BRAVO_NUMBER})).await;
            reply.assert_error(404, ErrorCode::NotFound);
        }
        let profile = server
            .post_as(&alpha, "/whatsapp/numbers/updateProfile", &json!({"phoneNumberId": BRAVO_NUMBER, "verifiedName": "Alpha Takes Over"}))
            .await;
        profile.assert_error(404, ErrorCode::NotFound);
        let phone_info = server.post_as(&alpha, "/whatsapp/account/phoneInfo", &json!({"accountName": "alpha", "wabaId": BRAVO_WABA})).await;
        phone_info.assert_error(404, ErrorCode::NotFound);
        let wabas = server.post_as(&alpha, "/whatsapp/account/wabaInfo", &json!({"accountName": "alpha"})).await;
        let waba_ids: Vec<&str> = wabas.data().as_array().unwrap().iter().filter_map(|w| w["wabaId"].as_str()).collect();
        assert_eq!(waba_ids, [ALPHA_WABA]);
        // Binding bravo's WABA or number is a conflict, never a takeover.
        let taken = server.post_as(&alpha, "/whatsapp/account/bind", &bind_body("alpha", BRAVO_WABA, "4200000000000009", None)).await;
        taken.assert_error(409, ErrorCode::Conflict);
        let taken = server.post_as(&alpha, "/whatsapp/account/bind", &bind_body("alpha", ALPHA_WABA, BRAVO_NUMBER, None)).await;
        taken.assert_error(409, ErrorCode::Conflict);
        let bravo_number = number_of(&server, &bravo, BRAVO_NUMBER).await;
        assert_eq!((bravo_number["status"].as_str(), bravo_number["verifiedName"].as_str()), (Some("CONNECTED"), Some("Sandbox Business")));
    }

    async fn an_agent_cannot_bind_or_simulate(server, with_secrets) {
        let agent = agent_client(&server).await;
        let bind = server.post_as(&agent, "/whatsapp/account/bind", &bind_body(ADMIN_ACCOUNT, ACME_WABA, ACME_NUMBER, None)).await;
        bind.assert_error(403, ErrorCode::Forbidden);
        let simulate = server.post_as(&agent, "/whatsapp/sandbox/simulate", &json!({"phoneNumberId": ACME_NUMBER, "event": "flagged"})).await;
        simulate.assert_error(403, ErrorCode::Forbidden);
    }
}

/// Two servers on one PostgreSQL database (several instances behind a load balancer): Meta's
/// deliveries reach either, and every one is applied once and in the order received, so the
/// number ends in the state of the last delivery.
#[tokio::test]
async fn two_servers_on_one_postgres_database_apply_deliveries_once_and_in_order() {
    let Some(first) = TestServer::start(Store::Postgres, with_secrets).await else { return };
    let mut settings = wadesk_server::Settings::for_tests(&first.database_url, first.dist.clone());
    with_secrets(&mut settings);
    let second = wadesk_server::start(settings).await.expect("a second server on the same database");
    let second_url = second.url();
    let admin = first.admin_client().await;
    sign_up_number(&first, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
    number_until(&first, &admin, ACME_NUMBER, "CONNECTED", |n| n["status"] == "CONNECTED").await;

    let limits = ["TIER_2K", "TIER_10K", "TIER_100K", "TIER_1K"];
    let mut bodies = Vec::new();
    for round in 0..12 {
        let (event, limit) = if round % 2 == 0 { ("FLAGGED", limits[round % 4]) } else { ("UNFLAGGED", limits[round % 4]) };
        let payload = meta_envelope(ACME_WABA, "phone_number_quality_update",
            json!({"display_phone_number": "15550100", "event": event, "max_daily_conversations_per_business": limit, "round": round}));
        let body = payload.to_string();
        let base = if round % 2 == 0 { first.url.clone() } else { second_url.clone() };
        let reply = first
            .client
            .post(format!("{base}/webhooks/meta"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", meta_signature(APP_SECRET, body.as_bytes()))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200);
        bodies.push(body);
    }
    for body in &bodies {
        assert_eq!(settled(&first, body).await, "processed");
    }
    let number = number_of(&first, &admin, ACME_NUMBER).await;
    // Round 11 was the last: UNFLAGGED with limits[3].
    assert_eq!((number["status"].as_str(), number["messageLimit"].as_str()), (Some("CONNECTED"), Some("TIER_1K")), "{number}");
    let db = database(&first).await;
    assert_eq!(count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE provider = $1 AND state = 'processed'", "meta").await, 12);
    second.shutdown().await;
}
