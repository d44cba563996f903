//! Webhooks from Meta and YCloud: `GET {base}/webhooks/meta` (subscription handshake),
//! `POST {base}/webhooks/meta` and `POST {base}/webhooks/ycloud`.
//!
//! A delivery is checked (signature over the raw body), stored as received, acknowledged once its
//! row is committed, and only then processed by the queue's workers ([`queue`]), so a slow or
//! failing step never makes the sender retry a delivery we already hold. A body we cannot read is
//! stored and marked unprocessable, never a 500.

pub mod events;
pub mod meta_payload;
pub mod queue;
pub mod signature;
pub mod store;
pub mod ycloud_payload;

use std::collections::{HashMap, HashSet};
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
use self::queue::{Outcome, QueueConfig};
use self::signature::{SignatureError, SignatureHeader};
use self::store::{ClaimedWebhookEvent, DeliveryState};
use crate::channels::store as channel_store;
use crate::inbox::MessageEvent;
use crate::state::AppState;
use crate::web::error::ApiError;

/// Where deliveries go: the database, the queue that stores and processes them (its receipt
/// writer, workers and wake-ups), and the receive clock that keeps one server's receive times
/// strictly increasing. Built once with the server's state; the sandbox feeds its simulated
/// deliveries through the same inbox.
#[derive(Clone)]
pub struct WebhookInbox {
    db: AnyPool,
    /// Where deliveries are claimed, applied and settled: `db`, or a pool on the same database
    /// whose commits do not wait for the disk ([`crate::db::connect_for_redoable_work`]).
    /// Receipts always go through `db`.
    work_db: AnyPool,
    clock: Arc<store::ReceivedClock>,
    queue: Arc<queue::Queue>,
    /// Where processing announces the inbox events it committed.
    realtime: crate::realtime::Realtime,
}

impl WebhookInbox {
    pub fn new(db: AnyPool) -> WebhookInbox {
        WebhookInbox::with_queue(db, QueueConfig::default())
    }

    /// An inbox whose queue runs with `config` (tests shorten the retry delays).
    pub fn with_queue(db: AnyPool, config: QueueConfig) -> WebhookInbox {
        let queue = queue::new_queue(&db, config);
        WebhookInbox { work_db: db.clone(), db, clock: Arc::default(), queue, realtime: Default::default() }
    }

    /// Claim, apply and settle deliveries through `pool` (the same database as [`WebhookInbox::db`]).
    pub fn with_work_pool(mut self, pool: AnyPool) -> WebhookInbox {
        self.work_db = pool;
        self
    }

    pub fn db(&self) -> &AnyPool {
        &self.db
    }

    /// The server's event fan-out (the state shares this one).
    pub fn realtime(&self) -> &crate::realtime::Realtime {
        &self.realtime
    }

