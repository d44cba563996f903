//! `/intwa-api/auth/*`: login, sessions, logout, sign-up, rate limits, tenant isolation.

use api_types::ErrorCode;
use serde_json::json;

use crate::both_stores;
use crate::common::*;


both_stores! {
    async fn login_answers_the_user_and_sets_a_strict_http_only_cookie(server) {
        let reply = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await;
        let user = reply.data();
        assert_eq!(user["email"], ADMIN_EMAIL);
        assert_eq!(user["role"], "admin");
        assert_eq!(user["accountName"], ADMIN_ACCOUNT);
        assert!(user["id"].as_str().is_some_and(|id| !id.is_empty()));
        let cookie = reply_session_cookie(&reply);
        for part in ["HttpOnly", "SameSite=Strict", "Path=/;", "Max-Age=2592000"] {
            assert!(cookie.contains(part), "{part} missing in {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP cannot keep a Secure cookie: {cookie}");
        let me = server.post("/auth/me", &json!({})).await;
        assert_eq!(me.data(), user);
    }

    async fn behind_an_https_proxy_the_cookie_is_secure(server, |settings| settings.trusted_proxies = vec!["127.0.0.1/32".to_owned()]) {
        let response = server
            .client
            .post(server.api_url("/auth/login"))
            .header("x-forwarded-proto", "https")
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        let reply = Reply::read(response).await;
        assert!(reply_session_cookie(&reply).contains("; Secure"));
    }

    async fn emails_are_matched_whatever_their_case_and_spaces(server) {
        let reply = server.post("/auth/login", &json!({ "email": " Admin@WADESK.local ", "password": ADMIN_PASSWORD })).await;
        assert_eq!(reply.data()["email"], ADMIN_EMAIL);
    }

    async fn wrong_password_and_unknown_email_get_the_same_answer(server) {
        let wrong_password = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": "not the password" })).await;
        let unknown_user = server.post("/auth/login", &json!({ "email": "nobody@example.com", "password": "not the password" })).await;
        wrong_password.assert_error(401, ErrorCode::InvalidCredentials);
        unknown_user.assert_error(401, ErrorCode::InvalidCredentials);
        assert_eq!(wrong_password.body, unknown_user.body);
        assert!(wrong_password.headers.get("set-cookie").is_none());
        server.post("/auth/me", &json!({})).await.assert_error(401, ErrorCode::Unauthorized);
    }

    async fn login_needs_both_fields(server) {
        let reply = server.post("/auth/login", &json!({ "email": "  ", "password": "" })).await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(
            reply.field_errors(),
            [("email".to_owned(), "required".to_owned()), ("password".to_owned(), "required".to_owned())]
        );
    }

    async fn login_refuses_a_huge_password_or_email_before_hashing(server) {
        // No stored password is over the sign-up maximum: Argon2 over a megabyte would be work for nothing.
        let huge = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": "p".repeat(1024 * 1024) })).await;
        huge.assert_error(400, ErrorCode::Validation);
        assert_eq!(huge.field_errors(), [("password".to_owned(), "too_long".to_owned())]);
        let long_email = format!("{}@example.com", "e".repeat(1024 * 1024));
        let reply = server.post("/auth/login", &json!({ "email": long_email, "password": "a wrong guess" })).await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(reply.field_errors(), [("email".to_owned(), "too_long".to_owned())]);
        // A refused attempt is not a guess: the admin's five tries are all still there.
        for _ in 0..4 {
            server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": "a wrong guess" })).await
                .assert_error(401, ErrorCode::InvalidCredentials);
        }
        server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await.data();
    }

    async fn login_with_control_characters_in_the_email_is_a_400_not_a_500(server) {
        // PostgreSQL refuses to compare a text holding NUL; no stored email can hold one anyway.
        for email in ["admin\u{0}@wadesk.local", "admin@wadesk.local\u{7}"] {
            let reply = server.post("/auth/login", &json!({ "email": email, "password": ADMIN_PASSWORD })).await;
            reply.assert_error(400, ErrorCode::Validation);
            assert_eq!(reply.field_errors(), [("email".to_owned(), "invalid".to_owned())]);
        }
    }

    async fn the_per_email_limit_holds_whatever_case_and_spaces_the_guesser_uses(server) {
        let variants = [ADMIN_EMAIL.to_owned(), ADMIN_EMAIL.to_uppercase(), format!("  {ADMIN_EMAIL}"), "Admin@Wadesk.Local ".to_owned(), "ADMIN@wadesk.LOCAL".to_owned()];
        for email in &variants {
            server.post("/auth/login", &json!({ "email": email, "password": "a wrong guess" })).await
                .assert_error(401, ErrorCode::InvalidCredentials);
        }
        server.post("/auth/login", &json!({ "email": "aDmIn@wadesk.local", "password": ADMIN_PASSWORD })).await
            .assert_error(429, ErrorCode::RateLimited);
    }

    async fn a_valid_session_survives_odd_neighbouring_cookies(server) {
        let login = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await;
        let token_pair = reply_session_cookie(&login).split(';').next().unwrap().to_owned();
        // Another app on the same host set a cookie whose value is not UTF-8 (bytes browsers do send).
        let mut odd = b"other=\xff\xfe; ".to_vec();
        odd.extend_from_slice(token_pair.as_bytes());
        let response = reqwest::Client::new()
            .post(server.api_url("/auth/me"))
            .header("cookie", reqwest::header::HeaderValue::from_bytes(&odd).unwrap())
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(Reply::read(response).await.data()["email"], ADMIN_EMAIL);
    }

    async fn garbage_session_cookies_get_a_json_401(server) {
        let long = format!("wadesk_session={}", "A".repeat(16 * 1024));
        let cookies: Vec<Vec<u8>> = vec![
            b"wadesk_session=".to_vec(),
            b"wadesk_session".to_vec(),
            b"wadesk_session=\xff\x80garbage".to_vec(),
            b"wadesk_session=%00%zz; wadesk_session=".to_vec(),
            b";;;=;=x;wadesk_session==".to_vec(),
            long.into_bytes(),
        ];
        for cookie in cookies {
            let response = reqwest::Client::new()
                .post(server.api_url("/auth/me"))
                .header("cookie", reqwest::header::HeaderValue::from_bytes(&cookie).unwrap())
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            Reply::read(response).await.assert_error(401, ErrorCode::Unauthorized);
            let response = reqwest::Client::new()
                .post(server.api_url("/auth/logout"))
                .header("cookie", reqwest::header::HeaderValue::from_bytes(&cookie).unwrap())
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            Reply::read(response).await.data();
        }
    }

    async fn the_per_address_limit_ignores_x_forwarded_for(server) {
        // Every guess claims a new address; the server counts the connection's address anyway.
        for attempt in 0..20 {
            let response = server.client.post(server.api_url("/auth/login"))
                .header("x-forwarded-for", format!("10.0.0.{attempt}"))
                .header("x-real-ip", format!("10.0.1.{attempt}"))
                .json(&json!({ "email": format!("user{attempt}@example.com"), "password": "a wrong guess" }))
                .send().await.unwrap();
            Reply::read(response).await.assert_error(401, ErrorCode::InvalidCredentials);
        }
        let response = server.client.post(server.api_url("/auth/login"))
            .header("x-forwarded-for", "192.0.2.99")
            .json(&json!({ "email": "fresh@example.com", "password": "a wrong guess" }))
            .send().await.unwrap();
        Reply::read(response).await.assert_error(429, ErrorCode::RateLimited);
    }

    async fn signup_stores_html_in_a_name_as_text_and_refuses_look_alike_account_names(server) {
        let name = "<script>alert(1)</script> & \"Ann\"";
        let reply = server.post("/auth/signup", &json!({
            "accountName": "html-co", "email": "html@example.com", "password": GOOD_PASSWORD, "name": name
        })).await;
        assert_eq!(reply.data()["name"], name);
        // Cyrillic 'а' looks like 'a' but is not one of the allowed characters.
        let look_alike = server.post("/auth/signup", &json!({
            "accountName": "w\u{0430}desk", "email": "spoof@example.com", "password": GOOD_PASSWORD, "name": "S"
        })).await;
        look_alike.assert_error(400, ErrorCode::Validation);
        assert_eq!(look_alike.field_errors(), [("accountName".to_owned(), "invalid".to_owned())]);
    }

    async fn racing_signups_for_one_email_or_name_create_one_account(server) {
        // The same email and account name in different cases, all at once: one wins, the rest get 409.
        let attempt = |i: usize| {
            let body = json!({
                "accountName": if i.is_multiple_of(2) { "Race-Co" } else { "race-co" },
                "email": if i.is_multiple_of(2) { "Racer@Example.com" } else { " racer@example.COM " },
                "password": GOOD_PASSWORD,
                "name": format!("Racer {i}"),
            });
            let server = &server;
            async move { server.post_as(&new_client(), "/auth/signup", &body).await }
        };
        // Five: one client may try at most five sign-ups an hour.
        let (a, b, c, d, e) = tokio::join!(attempt(0), attempt(1), attempt(2), attempt(3), attempt(4));
        let replies = [a, b, c, d, e];
        let won = replies.iter().filter(|reply| reply.status == 200).count();
        assert_eq!(won, 1, "{:?}", replies.iter().map(|reply| &reply.body).collect::<Vec<_>>());
        for reply in replies.iter().filter(|reply| reply.status != 200) {
            reply.assert_error(409, ErrorCode::Conflict);
        }
    }

    async fn repeated_failures_for_one_email_are_rate_limited(server) {
        for attempt in 1..=5 {
            let reply = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": format!("guess {attempt}") })).await;
            reply.assert_error(401, ErrorCode::InvalidCredentials);
        }
        // Locked now, even with the right password: guessing gains nothing.
        let locked = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await;
        locked.assert_error(429, ErrorCode::RateLimited);
        let retry_after: u64 = locked.header("retry-after").expect("Retry-After header").parse().unwrap();
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        assert_eq!(locked.body["data"]["retryAfterSeconds"].as_u64(), Some(retry_after));
        // Other emails are not locked by this one.
        let other = server.post("/auth/login", &json!({ "email": "other@example.com", "password": "whatever it is" })).await;
        other.assert_error(401, ErrorCode::InvalidCredentials);
    }

    async fn a_successful_login_resets_the_email_counter(server) {
        for _ in 0..4 {
            server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": "a wrong guess" })).await
                .assert_error(401, ErrorCode::InvalidCredentials);
        }
        server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await.data();
        for _ in 0..4 {
            server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": "a wrong guess" })).await
                .assert_error(401, ErrorCode::InvalidCredentials);
        }
        server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await.data();
    }

    async fn one_address_guessing_many_emails_is_rate_limited(server) {
        for attempt in 0..20 {
            server.post("/auth/login", &json!({ "email": format!("user{attempt}@example.com"), "password": "a wrong guess" })).await
                .assert_error(401, ErrorCode::InvalidCredentials);
        }
        let reply = server.post("/auth/login", &json!({ "email": "fresh@example.com", "password": "a wrong guess" })).await;
        reply.assert_error(429, ErrorCode::RateLimited);
        assert!(reply.header("retry-after").is_some());
    }

    async fn logout_ends_the_session_on_the_server_and_is_idempotent(server) {
        let login = server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await;
        let cookie = reply_session_cookie(&login);
        let token_pair = cookie.split(';').next().unwrap().to_owned();
        server.post("/auth/me", &json!({})).await.data();

        let logout = server.post("/auth/logout", &json!({})).await;
        logout.data();
        let cleared = reply_session_cookie(&logout);
        assert!(cleared.starts_with("wadesk_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
        server.post("/auth/me", &json!({})).await.assert_error(401, ErrorCode::Unauthorized);
        server.post("/auth/logout", &json!({})).await.data();

        // The old token itself is dead, not just forgotten by the browser.
        let replayed = reqwest::Client::new()
            .post(server.api_url("/auth/me"))
            .header("cookie", token_pair)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        Reply::read(replayed).await.assert_error(401, ErrorCode::Unauthorized);
    }

    async fn made_up_session_tokens_are_refused(server) {
        let response = reqwest::Client::new()
            .post(server.api_url("/auth/me"))
            .header("cookie", "wadesk_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .send()
            .await
            .unwrap();
        Reply::read(response).await.assert_error(401, ErrorCode::Unauthorized);
    }

    async fn signup_creates_an_account_and_logs_its_admin_in(server) {
        let body = json!({ "accountName": " Acme.Co ", "email": " Owner@Acme.io ", "password": GOOD_PASSWORD, "name": " Ann Owner " });
        let reply = server.post("/auth/signup", &body).await;
        let user = reply.data().clone();
        assert_eq!(user["accountName"], "Acme.Co");
        assert_eq!(user["email"], "owner@acme.io");
        assert_eq!(user["name"], "Ann Owner");
        assert_eq!(user["role"], "admin");
        assert!(reply_session_cookie(&reply).contains("HttpOnly"));
        assert_eq!(server.post("/auth/me", &json!({})).await.data(), &user);
        // And the new admin can log in again later.
        let again = server.login("owner@acme.io", GOOD_PASSWORD).await;
        assert_eq!(server.post_as(&again, "/auth/me", &json!({})).await.data()["accountId"], user["accountId"]);
    }

    async fn signup_refuses_a_taken_email_or_account_name(server) {
        server.signup("acme", "owner@acme.io").await;
        let same_email = server.post("/auth/signup", &json!({
            "accountName": "another", "email": "OWNER@acme.io", "password": GOOD_PASSWORD, "name": "B"
        })).await;
        same_email.assert_error(409, ErrorCode::Conflict);
        assert_eq!(same_email.field_errors(), [("email".to_owned(), "taken".to_owned())]);

        let same_account = server.post("/auth/signup", &json!({
            "accountName": "ACME", "email": "new@acme.io", "password": GOOD_PASSWORD, "name": "B"
        })).await;
        same_account.assert_error(409, ErrorCode::Conflict);
        assert_eq!(same_account.field_errors(), [("accountName".to_owned(), "taken".to_owned())]);

        let both = server.post("/auth/signup", &json!({
            "accountName": ADMIN_ACCOUNT, "email": ADMIN_EMAIL, "password": GOOD_PASSWORD, "name": "B"
        })).await;
        assert_eq!(
            both.field_errors(),
            [("accountName".to_owned(), "taken".to_owned()), ("email".to_owned(), "taken".to_owned())]
        );
        assert!(both.headers.get("set-cookie").is_none());
    }

    async fn signup_reports_every_invalid_field(server) {
        let reply = server.post("/auth/signup", &json!({
            "accountName": "has space", "email": "not-an-email", "password": "short", "name": "   "
        })).await;
        reply.assert_error(400, ErrorCode::Validation);
        assert_eq!(
            reply.field_errors(),
            [
                ("accountName".to_owned(), "invalid".to_owned()),
                ("name".to_owned(), "required".to_owned()),
                ("email".to_owned(), "invalid".to_owned()),
                ("password".to_owned(), "too_short".to_owned()),
            ]
        );
        let long = server.post("/auth/signup", &json!({
            "accountName": "a".repeat(65), "email": "ok@example.com", "password": "p".repeat(257), "name": "n".repeat(101)
        })).await;
        assert_eq!(
            long.field_errors(),
            [
                ("accountName".to_owned(), "too_long".to_owned()),
                ("name".to_owned(), "too_long".to_owned()),
                ("password".to_owned(), "too_long".to_owned()),
            ]
        );
        // Nothing was created: the same valid sign-up still works.
        server.signup("has-no-space", "ok@example.com").await;
    }

    async fn signup_can_be_turned_off(server, |settings| settings.signup_enabled = false) {
        let reply = server.post("/auth/signup", &json!({
            "accountName": "acme", "email": "owner@acme.io", "password": GOOD_PASSWORD, "name": "Ann"
        })).await;
        reply.assert_error(403, ErrorCode::SignupDisabled);
        // Nothing was created.
        server.post("/auth/login", &json!({ "email": "owner@acme.io", "password": GOOD_PASSWORD })).await
            .assert_error(401, ErrorCode::InvalidCredentials);
    }

    async fn each_session_sees_only_its_own_account(server) {
        // Note for the WhatsApp routes: their tests check that B's session cannot read or change
        // A's numbers (server/tests/whatsapp_*.rs); here the session itself is scoped.
        let admin_a = server.admin_client().await;
        let (client_b, user_b) = server.signup("tenant-b", "owner@tenant-b.io").await;
        let me_a = server.post_as(&admin_a, "/auth/me", &json!({})).await.data().clone();
        let me_b = server.post_as(&client_b, "/auth/me", &json!({})).await.data().clone();
        assert_eq!(me_b, user_b);
        assert_eq!(me_b["accountName"], "tenant-b");
        assert_eq!(me_a["accountName"], ADMIN_ACCOUNT);
        assert_ne!(me_a["accountId"], me_b["accountId"]);
        // Logging B out leaves A's session alone.
        server.post_as(&client_b, "/auth/logout", &json!({})).await.data();
        server.post_as(&admin_a, "/auth/me", &json!({})).await.data();
        server.post_as(&client_b, "/auth/me", &json!({})).await.assert_error(401, ErrorCode::Unauthorized);
    }
}

#[tokio::test]
async fn login_takes_as_long_for_an_unknown_email_as_for_a_wrong_password() {
    let server = TestServer::sqlite().await;
    // Warm up (the dummy hash is made on first use).
    server.post("/auth/login", &json!({ "email": "warm@example.com", "password": "x" })).await;
    let time = |email: &'static str| {
        let server = &server;
        async move {
            let started = std::time::Instant::now();
            for _ in 0..3 {
                server.post("/auth/login", &json!({ "email": email, "password": "a wrong guess" })).await;
            }
            started.elapsed()
        }
    };
    let unknown = time("nobody@example.com").await;
    let known = time(ADMIN_EMAIL).await;
    // Both run one Argon2 verification; without the dummy hash the unknown email would be ~100x faster.
    assert!(unknown * 3 > known, "unknown {unknown:?} vs known {known:?}");
}
