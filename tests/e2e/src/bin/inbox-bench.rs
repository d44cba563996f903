//! `inbox-bench <dist>`: the inbox in headless Chromium against the real server on loopback, for
//! `cargo xtask bench` (issue 9 "Performance"). Prints `key=value` lines.
//!
//! - The account gets 10,000 conversations and one 5,000-message thread, all through signed Meta
//!   webhook deliveries (the real ingest path), the big thread's last message arriving last so
//!   it is the first row.
//! - `list_first_render_*`: from the click on the Inbox link (the SPA's navigation, from the
//!   Numbers page) to the first conversation row on screen, the list call included (`_first`:
//!   the first time, which also fetches and compiles the inbox's chunk; `_median` of five); `list_rows_max`: the most conversation rows in the DOM, at the top and after
//!   scrolling to the middle and the end of what is loaded.
//! - `thread_open_*`: from the click on the big thread's row (another conversation open before)
//!   to its newest message on screen (`_first`, and `_median` of five);
//!   `thread_rows_max`: the most bubbles in the DOM, before and after scrolling up.
//! - `latency_*`: with the big thread open and 50 other event streams connected (logged-in
//!   HTTP clients reading `/intwa-api/inbox/events`), from just before a webhook POST to the
//!   moment the page's MutationObserver sees the message's text (both wall clocks of this
//!   machine, in milliseconds with fractions).
//!
//! Times are measured in the page (`performance.now()` around the click, a MutationObserver
//! for the element), never by sleeping.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use wadesk_e2e::{
    json, testid_selector, Browser, ScratchDir, Settings, StandaloneBrowser, ADMIN_EMAIL,
    ADMIN_PASSWORD,
};

const APP_SECRET: &str = "inbox-bench-app-secret";
const WABA: &str = "6100000000099";
const NUMBER_ID: &str = "6200000000099";
const DISPLAY: &str = "8613300099999";
const CONVERSATIONS: usize = 10_000;
const THREAD_MESSAGES: usize = 5_000;
const SSE_CLIENTS: usize = 50;
const LATENCY_SAMPLES: usize = 60;
const RENDER_RUNS: usize = 5;
const SENDERS: usize = 16;
const RELOADS: usize = 8;

/// The big thread's customer.
const BIG_THREAD_WA_ID: &str = "8613900000000";

/// Calls back with the milliseconds from a click on the first element matching `clickSelector`
/// to the first element matching `elementSelector` (and holding `text`, when given).
const CLICK_TO_ELEMENT: &str = r#"
const [clickSelector, elementSelector, text, done] = arguments;
let clickedAt = null;
const present = () => [...document.querySelectorAll(elementSelector)].some((node) => !text || node.textContent.includes(text));
const check = () => {
  if (clickedAt !== null && present()) {
    observer.disconnect();
    done(performance.now() - clickedAt);
  }
};
const observer = new MutationObserver(check);
observer.observe(document, { childList: true, subtree: true });
document.addEventListener('click', (event) => {
  if (clickedAt === null && event.target.closest(clickSelector)) { clickedAt = performance.now(); check(); }
}, true);
document.querySelector(clickSelector).click();
"#;

/// Records, in `window.__seen[text]`, the wall-clock time (ms) each watched text first appears in a message.
const WATCH_TEXTS: &str = r#"
window.__seen = {};
window.__watch = new Set();
new MutationObserver(() => {
  if (window.__watch.size === 0) return;
  const now = performance.timeOrigin + performance.now();
  for (const node of document.querySelectorAll('[data-testid="message-text"]')) {
    const text = node.textContent;
    if (window.__watch.has(text)) { window.__watch.delete(text); window.__seen[text] = now; }
  }
}).observe(document, { childList: true, subtree: true, characterData: true });
"#;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

/// A signed Meta delivery: one text message from `wa_id` (named `name`) at `timestamp`.
fn delivery(wa_id: &str, name: &str, wamid: &str, timestamp: u64, text: &str) -> (String, String) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY, "phone_number_id": NUMBER_ID},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": timestamp.to_string(), "type": "text",
                "text": {"body": text}}]}}]}]})
    .to_string();
    let signature = wadesk_server::webhooks::signature::meta_signature(APP_SECRET, body.as_bytes());
    (body, signature)
}

