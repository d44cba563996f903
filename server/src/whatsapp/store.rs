//! SQL for WABAs, numbers, registration attempts, sync progress, webhook events and webhook
//! settings (migration 0002). Plain functions over the pool, the same SQL for SQLite and PostgreSQL.
//! Callers scope by `account_id`; the few global lookups say so in their name.

use api_types::{NumberOrigin, SyncProgress, SyncState};
use sqlx::any::AnyRow;
use std::sync::atomic::{AtomicI64, Ordering};

use sqlx::{AnyPool, Row};

use crate::db::{new_id, now_millis};

pub type DbResult<T> = Result<T, sqlx::Error>;

/// True for a key no stored row can have: text holding NUL, which PostgreSQL cannot even compare
/// (the query would fail, a 500 for what is only an id that does not exist). Lookups by a key
/// that came from a request answer "not found" for it instead.
fn no_row_can_hold(key: &str) -> bool {
    key.contains('\0')
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WabaRow {
    pub account_id: String,
    pub waba_id: String,
    pub business_id: Option<String>,
    pub name: String,
    pub status: String,
    pub token_sealed: Option<String>,
}

fn waba_from(row: &AnyRow) -> DbResult<WabaRow> {
    Ok(WabaRow {
        account_id: row.try_get("account_id")?,
        waba_id: row.try_get("waba_id")?,
        business_id: row.try_get("business_id")?,
        name: row.try_get("name")?,
        status: row.try_get("status")?,
        token_sealed: row.try_get("token_sealed")?,
    })
}

const WABA_COLUMNS: &str = "account_id, waba_id, business_id, name, status, token_sealed";

/// The WABA whatever account holds it (to detect one bound elsewhere).
pub async fn find_waba_anywhere(db: &AnyPool, waba_id: &str) -> DbResult<Option<WabaRow>> {
    if no_row_can_hold(waba_id) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("SELECT {WABA_COLUMNS} FROM whatsapp_wabas WHERE waba_id = $1"))
        .bind(waba_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(waba_from).transpose()
}

/// Set a bound WABA's status (only while it is `only_from`, when given). True when it changed.
pub async fn set_waba_status(db: &AnyPool, waba_id: &str, status: &str, only_from: Option<&str>) -> DbResult<bool> {
    let updated = sqlx::query(
        "UPDATE whatsapp_wabas SET status = $1, updated_at = $2 WHERE waba_id = $3 AND ($4 IS NULL OR status = $4)",
    )
    .bind(status)
    .bind(now_millis())
    .bind(waba_id)
    .bind(only_from)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() > 0)
}

pub async fn find_waba(db: &AnyPool, account_id: &str, waba_id: &str) -> DbResult<Option<WabaRow>> {
    Ok(find_waba_anywhere(db, waba_id).await?.filter(|waba| waba.account_id == account_id))
}

pub async fn list_wabas(db: &AnyPool, account_id: &str) -> DbResult<Vec<WabaRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {WABA_COLUMNS} FROM whatsapp_wabas WHERE account_id = $1 ORDER BY created_at, waba_id"
    ))
    .bind(account_id)
    .fetch_all(db)
    .await?;
    rows.iter().map(waba_from).collect()
}

