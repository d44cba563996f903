//! Real time (issue 9): what changed in an account, as [`InboxEvent`]s a user's screen applies.
//!
//! Writers call [`record`] inside the transaction that makes the change, then
//! [`Realtime::committed`] once it has committed. Events live in `inbox_events`, numbered per
//! account ([`record`] says how the numbering stays in commit order); a stream reads them from
//! the database after the last id it sent, so a reconnecting browser (`Last-Event-ID`) gets what
//! it missed, and a notification only says "account A has events up to N".

use api_types::{InboxEvent, InboxEventData};
use sqlx::{AnyConnection, Row};
use tokio::sync::broadcast;

use crate::channels::store::DbResult;
use crate::db::now_millis;

/// "Account `account_id` has events up to `last_id`."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub account_id: String,
    pub last_id: i64,
}

/// The server's fan-out of [`Committed`] notices to the streams it serves.
#[derive(Clone)]
pub struct Realtime {
    notices: broadcast::Sender<Committed>,
}

impl Default for Realtime {
    fn default() -> Self {
        Realtime { notices: broadcast::channel(4096).0 }
    }
}

impl Realtime {
    /// Tell this server's streams that `account_id` has new events (up to `last_id`).
    pub fn committed(&self, account_id: &str, last_id: i64) {
        // No stream listening is fine.
        let _ = self.notices.send(Committed { account_id: account_id.to_owned(), last_id });
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.notices.subscribe()
    }
}

/// Record `data` as the account's next event, in the caller's transaction; returns its id.
///
/// The id comes from the account's row in `event_counters`, whose update locks it until the
/// transaction ends: two transactions of one account take ids one after the other and commit in
/// that order, so events become visible in id order. Call it as late in the transaction as you
/// can (it serialises the account's writers from here to the commit).
pub async fn record(
    connection: &mut AnyConnection,
    account_id: &str,
    phone_number_id: Option<&str>,
    data: &InboxEventData,
) -> DbResult<i64> {
    let id: i64 = sqlx::query(
        "INSERT INTO event_counters (account_id, last_id) VALUES ($1, 1) \
         ON CONFLICT (account_id) DO UPDATE SET last_id = event_counters.last_id + 1 RETURNING last_id",
    )
    .bind(account_id)
    .fetch_one(&mut *connection)
    .await?
    .try_get("last_id")?;
    let event = InboxEvent { id: id.to_string(), data: data.clone() };
    let json = serde_json::to_string(&event).expect("an InboxEvent serializes");
    sqlx::query(
        "INSERT INTO inbox_events (account_id, id, kind, phone_number_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id)
    .bind(id)
    .bind(data.name())
    .bind(phone_number_id)
    .bind(json)
    .bind(now_millis())
    .execute(&mut *connection)
    .await?;
    Ok(id)
}

/// The account's events after `after_id`, oldest first, at most `limit`.
pub async fn events_after(connection: &mut AnyConnection, account_id: &str, after_id: i64, limit: i64) -> DbResult<Vec<InboxEvent>> {
    let rows = sqlx::query("SELECT data FROM inbox_events WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3")
        .bind(account_id)
        .bind(after_id)
        .bind(limit)
        .fetch_all(connection)
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let data: String = row.try_get("data")?;
        match serde_json::from_str(&data) {
            Ok(event) => events.push(event),
            Err(cause) => tracing::error!(%cause, "a stored inbox event does not read back; skipped"),
        }
    }
    Ok(events)
}