    /// This server's name in the deliveries it claims (`webhook_events.claimed_by`).
    pub fn instance(&self) -> &str {
        self.queue.instance()
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

/// Store, then acknowledge once the row is committed; the queue's workers process it.
async fn accept(inbox: WebhookInbox, provider: Provider, body: &[u8]) -> Response {
    match store_delivery(&inbox, provider, body).await {
        Ok(_) => (StatusCode::OK, Json(Envelope::success(Value::Null))).into_response(),
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
    /// The business number it concerns (see [`queue::ordering_key`]), or a key of its own.
    pub ordering_key: String,
    /// Set by the receipt writer, in commit order.
    pub received_at: i64,
}

/// Store a delivery (many receipts share one commit) and return once it is committed; the
/// workers are woken to process it.
pub async fn store_delivery(inbox: &WebhookInbox, provider: Provider, body: &[u8]) -> Result<StoredDelivery, sqlx::Error> {
    let body_sha256 = hex::encode(Sha256::digest(body));
    // JSON is UTF-8; anything else is kept as readable as it goes and will be unprocessable.
    // PostgreSQL TEXT cannot hold NUL, and no JSON text contains a raw one.
    let body = String::from_utf8_lossy(body).replace('\0', "\u{FFFD}");
    let event_id = crate::db::new_id();
    let ordering_key = queue::ordering_key(provider, &body).unwrap_or_else(|| format!("delivery:{event_id}"));
    let mut delivery = StoredDelivery { event_id, provider, body, body_sha256, ordering_key, received_at: 0 };
    delivery.received_at = queue::store(inbox, delivery.clone()).await?;
    Ok(delivery)
}

/// Process `delivery` now, after every older unfinished delivery of its business number, and
/// return once it is settled (or waiting for a retry). The sandbox uses it to answer with the
/// delivery applied; the workers would get to it anyway. Never fails: problems are logged and
/// written to the rows.
pub async fn process(inbox: &WebhookInbox, delivery: &StoredDelivery) {
    queue::process_now(inbox, delivery).await;
}

/// Run this server's webhook workers (see [`queue::run_workers`]).
pub async fn run_workers(inbox: WebhookInbox) {
    queue::run_workers(inbox).await;
}

/// True when the database refused the data itself (a value it cannot hold, a broken constraint):
/// the same delivery would be refused on every try. An unreachable or busy database is not this.
fn refused_for_its_data(cause: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = cause else { return false };
    if let Some(postgres) = error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        // SQLSTATE classes 22 (data exception, e.g. NUL in text) and 23 (integrity constraint),
        // except a unique violation: there it is a race lost to another worker inserting the
        // same row (a customer writing to two numbers at once), and the next try finds the row.
        let code = postgres.code();
        return code.starts_with("22") || (code.starts_with("23") && code != "23505");
    }
    if error.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Extended result codes keep the primary code in the low byte: TOOBIG, CONSTRAINT, MISMATCH.
        let primary = error.code().and_then(|code| code.parse::<i64>().ok()).map(|code| code & 0xff);
        return matches!(primary, Some(18..=20));
    }
    false
}

/// What each delivery of a batch (one number's, oldest first) comes to, applied in order: the
/// number events of each, then all their messages and statuses in one transaction. An error
/// leaves the batch for the queue to retry or split (applying is idempotent, so a batch tried
/// again changes nothing it already changed).
async fn outcomes_of(db: &AnyPool, realtime: &crate::realtime::Realtime, batch: &[ClaimedWebhookEvent]) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(batch.len());
    let mut messages = Vec::new();
    // Deliveries (by index) whose number events found a bound number, and those with messages.
    let mut matched = HashSet::new();
    let mut with_messages = Vec::new();
    let mut bodies_seen = HashSet::new();
    let seen_before = store::bodies_seen_before(db, batch).await?;
    for (index, delivery) in batch.iter().enumerate() {
        let Some(provider) = Provider::from_name(&delivery.provider) else {
            tracing::error!(event_id = %delivery.id, provider = %delivery.provider, "a stored webhook names no known provider");
            outcomes.push((DeliveryState::Unprocessable, Some("unknown provider".to_owned())));
            continue;
        };
        let copy_in_batch = !bodies_seen.insert(delivery.body_sha256.as_str());
        if copy_in_batch || seen_before.contains(&(delivery.provider.clone(), delivery.body_sha256.clone())) {
            outcomes.push((DeliveryState::Duplicate, None));
            continue;
        }
        let (events, delivery_messages) = match parse(provider, &delivery.body) {
            Ok(parsed) => parsed,
            Err(reason) => {
                tracing::warn!(event_id = %delivery.id, %reason, "unprocessable webhook");
                outcomes.push((DeliveryState::Unprocessable, Some(reason)));
                continue;
            }
        };
        if events.is_empty() && delivery_messages.is_empty() {
            outcomes.push((DeliveryState::Ignored, Some("nothing about numbers, onboarding or messages".to_owned())));
            continue;
        }
        if events::apply_events(db, realtime, &events).await?.matched > 0 {
            matched.insert(index);
        }
        if !delivery_messages.is_empty() {
            with_messages.push(index);
            messages.extend(delivery_messages);
        }
        // Settled below, once the messages are applied.
        outcomes.push((DeliveryState::Processed, None));
    }
    if !messages.is_empty() {
        // The batch's messages and statuses go in one transaction (and idempotently, so a batch
        // tried again after its outcome could not be recorded changes nothing more). One number's
        // deliveries: they all find its account, or none does.
        let applied_messages = crate::inbox::apply_events(db, realtime, &messages).await?;
        if applied_messages.matched > 0 {
            matched.extend(with_messages);
        }
    }
    for (index, outcome) in outcomes.iter_mut().enumerate() {
        if outcome.0 == DeliveryState::Processed && !matched.contains(&index) {
            // Removed numbers, or numbers never bound here: acknowledged and ignored.
            *outcome = (DeliveryState::Ignored, Some("no number bound here".to_owned()));
        }
    }
    Ok(outcomes)
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
    use std::time::{Duration, Instant};

