//! Webhooks from Meta and YCloud: `GET {base}/webhooks/meta` (subscription handshake),
//! `POST {base}/webhooks/meta` and `POST {base}/webhooks/ycloud`.
//!
//! A delivery is checked (signature over the raw body), stored as received, acknowledged, and only
//! then processed in the background, so a slow or failing step never makes the sender retry a
//! delivery we already hold. A body we cannot read is stored and marked unprocessable, never a 500.

pub mod events;
pub mod meta_payload;
pub mod signature;
pub mod store;
pub mod ycloud_payload;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use api_types::{Envelope, ErrorCode};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use self::events::NumberEvent;
use crate::inbox::MessageEvent;
use self::signature::{SignatureError, SignatureHeader};
use crate::channels::store as channel_store;
use crate::state::AppState;
use crate::web::error::ApiError;

/// Where deliveries go: the database, and what keeps one server's processing in order (one
/// delivery at a time, oldest first) and its receive times strictly increasing. Built once with
/// the server's state; the sandbox feeds its simulated deliveries through the same inbox.
#[derive(Clone)]
pub struct WebhookInbox {
    db: AnyPool,
    order: Arc<tokio::sync::Mutex<()>>,
    clock: Arc<store::ReceivedClock>,
    /// Where processing announces the inbox events it committed.
    realtime: crate::realtime::Realtime,
}

impl WebhookInbox {
    pub fn new(db: AnyPool) -> WebhookInbox {
        WebhookInbox { db, order: Arc::default(), clock: Arc::default(), realtime: Default::default() }
    }

    pub fn db(&self) -> &AnyPool {
        &self.db
    }

    /// The server's event fan-out (the state shares this one).
    pub fn realtime(&self) -> &crate::realtime::Realtime {
        &self.realtime
    }
}

/// Where each provider posts, relative to the base path.
pub const META_PATH: &str = "/webhooks/meta";
pub const YCLOUD_PATH: &str = "/webhooks/ycloud";

/// Which parser reads a stored body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Meta,
    Ycloud,
    /// The sandbox's simulated Meta deliveries (Meta's shape, stored apart).
    Sandbox,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Meta => "meta",
            Provider::Ycloud => "ycloud",
            Provider::Sandbox => "sandbox",
        }
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        [Provider::Meta, Provider::Ycloud, Provider::Sandbox].into_iter().find(|provider| provider.as_str() == name)
    }
}

/// The largest webhook body accepted. Meta documents webhook payloads of up to 3 MB (history
/// chunks come close), above axum's default of 2 MB: a delivery refused for its size is refused
/// on every retry, so it would be lost.
pub const BODY_LIMIT_BYTES: usize = 4 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(META_PATH, get(verify_subscription).post(receive_meta))
        .route(YCLOUD_PATH, axum::routing::post(receive_ycloud))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .method_not_allowed_fallback(wrong_method)
}

/// 405 in our envelope (axum's own is an empty body); axum adds the `Allow` header.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{} does not answer {method}; webhooks are POST (and GET for Meta's handshake)", uri.path()),
    )
}

/// Meta's handshake: echo `hub.challenge` when `hub.verify_token` is one we issued.
async fn verify_subscription(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let mode = query.get("hub.mode").map(String::as_str);
    let token = query.get("hub.verify_token").map(String::as_str).unwrap_or("");
    let challenge = query.get("hub.challenge").cloned().unwrap_or_default();
    let configured = state.settings.webhook_verify_token.as_deref().filter(|configured| !configured.is_empty());
    let token_known = if token.is_empty() {
        false
    } else if configured.is_some_and(|configured| constant_time_eq(configured, token)) {
        true
    } else {
        match channel_store::verify_token_exists(&state.db, token).await {
            Ok(known) => known,
            Err(cause) => return ApiError::from(cause).into_response(),
        }
    };
    if mode == Some("subscribe") && token_known {
        // The challenge goes back as plain text; it is not HTML and must not be rendered as such.
        ([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], challenge).into_response()
    } else {
        ApiError::forbidden("The webhook verify token does not match").into_response()
    }
}

fn constant_time_eq(left: &str, right: &str) -> bool {
    use subtle::ConstantTimeEq;
    left.len() == right.len() && bool::from(left.as_bytes().ct_eq(right.as_bytes()))
}

fn rejected(error: SignatureError) -> Response {
    tracing::warn!(?error, "webhook refused");
    ApiError::new(ErrorCode::Unauthorized, error.message()).into_response()
}

/// A body the server could not read (over the size limit, or the connection broke) as our JSON error.
fn unreadable(rejection: BytesRejection) -> Response {
    tracing::warn!(status = %rejection.status(), "webhook body refused");
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "The webhook body is too large").into_response()
    } else {
        ApiError::new(ErrorCode::Validation, "The webhook body could not be read").into_response()
    }
}

