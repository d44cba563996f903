//! Server settings, by flag or environment variable. Bad settings stop the server with one
//! clear line (see `main.rs`), never a backtrace.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use crate::web::client_address::TrustedProxies;

/// Whether the server talks to the real Meta/YCloud or simulates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Simulates Meta, YCloud and customers' phones in-process: works offline.
    Sandbox,
    /// Talks to the configured upstream (YCloud or Meta's Graph API).
    Live,
}

/// When the session cookie is marked `Secure` (sent back over HTTPS only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CookieSecure {
    /// When `--public-url` is https, or a trusted proxy says the request came over https.
    Auto,
    Always,
    Never,
}

/// Where media files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MediaStoreKind {
    /// A directory on this machine (`--media-dir`).
    Local,
    /// An S3-compatible bucket (`--media-s3-bucket`), shared by every instance.
    S3,
}

/// Which live upstream the server talks to (ignored in sandbox mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpstreamKind {
    Ycloud,
    Meta,
}

#[derive(Debug, Clone, Parser)]
#[command(name = "wadesk-server", about = "The wadesk reference server", version)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "WADESK_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// `sqlite://path/to/file.db` (created when missing) or `postgres://user:pass@host/db`.
    #[arg(long, env = "WADESK_DATABASE_URL", default_value = "sqlite://data/wadesk.db")]
    pub database_url: String,

    /// The built SPA bundle (Trunk's `dist/`).
    #[arg(long, env = "WADESK_DIST", default_value = "dist")]
    pub dist: PathBuf,

    /// `sandbox` simulates Meta, YCloud and phones; `live` talks to the real upstream.
    #[arg(long, env = "WADESK_MODE", value_enum, default_value = "sandbox")]
    pub mode: Mode,

    /// Serve everything (bundle, config.json, API) under this path, such as `/console`.
    #[arg(long, env = "WADESK_BASE_PATH", default_value = "")]
    pub base_path: String,

    /// Key that encrypts stored upstream tokens (any length; hashed to 256 bits). Required in live mode.
    #[arg(long, env = "WADESK_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// The first admin's email, created on first run when there is no user yet.
    #[arg(long, env = "WADESK_ADMIN_EMAIL", default_value = "admin@wadesk.local")]
    pub admin_email: String,

    /// The first admin's password; when unset a password is generated and printed once.
    #[arg(long, env = "WADESK_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// The first account's name (seed 003 `accountName`).
    #[arg(long, env = "WADESK_ADMIN_ACCOUNT", default_value = "wadesk")]
    pub admin_account: String,

    /// Allow self-service sign-up of new business accounts.
    #[arg(long, env = "WADESK_SIGNUP_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub signup_enabled: bool,

    /// Live upstream: `ycloud` or `meta`.
    #[arg(long, env = "WADESK_UPSTREAM", value_enum, default_value = "ycloud")]
    pub upstream: UpstreamKind,

    /// Upstream base URL override (tests point it at a local fake server).
    #[arg(long, env = "WADESK_UPSTREAM_URL")]
    pub upstream_url: Option<String>,

    /// YCloud API key (`X-API-Key`).
    #[arg(long, env = "WADESK_YCLOUD_API_KEY", hide_env_values = true)]
    pub ycloud_api_key: Option<String>,

    /// YCloud webhook signing secrets, comma separated (several during rotation).
    #[arg(long, env = "WADESK_YCLOUD_WEBHOOK_SECRETS", hide_env_values = true, value_delimiter = ',')]
    pub ycloud_webhook_secrets: Vec<String>,

    /// Meta app id (public; also sent to the SPA in config.json).
    #[arg(long, env = "WADESK_META_APP_ID", default_value = "")]
    pub meta_app_id: String,

    /// Meta app secret (code exchange, webhook signatures). Never sent to the SPA.
    #[arg(long, env = "WADESK_META_APP_SECRET", hide_env_values = true)]
    pub meta_app_secret: Option<String>,

    /// Embedded Signup configuration id (Facebook Login for Business).
    #[arg(long, env = "WADESK_META_CONFIG_ID", default_value = "")]
    pub meta_config_id: String,

    /// Configuration id for the coexistence flow (defaults to the Embedded Signup one).
    #[arg(long, env = "WADESK_META_COEXISTENCE_CONFIG_ID", default_value = "")]
    pub meta_coexistence_config_id: String,

    /// Partner solution id for `extras.setup.solutionID`.
    #[arg(long, env = "WADESK_META_SOLUTION_ID", default_value = "")]
    pub meta_solution_id: String,

    /// Graph API version.
    #[arg(long, env = "WADESK_GRAPH_API_VERSION", default_value = "v23.0")]
    pub graph_api_version: String,

    /// Embedded Signup version: v4 (current), v3 or v2.
    #[arg(long, env = "WADESK_EMBEDDED_SIGNUP_VERSION", default_value = "v4")]
    pub embedded_signup_version: String,

    /// Verify token for the Meta webhook subscription handshake.
    #[arg(long, env = "WADESK_WEBHOOK_VERIFY_TOKEN", hide_env_values = true)]
    pub webhook_verify_token: Option<String>,

    /// The public URL this server is reached at (for webhook callback URLs shown to users).
    #[arg(long, env = "WADESK_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Days a webhook delivery is kept after it was received and handled (0 keeps every one).
    /// Providers stop retrying long before: Meta within 7 days.
    #[arg(long, env = "WADESK_WEBHOOK_RETENTION_DAYS", default_value_t = 30)]
    pub webhook_retention_days: u32,

    /// Days the inbox's events are kept for browsers that reconnect (`Last-Event-ID`); one away
    /// for longer is told to reload its lists. At least 1.
    #[arg(long, env = "WADESK_EVENTS_RETENTION_DAYS", default_value_t = 7)]
    pub events_retention_days: u32,

    /// Milliseconds between two heartbeat comments on an idle event stream, so proxies do not
    /// close it (and a stream whose session ended is closed).
    #[arg(long, env = "WADESK_EVENTS_HEARTBEAT_MS", default_value_t = 15_000)]
    pub events_heartbeat_ms: u64,

    /// Origins of consoles hosted elsewhere that may call this API with the user's cookie
    /// (CORS with credentials), comma separated and exact: `https://console.partner.example`.
    #[arg(long, env = "WADESK_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Who may frame the console (the CSP `frame-ancestors`), comma separated: `'self'` when
    /// empty; a partner embedding it lists its origin, `https://partner.example`.
    #[arg(long, env = "WADESK_FRAME_ANCESTORS", value_delimiter = ',')]
    pub frame_ancestors: Vec<String>,

    /// Platform operator keys, comma separated: a partner's backend that provisions accounts
    /// sends one as `X-Wadesk-Operator-Key` to bind a WABA by hand (seed 003) without the WABA's
    /// own token. Keep them secret; each at least 24 characters.
    #[arg(long, env = "WADESK_OPERATOR_KEYS", hide_env_values = true, value_delimiter = ',')]
    pub operator_keys: Vec<String>,

    /// Reverse proxies whose `X-Forwarded-For`, `Forwarded` and `X-Forwarded-Proto` are believed,
    /// comma separated: networks (`10.0.0.0/8`, `fd00::/8`) or single addresses (`127.0.0.1`).
    /// Empty (the default): the connection's address is the client and those headers are ignored.
    #[arg(long, env = "WADESK_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,

    /// `--trusted-proxies`, parsed by [`Settings::validate`] (empty until then: nobody trusted).
    #[arg(skip)]
    pub trusted_proxy_networks: TrustedProxies,

    /// Where media files (uploads, downloaded inbound media) are kept: `local` (a directory) or
    /// `s3` (an S3-compatible object store; credentials from the usual `AWS_*` environment).
    #[arg(long, env = "WADESK_MEDIA_STORE", value_enum, default_value = "local")]
    pub media_store: MediaStoreKind,

    /// The `local` media store's directory; by default `media/` beside the SQLite file (or
    /// `data/media` with PostgreSQL).
    #[arg(long, env = "WADESK_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,

    /// The `s3` media store's bucket.
    #[arg(long, env = "WADESK_MEDIA_S3_BUCKET")]
    pub media_s3_bucket: Option<String>,

    /// The key prefix of every object in the bucket.
    #[arg(long, env = "WADESK_MEDIA_S3_PREFIX", default_value = "media")]
    pub media_s3_prefix: String,

    /// An S3-compatible endpoint (MinIO, R2, ...): `https://s3.example.com`; AWS when unset.
    #[arg(long, env = "WADESK_MEDIA_S3_ENDPOINT")]
    pub media_s3_endpoint: Option<String>,

    /// The bucket's region (`AWS_REGION` when unset).
    #[arg(long, env = "WADESK_MEDIA_S3_REGION")]
    pub media_s3_region: Option<String>,

    /// The waits between tries of an outgoing message whose upstream call timed out or failed
    /// (5xx, 429), in milliseconds, comma separated; after the last one the message fails.
    #[arg(long, env = "WADESK_OUTBOX_RETRY_DELAYS_MS", value_delimiter = ',', default_value = "2000,10000,60000,300000")]
    pub outbox_retry_delays_ms: Vec<u64>,

    /// The waits between tries of an inbound media download, in milliseconds, comma separated;
    /// after the last one the media is shown as unavailable.
    #[arg(long, env = "WADESK_MEDIA_RETRY_DELAYS_MS", value_delimiter = ',', default_value = "5000,30000,300000")]
    pub media_retry_delays_ms: Vec<u64>,

    /// The inbox's wall clock (the system's; tests set a manual one).
    #[arg(skip)]
    pub clock: crate::inbox::clock::WallClock,

    /// The session cookie's `Secure` flag: `always`, `never`, or `auto` (when `--public-url` is
    /// https, or a trusted proxy says the request came over https).
    #[arg(long, env = "WADESK_COOKIE_SECURE", value_enum, default_value = "auto")]
    pub cookie_secure: CookieSecure,
}

