//! The shared harness for the server's integration tests: a real server on `127.0.0.1:0` over a
//! real database, spoken to over real HTTP.
//!
//! Use it from a test file at `server/tests/*.rs` with `mod common;` (or from a test folder with
//! `#[path = "../common/mod.rs"] mod common;`), then either:
//!
//! ```ignore
//! // one test per store: `my_check::sqlite` and `my_check::postgres`
//! both_stores! {
//!     async fn my_check(server) {
//!         let admin = server.admin_client().await;
//!         let reply = server.post_as(&admin, "/auth/me", &json!({})).await;
//!         assert_eq!(reply.data()["email"], ADMIN_EMAIL);
//!     }
//!     // with settings of its own:
//!     async fn no_signup(server, |settings| settings.signup_enabled = false) { ... }
//! }
//! ```
//!
//! or by hand: `TestServer::sqlite().await`, `TestServer::postgres().await` (`None`, with a note
//! on stderr, when `WADESK_TEST_POSTGRES_URL` is unset), or `TestServer::start(store, configure)`.
//! Under CI (`CI` set to anything non-empty) an unset `WADESK_TEST_POSTGRES_URL` fails every
//! PostgreSQL test instead: CI must never pass a PostgreSQL half it did not run.
//!
//! Each server gets a fresh database: a new SQLite file in a temp folder, or a new PostgreSQL
//! database `wadesk_test_<random>` made through `WADESK_TEST_POSTGRES_URL` (a role that may
//! CREATEDB, e.g. `postgres://wadesk:wadesk@127.0.0.1:5432/postgres`) and dropped afterwards.
//! The seeded admin is [`ADMIN_EMAIL`] / [`ADMIN_PASSWORD`] in account [`ADMIN_ACCOUNT`]; `dist/`
//! holds a tiny stand-in bundle whose index.html contains [`TEST_BUNDLE_MARKER`].

#![allow(dead_code)]

use std::path::PathBuf;

use rand::RngCore;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection as _, Executor as _};
use wadesk_server::{RunningServer, Settings};

pub const ADMIN_EMAIL: &str = "admin@wadesk.local";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const ADMIN_ACCOUNT: &str = "wadesk";
/// A password that passes sign-up's checks.
pub const GOOD_PASSWORD: &str = "a long enough password";
/// Appears in the stand-in bundle's index.html.
pub const TEST_BUNDLE_MARKER: &str = "wadesk test bundle";
pub const POSTGRES_URL_VAR: &str = "WADESK_TEST_POSTGRES_URL";
/// Set on CI machines.
pub const CI_VAR: &str = "CI";

/// Whether the tests run under CI: `CI` is set and not empty (nor `false` or `0`, as xtask reads it).
pub fn under_ci() -> bool {
    std::env::var(CI_VAR).is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The PostgreSQL server the tests make their databases on, from `WADESK_TEST_POSTGRES_URL`.
/// Unset (or blank): `None` with a note on stderr, so a developer without PostgreSQL runs the
/// SQLite halves; under CI it panics instead, so the PostgreSQL halves fail rather than pass
/// without running (`cargo xtask test` always sets the variable).
pub fn postgres_url() -> Option<String> {
    let url = std::env::var(POSTGRES_URL_VAR).ok().filter(|url| !url.trim().is_empty());
    if url.is_none() {
        if under_ci() {
            panic!(
                "{POSTGRES_URL_VAR} is not set, and {CI_VAR} is: under CI the PostgreSQL tests must run, not be skipped. \
                 Run `cargo xtask test` (it starts PostgreSQL and sets the variable), or set \
                 {POSTGRES_URL_VAR}=postgres://wadesk:wadesk@127.0.0.1:5432/postgres"
            );
        }
        eprintln!("skipping PostgreSQL: {POSTGRES_URL_VAR} not set");
    }
    url
}

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

/// Keep `Settings::for_tests` as it is (the default for [`both_stores!`]).
pub fn default_settings(_settings: &mut Settings) {}

/// A running server with its own database and bundle folder; both are removed on drop.
pub struct TestServer {
    /// `http://127.0.0.1:<port>{base_path}`.
    pub url: String,
    /// `http://127.0.0.1:<port>`.
    pub origin: String,
    /// A client with a cookie store, not logged in. It does not follow redirects.
    pub client: reqwest::Client,
    pub store: Store,
    pub database_url: String,
    /// The stand-in bundle (settings.dist unless the test changed it).
    pub dist: PathBuf,
    pub running: Option<RunningServer>,
    temp_dir: PathBuf,
    postgres: Option<PostgresDatabase>,
}

/// One HTTP answer, its body parsed as JSON (or kept as a JSON string when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The envelope's `code` (0 on success).
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or_else(|| panic!("no numeric code in {}", self.body))
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    /// The envelope's `data`, after asserting the call succeeded.
    pub fn data(&self) -> &Value {
        assert!(self.status.is_success() && self.code() == 0, "expected success, got {} {}", self.status, self.body);
        &self.body["data"]
    }

    /// `(field, code)` of each field error.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.body["data"]["fieldErrors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|error| (error["field"].as_str().unwrap_or("").to_owned(), error["code"].as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Assert an error with this HTTP status and envelope code.
    pub fn assert_error(&self, status: u16, code: api_types::ErrorCode) {
        assert_eq!(self.status.as_u16(), status, "status of {}", self.body);
        assert_eq!(self.code(), code.code(), "code of {}", self.body);
        assert!(!self.message().is_empty(), "an error needs a message: {}", self.body);
    }
}

