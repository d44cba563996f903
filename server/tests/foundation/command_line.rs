//! The `wadesk-server` binary and start-up: first run creates the admin once, and a bad setting
//! stops the server with one clear line on stderr and exit code 2.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::both_stores;
use crate::common::*;

const BINARY: &str = env!("CARGO_BIN_EXE_wadesk-server");

/// The binary with a clean environment (no WADESK_* from the developer's shell).
fn server_command() -> Command {
    let mut command = Command::new(BINARY);
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    command
}

/// Run the binary expecting it to refuse to start; returns its stderr.
async fn refused(args: &[&str]) -> String {
    let output = tokio::time::timeout(Duration::from_secs(60), server_command().args(args).output())
        .await
        .expect("the server gave up within a minute")
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: stderr {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: one line, got {stderr:?}");
    assert!(stderr.starts_with("wadesk-server: "), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
    stderr
}

fn temp_sqlite_url() -> (std::path::PathBuf, String) {
    let folder = std::env::temp_dir().join(format!("wadesk-cli-{}", random_hex()));
    let url = format!("sqlite://{}/nested/wadesk.db", folder.display());
    (folder, url)
}

#[tokio::test]
async fn bad_settings_stop_the_server_with_one_line() {
    let base_path = refused(&["--base-path", "console"]).await;
    assert!(base_path.contains("--base-path"), "{base_path}");

    let scheme = refused(&["--database-url", "mysql://localhost/x"]).await;
    assert!(scheme.contains("--database-url"), "{scheme}");

    let address = refused(&["--addr", "not-an-address"]).await;
    assert!(address.contains("--addr"), "{address}");

    let unknown = refused(&["--no-such-flag"]).await;
    assert!(unknown.contains("--no-such-flag"), "{unknown}");

    for origin in ["*", "console.example.com", "https://console.example.com/app", "https://user@console.example.com"] {
        let cors = refused(&["--cors-origins", origin]).await;
        assert!(cors.contains("--cors-origins"), "{origin}: {cors}");
    }

    let live_without_key = refused(&["--mode", "live"]).await;
    assert!(live_without_key.contains("WADESK_SECRET_KEY"), "{live_without_key}");

    let unwritable = refused(&["--addr", "127.0.0.1:0", "--database-url", "sqlite:///proc/wadesk/forbidden/x.db"]).await;
    assert!(unwritable.contains("database"), "{unwritable}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_address = taken.local_addr().unwrap().to_string();
    let (folder, url) = temp_sqlite_url();
    let port_in_use = refused(&["--addr", &taken_address, "--database-url", &url]).await;
    assert!(port_in_use.contains("cannot listen"), "{port_in_use}");
    let _ = std::fs::remove_dir_all(folder);

    let weak_admin = refused(&["--addr", "127.0.0.1:0", "--database-url", &temp_sqlite_url().1, "--admin-password", "short"]).await;
    assert!(weak_admin.contains("--admin-password"), "{weak_admin}");

    if postgres_url().is_some() {
        let wrong_password = refused(&[
            "--addr", "127.0.0.1:0", "--database-url", "postgres://wadesk:wrong-password@127.0.0.1:5432/postgres",
        ])
        .await;
        assert!(wrong_password.contains("cannot open the database") && !wrong_password.contains("wrong-password"), "{wrong_password}");
    }
}

#[tokio::test]
async fn first_run_prints_a_generated_admin_password_once() {
    let (folder, url) = temp_sqlite_url();
    let dist = folder.join("no-dist");
    let dist_arg = dist.to_str().unwrap();
    let args = ["--addr", "127.0.0.1:0", "--database-url", url.as_str(), "--dist", dist_arg];

    let (origin, stdout, mut child) = start_binary(&args).await;
    let password = stdout
        .iter()
        .find_map(|line| line.strip_prefix("| password: "))
        .map(|rest| rest.trim_end_matches('|').trim().to_owned())
        .unwrap_or_else(|| panic!("no generated password in {stdout:#?}"));
    assert!(password.len() >= 20, "{password}");
    assert!(stdout.iter().any(|line| line.contains(ADMIN_EMAIL)), "{stdout:#?}");

    let client = new_client();
    let login = client
        .post(format!("{origin}/intwa-api/auth/login"))
        .json(&json!({ "email": ADMIN_EMAIL, "password": password }))
        .send()
        .await
        .unwrap();
    let user: serde_json::Value = login.json().await.unwrap();
    assert_eq!(user["data"]["accountName"], ADMIN_ACCOUNT, "{user}");
    stop(&mut child).await;

    // Second run on the same database: no new password, and the first one still works.
    let (origin, stdout, mut child) = start_binary(&args).await;
    assert!(!stdout.iter().any(|line| line.contains("password:")), "{stdout:#?}");
    let again = client
        .post(format!("{origin}/intwa-api/auth/login"))
        .json(&json!({ "email": ADMIN_EMAIL, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    stop(&mut child).await;
    let _ = std::fs::remove_dir_all(folder);
}

/// Start the binary and read stdout until it says where it runs; returns the origin, the lines
/// read so far, and the child.
async fn start_binary(args: &[&str]) -> (String, Vec<String>, tokio::process::Child) {
    let mut child = server_command().args(args).spawn().expect("the binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut origin = None;
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("wadesk is running at ") {
                origin = Some(url.trim_end_matches('/').to_owned());
            }
            let at_end = origin.is_some() && (line.starts_with("+-") && seen.iter().filter(|l: &&String| l.starts_with("+-")).count() == 1
                || line.starts_with("Admin login") || line.starts_with("First run: created account"));
            seen.push(line);
            if at_end {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read).await.expect("the server announced itself");
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (origin.unwrap_or_else(|| panic!("no URL in {seen:#?}")), seen, child)
}

/// SIGTERM, then the server must exit cleanly.
async fn stop(child: &mut tokio::process::Child) {
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("stopped on SIGTERM").unwrap();
    assert!(status.success(), "{status}");
}

both_stores! {
    async fn a_restart_keeps_the_first_admin_and_creates_no_other(server) {
        let mut server = server;
        server.restart(|settings| settings.admin_password = Some("a different password".to_owned())).await;
        server.admin_client().await;
        let with_new_password =
            server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": "a different password" })).await;
        with_new_password.assert_error(401, api_types::ErrorCode::InvalidCredentials);
    }

    async fn first_run_uses_the_configured_admin(server, |settings| {
        settings.admin_email = "Boss@Example.com".to_owned();
        settings.admin_account = "main-office".to_owned();
        settings.admin_password = Some("configured password".to_owned());
    }) {
        let client = server.login("boss@example.com", "configured password").await;
        let me = server.post_as(&client, "/auth/me", &json!({})).await;
        assert_eq!(me.data()["accountName"], "main-office");
        assert_eq!(me.data()["role"], "admin");
        server.post("/auth/login", &json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD })).await
            .assert_error(401, api_types::ErrorCode::InvalidCredentials);
    }
}
