//! What browsers, partners and hostile users send to the WhatsApp routes: ids that are not ids,
//! names Meta refuses, the same request twice at once. Each gets the documented JSON answer and
//! leaves no duplicate or half-made rows.

use api_types::ErrorCode;
use serde_json::{json, Value};

use crate::both_stores;
use crate::common::*;
use crate::support::*;

/// Ids people paste that are not Meta ids: letters, Arabic-Indic digits, a `+`, spaces inside,
/// blanks, 10 KB of digits.
fn not_ids() -> Vec<(Value, &'static str)> {
    vec![
        (json!("abc12345"), "invalid"),
        (json!("\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}"), "invalid"),
        (json!("+2000000000000001"), "invalid"),
        (json!("2000 0000 0000 0001"), "invalid"),
        (json!("   "), "required"),
        (json!(""), "required"),
        (json!("1".repeat(10 * 1024)), "too_long"),
    ]
}

both_stores! {
    async fn number_routes_name_an_id_that_is_not_one(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        for (id, code) in not_ids() {
            for route in ["/whatsapp/numbers/get", "/whatsapp/numbers/remove", "/whatsapp/numbers/retryRegistration"] {
                let reply = server.post_as(&admin, route, &json!({"phoneNumberId": id})).await;
                reply.assert_error(400, ErrorCode::Validation);
                assert_eq!(reply.field_errors(), [("phoneNumberId".to_owned(), code.to_owned())], "{route} {}", reply.body);
            }
            let rename = json!({"phoneNumberId": id, "verifiedName": "Acme Cakes"});
            let reply = server.post_as(&admin, "/whatsapp/numbers/updateProfile", &rename).await;
            reply.assert_error(400, ErrorCode::Validation);
            assert_eq!(reply.field_errors(), [("phoneNumberId".to_owned(), code.to_owned())]);
            let info = json!({"accountName": ADMIN_ACCOUNT, "wabaId": id});
            let reply = server.post_as(&admin, "/whatsapp/account/phoneInfo", &info).await;
            reply.assert_error(400, ErrorCode::Validation);
            assert_eq!(reply.field_errors(), [("wabaId".to_owned(), code.to_owned())]);
        }
        // A number where a string is expected is named too (JSON numbers lose digits in browsers).
        let reply = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": 2000000000000001_u64})).await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(reply.field_errors(), [("phoneNumberId".to_owned(), "invalid".to_owned())]);
        // Padding around a real id is not a different id.
        let padded = server.post_as(&admin, "/whatsapp/numbers/get", &json!({"phoneNumberId": format!(" {ACME_NUMBER} ")})).await;
        assert_eq!(padded.data()["phoneNumberId"], ACME_NUMBER);
        // Nothing was removed by any of it.
        let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data().as_array().unwrap().len(), 1);
    }

    async fn a_huge_account_name_is_refused_without_echoing_it(server) {
        let admin = server.admin_client().await;
        let huge = "x".repeat(10 * 1024);
        let reply = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": huge})).await;
        reply.assert_error(403, ErrorCode::Forbidden);
        assert!(reply.message().len() < 200, "{}", reply.message());
        // The caller's own name in another case and with spaces around is theirs.
        let own = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": "  WADESK "})).await;
        assert_eq!(own.data(), &json!([]));
    }

    async fn display_names_meta_refuses_are_field_errors(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        for name in ["\u{1f600}\u{1f600}\u{1f600}", "!!! ???", "Acme https://acme.example", "www.acme.example", "Acme\nCakes", "Acme\tCakes"] {
            let reply = server
                .post_as(&admin, "/whatsapp/numbers/updateProfile", &json!({"phoneNumberId": ACME_NUMBER, "verifiedName": name}))
                .await;
            reply.assert_error(400, ErrorCode::Validation);
            assert_eq!(reply.field_errors(), [("verifiedName".to_owned(), "invalid".to_owned())], "{name:?}");
        }
        // Names in other scripts and with an emoji beside the words are fine.
        for name in ["Café Zoë \u{1f370}", "\u{645}\u{62e}\u{628}\u{632} \u{627}\u{644}\u{646}\u{648}\u{631}"] {
            let reply = server
                .post_as(&admin, "/whatsapp/numbers/updateProfile", &json!({"phoneNumberId": ACME_NUMBER, "verifiedName": name}))
                .await;
            reply.data();
        }
    }

    async fn agents_cannot_rename_a_number(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let agent = agent_client(&server).await;
        let rename = json!({"phoneNumberId": ACME_NUMBER, "verifiedName": "Agent Cakes"});
        server.post_as(&agent, "/whatsapp/numbers/updateProfile", &rename).await.assert_error(403, ErrorCode::Forbidden);
        let info = json!({"accountName": ADMIN_ACCOUNT, "wabaId": ACME_WABA});
        let phones = server.post_as(&agent, "/whatsapp/account/phoneInfo", &info).await;
        assert_eq!(phones.data().as_array().unwrap().len(), 1);
        server.post_as(&agent, "/whatsapp/numbers/get", &json!({"phoneNumberId": ACME_NUMBER})).await.data();
    }

    async fn two_completions_at_once_bind_and_register_once(server) {
        let admin = server.admin_client().await;
        let db = database(&server).await;
        // Several rounds: the race does not have to be lost every time for one round to show it.
        for round in 0..6 {
            let waba = format!("10000000000001{round:02}");
            let number = format!("20000000000001{round:02}");
            let first_code = mint_code(&server, &waba, Some(&number), false).await;
            let second_code = mint_code(&server, &waba, Some(&number), false).await;
            let (first, second) = tokio::join!(
                complete(&server, &admin, &first_code, &waba, Some(&number), "cloud"),
                complete(&server, &admin, &second_code, &waba, Some(&number), "cloud"),
            );
            let first = first.data();
            let second = second.data();
            assert_eq!(first["number"]["phoneNumberId"], number.as_str());
            assert_eq!(second["number"]["phoneNumberId"], number.as_str());
            let bound_before = [first["alreadyBound"].as_bool().unwrap(), second["alreadyBound"].as_bool().unwrap()];
            assert!(bound_before.contains(&false) && bound_before.contains(&true), "round {round}: {bound_before:?}");
            assert_eq!(count_of(&db, "SELECT COUNT(*) FROM whatsapp_numbers WHERE phone_number_id = $1", &number).await, 1);
            assert_eq!(count_of(&db, "SELECT COUNT(*) FROM whatsapp_wabas WHERE waba_id = $1", &waba).await, 1);
            assert_eq!(
                count_of(&db, "SELECT COUNT(*) FROM whatsapp_registration_attempts WHERE phone_number_id = $1", &number).await,
                1,
                "round {round}: registered once"
            );
        }
    }

    async fn concurrent_retries_never_pass_the_registration_limit(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        let number = json!({"phoneNumberId": ACME_NUMBER});
        let mut retries = tokio::task::JoinSet::new();
        for _ in 0..15 {
            let (client, url, body) = (admin.clone(), server.api_url("/whatsapp/numbers/retryRegistration"), number.clone());
            retries.spawn(async move { Reply::read(client.post(url).json(&body).send().await.expect("request sent")).await });
        }
        let replies = retries.join_all().await;
        let passed = replies.iter().filter(|reply| reply.status == 200).count();
        let limited = replies.iter().filter(|reply| reply.status == 429).count();
        for reply in replies.iter().filter(|reply| reply.status == 429) {
            reply.assert_error(429, ErrorCode::RateLimited);
        }
        assert_eq!((passed, limited), (9, 6), "{:?}", replies.iter().map(|reply| reply.status.as_u16()).collect::<Vec<_>>());
        let db = database(&server).await;
        let attempts = count_of(&db, "SELECT COUNT(*) FROM whatsapp_registration_attempts WHERE phone_number_id = $1", ACME_NUMBER).await;
        assert_eq!(attempts, 10);
        let details = server.post_as(&admin, "/whatsapp/numbers/get", &number).await;
        assert_eq!(details.data()["registration"]["attemptsInWindow"], 10);
    }

    async fn removing_twice_at_once_removes_once(server) {
        let admin = server.admin_client().await;
        for round in 0..6 {
            sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
            let number = json!({"phoneNumberId": ACME_NUMBER});
            let (first, second) = tokio::join!(
                server.post_as(&admin, "/whatsapp/numbers/remove", &number),
                server.post_as(&admin, "/whatsapp/numbers/remove", &number),
            );
            let mut statuses = [first.status.as_u16(), second.status.as_u16()];
            statuses.sort_unstable();
            assert_eq!(statuses, [200, 404], "round {round}: {} {}", first.body, second.body);
            let removed = if first.status == 200 { &first } else { &second };
            assert_eq!(removed.data()["wabaUnbound"], true);
            let gone = if first.status == 200 { &second } else { &first };
            gone.assert_error(404, ErrorCode::NotFound);
        }
    }

    async fn a_removed_number_binds_again_by_hand(server) {
        let admin = server.admin_client().await;
        sign_up_number(&server, &admin, ACME_WABA, ACME_NUMBER, "cloud").await;
        server.post_as(&admin, "/whatsapp/numbers/remove", &json!({"phoneNumberId": ACME_NUMBER})).await.data();
        let bind = json!({"accountName": ADMIN_ACCOUNT, "wabaId": ACME_WABA, "phoneNumberId": ACME_NUMBER, "phoneNumber": "+1 (555) 0100"});
        let bound = server.post_as(&admin, "/whatsapp/account/bind", &bind).await;
        assert_eq!(bound.data()["id"], ACME_NUMBER);
        assert_eq!(bound.data()["displayPhoneNumber"], "+1 555-0100", "the provider's display number, not the typed spelling");
        let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
        let listed = listed.data().as_array().unwrap().clone();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["origin"], "manual");
        assert_eq!(listed[0]["wabaName"], "Acme Trading");
    }
}

