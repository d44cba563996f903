//! Inbound media, downloaded: ingestion queues every stored message whose media the upstream
//! holds ([`queue`]); a worker ([`download_due`]) fetches it (Meta: the media id; YCloud: the
//! link), keeps it in the media store, links it to the message and records a `message` event.
//! A download that keeps failing marks the media unavailable: the message says so
//! (`available: false`, "Media unavailable") instead of showing a broken image.
//!
//! Every failure is tried again, 4xx included: Meta's download URLs expire within minutes, and a
//! fresh lookup of the same media id often works where the last fetch did not.

use api_types::MessageType;
use sqlx::Row;
use tokio::task::JoinSet;

use super::{insert_file, put_bytes, MediaOrigin, NewMediaFile};
use crate::channels::store::DbResult;
use crate::channels::upstream::messaging::MediaSource;
use crate::db::now_millis;
use crate::inbox::store::InboxDb;
use crate::inbox::workers::{self, Pass, LEASE_MS};
use crate::inbox::MessageIn;
use crate::state::AppState;

/// `messages.media_state`: queued for download (or being downloaded).
pub const FETCHING: &str = "fetching";
/// The file is in the media store (`media_file_id`).
pub const STORED: &str = "stored";
/// The download was given up: shown as "media unavailable".
pub const UNAVAILABLE: &str = "unavailable";

/// What the message says once its media could not be had.
pub const UNAVAILABLE_TITLE: &str = "Media unavailable";

/// How many due downloads one pass takes.
const BATCH: i64 = 8;