impl Settings {
    /// Where the `local` media store keeps its files: `--media-dir`, or `media/` beside the
    /// SQLite file, or `data/media` with PostgreSQL.
    pub fn media_directory(&self) -> PathBuf {
        if let Some(directory) = &self.media_dir {
            return directory.clone();
        }
        let sqlite_file = self.database_url.strip_prefix("sqlite://").or_else(|| self.database_url.strip_prefix("sqlite:"));
        let folder = sqlite_file
            .map(|rest| rest.split('?').next().unwrap_or(""))
            .filter(|path| !path.is_empty() && *path != ":memory:")
            .and_then(|path| std::path::Path::new(path).parent().map(std::path::Path::to_path_buf));
        match folder {
            Some(folder) if !folder.as_os_str().is_empty() => folder.join("media"),
            _ => PathBuf::from("data").join("media"),
        }
    }

    /// Settings for tests: sandbox mode, the given database, everything else default.
    pub fn for_tests(database_url: &str, dist: PathBuf) -> Settings {
        let mut settings = Settings::parse_from(["wadesk-server"]);
        settings.addr = "127.0.0.1:0".parse().expect("loopback address");
        settings.database_url = database_url.to_owned();
        settings.dist = dist;
        settings.admin_password = Some("admin-password-for-tests".to_owned());
        settings
    }

