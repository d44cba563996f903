//! What the customer sees of the agent: blue ticks (`conversations/markRead`) and the typing
//! indicator (`conversations/typing`).
//!
//! Marking read zeroes the conversation's unread count and marks the customer's messages read
//! upstream once each: `mark_read` names the newest one not marked yet, and WhatsApp marks every
//! earlier one with it, so those are remembered as marked too (`messages.read_marked_at`).
//! The typing indicator is sent at most once per [`TYPING_INTERVAL_MS`] per conversation
//! (`conversations.typing_sent_at`, claimed by a conditional update, so several servers share
//! the window); it answers the newest customer message, which it also marks read (Meta's).

use api_types::{ConversationSummary, MessageDirection, TypingShown};
use sqlx::{AnyConnection, Row};

use super::store::InboxDb;
use super::workers;
use crate::auth::CurrentUser;
use crate::channels::store::DbResult;
use crate::db::now_millis;
use crate::state::AppState;
use crate::web::error::ApiError;

/// WhatsApp shows the indicator for up to 25 seconds; once every 20 keeps it up while the agent types.
pub const TYPING_INTERVAL_MS: i64 = 20_000;

/// The newest customer message of a conversation: its id, wamid, time, and whether it was marked read upstream.
struct Newest {
    id: String,
    wamid: String,
    timestamp: i64,
    marked: bool,
}

async fn newest_inbound(connection: &mut AnyConnection, account_id: &str, conversation_id: &str) -> DbResult<Option<Newest>> {
    let row = sqlx::query(
        "SELECT id, wamid, timestamp, read_marked_at FROM messages WHERE account_id = $1 AND conversation_id = $2 AND direction = $3 \
         ORDER BY timestamp DESC, id DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(conversation_id)
    .bind(MessageDirection::Inbound.as_str())
    .fetch_optional(connection)
    .await?;
    row.map(|row| {
        Ok(Newest {
            id: row.try_get("id")?,
            wamid: row.try_get("wamid")?,
            timestamp: row.try_get("timestamp")?,
            marked: row.try_get::<Option<i64>, _>("read_marked_at")?.is_some(),
        })
    })
    .transpose()
}

/// Mark `newest` and every earlier customer message not marked yet as marked at `at`; false
/// when `newest` was marked already (by another request).
async fn claim_read(connection: &mut AnyConnection, account_id: &str, conversation_id: &str, newest: &Newest, at: i64) -> DbResult<bool> {
    let claimed = sqlx::query("UPDATE messages SET read_marked_at = $1 WHERE id = $2 AND account_id = $3 AND read_marked_at IS NULL")
        .bind(at)
        .bind(&newest.id)
        .bind(account_id)
        .execute(&mut *connection)
        .await?;
    if claimed.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE messages SET read_marked_at = $1 WHERE account_id = $2 AND conversation_id = $3 AND direction = $4 \
         AND read_marked_at IS NULL AND (timestamp < $5 OR (timestamp = $5 AND id < $6))",
    )
    .bind(at)
    .bind(account_id)
    .bind(conversation_id)
    .bind(MessageDirection::Inbound.as_str())
    .bind(newest.timestamp)
    .bind(&newest.id)
    .execute(connection)
    .await?;
    Ok(true)
}