/// Insert the WABA for `account_id`, or refresh its name, status and (when given) token.
/// The caller has checked it is not bound to another account; the UNIQUE column backs that up.
pub async fn save_waba(db: &AnyPool, waba: &WabaRow) -> DbResult<()> {
    let now = now_millis();
    let updated = sqlx::query(
        "UPDATE whatsapp_wabas SET name = $1, status = $2, business_id = COALESCE($3, business_id), \
         token_sealed = COALESCE($4, token_sealed), updated_at = $5 WHERE waba_id = $6 AND account_id = $7",
    )
    .bind(&waba.name)
    .bind(&waba.status)
    .bind(&waba.business_id)
    .bind(&waba.token_sealed)
    .bind(now)
    .bind(&waba.waba_id)
    .bind(&waba.account_id)
    .execute(db)
    .await?;
    if updated.rows_affected() > 0 {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO whatsapp_wabas (id, account_id, waba_id, business_id, name, status, token_sealed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new_id())
    .bind(&waba.account_id)
    .bind(&waba.waba_id)
    .bind(&waba.business_id)
    .bind(&waba.name)
    .bind(&waba.status)
    .bind(&waba.token_sealed)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete_waba(db: &AnyPool, account_id: &str, waba_id: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM whatsapp_wabas WHERE waba_id = $1 AND account_id = $2")
        .bind(waba_id)
        .bind(account_id)
        .execute(db)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRow {
    pub account_id: String,
    pub waba_id: String,
    /// From the WABA row (empty when that is missing).
    pub waba_name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub requested_verified_name: Option<String>,
    pub status: String,
    /// Why the number was disconnected (kept until the next disconnection; read with the status).
    pub disconnect_reason: Option<String>,
    pub quality_rating: String,
    pub messaging_limit: String,
    pub origin: NumberOrigin,
    pub pin_sealed: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn origin_text(origin: NumberOrigin) -> &'static str {
    match origin {
        NumberOrigin::Cloud => "cloud",
        NumberOrigin::Coexistence => "coexistence",
        NumberOrigin::Manual => "manual",
    }
}

fn origin_from(text: &str) -> NumberOrigin {
    match text {
        "cloud" => NumberOrigin::Cloud,
        "coexistence" => NumberOrigin::Coexistence,
        _ => NumberOrigin::Manual,
    }
}

const NUMBER_SELECT: &str = "SELECT n.account_id, n.waba_id, COALESCE(w.name, '') AS waba_name, n.phone_number_id, \
     n.display_phone_number, n.verified_name, n.requested_verified_name, n.status, n.disconnect_reason, n.quality_rating, n.messaging_limit, \
     n.origin, n.pin_sealed, n.created_at, n.updated_at \
     FROM whatsapp_numbers n LEFT JOIN whatsapp_wabas w ON w.waba_id = n.waba_id";

fn number_from(row: &AnyRow) -> DbResult<NumberRow> {
    let origin: String = row.try_get("origin")?;
    Ok(NumberRow {
        account_id: row.try_get("account_id")?,
        waba_id: row.try_get("waba_id")?,
        waba_name: row.try_get("waba_name")?,
        phone_number_id: row.try_get("phone_number_id")?,
        display_phone_number: row.try_get("display_phone_number")?,
        verified_name: row.try_get("verified_name")?,
        requested_verified_name: row.try_get("requested_verified_name")?,
        status: row.try_get("status")?,
        disconnect_reason: row.try_get("disconnect_reason")?,
        quality_rating: row.try_get("quality_rating")?,
        messaging_limit: row.try_get("messaging_limit")?,
        origin: origin_from(&origin),
        pin_sealed: row.try_get("pin_sealed")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The number whatever account holds it (webhooks, and detecting one bound elsewhere).
pub async fn find_number_anywhere(db: &AnyPool, phone_number_id: &str) -> DbResult<Option<NumberRow>> {
    if no_row_can_hold(phone_number_id) {
        return Ok(None);
    }
    let row = sqlx::query(&format!("{NUMBER_SELECT} WHERE n.phone_number_id = $1"))
        .bind(phone_number_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(number_from).transpose()
}

pub async fn find_number(db: &AnyPool, account_id: &str, phone_number_id: &str) -> DbResult<Option<NumberRow>> {
    Ok(find_number_anywhere(db, phone_number_id).await?.filter(|number| number.account_id == account_id))
}

/// Numbers whose display number matches (webhooks that name the number, not its id), any account.
pub async fn find_numbers_by_display_anywhere(db: &AnyPool, digits: &str) -> DbResult<Vec<NumberRow>> {
    let rows = sqlx::query(&format!("{NUMBER_SELECT} ORDER BY n.created_at")).fetch_all(db).await?;
    let numbers: DbResult<Vec<NumberRow>> = rows.iter().map(number_from).collect();
    Ok(numbers?
        .into_iter()
        .filter(|number| only_digits(&number.display_phone_number) == digits)
        .collect())
}

pub fn only_digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

pub async fn list_numbers(db: &AnyPool, account_id: &str) -> DbResult<Vec<NumberRow>> {
    let rows = sqlx::query(&format!("{NUMBER_SELECT} WHERE n.account_id = $1 ORDER BY n.created_at, n.phone_number_id"))
        .bind(account_id)
        .fetch_all(db)
        .await?;
    rows.iter().map(number_from).collect()
}

pub async fn list_numbers_of_waba_anywhere(db: &AnyPool, waba_id: &str) -> DbResult<Vec<NumberRow>> {
    if no_row_can_hold(waba_id) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(&format!("{NUMBER_SELECT} WHERE n.waba_id = $1 ORDER BY n.created_at, n.phone_number_id"))
        .bind(waba_id)
        .fetch_all(db)
        .await?;
    rows.iter().map(number_from).collect()
}

/// What a new binding stores.
#[derive(Debug, Clone)]
pub struct NewNumber {
    pub account_id: String,
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub status: String,
    pub quality_rating: String,
    pub messaging_limit: String,
    pub origin: NumberOrigin,
    pub pin_sealed: Option<String>,
}

pub async fn insert_number(db: &AnyPool, number: &NewNumber) -> DbResult<()> {
    let now = now_millis();
    sqlx::query(
        "INSERT INTO whatsapp_numbers (id, account_id, waba_id, phone_number_id, display_phone_number, verified_name, \
         status, quality_rating, messaging_limit, origin, pin_sealed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(new_id())
    .bind(&number.account_id)
    .bind(&number.waba_id)
    .bind(&number.phone_number_id)
    .bind(&number.display_phone_number)
    .bind(&number.verified_name)
    .bind(&number.status)
    .bind(&number.quality_rating)
    .bind(&number.messaging_limit)
    .bind(origin_text(number.origin))
    .bind(&number.pin_sealed)
    .bind(now)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// One column of a number changed by an event or an API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberChange {
    Status(String),
    QualityRating(String),
    MessagingLimit(String),
    VerifiedName(String),
    RequestedVerifiedName(Option<String>),
    DisplayPhoneNumber(String),
}

/// WhatsApp disconnected the number (offboarding): the status and why, in one write.
pub async fn disconnect_number(db: &AnyPool, phone_number_id: &str, reason: Option<&str>) -> DbResult<bool> {
    let updated = sqlx::query(
        "UPDATE whatsapp_numbers SET status = 'DISCONNECTED', disconnect_reason = $1, updated_at = $2 WHERE phone_number_id = $3",
    )
    .bind(reason)
    .bind(now_millis())
    .bind(phone_number_id)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() > 0)
}

pub async fn change_number(db: &AnyPool, phone_number_id: &str, change: &NumberChange) -> DbResult<bool> {
    let (column, value): (&str, Option<&str>) = match change {
        NumberChange::Status(value) => ("status", Some(value)),
        NumberChange::QualityRating(value) => ("quality_rating", Some(value)),
        NumberChange::MessagingLimit(value) => ("messaging_limit", Some(value)),
        NumberChange::VerifiedName(value) => ("verified_name", Some(value)),
        NumberChange::RequestedVerifiedName(value) => ("requested_verified_name", value.as_deref()),
        NumberChange::DisplayPhoneNumber(value) => ("display_phone_number", Some(value)),
    };
    let updated = sqlx::query(&format!(
        "UPDATE whatsapp_numbers SET {column} = $1, updated_at = $2 WHERE phone_number_id = $3"
    ))
    .bind(value)
    .bind(now_millis())
    .bind(phone_number_id)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// Set the status only while it is still `expected`: a background step decided on what it read
/// earlier, and a webhook applied since then is newer than that decision. True when it changed.
pub async fn change_status_if(db: &AnyPool, phone_number_id: &str, expected: &str, status: &str) -> DbResult<bool> {
    let updated = sqlx::query(
        "UPDATE whatsapp_numbers SET status = $1, updated_at = $2 WHERE phone_number_id = $3 AND status = $4",
    )
    .bind(status)
    .bind(now_millis())
    .bind(phone_number_id)
    .bind(expected)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// A number's provider-owned state: what webhooks and upstream read-backs both write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberState {
    pub status: String,
    pub quality_rating: String,
    pub messaging_limit: String,
}

impl NumberState {
    pub fn of(number: &NumberRow) -> NumberState {
        NumberState {
            status: number.status.clone(),
            quality_rating: number.quality_rating.clone(),
            messaging_limit: number.messaging_limit.clone(),
        }
    }
}

/// Replace the number's state with `fresh` only if it is still `read_before` (compare and set):
/// when a webhook changed it meanwhile, the webhook is newer and wins. True when it was replaced.
pub async fn replace_number_state_if(db: &AnyPool, phone_number_id: &str, read_before: &NumberState, fresh: &NumberState) -> DbResult<bool> {
    let updated = sqlx::query(
        "UPDATE whatsapp_numbers SET status = $1, quality_rating = $2, messaging_limit = $3, updated_at = $4 \
         WHERE phone_number_id = $5 AND status = $6 AND quality_rating = $7 AND messaging_limit = $8",
    )
    .bind(&fresh.status)
    .bind(&fresh.quality_rating)
    .bind(&fresh.messaging_limit)
    .bind(now_millis())
    .bind(phone_number_id)
    .bind(&read_before.status)
    .bind(&read_before.quality_rating)
    .bind(&read_before.messaging_limit)
    .execute(db)
    .await?;
    Ok(updated.rows_affected() > 0)
}

pub async fn set_number_pin(db: &AnyPool, phone_number_id: &str, pin_sealed: &str) -> DbResult<()> {
    sqlx::query("UPDATE whatsapp_numbers SET pin_sealed = $1 WHERE phone_number_id = $2")
        .bind(pin_sealed)
        .bind(phone_number_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Unbind a number: the row, its sync progress and shared contacts (registration attempts stay).
pub async fn delete_number(db: &AnyPool, account_id: &str, phone_number_id: &str) -> DbResult<bool> {
    let mut transaction = db.begin().await?;
    let deleted = sqlx::query("DELETE FROM whatsapp_numbers WHERE phone_number_id = $1 AND account_id = $2")
        .bind(phone_number_id)
        .bind(account_id)
        .execute(&mut *transaction)
        .await?;
    if deleted.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM whatsapp_sync_progress WHERE phone_number_id = $1")
        .bind(phone_number_id)
        .execute(&mut *transaction)
        .await?;
    sqlx::query("DELETE FROM whatsapp_sync_contacts WHERE phone_number_id = $1")
        .bind(phone_number_id)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(true)
}

pub async fn record_registration_attempt(db: &AnyPool, phone_number_id: &str, at: i64) -> DbResult<()> {
    sqlx::query("INSERT INTO whatsapp_registration_attempts (id, phone_number_id, attempted_at) VALUES ($1, $2, $3)")
        .bind(new_id())
        .bind(phone_number_id)
        .bind(at)
        .execute(db)
        .await?;
    Ok(())
}

/// When each attempt since `since` was made, oldest first.
pub async fn registration_attempts_since(db: &AnyPool, phone_number_id: &str, since: i64) -> DbResult<Vec<i64>> {
    if no_row_can_hold(phone_number_id) {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT attempted_at FROM whatsapp_registration_attempts WHERE phone_number_id = $1 AND attempted_at > $2 \
         ORDER BY attempted_at",
    )
    .bind(phone_number_id)
    .bind(since)
    .fetch_all(db)
    .await?;
    rows.iter().map(|row| row.try_get::<i64, _>("attempted_at")).collect()
}

pub fn sync_state_text(state: SyncState) -> &'static str {
    match state {
        SyncState::NotRequested => "NOT_REQUESTED",
        SyncState::Requested => "REQUESTED",
        SyncState::InProgress => "IN_PROGRESS",
        SyncState::Completed => "COMPLETED",
        SyncState::Declined => "DECLINED",
        SyncState::Failed => "FAILED",
    }
}

fn sync_state_from(text: &str) -> SyncState {
    match text {
        "REQUESTED" => SyncState::Requested,
        "IN_PROGRESS" => SyncState::InProgress,
        "COMPLETED" => SyncState::Completed,
        "DECLINED" => SyncState::Declined,
        "FAILED" => SyncState::Failed,
        _ => SyncState::NotRequested,
    }
}

/// Create the number's sync row if it has none (coexistence numbers).
pub async fn ensure_sync_row(db: &AnyPool, phone_number_id: &str) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO whatsapp_sync_progress (phone_number_id, contacts_state, history_state, history_phase, \
         history_progress, history_messages, updated_at) VALUES ($1, 'NOT_REQUESTED', 'NOT_REQUESTED', -1, 0, 0, $2) \
         ON CONFLICT (phone_number_id) DO NOTHING",
    )
    .bind(phone_number_id)
    .bind(now_millis())
    .execute(db)
    .await?;
    Ok(())
}

pub async fn sync_progress(db: &AnyPool, phone_number_id: &str) -> DbResult<Option<SyncProgress>> {
    if no_row_can_hold(phone_number_id) {
        return Ok(None);
    }
    let Some(row) = sqlx::query(
        "SELECT contacts_state, history_state, history_phase, history_progress, history_messages \
         FROM whatsapp_sync_progress WHERE phone_number_id = $1",
    )
    .bind(phone_number_id)
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    let contacts_imported = sqlx::query("SELECT COUNT(*) AS total FROM whatsapp_sync_contacts WHERE phone_number_id = $1")
        .bind(phone_number_id)
        .fetch_one(db)
        .await?
        .try_get::<i64, _>("total")?;
    let phase: i64 = row.try_get("history_phase")?;
    let progress: i64 = row.try_get("history_progress")?;
    let messages: i64 = row.try_get("history_messages")?;
    Ok(Some(SyncProgress {
        contacts: sync_state_from(&row.try_get::<String, _>("contacts_state")?),
        contacts_imported: u64::try_from(contacts_imported).unwrap_or(0),
        history: sync_state_from(&row.try_get::<String, _>("history_state")?),
        history_phase: u8::try_from(phase).ok(),
        history_progress: u8::try_from(progress.clamp(0, 100)).unwrap_or(0),
        history_messages_imported: u64::try_from(messages).unwrap_or(0),
    }))
}

/// Which half of the sync a state change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPart {
    Contacts,
    History,
}

/// Set a part's state. `only_from` limits it to rows in one of those states (a finished sync is
/// not reopened by a late delivery).
pub async fn set_sync_state(db: &AnyPool, phone_number_id: &str, part: SyncPart, state: SyncState, only_from: &[SyncState]) -> DbResult<()> {
    ensure_sync_row(db, phone_number_id).await?;
    let column = match part {
        SyncPart::Contacts => "contacts_state",
        SyncPart::History => "history_state",
    };
    let requested_column = match part {
        SyncPart::Contacts => "contacts_requested_at",
        SyncPart::History => "history_requested_at",
    };
    let now = now_millis();
    let requested_at = (state == SyncState::Requested).then_some(now);
    let mut sql = format!(
        "UPDATE whatsapp_sync_progress SET {column} = $1, {requested_column} = COALESCE($2, {requested_column}), \
         updated_at = $3 WHERE phone_number_id = $4"
    );
    if !only_from.is_empty() {
        // The states are our own constants, never user input.
        let allowed: Vec<String> = only_from.iter().map(|allowed| format!("'{}'", sync_state_text(*allowed))).collect();
        sql.push_str(&format!(" AND {column} IN ({})", allowed.join(", ")));
    }
    sqlx::query(&sql)
        .bind(sync_state_text(state))
        .bind(requested_at)
        .bind(now)
        .bind(phone_number_id)
        .execute(db)
        .await?;
    Ok(())
}

/// A history chunk arrived: the phase and progress only move forward; messages add up.
pub async fn record_history_chunk(db: &AnyPool, phone_number_id: &str, phase: i64, progress: i64, messages: i64) -> DbResult<()> {
    ensure_sync_row(db, phone_number_id).await?;
    let row = sqlx::query("SELECT history_state, history_phase, history_progress FROM whatsapp_sync_progress WHERE phone_number_id = $1")
        .bind(phone_number_id)
        .fetch_one(db)
        .await?;
    let state = sync_state_from(&row.try_get::<String, _>("history_state")?);
    let old_phase: i64 = row.try_get("history_phase")?;
    let old_progress: i64 = row.try_get("history_progress")?;
    let (new_phase, new_progress) = if (phase, progress) > (old_phase, old_progress) {
        (phase, progress.clamp(0, 100))
    } else {
        (old_phase, old_progress)
    };
    let finished = new_phase >= 2 && new_progress >= 100;
    let new_state = match state {
        SyncState::Declined | SyncState::Completed => state,
        _ if finished => SyncState::Completed,
        _ => SyncState::InProgress,
    };
    sqlx::query(
        "UPDATE whatsapp_sync_progress SET history_state = $1, history_phase = $2, history_progress = $3, \
         history_messages = history_messages + $4, updated_at = $5 WHERE phone_number_id = $6",
    )
    .bind(sync_state_text(new_state))
    .bind(new_phase)
    .bind(new_progress)
    .bind(messages)
    .bind(now_millis())
    .bind(phone_number_id)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn upsert_sync_contact(db: &AnyPool, phone_number_id: &str, contact_phone: &str, full_name: &str) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO whatsapp_sync_contacts (phone_number_id, contact_phone, full_name, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (phone_number_id, contact_phone) DO UPDATE SET full_name = $3, updated_at = $4",
    )
    .bind(phone_number_id)
    .bind(contact_phone)
    .bind(full_name)
    .bind(now_millis())
    .execute(db)
    .await?;
    Ok(())
}

pub async fn remove_sync_contact(db: &AnyPool, phone_number_id: &str, contact_phone: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM whatsapp_sync_contacts WHERE phone_number_id = $1 AND contact_phone = $2")
        .bind(phone_number_id)
        .bind(contact_phone)
        .execute(db)
        .await?;
    Ok(())
}

/// When a delivery was received: unix milliseconds, but strictly increasing within the process, so
/// two deliveries in the same millisecond still sort in the order they arrived.
fn next_received_at() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_millis();
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last + 1)))
        .unwrap_or_else(|last| last);
    now.max(previous + 1)
}

/// Store a raw webhook delivery; returns its id.
pub async fn store_webhook_event(db: &AnyPool, provider: &str, body: &str, body_sha256: &str) -> DbResult<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO webhook_events (id, provider, received_at, body, body_sha256, state) VALUES ($1, $2, $3, $4, $5, 'pending')",
    )
    .bind(&id)
    .bind(provider)
    .bind(next_received_at())
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

/// The account's verify token, made on first use.
pub async fn webhook_verify_token(db: &AnyPool, account_id: &str) -> DbResult<String> {
    let existing = sqlx::query("SELECT verify_token FROM whatsapp_webhook_settings WHERE account_id = $1")
        .bind(account_id)
        .fetch_optional(db)
        .await?;
    if let Some(row) = existing {
        return row.try_get("verify_token");
    }
    let token = format!("wadesk-{}", new_id());
    sqlx::query(
        "INSERT INTO whatsapp_webhook_settings (account_id, verify_token, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(&token)
    .bind(now_millis())
    .execute(db)
    .await?;
    // Two first requests at once: whichever insert won is the token.
    let row = sqlx::query("SELECT verify_token FROM whatsapp_webhook_settings WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(db)
        .await?;
    row.try_get("verify_token")
}

/// Whether some account issued this verify token.
pub async fn verify_token_exists(db: &AnyPool, token: &str) -> DbResult<bool> {
    if no_row_can_hold(token) {
        return Ok(false);
    }
    let row = sqlx::query("SELECT COUNT(*) AS matches FROM whatsapp_webhook_settings WHERE verify_token = $1")
        .bind(token)
        .fetch_one(db)
        .await?;
    Ok(row.try_get::<i64, _>("matches")? > 0)
}
