//! `whatsapp/signup/complete` in sandbox mode: cloud (register, PENDING -> CONNECTED),
//! coexistence (no register, contacts then history sync, or declined), idempotency, codes that
//! are unknown, used or expired, and the token stored sealed.

use api_types::ErrorCode;
use serde_json::json;

use crate::both_stores;
use crate::common::*;
use crate::support::*;

both_stores! {
    async fn a_cloud_signup_registers_the_number_and_it_connects(server) {
        let admin = server.admin_client().await;
        let done = sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        assert_eq!(done["alreadyBound"], false);
        assert_eq!(done["waba"], json!({"wabaId": ACME_WABA, "wabaName": "Acme Trading", "wabaStatus": "APPROVED"}));
        let number = &done["number"];
        assert_eq!(number["phoneNumberId"], ACME_NUMBER);
        assert_eq!(number["displayPhoneNumber"], "+1 555-0100");
        assert_eq!(number["origin"], "cloud");
        assert_eq!(number["status"], "PENDING");
        assert_eq!(number["registration"], json!({"attemptsInWindow": 1, "limit": 10, "nextAttemptAt": null}));
        assert_eq!(number["sync"], json!(null));

        let connected = number_until(&server, &admin, ACME_NUMBER, "CONNECTED", |number| number["status"] == "CONNECTED").await;
        assert_eq!(connected["wabaName"], "Acme Trading");

        // The business token is stored sealed, never as it came.
        let db = database(&server).await;
        let sealed = text_of(&db, "SELECT token_sealed FROM whatsapp_wabas WHERE waba_id = $1", ACME_WABA).await.expect("a token");
        assert!(sealed.starts_with("v1:"), "{sealed}");
        assert!(!sealed.contains("sandbox-token"), "{sealed}");
        let pin = text_of(&db, "SELECT pin_sealed FROM whatsapp_numbers WHERE phone_number_id = $1", ACME_NUMBER).await.expect("a PIN");
        assert!(pin.starts_with("v1:"));
    }

    async fn a_coexistence_signup_syncs_contacts_then_history(server) {
        let admin = server.admin_client().await;
        let code = mint_code(&server, BAKERY_WABA, Some(BAKERY_NUMBER), false).await;
        // No phoneNumberId: the coexistence finish may leave it out; it is the WABA's number.
        let done = complete(&server, &admin, &code, BAKERY_WABA, None, "coexistence").await;
        let number = done.data()["number"].clone();
        assert_eq!(number["phoneNumberId"], BAKERY_NUMBER);
        assert_eq!(number["origin"], "coexistence");
        assert_eq!(number["registration"]["attemptsInWindow"], 0, "coexistence numbers are never registered");
        let sync = &number["sync"];
        assert!(["REQUESTED", "IN_PROGRESS", "COMPLETED"].contains(&sync["contacts"].as_str().unwrap()), "{sync}");

        let finished = number_until(&server, &admin, BAKERY_NUMBER, "contacts and history", |number| {
            number["sync"]["contacts"] == "COMPLETED" && number["sync"]["history"] == "COMPLETED" && number["status"] == "CONNECTED"
        })
        .await;
        let sync = &finished["sync"];
        assert_eq!(sync["contactsImported"], 5);
        assert_eq!(sync["historyPhase"], 2);
        assert_eq!(sync["historyProgress"], 100);
        assert!(sync["historyMessagesImported"].as_u64().unwrap() > 0, "{sync}");

        let db = database(&server).await;
        let simulated = count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE provider = $1 AND state = 'processed'", "sandbox").await;
        assert!(simulated >= 6, "the simulation goes through the webhook pipeline ({simulated} processed)");
    }

    async fn declining_history_shows_as_declined(server) {
        let admin = server.admin_client().await;
        let code = mint_code(&server, BAKERY_WABA, Some(BAKERY_NUMBER), true).await;
        complete(&server, &admin, &code, BAKERY_WABA, Some(BAKERY_NUMBER), "coexistence").await.data();
        let finished = number_until(&server, &admin, BAKERY_NUMBER, "history declined", |number| {
            number["sync"]["history"] == "DECLINED" && number["sync"]["contacts"] == "COMPLETED"
        })
        .await;
        assert_eq!(finished["sync"]["historyMessagesImported"], 0);
    }

    async fn completing_again_changes_nothing(server) {
        let admin = server.admin_client().await;
        let first = sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        assert_eq!(first["alreadyBound"], false);
        let second = sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        assert_eq!(second["alreadyBound"], true);
        assert_eq!(second["number"]["registration"]["attemptsInWindow"], 1, "no second registration");
        let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data().as_array().unwrap().len(), 1);
        let wabas = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT})).await;
        assert_eq!(wabas.data().as_array().unwrap().len(), 1);
    }

    async fn a_used_unknown_or_expired_code_is_refused_clearly(server) {
        let admin = server.admin_client().await;
        let code = mint_code(&server, ACME_WABA, Some(ACME_NUMBER), false).await;
        complete(&server, &admin, &code, ACME_WABA, Some(ACME_NUMBER), "cloud").await.data();
        let reused = complete(&server, &admin, &code, ACME_WABA, Some(ACME_NUMBER), "cloud").await;
        reused.assert_error(502, ErrorCode::UpstreamError);
        assert_eq!(reused.message(), "Meta (sandbox) refused the sign-up code exchange: This authorization code has been used");

        let unknown = complete(&server, &admin, "sbx_not-a-real-code", ACME_WABA, Some(ACME_NUMBER), "cloud").await;
        unknown.assert_error(502, ErrorCode::UpstreamError);
        assert!(unknown.message().contains("not valid"), "{}", unknown.message());

        let short_lived = post_public(
            &server,
            "/sandbox/facebook/oauth/code",
            &json!({"waba_id": BAKERY_WABA, "phone_number_id": BAKERY_NUMBER, "expires_in_seconds": 0}),
        )
        .await;
        // A lifetime of 0 is expired on arrival, so nothing waits; the 30-second boundary itself is
        // tested on the sandbox's fake clock (sandbox::upstream::tests).
        assert_eq!(short_lived.data()["expires_in"], 0);
        let code = short_lived.data()["code"].as_str().unwrap().to_owned();
        let expired = complete(&server, &admin, &code, BAKERY_WABA, Some(BAKERY_NUMBER), "cloud").await;
        expired.assert_error(502, ErrorCode::UpstreamError);
        assert!(expired.message().contains("has expired"), "{}", expired.message());
        server
            .post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": BAKERY_NUMBER}))
            .await
            .assert_error(404, ErrorCode::NotFound);
    }

    async fn completion_checks_its_fields(server) {
        let admin = server.admin_client().await;
        let reply = server
            .post_as(&admin, "/whatsapp/signup/complete", &json!({"code": "", "wabaId": "12x", "phoneNumberId": "55", "flow": "cloud"}))
            .await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(
            reply.field_errors(),
            [("code".to_owned(), "required".to_owned()), ("wabaId".to_owned(), "invalid".to_owned()), ("phoneNumberId".to_owned(), "too_short".to_owned())]
        );
        let bad_flow = server
            .post_as(&admin, "/whatsapp/signup/complete", &json!({"code": "x", "wabaId": ACME_WABA, "flow": "fax"}))
            .await;
        bad_flow.assert_error(400, ErrorCode::Validation);
    }

    async fn a_waba_without_a_number_is_bound_alone(server) {
        let admin = server.admin_client().await;
        let code = mint_code(&server, ACME_WABA, None, false).await;
        let done = complete(&server, &admin, &code, ACME_WABA, None, "cloud").await;
        let done = done.data();
        assert_eq!(done["number"], json!(null));
        assert_eq!(done["waba"]["wabaId"], ACME_WABA);
        let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data(), &json!([]));
        let wabas = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT})).await;
        assert_eq!(wabas.data().as_array().unwrap().len(), 1);
    }
}
