//! Seed 003: `whatsapp/account/bind`, `phoneInfo`, `wabaInfo` with their exact field names,
//! `accountName` checks, validation, ownership conflicts and tenant isolation.

use api_types::ErrorCode;
use serde_json::json;

use crate::both_stores;
use crate::common::*;
use crate::support::*;

both_stores! {
    async fn bind_then_read_back_with_the_seed_field_names(server) {
        let admin = server.admin_client().await;
        let bind = json!({"accountName": "WaDesk", "wabaId": "278990000057661", "phoneNumberId": "267300000093634", "phoneNumber": "8613300005155"});
        let reply = server.post_as(&admin, "/whatsapp/account/bind", &bind).await;
        assert_eq!(reply.body["code"], 0, "{}", reply.body);
        let phone = reply.data();
        assert_eq!(keys(phone), ["displayPhoneNumber", "id", "messageLimit", "qualityRating", "status", "verifiedName"]);
        assert_eq!(phone["id"], "267300000093634");
        assert_eq!(phone["displayPhoneNumber"], "8613300005155");
        assert_eq!(phone["status"], "PENDING", "a sandbox number starts like a test number");

        let wabas = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT})).await;
        let wabas = wabas.data().as_array().unwrap().clone();
        assert_eq!(wabas.len(), 1);
        assert_eq!(keys(&wabas[0]), ["wabaId", "wabaName", "wabaStatus"]);
        assert_eq!(wabas[0]["wabaId"], "278990000057661");
        assert_eq!(wabas[0]["wabaStatus"], "APPROVED");

        let info = json!({"accountName": ADMIN_ACCOUNT, "wabaId": "278990000057661"});
        let deadline = std::time::Instant::now() + SETTLE;
        loop {
            let phones = server.post_as(&admin, "/whatsapp/account/phoneInfo", &info).await;
            let phones = phones.data().as_array().unwrap().clone();
            assert_eq!(phones.len(), 1);
            assert_eq!(keys(&phones[0]), ["displayPhoneNumber", "id", "messageLimit", "qualityRating", "status", "verifiedName"]);
            if phones[0]["status"] == "CONNECTED" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never CONNECTED: {}", phones[0]);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }

        // Binding again is a success that adds nothing.
        let again = server.post_as(&admin, "/whatsapp/account/bind", &bind).await;
        assert_eq!(again.data()["status"], "CONNECTED");
        let phones = server.post_as(&admin, "/whatsapp/account/phoneInfo", &info).await;
        assert_eq!(phones.data().as_array().unwrap().len(), 1);
        let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data()[0]["origin"], "manual");
    }

    async fn another_account_name_is_forbidden(server) {
        let admin = server.admin_client().await;
        let (_other, _) = server.signup("other-shop", "owner@other.example").await;
        let bind = json!({"accountName": "other-shop", "wabaId": "278990000057661", "phoneNumberId": "267300000093634"});
        server.post_as(&admin, "/whatsapp/account/bind", &bind).await.assert_error(403, ErrorCode::Forbidden);
        let info = json!({"accountName": "other-shop", "wabaId": "278990000057661"});
        server.post_as(&admin, "/whatsapp/account/phoneInfo", &info).await.assert_error(403, ErrorCode::Forbidden);
        server
            .post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": "other-shop"}))
            .await
            .assert_error(403, ErrorCode::Forbidden);
        server
            .post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": ""}))
            .await
            .assert_error(400, ErrorCode::Validation);
    }

    async fn bind_checks_its_fields(server) {
        let admin = server.admin_client().await;
        let bad = json!({"accountName": ADMIN_ACCOUNT, "wabaId": "27899abc", "phoneNumberId": "", "phoneNumber": "12"});
        let reply = server.post_as(&admin, "/whatsapp/account/bind", &bad).await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(
            reply.field_errors(),
            [("wabaId".to_owned(), "invalid".to_owned()), ("phoneNumberId".to_owned(), "required".to_owned()), ("phoneNumber".to_owned(), "invalid".to_owned())]
        );
        let missing = server.post_as(&admin, "/whatsapp/account/bind", &json!({"accountName": ADMIN_ACCOUNT})).await;
        missing.assert_error(400, ErrorCode::Validation);
        let too_long = json!({"accountName": ADMIN_ACCOUNT, "wabaId": "1".repeat(30), "phoneNumberId": "1234567"});
        let reply = server.post_as(&admin, "/whatsapp/account/bind", &too_long).await;
        assert_eq!(reply.field_errors(), [("wabaId".to_owned(), "too_long".to_owned())]);
    }

    async fn an_unknown_waba_is_not_found(server) {
        let admin = server.admin_client().await;
        let info = json!({"accountName": ADMIN_ACCOUNT, "wabaId": "1234567890"});
        server.post_as(&admin, "/whatsapp/account/phoneInfo", &info).await.assert_error(404, ErrorCode::NotFound);
    }

    async fn a_refused_waba_names_the_failed_step(server) {
        let admin = server.admin_client().await;
        let bind = json!({"accountName": ADMIN_ACCOUNT, "wabaId": "9990000000001", "phoneNumberId": "267300000093634"});
        let reply = server.post_as(&admin, "/whatsapp/account/bind", &bind).await;
        reply.assert_error(502, ErrorCode::UpstreamError);
        assert_eq!(
            reply.message(),
            "Meta (sandbox) refused the WhatsApp Business Account lookup: WhatsApp Business Account 9990000000001 is not shared with this app"
        );
    }

    async fn what_one_account_holds_another_cannot_bind_see_or_remove(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let (other, _) = server.signup("other-shop", "owner@other.example").await;

        let same_number = json!({"accountName": "other-shop", "wabaId": ACME_WABA, "phoneNumberId": ACME_NUMBER});
        server.post_as(&other, "/whatsapp/account/bind", &same_number).await.assert_error(409, ErrorCode::Conflict);
        let same_waba = json!({"accountName": "other-shop", "wabaId": ACME_WABA, "phoneNumberId": ACME_SECOND_NUMBER});
        server.post_as(&other, "/whatsapp/account/bind", &same_waba).await.assert_error(409, ErrorCode::Conflict);
        let code = mint_code(&server, ACME_WABA, Some(ACME_NUMBER), false).await;
        complete(&server, &other, &code, ACME_WABA, Some(ACME_NUMBER), "cloud").await.assert_error(409, ErrorCode::Conflict);

        let listed = server.post_as(&other, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data(), &json!([]));
        let wabas = server.post_as(&other, "/whatsapp/account/wabaInfo", &json!({"accountName": "other-shop"})).await;
        assert_eq!(wabas.data(), &json!([]));
        let info = json!({"accountName": "other-shop", "wabaId": ACME_WABA});
        server.post_as(&other, "/whatsapp/account/phoneInfo", &info).await.assert_error(404, ErrorCode::NotFound);
        let number = json!({"phoneNumberId": ACME_NUMBER});
        server.post_as(&other, "/whatsapp/numbers/get", &number).await.assert_error(404, ErrorCode::NotFound);
        server.post_as(&other, "/whatsapp/numbers/remove", &number).await.assert_error(404, ErrorCode::NotFound);
        server.post_as(&other, "/whatsapp/numbers/retryRegistration", &number).await.assert_error(404, ErrorCode::NotFound);
        let rename = json!({"phoneNumberId": ACME_NUMBER, "verifiedName": "Taken Over"});
        server.post_as(&other, "/whatsapp/numbers/updateProfile", &rename).await.assert_error(404, ErrorCode::NotFound);

        // Still there for its owner.
        server.post_as(&admin, "/whatsapp/numbers/get", &number).await.data();
    }

    async fn agents_read_but_do_not_change(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let agent = agent_client(&server).await;
        let listed = server.post_as(&agent, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data().as_array().unwrap().len(), 1);
        let wabas = server.post_as(&agent, "/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT})).await;
        assert_eq!(wabas.data().as_array().unwrap().len(), 1);
        let bind = json!({"accountName": ADMIN_ACCOUNT, "wabaId": ACME_WABA, "phoneNumberId": ACME_SECOND_NUMBER});
        server.post_as(&agent, "/whatsapp/account/bind", &bind).await.assert_error(403, ErrorCode::Forbidden);
        let number = json!({"phoneNumberId": ACME_NUMBER});
        server.post_as(&agent, "/whatsapp/numbers/remove", &number).await.assert_error(403, ErrorCode::Forbidden);
        server.post_as(&agent, "/whatsapp/numbers/retryRegistration", &number).await.assert_error(403, ErrorCode::Forbidden);
        server.post_as(&agent, "/whatsapp/webhookSettings", &json!({})).await.assert_error(403, ErrorCode::Forbidden);
        let code = mint_code(&server, BAKERY_WABA, Some(BAKERY_NUMBER), false).await;
        complete(&server, &agent, &code, BAKERY_WABA, Some(BAKERY_NUMBER), "cloud").await.assert_error(403, ErrorCode::Forbidden);
    }

    async fn logged_out_callers_get_401(server) {
        server
            .post("/whatsapp/numbers/list", &json!({}))
            .await
            .assert_error(401, ErrorCode::Unauthorized);
        server
            .post("/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT}))
            .await
            .assert_error(401, ErrorCode::Unauthorized);
    }
}

both_stores! {
    async fn every_whatsapp_route_is_in_the_openapi_document(server) {
        let document = server.get("/intwa-api/openapi.json").await;
        let paths = document.body["paths"].as_object().expect("paths");
        for route in [
            "/intwa-api/whatsapp/account/bind",
            "/intwa-api/whatsapp/account/phoneInfo",
            "/intwa-api/whatsapp/account/wabaInfo",
            "/intwa-api/whatsapp/signup/complete",
            "/intwa-api/whatsapp/numbers/list",
            "/intwa-api/whatsapp/numbers/get",
            "/intwa-api/whatsapp/numbers/retryRegistration",
            "/intwa-api/whatsapp/numbers/remove",
            "/intwa-api/whatsapp/numbers/updateProfile",
            "/intwa-api/whatsapp/webhookSettings",
        ] {
            assert!(paths[route]["post"].is_object(), "{route} is not documented");
        }
    }
}