both_stores! {
    async fn a_signup_for_a_number_held_elsewhere_binds_nothing(server) {
        let admin = server.admin_client().await;
        let (other, _) = server.signup("other-shop", "owner@other.example").await;
        // The other account holds the number through a WABA of its own.
        let bind = json!({"accountName": "other-shop", "wabaId": "1000000000000777", "phoneNumberId": ACME_NUMBER});
        server.post_as(&other, "/whatsapp/account/bind", &bind).await.data();

        let code = mint_code(&server, ACME_WABA, Some(ACME_NUMBER), false).await;
        complete(&server, &admin, &code, ACME_WABA, Some(ACME_NUMBER), "cloud").await.assert_error(409, ErrorCode::Conflict);
        // No WABA left bound here without the number the sign-up was for.
        let wabas = server.post_as(&admin, "/whatsapp/account/wabaInfo", &json!({"accountName": ADMIN_ACCOUNT})).await;
        assert_eq!(wabas.data(), &json!([]));
        let listed = server.post_as(&admin, "/whatsapp/numbers/list", &json!({})).await;
        assert_eq!(listed.data(), &json!([]));
        // And the other account's number is untouched.
        let theirs = server.post_as(&other, "/whatsapp/numbers/get", &json!({"phoneNumberId": ACME_NUMBER})).await;
        assert_eq!(theirs.data()["wabaId"], "1000000000000777");
    }
}