/// Queue the media of a message just stored, in the caller's transaction, when the upstream
/// holds it (an id or a link) and WhatsApp reported no error about it.
pub async fn queue(connection: &mut sqlx::AnyConnection, account_id: &str, phone_number_id: &str, message: &MessageIn) -> DbResult<()> {
    let content = &message.content;
    let Some(media) = &content.media else { return Ok(()) };
    if !content.kind.is_media() || content.error.is_some() || (media.id.is_none() && media.link.is_none()) {
        return Ok(());
    }
    let now = now_millis();
    sqlx::query("UPDATE messages SET media_state = $1 WHERE account_id = $2 AND phone_number_id = $3 AND wamid = $4")
        .bind(FETCHING)
        .bind(account_id)
        .bind(phone_number_id)
        .bind(&message.wamid)
        .execute(&mut *connection)
        .await?;
    // SQLite needs the WHERE to read `ON CONFLICT` as the upsert clause.
    sqlx::query(
        "INSERT INTO media_downloads (message_id, account_id, phone_number_id, attempts, next_attempt_at, created_at) \
         SELECT id, account_id, phone_number_id, 0, $1, $1 FROM messages WHERE account_id = $2 AND phone_number_id = $3 \
         AND wamid = $4 ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(now)
    .bind(account_id)
    .bind(phone_number_id)
    .bind(&message.wamid)
    .execute(connection)
    .await?;
    Ok(())
}

/// A download this server claimed.
#[derive(Debug, Clone)]
struct Claimed {
    message_id: String,
    account_id: String,
    phone_number_id: String,
    /// Tries so far, this one included.
    attempts: i64,
}

/// Claim the due downloads and do them, in parallel.
pub async fn download_due(state: AppState) -> DbResult<Pass> {
    let now = now_millis();
    let rows = sqlx::query(
        "SELECT message_id, account_id, phone_number_id, attempts, next_attempt_at FROM media_downloads \
         WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    let mut work = JoinSet::new();
    for row in rows {
        let seen: i64 = row.try_get("next_attempt_at")?;
        let claimed = Claimed {
            message_id: row.try_get("message_id")?,
            account_id: row.try_get("account_id")?,
            phone_number_id: row.try_get("phone_number_id")?,
            attempts: row.try_get::<i64, _>("attempts")? + 1,
        };
        // Ours only if nobody moved the row since we read it.
        let taken = sqlx::query(
            "UPDATE media_downloads SET attempts = $1, next_attempt_at = $2 WHERE message_id = $3 AND account_id = $4 \
             AND next_attempt_at = $5",
        )
        .bind(claimed.attempts)
        .bind(now + LEASE_MS)
        .bind(&claimed.message_id)
        .bind(&claimed.account_id)
        .bind(seen)
        .execute(&state.db)
        .await?;
        if taken.rows_affected() == 1 {
            let state = state.clone();
            work.spawn(async move {
                if let Err(cause) = download(&state, &claimed).await {
                    // The lease runs out and the row is taken again.
                    tracing::warn!(%cause, message_id = %claimed.message_id, "a media download could not be recorded");
                }
            });
        }
    }
    let claimed = work.len();
    while work.join_next().await.is_some() {}
    let next_due = sqlx::query("SELECT MIN(next_attempt_at) AS due FROM media_downloads")
        .fetch_one(&state.db)
        .await?
        .try_get::<Option<i64>, _>("due")?;
    Ok(Pass { claimed, next_due })
}

async fn download(state: &AppState, claimed: &Claimed) -> DbResult<()> {
    let inbox = InboxDb::new(&claimed.account_id);
    let row = sqlx::query(
        "SELECT type, media_id, media_link, media_mime_type, media_file_name, media_sha256 FROM messages WHERE id = $1 AND account_id = $2",
    )
    .bind(&claimed.message_id)
    .bind(&claimed.account_id)
    .fetch_optional(&state.db)
    .await?;
    let Some(row) = row else {
        // The message went (its account was deleted): nothing to fetch for.
        return forget(state, claimed).await;
    };
    let kind = MessageType::parse(&row.try_get::<String, _>("type")?);
    let upstream_media_id: Option<String> = row.try_get("media_id")?;
    let declared_type: Option<String> = row.try_get("media_mime_type")?;
    let file_name: Option<String> = row.try_get("media_file_name")?;
    let source = MediaSource {
        upstream_media_id: upstream_media_id.clone(),
        link: row.try_get("media_link")?,
        mime_type: declared_type.clone(),
        sha256: row.try_get("media_sha256")?,
    };
    let token = workers::token_for_number(state, &claimed.account_id, &claimed.phone_number_id).await?;
    let fetched = match state.upstream.download_media(token.as_ref(), &claimed.phone_number_id, &source).await {
        Ok(fetched) => fetched,
        Err(error) => return failed(state, &inbox, claimed, &error.to_string()).await,
    };
    let mime_type = Some(fetched.mime_type.clone())
        .filter(|mime_type| !mime_type.is_empty())
        .or(declared_type)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let file = NewMediaFile {
        account_id: &claimed.account_id,
        bytes: fetched.bytes,
        mime_type,
        file_name: file_name.or(fetched.file_name).and_then(|name| super::clean_file_name(&name)),
        origin: MediaOrigin::Inbound,
        upstream_media_id,
    };
    let stored = match put_bytes(&*state.media, &file).await {
        Ok(stored) => stored,
        Err(error) => return failed(state, &inbox, claimed, &error.to_string()).await,
    };
    let mut transaction = state.db.begin().await?;
    let linked = sqlx::query(
        "UPDATE messages SET media_file_id = $1, media_size_bytes = $2, media_state = $3, media_mime_type = COALESCE(media_mime_type, $4), \
         updated_at = $5 WHERE id = $6 AND account_id = $7 AND media_file_id IS NULL",
    )
    .bind(&stored.id)
    .bind(i64::try_from(stored.size_bytes).unwrap_or(i64::MAX))
    .bind(STORED)
    .bind(&stored.mime_type)
    .bind(now_millis())
    .bind(&claimed.message_id)
    .bind(&claimed.account_id)
    .execute(&mut *transaction)
    .await?;
    if linked.rows_affected() == 0 {
        // Another server got there first (our lease ran out mid-download): keep theirs.
        transaction.rollback().await?;
        if let Err(error) = state.media.delete(&stored.storage_key).await {
            tracing::warn!(%error, "a duplicate download could not be removed from the media store");
        }
        return forget(state, claimed).await;
    }
    insert_file(&mut transaction, &stored, &file, now_millis()).await?;
    sqlx::query("DELETE FROM media_downloads WHERE message_id = $1 AND account_id = $2")
        .bind(&claimed.message_id)
        .bind(&claimed.account_id)
        .execute(&mut *transaction)
        .await?;
    let event = workers::record_message_changed(&mut transaction, &inbox, &claimed.phone_number_id, &claimed.message_id).await?;
    transaction.commit().await?;
    workers::announce(state, &claimed.account_id, event);
    tracing::info!(message_id = %claimed.message_id, size = stored.size_bytes, kind = kind.as_str(), "inbound media stored");
    Ok(())
}

/// Try again later, or give up after the last try: the media is unavailable.
async fn failed(state: &AppState, inbox: &InboxDb, claimed: &Claimed, reason: &str) -> DbResult<()> {
    let now = now_millis();
    if let Some(delay) = workers::retry_delay(&state.settings.media_retry_delays_ms, claimed.attempts) {
        tracing::info!(message_id = %claimed.message_id, attempts = claimed.attempts, %reason, "media download failed; trying again");
        sqlx::query("UPDATE media_downloads SET next_attempt_at = $1, last_error = $2 WHERE message_id = $3 AND account_id = $4")
            .bind(now + delay)
            .bind(reason)
            .bind(&claimed.message_id)
            .bind(&claimed.account_id)
            .execute(&state.db)
            .await?;
        return Ok(());
    }
    tracing::warn!(message_id = %claimed.message_id, attempts = claimed.attempts, %reason, "media download given up: unavailable");
    let mut transaction = state.db.begin().await?;
    // An error WhatsApp itself reported stays what the message shows.
    sqlx::query(
        "UPDATE messages SET media_state = $1, \
         error_details = CASE WHEN error_code IS NULL AND error_title IS NULL THEN $2 ELSE error_details END, \
         error_title = CASE WHEN error_code IS NULL AND error_title IS NULL THEN $3 ELSE error_title END, \
         updated_at = $4 WHERE id = $5 AND account_id = $6 AND media_file_id IS NULL",
    )
    .bind(UNAVAILABLE)
    .bind(reason)
    .bind(UNAVAILABLE_TITLE)
    .bind(now)
    .bind(&claimed.message_id)
    .bind(&claimed.account_id)
    .execute(&mut *transaction)
    .await?;
    sqlx::query("DELETE FROM media_downloads WHERE message_id = $1 AND account_id = $2")
        .bind(&claimed.message_id)
        .bind(&claimed.account_id)
        .execute(&mut *transaction)
        .await?;
    let event = workers::record_message_changed(&mut transaction, inbox, &claimed.phone_number_id, &claimed.message_id).await?;
    transaction.commit().await?;
    workers::announce(state, &claimed.account_id, event);
    Ok(())
}

async fn forget(state: &AppState, claimed: &Claimed) -> DbResult<()> {
    sqlx::query("DELETE FROM media_downloads WHERE message_id = $1 AND account_id = $2")
        .bind(&claimed.message_id)
        .bind(&claimed.account_id)
        .execute(&state.db)
        .await?;
    Ok(())
}
