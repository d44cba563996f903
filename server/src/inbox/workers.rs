//! The inbox's background work: the outbox (sending) and inbound media downloads. Each server
//! runs both; several servers on one database share the rows, each claimed by a conditional
//! update (see the migrations 0009 and 0010), so nothing is done twice at once.
//!
//! A worker looks for due rows when anything is committed in any account (the realtime notices:
//! a send, an ingested message), when the earliest row it knows of falls due, and at least every
//! [`IDLE_POLL`] (for rows written by another server).

use std::future::Future;
use std::time::Duration;

use api_types::InboxEventData;
use sqlx::AnyConnection;

use super::store::InboxDb;
use crate::channels::numbers::token_of;
use crate::channels::store::{DbResult, TenantDb};
use crate::channels::upstream::BusinessToken;
use crate::state::AppState;

/// The longest a worker sleeps without looking.
pub const IDLE_POLL: Duration = Duration::from_secs(2);

/// How long a claimed row is left to the server that claimed it before another may take it: more
/// than an upstream call can take (a 100 MB upload included).
pub const LEASE_MS: i64 = 5 * 60 * 1000;

/// What one pass over the due rows did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Rows this server claimed and worked on.
    pub claimed: usize,
    /// When the earliest row not due yet falls due (unix ms).
    pub next_due: Option<i64>,
}

/// Both workers, for as long as the future is polled (the server runs it beside serving).
pub async fn run(state: AppState) {
    tokio::join!(
        keep_working(state.clone(), "outbox", super::outbox::send_due),
        keep_working(state, "media downloads", super::media::download::download_due),
    );
}

async fn keep_working<F, Fut>(state: AppState, name: &'static str, pass: F)
where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = DbResult<Pass>>,
{
    let mut notices = state.realtime.subscribe();
    loop {
        let wait = match pass(state.clone()).await {
            // Claimed rows may have made room for more.
            Ok(done) if done.claimed > 0 => continue,
            Ok(done) => done
                .next_due
                .map(|due| Duration::from_millis(u64::try_from(due - crate::db::now_millis()).unwrap_or(0)))
                .map_or(IDLE_POLL, |until_due| until_due.min(IDLE_POLL)),
            Err(cause) => {
                tracing::warn!(%cause, worker = name, "an inbox worker pass failed; trying again shortly");
                IDLE_POLL
            }
        };
        tokio::select! {
            _ = notices.recv() => {
                // One look covers every notice queued meanwhile (and a lagged receiver).
                while notices.try_recv().is_ok() {}
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// The business token of the WABA holding the account's number, when the server keeps one.
pub async fn token_for_number(state: &AppState, account_id: &str, phone_number_id: &str) -> DbResult<Option<BusinessToken>> {
    let tenant = TenantDb::new(&state.db, account_id);
    let Some(number) = tenant.find_number(phone_number_id).await? else { return Ok(None) };
    let waba = tenant.find_waba(&number.waba_id).await?;
    Ok(token_of(state, waba.as_ref()))
}

/// Record a `message` event with the message as it is now, in the caller's transaction; the
/// event id, for [`crate::realtime::Realtime::committed`] after the commit.
pub async fn record_message_changed(
    connection: &mut AnyConnection,
    inbox: &InboxDb,
    phone_number_id: &str,
    message_id: &str,
) -> DbResult<Option<i64>> {
    let Some(message) = inbox.message_item(connection, message_id).await? else { return Ok(None) };
    let data = InboxEventData::Message { conversation_id: message.conversation_id.clone(), message };
    Ok(Some(crate::realtime::record(connection, inbox.account_id(), Some(phone_number_id), &data).await?))
}

/// Record a `conversation` event with the conversation as it is now, in the caller's transaction.
pub async fn record_conversation_changed(connection: &mut AnyConnection, inbox: &InboxDb, conversation_id: &str) -> DbResult<Option<i64>> {
    let Some(conversation) = inbox.conversation_summary(connection, conversation_id).await? else { return Ok(None) };
    let phone_number_id = conversation.phone_number_id.clone();
    let data = InboxEventData::Conversation { conversation };
    Ok(Some(crate::realtime::record(connection, inbox.account_id(), Some(&phone_number_id), &data).await?))
}

/// Tell this server's streams about the last event of a committed transaction, if it made one.
pub fn announce(state: &AppState, account_id: &str, last_event: Option<i64>) {
    if let Some(id) = last_event {
        state.realtime.committed(account_id, id);
    }
}

/// The wait before try `attempts + 1` (attempts made so far, 1 or more), or `None` after the last.
pub fn retry_delay(delays_ms: &[u64], attempts: i64) -> Option<i64> {
    let index = usize::try_from(attempts - 1).ok()?;
    delays_ms.get(index).map(|delay| i64::try_from(*delay).unwrap_or(i64::MAX / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_delay_is_used_once_then_the_tries_end() {
        let delays = [10, 20];
        assert_eq!(retry_delay(&delays, 1), Some(10));
        assert_eq!(retry_delay(&delays, 2), Some(20));
        assert_eq!(retry_delay(&delays, 3), None);
        assert_eq!(retry_delay(&[], 1), None);
    }
}
