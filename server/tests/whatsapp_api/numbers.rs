//! The Numbers routes: the registration limit, removal, display name changes, webhook settings.

use api_types::ErrorCode;
use serde_json::json;

use crate::both_stores;
use crate::common::*;
use crate::support::*;

both_stores! {
    async fn the_eleventh_registration_in_72_hours_is_refused(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let number = json!({"phoneNumberId": ACME_NUMBER});
        for attempt in 2..=10 {
            let reply = server.post_as(&admin, "/whatsapp/numbers/retryRegistration", &number).await;
            assert_eq!(reply.data()["registration"]["attemptsInWindow"], attempt);
        }
        let details = server.post_as(&admin, "/whatsapp/numbers/get", &number).await;
        let next_attempt_at = details.data()["registration"]["nextAttemptAt"].as_i64().expect("a next attempt time");
        let refused = server.post_as(&admin, "/whatsapp/numbers/retryRegistration", &number).await;
        refused.assert_error(429, ErrorCode::RateLimited);
        let retry_after = refused.body["data"]["retryAfterSeconds"].as_u64().unwrap();
        assert!(retry_after > 71 * 3600 && retry_after <= 72 * 3600, "{retry_after}");
        assert_eq!(refused.header("retry-after"), Some(retry_after.to_string().as_str()));
        assert!(refused.message().contains("10 registration attempts per number in 72 hours"), "{}", refused.message());
        assert!(refused.message().contains("(in 7"), "says when: {}", refused.message());
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!(next_attempt_at > now_ms + 71 * 3600 * 1000);
    }

    async fn a_coexistence_number_is_never_registered(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, BAKERY_WABA, BAKERY_NUMBER, "coexistence").await;
        let reply = server.post_as(&admin, "/whatsapp/numbers/retryRegistration", &json!({"phoneNumberId": BAKERY_NUMBER})).await;
        reply.assert_error(409, ErrorCode::Conflict);
    }

    async fn removing_the_last_number_unbinds_its_waba(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_SECOND_NUMBER, "cloud").await;
        let first = server.post_as(&admin, "/whatsapp/numbers/remove", &json!({"phoneNumberId": ACME_NUMBER})).await;
        assert_eq!(first.data(), &json!({"phoneNumberId": ACME_NUMBER, "wabaId": ACME_WABA, "wabaUnbound": false}));
        let last = server.post_as(&admin, "/whatsapp/numbers/remove", &json!({"phoneNumberId": ACME_SECOND_NUMBER})).await;
        assert_eq!(last.data()["wabaUnbound"], true);
        let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data(), &json!([]));
        let wabas = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT})).await;
        assert_eq!(wabas.data(), &json!([]));
        server
            .post_as(&admin, "/whatsapp/numbers/remove", &json!({"phoneNumberId": ACME_NUMBER}))
            .await
            .assert_error(404, ErrorCode::NotFound);
        // Another account may now connect it.
        let (other, _) = server.signup("other-shop", "owner@other.example").await;
        let done = sign_up_number(&server, &other, ACME_WABA, ACME_NUMBER, "cloud").await;
        assert_eq!(done["alreadyBound"], false);
    }

    async fn a_display_name_change_waits_for_approval(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let short = server
            .post_as(&admin, "/whatsapp/numbers/updateProfile", &json!({"phoneNumberId": ACME_NUMBER, "verifiedName": "ab"}))
            .await;
        short.assert_error(400, ErrorCode::Validation);
        assert_eq!(short.field_errors(), [("verifiedName".to_owned(), "too_short".to_owned())]);
        let asked = server
            .post_as(&admin, "/whatsapp/numbers/updateProfile", &json!({"phoneNumberId": ACME_NUMBER, "verifiedName": "Acme Cakes"}))
            .await;
        assert_eq!(asked.data()["verifiedName"], "Acme Trading", "unchanged until Meta approves");
        number_until(&server, &admin, ACME_NUMBER, "the approved name", |number| number["verifiedName"] == "Acme Cakes").await;
    }

    async fn webhook_settings_give_the_callback_url_and_a_stable_token(server) {
        let admin = server.admin_client().await;
        let first = server.post_as(&admin, "/whatsapp/webhookSettings", &json!({})).await;
        let settings = first.data().clone();
        assert_eq!(settings["callbackUrl"], format!("{}/webhooks/meta", server.url));
        let token = settings["verifyToken"].as_str().unwrap().to_owned();
        assert!(token.len() >= 32, "{token}");
        let again = server.post_as(&admin, "/whatsapp/webhookSettings", &json!({})).await;
        assert_eq!(again.data()["verifyToken"], token.as_str());
        let (other, _) = server.signup("other-shop", "owner@other.example").await;
        let theirs = server.post_as(&other, "/whatsapp/webhookSettings", &json!({})).await;
        assert_ne!(theirs.data()["verifyToken"], token.as_str());

        // Meta's subscription handshake with that token.
        let url = format!("{}/webhooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444", server.url);
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "1158201444");
        let wrong = format!("{}/webhooks/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", server.url);
        let reply = Reply::read(server.client.get(&wrong).send().await.unwrap()).await;
        reply.assert_error(403, ErrorCode::Forbidden);
        let no_mode = format!("{}/webhooks/meta?hub.verify_token={token}&hub.challenge=1", server.url);
        assert_eq!(server.client.get(&no_mode).send().await.unwrap().status(), 403);
    }

    async fn a_public_url_sets_the_callback(server, |settings| settings.public_url = Some("https://desk.example.com/".to_owned())) {
        let admin = server.admin_client().await;
        let reply = server.post_as(&admin, "/whatsapp/webhookSettings", &json!({})).await;
        assert_eq!(reply.data()["callbackUrl"], "https://desk.example.com/webhooks/meta");
    }
}
