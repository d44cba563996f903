//! The raw webhook deliveries (`webhook_events`): stored before they are acknowledged, processed
//! oldest first, pruned once settled. Deliveries are not yet any account's data: processing
//! resolves the owning account from the provider's ids and goes on through its `TenantDb`.

use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::{AnyPool, Row};

use crate::db::{new_id, now_millis};

pub type DbResult<T> = Result<T, sqlx::Error>;

/// When deliveries were received: unix milliseconds, but strictly increasing for one server, so
/// two deliveries in the same millisecond still sort in the order they arrived.
#[derive(Debug, Default)]
pub struct ReceivedClock {
    last: AtomicI64,
}

impl ReceivedClock {
    pub fn next(&self) -> i64 {
        let now = now_millis();
        let previous = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1)))
            .unwrap_or_else(|last| last);
        now.max(previous + 1)
    }
}

/// Store a raw webhook delivery; returns its id.
pub async fn store_webhook_event(db: &AnyPool, received_at: i64, provider: &str, body: &str, body_sha256: &str) -> DbResult<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO webhook_events (id, provider, received_at, body, body_sha256, state) VALUES ($1, $2, $3, $4, $5, 'pending')",
    )
    .bind(&id)
    .bind(provider)
    .bind(received_at)
    .bind(body)
    .bind(body_sha256)
    .execute(db)
    .await?;
    Ok(id)
}

/// A stored delivery still waiting to be processed.
#[derive(Debug, Clone)]
pub struct PendingWebhookEvent {
    pub id: String,
    pub provider: String,
    pub body: String,
    pub body_sha256: String,
}

/// Forget deliveries received before `received_before` (epoch ms) that are settled (processed,
/// duplicate, ignored, unprocessable, failed). Pending ones are kept whatever their age: they
/// still have to be applied. Returns how many rows went.
pub async fn prune_settled_webhook_events(db: &AnyPool, received_before: i64) -> DbResult<u64> {
    let done = sqlx::query("DELETE FROM webhook_events WHERE state <> 'pending' AND received_at < $1")
        .bind(received_before)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// The delivery received first among those not processed yet.
pub async fn oldest_pending_webhook_event(db: &AnyPool) -> DbResult<Option<PendingWebhookEvent>> {
    let row = sqlx::query(
        "SELECT id, provider, body, body_sha256 FROM webhook_events WHERE state = 'pending' ORDER BY received_at, id LIMIT 1",
    )
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(PendingWebhookEvent {
            id: row.try_get("id")?,
            provider: row.try_get("provider")?,
            body: row.try_get("body")?,
            body_sha256: row.try_get("body_sha256")?,
        })
    })
    .transpose()
}

/// True when another delivery of the same body was already processed (or is being processed).
pub async fn same_body_seen_before(db: &AnyPool, event_id: &str, provider: &str, body_sha256: &str) -> DbResult<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS earlier FROM webhook_events WHERE provider = $1 AND body_sha256 = $2 AND id <> $3 \
         AND state IN ('processed', 'ignored', 'unprocessable') ",
    )
    .bind(provider)
    .bind(body_sha256)
    .bind(event_id)
    .fetch_one(db)
    .await?;
    Ok(row.try_get::<i64, _>("earlier")? > 0)
}

pub async fn finish_webhook_event(db: &AnyPool, event_id: &str, state: &str, note: Option<&str>) -> DbResult<()> {
    sqlx::query("UPDATE webhook_events SET state = $1, note = $2, processed_at = $3 WHERE id = $4")
        .bind(state)
        .bind(note)
        .bind(now_millis())
        .bind(event_id)
        .execute(db)
        .await?;
    Ok(())
}