async fn receive_meta(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let secret = state.settings.meta_app_secret.as_deref();
    // Raw bytes, and only when sent once: a header that is not ASCII or comes twice is malformed.
    let signature = SignatureHeader::of(&headers, "x-hub-signature-256");
    receive(&state, Provider::Meta, body, |body| signature::verify_meta(secret, signature, body)).await
}

async fn receive_ycloud(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = crate::db::now_millis() / 1000;
    let secrets = &state.settings.ycloud_webhook_secrets;
    let signature = SignatureHeader::of(&headers, "ycloud-signature");
    receive(&state, Provider::Ycloud, body, |body| signature::verify_ycloud(secrets, signature, body, now)).await
}

/// Read the body, check its signature over the raw bytes, then store and acknowledge it.
async fn receive(
    state: &AppState,
    provider: Provider,
    body: Result<Bytes, BytesRejection>,
    verify: impl FnOnce(&[u8]) -> Result<(), SignatureError>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return unreadable(rejection),
    };
    if let Err(error) = verify(&body) {
        return rejected(error);
    }
    accept(state.webhooks.clone(), provider, &body).await
}

/// Store, acknowledge, then process in the background.
async fn accept(inbox: WebhookInbox, provider: Provider, body: &[u8]) -> Response {
    match store_delivery(&inbox, provider, body).await {
        Ok(stored) => {
            tokio::spawn(async move {
                process(&inbox, &stored).await;
            });
            (StatusCode::OK, Json(Envelope::success(Value::Null))).into_response()
        }
        // Not stored: answer an error so the sender delivers it again later.
        Err(cause) => ApiError::from(cause).into_response(),
    }
}

/// A delivery as stored.
#[derive(Debug, Clone)]
pub struct StoredDelivery {
    pub event_id: String,
    pub provider: Provider,
    pub body: String,
    pub body_sha256: String,
}

pub async fn store_delivery(inbox: &WebhookInbox, provider: Provider, body: &[u8]) -> Result<StoredDelivery, sqlx::Error> {
    let body_sha256 = hex::encode(Sha256::digest(body));
    // JSON is UTF-8; anything else is kept as readable as it goes and will be unprocessable.
    // PostgreSQL TEXT cannot hold NUL, and no JSON text contains a raw one.
    let body = String::from_utf8_lossy(body).replace('\0', "\u{FFFD}");
    let received_at = inbox.clock.next();
    let event_id = store::store_webhook_event(&inbox.db, received_at, provider.as_str(), &body, &body_sha256).await?;
    Ok(StoredDelivery { event_id, provider, body, body_sha256 })
}

/// Deliveries to one server are processed one at a time and oldest first (the inbox's lock), so
/// two copies of one body are still processed once, and a later fact about a number
/// (DISCONNECTED) is never overwritten by an earlier one (FLAGGED) that happened to be scheduled
/// after it.
/// Process `delivery`, after every delivery stored before it that is still pending. Never fails:
/// problems are logged and written to the rows. A delivery whose processing failed stays pending
/// and is tried again, still in order, when the next delivery arrives.
pub async fn process(inbox: &WebhookInbox, delivery: &StoredDelivery) {
    let _one_at_a_time = inbox.order.lock().await;
    // Several servers on one PostgreSQL database take turns too: a session-level advisory lock
    // held on one connection while this server drains the backlog (released if it dies).
    let across_servers = match ServersTurn::take(&inbox.db).await {
        Ok(turn) => turn,
        Err(cause) => {
            tracing::error!(%cause, event_id = %delivery.event_id, "cannot take the webhook processing turn");
            return;
        }
    };
    drain(inbox, delivery).await;
    if let Some(turn) = across_servers {
        turn.release().await;
    }
}

/// The advisory lock that lets one server at a time process a PostgreSQL database's deliveries.
/// SQLite needs none: one file has one writer, and one server process uses it.
struct ServersTurn(sqlx::pool::PoolConnection<sqlx::Any>);

/// An arbitrary key for the lock, the same in every wadesk server.
const PROCESSING_LOCK_KEY: i64 = 0x7761_6465_736b_0001;

impl ServersTurn {
    async fn take(db: &AnyPool) -> Result<Option<ServersTurn>, sqlx::Error> {
        if !db.connect_options().database_url.scheme().starts_with("postgres") {
            return Ok(None);
        }
        let mut connection = db.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)").bind(PROCESSING_LOCK_KEY).execute(&mut *connection).await?;
        Ok(Some(ServersTurn(connection)))
    }

    async fn release(mut self) {
        if let Err(cause) = sqlx::query("SELECT pg_advisory_unlock($1)").bind(PROCESSING_LOCK_KEY).execute(&mut *self.0).await {
            // The connection goes back to the pool still holding the lock: close it instead.
            tracing::warn!(%cause, "cannot release the webhook processing lock; closing its connection");
            let _ = self.0.detach();
        }
    }
}