impl TestServer {
    /// A server on a fresh SQLite file with the test settings.
    pub async fn sqlite() -> TestServer {
        TestServer::start(Store::Sqlite, default_settings).await.expect("SQLite always runs")
    }

    /// A server on a fresh PostgreSQL database, or `None` when `WADESK_TEST_POSTGRES_URL` is unset
    /// (a panic instead under CI: [`postgres_url`]).
    pub async fn postgres() -> Option<TestServer> {
        TestServer::start(Store::Postgres, default_settings).await
    }

    /// A server on `store` with `Settings::for_tests`, changed by `configure` before it starts.
    /// `None` only for PostgreSQL when `WADESK_TEST_POSTGRES_URL` is unset (under CI that panics).
    pub async fn start(store: Store, configure: impl FnOnce(&mut Settings)) -> Option<TestServer> {
        let temp_dir = std::env::temp_dir().join(format!("wadesk-test-{}", random_hex()));
        let dist = temp_dir.join("dist");
        write_stand_in_bundle(&dist);
        let (database_url, postgres) = match store {
            Store::Sqlite => (format!("sqlite://{}", temp_dir.join("wadesk.db").display()), None),
            Store::Postgres => {
                let database = match PostgresDatabase::create().await {
                    Some(database) => database,
                    None => {
                        let _ = std::fs::remove_dir_all(&temp_dir);
                        return None;
                    }
                };
                (database.url.clone(), Some(database))
            }
        };
        let mut settings = Settings::for_tests(&database_url, dist.clone());
        configure(&mut settings);
        let mut server = TestServer {
            url: String::new(),
            origin: String::new(),
            client: new_client(),
            store,
            database_url,
            dist,
            running: None,
            temp_dir,
            postgres,
        };
        server.run(settings).await;
        Some(server)
    }

    /// Stop the server and start it again on the same database (a restart), with new settings.
    pub async fn restart(&mut self, configure: impl FnOnce(&mut Settings)) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        let mut settings = Settings::for_tests(&self.database_url, self.dist.clone());
        configure(&mut settings);
        self.client = new_client();
        self.run(settings).await;
    }

    async fn run(&mut self, settings: Settings) {
        let running = wadesk_server::start(settings).await.unwrap_or_else(|reason| panic!("server did not start: {reason}"));
        self.origin = format!("http://{}", running.addr);
        self.url = running.url();
        self.running = Some(running);
    }

    /// `{url}/intwa-api{path}`, e.g. `api_url("/auth/me")`.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}/intwa-api{path}", self.url)
    }

    /// POST JSON to an API path with the server's own client.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_as(&self.client, path, body).await
    }

    /// POST JSON to an API path (`/auth/login`) with the given client (and its cookies).
    pub async fn post_as(&self, client: &reqwest::Client, path: &str, body: &Value) -> Reply {
        let response = client.post(self.api_url(path)).json(body).send().await.expect("request sent");
        Reply::read(response).await
    }

    /// GET a path under the base path (`/config.json`, `/intwa-api/health`).
    pub async fn get(&self, path: &str) -> Reply {
        let response = self.client.get(format!("{}{path}", self.url)).send().await.expect("request sent");
        Reply::read(response).await
    }

    /// A fresh client logged in as `email`.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Client {
        let client = new_client();
        let reply = self.post_as(&client, "/auth/login", &json!({ "email": email, "password": password })).await;
        reply.data();
        client
    }

    /// A fresh client logged in as the seeded admin.
    pub async fn admin_client(&self) -> reqwest::Client {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Sign up a new account with its admin; returns the logged-in client and the `SessionUser`.
    pub async fn signup(&self, account_name: &str, email: &str) -> (reqwest::Client, Value) {
        let client = new_client();
        let body = json!({ "accountName": account_name, "email": email, "password": GOOD_PASSWORD, "name": "Owner" });
        let reply = self.post_as(&client, "/auth/signup", &body).await;
        let user = reply.data().clone();
        (client, user)
    }

    /// Stop gracefully (dropping also stops it, without waiting).
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.temp_dir);
        if let Some(database) = self.postgres.take() {
            database.drop_now();
        }
    }
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, headers, body }
    }
}

