//! Abuse limits behind a reverse proxy: who the client is (`--trusted-proxies`), the login and
//! sign-up limits per client, per email and in total, `Retry-After` on every 429, the session
//! cookie's `Secure` flag (`--cookie-secure`), and hashing that cannot stall the API.
//!
//! The test client connects from 127.0.0.1: servers started with `--trusted-proxies 127.0.0.1/32`
//! treat it as a reverse proxy, the others as a client sending whatever headers it likes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use api_types::ErrorCode;
use serde_json::{json, Value};
use tokio::process::Command;
use wadesk_server::settings::CookieSecure;
use wadesk_server::Settings;

use crate::both_stores;
use crate::common::*;

/// The test client (127.0.0.1) is a trusted reverse proxy.
fn trusting_localhost(settings: &mut Settings) {
    settings.trusted_proxies = vec!["127.0.0.1/32".to_owned()];
}

/// POST `body` to an API path with extra request headers, from a fresh client (no cookies).
async fn post_with(server: &TestServer, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    let mut request = new_client().post(server.api_url(path)).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::read(request.send().await.expect("request sent")).await
}

async fn login_with(server: &TestServer, headers: &[(&str, &str)], email: &str, password: &str) -> Reply {
    post_with(server, "/auth/login", headers, &json!({ "email": email, "password": password })).await
}

async fn signup_with(server: &TestServer, headers: &[(&str, &str)], account_name: &str, email: &str) -> Reply {
    let body = json!({ "accountName": account_name, "email": email, "password": GOOD_PASSWORD, "name": "Owner" });
    post_with(server, "/auth/signup", headers, &body).await
}

/// A 429 with `Retry-After` (whole seconds, at most `most`) equal to the envelope's
/// `retryAfterSeconds`; returns the seconds.
fn assert_rate_limited(reply: &Reply, most: u64) -> u64 {
    reply.assert_error(429, ErrorCode::RateLimited);
    let header = reply.header("retry-after").unwrap_or_else(|| panic!("no Retry-After on {:?}", reply.headers));
    let seconds: u64 = header.parse().unwrap_or_else(|_| panic!("Retry-After {header:?} is not seconds"));
    assert!((1..=most).contains(&seconds), "Retry-After {seconds}");
    assert_eq!(reply.body["data"]["retryAfterSeconds"].as_u64(), Some(seconds), "{}", reply.body);
    seconds
}


