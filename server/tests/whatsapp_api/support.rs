//! Helpers the WhatsApp API tests share: minting sandbox codes, completing sign-ups, polling.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{AnyPool, Row};

use crate::common::*;

/// The sandbox's fake portfolios (see `upstream::sandbox::PORTFOLIOS`).
pub const ACME_WABA: &str = "1000000000000001";
pub const ACME_NUMBER: &str = "2000000000000001";
pub const ACME_SECOND_NUMBER: &str = "2000000000000002";
pub const BAKERY_WABA: &str = "1000000000000002";
pub const BAKERY_NUMBER: &str = "2000000000000003";

/// How long background work (sandbox simulation, webhook processing) may take in a test.
pub const SETTLE: Duration = Duration::from_secs(15);

/// POST JSON to a path under the base path that is not an API path (`/sandbox/...`).
pub async fn post_public(server: &TestServer, path: &str, body: &Value) -> Reply {
    let response = server.client.post(format!("{}{path}", server.url)).json(body).send().await.expect("request sent");
    Reply::read(response).await
}

/// Mint a code in the sandbox popup's way.
pub async fn mint_code(server: &TestServer, waba_id: &str, phone_number_id: Option<&str>, decline_history: bool) -> String {
    let reply = post_public(
        server,
        "/sandbox/facebook/oauth/code",
        &json!({"waba_id": waba_id, "phone_number_id": phone_number_id, "business_id": "3000000000000001", "decline_history": decline_history}),
    )
    .await;
    reply.data()["code"].as_str().expect("a code").to_owned()
}

pub async fn complete(server: &TestServer, client: &reqwest::Client, code: &str, waba_id: &str, phone_number_id: Option<&str>, flow: &str) -> Reply {
    let mut body = json!({"code": code, "wabaId": waba_id, "flow": flow});
    if let Some(id) = phone_number_id {
        body["phoneNumberId"] = json!(id);
    }
    server.post_as(client, "/whatsapp/signup/complete", &body).await
}

/// Mint a code and complete the sign-up with it; asserts success.
pub async fn sign_up_number(server: &TestServer, client: &reqwest::Client, waba_id: &str, phone_number_id: &str, flow: &str) -> Value {
    let code = mint_code(server, waba_id, Some(phone_number_id), false).await;
    complete(server, client, &code, waba_id, Some(phone_number_id), flow).await.data().clone()
}

/// `numbers/get` until `done` holds (or panic after [`SETTLE`]).
pub async fn number_until(server: &TestServer, client: &reqwest::Client, phone_number_id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + SETTLE;
    loop {
        let reply = server.post_as(client, "/whatsapp/numbers/get", &json!({"phoneNumberId": phone_number_id})).await;
        let number = reply.data().clone();
        if done(&number) {
            return number;
        }
        assert!(Instant::now() < deadline, "waited for {what}; the number is {number}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A pool on the test server's database, to look at what was stored.
pub async fn database(server: &TestServer) -> AnyPool {
    wadesk_server::db::connect(&server.database_url).await.expect("the test database opens")
}

/// A text column of the first row a query returns.
pub async fn text_of(db: &AnyPool, sql: &str, bind: &str) -> Option<String> {
    let row = sqlx::query(sql).bind(bind).fetch_optional(db).await.expect("query runs")?;
    row.try_get::<Option<String>, _>(0).expect("a text column")
}

pub async fn count_of(db: &AnyPool, sql: &str, bind: &str) -> i64 {
    sqlx::query(sql).bind(bind).fetch_one(db).await.expect("query runs").try_get::<i64, _>(0).expect("a count")
}

/// An agent in the seeded account, logged in.
pub async fn agent_client(server: &TestServer) -> reqwest::Client {
    let db = database(server).await;
    let account_id: String = sqlx::query("SELECT id FROM accounts WHERE name_key = $1")
        .bind(ADMIN_ACCOUNT)
        .fetch_one(&db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let hash = wadesk_server::auth::password::hash(GOOD_PASSWORD.to_owned()).await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, account_id, email, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(random_hex())
    .bind(account_id)
    .bind("agent@wadesk.local")
    .bind("Agent")
    .bind("agent")
    .bind(hash)
    .bind(0_i64)
    .execute(&db)
    .await
    .unwrap();
    server.login("agent@wadesk.local", GOOD_PASSWORD).await
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().cloned().collect();
    keys.sort();
    keys
}

/// Webhook deliveries signed with the secrets a test server's settings were given.
pub struct SignedWebhooks {
    pub meta_app_secret: &'static str,
    pub ycloud_secret: &'static str,
}

impl SignedWebhooks {
    /// Post a signed Meta delivery and wait until it has settled; returns its state.
    pub async fn meta(&self, server: &TestServer, payload: &Value) -> String {
        let body = payload.to_string();
        let signature = wadesk_server::webhooks::signature::meta_signature(self.meta_app_secret, body.as_bytes());
        let reply = post_signed(server, "/webhooks/meta", "x-hub-signature-256", signature, &body).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        settled(server, &body).await
    }

    /// Post a signed YCloud delivery and wait until it has settled; returns its state.
    pub async fn ycloud(&self, server: &TestServer, payload: &Value) -> String {
        let body = payload.to_string();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let signature = wadesk_server::webhooks::signature::ycloud_signature(self.ycloud_secret, now, body.as_bytes());
        let reply = post_signed(server, "/webhooks/ycloud", "ycloud-signature", signature, &body).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
        settled(server, &body).await
    }
}

async fn post_signed(server: &TestServer, path: &str, header: &str, signature: String, body: &str) -> Reply {
    let request = server
        .client
        .post(format!("{}{path}", server.url))
        .header("content-type", "application/json")
        .header(header, signature)
        .body(body.to_owned());
    Reply::read(request.send().await.unwrap()).await
}

/// The state of the latest delivery of `body`, once no delivery of this server is pending.
pub async fn settled(server: &TestServer, body: &str) -> String {
    use sha2::Digest;
    let hash = hex::encode(sha2::Sha256::digest(body.as_bytes()));
    let db = database(server).await;
    let deadline = Instant::now() + SETTLE;
    loop {
        let pending = count_of(&db, "SELECT COUNT(*) FROM webhook_events WHERE state = $1", "pending").await;
        let state = text_of(&db, "SELECT state FROM webhook_events WHERE body_sha256 = $1 ORDER BY received_at DESC", &hash).await;
        match state {
            Some(state) if pending == 0 => return state,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(30)).await,
            other => panic!("the delivery did not settle: {other:?}"),
        }
    }
}
