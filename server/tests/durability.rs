//! Nothing acknowledged is lost (issue 9 "Durability"): the real server binary receives a burst
//! of signed Meta deliveries, is killed with SIGKILL in the middle, and started again; what was
//! not acknowledged is delivered again, as Meta does. Every acknowledged message is then stored,
//! and none twice. (`cargo xtask bench` runs the same with 10,000 messages.)

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Row;

use common::*;

const BINARY: &str = env!("CARGO_BIN_EXE_wadesk-server");
const APP_SECRET: &str = "durability-app-secret";
const MESSAGES: usize = 300;
const SENDERS: usize = 16;
const WABA: &str = "6100000000000001";
const NUMBER: &str = "6200000000000001";
const DISPLAY: &str = "8613300006161";

fn server(addr: SocketAddr, database_url: &str, dist: &Path) -> tokio::process::Child {
    tokio::process::Command::new(BINARY)
        .args(["--addr", &addr.to_string(), "--database-url", database_url, "--dist"])
        .arg(dist)
        .args(["--admin-password", ADMIN_PASSWORD, "--meta-app-secret", APP_SECRET, "--mode", "sandbox"])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the server binary runs")
}

async fn until_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.get(format!("{base}/intwa-api/health")).send().await.is_ok_and(|answer| answer.status().is_success()) {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (wamid, body) of delivery `index`: one text message from one of a few customers.
fn delivery(index: usize) -> (String, String) {
    let customer = format!("86138000{:04}", index % 20);
    let wamid = format!("wamid.burst.{index}");
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": DISPLAY, "phone_number_id": NUMBER},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": customer}],
        "messages": [{"from": customer, "id": wamid, "timestamp": (1_700_000_000 + index).to_string(), "type": "text",
            "text": {"body": format!("message {index}")}}],
    }}]}]})
    .to_string();
    (wamid, body)
}

/// Send each delivery once from [`SENDERS`] tasks until the server goes away; the wamids acknowledged.
async fn burst(base: String, deliveries: Vec<(String, String)>, acknowledged: Arc<Mutex<Vec<String>>>) {
    let queue = Arc::new(Mutex::new(deliveries.into_iter()));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let (queue, acknowledged, url) = (queue.clone(), acknowledged.clone(), format!("{base}/webhooks/meta"));
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                loop {
                    let Some((wamid, body)) = queue.lock().unwrap().next() else { return };
                    let signature = wadesk_server::webhooks::signature::meta_signature(APP_SECRET, body.as_bytes());
                    let sent = client.post(&url).header("content-type", "application/json").header("x-hub-signature-256", signature).body(body).send().await;
                    match sent {
                        Ok(answer) if answer.status().is_success() => acknowledged.lock().unwrap().push(wamid),
                        Ok(answer) => panic!("a delivery was refused: {}", answer.status()),
                        // The server went away: not acknowledged, delivered again later.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.expect("a sender finished");
    }
}

#[tokio::test]
async fn a_server_killed_mid_burst_keeps_every_acknowledged_message_once() {
    let folder = std::env::temp_dir().join(format!("wadesk-durability-{}", random_hex()));
    let database_url = format!("sqlite://{}", folder.join("wadesk.db").display());
    let dist = folder.join("no-dist");
    let addr = std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).unwrap();
    let base = format!("http://{addr}");
    let mut running = server(addr, &database_url, &dist);
    let admin = new_client();
    until_healthy(&admin, &base).await;
    let login = admin.post(format!("{base}/intwa-api/auth/login")).json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})).send().await.unwrap();
    assert!(login.status().is_success());
    let bound = admin
        .post(format!("{base}/intwa-api/whatsapp/account/bind"))
        .json(&json!({"accountName": ADMIN_ACCOUNT, "wabaId": WABA, "phoneNumberId": NUMBER, "phoneNumber": DISPLAY}))
        .send()
        .await
        .unwrap();
    assert!(bound.status().is_success(), "{:?}", bound.text().await);

    let deliveries: Vec<_> = (0..MESSAGES).map(delivery).collect();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let sending = tokio::spawn(burst(base.clone(), deliveries.clone(), acknowledged.clone()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < MESSAGES / 2 {
        assert!(Instant::now() < deadline && !sending.is_finished(), "half the burst was not acknowledged");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    running.start_kill().expect("SIGKILL");
    let _ = running.wait().await;
    sending.await.unwrap();
    let before_kill: HashSet<String> = acknowledged.lock().unwrap().iter().cloned().collect();
    assert!(before_kill.len() < MESSAGES, "the kill came in the middle of the burst");

    let mut running = server(addr, &database_url, &dist);
    until_healthy(&admin, &base).await;
    let rest: Vec<_> = deliveries.iter().filter(|(wamid, _)| !before_kill.contains(wamid)).cloned().collect();
    let resent = Arc::new(Mutex::new(Vec::new()));
    burst(base.clone(), rest.clone(), resent.clone()).await;
    assert_eq!(resent.lock().unwrap().len(), rest.len(), "the restarted server acknowledges the rest");

    let db = wadesk_server::db::connect(&database_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: i64 = sqlx::query("SELECT COUNT(*) FROM webhook_events WHERE state = 'pending'").fetch_one(&db).await.unwrap().get(0);
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} deliveries still pending after the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored: Vec<String> = sqlx::query("SELECT wamid FROM messages").fetch_all(&db).await.unwrap().iter().map(|row| row.get(0)).collect();
    let distinct: HashSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), stored.len(), "no message stored twice");
    let missing: Vec<&String> = before_kill.iter().filter(|wamid| !distinct.contains(wamid)).collect();
    assert!(missing.is_empty(), "acknowledged before the kill but not stored: {missing:?}");
    assert_eq!(stored.len(), MESSAGES, "every message stored once the rest was delivered again");
    let failed: i64 = sqlx::query("SELECT COUNT(*) FROM webhook_events WHERE state NOT IN ('processed', 'duplicate')").fetch_one(&db).await.unwrap().get(0);
    assert_eq!(failed, 0, "every delivery processed (or a duplicate of one)");
    db.close().await;
    running.start_kill().unwrap();
    let _ = running.wait().await;
    let _ = std::fs::remove_dir_all(&folder);
}