/// A client with cookies that does not follow redirects (tests look at them).
pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

pub fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn write_stand_in_bundle(dist: &std::path::Path) {
    std::fs::create_dir_all(dist.join("assets")).expect("create the stand-in bundle");
    let index = format!(
        "<!doctype html><html><head><base href=\"/\"><title>{TEST_BUNDLE_MARKER}</title>\
         <script type=\"module\" src=\"assets/app.js\"></script></head><body>{TEST_BUNDLE_MARKER}</body></html>"
    );
    std::fs::write(dist.join("index.html"), index).expect("write index.html");
    std::fs::write(dist.join("assets/app.js"), "console.log('wadesk test bundle');").expect("write app.js");
    // A file named as Trunk names its output, with the content hash in the name.
    std::fs::write(dist.join("wadesk-0123456789abcdef_bg.wasm"), b"\0asm").expect("write the wasm");
}

/// A database made for one test on the server at `WADESK_TEST_POSTGRES_URL`.
struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    async fn create() -> Option<PostgresDatabase> {
        let admin_url = postgres_url()?;
        let name = format!("wadesk_test_p{}_{}", std::process::id(), random_hex());
        let mut connection = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|cause| panic!("cannot connect to {POSTGRES_URL_VAR}: {cause}"));
        drop_databases_of_ended_runs(&mut connection).await;
        connection
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|cause| panic!("cannot create database {name}: {cause}"));
        let _ = connection.close().await;
        let mut url = url::Url::parse(&admin_url).expect("WADESK_TEST_POSTGRES_URL is a URL");
        url.set_path(&format!("/{name}"));
        Some(PostgresDatabase { admin_url, name, url: url.to_string() })
    }

    /// Drop the database from a thread of its own (Drop cannot await); FORCE ends the server's
    /// connections that are still open. The thread is not waited for: a connection the server's
    /// pool was opening when the test ended sits in PostgreSQL's authentication step, which takes
    /// no signals, until its socket closes, and that happens only once the test's runtime (blocked
    /// in this drop) ends, or after `authentication_timeout` (60 s). A database left behind when
    /// the process exits first is dropped by the next run ([`drop_databases_of_ended_runs`]).
    fn drop_now(self) {
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut connection = sqlx::PgConnection::connect(&self.admin_url).await.ok()?;
                connection.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str()).await.ok()?;
                connection.close().await.ok()
            })
        });
    }
}

/// Drop the test databases (`wadesk_test_p<pid>_...`) whose test process has ended, once per process.
async fn drop_databases_of_ended_runs(connection: &mut sqlx::PgConnection) {
    static CLEANED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if CLEANED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'wadesk_test_p%'")
        .fetch_all(&mut *connection)
        .await
        .unwrap_or_default();
    for name in names {
        let pid = name.trim_start_matches("wadesk_test_p").split('_').next().unwrap_or_default();
        let alive = !pid.is_empty() && std::path::Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let _ = connection.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
        }
    }
}

/// One `#[tokio::test]` per store for each `async fn name(server[, configure]) { body }`:
/// `name::sqlite` always runs; `name::postgres` returns early when `WADESK_TEST_POSTGRES_URL` is
/// unset, and fails then under CI ([`postgres_url`]). `configure` is a closure over
/// `&mut Settings`, applied before the server starts.
#[macro_export]
macro_rules! both_stores {
    ($( $(#[$attribute:meta])* async fn $name:ident($server:ident $(, $configure:expr)?) $body:block )+) => {$(
        $(#[$attribute])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn check($server: $crate::common::TestServer) $body

            #[tokio::test]
            async fn sqlite() {
                let server = $crate::common::TestServer::start(
                    $crate::common::Store::Sqlite,
                    $crate::both_stores!(@configure $($configure)?),
                )
                .await
                .expect("SQLite always runs");
                check(server).await;
            }

            #[tokio::test]
            async fn postgres() {
                let started = $crate::common::TestServer::start(
                    $crate::common::Store::Postgres,
                    $crate::both_stores!(@configure $($configure)?),
                )
                .await;
                if let Some(server) = started {
                    check(server).await;
                }
            }
        }
    )+};
    (@configure) => { $crate::common::default_settings };
    (@configure $configure:expr) => { $configure };
}

/// The `wadesk_session=...` cookie a reply sets (its whole `Set-Cookie` value), or panic.
pub fn reply_session_cookie(reply: &Reply) -> String {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("wadesk_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?} {}", reply.headers, reply.body))
        .to_owned()
}