async fn drain(inbox: &WebhookInbox, delivery: &StoredDelivery) {
    let db = &inbox.db;
    loop {
        // Whichever task got the lock, deliveries are applied in the order they were stored.
        let next = match store::oldest_pending_webhook_event(db).await {
            Ok(Some(next)) => next,
            Ok(None) => return,
            Err(cause) => {
                tracing::error!(%cause, event_id = %delivery.event_id, "cannot read the pending webhooks");
                return;
            }
        };
        let Some(provider) = Provider::from_name(&next.provider) else {
            tracing::error!(event_id = %next.id, provider = %next.provider, "a stored webhook names no known provider");
            if !finish(db, &next.id, "unprocessable", Some("unknown provider")).await {
                return;
            }
            continue;
        };
        let next = StoredDelivery { event_id: next.id, provider, body: next.body, body_sha256: next.body_sha256 };
        match outcome_of(inbox, &next).await {
            // An outcome that cannot be written leaves the row pending; stop rather than apply it twice now.
            Ok((state, note)) if finish(db, &next.event_id, state, note.as_deref()).await => {}
            Ok(_) => return,
            Err(cause) if refused_for_its_data(&cause) => {
                // Retrying would fail the same way, and a pending row holds up every later one.
                tracing::error!(%cause, event_id = %next.event_id, "the database refused what a webhook carries");
                if !finish(db, &next.event_id, "failed", Some(&format!("the database refused it: {cause}"))).await {
                    return;
                }
            }
            Err(cause) => {
                // Left pending: skipping it would let later deliveries overtake it.
                tracing::error!(%cause, event_id = %next.event_id, "webhook processing failed");
                return;
            }
        }
    }
}

/// True when the database refused the data itself (a value it cannot hold, a broken constraint):
/// the same delivery would be refused on every try. An unreachable or busy database is not this.
fn refused_for_its_data(cause: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = cause else { return false };
    if let Some(postgres) = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        // SQLSTATE classes 22 (data exception, e.g. NUL in text) and 23 (integrity constraint).
        return postgres.code().starts_with("22") || postgres.code().starts_with("23");
    }
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Extended result codes keep the primary code in the low byte: TOOBIG, CONSTRAINT, MISMATCH.
        let primary = error.code().and_then(|code| code.parse::<i64>().ok()).map(|code| code & 0xff);
        return matches!(primary, Some(18..=20));
    }
    false
}

/// Record a delivery's outcome; false when that failed.
async fn finish(db: &AnyPool, event_id: &str, state: &str, note: Option<&str>) -> bool {
    match store::finish_webhook_event(db, event_id, state, note).await {
        Ok(()) => true,
        Err(cause) => {
            tracing::error!(%cause, %event_id, "cannot record the webhook outcome");
            false
        }
    }
}

async fn outcome_of(inbox: &WebhookInbox, delivery: &StoredDelivery) -> Result<(&'static str, Option<String>), sqlx::Error> {
    let db = &inbox.db;
    let provider = delivery.provider.as_str();
    if store::same_body_seen_before(db, &delivery.event_id, provider, &delivery.body_sha256).await? {
        return Ok(("duplicate", None));
    }
    let (events, messages) = match parse(delivery.provider, &delivery.body) {
        Ok(parsed) => parsed,
        Err(reason) => {
            tracing::warn!(event_id = %delivery.event_id, %reason, "unprocessable webhook");
            return Ok(("unprocessable", Some(reason)));
        }
    };
    if events.is_empty() && messages.is_empty() {
        return Ok(("ignored", Some("nothing about numbers, onboarding or messages".to_owned())));
    }
    let applied = events::apply_events(db, &inbox.realtime, &events).await?;
    // A delivery's messages and statuses are applied in one transaction (and idempotently, so
    // a delivery tried again after its outcome could not be recorded changes nothing more).
    let applied_messages = crate::inbox::apply_events(db, &inbox.realtime, &messages).await?;
    if applied.matched + applied_messages.matched == 0 {
        // Removed numbers, or numbers never bound here: acknowledged and ignored.
        return Ok(("ignored", Some("no number bound here".to_owned())));
    }
    Ok(("processed", None))
}

/// A delivery's events: about numbers and onboarding, and about messages (the inbox's).
pub fn parse(provider: Provider, body: &str) -> Result<(Vec<NumberEvent>, Vec<MessageEvent>), String> {
    let payload: Value = serde_json::from_str(body).map_err(|cause| format!("not JSON: {cause}"))?;
    match provider {
        Provider::Meta | Provider::Sandbox => Ok((meta_payload::parse(&payload)?, meta_payload::parse_messages(&payload))),
        Provider::Ycloud => Ok((ycloud_payload::parse(&payload)?, ycloud_payload::parse_messages(&payload))),
    }
}