    /// Check the settings hang together; the error is one line for the operator.
    pub fn validate(&mut self) -> Result<(), String> {
        let base = self.base_path.trim().trim_end_matches('/').to_owned();
        if !base.is_empty() && (!base.starts_with('/') || base.contains(['?', '#', ' ', '\\'])) {
            return Err(format!("--base-path must look like /console, not {:?}", self.base_path));
        }
        self.base_path = base;
        if self.operator_keys.iter().any(|key| key.trim().chars().count() < 24) {
            return Err("--operator-keys: each key must be at least 24 characters (they grant binding any WABA)".to_owned());
        }
        if let Some(bad) = self.frame_ancestors.iter().find(|source| source.is_empty() || source.contains([' ', ';', ',', '"'])) {
            return Err(format!("--frame-ancestors: {bad:?} is not a CSP source such as https://partner.example or 'self'"));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return Err(format!(
                "--database-url must start with sqlite:// or postgres://, not {:?}",
                self.database_url
            ));
        }
        let mut cors_origins = Vec::new();
        for origin in &self.cors_origins {
            let origin = origin.trim();
            if origin.is_empty() {
                continue;
            }
            cors_origins.push(normalize_origin(origin).ok_or_else(|| {
                format!("--cors-origins takes exact origins such as https://console.example.com, not {origin:?}")
            })?);
        }
        self.cors_origins = cors_origins;
        self.trusted_proxy_networks = TrustedProxies::parse(self.trusted_proxies.iter().map(String::as_str))
            .map_err(|problem| format!("--trusted-proxies: {problem}"))?;
        if self.events_retention_days == 0 {
            return Err("--events-retention-days must be at least 1 (reconnecting browsers resume from the kept events)".to_owned());
        }
        if self.events_heartbeat_ms == 0 {
            return Err("--events-heartbeat-ms must be at least 1".to_owned());
        }
        if self.media_store == MediaStoreKind::S3 && self.media_s3_bucket.as_deref().is_none_or(|bucket| bucket.trim().is_empty()) {
            return Err("--media-store s3 needs --media-s3-bucket (WADESK_MEDIA_S3_BUCKET)".to_owned());
        }
        if self.media_store == MediaStoreKind::S3 {
            crate::inbox::media::ObjectMediaStore::s3_from_settings(self)?;
        }
        if self.mode == Mode::Live && self.secret_key.as_deref().unwrap_or("").len() < 16 {
            return Err("live mode needs WADESK_SECRET_KEY (at least 16 characters) to encrypt upstream tokens".to_owned());
        }
        Ok(())
    }
}

/// `scheme://host[:port]` as browsers send it in `Origin` (lower case, no default port, no path);
/// `None` for anything else, a `*` wildcard included (credentials need exact origins).
fn normalize_origin(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    let plain = url.username().is_empty() && url.password().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !bare || !plain || text.ends_with("/#") {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    (origin != "null").then_some(origin)
}
