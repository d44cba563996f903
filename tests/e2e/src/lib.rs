//! The end-to-end harness: the real server (in-process, fresh SQLite file), the real release
//! bundle, and headless Chromium driven through chromedriver.
//!
//! A test is one call to [`run`] (or [`run_with`] for another bundle or settings):
//!
//! ```no_run
//! # async fn example() {
//! wadesk_e2e::run("login_shows_the_account", async |app| {
//!     app.login_admin().await?;
//!     app.wait_for_text("topbar-account-name", wadesk_e2e::ADMIN_ACCOUNT).await?;
//!     Ok(())
//! })
//! .await;
//! # }
//! ```
//!
//! Every helper waits by polling the page until a deadline (never a fixed sleep). When the body
//! returns an error or panics, the harness saves `tests/e2e/screenshots/<name>.png`, prints the
//! URL and the browser console, closes everything, and then fails the test.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub use fantoccini::elements::Element;
pub use fantoccini::wd::WindowHandle;
pub use fantoccini::{Client, Locator};
pub use serde_json::{json, Value as Json};
pub use url::Url;
pub use wadesk_server::Settings;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::ClientBuilder;
use hyper_util::client::legacy::connect::HttpConnector;
use wadesk_server::RunningServer;

/// The admin `Settings::for_tests` seeds in every test server.
pub const ADMIN_EMAIL: &str = "admin@wadesk.local";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
pub const ADMIN_ACCOUNT: &str = "wadesk";

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a step of a test failed, as one readable line.
#[derive(Debug)]
pub struct E2eError(pub String);

pub type E2eResult<T = ()> = Result<T, E2eError>;

impl std::fmt::Display for E2eError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for E2eError {}

impl From<fantoccini::error::CmdError> for E2eError {
    fn from(error: fantoccini::error::CmdError) -> Self {
        E2eError(format!("webdriver: {error}"))
    }
}

impl From<fantoccini::error::NewSessionError> for E2eError {
    fn from(error: fantoccini::error::NewSessionError) -> Self {
        E2eError(format!("webdriver session: {error}"))
    }
}

impl From<std::io::Error> for E2eError {
    fn from(error: std::io::Error) -> Self {
        E2eError(format!("io: {error}"))
    }
}

impl From<serde_json::Error> for E2eError {
    fn from(error: serde_json::Error) -> Self {
        E2eError(format!("json: {error}"))
    }
}

impl From<String> for E2eError {
    fn from(message: String) -> Self {
        E2eError(message)
    }
}

impl From<&str> for E2eError {
    fn from(message: &str) -> Self {
        E2eError(message.to_owned())
    }
}

/// `Err` with a message, for `return fail("...")` in tests.
pub fn fail<T>(message: impl Into<String>) -> E2eResult<T> {
    Err(E2eError(message.into()))
}

/// `Err` unless `condition` holds: an assertion that still gets the failure screenshot.
pub fn ensure(condition: bool, message: impl Into<String>) -> E2eResult {
    if condition {
        Ok(())
    } else {
        fail(message)
    }
}

// ---------------------------------------------------------------------------------------------
// Paths and settings

pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the repository root exists")
}

/// The release bundle served at `/` (`WADESK_E2E_DIST`, default `dist/`).
pub fn dist_dir() -> PathBuf {
    bundle_dir("WADESK_E2E_DIST", "dist")
}

/// The bundle built with `--public-url /console/` (`WADESK_E2E_DIST_CONSOLE`, default
/// `target/dist-console/`).
pub fn dist_console_dir() -> PathBuf {
    bundle_dir("WADESK_E2E_DIST_CONSOLE", "target/dist-console")
}

fn bundle_dir(variable: &str, default: &str) -> PathBuf {
    let dir = std::env::var_os(variable).map(PathBuf::from).unwrap_or_else(|| repository_root().join(default));
    assert!(
        dir.join("index.html").is_file(),
        "no bundle at {} (set {variable}); `cargo xtask test` builds it",
        dir.display()
    );
    dir
}

fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER").map(PathBuf::from).unwrap_or_else(|| "/usr/bin/chromedriver".into())
}

