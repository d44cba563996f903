//! The split bundle in a real browser (issue 8): every page loads by navigation and by reload,
//! also under a sub-path; a page chunk that fails to download shows a retry, then the page; and
//! the login page fetches no page chunk except the ones it prefetches once the browser is idle.

use std::collections::BTreeSet;

use wadesk_e2e::{dist_dir, ensure, json, run, run_with, Browser, E2eResult, Json, Setup, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The pages behind the login: the route, its nav link, and what shows that page is on screen.
const APP_PAGES: [(&str, &str, &str); 5] = [
    ("/onboarding", "nav-onboarding", "onboarding-page"),
    ("/numbers", "nav-numbers", "numbers-page"),
    ("/inbox", "nav-inbox", "inbox-page"),
    ("/team", "nav-team", "page-not-built"),
    ("/settings", "nav-settings", "page-not-built"),
];

/// Records in `window.__wasmWhenReady` the `.wasm` files fetched by the moment the login button
/// exists (installed before any page script runs).
const RECORD_WASM_WHEN_READY: &str = r#"
new MutationObserver((_, observer) => {
  if (document.querySelector('[data-testid="login-submit"]')) {
    observer.disconnect();
    window.__wasmWhenReady = performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm'));
  }
}).observe(document, { childList: true, subtree: true });
"#;

/// `wasm-chunks.json` of the bundle: every split point and the chunk files it needs.
fn chunk_manifest() -> E2eResult<Json> {
    let text = std::fs::read_to_string(dist_dir().join("wasm-chunks.json"))?;
    Ok(serde_json::from_str(&text)?)
}

fn chunk_files(manifest: &Json, split: &str) -> E2eResult<BTreeSet<String>> {
    let files = manifest[split].as_array().ok_or_else(|| wadesk_e2e::E2eError(format!("no split point {split} in wasm-chunks.json")))?;
    Ok(files.iter().filter_map(|file| file.as_str().map(str::to_owned)).collect())
}

/// The `.wasm` files the page has requested so far (resource timing), by file name.
async fn wasm_requested(browser: &Browser) -> E2eResult<BTreeSet<String>> {
    let names = browser
        .execute(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.split('?')[0].endsWith('.wasm'))",
            vec![],
        )
        .await?;
    Ok(names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str())
        .map(|name| name.rsplit('/').next().unwrap_or(name).to_owned())
        .collect())
}