async fn post(client: &reqwest::Client, base: &str, (body, signature): &(String, String)) {
    let answer = client
        .post(format!("{base}/webhooks/meta"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body.clone())
        .send()
        .await
        .expect("the delivery is sent");
    assert_eq!(
        answer.status().as_u16(),
        200,
        "the delivery is acknowledged"
    );
}

/// Send every delivery, [`SENDERS`] at a time.
async fn post_all(base: &str, deliveries: Vec<(String, String)>) {
    let client = reqwest::Client::new();
    futures_util::stream::iter(deliveries)
        .for_each_concurrent(SENDERS, |delivery| {
            let client = client.clone();
            async move { post(&client, base, &delivery).await }
        })
        .await;
}

/// A client with the admin's session.
async fn logged_in(base: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("a client");
    let answer = client
        .post(format!("{base}/intwa-api/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("log in");
    assert!(answer.status().is_success(), "the admin logs in");
    client
}

async fn count(db: &sqlx::AnyPool, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(db)
        .await
        .expect("count")
        .try_get::<i64, _>(0)
        .expect("a count")
}

/// The number of elements with this testid in the page.
async fn rows(browser: &Browser, testid: &str) -> usize {
    let selector = testid_selector(testid);
    let found = browser
        .execute(
            &format!(
                "return document.querySelectorAll('{}').length",
                selector.replace('\'', "\\'")
            ),
            vec![],
        )
        .await
        .expect("count the rows");
    found.as_u64().unwrap_or(0) as usize
}

/// Scroll the scrollable parent of the first `testid` element to `fraction` of its height, and
/// wait two frames for the virtual list to render.
async fn scroll_to(browser: &Browser, testid: &str, fraction: f64) {
    let script = format!(
        r#"const done = arguments[0];
        let node = document.querySelector('{}');
        while (node && node.scrollHeight <= node.clientHeight) node = node.parentElement;
        if (node) {{ node.scrollTop = (node.scrollHeight - node.clientHeight) * {fraction}; node.dispatchEvent(new Event('scroll')); }}
        requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"#,
        testid_selector(testid).replace('\'', "\\'")
    );
    browser
        .client
        .execute_async(&script, vec![])
        .await
        .expect("scroll");
}

async fn click_to(browser: &Browser, click: &str, element: &str, text: Option<&str>) -> f64 {
    match browser
        .client
        .execute_async(
            CLICK_TO_ELEMENT,
            vec![json!(click), json!(element), json!(text)],
        )
        .await
    {
        Ok(took) => took.as_f64().expect("milliseconds"),
        Err(cause) => {
            let shot = std::env::temp_dir().join("inbox-bench-failure.png");
            let _ = browser.screenshot(&shot).await;
            let url = browser
                .current_url()
                .await
                .map(|url| url.to_string())
                .unwrap_or_default();
            let started = std::time::Instant::now();
            let list = browser
                .call_api("/inbox/conversations/list", &json!({"limit": 1}))
                .await;
            eprintln!(
                "conversations/list from the page: {:?} after {:?}",
                list.map(|answer| answer.to_string().chars().take(300).collect::<String>()),
                started.elapsed()
            );
            let log = browser.console_log().await.unwrap_or_default();
            eprintln!("console: {log:?}");
            panic!("{element} did not appear after clicking {click} (at {url}; screenshot {}): {cause}", shot.display());
        }
    }
}

/// To the Numbers page (a page load, or inside the app), then to the inbox by its link.
async fn numbers_then_inbox(browser: &Browser, load: bool) {
    if load {
        browser.goto("/numbers").await.expect("load the Numbers page");
    } else {
        browser.click("nav-numbers").await.expect("to the Numbers page");
    }
    browser.wait_for_testid("numbers-page").await.expect("the Numbers page on screen");
    browser.click("nav-inbox").await.expect("to the inbox");
}

fn percentile(samples: &mut [f64], fraction: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let index = ((samples.len() as f64 - 1.0) * fraction).round() as usize;
    samples[index.min(samples.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dist = PathBuf::from(std::env::args().nth(1).expect("usage: inbox-bench <dist>"));
    let scratch = ScratchDir::new("inbox-bench").expect("temp dir");
    let database_url = format!("sqlite://{}", scratch.path().join("db.sqlite").display());
    let mut settings = Settings::for_tests(&database_url, dist);
    settings.meta_app_secret = Some(APP_SECRET.to_owned());
    let server = wadesk_server::start(settings)
        .await
        .expect("the server starts");
    let base = server.url().trim_end_matches('/').to_owned();

    let admin = logged_in(&base).await;
    let bound: serde_json::Value = admin
        .post(format!("{base}/intwa-api/whatsapp/account/bind"))
        .json(&json!({"accountName": "wadesk", "wabaId": WABA, "phoneNumberId": NUMBER_ID, "phoneNumber": DISPLAY}))
        .send()
        .await
        .expect("bind")
        .json()
        .await
        .expect("the bind answer");
    assert_eq!(bound["code"], json!(0), "the number binds: {bound}");

    // 10,000 customers, then the big thread (its last message last: the newest conversation).
    let started = std::time::Instant::now();
    let base_time = 1_760_000_000u64;
    let customers: Vec<_> = (0..CONVERSATIONS - 1)
        .map(|index| {
            let wa_id = format!("86137{index:08}");
            delivery(
                &wa_id,
                &format!("Customer {index} 客户"),
                &format!("wamid.list.{index}"),
                base_time + index as u64,
                &format!("Hello from customer {index}"),
            )
        })
        .collect();
    post_all(&base, customers).await;
    let thread: Vec<_> = (0..THREAD_MESSAGES)
        .map(|index| {
            let text = format!("Message {index} of the long thread");
            delivery(
                BIG_THREAD_WA_ID,
                "Long Thread",
                &format!("wamid.thread.{index}"),
                base_time + 20_000 + index as u64,
                &text,
            )
        })
        .collect();
    // In order, so the thread's last message is the newest everywhere.
    let client = reqwest::Client::new();
    for chunk in thread.chunks(SENDERS) {
        futures_util::future::join_all(chunk.iter().map(|delivery| post(&client, &base, delivery)))
            .await;
    }
    let db = wadesk_server::db::connect(&database_url)
        .await
        .expect("the database");
    let expected = (CONVERSATIONS - 1 + THREAD_MESSAGES) as i64;
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    while count(&db, "SELECT COUNT(*) FROM messages").await < expected {
        assert!(
            std::time::Instant::now() < deadline,
            "the seed was not processed within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conversations = count(&db, "SELECT COUNT(*) FROM conversations").await;
    eprintln!(
        "seeded {conversations} conversations and a {THREAD_MESSAGES}-message thread in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let standalone = StandaloneBrowser::launch(&server.url())
        .await
        .expect("the browser starts");
    let browser = &standalone.browser;
    browser
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("log in");

    // The list: Numbers -> Inbox, a few times (the first includes the inbox chunk's fetch).
    let mut list_samples = Vec::new();
    let mut list_rows = 0;
    browser.goto("/numbers").await.expect("the Numbers page");
    for run in 0..RENDER_RUNS {
        // Inside the app, as an agent moves between pages (one page load for the whole bench).
        if run > 0 {
            browser
                .click("nav-numbers")
                .await
                .expect("to the Numbers page");
        }
        browser
            .wait_for_testid("numbers-page")
            .await
            .expect("the Numbers page on screen");
        let took = click_to(
            browser,
            &testid_selector("nav-inbox"),
            &testid_selector("conversation-row"),
            None,
        )
        .await;
        eprintln!("list run {run}: {took:.1} ms");
        list_samples.push(took);
        list_rows = list_rows.max(rows(browser, "conversation-row").await);
    }
    for fraction in [0.5, 1.0] {
        scroll_to(browser, "conversation-row", fraction).await;
        list_rows = list_rows.max(rows(browser, "conversation-row").await);
    }
    scroll_to(browser, "conversation-row", 0.0).await;

    // The thread: open the big one from the list, a few times.
    let mut thread_samples = Vec::new();
    let mut thread_rows = 0;
    for run in 0..RENDER_RUNS {
        numbers_then_inbox(browser, false).await;
        browser
            .wait_for_text("conversation-row", "Long Thread")
            .await
            .expect("the big thread's row");
        // Another conversation first, so the big one is not on screen when its row is clicked.
        let mark = |name: &'static str| {
            format!(
                r#"for (const node of document.querySelectorAll('[data-bench-target]')) node.removeAttribute('data-bench-target');
                const rows = [...document.querySelectorAll('{}')];
                const row = rows.find((row) => row.textContent.includes('{name}'));
                row.setAttribute('data-bench-target', '1'); return true;"#,
                testid_selector("conversation-row").replace('\'', "\\'")
            )
        };
        browser
            .execute(&mark("Customer 9998 "), vec![])
            .await
            .expect("mark another row");
        click_to(
            browser,
            "[data-bench-target=\"1\"]",
            &testid_selector("message-text"),
            Some("Hello from customer 9998"),
        )
        .await;
        browser
            .execute(&mark("Long Thread"), vec![])
            .await
            .expect("mark the big thread's row");
        let newest = format!("Message {} of the long thread", THREAD_MESSAGES - 1);
        let took = click_to(
            browser,
            "[data-bench-target=\"1\"]",
            &testid_selector("message-text"),
            Some(&newest),
        )
        .await;
        eprintln!("thread run {run}: {took:.1} ms");
        thread_samples.push(took);
        thread_rows = thread_rows.max(rows(browser, "message-bubble").await);
    }
    scroll_to(browser, "message-bubble", 0.0).await;
    thread_rows = thread_rows.max(rows(browser, "message-bubble").await);
    scroll_to(browser, "message-bubble", 1.0).await;

    // Latency, with 50 other streams connected and the big thread open at its newest message.
    let mut streams = Vec::new();
    for _ in 0..SSE_CLIENTS {
        let client = logged_in(&base).await;
        let response = client
            .get(format!("{base}/intwa-api/inbox/events"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("an event stream");
        assert!(response.status().is_success(), "the event stream opens");
        streams.push(tokio::spawn(async move {
            let mut body = response.bytes_stream();
            while let Some(Ok(_)) = body.next().await {}
        }));
    }
    browser
        .execute(WATCH_TEXTS, vec![])
        .await
        .expect("watch the thread");
    let mut latencies = Vec::with_capacity(LATENCY_SAMPLES);
    for index in 0..LATENCY_SAMPLES {
        let text = format!("Latency probe {index}");
        browser
            .execute(
                "window.__watch.add(arguments[0]); return true;",
                vec![json!(text)],
            )
            .await
            .expect("watch the text");
        let probe = delivery(
            BIG_THREAD_WA_ID,
            "Long Thread",
            &format!("wamid.probe.{index}"),
            base_time + 40_000 + index as u64,
            &text,
        );
        let posted_at = now_ms();
        post(&client, &base, &probe).await;
        let seen = browser
            .wait_until("the probe to be rendered", async || {
                let seen = browser
                    .execute(
                        "return window.__seen[arguments[0]] || null",
                        vec![json!(text)],
                    )
                    .await?;
                Ok(seen.as_f64())
            })
            .await
            .expect("the probe is rendered");
        latencies.push(seen - posted_at);
    }
    for stream in streams {
        stream.abort();
    }
    // Agents load pages: no load's event stream may outlive it, even when the browser keeps the
    // page for its back button (it opens six connections at most to one HTTP/1.1 server).
    let mut reloads_ok = 0;
    for _ in 0..RELOADS {
        numbers_then_inbox(browser, true).await;
        let loaded = tokio::time::timeout(
            Duration::from_secs(10),
            browser.wait_for_testid("conversation-row"),
        )
        .await;
        if matches!(loaded, Ok(Ok(_))) {
            reloads_ok += 1;
        }
    }
    standalone.close().await;
    db.close().await;
    server.shutdown().await;

    let median = |samples: &mut Vec<f64>| percentile(samples, 0.5);
    println!("conversations={conversations}");
    println!("thread_messages={THREAD_MESSAGES}");
    println!(
        "list_first_render_samples_ms={}",
        list_samples
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("list_first_render_first_ms={:.1}", list_samples[0]);
    println!(
        "list_first_render_median_ms={:.1}",
        median(&mut list_samples)
    );
    println!("list_rows_max={list_rows}");
    println!(
        "thread_open_samples_ms={}",
        thread_samples
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    println!("thread_open_first_ms={:.1}", thread_samples[0]);
    println!("thread_open_median_ms={:.1}", median(&mut thread_samples));
    println!("thread_rows_max={thread_rows}");
    println!("sse_clients={SSE_CLIENTS}");
    println!("reloads={RELOADS}");
    println!("loads_with_the_list_in_10_s={reloads_ok}");
    println!("latency_samples={}", latencies.len());
    println!("latency_p50_ms={:.1}", percentile(&mut latencies, 0.5));
    println!("latency_p99_ms={:.1}", percentile(&mut latencies, 0.99));
}
