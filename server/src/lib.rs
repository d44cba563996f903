//! The wadesk reference server: the backend API the SPA speaks, webhooks, and the upstream
//! adapters (sandbox, YCloud, Meta). `main.rs` parses settings and calls [`start`]; tests call
//! [`start`] on `127.0.0.1:0` with a fresh database, or [`build_router`] with a state of their own.

pub mod app;
pub mod auth;
pub mod channels;
pub mod db;
pub mod inbox;
pub mod realtime;
pub mod sandbox;
pub mod settings;
pub mod state;
pub mod team;
pub mod web;
pub mod webhooks;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sqlx::AnyPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use api_types::API_PREFIX;
pub use web::error::{ok, ApiError, ApiResult};
pub use settings::{Mode, Settings};
pub use state::AppState;

use auth::accounts::{self, CreateAccountError};

/// How long [`RunningServer::shutdown`] lets open requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A server serving in a background task.
pub struct RunningServer {
    /// The address actually bound (the real port when the settings asked for port 0).
    pub addr: SocketAddr,
    /// Set when this start created the first account and admin (the server's first run).
    pub first_admin: Option<FirstAdmin>,
    base_path: String,
    db: AnyPool,
    /// Webhook processing's pool, when it has one of its own.
    work_db: Option<AnyPool>,
    sandbox: Option<std::sync::Arc<sandbox::upstream::SandboxUpstream>>,
    /// Closed first on shutdown: open event streams end instead of holding the grace period.
    realtime: realtime::Realtime,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// The account and admin created on first run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstAdmin {
    pub account_name: String,
    pub email: String,
    /// The password, when it was generated (no `--admin-password`): shown to the operator once.
    pub generated_password: Option<String>,
}

impl RunningServer {
    /// `http://{addr}{base_path}`: where the SPA lives (the API is at `{url}/intwa-api/...`).
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.base_path)
    }

    /// The sandbox this server simulates Meta and the customers' phones with (sandbox mode only),
    /// so tests can act as the outside world the way the sandbox's own pages do.
    pub fn sandbox(&self) -> Option<&std::sync::Arc<sandbox::upstream::SandboxUpstream>> {
        self.sandbox.as_ref()
    }

    /// Stop accepting connections, let open requests finish (for a few seconds at most), and return.
    pub async fn shutdown(mut self) {
        self.realtime.close();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await.is_err() {
            self.task.abort();
        }
        // Closing the pool lets SQLite checkpoint its WAL and PostgreSQL end the sessions now.
        if let Some(work_db) = &self.work_db {
            work_db.close().await;
        }
        self.db.close().await;
    }
}

/// Migrate the database, create the first admin when there is no user, bind `settings.addr`, and
/// serve in a background task. Errors are one line for the operator.
pub async fn start(mut settings: Settings) -> Result<RunningServer, String> {
    settings.validate()?;
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|cause| format!("cannot listen on {}: {cause}", settings.addr))?;
    let addr = listener.local_addr().map_err(|cause| format!("cannot read the bound address: {cause}"))?;
    let db = db::connect_and_migrate_with(&settings.database_url, db::Checkpoints::Apart).await?;
    let first_admin = create_first_admin(&db, &settings).await?;
    let base_path = settings.base_path.clone();
    let work_db = db::connect_for_redoable_work(&settings.database_url).await?;
    let state = app::build_state_with_work_pool(db.clone(), work_db.clone(), settings);
    let sandbox = state.sandbox.clone();
    tracing::info!(upstream = state.upstream.name(), mode = ?state.settings.mode, "upstream ready");
    let realtime = state.realtime.clone();
    let prune_webhooks = webhooks::prune_deliveries_periodically(db.clone(), state.settings.webhook_retention_days);
    let prune_events = realtime::prune_events_periodically(db.clone(), state.settings.events_retention_days);
    let checkpoints = db::checkpoint_periodically(state.settings.database_url.clone());
    // Other servers' events reach this one's streams through PostgreSQL (LISTEN/NOTIFY).
    let other_servers = if state.settings.database_url.starts_with("postgres") {
        Some(realtime::listen_across_instances(state.settings.database_url.clone(), realtime.clone()).await)
    } else {
        None
    };
    let housekeeping = async move {
        let other_servers = async move {
            match other_servers {
                Some(listening) => listening.await,
                None => std::future::pending().await,
            }
        };
        tokio::join!(prune_webhooks, prune_events, checkpoints, other_servers);
    };
    // The outbox and inbound media downloads, beside serving (they also drain what waits from before).
    let inbox_workers = inbox::workers::run(state.clone());
    // Webhook workers start with the server: what earlier runs left pending is drained at once.
    let workers = webhooks::run_workers(state.webhooks.clone());
    let app = build_router(state);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        // Dropping the RunningServer also stops the server (the sender goes away).
        let served = axum::serve(listener, service).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        // Housekeeping and the webhook workers run beside serving and end with it (they never end by themselves).
        let served = tokio::select! {
            served = served => served,
            () = housekeeping => Ok(()),
            () = inbox_workers => Ok(()),
            () = workers => Ok(()),
        };
        if let Err(cause) = served {
            tracing::error!(%cause, "the server stopped with an error");
        }
    });
    Ok(RunningServer { addr, first_admin, base_path, db, work_db, sandbox, realtime, stop: Some(stop), task })
}

/// The whole HTTP surface for a state (see [`app::router`]).
pub fn build_router(state: AppState) -> Router {
    app::router(state)
}

/// On first run (no user at all), create `settings.admin_account` with admin `settings.admin_email`.
async fn create_first_admin(db: &AnyPool, settings: &Settings) -> Result<Option<FirstAdmin>, String> {
    let database_error = |cause: sqlx::Error| format!("cannot create the first admin: {cause}");
    if !accounts::no_user_exists(db).await.map_err(database_error)? {
        return Ok(None);
    }
    let setting_error = |flag: &str, error: api_types::FieldError| format!("{flag}: {}", error.message);
    let account_name =
        auth::validation::account_name("accountName", &settings.admin_account).map_err(|e| setting_error("--admin-account", e))?;
    let email = auth::validation::email("email", &settings.admin_email).map_err(|e| setting_error("--admin-email", e))?;
    let (password, generated_password) = match &settings.admin_password {
        Some(password) => {
            let password =
                auth::validation::new_password("password", password).map_err(|e| setting_error("--admin-password", e))?;
            (password, None)
        }
        None => {
            let password = generate_password();
            (password.clone(), Some(password))
        }
    };
    let password_hash = auth::password::hash(password).await.map_err(|error| error.message)?;
    match accounts::create_with_admin(db, &account_name, &email, "Admin", &password_hash).await {
        Ok(_) => {
            tracing::info!(%account_name, %email, "first run: created the first account and admin");
            Ok(Some(FirstAdmin { account_name, email, generated_password }))
        }
        // Another process starting on the same database got there first.
        Err(CreateAccountError::Taken(_)) => Ok(None),
        Err(CreateAccountError::Database(cause)) => Err(database_error(cause)),
    }
}

/// 18 random bytes as base64url: 24 characters, 144 bits.
fn generate_password() -> String {
    let mut bytes = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