fn chromium_path() -> String {
    std::env::var("WADESK_E2E_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// How long a wait may take before the test fails (`WADESK_E2E_TIMEOUT_SECS`, default 20: two
/// cores shared by parallel tests can make a cold wasm start slow).
pub fn wait_timeout() -> Duration {
    let seconds = std::env::var("WADESK_E2E_TIMEOUT_SECS").ok().and_then(|value| value.parse().ok()).unwrap_or(20);
    Duration::from_secs(seconds)
}

const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A directory under the system temp dir, removed when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(label: &str) -> std::io::Result<ScratchDir> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let unique = format!(
            "wadesk-e2e-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path)?;
        Ok(ScratchDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// Chromedriver and Chromium

/// A chromedriver process on a free loopback port; killed when dropped.
struct Chromedriver {
    child: std::process::Child,
    port: u16,
}

impl Chromedriver {
    async fn start() -> E2eResult<Chromedriver> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = chromedriver_path();
        let child = std::process::Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|error| E2eError(format!("cannot start {}: {error}", driver.display())))?;
        let mut chromedriver = Chromedriver { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Ok(Some(status)) = chromedriver.child.try_wait() {
                return fail(format!("chromedriver exited at start ({status})"));
            }
            if Instant::now() > deadline {
                return fail("chromedriver did not listen within 15 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(chromedriver)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What keeps a browser alive: its WebDriver session, driver process and profile directory.
/// Closed explicitly (the session first, so Chromium exits before its driver).
struct BrowserProcess {
    client: Client,
    driver: Chromedriver,
    profile: ScratchDir,
}

impl BrowserProcess {
    async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
        drop(self.driver);
        drop(self.profile);
    }
}

/// The Chromium switches every test browser gets: headless, as root, quiet on a closed network.
pub fn chromium_args(profile: &Path) -> Vec<String> {
    [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        "--lang=en-US",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

async fn launch_browser(base_url: &str) -> E2eResult<(Browser, BrowserProcess)> {
    let driver = Chromedriver::start().await?;
    let profile = ScratchDir::new("profile")?;
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({ "binary": chromium_path(), "args": chromium_args(profile.path()) }),
    );
    capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url())
        .await?;
    let browser = Browser::new(client.clone(), base_url);
    Ok((browser, BrowserProcess { client, driver, profile }))
}

/// A chromedriver endpoint fantoccini has no method for, under `/session/{id}/`.
#[derive(Debug)]
struct ChromeCommand {
    path: &'static str,
    body: Json,
}

impl WebDriverCompatibleCommand for ChromeCommand {
    fn endpoint(&self, base_url: &Url, session_id: Option<&str>) -> Result<Url, url::ParseError> {
        base_url.join(&format!("session/{}/{}", session_id.unwrap_or_default(), self.path))
    }

    fn method_and_body(&self, _request_url: &Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

// ---------------------------------------------------------------------------------------------
// A partner's static host

/// A plain static web server on its own loopback port, standing in for a partner's host (the
/// outside world): it serves a bundle folder under `mount` (such as `/console`), answers unknown
/// paths below it with `index.html` (so deep links load the app), and serves `config_json` as
/// `{mount}/config.json`. One request per connection; enough for a browser on loopback.
pub struct StaticHost {
    origin: String,
    listener: Option<tokio::net::TcpListener>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl StaticHost {
    /// Take a port now, so its origin is known before the API server starts.
    pub async fn bind() -> E2eResult<StaticHost> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://{}", listener.local_addr()?);
        Ok(StaticHost { origin, listener: Some(listener), task: None })
    }

    /// `http://127.0.0.1:port`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Start answering: `dist` under `mount`, with this `config.json`.
    pub fn serve(&mut self, dist: PathBuf, mount: &str, config_json: String) {
        let Some(listener) = self.listener.take() else { return };
        let site = std::sync::Arc::new((dist, mount.trim_end_matches('/').to_owned(), config_json));
        self.task = Some(tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer_static(stream, site.clone()));
            }
        }));
    }
}

impl Drop for StaticHost {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn answer_static(mut stream: tokio::net::TcpStream, site: std::sync::Arc<(PathBuf, String, String)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (dist, mount, config_json) = &*site;
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") && request.len() < 64 * 1024 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let (status, content_type, body) = match path.strip_prefix(mount.as_str()) {
        Some("/config.json") => ("200 OK", "application/json", config_json.clone().into_bytes()),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let relative = rest.trim_start_matches('/');
            let file = dist.join(relative);
            let inside = !relative.split('/').any(|part| part == "..");
            match (inside && file.is_file()).then(|| std::fs::read(&file)) {
                Some(Ok(bytes)) => ("200 OK", content_type_of(&file), bytes),
                _ => ("200 OK", "text/html", std::fs::read(dist.join("index.html")).unwrap_or_default()),
            }
        }
        _ => ("404 Not Found", "text/plain", b"not found".to_vec()),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

fn content_type_of(file: &Path) -> &'static str {
    match file.extension().and_then(|extension| extension.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

// ---------------------------------------------------------------------------------------------
// The browser: finding things, waiting for them, acting on them

/// One browser window set, pointed at the server. Paths given to its methods are relative to
/// the server's base path (`/login` means `/console/login` for a sub-path server).
#[derive(Clone)]
pub struct Browser {
    /// The raw WebDriver client, for anything the helpers do not cover.
    pub client: Client,
    base_url: String,
    base_path: String,
}

/// The part of `url` after `base_path`, with its query: `/login?next=%2Fnumbers`.
pub fn app_path(base_path: &str, url: &Url) -> String {
    let path = url.path().strip_prefix(base_path).unwrap_or(url.path());
    let path = if path.is_empty() { "/" } else { path };
    match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}

/// The CSS selector for a `data-testid`.
pub fn testid_selector(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

impl Browser {
    fn new(client: Client, base_url: &str) -> Browser {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let base_path = Url::parse(&base_url).map(|url| url.path().trim_end_matches('/').to_owned()).unwrap_or_default();
        Browser { client, base_url, base_path }
    }

    /// `http://127.0.0.1:port{base_path}`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `""` or `/console`.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The absolute URL of an app path such as `/numbers`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Load an app path (a full page load, like typing the URL).
    pub async fn goto(&self, path: &str) -> E2eResult {
        self.client.goto(&self.url(path)).await?;
        Ok(())
    }

    /// Reload the current page.
    pub async fn refresh(&self) -> E2eResult {
        self.client.refresh().await?;
        Ok(())
    }

    pub async fn current_url(&self) -> E2eResult<Url> {
        Ok(self.client.current_url().await?)
    }

    /// The current path relative to the base path, with its query: `/login?next=%2Fnumbers`.
    pub async fn current_path(&self) -> E2eResult<String> {
        let url = self.current_url().await?;
        Ok(self.app_path(&url))
    }

    fn app_path(&self, url: &Url) -> String {
        app_path(&self.base_path, url)
    }

    /// Poll `check` until it yields `Some`, or fail after [`wait_timeout`] with `what` and the
    /// last error seen. The single place all waiting goes through.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        mut check: impl AsyncFnMut() -> E2eResult<Option<T>>,
    ) -> E2eResult<T> {
        let deadline = Instant::now() + wait_timeout();
        let mut last_problem = String::new();
        loop {
            match check().await {
                Ok(Some(value)) => return Ok(value),
                Ok(None) => {}
                Err(error) => last_problem = error.0,
            }
            if Instant::now() > deadline {
                let at = self.current_url().await.map(|url| url.to_string()).unwrap_or_default();
                let detail = if last_problem.is_empty() { String::new() } else { format!(" (last: {last_problem})") };
                return fail(format!("timed out after {:?} waiting for {what} at {at}{detail}", wait_timeout()));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// The element with this `data-testid` now, or an error naming it.
    pub async fn by_testid(&self, id: &str) -> E2eResult<Element> {
        self.client
            .find(Locator::Css(&testid_selector(id)))
            .await
            .map_err(|error| E2eError(format!("no [data-testid={id}]: {error}")))
    }

    /// Every element with this `data-testid` now (possibly none).
    pub async fn all_by_testid(&self, id: &str) -> E2eResult<Vec<Element>> {
        Ok(self.client.find_all(Locator::Css(&testid_selector(id))).await?)
    }

    /// Whether an element with this `data-testid` is in the page now.
    pub async fn has_testid(&self, id: &str) -> E2eResult<bool> {
        Ok(!self.all_by_testid(id).await?.is_empty())
    }

    /// Wait until an element with this `data-testid` is present and visible.
    pub async fn wait_for_testid(&self, id: &str) -> E2eResult<Element> {
        self.wait_until(&format!("[data-testid={id}] to be visible"), async || {
            for element in self.all_by_testid(id).await? {
                if element.is_displayed().await.unwrap_or(false) {
                    return Ok(Some(element));
                }
            }
            Ok(None)
        })
        .await
    }

    /// Wait until an element with this `data-testid` is in the DOM, visible or not.
    pub async fn wait_for_testid_present(&self, id: &str) -> E2eResult<Element> {
        self.wait_until(&format!("[data-testid={id}] to exist"), async || {
            Ok(self.all_by_testid(id).await?.into_iter().next())
        })
        .await
    }

    /// Wait until no visible element has this `data-testid`.
    pub async fn wait_for_testid_gone(&self, id: &str) -> E2eResult {
        self.wait_until(&format!("[data-testid={id}] to disappear"), async || {
            for element in self.all_by_testid(id).await? {
                if element.is_displayed().await.unwrap_or(false) {
                    return Ok(None);
                }
            }
            Ok(Some(()))
        })
        .await
    }

    /// Wait until the visible element with this `data-testid` shows text containing `text`.
    pub async fn wait_for_text(&self, id: &str, text: &str) -> E2eResult<Element> {
        let mut last_seen = String::new();
        let found = self
            .wait_until(&format!("[data-testid={id}] to show {text:?}"), async || {
                for element in self.all_by_testid(id).await? {
                    if !element.is_displayed().await.unwrap_or(false) {
                        continue;
                    }
                    let shown = element.text().await?;
                    if shown.contains(text) {
                        return Ok(Some(element));
                    }
                    last_seen = shown;
                }
                Ok(None)
            })
            .await;
        found.map_err(|error| E2eError(format!("{error}; it showed {last_seen:?}")))
    }

    /// The visible text of the element with this `data-testid` (waiting for it to appear).
    pub async fn text_of(&self, id: &str) -> E2eResult<String> {
        Ok(self.wait_for_testid(id).await?.text().await?)
    }

    /// Wait until the current URL satisfies `predicate`; returns it.
    pub async fn wait_for_url(&self, what: &str, predicate: impl Fn(&Url) -> bool) -> E2eResult<Url> {
        self.wait_until(&format!("the URL to be {what}"), async || {
            let url = self.current_url().await?;
            Ok(predicate(&url).then_some(url))
        })
        .await
    }

    /// Wait until the navigation link `nav_id` is the current page's (the router marks it with
    /// `aria-current="page"`).
    pub async fn wait_for_current_nav(&self, nav_id: &str) -> E2eResult {
        self.wait_until(&format!("{nav_id} to be the current page"), async || {
            let link = self.by_testid(nav_id).await?;
            Ok((link.attr("aria-current").await?.as_deref() == Some("page")).then_some(()))
        })
        .await
    }

    /// Wait until the app path (after the base path, with query) equals `path`.
    pub async fn wait_for_path(&self, path: &str) -> E2eResult<Url> {
        self.wait_for_url(path, |url| self.app_path(url) == path).await
    }

    /// Type into the input with this `data-testid`, replacing what it held.
    pub async fn fill(&self, id: &str, value: &str) -> E2eResult {
        let input = self.wait_for_testid(id).await?;
        input.clear().await?;
        input.send_keys(value).await?;
        Ok(())
    }

    /// Click the control with this `data-testid` once it is visible and enabled.
    pub async fn click(&self, id: &str) -> E2eResult {
        let control = self
            .wait_until(&format!("[data-testid={id}] to be clickable"), async || {
                for element in self.all_by_testid(id).await? {
                    if element.is_displayed().await.unwrap_or(false) && element.is_enabled().await.unwrap_or(false) {
                        return Ok(Some(element));
                    }
                }
                Ok(None)
            })
            .await?;
        control.click().await?;
        Ok(())
    }

    /// Choose the `<option value>` of the `<select>` with this `data-testid`.
    pub async fn select(&self, id: &str, value: &str) -> E2eResult {
        let select = self.wait_for_testid(id).await?;
        select.select_by_value(value).await?;
        Ok(())
    }

    /// Run JavaScript in the page (`arguments[0]`... are `args`) and return its value.
    pub async fn execute(&self, script: &str, args: Vec<Json>) -> E2eResult<Json> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Call the API from inside the page (same origin, same session cookie as the user):
    /// `POST {base}/intwa-api{path}`; returns `{"status": <http status>, "body": <json or null>}`.
    pub async fn call_api(&self, path: &str, body: &Json) -> E2eResult<Json> {
        let script = r#"
            const [url, body, done] = arguments;
            fetch(url, { method: 'POST', credentials: 'same-origin',
                         headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
              .then(async (response) => {
                  const text = await response.text();
                  let json = null;
                  try { json = JSON.parse(text); } catch (_) {}
                  done({ status: response.status, body: json });
              })
              .catch((error) => done({ status: 0, body: String(error) }));
        "#;
        let url = format!("{}{}{path}", self.base_path, api_types::API_PREFIX);
        Ok(self.client.execute_async(script, vec![json!(url), body.clone()]).await?)
    }

    /// Log in through the login page and wait until the app has left it.
    pub async fn login(&self, email: &str, password: &str) -> E2eResult {
        self.goto("/login").await?;
        self.submit_login(email, password).await?;
        self.wait_for_url("away from /login", |url| !url.path().ends_with("/login")).await?;
        Ok(())
    }

    /// Fill and submit the login form that is on screen, without waiting for the outcome.
    pub async fn submit_login(&self, email: &str, password: &str) -> E2eResult {
        self.fill("login-email", email).await?;
        self.fill("login-password", password).await?;
        self.click("login-submit").await
    }

    /// Log in as the seeded admin of account `wadesk`.
    pub async fn login_admin(&self) -> E2eResult {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Sign up a new business account through the sign-up page; waits until the app has left it.
    pub async fn signup(&self, account_name: &str, name: &str, email: &str, password: &str) -> E2eResult {
        self.goto("/signup").await?;
        self.fill("signup-account-name", account_name).await?;
        self.fill("signup-name", name).await?;
        self.fill("signup-email", email).await?;
        self.fill("signup-password", password).await?;
        self.click("signup-submit").await?;
        self.wait_for_url("away from /signup", |url| !url.path().ends_with("/signup")).await?;
        Ok(())
    }

    /// Log out with the top bar button and wait for the login page.
    pub async fn logout(&self) -> E2eResult {
        self.click("logout-button").await?;
        self.wait_for_url("the login page", |url| url.path().ends_with("/login")).await?;
        Ok(())
    }

    // --- windows (the Facebook popup of Embedded Signup) ---

    pub async fn current_window(&self) -> E2eResult<WindowHandle> {
        Ok(self.client.window().await?)
    }

    pub async fn windows(&self) -> E2eResult<Vec<WindowHandle>> {
        Ok(self.client.windows().await?)
    }

    /// Wait for a window that is not in `before` to open, and switch to it. Take `before` with
    /// [`Browser::windows`] just before the click that opens the popup.
    pub async fn switch_to_new_window(&self, before: &[WindowHandle]) -> E2eResult<WindowHandle> {
        let opened = self
            .wait_until("a new window to open", async || {
                Ok(self.windows().await?.into_iter().find(|handle| !before.contains(handle)))
            })
            .await?;
        self.client.switch_to_window(opened.clone()).await?;
        Ok(opened)
    }

    /// Switch to a window (for example back to the app from a popup).
    pub async fn switch_to_window(&self, handle: &WindowHandle) -> E2eResult {
        self.client.switch_to_window(handle.clone()).await?;
        Ok(())
    }

    /// Wait until `handle` has closed (a popup closing itself after it posted its result).
    pub async fn wait_for_window_closed(&self, handle: &WindowHandle) -> E2eResult {
        self.wait_until("the window to close", async || Ok((!self.windows().await?.contains(handle)).then_some(())))
            .await
    }

    // --- diagnostics ---

    /// Save a PNG of the current window.
    pub async fn screenshot(&self, path: &Path) -> E2eResult {
        let png = self.client.screenshot().await?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// The browser console since the last call (errors, `console.log`, wasm panics).
    pub async fn console_log(&self) -> E2eResult<Vec<String>> {
        let entries = self.client.issue_cmd(ChromeCommand { path: "se/log", body: json!({ "type": "browser" }) }).await?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let level = entry["level"].as_str().unwrap_or("");
                let message = entry["message"].as_str().unwrap_or("");
                format!("{level}: {message}")
            })
            .collect())
    }

    /// Send a Chrome DevTools Protocol command (`Page.addScriptToEvaluateOnNewDocument`, ...).
    pub async fn devtools(&self, command: &str, params: Json) -> E2eResult<Json> {
        let body = json!({ "cmd": command, "params": params });
        Ok(self.client.issue_cmd(ChromeCommand { path: "goog/cdp/execute", body }).await?)
    }
}

// ---------------------------------------------------------------------------------------------
// The test app: server + browser(s), and the runner that wraps each test

/// A change to the server settings, applied before the server starts.
type AdjustSettings = Box<dyn FnOnce(&mut Settings) + Send>;

/// What a test needs beyond the defaults: another bundle, a base path, other settings.
#[derive(Default)]
pub struct Setup {
    dist: Option<PathBuf>,
    base_path: String,
    adjust: Vec<AdjustSettings>,
}

impl Setup {
    /// The server under `base_path` (such as `/console`), serving the `--public-url /console/` bundle.
    pub fn sub_path(base_path: &str) -> Setup {
        Setup { dist: None, base_path: base_path.to_owned(), adjust: Vec::new() }
    }

    /// Serve this bundle instead of the default for the base path.
    pub fn dist(mut self, dist: PathBuf) -> Setup {
        self.dist = Some(dist);
        self
    }

    /// Change the server settings before it starts.
    pub fn settings(mut self, adjust: impl FnOnce(&mut Settings) + Send + 'static) -> Setup {
        self.adjust.push(Box::new(adjust));
        self
    }
}

/// A running server with a browser pointed at it. Derefs to its first [`Browser`].
pub struct TestApp {
    pub browser: Browser,
    /// Behind a lock so a test holding `&TestApp` can restart it ([`TestApp::restart_server`]).
    server: tokio::sync::Mutex<Option<RunningServer>>,
    /// The settings it was started with, on the port it got: a restart serves the same address.
    settings: Settings,
    url: String,
    processes: Mutex<Vec<BrowserProcess>>,
    scratch: ScratchDir,
}

impl std::ops::Deref for TestApp {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl TestApp {
    /// Start a server (fresh SQLite database in a temp dir) and a browser.
    pub async fn start(setup: Setup) -> E2eResult<TestApp> {
        let scratch = ScratchDir::new("app")?;
        let database_url = format!("sqlite://{}", scratch.path().join("db.sqlite").display());
        let dist = match setup.dist {
            Some(dist) => dist,
            None if setup.base_path.is_empty() => dist_dir(),
            None => dist_console_dir(),
        };
        let mut settings = Settings::for_tests(&database_url, dist);
        settings.base_path = setup.base_path;
        for adjust in setup.adjust {
            adjust(&mut settings);
        }
        let server = wadesk_server::start(settings.clone()).await.map_err(|error| E2eError(format!("server start: {error}")))?;
        settings.addr = server.addr;
        let url = server.url();
        let (browser, process) = match launch_browser(&url).await {
            Ok(launched) => launched,
            Err(error) => {
                server.shutdown().await;
                return Err(error);
            }
        };
        Ok(TestApp {
            browser,
            server: tokio::sync::Mutex::new(Some(server)),
            settings,
            url,
            processes: Mutex::new(vec![process]),
            scratch,
        })
    }

    /// The server's URL: `http://127.0.0.1:port{base_path}`.
    pub fn server_url(&self) -> String {
        self.url.clone()
    }

    /// Stop the server (open requests get the shutdown grace) and start it again on the same
    /// address and database, as an operator's restart would. Browsers stay open.
    pub async fn restart_server(&self) -> E2eResult {
        let mut server = self.server.lock().await;
        if let Some(running) = server.take() {
            running.shutdown().await;
        }
        let restarted = wadesk_server::start(self.settings.clone())
            .await
            .map_err(|error| E2eError(format!("server restart: {error}")))?;
        *server = Some(restarted);
        Ok(())
    }

    /// A temp directory that lives as long as the test (the database file is in it).
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// Another browser with its own profile (no shared cookies or storage), closed with the app.
    pub async fn open_browser(&self) -> E2eResult<Browser> {
        let (browser, process) = launch_browser(&self.server_url()).await?;
        self.processes.lock().expect("browser list lock").push(process);
        Ok(browser)
    }

    /// Close every browser and stop the server.
    pub async fn close(mut self) {
        let processes = std::mem::take(&mut *self.processes.lock().expect("browser list lock"));
        for process in processes {
            process.close().await;
        }
        if let Some(server) = self.server.get_mut().take() {
            server.shutdown().await;
        }
    }

    /// Screenshot, URL and console of the first browser, for a failed test.
    async fn report_failure(&self, name: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots").join(format!("{name}.png"));
        match self.browser.screenshot(&path).await {
            Ok(()) => eprintln!("[{name}] screenshot: {}", path.display()),
            Err(error) => eprintln!("[{name}] no screenshot: {error}"),
        }
        if let Ok(url) = self.browser.current_url().await {
            eprintln!("[{name}] at {url}");
        }
        if let Ok(lines) = self.browser.console_log().await {
            for line in lines {
                eprintln!("[{name}] console {line}");
            }
        }
    }
}

/// Wait until some `[data-testid=id]` carries `attribute="value"`.
pub async fn wait_for_attr(browser: &Browser, id: &str, attribute: &str, value: &str) -> E2eResult {
    let mut last = None;
    let waited = browser
        .wait_until(&format!("[data-testid={id}] {attribute}={value:?}"), async || {
            for element in browser.all_by_testid(id).await? {
                let current = element.attr(attribute).await?;
                if current.as_deref() == Some(value) {
                    return Ok(Some(()));
                }
                last = current;
            }
            Ok(None)
        })
        .await;
    waited.map_err(|error| format!("{error}; last {attribute}={last:?}").into())
}

/// Run a test body against a fresh server and browser (default bundle, root base path).
pub async fn run(name: &str, body: impl AsyncFnOnce(&TestApp) -> E2eResult) {
    run_with(name, Setup::default(), body).await
}

/// Run a test body; on error or panic save a screenshot to `tests/e2e/screenshots/<name>.png`,
/// print the URL and browser console, clean up, then fail the test.
pub async fn run_with(name: &str, setup: Setup, body: impl AsyncFnOnce(&TestApp) -> E2eResult) {
    let app = TestApp::start(setup).await.unwrap_or_else(|error| panic!("[{name}] could not start: {error}"));
    let outcome = CatchUnwind(Box::pin(body(&app))).await;
    let failed = !matches!(outcome, Ok(Ok(())));
    if failed {
        app.report_failure(name).await;
    }
    app.close().await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("[{name}] {error}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Turns a panic inside a future into an `Err`, so the runner can take its screenshot first.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn std::any::Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Start only a browser (no server), e.g. for measurements against a server started elsewhere.
/// Close it with [`StandaloneBrowser::close`].
pub struct StandaloneBrowser {
    pub browser: Browser,
    process: BrowserProcess,
}

impl StandaloneBrowser {
    pub async fn launch(base_url: &str) -> E2eResult<StandaloneBrowser> {
        let (browser, process) = launch_browser(base_url).await?;
        Ok(StandaloneBrowser { browser, process })
    }

    pub async fn close(self) {
        self.process.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testid_selectors_quote_the_id() {
        assert_eq!(testid_selector("login-submit"), "[data-testid=\"login-submit\"]");
    }

    #[test]
    fn app_paths_are_relative_to_the_base_path() {
        let url = Url::parse("http://127.0.0.1:9/console/login?next=%2Fnumbers").unwrap();
        assert_eq!(app_path("/console", &url), "/login?next=%2Fnumbers");
        assert_eq!(app_path("", &url), "/console/login?next=%2Fnumbers");
        let root = Url::parse("http://127.0.0.1:9/console").unwrap();
        assert_eq!(app_path("/console", &root), "/");
    }

    #[test]
    fn chromium_gets_a_private_profile_and_headless_flags() {
        let args = chromium_args(Path::new("/tmp/profile-x"));
        assert!(args.contains(&"--headless=new".to_owned()));
        assert!(args.contains(&"--no-sandbox".to_owned()));
        assert!(args.contains(&"--user-data-dir=/tmp/profile-x".to_owned()));
    }
}
