//! Real time (issue 9): what changed in an account, as [`InboxEvent`]s a user's screen applies.
//!
//! Writers call [`record`] inside the transaction that makes the change, then
//! [`Realtime::committed`] once it has committed. Events live in `inbox_events`, numbered per
//! account ([`record`] says how the numbering stays in commit order); a stream reads them from
//! the database after the last id it sent, so a reconnecting browser (`Last-Event-ID`) gets what
//! it missed, and a notification only says "account A has events up to N".
//!
//! With several servers on one PostgreSQL database, [`record`] also queues a `NOTIFY` (delivered
//! at commit), and each server's [`listen_across_instances`] turns those into
//! [`Realtime::committed`] for its own streams. SQLite has one server, and needs only the
//! in-process fan-out. [`stream`] serves `GET /intwa-api/inbox/events`.

pub mod stream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use api_types::{InboxEvent, InboxEventData};
use sqlx::postgres::PgListener;
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::broadcast;

use crate::channels::store::DbResult;
use crate::db::now_millis;

pub use stream::api_routes;

/// "Account `account_id` has events up to `last_id`."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub account_id: String,
    pub last_id: i64,
}

/// What a stream is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Committed(Committed),
    /// Notices may have been missed (the PostgreSQL listener lost its connection): every stream
    /// reads the database again.
    Reread,
    /// The server is stopping: streams end, so the graceful shutdown is not held up by them.
    Closing,
}

/// The server's fan-out of [`Notice`]s to the streams it serves.
#[derive(Clone)]
pub struct Realtime {
    notices: broadcast::Sender<Notice>,
    closing: Arc<AtomicBool>,
    turns: Arc<std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>>,
}

impl Default for Realtime {
    fn default() -> Self {
        Realtime { notices: broadcast::channel(4096).0, closing: Arc::default(), turns: Arc::default() }
    }
}

impl Realtime {
    /// Tell this server's streams that `account_id` has new events (up to `last_id`).
    pub fn committed(&self, account_id: &str, last_id: i64) {
        // No stream listening is fine.
        let _ = self.notices.send(Notice::Committed(Committed { account_id: account_id.to_owned(), last_id }));
    }

    /// Tell every stream to read the database again (notices may have been lost).
    pub fn reread_all(&self) {
        let _ = self.notices.send(Notice::Reread);
    }

    /// End every stream, and refuse new ones: the server is stopping.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        let _ = self.notices.send(Notice::Closing);
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// The lock that makes this server's events about `key` (a number) take turns: whoever
    /// reads a row and records it as an event holds it from the read to the commit, so the last
    /// event shows what was read last.
    pub fn turn(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        // Turns nobody holds or waits for any more are forgotten.
        turns.retain(|_, turn| turn.strong_count() > 0);
        if let Some(turn) = turns.get(key).and_then(Weak::upgrade) {
            return turn;
        }
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        turns.insert(key.to_owned(), Arc::downgrade(&turn));
        turn
    }
}

/// The PostgreSQL channel [`record`] notifies on; the payload is `{account_id}:{last_id}`.
pub const NOTIFY_CHANNEL: &str = "wadesk_events";

/// Record `data` as the account's next event, in the caller's transaction; returns its id.
///
/// The id comes from the account's row in `event_counters`, whose update locks it until the
/// transaction ends: two transactions of one account take ids one after the other and commit in
/// that order, so events become visible in id order. Call it as late in the transaction as you
/// can (it serialises the account's writers from here to the commit). On PostgreSQL it also
/// queues the notification other servers listen for; PostgreSQL sends it at commit, and drops it
/// on rollback.
pub async fn record(
    connection: &mut AnyConnection,
    account_id: &str,
    phone_number_id: Option<&str>,
    data: &InboxEventData,
) -> DbResult<i64> {
    let last_id = record_many(connection, account_id, &[(phone_number_id, data.clone())]).await?;
    Ok(last_id.expect("one event was recorded"))
}

/// Rows of `inbox_events` in one `INSERT` (6 values each).
const EVENTS_PER_INSERT: usize = 100;

