//! The raw webhook deliveries (`webhook_events`): stored before they are acknowledged, claimed by
//! the workers of any server instance sharing the database (see `queue`), pruned once settled.
//! Deliveries are not yet any account's data: processing resolves the owning account from the
//! provider's ids and goes on through its `TenantDb`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::db::now_millis;

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

/// Where a delivery is in its life (`webhook_events.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Stored, not settled yet: waiting, claimed by a worker, or waiting for a retry.
    Pending,
    Processed,
    /// The same body was settled before.
    Duplicate,
    /// Nothing in it concerns a number bound here.
    Ignored,
    /// Not a body we can read.
    Unprocessable,
    /// Refused by the database, or still failing after the last try.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Processed => "processed",
            DeliveryState::Duplicate => "duplicate",
            DeliveryState::Ignored => "ignored",
            DeliveryState::Unprocessable => "unprocessable",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn from_name(name: &str) -> Option<DeliveryState> {
        use DeliveryState::*;
        [Pending, Processed, Duplicate, Ignored, Unprocessable, Failed].into_iter().find(|state| state.as_str() == name)
    }
}

/// A delivery to store.
#[derive(Debug, Clone)]
pub struct NewWebhookEvent<'a> {
    pub id: &'a str,
    pub provider: &'a str,
    pub received_at: i64,
    pub body: &'a str,
    pub body_sha256: &'a str,
    pub ordering_key: &'a str,
}

/// How many rows one INSERT carries (9 binds each, well under both databases' limits).
const ROWS_PER_INSERT: usize = 64;

/// Store deliveries, pending, in one statement per [`ROWS_PER_INSERT`] rows on `connection`
/// (the caller's transaction: many receipts, one commit).
pub async fn insert_webhook_events(connection: &mut AnyConnection, events: &[NewWebhookEvent<'_>]) -> DbResult<()> {
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|row| {
                let first = row * 6;
                format!("(${}, ${}, ${}, ${}, ${}, 'pending', ${})", first + 1, first + 2, first + 3, first + 4, first + 5, first + 6)
            })
            .collect();
        let sql = crate::db::for_backend(connection.backend_name(), format!(
            "INSERT INTO webhook_events (id, provider, received_at, body, body_sha256, state, ordering_key) VALUES {}",
            rows.join(", ")
        ));
        let mut query = sqlx::query(&sql);
        for event in chunk {
            query = query
                .bind(event.id)
                .bind(event.provider)
                .bind(event.received_at)
                .bind(event.body)
                .bind(event.body_sha256)
                .bind(event.ordering_key);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// A pending delivery that may start a claim: the oldest of its number among those not held.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub ordering_key: String,
    pub received_at: i64,
}

/// The oldest pending deliveries (at most `limit`, oldest first) of the numbers nobody holds at
/// `now`: no delivery of theirs is claimed under a live lease or waiting for its retry. Only
/// `ordering_key`'s when given. On PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED`, so
/// two workers claiming at once look at different rows.
pub async fn claim_candidates(
    connection: &mut AnyConnection,
    now: i64,
    ordering_key: Option<&str>,
    limit: i64,
    postgres: bool,
) -> DbResult<Vec<Candidate>> {
    let only_key = if ordering_key.is_some() { "AND ordering_key = $3" } else { "" };
    let lock = if postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "SELECT id, ordering_key, received_at FROM webhook_events WHERE state = 'pending' {only_key} \
         AND ordering_key NOT IN (SELECT ordering_key FROM webhook_events WHERE state = 'pending' AND attempts > 0 \
         AND (claimed_until >= $1 OR next_attempt_at > $1)) \
         ORDER BY received_at, id LIMIT $2 {lock}"
    );
    let mut query = sqlx::query(&sql).bind(now).bind(limit);
    if let Some(ordering_key) = ordering_key {
        query = query.bind(ordering_key);
    }
    let rows = query.fetch_all(&mut *connection).await?;
    rows.iter()
        .map(|row| Ok(Candidate { id: row.try_get("id")?, ordering_key: row.try_get("ordering_key")?, received_at: row.try_get("received_at")? }))
        .collect()
}

/// A delivery claimed by this worker.
#[derive(Debug, Clone)]
pub struct ClaimedWebhookEvent {
    pub id: String,
    pub provider: String,
    pub received_at: i64,
    pub body: String,
    pub body_sha256: String,
    /// Tries so far, this one included.
    pub attempts: i64,
}

