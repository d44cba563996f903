//! Sending (issue 9 "Sending"): `messages/send` stores the outbound message (`pending`) and an
//! outbox row in one transaction and answers at once; the outbox worker ([`send_due`]) hands it
//! to the upstream: media uploaded first (from the media store), then the message. Acceptance
//! records the wamid (and applies statuses that came before it); a timeout, a 5xx or a 429 is
//! tried again after the next wait of `--outbox-retry-delays-ms`; a 4xx, or the last try, marks
//! the message `failed` with the upstream's code and reason. Every change records a `message`
//! event.
//!
//! The sender's `clientMessageId` is unique per account: sending again with it returns the
//! stored message and never sends twice; the same id with another body is a 409.
//!
//! Until the upstream accepts it a message has no wamid, but `(phone_number_id, wamid)` is unique
//! and not null: it holds [`PENDING_WAMID_PREFIX`] + its own id meanwhile, shown as `""`.

use api_types::{
    send_limits, ErrorCode, FieldError, MessageDirection, MessageItem, MessageOrigin, MessageStatus, MessageType, SendMessageRequest,
};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use tokio::task::JoinSet;

use super::media::{self, MediaFileRow};
use super::store::InboxDb;
use super::workers::{self, Pass, LEASE_MS};
use super::{MessageError, StatusIn};
use crate::auth::CurrentUser;
use crate::channels::store::DbResult;
use crate::channels::upstream::messaging::{MediaFile, OutgoingMedia, OutgoingMessage, Recipient};
use crate::channels::upstream::{UpstreamError, UpstreamErrorKind};
use crate::db::now_millis;
use crate::state::AppState;
use crate::web::error::ApiError;

/// The stand-in wamid of a message the upstream has not accepted yet: this prefix and the
/// message's id (no wamid of WhatsApp's starts so: theirs start with `wamid.`).
pub const PENDING_WAMID_PREFIX: &str = "pending:";

/// The wamid as the API shows it: empty until the upstream accepted the message.
pub fn shown_wamid(stored: String) -> String {
    if stored.starts_with(PENDING_WAMID_PREFIX) {
        String::new()
    } else {
        stored
    }
}

fn placeholder_wamid(message_id: &str) -> String {
    format!("{PENDING_WAMID_PREFIX}{message_id}")
}

/// The longest `clientMessageId` taken (a UUID is 36).
pub const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 128;

/// How many due sends one pass takes.
const BATCH: i64 = 16;

/// Whether the outbox tries again later: see [`UpstreamError::is_retryable`] (no answer, 5xx,
/// throttling); any other refusal, and an answer we could not read, is final.
pub fn retryable(error: &UpstreamError) -> bool {
    error.is_retryable()
}

/// What a failed message shows: the upstream's code, its reason, and our sentence about it.
fn error_of(error: &UpstreamError) -> MessageError {
    match &error.kind {
        UpstreamErrorKind::Rejected { code, message, .. } => {
            MessageError { code: Some(code.clone()), title: Some(message.clone()), details: Some(error.to_string()) }
        }
        UpstreamErrorKind::Timeout { .. } => MessageError { code: Some("timeout".to_owned()), title: Some(error.to_string()), details: None },
        UpstreamErrorKind::Unreachable { .. } => {
            MessageError { code: Some("unreachable".to_owned()), title: Some(error.to_string()), details: None }
        }
        UpstreamErrorKind::Malformed { .. } => MessageError { code: Some("malformed".to_owned()), title: Some(error.to_string()), details: None },
    }
}

