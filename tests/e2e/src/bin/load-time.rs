//! `load-time <dist> <runs>`: cold loads of the login page in headless Chromium, each in a fresh
//! profile (empty HTTP and code caches), against the real server on loopback. Prints
//! `key=value` lines for `cargo xtask bench`: `samples_ms`, `median_ms`, the bytes transferred
//! for wasm, js and css before the login form was interactive (`first_load_*_bytes`, from
//! resource timing, as the server sent them), and `login_to_numbers_median_ms`: from submitting
//! the login form (arriving at `/login?next=/numbers`) to the Numbers page on screen, its chunk
//! fetch included.
//!
//! The times are measured in the page: a script installed before any page script runs records
//! `performance.now()` (milliseconds since navigation start) at the first moment the login
//! button exists and is enabled, and the resources fetched by then.

use std::path::PathBuf;

use wadesk_e2e::{json, ScratchDir, Settings, StandaloneBrowser, ADMIN_EMAIL, ADMIN_PASSWORD};

/// Resolves `window.__loginReadyAt` with the time the login button became usable.
const MEASURE_SCRIPT: &str = r#"
window.__loginReadyAt = new Promise((resolve) => {
  let done = false;
  const check = () => {
    if (done) return;
    const button = document.querySelector('[data-testid="login-submit"]');
    if (button && !button.disabled) {
      done = true;
      const at = performance.now();
      window.__firstLoad = performance.getEntriesByType('resource')
        .map((entry) => ({ name: entry.name, transferSize: entry.transferSize, start: entry.startTime, end: entry.responseEnd }));
      const nav = performance.getEntriesByType('navigation')[0];
      window.__firstLoad.push({ name: 'document', transferSize: 0, start: 0, end: nav ? nav.responseEnd : 0 });
      resolve(at);
      return;
    }
    requestAnimationFrame(check);
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
  requestAnimationFrame(check);
});
"#;

/// Resolves `window.__numbersReadyAt` with the milliseconds from the login form's submit to the
/// Numbers page on screen.
const LOGIN_TO_NUMBERS_SCRIPT: &str = r#"
window.__numbersReadyAt = new Promise((resolve) => {
  let submittedAt = null;
  document.addEventListener('submit', () => { submittedAt = performance.now(); }, true);
  const check = () => {
    if (submittedAt !== null && document.querySelector('[data-testid="numbers-page"]')) {
      resolve(performance.now() - submittedAt);
      return true;
    }
    return false;
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
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
    let mut login_to_numbers = Vec::with_capacity(runs);
    let mut first_load = [0u64; 3];
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
        let resources = browser.client.execute("return window.__firstLoad", vec![]).await.expect("resource timing");
        first_load = [0; 3];
        for resource in resources.as_array().into_iter().flatten() {
            let name = resource["name"].as_str().unwrap_or_default().split('?').next().unwrap_or_default();
            let bytes = resource["transferSize"].as_u64().unwrap_or(0);
            for (index, extension) in [".wasm", ".js", ".css"].iter().enumerate() {
                if name.ends_with(extension) {
                    first_load[index] += bytes;
                }
            }
        }
        eprintln!("run {run}: {millis:.0} ms, {} bytes of wasm+js+css", first_load.iter().sum::<u64>());
        if std::env::var_os("LOAD_TIME_VERBOSE").is_some() {
            for resource in resources.as_array().into_iter().flatten() {
                eprintln!("    {:>6.0} -> {:>6.0} ms  {:>8} B  {}", resource["start"].as_f64().unwrap_or(0.0), resource["end"].as_f64().unwrap_or(0.0),
                    resource["transferSize"].as_u64().unwrap_or(0), resource["name"].as_str().unwrap_or_default());
            }
        }
        samples.push(millis);

        // Then log in from `/login?next=/numbers`, as a bookmark of the Numbers page does.
        browser
            .devtools("Page.addScriptToEvaluateOnNewDocument", json!({ "source": LOGIN_TO_NUMBERS_SCRIPT }))
            .await
            .expect("install the second measuring script");
        browser.client.goto(&format!("{login_url}?next=%2Fnumbers")).await.expect("load the login page");
        browser.wait_for_testid("login-submit").await.expect("the login form");
        browser.fill("login-email", ADMIN_EMAIL).await.expect("type the email");
        browser.fill("login-password", ADMIN_PASSWORD).await.expect("type the password");
        browser.click("login-submit").await.expect("submit");
        let took = browser
            .client
            .execute_async("window.__numbersReadyAt.then(arguments[0])", vec![])
            .await
            .expect("the Numbers page appears");
        let took = took.as_f64().expect("a number of milliseconds");
        eprintln!("run {run}: login -> Numbers {took:.0} ms");
        login_to_numbers.push(took);
        standalone.close().await;
    }
    server.shutdown().await;

    println!("samples_ms={}", samples.iter().map(|ms| format!("{ms:.0}")).collect::<Vec<_>>().join(","));
    println!("median_ms={:.1}", median(&mut samples));
    println!("first_load_wasm_bytes={}", first_load[0]);
    println!("first_load_js_bytes={}", first_load[1]);
    println!("first_load_css_bytes={}", first_load[2]);
    println!("login_to_numbers_median_ms={:.1}", median(&mut login_to_numbers));
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