const CLAIMED_COLUMNS: &str = "id, provider, received_at, body, body_sha256, attempts";

fn claimed(row: &AnyRow) -> DbResult<ClaimedWebhookEvent> {
    Ok(ClaimedWebhookEvent {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        received_at: row.try_get("received_at")?,
        body: row.try_get("body")?,
        body_sha256: row.try_get("body_sha256")?,
        attempts: row.try_get("attempts")?,
    })
}

/// Claim `head` for `claimed_by` until `claimed_until`: a conditional update that takes it only
/// while it is pending, due, not under another live lease, and no older delivery of its number
/// is unfinished (so each number goes in arrival order). `None` when someone else got there.
pub async fn claim_head(
    connection: &mut AnyConnection,
    head: &Candidate,
    claimed_by: &str,
    claimed_until: i64,
    now: i64,
) -> DbResult<Option<ClaimedWebhookEvent>> {
    let sql = format!(
        "UPDATE webhook_events SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id = $3 AND state = 'pending' AND next_attempt_at <= $4 AND (claimed_until IS NULL OR claimed_until < $4) \
         AND NOT EXISTS (SELECT 1 FROM webhook_events older WHERE older.state = 'pending' AND older.ordering_key = $5 \
         AND (older.received_at < $6 OR (older.received_at = $6 AND older.id < $3))) \
         RETURNING {CLAIMED_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(claimed_by)
        .bind(claimed_until)
        .bind(&head.id)
        .bind(now)
        .bind(&head.ordering_key)
        .bind(head.received_at)
        .fetch_optional(&mut *connection)
        .await?;
    row.as_ref().map(claimed).transpose()
}

/// With `head` claimed, claim the next `limit` pending deliveries of its number too (one batch),
/// oldest first. Nobody else can claim them while the head is unfinished.
pub async fn claim_followers(
    connection: &mut AnyConnection,
    head: &Candidate,
    claimed_by: &str,
    claimed_until: i64,
    now: i64,
    limit: i64,
) -> DbResult<Vec<ClaimedWebhookEvent>> {
    let sql = format!(
        "UPDATE webhook_events SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM webhook_events WHERE state = 'pending' AND ordering_key = $3 AND id <> $4 \
         AND (received_at > $5 OR (received_at = $5 AND id > $4)) ORDER BY received_at, id LIMIT $6) \
         AND next_attempt_at <= $7 AND (claimed_until IS NULL OR claimed_until < $7) \
         RETURNING {CLAIMED_COLUMNS}"
    );
    let rows = sqlx::query(&sql)
        .bind(claimed_by)
        .bind(claimed_until)
        .bind(&head.ordering_key)
        .bind(&head.id)
        .bind(head.received_at)
        .bind(limit)
        .bind(now)
        .fetch_all(&mut *connection)
        .await?;
    let mut followers = rows.iter().map(claimed).collect::<DbResult<Vec<_>>>()?;
    followers.sort_by(|left, right| (left.received_at, &left.id).cmp(&(right.received_at, &right.id)));
    Ok(followers)
}

/// Settle a claimed delivery with its outcome, in the caller's transaction. False when the
/// claim was lost (its lease ran out and another instance took it over): nothing is written.
pub async fn settle_webhook_event(
    connection: &mut AnyConnection,
    event_id: &str,
    claimed_by: &str,
    state: DeliveryState,
    note: Option<&str>,
    last_error: Option<&str>,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE webhook_events SET state = $1, note = $2, last_error = COALESCE($3, last_error), processed_at = $4, \
         claimed_until = NULL WHERE id = $5 AND claimed_by = $6 AND state = 'pending'",
    )
    .bind(state.as_str())
    .bind(note)
    .bind(last_error)
    .bind(now_millis())
    .bind(event_id)
    .bind(claimed_by)
    .execute(&mut *connection)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Settle these deliveries, claimed by `claimed_by`, each with its outcome: one `UPDATE` per
/// distinct outcome (a hundred rows at a time). Returns the ids that were not settled here
/// (another instance took them over).
pub async fn settle_webhook_events(
    connection: &mut AnyConnection,
    claimed_by: &str,
    outcomes: &[(&str, DeliveryState, Option<&str>)],
) -> DbResult<Vec<String>> {
    let mut by_outcome: Vec<((DeliveryState, Option<&str>), Vec<&str>)> = Vec::new();
    for (id, state, note) in outcomes {
        match by_outcome.iter_mut().find(|(outcome, _)| *outcome == (*state, *note)) {
            Some((_, ids)) => ids.push(id),
            None => by_outcome.push(((*state, *note), vec![id])),
        }
    }
    let now = now_millis();
    let mut settled = HashSet::new();
    for ((state, note), ids) in by_outcome {
        for chunk in ids.chunks(100) {
            let sql = crate::db::for_backend(connection.backend_name(), format!(
                "UPDATE webhook_events SET state = $1, note = $2, processed_at = $3, claimed_until = NULL \
                 WHERE claimed_by = $4 AND state = 'pending' AND id IN ({}) RETURNING id",
                crate::db::placeholders(5, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(state.as_str()).bind(note).bind(now).bind(claimed_by);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *connection).await? {
                settled.insert(row.try_get::<String, _>("id")?);
            }
        }
    }
    Ok(outcomes.iter().filter(|(id, _, _)| !settled.contains(*id)).map(|(id, _, _)| (*id).to_owned()).collect())
}

/// Give a claimed delivery back to be tried again at `next_attempt_at`, with why this try failed.
pub async fn retry_webhook_event_later(
    connection: &mut AnyConnection,
    event_id: &str,
    claimed_by: &str,
    next_attempt_at: i64,
    last_error: &str,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE webhook_events SET claimed_until = NULL, next_attempt_at = $1, last_error = $2 \
         WHERE id = $3 AND claimed_by = $4 AND state = 'pending'",
    )
    .bind(next_attempt_at)
    .bind(last_error)
    .bind(event_id)
    .bind(claimed_by)
    .execute(&mut *connection)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// End every claim's lease now (SQLite at start-up: one server process uses the file, so any
/// claim left is a dead process's). Returns how many were released.
pub async fn release_claims(db: &AnyPool) -> DbResult<u64> {
    let done = sqlx::query("UPDATE webhook_events SET claimed_until = NULL WHERE state = 'pending' AND claimed_until IS NOT NULL")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Where a stored delivery is: its state, and when it may be tried next (`None` while a worker
/// holds it under a live lease). `None` when no such delivery is stored.
pub async fn delivery_progress(db: &AnyPool, event_id: &str, now: i64) -> DbResult<Option<(DeliveryState, Option<i64>)>> {
    let row = sqlx::query("SELECT state, next_attempt_at, claimed_until FROM webhook_events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let state: String = row.try_get("state")?;
    let state = DeliveryState::from_name(&state).unwrap_or(DeliveryState::Failed);
    let claimed_until: Option<i64> = row.try_get("claimed_until")?;
    let held = claimed_until.is_some_and(|until| until >= now);
    Ok(Some((state, (!held).then_some(row.try_get("next_attempt_at")?))))
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

/// Of these deliveries, the (provider, body hash) pairs that an earlier delivery with the same
/// body was settled with: one query per provider (a hundred bodies at a time) for a batch.
pub async fn bodies_seen_before(db: &AnyPool, deliveries: &[ClaimedWebhookEvent]) -> DbResult<HashSet<(String, String)>> {
    let mut by_provider: HashMap<&str, Vec<&str>> = HashMap::new();
    for delivery in deliveries {
        by_provider.entry(delivery.provider.as_str()).or_default().push(delivery.body_sha256.as_str());
    }
    let mut seen = HashSet::new();
    for (provider, hashes) in by_provider {
        for chunk in hashes.chunks(100) {
            let sql = crate::db::for_backend(crate::db::backend_of(db), format!(
                "SELECT DISTINCT body_sha256 FROM webhook_events WHERE provider = $1 AND body_sha256 IN ({}) \
                 AND state IN ('processed', 'ignored', 'unprocessable')",
                crate::db::placeholders(2, chunk.len())
            ));
            let mut query = sqlx::query(&sql).bind(provider);
            for hash in chunk {
                query = query.bind(*hash);
            }
            for row in query.fetch_all(db).await? {
                seen.insert((provider.to_owned(), row.try_get("body_sha256")?));
            }
        }
    }
    Ok(seen)
}