/// Log the admin in with these headers; whether the session cookie came back `Secure`.
async fn secure_after_login(server: &TestServer, headers: &[(&str, &str)]) -> bool {
    let reply = login_with(server, headers, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    reply.data();
    reply_session_cookie(&reply).contains("; Secure")
}

both_stores! {
    async fn a_forged_forwarding_header_from_an_untrusted_peer_changes_nothing(server) {
        // Each guess claims another client; the server counts the connection's address anyway.
        let claims: [(&str, &str); 5] = [
            ("x-forwarded-for", "203.0.113.1"),
            ("x-forwarded-for", "203.0.113.2, 203.0.113.3"),
            ("forwarded", "for=203.0.113.4"),
            ("forwarded", "for=\"[2001:db8::1]:4711\""),
            ("x-real-ip", "203.0.113.5"),
        ];
        for claim in claims {
            login_with(&server, &[claim], ADMIN_EMAIL, "a wrong guess").await.assert_error(401, ErrorCode::InvalidCredentials);
        }
        let locked = login_with(&server, &[("x-forwarded-for", "198.51.100.77")], ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert!(assert_rate_limited(&locked, 900) > 850);
    }

    async fn through_a_trusted_proxy_each_forwarded_client_is_limited_on_its_own(server, trusting_localhost) {
        let client_a = [("x-forwarded-for", "203.0.113.1")];
        for _ in 0..5 {
            login_with(&server, &client_a, ADMIN_EMAIL, "a wrong guess").await.assert_error(401, ErrorCode::InvalidCredentials);
        }
        assert_rate_limited(&login_with(&server, &client_a, ADMIN_EMAIL, ADMIN_PASSWORD).await, 900);
        // Client A claiming to be B: the proxy appended A's real address, which is what counts.
        let a_claiming_b = [("x-forwarded-for", "203.0.113.2, 203.0.113.1")];
        assert_rate_limited(&login_with(&server, &a_claiming_b, ADMIN_EMAIL, ADMIN_PASSWORD).await, 900);
        // Client B, and an IPv6 client through a proxy that sends `Forwarded`, are not locked out.
        login_with(&server, &[("x-forwarded-for", "203.0.113.2")], ADMIN_EMAIL, ADMIN_PASSWORD).await.data();
        let ipv6 = [("forwarded", "for=\"[2001:db8::1]:4711\";proto=https")];
        login_with(&server, &ipv6, ADMIN_EMAIL, ADMIN_PASSWORD).await.data();
        // Without forwarding headers the proxy itself is the client: not locked either.
        login_with(&server, &[], ADMIN_EMAIL, ADMIN_PASSWORD).await.data();
    }

    async fn signups_are_limited_per_client_and_forged_headers_do_not_escape(server) {
        // Invalid sign-ups are refused before they count.
        for _ in 0..3 {
            signup_with(&server, &[], "has space", "owner@acme.io").await.assert_error(400, ErrorCode::Validation);
        }
        // Taken names count (and are refused before any hash is paid for).
        for attempt in 0..5 {
            let forged = format!("203.0.113.{attempt}");
            signup_with(&server, &[("x-forwarded-for", &forged)], ADMIN_ACCOUNT, &format!("new{attempt}@acme.io")).await
                .assert_error(409, ErrorCode::Conflict);
        }
        let refused = signup_with(&server, &[("x-forwarded-for", "198.51.100.1")], "acme", "owner@acme.io").await;
        let wait = assert_rate_limited(&refused, 3600);
        assert!(wait > 3500, "{wait}");
        assert!(refused.headers.get("set-cookie").is_none());
    }

    async fn through_a_trusted_proxy_signups_are_limited_per_forwarded_client(server, trusting_localhost) {
        let client_a = [("x-forwarded-for", "203.0.113.1")];
        for attempt in 0..5 {
            signup_with(&server, &client_a, ADMIN_ACCOUNT, &format!("new{attempt}@acme.io")).await.assert_error(409, ErrorCode::Conflict);
        }
        assert_rate_limited(&signup_with(&server, &client_a, "acme", "owner@acme.io").await, 3600);
        let user = signup_with(&server, &[("x-forwarded-for", "203.0.113.2")], "acme", "owner@acme.io").await;
        assert_eq!(user.data()["accountName"], "acme");
    }

    async fn signups_are_limited_in_total(server, trusting_localhost) {
        // 100 sign-ups an hour from all clients together: 20 clients, 5 each.
        for client in 0..20 {
            let forwarded = format!("198.51.100.{client}");
            for attempt in 0..5 {
                signup_with(&server, &[("x-forwarded-for", &forwarded)], ADMIN_ACCOUNT, &format!("n{client}x{attempt}@acme.io")).await
                    .assert_error(409, ErrorCode::Conflict);
            }
        }
        let fresh_client = [("x-forwarded-for", "203.0.113.200")];
        assert_rate_limited(&signup_with(&server, &fresh_client, "acme", "owner@acme.io").await, 3600);
        // Logging in is not affected.
        login_with(&server, &fresh_client, ADMIN_EMAIL, ADMIN_PASSWORD).await.data();
    }

    async fn auto_believes_https_from_a_trusted_proxy_only(server, trusting_localhost) {
        assert!(secure_after_login(&server, &[("x-forwarded-proto", "https")]).await);
        assert!(secure_after_login(&server, &[("x-forwarded-for", "203.0.113.1"), ("x-forwarded-proto", "https")]).await);
        assert!(secure_after_login(&server, &[("forwarded", "for=203.0.113.1;proto=https")]).await);
        assert!(!secure_after_login(&server, &[("x-forwarded-proto", "http")]).await);
        assert!(!secure_after_login(&server, &[]).await);
        // The client said https itself; the proxy appended what it saw.
        assert!(!secure_after_login(&server, &[("x-forwarded-for", "203.0.113.1"), ("x-forwarded-proto", "https, http")]).await);
        // Logging out clears the cookie with the same flags.
        let logout = post_with(&server, "/auth/logout", &[("x-forwarded-proto", "https")], &json!({})).await;
        assert!(reply_session_cookie(&logout).contains("; Secure"));
    }

    async fn auto_ignores_https_claimed_by_an_untrusted_peer(server) {
        assert!(!secure_after_login(&server, &[("x-forwarded-proto", "https")]).await);
        assert!(!secure_after_login(&server, &[("forwarded", "for=203.0.113.1;proto=https")]).await);
        let logout = post_with(&server, "/auth/logout", &[("x-forwarded-proto", "https")], &json!({})).await;
        assert!(!reply_session_cookie(&logout).contains("Secure"));
    }

    async fn auto_with_an_https_public_url_is_secure(server, |settings: &mut Settings| {
        settings.public_url = Some("https://wadesk.example.com".to_owned());
    }) {
        assert!(secure_after_login(&server, &[]).await);
    }

    async fn always_is_secure_even_over_plain_http(server, |settings: &mut Settings| {
        settings.cookie_secure = CookieSecure::Always;
    }) {
        assert!(secure_after_login(&server, &[]).await);
        assert!(secure_after_login(&server, &[("x-forwarded-proto", "http")]).await);
    }

    async fn never_is_not_secure_even_behind_an_https_proxy(server, |settings: &mut Settings| {
        trusting_localhost(settings);
        settings.public_url = Some("https://wadesk.example.com".to_owned());
        settings.cookie_secure = CookieSecure::Never;
    }) {
        assert!(!secure_after_login(&server, &[("x-forwarded-proto", "https")]).await);
    }
}

/// 200 guesses at once for one email, each from another client behind the trusted proxy: the
/// per-email ceiling lets exactly 50 through (attempts count from the moment they start), the
/// rest get 429, and the health endpoint keeps answering while the 50 wait to be hashed. On
/// SQLite only: the limits and the hashing do not depend on the store, and 50 hashes take a while.
#[tokio::test]
async fn the_per_email_ceiling_holds_under_200_concurrent_guesses_and_health_keeps_answering() {
    let server = TestServer::start(Store::Sqlite, trusting_localhost).await.expect("SQLite always runs");
    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..200u32 {
        let url = server.api_url("/auth/login");
        guesses.spawn(async move {
            let response = new_client()
                .post(url)
                .header("x-forwarded-for", format!("10.0.{}.{}", n / 256, n % 256))
                .json(&json!({ "email": ADMIN_EMAIL, "password": "a wrong guess" }))
                .send()
                .await
                .expect("request sent");
            Reply::read(response).await
        });
    }
    let mut slowest_health = Duration::ZERO;
    let mut health_checks_during_the_guesses = 0;
    let replies = {
        let all_replies = async {
            let mut replies = Vec::new();
            while let Some(reply) = guesses.join_next().await {
                replies.push(reply.expect("the guess task"));
            }
            replies
        };
        let health_checks = async {
            let mut pace = tokio::time::interval(Duration::from_millis(100));
            loop {
                pace.tick().await;
                let started = Instant::now();
                server.get("/intwa-api/health").await.data();
                slowest_health = slowest_health.max(started.elapsed());
                health_checks_during_the_guesses += 1;
            }
        };
        tokio::select! {
            replies = all_replies => replies,
            _ = health_checks => unreachable!("the health checks never end"),
        }
    };
    let wrong = replies.iter().filter(|reply| reply.status == 401).count();
    let limited: Vec<&Reply> = replies.iter().filter(|reply| reply.status == 429).collect();
    assert_eq!((wrong, limited.len()), (50, 150), "401s and 429s");
    for reply in limited {
        assert_rate_limited(reply, 900);
    }
    assert!(health_checks_during_the_guesses > 0, "health was asked while the guesses ran");
    assert!(slowest_health < Duration::from_secs(2), "health took {slowest_health:?} while the guesses were hashed");
    // The admin is locked out everywhere for at most the window; other emails are not.
    let fresh_client = [("x-forwarded-for", "203.0.113.250")];
    assert_rate_limited(&login_with(&server, &fresh_client, ADMIN_EMAIL, ADMIN_PASSWORD).await, 900);
    login_with(&server, &fresh_client, "other@example.com", "a wrong guess").await.assert_error(401, ErrorCode::InvalidCredentials);
}

#[test]
fn trusted_proxies_parse_from_the_command_line_and_bad_entries_are_named() {
    let mut settings = <Settings as clap::Parser>::parse_from([
        "wadesk-server",
        "--trusted-proxies",
        "10.0.0.0/8, ::1,2001:db8::/32,127.0.0.1",
    ]);
    settings.validate().expect("valid networks");
    let networks: Vec<String> = settings.trusted_proxy_networks.networks().iter().map(ToString::to_string).collect();
    assert_eq!(networks, ["10.0.0.0/8", "::1/128", "2001:db8::/32", "127.0.0.1/32"]);

    let mut default = <Settings as clap::Parser>::parse_from(["wadesk-server"]);
    default.validate().unwrap();
    assert!(default.trusted_proxy_networks.networks().is_empty(), "nobody is trusted by default");
    assert_eq!(default.cookie_secure, CookieSecure::Auto);

    for bad in ["10.0.0.0/33", "10.0.0.300", "proxy.internal", "10.1.0.0/8", "::1/129", "10.0.0.0/-1"] {
        let mut settings = <Settings as clap::Parser>::parse_from(["wadesk-server", "--trusted-proxies", bad]);
        let error = settings.validate().expect_err(bad);
        assert!(error.starts_with("--trusted-proxies: ") && error.contains(bad), "{bad}: {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}

/// The binary with a clean environment, expected to refuse to start: its one-line stderr.
async fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wadesk-server"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).envs(env.iter().copied());
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the server gave up within a minute")
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?} {env:?}: stderr {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?} {env:?}: one line, got {stderr:?}");
    assert!(stderr.starts_with("wadesk-server: ") && !stderr.contains("panicked"), "{stderr}");
    stderr
}

#[tokio::test]
async fn bad_proxy_and_cookie_settings_stop_the_server_with_one_line() {
    let flag = refused(&["--trusted-proxies", "10.0.0.0/8,not-a-network"], &[]).await;
    assert!(flag.contains("--trusted-proxies") && flag.contains("not-a-network"), "{flag}");
    let env = refused(&[], &[("WADESK_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1/16")]).await;
    assert!(env.contains("--trusted-proxies") && env.contains("did you mean 192.168.0.0/16"), "{env}");
    let cookie = refused(&["--cookie-secure", "sometimes"], &[]).await;
    assert!(cookie.contains("--cookie-secure"), "{cookie}");
}