/// How often the stored deliveries are pruned while the server runs.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Prune settled deliveries older than `retention_days` now and then every [`PRUNE_INTERVAL`],
/// for as long as the returned future is polled (the server runs it beside serving). With a
/// retention of 0 it does nothing. Failures are logged and tried again at the next turn.
pub async fn prune_deliveries_periodically(db: AnyPool, retention_days: u32) {
    if retention_days == 0 {
        return std::future::pending().await;
    }
    let retention_ms = i64::from(retention_days) * 24 * 60 * 60 * 1000;
    loop {
        let cutoff = crate::db::now_millis() - retention_ms;
        match store::prune_settled_webhook_events(&db, cutoff).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, retention_days, "pruned old webhook deliveries"),
            Err(cause) => tracing::warn!(%cause, "could not prune old webhook deliveries"),
        }
        tokio::time::sleep(PRUNE_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::channels::test_database::{TestDatabase, NUMBER_DIGITS};
    use api_types::{MessagingLimit, NumberStatus};

    fn inbox_of(test: &TestDatabase) -> WebhookInbox {
        WebhookInbox::new(test.db.clone())
    }

    /// Meta's quality webhook for the test number; `event` FLAGGED or UNFLAGGED.
    fn quality_update(event: &str, limit: &str) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1000000000000001", "changes": [{
            "field": "phone_number_quality_update",
            "value": {"display_phone_number": NUMBER_DIGITS, "event": event, "max_daily_conversations_per_business": limit},
        }]}]})
        .to_string()
        .into_bytes()
    }

    #[tokio::test]
    async fn deliveries_apply_in_arrival_order_whichever_task_runs_first() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        // One server (one receive clock): two deliveries in the same millisecond still sort in arrival order.
        let inbox = inbox_of(&test);
        let flagged = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        let unflagged = store_delivery(&inbox, Provider::Meta, &quality_update("UNFLAGGED", "TIER_10K")).await.unwrap();
        // The background task of the later delivery gets to run first.
        process(&inbox, &unflagged).await;
        process(&inbox, &flagged).await;
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier10K));
        assert_eq!(test.deliveries_in("processed").await, 2);
    }

    #[tokio::test]
    async fn a_held_up_database_does_not_hold_up_deliveries_to_another() {
        let stuck = TestDatabase::with_number(NumberStatus::Connected).await;
        let other = TestDatabase::with_number(NumberStatus::Connected).await;
        // As if a delivery to the first database were stuck mid-processing (a slow query, a busy runtime).
        let stuck_inbox = inbox_of(&stuck);
        let _held = stuck_inbox.order.lock().await;
        let delivery = store_delivery(&inbox_of(&other), Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), process(&inbox_of(&other), &delivery))
            .await
            .expect("the other database's delivery was processed while the first one was held up");
        assert_eq!(other.number_state().await, (NumberStatus::Flagged, MessagingLimit::Tier2K));
    }

    #[tokio::test]
    async fn a_delivery_the_database_refuses_is_marked_failed_and_does_not_hold_up_later_ones() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        // A value the database will never take (as PostgreSQL never takes NUL in text).
        sqlx::query(
            "CREATE TRIGGER refuse_poison BEFORE UPDATE ON whatsapp_numbers WHEN NEW.messaging_limit = 'POISON' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&test.db)
        .await
        .unwrap();
        let inbox = inbox_of(&test);
        let poison = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "POISON")).await.unwrap();
        let later = store_delivery(&inbox, Provider::Meta, &quality_update("UNFLAGGED", "TIER_10K")).await.unwrap();
        process(&inbox, &poison).await;
        process(&inbox, &later).await;
        assert_eq!(test.deliveries_in("pending").await, 0);
        assert_eq!(test.deliveries_in("failed").await, 1);
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier10K));
    }

    #[test]
    fn only_refusals_of_the_data_count_as_final() {
        assert!(!refused_for_its_data(&sqlx::Error::PoolTimedOut));
        assert!(!refused_for_its_data(&sqlx::Error::Io(std::io::Error::other("connection reset"))));
    }

    #[tokio::test]
    async fn a_delivery_left_pending_is_processed_before_the_next_one() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        // Stored, but its processing never ran (it failed, or the server stopped first).
        store_delivery(&inbox_of(&test), Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        let later = store_delivery(&inbox_of(&test), Provider::Meta, &quality_update("UNFLAGGED", "TIER_10K")).await.unwrap();
        process(&inbox_of(&test), &later).await;
        assert_eq!(test.deliveries_in("pending").await, 0);
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier10K));
    }
}
