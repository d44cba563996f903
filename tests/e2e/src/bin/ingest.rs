//! Webhook ingest, for `cargo xtask bench` (issue 9 "Performance"). Prints `key=value` lines.
//!
//! - `ingest speed <sqlite|postgres> <messages> [postgres-admin-url]`: the server in-process on a
//!   fresh database with four bound numbers; `<messages>` signed Meta deliveries (one text
//!   message each, precomputed) sent over keep-alive connections; how many per second were
//!   acknowledged, and how many per second were processed (stored as messages) from the start.
//! - `ingest durability <server-binary> <messages>`: the server binary on a fresh SQLite file; a
//!   burst of `<messages>` deliveries, `kill -9` of the server once half are acknowledged, a
//!   restart, the unacknowledged ones sent again (as Meta does), and then the counts:
//!   acknowledged, stored, duplicated and missing (acknowledged but not stored).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wadesk_e2e::ScratchDir;
use wadesk_server::Settings;

const APP_SECRET: &str = "ingest-bench-app-secret";
const ADMIN_PASSWORD: &str = "admin-password-for-tests";
const NUMBERS: usize = 4;
const CONNECTIONS: usize = 64;
const CUSTOMERS: usize = 500;

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection { stream, buffer: Vec::with_capacity(4096) })
    }

    /// Send one request and read its answer: (status, headers and body as text).
    async fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> std::io::Result<(u16, String)> {
        let mut text = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\nContent-Type: application/json\r\n", body.len());
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(body);
        self.stream.write_all(text.as_bytes()).await?;
        self.buffer.clear();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = self.buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buffer[..end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|value| value.trim().to_owned()))
                    .and_then(|value| value.parse::<usize>().ok())
                    .unwrap_or(0);
                while self.buffer.len() < end + 4 + length {
                    let read = self.stream.read(&mut chunk).await?;
                    if read == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    self.buffer.extend_from_slice(&chunk[..read]);
                }
                let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
                let answer = String::from_utf8_lossy(&self.buffer[..end + 4 + length]).into_owned();
                return Ok((status, answer));
            }
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

fn waba(number: usize) -> String {
    format!("61000000000{number:05}")
}
fn phone_number_id(number: usize) -> String {
    format!("62000000000{number:05}")
}
fn display(number: usize) -> String {
    format!("86133000{number:05}")
}

/// Delivery `index`: one text message from one of the customers to one of the numbers; (wamid, body, signature).
fn delivery(index: usize) -> (String, String, String) {
    let number = index % NUMBERS;
    let customer = format!("8613800{:06}", index % CUSTOMERS);
    let wamid = format!("wamid.bench.{index}");
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": waba(number), "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display(number), "phone_number_id": phone_number_id(number)},
            "contacts": [{"profile": {"name": format!("Customer {}", index % CUSTOMERS)}, "wa_id": customer}],
            "messages": [{"from": customer, "id": wamid, "timestamp": (1_700_000_000 + index).to_string(), "type": "text",
                "text": {"body": format!("Hello, this is message {index} of the burst")}}]}}]}]})
    .to_string();
    let signature = wadesk_server::webhooks::signature::meta_signature(APP_SECRET, body.as_bytes());
    (wamid, body, signature)
}

