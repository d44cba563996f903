//! `whatsapp/sandbox/simulate`: a tester makes WhatsApp flag, unflag, upgrade or disconnect a
//! number; each is Meta's webhook, applied through the real webhook path. Sandbox mode only,
//! admins only, the caller's own numbers only.

use api_types::ErrorCode;
use serde_json::json;

use crate::both_stores;
use crate::support::*;

both_stores! {
    async fn simulated_events_change_the_number_as_the_webhooks_would(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        number_until(&server, &admin, ACME_NUMBER, "CONNECTED", |number| number["status"] == "CONNECTED").await;
        let simulate = async |event: &str| {
            let body = json!({"phoneNumberId": ACME_NUMBER, "event": event});
            server.post_as(&admin, "/whatsapp/sandbox/simulate", &body).await
        };

        let flagged = simulate("flagged").await;
        assert_eq!(flagged.data()["status"], "FLAGGED", "{}", flagged.body);
        assert_eq!(simulate("unflagged").await.data()["status"], "CONNECTED");
        let before = flagged.data()["messageLimit"].as_str().unwrap().to_owned();
        let raised = simulate("limitRaised").await;
        assert_ne!(raised.data()["messageLimit"].as_str().unwrap(), before, "the limit went up a tier: {}", raised.body);
        let disconnected = simulate("disconnected").await;
        assert_eq!(disconnected.data()["status"], "DISCONNECTED");
        assert_eq!(disconnected.data()["disconnectReason"], "PRIMARY_INACTIVITY");

        // Each went through the webhook store as a sandbox delivery.
        let db = database(&server).await;
        assert_eq!(count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE provider = $1 AND state = 'processed' AND body LIKE '%quality_update%'", "sandbox").await, 3);
    }

    async fn simulation_checks_the_event_the_role_and_the_account(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let unknown = server.post_as(&admin, "/whatsapp/sandbox/simulate", &json!({"phoneNumberId": ACME_NUMBER, "event": "explode"})).await;
        unknown.assert_error(400, ErrorCode::Validation);
        assert_eq!(unknown.field_errors()[0].0, "event");
        let agent = agent_client(&server).await;
        server.post_as(&agent, "/whatsapp/sandbox/simulate", &json!({"phoneNumberId": ACME_NUMBER, "event": "flagged"})).await
            .assert_error(403, ErrorCode::Forbidden);
        let (other, _) = server.signup("other-shop", "owner@other.example").await;
        server.post_as(&other, "/whatsapp/sandbox/simulate", &json!({"phoneNumberId": ACME_NUMBER, "event": "flagged"})).await
            .assert_error(404, ErrorCode::NotFound);
        let untouched = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": ACME_NUMBER})).await;
        assert_ne!(untouched.data()["status"], "FLAGGED");
    }

    async fn outside_sandbox_mode_there_is_nothing_to_simulate(server, |settings| {
        settings.mode = wadesk_server::settings::Mode::Live;
        settings.secret_key = Some("a-secret-key-for-live-tests".to_owned());
        settings.upstream_url = Some("http://127.0.0.1:9".to_owned());
    }) {
        let admin = server.admin_client().await;
        let reply = server.post_as(&admin, "/whatsapp/sandbox/simulate", &json!({"phoneNumberId": ACME_NUMBER, "event": "flagged"})).await;
        reply.assert_error(404, ErrorCode::NotFound);
        assert!(reply.message().contains("sandbox"), "{}", reply.message());
    }
}