async fn every_page_by_navigation_and_reload(app: &Browser) -> E2eResult {
    app.goto("/signup").await?;
    app.wait_for_testid("signup-account-name").await?;
    app.goto("/login").await?;
    app.submit_login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    app.wait_for_testid("onboarding-page").await?;
    for (path, nav, marker) in APP_PAGES {
        app.click(nav).await?;
        app.wait_for_path(path).await?;
        app.wait_for_current_nav(nav).await?;
        app.wait_for_testid(marker).await?;
    }
    for (path, nav, marker) in APP_PAGES {
        app.goto(path).await?;
        app.wait_for_testid(marker).await?;
        app.wait_for_current_nav(nav).await?;
        app.refresh().await?;
        app.wait_for_testid(marker).await?;
        app.wait_for_current_nav(nav).await?;
        ensure(app.current_path().await? == path, format!("the reload stayed on {path}"))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_loads_by_navigation_and_by_reload() {
    run("every_page_loads_by_navigation_and_by_reload", async |app| every_page_by_navigation_and_reload(app).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_loads_by_navigation_and_by_reload_under_a_sub_path() {
    run_with("every_page_loads_by_navigation_and_by_reload_under_a_sub_path", Setup::sub_path("/console"), async |app| {
        every_page_by_navigation_and_reload(app).await?;
        let chunks = wasm_requested(app).await?;
        ensure(!chunks.is_empty(), "page chunks were fetched")?;
        let outside = app
            .execute(
                "return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)\
                 .filter(p => p.endsWith('.wasm') && !p.startsWith('/console/'))",
                vec![],
            )
            .await?;
        ensure(outside == json!([]), format!("every chunk comes from under /console/: {outside}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_chunk_that_fails_to_download_shows_a_retry_then_the_page() {
    run("a_page_chunk_that_fails_to_download_shows_a_retry_then_the_page", async |app| {
        let manifest = chunk_manifest()?;
        let numbers_only: Vec<String> = chunk_files(&manifest, "numbers_page_chunk")?
            .into_iter()
            .filter(|file| file.starts_with("split_"))
            .map(|file| format!("*{file}"))
            .collect();
        ensure(!numbers_only.is_empty(), "the Numbers page has a chunk of its own")?;
        app.login_admin().await?;
        app.wait_for_testid("onboarding-page").await?;

        // The connection drops for the Numbers page's chunk.
        app.devtools("Network.enable", json!({})).await?;
        app.devtools("Network.setBlockedURLs", json!({ "urls": numbers_only })).await?;
        app.click("nav-numbers").await?;
        app.wait_for_testid("page-load-error").await?;
        ensure(app.has_testid("nav-numbers").await?, "the app frame stays usable")?;
        ensure(!app.has_testid("numbers-page").await?, "no Numbers page without its code")?;

        // It comes back: the retry fetches again and shows the page.
        app.devtools("Network.setBlockedURLs", json!({ "urls": [] })).await?;
        app.click("page-load-retry").await?;
        app.wait_for_testid("numbers-page").await?;
        app.wait_for_testid_gone("page-load-error").await?;

        // The rest of the app still works after the failure.
        app.click("nav-team").await?;
        app.wait_for_testid("page-not-built").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_page_fetches_only_the_chunks_it_prefetches() {
    run("the_login_page_fetches_only_the_chunks_it_prefetches", async |app| {
        let manifest = chunk_manifest()?;
        let shell = chunk_files(&manifest, "app_shell_chunk")?;
        let frame = chunk_files(&manifest, "app_frame_chunk")?;
        let landing = chunk_files(&manifest, "onboarding_page_chunk")?;
        let main_wasm: BTreeSet<String> = std::fs::read_dir(dist_dir())?
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with("_bg.wasm"))
            .collect();
        ensure(main_wasm.len() == 1, format!("one main module: {main_wasm:?}"))?;

        app.devtools("Page.enable", json!({})).await?;
        app.devtools("Page.addScriptToEvaluateOnNewDocument", json!({ "source": RECORD_WASM_WHEN_READY })).await?;
        app.goto("/login").await?;
        app.wait_for_testid("login-submit").await?;
        // The login form needs only the main module: no chunk was fetched when it became usable.
        let at_first = app.execute("return window.__wasmWhenReady", vec![]).await?;
        let at_first: BTreeSet<String> = at_first
            .as_array()
            .ok_or_else(|| wadesk_e2e::E2eError(format!("the recorder saw no login form: {at_first}")))?
            .iter()
            .filter_map(|name| name.as_str().map(|name| name.rsplit('/').next().unwrap_or(name).to_owned()))
            .collect();
        ensure(at_first == main_wasm, format!("the wasm fetched before the form was usable: {at_first:?}"))?;
        // Once idle, the app (router), its frame and the page a login lands on (Onboarding) are prefetched.
        let requested = app
            .wait_until("the idle prefetch of the app, its frame and the landing page", async || {
                let requested = wasm_requested(app).await?;
                Ok((shell.is_subset(&requested) && frame.is_subset(&requested) && landing.is_subset(&requested)).then_some(requested))
            })
            .await?;
        let allowed: BTreeSet<String> = main_wasm.iter().chain(&shell).chain(&frame).chain(&landing).cloned().collect();
        let extra: Vec<&String> = requested.difference(&allowed).collect();
        ensure(extra.is_empty(), format!("the login page fetched other chunks too: {extra:?}"))?;
        let numbers = chunk_files(&manifest, "numbers_page_chunk")?;
        ensure(!numbers.iter().filter(|file| file.starts_with("split_")).any(|file| requested.contains(file)), "no Numbers chunk yet")?;

        // With `next`, the page asked for is the one prefetched.
        app.goto("/login?next=%2Fnumbers").await?;
        app.wait_for_testid("login-submit").await?;
        app.wait_until("the prefetch of the Numbers page", async || {
            let requested = wasm_requested(app).await?;
            Ok(numbers.is_subset(&requested).then_some(()))
        })
        .await?;
        // Logging in never waits on the network for code: the page is there as the session is.
        app.submit_login(ADMIN_EMAIL, ADMIN_PASSWORD).await?;
        app.wait_for_testid("numbers-page").await?;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pointing_at_a_navigation_link_fetches_that_page_before_the_click() {
    run("pointing_at_a_navigation_link_fetches_that_page_before_the_click", async |app| {
        let manifest = chunk_manifest()?;
        let team = chunk_files(&manifest, "team_page_chunk")?;
        let team_own: BTreeSet<String> = team.iter().filter(|file| file.starts_with("split_")).cloned().collect();
        ensure(!team_own.is_empty(), "the Team page has a chunk of its own")?;
        app.login_admin().await?;
        app.wait_for_testid("onboarding-page").await?;
        ensure(team_own.is_disjoint(&wasm_requested(app).await?), "the Team chunk is not fetched before anyone points at it")?;
        app.execute(
            "document.querySelector('[data-testid=\"nav-team\"]').closest('li').dispatchEvent(new PointerEvent('pointerenter'))",
            vec![],
        )
        .await?;
        app.wait_until("the Team chunk to be fetched", async || Ok(team_own.is_subset(&wasm_requested(app).await?).then_some(())))
            .await?;
        ensure(app.current_path().await? == "/onboarding", "still on Onboarding: nothing was clicked")?;
        app.click("nav-team").await?;
        app.wait_for_testid("page-not-built").await?;
        Ok(())
    })
    .await;
}