/// Record `events` (each with the number it concerns) as the account's next events, in this
/// order and in the caller's transaction, as [`record`] does one: the ids are taken from the
/// counter in one update, the rows written a hundred to a statement, and one notification (the
/// last id) queued. Returns the last id; `None` for no events.
pub async fn record_many(
    connection: &mut AnyConnection,
    account_id: &str,
    events: &[(Option<&str>, InboxEventData)],
) -> DbResult<Option<i64>> {
    if events.is_empty() {
        return Ok(None);
    }
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let last_id: i64 = sqlx::query(
        "INSERT INTO event_counters (account_id, last_id) VALUES ($1, $2) \
         ON CONFLICT (account_id) DO UPDATE SET last_id = event_counters.last_id + $2 RETURNING last_id",
    )
    .bind(account_id)
    .bind(count)
    .fetch_one(&mut *connection)
    .await?
    .try_get("last_id")?;
    let now = now_millis();
    let mut id = last_id - count;
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let sql = crate::db::for_backend(connection.backend_name(), format!(
            "INSERT INTO inbox_events (account_id, id, kind, phone_number_id, data, created_at) VALUES {}",
            crate::db::value_rows(chunk.len(), 6)
        ));
        let mut insert = sqlx::query(&sql);
        for (phone_number_id, data) in chunk {
            id += 1;
            let event = InboxEvent { id: id.to_string(), data: data.clone() };
            let json = serde_json::to_string(&event).expect("an InboxEvent serializes");
            insert = insert.bind(account_id).bind(id).bind(data.name()).bind(*phone_number_id).bind(json).bind(now);
        }
        insert.execute(&mut *connection).await?;
    }
    if connection.backend_name() == "PostgreSQL" {
        // pg_notify returns void, a type the Any driver cannot read: select something else.
        sqlx::query("SELECT 1 AS queued FROM (SELECT pg_notify($1, $2)) AS notified")
            .bind(NOTIFY_CHANNEL)
            .bind(format!("{account_id}:{last_id}"))
            .execute(&mut *connection)
            .await?;
    }
    Ok(Some(last_id))
}

/// One stored event: the JSON as it is sent, and what a visibility check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    /// [`InboxEventData::name`] of the event.
    pub kind: String,
    /// The business number it concerns, when it concerns one.
    pub phone_number_id: Option<String>,
    /// The [`InboxEvent`] as JSON, as it is sent.
    pub data: String,
}

/// The account's events after `after_id`, oldest first, at most `limit`.
pub async fn events_after(connection: &mut AnyConnection, account_id: &str, after_id: i64, limit: i64) -> DbResult<Vec<StoredEvent>> {
    let rows = sqlx::query(
        "SELECT id, kind, phone_number_id, data FROM inbox_events WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(account_id)
    .bind(after_id)
    .bind(limit)
    .fetch_all(connection)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredEvent {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                phone_number_id: row.try_get("phone_number_id")?,
                data: row.try_get("data")?,
            })
        })
        .collect()
}

