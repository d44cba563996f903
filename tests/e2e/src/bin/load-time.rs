//! `load-time <dist> <runs>`: cold loads of the login page in headless Chromium, each in a fresh
//! profile (empty HTTP and code caches), against the real server on loopback. Prints
//! `samples_ms=...` and `median_ms=...` for `cargo xtask bench`.
//!
//! The time is measured in the page: a script installed before any page script runs records
//! `performance.now()` (milliseconds since navigation start) at the first moment the login
//! button exists and is enabled.

use std::path::PathBuf;

use wadesk_e2e::{json, Settings, StandaloneBrowser, ScratchDir};

/// Resolves `window.__loginReadyAt` with the time the login button became usable.
const MEASURE_SCRIPT: &str = r#"
window.__loginReadyAt = new Promise((resolve) => {
  let done = false;
  const check = () => {
    if (done) return;
    const button = document.querySelector('[data-testid="login-submit"]');
    if (button && !button.disabled) {
      done = true;
      resolve(performance.now());
      return;
    }
    requestAnimationFrame(check);
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
  requestAnimationFrame(check);
});
"#;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dist = PathBuf::from(args.next().expect("usage: load-time <dist> <runs>"));
    let runs: usize = args.next().and_then(|runs| runs.parse().ok()).unwrap_or(7);

    let scratch = ScratchDir::new("load-time").expect("temp dir");
    let database_url = format!("sqlite://{}", scratch.path().join("db.sqlite").display());
    let server = wadesk_server::start(Settings::for_tests(&database_url, dist)).await.expect("server starts");
    let login_url = format!("{}/login", server.url());

    let mut samples = Vec::with_capacity(runs);
    for run in 1..=runs {
        let standalone = StandaloneBrowser::launch(&server.url()).await.expect("browser starts");
        let browser = &standalone.browser;
        browser
            .devtools("Page.addScriptToEvaluateOnNewDocument", json!({ "source": MEASURE_SCRIPT }))
            .await
            .expect("install the measuring script");
        browser.client.goto(&login_url).await.expect("load the login page");
        let ready_at = browser
            .client
            .execute_async("window.__loginReadyAt.then(arguments[0])", vec![])
            .await
            .expect("the login form becomes interactive");
        let millis = ready_at.as_f64().expect("a number of milliseconds");
        eprintln!("run {run}: {millis:.0} ms");
        samples.push(millis);
        standalone.close().await;
    }
    server.shutdown().await;

    println!("samples_ms={}", samples.iter().map(|ms| format!("{ms:.0}")).collect::<Vec<_>>().join(","));
    println!("median_ms={:.1}", median(&mut samples));
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    if samples.len().is_multiple_of(2) {
        (samples[middle - 1] + samples[middle]) / 2.0
    } else {
        samples[middle]
    }
}
