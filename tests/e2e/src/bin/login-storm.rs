//! `login-storm <concurrent>`: `<concurrent>` wrong logins at once against the real server on
//! loopback (each from its own client address through a trusted proxy, so every one reaches the
//! password check), while the health endpoint and a logged-in API call are timed. Prints
//! `key=value` lines for `cargo xtask bench`: the point is that Argon2 (about 19 MiB and tens of
//! milliseconds each) runs under a concurrency limit, so a burst cannot stall or exhaust the API.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wadesk_e2e::{ScratchDir, Settings};

const ADMIN_EMAIL: &str = "admin@wadesk.local";
const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// One HTTP/1.1 request on a fresh connection; the status and the whole answer.
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, String)], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() {
        text.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, answer)
}

fn percentile(samples: &mut [f64], share: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let index = ((samples.len() as f64 - 1.0) * share).round() as usize;
    samples.get(index).copied().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let concurrent: usize = std::env::args().nth(1).and_then(|count| count.parse().ok()).unwrap_or(200);
    let scratch = ScratchDir::new("login-storm").expect("temp dir");
    let database_url = format!("sqlite://{}", scratch.path().join("db.sqlite").display());
    let mut settings = Settings::for_tests(&database_url, scratch.path().join("no-dist"));
    settings.trusted_proxies = vec!["127.0.0.1/32".to_owned()];
    let server = wadesk_server::start(settings).await.expect("server starts");
    let addr = server.addr;

    let login = format!(r#"{{"email":"{ADMIN_EMAIL}","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, answer) = request(addr, "POST", "/intwa-api/auth/login", &[], &login).await;
    assert_eq!(status, 200, "the admin logs in: {answer}");
    let cookie = answer
        .lines()
        .find_map(|line| line.strip_prefix("set-cookie: ").or_else(|| line.strip_prefix("Set-Cookie: ")))
        .and_then(|cookie| cookie.split(';').next())
        .expect("a session cookie")
        .to_owned();

    let started = Instant::now();
    let storm: Vec<_> = (0..concurrent)
        .map(|index| {
            tokio::spawn(async move {
                let body = format!(r#"{{"email":"user{index}@storm.example","password":"wrong-password-{index}"}}"#);
                let client = format!("10.{}.{}.{}", index / 65536 % 256, index / 256 % 256, index % 256);
                request(addr, "POST", "/intwa-api/auth/login", &[("X-Forwarded-For", client)], &body).await.0
            })
        })
        .collect();

    let mut health = Vec::new();
    let mut me = Vec::new();
    while !storm.iter().all(|task| task.is_finished()) && started.elapsed() < Duration::from_secs(120) {
        let at = Instant::now();
        let (status, _) = request(addr, "GET", "/intwa-api/health", &[], "").await;
        health.push((at.elapsed().as_secs_f64() * 1000.0, status));
        let at = Instant::now();
        let (status, _) = request(addr, "POST", "/intwa-api/auth/me", &[("Cookie", cookie.clone())], "{}").await;
        me.push((at.elapsed().as_secs_f64() * 1000.0, status));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut refused = 0;
    let mut limited = 0;
    for task in storm {
        match task.await.expect("a login task") {
            401 => refused += 1,
            429 => limited += 1,
            other => panic!("a wrong login answered {other}"),
        }
    }
    let storm_ms = started.elapsed().as_secs_f64() * 1000.0;
    server.shutdown().await;

    assert!(health.iter().all(|(_, status)| *status == 200), "health answered 200 throughout");
    assert!(me.iter().all(|(_, status)| *status == 200), "the logged-in call answered 200 throughout");
    let mut health_ms: Vec<f64> = health.iter().map(|(ms, _)| *ms).collect();
    let mut me_ms: Vec<f64> = me.iter().map(|(ms, _)| *ms).collect();
    println!("logins={concurrent}");
    println!("refused_401={refused}");
    println!("limited_429={limited}");
    println!("storm_ms={storm_ms:.0}");
    println!("probes={}", health_ms.len());
    println!("health_p50_ms={:.1}", percentile(&mut health_ms, 0.5));
    println!("health_max_ms={:.1}", percentile(&mut health_ms, 1.0));
    println!("me_p50_ms={:.1}", percentile(&mut me_ms, 0.5));
    println!("me_max_ms={:.1}", percentile(&mut me_ms, 1.0));
}