/// Log in as the admin and bind the bench's numbers to the first account.
async fn bind_numbers(addr: SocketAddr) {
    let mut connection = Connection::open(addr).await.expect("connect");
    let login = format!(r#"{{"email":"admin@wadesk.local","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, answer) = connection.request("POST", "/intwa-api/auth/login", &[], &login).await.expect("login");
    assert_eq!(status, 200, "the admin logs in: {answer}");
    let cookie = answer
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: ").or_else(|| line.strip_prefix("Set-Cookie: ")))
        .and_then(|cookie| cookie.split(';').next())
        .expect("a session cookie")
        .to_owned();
    for number in 0..NUMBERS {
        let body = serde_json::json!({"accountName": "wadesk", "wabaId": waba(number), "phoneNumberId": phone_number_id(number),
            "phoneNumber": display(number)})
        .to_string();
        let (status, answer) =
            connection.request("POST", "/intwa-api/whatsapp/account/bind", &[("Cookie", &cookie)], &body).await.expect("bind");
        assert!(status == 200 && answer.contains("\"code\":0"), "the number binds: {answer}");
    }
}

/// Send `deliveries` over [`CONNECTIONS`] connections, each delivery once, until all are sent or
/// the server goes away; returns the wamids acknowledged (200). `acknowledged` counts as it goes.
async fn burst(addr: SocketAddr, deliveries: Arc<Vec<(String, String, String)>>, acknowledged: Arc<AtomicUsize>) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::with_capacity(deliveries.len())));
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (deliveries, next, acked, acknowledged) = (deliveries.clone(), next.clone(), acked.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let Ok(mut connection) = Connection::open(addr).await else { return };
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((wamid, body, signature)) = deliveries.get(index) else { return };
                    match connection.request("POST", "/webhooks/meta", &[("X-Hub-Signature-256", signature)], body).await {
                        Ok((200, _)) => {
                            acked.lock().unwrap().push(wamid.clone());
                            acknowledged.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok((status, answer)) => panic!("a delivery was refused with {status}: {answer}"),
                        // The server went away: this one and the rest are not acknowledged.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("a sender finished");
    }
    let acked = acked.lock().unwrap().clone();
    acked
}

async fn count(db: &sqlx::AnyPool, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql).fetch_one(db).await.expect("count").try_get::<i64, _>(0).expect("a count")
}

async fn speed(store: &str, messages: usize, postgres_admin: Option<String>) {
    let scratch = ScratchDir::new("ingest").expect("temp dir");
    let (database_url, postgres) = match store {
        "sqlite" => (format!("sqlite://{}", scratch.path().join("db.sqlite").display()), None),
        "postgres" => {
            let admin = postgres_admin.expect("a PostgreSQL admin URL");
            let name = format!("wadesk_ingest_{}", std::process::id());
            let pool = wadesk_server::db::connect(&admin).await.expect("PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.expect("create the database");
            let mut url = url::Url::parse(&admin).expect("a URL");
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((pool, name)))
        }
        other => panic!("no store {other}"),
    };
    let mut settings = Settings::for_tests(&database_url, scratch.path().join("no-dist"));
    settings.meta_app_secret = Some(APP_SECRET.to_owned());
    settings.webhook_retention_days = 0;
    let server = wadesk_server::start(settings).await.expect("the server starts");
    bind_numbers(server.addr).await;
    let deliveries = Arc::new((0..messages).map(delivery).collect::<Vec<_>>());
    let db = wadesk_server::db::connect(&database_url).await.expect("the database");

    let started = Instant::now();
    let acked = burst(server.addr, deliveries, Arc::default()).await;
    let acknowledged_in = started.elapsed();
    assert_eq!(acked.len(), messages, "every delivery acknowledged");
    let deadline = Instant::now() + Duration::from_secs(600);
    while count(&db, "SELECT COUNT(*) FROM messages").await < messages as i64 {
        assert!(Instant::now() < deadline, "the deliveries were not processed within 10 minutes");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let processed_in = started.elapsed();
    let stored = count(&db, "SELECT COUNT(DISTINCT wamid) FROM messages").await;
    db.close().await;
    server.shutdown().await;
    if let Some((pool, name)) = postgres {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&pool).await;
    }
    println!("store={store}");
    println!("messages={messages}");
    println!("stored={stored}");
    println!("acknowledged_ms={:.0}", acknowledged_in.as_secs_f64() * 1000.0);
    println!("processed_ms={:.0}", processed_in.as_secs_f64() * 1000.0);
    println!("acknowledged_per_s={:.0}", messages as f64 / acknowledged_in.as_secs_f64());
    println!("processed_per_s={:.0}", messages as f64 / processed_in.as_secs_f64());
}