/// The request's fingerprint: the same client id must come with the same body.
fn fingerprint(request: &SendMessageRequest) -> String {
    let canonical = serde_json::json!([request.conversation_id, request.kind.as_str(), request.text, request.media_id]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The field errors of a send request, given its media file (when it names one of this account).
fn check(request: &SendMessageRequest, media: Option<&MediaFileRow>) -> Vec<FieldError> {
    let mut problems = Vec::new();
    let client_id = request.client_message_id.trim();
    if client_id.is_empty() {
        problems.push(FieldError::new("clientMessageId", "required", "clientMessageId is required (a UUID chosen by the sender)"));
    } else if client_id.chars().count() > MAX_CLIENT_MESSAGE_ID_CHARS || client_id.chars().any(char::is_control) {
        problems.push(FieldError::new(
            "clientMessageId",
            "invalid",
            format!("clientMessageId is at most {MAX_CLIENT_MESSAGE_ID_CHARS} characters, without control characters"),
        ));
    }
    let text_chars = request.text.as_deref().map_or(0, |text| text.chars().count());
    match &request.kind {
        MessageType::Text => {
            if request.text.as_deref().is_none_or(|text| text.trim().is_empty()) {
                problems.push(FieldError::new("text", "required", "A text message needs its text"));
            } else if text_chars > send_limits::MAX_TEXT_CHARS {
                problems.push(FieldError::new(
                    "text",
                    "too_long",
                    format!("A text message is at most {} characters (this one has {text_chars})", send_limits::MAX_TEXT_CHARS),
                ));
            }
            if request.media_id.is_some() {
                problems.push(FieldError::new("mediaId", "unexpected", "A text message carries no media; send it as image, video, audio, document or sticker"));
            }
        }
        kind if kind.is_media() => {
            let takes_caption = matches!(kind, MessageType::Image | MessageType::Video | MessageType::Document);
            if !takes_caption && text_chars > 0 {
                problems.push(FieldError::new("text", "unexpected", format!("WhatsApp sends {} without a caption", kind.as_str())));
            } else if text_chars > send_limits::MAX_CAPTION_CHARS {
                problems.push(FieldError::new(
                    "text",
                    "too_long",
                    format!("A caption is at most {} characters (this one has {text_chars})", send_limits::MAX_CAPTION_CHARS),
                ));
            }
            match (request.media_id.as_deref(), media) {
                (None, _) => problems.push(FieldError::new("mediaId", "required", "Upload the file first (media/upload) and send its mediaId")),
                (Some(_), None) => problems.push(FieldError::new("mediaId", "not_found", "There is no uploaded file with this mediaId in this account")),
                (Some(_), Some(file)) => {
                    if let Some(problem) = send_limits::media_problem(kind, &file.mime_type, file.size_bytes) {
                        problems.push(media_problem_error("mediaId", kind, &problem));
                    }
                }
            }
        }
        _ => problems.push(FieldError::new("type", "unsupported", "type is text, image, video, audio, document or sticker")),
    }
    problems
}

/// A [`send_limits::MediaProblem`] in words, for `field`.
pub fn media_problem_error(field: &str, kind: &MessageType, problem: &send_limits::MediaProblem) -> FieldError {
    match problem {
        send_limits::MediaProblem::WrongType { allowed } => FieldError::new(
            field,
            "type",
            format!("WhatsApp takes {} only as {}", kind.as_str(), allowed.join(", ")),
        ),
        send_limits::MediaProblem::TooLarge { max_bytes } => FieldError::new(
            field,
            "too_large",
            format!("WhatsApp takes {} files of at most {}", kind.as_str(), size_in_words(*max_bytes)),
        ),
        send_limits::MediaProblem::Empty => FieldError::new(field, "empty", "The file is empty"),
    }
}

/// `5 MB`, `500 KB`: a limit as people read it.
pub fn size_in_words(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// `messages/send`: store the message and its outbox row, or find the one this client id made.
pub async fn send(state: &AppState, user: &CurrentUser, request: &SendMessageRequest) -> Result<MessageItem, ApiError> {
    let inbox = InboxDb::new(&user.account_id);
    let mut connection = state.db.acquire().await?;
    let conversation = match request.conversation_id.contains('\0') {
        true => None,
        false => inbox.conversation_summary(&mut connection, &request.conversation_id).await?,
    };
    let conversation = conversation.ok_or_else(|| ApiError::not_found("No such conversation"))?;
    let media = match request.media_id.as_deref() {
        Some(id) if request.kind.is_media() => media::find_file(&mut connection, &user.account_id, id).await?,
        _ => None,
    };
    let problems = check(request, media.as_ref());
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    drop(connection);
    let client_id = request.client_message_id.trim();
    let fingerprint = fingerprint(request);
    // A second request with the same id racing this one (on another number) loses the insert
    // to the unique index: it then finds the winner's message like any later retry.
    for _ in 0..2 {
        let mut transaction = state.db.begin().await?;
        inbox.lock_number(&mut transaction, &conversation.phone_number_id).await?;
        if let Some((message_id, stored_fingerprint)) = by_client_id(&mut transaction, &user.account_id, client_id).await? {
            transaction.rollback().await?;
            if stored_fingerprint.as_deref() != Some(fingerprint.as_str()) {
                return Err(ApiError::conflict(format!(
                    "clientMessageId {client_id} was already used for another message; choose a new one for a new message"
                )));
            }
            let mut connection = state.db.acquire().await?;
            return inbox.message_item(&mut connection, &message_id).await?.ok_or_else(|| ApiError::internal("a stored message vanished"));
        }
        let message_id = crate::db::ordered_id();
        match insert(&mut transaction, &inbox, &conversation.phone_number_id, &conversation.id, &message_id, client_id, &fingerprint, request, media.as_ref()).await {
            Ok(()) => {}
            Err(sqlx::Error::Database(cause)) if cause.is_unique_violation() => {
                transaction.rollback().await?;
                continue;
            }
            Err(cause) => return Err(cause.into()),
        }
        workers::record_message_changed(&mut transaction, &inbox, &conversation.phone_number_id, &message_id).await?;
        let event = workers::record_conversation_changed(&mut transaction, &inbox, &conversation.id).await?;
        let item = inbox.message_item(&mut transaction, &message_id).await?;
        transaction.commit().await?;
        workers::announce(state, &user.account_id, event);
        return item.ok_or_else(|| ApiError::internal("a stored message vanished"));
    }
    Err(ApiError::new(ErrorCode::Conflict, "Another request with this clientMessageId is being stored; send it again"))
}

async fn by_client_id(connection: &mut AnyConnection, account_id: &str, client_id: &str) -> DbResult<Option<(String, Option<String>)>> {
    let row = sqlx::query("SELECT id, request_sha256 FROM messages WHERE account_id = $1 AND client_message_id = $2")
        .bind(account_id)
        .bind(client_id)
        .fetch_optional(connection)
        .await?;
    row.map(|row| Ok((row.try_get("id")?, row.try_get("request_sha256")?))).transpose()
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    connection: &mut AnyConnection,
    inbox: &InboxDb,
    phone_number_id: &str,
    conversation_id: &str,
    message_id: &str,
    client_id: &str,
    fingerprint: &str,
    request: &SendMessageRequest,
    media: Option<&MediaFileRow>,
) -> Result<(), sqlx::Error> {
    let now = now_millis();
    let text = request.text.clone().filter(|text| !text.is_empty());
    let caption = text.clone().filter(|_| request.kind.is_media());
    let payload = serde_json::to_string(request).expect("a send request serializes");
    let pending = MessageStatus::Pending;
    sqlx::query(
        "INSERT INTO messages (id, account_id, conversation_id, phone_number_id, wamid, direction, origin, type, text, \
         media_mime_type, media_file_name, media_caption, media_sha256, media_file_id, media_size_bytes, media_state, payload, \
         status, status_rank, client_message_id, request_sha256, timestamp, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, $22)",
    )
    .bind(message_id)
    .bind(inbox.account_id())
    .bind(conversation_id)
    .bind(phone_number_id)
    .bind(placeholder_wamid(message_id))
    .bind(MessageDirection::Outbound.as_str())
    .bind(MessageOrigin::Agent.as_str())
    .bind(request.kind.as_str())
    .bind(&text)
    .bind(media.map(|file| file.mime_type.clone()))
    .bind(media.and_then(|file| file.file_name.clone()))
    .bind(&caption)
    .bind(media.map(|file| file.sha256.clone()))
    .bind(media.map(|file| file.id.clone()))
    .bind(media.map(|file| i64::try_from(file.size_bytes).unwrap_or(i64::MAX)))
    .bind(media.map(|_| media::download::STORED))
    .bind(payload)
    .bind(pending.as_str())
    .bind(pending.rank())
    .bind(client_id)
    .bind(fingerprint)
    .bind(now)
    .execute(&mut *connection)
    .await?;
    queue(connection, inbox.account_id(), phone_number_id, message_id, now).await?;
    sqlx::query(
        "UPDATE conversations SET last_message_at = CASE WHEN last_message_at < $1 THEN $1 ELSE last_message_at END, updated_at = $1 \
         WHERE id = $2 AND account_id = $3",
    )
    .bind(now)
    .bind(conversation_id)
    .bind(inbox.account_id())
    .execute(connection)
    .await?;
    Ok(())
}

/// A new outbox try for the message, due now (nothing when one is already waiting).
async fn queue(connection: &mut AnyConnection, account_id: &str, phone_number_id: &str, message_id: &str, now: i64) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO outbox (message_id, account_id, phone_number_id, attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, 0, $4, $4, $4) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(account_id)
    .bind(phone_number_id)
    .bind(now)
    .execute(connection)
    .await?;
    Ok(())
}

/// `messages/retry`: a failed message of the caller's account goes back to `pending` with a new
/// outbox try. It keeps its id and client id; the upstream gives it a new wamid.
pub async fn retry(state: &AppState, user: &CurrentUser, message_id: &str) -> Result<MessageItem, ApiError> {
    let inbox = InboxDb::new(&user.account_id);
    if message_id.contains('\0') {
        return Err(ApiError::not_found("No such message"));
    }
    let row = sqlx::query("SELECT phone_number_id, direction, origin, status FROM messages WHERE id = $1 AND account_id = $2")
        .bind(message_id)
        .bind(&user.account_id)
        .fetch_optional(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("No such message"))?;
    let phone_number_id: String = row.try_get("phone_number_id")?;
    let ours = row.try_get::<String, _>("direction")? == MessageDirection::Outbound.as_str()
        && row.try_get::<String, _>("origin")? == MessageOrigin::Agent.as_str();
    if !ours {
        return Err(ApiError::conflict("Only messages sent from the inbox can be sent again"));
    }
    let mut transaction = state.db.begin().await?;
    inbox.lock_number(&mut transaction, &phone_number_id).await?;
    let failed = MessageStatus::Failed;
    let pending = MessageStatus::Pending;
    let reset = sqlx::query(
        "UPDATE messages SET status = $1, status_rank = $2, wamid = $3, error_code = NULL, error_title = NULL, error_details = NULL, \
         updated_at = $4 WHERE id = $5 AND account_id = $6 AND status = $7",
    )
    .bind(pending.as_str())
    .bind(pending.rank())
    .bind(placeholder_wamid(message_id))
    .bind(now_millis())
    .bind(message_id)
    .bind(&user.account_id)
    .bind(failed.as_str())
    .execute(&mut *transaction)
    .await?;
    if reset.rows_affected() == 0 {
        transaction.rollback().await?;
        return Err(ApiError::conflict("Only a failed message can be sent again"));
    }
    queue(&mut transaction, &user.account_id, &phone_number_id, message_id, now_millis()).await?;
    let event = workers::record_message_changed(&mut transaction, &inbox, &phone_number_id, message_id).await?;
    let item = inbox.message_item(&mut transaction, message_id).await?;
    transaction.commit().await?;
    workers::announce(state, &user.account_id, event);
    item.ok_or_else(|| ApiError::internal("a stored message vanished"))
}

/// A send this server claimed.
#[derive(Debug, Clone)]
struct Claimed {
    message_id: String,
    account_id: String,
    phone_number_id: String,
    /// Tries so far, this one included.
    attempts: i64,
}

/// Claim the due sends and hand them to the upstream: one number's in the order they fell due,
/// different numbers in parallel.
pub async fn send_due(state: AppState) -> DbResult<Pass> {
    let now = now_millis();
    let rows = sqlx::query(
        "SELECT message_id, account_id, phone_number_id, attempts, next_attempt_at, created_at FROM outbox \
         WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, created_at LIMIT $2",
    )
    .bind(now)
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    let mut by_number: Vec<(String, Vec<Claimed>)> = Vec::new();
    let mut claimed_count = 0;
    for row in rows {
        let seen: i64 = row.try_get("next_attempt_at")?;
        let claimed = Claimed {
            message_id: row.try_get("message_id")?,
            account_id: row.try_get("account_id")?,
            phone_number_id: row.try_get("phone_number_id")?,
            attempts: row.try_get::<i64, _>("attempts")? + 1,
        };
        let taken = sqlx::query(
            "UPDATE outbox SET attempts = $1, next_attempt_at = $2, updated_at = $3 WHERE message_id = $4 AND account_id = $5 \
             AND next_attempt_at = $6",
        )
        .bind(claimed.attempts)
        .bind(now + LEASE_MS)
        .bind(now)
        .bind(&claimed.message_id)
        .bind(&claimed.account_id)
        .bind(seen)
        .execute(&state.db)
        .await?;
        if taken.rows_affected() != 1 {
            continue;
        }
        claimed_count += 1;
        match by_number.iter_mut().find(|(number, _)| *number == claimed.phone_number_id) {
            Some((_, list)) => list.push(claimed),
            None => by_number.push((claimed.phone_number_id.clone(), vec![claimed])),
        }
    }
    let mut work = JoinSet::new();
    for (_, list) in by_number {
        let state = state.clone();
        work.spawn(async move {
            for claimed in list {
                if let Err(cause) = deliver(&state, &claimed).await {
                    // The lease runs out and the row is taken again.
                    tracing::warn!(%cause, message_id = %claimed.message_id, "an outgoing message could not be recorded");
                }
            }
        });
    }
    while work.join_next().await.is_some() {}
    let next_due = sqlx::query("SELECT MIN(next_attempt_at) AS due FROM outbox")
        .fetch_one(&state.db)
        .await?
        .try_get::<Option<i64>, _>("due")?;
    Ok(Pass { claimed: claimed_count, next_due })
}

/// What the outbox needs of a message to send it.
struct Outgoing {
    kind: MessageType,
    text: Option<String>,
    status: MessageStatus,
    media_file_id: Option<String>,
    caption: Option<String>,
    upstream_media_id: Option<String>,
    to: Recipient,
    /// The business number as displayed (YCloud sends `from` in E.164).
    from_display_number: Option<String>,
}

async fn load(state: &AppState, claimed: &Claimed) -> DbResult<Option<Outgoing>> {
    let row = sqlx::query(
        "SELECT m.type, m.text, m.status, m.media_file_id, m.media_caption, o.upstream_media_id, k.wa_id, k.user_id, \
         (SELECT n.display_phone_number FROM whatsapp_numbers n WHERE n.phone_number_id = m.phone_number_id \
          AND n.account_id = m.account_id) AS display_phone_number \
         FROM outbox o JOIN messages m ON m.id = o.message_id AND m.account_id = o.account_id \
         JOIN conversations c ON c.id = m.conversation_id AND c.account_id = m.account_id \
         JOIN contacts k ON k.id = c.contact_id AND k.account_id = c.account_id \
         WHERE o.message_id = $1 AND o.account_id = $2",
    )
    .bind(&claimed.message_id)
    .bind(&claimed.account_id)
    .fetch_optional(&state.db)
    .await?;
    row.map(|row| {
        Ok(Outgoing {
            kind: MessageType::parse(&row.try_get::<String, _>("type")?),
            text: row.try_get("text")?,
            status: row.try_get::<Option<String>, _>("status")?.map_or(MessageStatus::Pending, MessageStatus::from),
            media_file_id: row.try_get("media_file_id")?,
            caption: row.try_get("media_caption")?,
            upstream_media_id: row.try_get("upstream_media_id")?,
            to: Recipient { wa_id: row.try_get("wa_id")?, user_id: row.try_get("user_id")? },
            from_display_number: row.try_get("display_phone_number")?,
        })
    })
    .transpose()
}

/// One try at sending a claimed message.
async fn deliver(state: &AppState, claimed: &Claimed) -> DbResult<()> {
    let Some(outgoing) = load(state, claimed).await? else {
        // The message or its conversation went: nothing to send.
        return done_with(state, claimed).await;
    };
    if outgoing.status != MessageStatus::Pending {
        return done_with(state, claimed).await;
    }
    let token = workers::token_for_number(state, &claimed.account_id, &claimed.phone_number_id).await?;
    let media = match (&outgoing.media_file_id, outgoing.kind.is_media()) {
        (Some(file_id), true) => {
            let mut connection = state.db.acquire().await?;
            let Some(file) = media::find_file(&mut connection, &claimed.account_id, file_id).await? else {
                return gave_up(state, claimed, &lost_file("its file is no longer in the account")).await;
            };
            drop(connection);
            let upstream_media_id = match &outgoing.upstream_media_id {
                Some(id) => id.clone(),
                None => {
                    let bytes = match state.media.get(&file.storage_key).await {
                        Ok(Some(bytes)) => bytes,
                        Ok(None) => return gave_up(state, claimed, &lost_file("its file is missing from the media store")).await,
                        Err(error) => {
                            // The store may come back: like an upstream timeout.
                            tracing::warn!(%error, "the media store failed while sending");
                            return try_later(state, claimed, &error.to_string()).await;
                        }
                    };
                    let upload = MediaFile { bytes, mime_type: file.mime_type.clone(), file_name: file.file_name.clone() };
                    match state.upstream.upload_media(token.as_ref(), &claimed.phone_number_id, &upload).await {
                        Ok(id) => {
                            sqlx::query("UPDATE outbox SET upstream_media_id = $1 WHERE message_id = $2 AND account_id = $3")
                                .bind(&id)
                                .bind(&claimed.message_id)
                                .bind(&claimed.account_id)
                                .execute(&state.db)
                                .await?;
                            id
                        }
                        Err(error) => return failed(state, claimed, &error).await,
                    }
                }
            };
            Some(OutgoingMedia {
                upstream_media_id: Some(upstream_media_id),
                link: None,
                mime_type: file.mime_type,
                file_name: file.file_name.filter(|_| outgoing.kind == MessageType::Document),
                caption: outgoing.caption.clone(),
            })
        }
        _ => None,
    };
    let message = OutgoingMessage {
        to: outgoing.to,
        kind: outgoing.kind.clone(),
        text: outgoing.text.filter(|_| outgoing.kind == MessageType::Text),
        media,
        reply_to: None,
        client_reference: Some(claimed.message_id.clone()),
        from_display_number: outgoing.from_display_number,
    };
    match state.upstream.send_message(token.as_ref(), &claimed.phone_number_id, &message).await {
        Ok(sent) => accepted(state, claimed, &sent.wamid).await,
        Err(error) => failed(state, claimed, &error).await,
    }
}

fn lost_file(why: &str) -> MessageError {
    MessageError { code: Some("media_missing".to_owned()), title: Some(format!("The message cannot be sent: {why}")), details: None }
}

/// The upstream took the message: record its wamid (statuses that came first apply now).
async fn accepted(state: &AppState, claimed: &Claimed, wamid: &str) -> DbResult<()> {
    let inbox = InboxDb::new(&claimed.account_id);
    let mut transaction = state.db.begin().await?;
    // The same lock the webhook path takes first: a status for this wamid is either already
    // waiting in pending_statuses, or will find the message.
    inbox.lock_number(&mut transaction, &claimed.phone_number_id).await?;
    let sent = MessageStatus::Sent;
    sqlx::query(
        "UPDATE messages SET wamid = $1, status = CASE WHEN status_rank < $2 THEN $3 ELSE status END, \
         status_rank = CASE WHEN status_rank < $2 THEN $2 ELSE status_rank END, updated_at = $4 \
         WHERE id = $5 AND account_id = $6 AND wamid = $7",
    )
    .bind(wamid)
    .bind(sent.rank())
    .bind(sent.as_str())
    .bind(now_millis())
    .bind(&claimed.message_id)
    .bind(&claimed.account_id)
    .bind(placeholder_wamid(&claimed.message_id))
    .execute(&mut *transaction)
    .await?;
    let early = sqlx::query(
        "SELECT status, error_code, error_title, error_details, timestamp FROM pending_statuses \
         WHERE account_id = $1 AND phone_number_id = $2 AND wamid = $3",
    )
    .bind(&claimed.account_id)
    .bind(&claimed.phone_number_id)
    .bind(wamid)
    .fetch_optional(&mut *transaction)
    .await?;
    if let Some(row) = early {
        let status = StatusIn {
            waba_id: None,
            number: crate::webhooks::events::NumberKey::Id(claimed.phone_number_id.clone()),
            wamid: wamid.to_owned(),
            status: MessageStatus::parse(&row.try_get::<String, _>("status")?),
            error: Some(MessageError {
                code: row.try_get("error_code")?,
                title: row.try_get("error_title")?,
                details: row.try_get("error_details")?,
            }),
            timestamp: row.try_get("timestamp")?,
        };
        // The message's event is recorded below, with everything this acceptance changed.
        inbox.record_status(&mut transaction, &claimed.phone_number_id, &status, &mut Default::default()).await?;
        sqlx::query("DELETE FROM pending_statuses WHERE account_id = $1 AND phone_number_id = $2 AND wamid = $3")
            .bind(&claimed.account_id)
            .bind(&claimed.phone_number_id)
            .bind(wamid)
            .execute(&mut *transaction)
            .await?;
    }
    remove_row(&mut transaction, claimed).await?;
    let event = workers::record_message_changed(&mut transaction, &inbox, &claimed.phone_number_id, &claimed.message_id).await?;
    transaction.commit().await?;
    workers::announce(state, &claimed.account_id, event);
    Ok(())
}

/// Try again after the next wait when the failure may pass and tries are left; otherwise the
/// message fails with the upstream's reason.
async fn failed(state: &AppState, claimed: &Claimed, error: &UpstreamError) -> DbResult<()> {
    if retryable(error) && workers::retry_delay(&state.settings.outbox_retry_delays_ms, claimed.attempts).is_some() {
        tracing::info!(message_id = %claimed.message_id, attempts = claimed.attempts, %error, "sending failed; trying again");
        return try_later(state, claimed, &error.to_string()).await;
    }
    tracing::warn!(message_id = %claimed.message_id, attempts = claimed.attempts, %error, "sending failed for good");
    gave_up(state, claimed, &error_of(error)).await
}

async fn try_later(state: &AppState, claimed: &Claimed, reason: &str) -> DbResult<()> {
    let Some(delay) = workers::retry_delay(&state.settings.outbox_retry_delays_ms, claimed.attempts) else {
        let error = MessageError { code: None, title: Some(reason.to_owned()), details: None };
        return gave_up(state, claimed, &error).await;
    };
    let now = now_millis();
    sqlx::query("UPDATE outbox SET next_attempt_at = $1, last_error = $2, updated_at = $3 WHERE message_id = $4 AND account_id = $5")
        .bind(now + delay)
        .bind(reason)
        .bind(now)
        .bind(&claimed.message_id)
        .bind(&claimed.account_id)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// The message failed: shown with `error`, and a retry button (`messages/retry`).
async fn gave_up(state: &AppState, claimed: &Claimed, error: &MessageError) -> DbResult<()> {
    let inbox = InboxDb::new(&claimed.account_id);
    let failed = MessageStatus::Failed;
    let mut transaction = state.db.begin().await?;
    inbox.lock_number(&mut transaction, &claimed.phone_number_id).await?;
    sqlx::query(
        "UPDATE messages SET status = $1, status_rank = $2, error_code = $3, error_title = $4, error_details = $5, updated_at = $6 \
         WHERE id = $7 AND account_id = $8 AND status = $9",
    )
    .bind(failed.as_str())
    .bind(failed.rank())
    .bind(&error.code)
    .bind(&error.title)
    .bind(&error.details)
    .bind(now_millis())
    .bind(&claimed.message_id)
    .bind(&claimed.account_id)
    .bind(MessageStatus::Pending.as_str())
    .execute(&mut *transaction)
    .await?;
    remove_row(&mut transaction, claimed).await?;
    let event = workers::record_message_changed(&mut transaction, &inbox, &claimed.phone_number_id, &claimed.message_id).await?;
    transaction.commit().await?;
    workers::announce(state, &claimed.account_id, event);
    Ok(())
}

async fn remove_row(connection: &mut AnyConnection, claimed: &Claimed) -> DbResult<()> {
    sqlx::query("DELETE FROM outbox WHERE message_id = $1 AND account_id = $2")
        .bind(&claimed.message_id)
        .bind(&claimed.account_id)
        .execute(connection)
        .await?;
    Ok(())
}

async fn done_with(state: &AppState, claimed: &Claimed) -> DbResult<()> {
    let mut connection = state.db.acquire().await?;
    remove_row(&mut connection, claimed).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::upstream::Operation;
    use std::time::Duration;

    fn rejected(status: u16, code: &str) -> UpstreamError {
        UpstreamError::rejected("Meta", Operation::SendMessage, status, code, "no")
    }

    #[test]
    fn timeouts_5xx_and_throttling_are_tried_again_other_refusals_are_final() {
        let timeout = UpstreamError { provider: "Meta", operation: Operation::SendMessage, kind: UpstreamErrorKind::Timeout { after: Duration::from_secs(15) } };
        assert!(retryable(&timeout));
        assert!(retryable(&rejected(503, "2")));
        assert!(retryable(&rejected(429, "x")));
        assert!(retryable(&rejected(400, "130429")), "Meta's throughput limit comes as a 400");
        assert!(!retryable(&rejected(400, "131030")));
        assert!(!retryable(&rejected(501, "unsupported")), "an adapter that cannot send never will");
        let malformed = UpstreamError { provider: "Meta", operation: Operation::SendMessage, kind: UpstreamErrorKind::Malformed { cause: "x".into() } };
        assert!(!retryable(&malformed), "the message may have gone out");
    }

    /// A status that came before the upstream's answer (the webhook overtook it) waits in
    /// pending_statuses, and applies when the wamid is recorded.
    #[tokio::test]
    async fn a_status_that_came_first_applies_when_the_wamid_is_recorded() {
        use crate::channels::test_database::{TestDatabase, ACCOUNT_ID, NUMBER_ID};
        let test = TestDatabase::with_number(api_types::NumberStatus::Connected).await;
        sqlx::query("INSERT INTO contacts (id, account_id, wa_id, profile_name, created_at, updated_at) VALUES ('k1', $1, '15550001', '', 0, 0)")
            .bind(ACCOUNT_ID)
            .execute(&test.db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO conversations (id, account_id, phone_number_id, contact_id, state, unread_count, last_message_at, created_at, updated_at) \
             VALUES ('c1', $1, $2, 'k1', 'open', 0, 0, 0, 0)",
        )
        .bind(ACCOUNT_ID)
        .bind(NUMBER_ID)
        .execute(&test.db)
        .await
        .unwrap();
        let state = crate::app::build_state(test.db.clone(), crate::settings::Settings::for_tests("sqlite::memory:", "dist".into()));
        let user = CurrentUser {
            user_id: "u1".into(),
            account_id: ACCOUNT_ID.into(),
            account_name: "acme".into(),
            email: "a@acme.example".into(),
            name: "A".into(),
            role: api_types::Role::Agent,
        };
        let request = SendMessageRequest {
            conversation_id: "c1".into(),
            client_message_id: "early".into(),
            kind: MessageType::Text,
            text: Some("hi".into()),
            media_id: None,
        };
        let message = send(&state, &user, &request).await.unwrap();
        let status = StatusIn {
            waba_id: None,
            number: crate::webhooks::events::NumberKey::Id(NUMBER_ID.into()),
            wamid: "wamid.early".into(),
            status: MessageStatus::Delivered,
            error: None,
            timestamp: 1,
        };
        let inbox = InboxDb::new(ACCOUNT_ID);
        let mut connection = test.db.acquire().await.unwrap();
        inbox.record_status(&mut connection, NUMBER_ID, &status, &mut Default::default()).await.unwrap();
        drop(connection);
        let claimed = Claimed { message_id: message.id.clone(), account_id: ACCOUNT_ID.into(), phone_number_id: NUMBER_ID.into(), attempts: 1 };
        accepted(&state, &claimed, "wamid.early").await.unwrap();
        let mut connection = test.db.acquire().await.unwrap();
        let item = inbox.message_item(&mut connection, &message.id).await.unwrap().unwrap();
        assert_eq!((item.wamid.as_str(), item.status), ("wamid.early", Some(MessageStatus::Delivered)));
        let waiting: i64 = sqlx::query("SELECT COUNT(*) AS n FROM pending_statuses").fetch_one(&test.db).await.unwrap().try_get("n").unwrap();
        let queued: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox").fetch_one(&test.db).await.unwrap().try_get("n").unwrap();
        assert_eq!((waiting, queued), (0, 0));
    }

    #[test]
    fn the_stand_in_wamid_is_shown_empty() {
        assert_eq!(shown_wamid(placeholder_wamid("m1")), "");
        assert_eq!(shown_wamid("wamid.HBg".to_owned()), "wamid.HBg");
    }
}