/// The id of the account's latest event (0 before its first).
pub async fn latest_id(connection: &mut AnyConnection, account_id: &str) -> DbResult<i64> {
    let row = sqlx::query("SELECT last_id FROM event_counters WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(connection)
        .await?;
    Ok(row.map(|row| row.try_get("last_id")).transpose()?.unwrap_or(0))
}

/// Whether a reader that has seen every event up to `after_id` can go on from the database:
/// the next event is still kept (ids have no holes: a rolled-back transaction gives its id back),
/// or there is none yet. False when pruning took events it has not seen, or when `after_id` is
/// beyond the latest id (an id of another database).
pub async fn can_resume_after(connection: &mut AnyConnection, account_id: &str, after_id: i64) -> DbResult<bool> {
    let latest = latest_id(connection, account_id).await?;
    if after_id >= latest {
        return Ok(after_id == latest);
    }
    let row = sqlx::query("SELECT MIN(id) AS next_id FROM inbox_events WHERE account_id = $1 AND id > $2")
        .bind(account_id)
        .bind(after_id)
        .fetch_one(connection)
        .await?;
    Ok(row.try_get::<Option<i64>, _>("next_id")? == Some(after_id + 1))
}

/// Delete the events recorded before `cutoff` (unix ms); returns how many. The counters stay,
/// so ids are never reused.
pub async fn prune_events(db: &AnyPool, cutoff: i64) -> DbResult<u64> {
    let deleted = sqlx::query("DELETE FROM inbox_events WHERE created_at < $1").bind(cutoff).execute(db).await?;
    Ok(deleted.rows_affected())
}

/// How often old events are pruned while the server runs.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Prune events older than `retention_days` now and then every [`PRUNE_INTERVAL`], for as long
/// as the returned future is polled (beside serving). A browser away for longer gets a
/// [`InboxEventData::Reset`] and reloads its lists. Failures are logged and tried again.
pub async fn prune_events_periodically(db: AnyPool, retention_days: u32) {
    let retention_ms = i64::from(retention_days) * 24 * 60 * 60 * 1000;
    loop {
        match prune_events(&db, now_millis() - retention_ms).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, retention_days, "pruned old inbox events"),
            Err(cause) => tracing::warn!(%cause, "could not prune old inbox events"),
        }
        tokio::time::sleep(PRUNE_INTERVAL).await;
    }
}

/// `{account_id}:{last_id}` of a notification.
fn parse_notification(payload: &str) -> Option<(&str, i64)> {
    let (account_id, last_id) = payload.rsplit_once(':')?;
    Some((account_id, last_id.parse().ok()?)).filter(|(account_id, _)| !account_id.is_empty())
}

/// A listener on [`NOTIFY_CHANNEL`], or why not.
async fn listener(database_url: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen(NOTIFY_CHANNEL).await?;
    Ok(listener)
}

/// The longest pause between two attempts to reconnect the listener.
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(5);

/// Other servers' events, for this server's streams (PostgreSQL): connects a listener now (so
/// notifications are heard from the moment the server serves), then returns the task that turns
/// them into [`Realtime::committed`], for as long as it is polled. When the connection drops it
/// reconnects with backoff and tells every stream to read again, since notifications sent
/// meanwhile are lost.
pub async fn listen_across_instances(database_url: String, realtime: Realtime) -> impl std::future::Future<Output = ()> {
    let first = match listener(&database_url).await {
        Ok(listener) => Some(listener),
        Err(cause) => {
            tracing::warn!(%cause, "cannot listen for other servers' inbox events yet; retrying");
            None
        }
    };
    async move {
        let mut current = first;
        let mut pause = Duration::from_millis(100);
        loop {
            let mut listening = match current.take() {
                Some(listening) => listening,
                None => match listener(&database_url).await {
                    Ok(listening) => {
                        tracing::info!("listening for other servers' inbox events again");
                        pause = Duration::from_millis(100);
                        realtime.reread_all();
                        listening
                    }
                    Err(cause) => {
                        tracing::warn!(%cause, "cannot listen for other servers' inbox events; retrying");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(MAX_RECONNECT_PAUSE);
                        continue;
                    }
                },
            };
            loop {
                match listening.try_recv().await {
                    Ok(Some(notification)) => match parse_notification(notification.payload()) {
                        Some((account_id, last_id)) => realtime.committed(account_id, last_id),
                        None => tracing::warn!(payload = notification.payload(), "an inbox event notification does not read"),
                    },
                    Ok(None) => {
                        tracing::warn!("the inbox event listener lost its connection; reconnecting");
                        break;
                    }
                    Err(cause) => {
                        tracing::warn!(%cause, "the inbox event listener failed; reconnecting");
                        break;
                    }
                }
            }
            // A fresh connection (and LISTEN) before the streams re-read.
            drop(listening);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_name_the_account_and_the_last_id() {
        assert_eq!(parse_notification("0a1b:42"), Some(("0a1b", 42)));
        assert_eq!(parse_notification("0a1b:x"), None);
        assert_eq!(parse_notification(":42"), None);
        assert_eq!(parse_notification("42"), None);
    }
}