/// The server binary on `database_url`, listening on `addr`, its output discarded.
fn spawn_server(binary: &Path, addr: SocketAddr, database_url: &str, dist: &Path) -> tokio::process::Child {
    tokio::process::Command::new(binary)
        .args(["--addr", &addr.to_string(), "--database-url", database_url, "--dist"])
        .arg(dist)
        .args(["--admin-password", ADMIN_PASSWORD, "--meta-app-secret", APP_SECRET, "--mode", "sandbox"])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary runs")
}

async fn until_healthy(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut connection) = Connection::open(addr).await {
            if let Ok((200, _)) = connection.request("GET", "/intwa-api/health", &[], "").await {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn durability(binary: &Path, messages: usize) {
    let scratch = ScratchDir::new("durability").expect("temp dir");
    let database_url = format!("sqlite://{}", scratch.path().join("db.sqlite").display());
    let dist = scratch.path().join("no-dist");
    let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port");
    let mut server = spawn_server(binary, addr, &database_url, &dist);
    until_healthy(addr).await;
    bind_numbers(addr).await;
    let deliveries = Arc::new((0..messages).map(delivery).collect::<Vec<_>>());

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let sending = tokio::spawn(burst(addr, deliveries.clone(), acknowledged.clone()));
    while acknowledged.load(Ordering::Relaxed) < messages / 2 && !sending.is_finished() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // kill -9, in the middle of the burst.
    server.start_kill().expect("SIGKILL");
    let _ = server.wait().await;
    let acked: HashSet<String> = sending.await.expect("the burst ended").into_iter().collect();

    let mut server = spawn_server(binary, addr, &database_url, &dist);
    until_healthy(addr).await;
    // As Meta does: what was not acknowledged is delivered again.
    let unacknowledged: Vec<_> = deliveries.iter().filter(|(wamid, _, _)| !acked.contains(wamid)).cloned().collect();
    let resent = unacknowledged.len();
    let again = burst(addr, Arc::new(unacknowledged), Arc::default()).await;
    assert_eq!(again.len(), resent, "the restarted server acknowledges the rest");

    let db = wadesk_server::db::connect(&database_url).await.expect("the database");
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&db, "SELECT COUNT(*) FROM webhook_events WHERE state = 'pending'").await > 0 {
        assert!(Instant::now() < deadline, "the deliveries did not settle after the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    use sqlx::Row;
    let stored: HashSet<String> =
        sqlx::query("SELECT wamid FROM messages").fetch_all(&db).await.expect("messages").iter().map(|row| row.get(0)).collect();
    let rows = count(&db, "SELECT COUNT(*) FROM messages").await;
    let deliveries_stored = count(&db, "SELECT COUNT(*) FROM webhook_events").await;
    let missing = acked.iter().filter(|wamid| !stored.contains(*wamid)).count();
    db.close().await;
    server.start_kill().expect("stop the server");
    let _ = server.wait().await;
    println!("messages={messages}");
    println!("acknowledged_before_kill={}", acked.len());
    println!("sent_again_after_restart={resent}");
    println!("deliveries_stored={deliveries_stored}");
    println!("stored={}", stored.len());
    println!("duplicated={}", rows - stored.len() as i64);
    println!("missing_acknowledged={missing}");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("speed") => {
            let store = args.get(1).map(String::as_str).unwrap_or("sqlite");
            let messages = args.get(2).and_then(|count| count.parse().ok()).unwrap_or(20_000);
            speed(store, messages, args.get(3).cloned()).await;
        }
        Some("durability") => {
            let binary = args.get(1).expect("the server binary");
            let messages = args.get(2).and_then(|count| count.parse().ok()).unwrap_or(10_000);
            durability(Path::new(binary), messages).await;
        }
        _ => {
            eprintln!("usage: ingest speed <sqlite|postgres> <messages> [postgres-admin-url] | ingest durability <server-binary> <messages>");
            std::process::exit(2);
        }
    }
}