    use serde_json::json;
    use sqlx::Row;

    use super::*;
    use crate::channels::test_database::{TestDatabase, NUMBER_DIGITS};
    use api_types::{MessagingLimit, NumberStatus};

    fn inbox_of(test: &TestDatabase) -> WebhookInbox {
        WebhookInbox::new(test.db.clone())
    }

    /// An inbox whose failed tries are retried at once, `retries` times.
    fn impatient_inbox(test: &TestDatabase, retries: usize) -> WebhookInbox {
        let config = QueueConfig { retry_delays: vec![Duration::ZERO; retries], ..QueueConfig::default() };
        WebhookInbox::with_queue(test.db.clone(), config)
    }

    /// Meta's quality webhook for the test number; `event` FLAGGED or UNFLAGGED.
    fn quality_update(event: &str, limit: &str) -> Vec<u8> {
        quality_update_of("1000000000000001", event, limit)
    }

    fn quality_update_of(waba_id: &str, event: &str, limit: &str) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [{
            "field": "phone_number_quality_update",
            "value": {"display_phone_number": NUMBER_DIGITS, "event": event, "max_daily_conversations_per_business": limit},
        }]}]})
        .to_string()
        .into_bytes()
    }

    /// (state, attempts, last_error, claimed_by) of a stored delivery.
    async fn row_of(test: &TestDatabase, delivery: &StoredDelivery) -> (String, i64, Option<String>, Option<String>) {
        let row = sqlx::query("SELECT state, attempts, last_error, claimed_by FROM webhook_events WHERE id = $1")
            .bind(&delivery.event_id)
            .fetch_one(&test.db)
            .await
            .unwrap();
        (row.get("state"), row.get("attempts"), row.get("last_error"), row.get("claimed_by"))
    }

    /// Make every read of the numbers fail as an unreachable table does (not a refusal of the data).
    async fn hide_numbers(test: &TestDatabase, hidden: bool) {
        let sql = if hidden {
            "ALTER TABLE whatsapp_numbers RENAME TO whatsapp_numbers_away"
        } else {
            "ALTER TABLE whatsapp_numbers_away RENAME TO whatsapp_numbers"
        };
        sqlx::query(sql).execute(&test.db).await.unwrap();
    }

    async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done().await {
            assert!(Instant::now() < deadline, "waited in vain for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn deliveries_apply_in_arrival_order_whichever_task_runs_first() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        // One server (one receive clock): two deliveries in the same millisecond still sort in arrival order.
        let inbox = inbox_of(&test);
        let flagged = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        let unflagged = store_delivery(&inbox, Provider::Meta, &quality_update("UNFLAGGED", "TIER_10K")).await.unwrap();
        assert_eq!(flagged.ordering_key, unflagged.ordering_key, "one WABA, one key");
        // The later delivery gets processed first: it takes the older one with it, in order.
        process(&inbox, &unflagged).await;
        process(&inbox, &flagged).await;
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier10K));
        assert_eq!(test.deliveries_in("processed").await, 2);
    }

    #[tokio::test]
    async fn a_number_held_by_another_instance_does_not_hold_up_other_numbers() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        let inbox = inbox_of(&test);
        let held = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        // Another instance is in the middle of it (its lease is live).
        sqlx::query("UPDATE webhook_events SET claimed_by = 'other', claimed_until = $1, attempts = 1 WHERE id = $2")
            .bind(crate::db::now_millis() + 60_000)
            .bind(&held.event_id)
            .execute(&test.db)
            .await
            .unwrap();
        let elsewhere = store_delivery(&inbox, Provider::Meta, &quality_update_of("1000000000000099", "FLAGGED", "TIER_2K")).await.unwrap();
        assert_ne!(elsewhere.ordering_key, held.ordering_key);
        tokio::time::timeout(Duration::from_secs(10), process(&inbox, &elsewhere))
            .await
            .expect("the other number's delivery was processed while the first one was held");
        assert_eq!(row_of(&test, &elsewhere).await.0, "ignored");
        assert_eq!(row_of(&test, &held).await.0, "pending");
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier250));
    }

    #[tokio::test]
    async fn a_crashed_instances_claim_expires_and_is_taken_over() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        let inbox = inbox_of(&test);
        let delivery = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        sqlx::query("UPDATE webhook_events SET claimed_by = 'dead', claimed_until = $1, attempts = 1 WHERE id = $2")
            .bind(crate::db::now_millis() - 1)
            .bind(&delivery.event_id)
            .execute(&test.db)
            .await
            .unwrap();
        process(&inbox, &delivery).await;
        let (state, attempts, _, claimed_by) = row_of(&test, &delivery).await;
        assert_eq!((state.as_str(), attempts), ("processed", 2));
        assert_eq!(claimed_by.as_deref(), Some(inbox.instance()));
        assert_eq!(test.number_state().await, (NumberStatus::Flagged, MessagingLimit::Tier2K));
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
        // Both in one batch: the poison is kept apart, the later one still applied.
        process(&inbox, &later).await;
        assert_eq!(test.deliveries_in("pending").await, 0);
        assert_eq!(test.deliveries_in("failed").await, 1);
        let (_, attempts, last_error, _) = row_of(&test, &poison).await;
        assert_eq!(attempts, 1, "a refusal is not tried again");
        assert!(last_error.is_some_and(|error| error.contains("refused")));
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier10K));
    }

    #[tokio::test]
    async fn a_step_that_keeps_failing_is_tried_again_then_failed_with_the_reason_and_frees_its_number() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        let inbox = impatient_inbox(&test, 2);
        hide_numbers(&test, true).await;
        let doomed = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        process(&inbox, &doomed).await;
        let (state, attempts, last_error, _) = row_of(&test, &doomed).await;
        assert_eq!((state.as_str(), attempts), ("failed", 3), "the first try and two retries");
        assert!(last_error.is_some_and(|error| error.contains("whatsapp_numbers")));
        hide_numbers(&test, false).await;
        let later = store_delivery(&inbox, Provider::Meta, &quality_update("UNFLAGGED", "TIER_10K")).await.unwrap();
        process(&inbox, &later).await;
        assert_eq!(row_of(&test, &later).await.0, "processed");
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier10K));
    }

    #[tokio::test]
    async fn a_failed_try_waits_for_its_delay_and_a_worker_retries_it() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        let config = QueueConfig { retry_delays: vec![Duration::from_millis(300); 5], poll: Duration::from_millis(20), ..QueueConfig::default() };
        let inbox = WebhookInbox::with_queue(test.db.clone(), config);
        hide_numbers(&test, true).await;
        let delivery = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        process(&inbox, &delivery).await;
        let (state, attempts, last_error, _) = row_of(&test, &delivery).await;
        assert_eq!((state.as_str(), attempts), ("pending", 1), "waiting for its retry");
        assert!(last_error.is_some());
        hide_numbers(&test, false).await;
        let workers = tokio::spawn(run_workers(inbox.clone()));
        until("the retry", async || row_of(&test, &delivery).await.0 == "processed").await;
        workers.abort();
        assert!(row_of(&test, &delivery).await.1 >= 2);
        assert_eq!(test.number_state().await, (NumberStatus::Flagged, MessagingLimit::Tier2K));
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

    #[tokio::test]
    async fn workers_drain_what_is_pending_when_they_start() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        let inbox = inbox_of(&test);
        // Stored by a server that stopped before processing them; nothing new arrives.
        store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        store_delivery(&inbox, Provider::Meta, &quality_update("UNFLAGGED", "TIER_10K")).await.unwrap();
        let workers = tokio::spawn(run_workers(inbox_of(&test)));
        until("the backlog to drain", async || test.deliveries_in("processed").await == 2).await;
        workers.abort();
        assert_eq!(test.number_state().await, (NumberStatus::Connected, MessagingLimit::Tier10K));
    }

    #[tokio::test]
    async fn copies_of_one_body_are_processed_once() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        let inbox = inbox_of(&test);
        let first = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        let copy = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        process(&inbox, &copy).await;
        let again = store_delivery(&inbox, Provider::Meta, &quality_update("FLAGGED", "TIER_2K")).await.unwrap();
        process(&inbox, &again).await;
        assert_eq!(row_of(&test, &first).await.0, "processed");
        assert_eq!(row_of(&test, &copy).await.0, "duplicate", "a copy in the same batch");
        assert_eq!(row_of(&test, &again).await.0, "duplicate", "a copy after it settled");
    }

    #[test]
    fn ordering_keys_name_the_business_number() {
        let meta = json!({"entry": [{"id": "W1", "changes": [{"field": "messages",
            "value": {"metadata": {"phone_number_id": "P1"}}}]}]})
        .to_string();
        assert_eq!(queue::ordering_key(Provider::Meta, &meta).as_deref(), Some("meta:number:P1"));
        assert_eq!(queue::ordering_key(Provider::Sandbox, &meta).as_deref(), Some("meta:number:P1"));
        let quality = String::from_utf8(quality_update("FLAGGED", "TIER_2K")).unwrap();
        assert_eq!(queue::ordering_key(Provider::Meta, &quality).as_deref(), Some("meta:waba:1000000000000001"));
        let inbound = json!({"type": "whatsapp.inbound_message.received", "whatsappInboundMessage": {"to": "+1 555-0100", "from": "+86 138"}}).to_string();
        assert_eq!(queue::ordering_key(Provider::Ycloud, &inbound).as_deref(), Some("ycloud:number:15550100"));
        let status = json!({"type": "whatsapp.message.updated", "whatsappMessage": {"from": "+15550100", "to": "+86138"}}).to_string();
        assert_eq!(queue::ordering_key(Provider::Ycloud, &status).as_deref(), Some("ycloud:number:15550100"));
        let waba = json!({"type": "whatsapp.business_account.updated", "whatsappBusinessAccount": {"id": "W9"}}).to_string();
        assert_eq!(queue::ordering_key(Provider::Ycloud, &waba).as_deref(), Some("ycloud:waba:W9"));
        assert_eq!(queue::ordering_key(Provider::Meta, "not json"), None);
        assert_eq!(queue::ordering_key(Provider::Ycloud, "{}"), None);
    }

    #[tokio::test]
    async fn an_unreadable_body_gets_a_key_of_its_own() {
        let test = TestDatabase::with_number(NumberStatus::Connected).await;
        let inbox = inbox_of(&test);
        let first = store_delivery(&inbox, Provider::Meta, b"not json").await.unwrap();
        let second = store_delivery(&inbox, Provider::Meta, b"not json either").await.unwrap();
        assert_ne!(first.ordering_key, second.ordering_key);
        process(&inbox, &second).await;
        assert_eq!(row_of(&test, &second).await.0, "unprocessable");
    }
}