/// Undo [`claim_read`] of `at` (the upstream did not take it): the next markRead tries again.
async fn release_read(state: &AppState, account_id: &str, conversation_id: &str, at: i64) -> DbResult<()> {
    sqlx::query("UPDATE messages SET read_marked_at = NULL WHERE account_id = $1 AND conversation_id = $2 AND read_marked_at = $3")
        .bind(account_id)
        .bind(conversation_id)
        .bind(at)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// `conversations/markRead`.
pub async fn mark_read(state: &AppState, user: &CurrentUser, conversation_id: &str) -> Result<ConversationSummary, ApiError> {
    let inbox = InboxDb::new(&user.account_id);
    let not_found = || ApiError::not_found("No such conversation");
    if conversation_id.contains('\0') {
        return Err(not_found());
    }
    let mut transaction = state.db.begin().await?;
    let conversation = inbox.conversation_summary(&mut transaction, conversation_id).await?.ok_or_else(not_found)?;
    let zeroed = sqlx::query("UPDATE conversations SET unread_count = 0, updated_at = $1 WHERE id = $2 AND account_id = $3 AND unread_count > 0")
        .bind(now_millis())
        .bind(conversation_id)
        .bind(&user.account_id)
        .execute(&mut *transaction)
        .await?;
    let at = now_millis();
    let newest = newest_inbound(&mut transaction, &user.account_id, conversation_id).await?;
    let to_mark = match newest {
        Some(newest) if !newest.marked && claim_read(&mut transaction, &user.account_id, conversation_id, &newest, at).await? => Some(newest),
        _ => None,
    };
    let event = match zeroed.rows_affected() {
        0 => None,
        _ => workers::record_conversation_changed(&mut transaction, &inbox, conversation_id).await?,
    };
    let summary = inbox.conversation_summary(&mut transaction, conversation_id).await?.ok_or_else(not_found)?;
    transaction.commit().await?;
    workers::announce(state, &user.account_id, event);
    if let Some(newest) = to_mark {
        let token = workers::token_for_number(state, &user.account_id, &conversation.phone_number_id).await?;
        // The agent has read it either way; only the customer's ticks wait for the next try.
        if let Err(error) = state.upstream.mark_read(token.as_ref(), &conversation.phone_number_id, &newest.wamid).await {
            tracing::warn!(%error, "the read receipt was not taken; the next markRead sends it again");
            release_read(state, &user.account_id, conversation_id, at).await?;
        }
    }
    Ok(summary)
}

/// `conversations/typing`.
pub async fn typing(state: &AppState, user: &CurrentUser, conversation_id: &str) -> Result<TypingShown, ApiError> {
    let inbox = InboxDb::new(&user.account_id);
    let not_found = || ApiError::not_found("No such conversation");
    if conversation_id.contains('\0') {
        return Err(not_found());
    }
    let mut connection = state.db.acquire().await?;
    let conversation = inbox.conversation_summary(&mut connection, conversation_id).await?.ok_or_else(not_found)?;
    let Some(newest) = newest_inbound(&mut connection, &user.account_id, conversation_id).await? else {
        return Ok(TypingShown { sent: false });
    };
    let now = state.settings.clock.now_millis();
    let claimed = sqlx::query(
        "UPDATE conversations SET typing_sent_at = $1 WHERE id = $2 AND account_id = $3 \
         AND (typing_sent_at IS NULL OR typing_sent_at <= $4)",
    )
    .bind(now)
    .bind(conversation_id)
    .bind(&user.account_id)
    .bind(now - TYPING_INTERVAL_MS)
    .execute(&mut *connection)
    .await?;
    if claimed.rows_affected() == 0 {
        return Ok(TypingShown { sent: false });
    }
    let token = workers::token_for_number(state, &user.account_id, &conversation.phone_number_id).await?;
    if let Err(error) = state.upstream.send_typing(token.as_ref(), &conversation.phone_number_id, &newest.wamid).await {
        // Not shown: the next keystroke may try again at once.
        sqlx::query("UPDATE conversations SET typing_sent_at = NULL WHERE id = $1 AND account_id = $2 AND typing_sent_at = $3")
            .bind(conversation_id)
            .bind(&user.account_id)
            .bind(now)
            .execute(&mut *connection)
            .await?;
        return Err(error.into());
    }
    // The indicator marked the message (and every earlier one) read upstream.
    if !newest.marked {
        claim_read(&mut connection, &user.account_id, conversation_id, &newest, now_millis()).await?;
    }
    Ok(TypingShown { sent: true })
}
