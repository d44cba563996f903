//! SQL for an account's WABAs, numbers, registration attempts, coexistence sync progress and
//! webhook settings, the same SQL for SQLite and PostgreSQL.
//!
//! Tenant walls by construction: an account's rows are reached only through a [`TenantDb`], whose
//! every query binds its `account_id`. The only functions that start from a provider's id without
//! an account are the `owner_of_*` lookups, which answer which account holds an id and nothing
//! more: webhooks resolve the owner first and then work through that account's `TenantDb`, and
//! onboarding uses them to refuse what another account holds.

use api_types::validation::only_digits;
use api_types::{MessagingLimit, NumberOrigin, NumberStatus, QualityRating, SyncProgress, SyncState, WabaStatus};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::db::{new_id, now_millis};

pub type DbResult<T> = Result<T, sqlx::Error>;

/// True for a key no stored row can have: text holding NUL, which PostgreSQL cannot even compare
/// (the query would fail, a 500 for what is only an id that does not exist). Lookups by a key
/// that came from a request answer "not found" for it instead.
fn no_row_can_hold(key: &str) -> bool {
    key.contains('\0')
}

/// Which account holds this WABA, if any.
pub async fn owner_of_waba(db: &AnyPool, waba_id: &str) -> DbResult<Option<String>> {
    if no_row_can_hold(waba_id) {
        return Ok(None);
    }
    let row = sqlx::query("SELECT account_id FROM whatsapp_wabas WHERE waba_id = $1").bind(waba_id).fetch_optional(db).await?;
    row.map(|row| row.try_get("account_id")).transpose()
}

/// Who holds a number: the account, and the WABA it was bound through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberOwner {
    pub account_id: String,
    pub waba_id: String,
}

/// Which account holds this phone number id (Meta issues it; one account holds it), if any.
pub async fn owner_of_number(db: &AnyPool, phone_number_id: &str) -> DbResult<Option<NumberOwner>> {
    if no_row_can_hold(phone_number_id) {
        return Ok(None);
    }
    let row = sqlx::query("SELECT account_id, waba_id FROM whatsapp_numbers WHERE phone_number_id = $1")
        .bind(phone_number_id)
        .fetch_optional(db)
        .await?;
    row.map(|row| Ok(NumberOwner { account_id: row.try_get("account_id")?, waba_id: row.try_get("waba_id")? })).transpose()
}

/// Which number holds this display number (by its digits), and in which account, if any.
pub async fn holder_of_display_number(db: &AnyPool, display_phone_number: &str) -> DbResult<Option<(NumberOwner, String)>> {
    let digits = only_digits(display_phone_number);
    if digits.is_empty() {
        return Ok(None);
    }
    let row = sqlx::query("SELECT account_id, waba_id, phone_number_id FROM whatsapp_numbers WHERE display_digits = $1")
        .bind(&digits)
        .fetch_optional(db)
        .await?;
    row.map(|row| {
        Ok((
            NumberOwner { account_id: row.try_get("account_id")?, waba_id: row.try_get("waba_id")? },
            row.try_get("phone_number_id")?,
        ))
    })
    .transpose()
}

/// Whether some account issued this verify token (Meta's subscription handshake names no account).
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WabaRow {
    pub waba_id: String,
    pub business_id: Option<String>,
    pub name: String,
    pub status: WabaStatus,
    pub token_sealed: Option<String>,
}

fn waba_from(row: &AnyRow) -> DbResult<WabaRow> {
    Ok(WabaRow {
        waba_id: row.try_get("waba_id")?,
        business_id: row.try_get("business_id")?,
        name: row.try_get("name")?,
        status: WabaStatus::parse(&row.try_get::<String, _>("status")?),
        token_sealed: row.try_get("token_sealed")?,
    })
}

const WABA_COLUMNS: &str = "waba_id, business_id, name, status, token_sealed";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRow {
    pub waba_id: String,
    /// From the WABA row (empty when that is missing).
    pub waba_name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub requested_verified_name: Option<String>,
    pub status: NumberStatus,
    /// Why the number was disconnected (kept until the next disconnection; read with the status).
    pub disconnect_reason: Option<String>,
    pub quality_rating: QualityRating,
    pub messaging_limit: MessagingLimit,
    pub origin: NumberOrigin,
    pub pin_sealed: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const NUMBER_SELECT: &str = "SELECT n.waba_id, COALESCE(w.name, '') AS waba_name, n.phone_number_id, \
     n.display_phone_number, n.verified_name, n.requested_verified_name, n.status, n.disconnect_reason, n.quality_rating, \
     n.messaging_limit, n.origin, n.pin_sealed, n.created_at, n.updated_at \
     FROM whatsapp_numbers n LEFT JOIN whatsapp_wabas w ON w.waba_id = n.waba_id AND w.account_id = n.account_id";

fn number_from(row: &AnyRow) -> DbResult<NumberRow> {
    Ok(NumberRow {
        waba_id: row.try_get("waba_id")?,
        waba_name: row.try_get("waba_name")?,
        phone_number_id: row.try_get("phone_number_id")?,
        display_phone_number: row.try_get("display_phone_number")?,
        verified_name: row.try_get("verified_name")?,
        requested_verified_name: row.try_get("requested_verified_name")?,
        status: NumberStatus::parse(&row.try_get::<String, _>("status")?),
        disconnect_reason: row.try_get("disconnect_reason")?,
        quality_rating: QualityRating::parse(&row.try_get::<String, _>("quality_rating")?),
        messaging_limit: MessagingLimit::parse(&row.try_get::<String, _>("messaging_limit")?),
        origin: NumberOrigin::parse(&row.try_get::<String, _>("origin")?),
        pin_sealed: row.try_get("pin_sealed")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// What a new binding stores.
#[derive(Debug, Clone)]
pub struct NewNumber {
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub status: NumberStatus,
    pub quality_rating: QualityRating,
    pub messaging_limit: MessagingLimit,
    pub origin: NumberOrigin,
    pub pin_sealed: Option<String>,
}

/// One column of a number changed by an event or an API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberChange {
    Status(NumberStatus),
    QualityRating(QualityRating),
    MessagingLimit(MessagingLimit),
    VerifiedName(String),
    RequestedVerifiedName(Option<String>),
}

/// A number's provider-owned state: what webhooks and upstream read-backs both write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberState {
    pub status: NumberStatus,
    pub quality_rating: QualityRating,
    pub messaging_limit: MessagingLimit,
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

/// Which half of the sync a state change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPart {
    Contacts,
    History,
}

/// One account's view of the database: every query binds [`TenantDb::account_id`], so no code
/// path that holds one can read or change another account's rows.
#[derive(Clone)]
pub struct TenantDb {
    pool: AnyPool,
    account_id: String,
}

impl std::fmt::Debug for TenantDb {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TenantDb").field("account_id", &self.account_id).finish_non_exhaustive()
    }
}

impl TenantDb {
    pub fn new(pool: &AnyPool, account_id: &str) -> TenantDb {
        TenantDb { pool: pool.clone(), account_id: account_id.to_owned() }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    // --- WABAs ---

    pub async fn find_waba(&self, waba_id: &str) -> DbResult<Option<WabaRow>> {
        if no_row_can_hold(waba_id) {
            return Ok(None);
        }
        let row = sqlx::query(&format!("SELECT {WABA_COLUMNS} FROM whatsapp_wabas WHERE waba_id = $1 AND account_id = $2"))
            .bind(waba_id)
            .bind(&self.account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(waba_from).transpose()
    }

    pub async fn list_wabas(&self) -> DbResult<Vec<WabaRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {WABA_COLUMNS} FROM whatsapp_wabas WHERE account_id = $1 ORDER BY created_at, waba_id"
        ))
        .bind(&self.account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(waba_from).collect()
    }

    /// Insert the WABA, or refresh its name, status and (when given) token. The caller has checked
    /// it is not bound to another account; the UNIQUE column backs that up (a race gives a
    /// unique violation, never another account's row changed).
    pub async fn save_waba(&self, waba: &WabaRow) -> DbResult<()> {
        let now = now_millis();
        let updated = sqlx::query(
            "UPDATE whatsapp_wabas SET name = $1, status = $2, business_id = COALESCE($3, business_id), \
             token_sealed = COALESCE($4, token_sealed), updated_at = $5 WHERE waba_id = $6 AND account_id = $7",
        )
        .bind(&waba.name)
        .bind(waba.status.as_str())
        .bind(&waba.business_id)
        .bind(&waba.token_sealed)
        .bind(now)
        .bind(&waba.waba_id)
        .bind(&self.account_id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() > 0 {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO whatsapp_wabas (id, account_id, waba_id, business_id, name, status, token_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_id())
        .bind(&self.account_id)
        .bind(&waba.waba_id)
        .bind(&waba.business_id)
        .bind(&waba.name)
        .bind(waba.status.as_str())
        .bind(&waba.token_sealed)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Set a WABA's status (only while it is `only_from`, when given). True when it changed.
    pub async fn set_waba_status(&self, waba_id: &str, status: &WabaStatus, only_from: Option<&WabaStatus>) -> DbResult<bool> {
        let updated = sqlx::query(
            "UPDATE whatsapp_wabas SET status = $1, updated_at = $2 WHERE waba_id = $3 AND account_id = $4 \
             AND ($5 IS NULL OR status = $5)",
        )
        .bind(status.as_str())
        .bind(now_millis())
        .bind(waba_id)
        .bind(&self.account_id)
        .bind(only_from.map(WabaStatus::as_str))
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    pub async fn delete_waba(&self, waba_id: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM whatsapp_wabas WHERE waba_id = $1 AND account_id = $2")
            .bind(waba_id)
            .bind(&self.account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // --- Numbers ---

    pub async fn find_number(&self, phone_number_id: &str) -> DbResult<Option<NumberRow>> {
        if no_row_can_hold(phone_number_id) {
            return Ok(None);
        }
        let row = sqlx::query(&format!("{NUMBER_SELECT} WHERE n.phone_number_id = $1 AND n.account_id = $2"))
            .bind(phone_number_id)
            .bind(&self.account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(number_from).transpose()
    }

    pub async fn list_numbers(&self) -> DbResult<Vec<NumberRow>> {
        let rows = sqlx::query(&format!("{NUMBER_SELECT} WHERE n.account_id = $1 ORDER BY n.created_at, n.phone_number_id"))
            .bind(&self.account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(number_from).collect()
    }

    pub async fn list_numbers_of_waba(&self, waba_id: &str) -> DbResult<Vec<NumberRow>> {
        if no_row_can_hold(waba_id) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "{NUMBER_SELECT} WHERE n.waba_id = $1 AND n.account_id = $2 ORDER BY n.created_at, n.phone_number_id"
        ))
        .bind(waba_id)
        .bind(&self.account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(number_from).collect()
    }

    /// The numbers of one of this account's WABAs whose display number has these digits (webhooks
    /// that name a number only by its display number).
    pub async fn find_numbers_by_display(&self, waba_id: &str, digits: &str) -> DbResult<Vec<NumberRow>> {
        if digits.is_empty() || no_row_can_hold(digits) || no_row_can_hold(waba_id) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(&format!(
            "{NUMBER_SELECT} WHERE n.display_digits = $1 AND n.waba_id = $2 AND n.account_id = $3 ORDER BY n.created_at"
        ))
        .bind(digits)
        .bind(waba_id)
        .bind(&self.account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(number_from).collect()
    }

    pub async fn insert_number(&self, number: &NewNumber) -> DbResult<()> {
        let now = now_millis();
        sqlx::query(
            "INSERT INTO whatsapp_numbers (id, account_id, waba_id, phone_number_id, display_phone_number, display_digits, \
             verified_name, status, quality_rating, messaging_limit, origin, pin_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(new_id())
        .bind(&self.account_id)
        .bind(&number.waba_id)
        .bind(&number.phone_number_id)
        .bind(&number.display_phone_number)
        .bind(only_digits(&number.display_phone_number))
        .bind(&number.verified_name)
        .bind(number.status.as_str())
        .bind(number.quality_rating.as_str())
        .bind(number.messaging_limit.as_str())
        .bind(number.origin.as_str())
        .bind(&number.pin_sealed)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// WhatsApp disconnected the number (offboarding): the status and why, in one write.
    pub async fn disconnect_number(&self, phone_number_id: &str, reason: Option<&str>) -> DbResult<bool> {
        let updated = sqlx::query(
            "UPDATE whatsapp_numbers SET status = $1, disconnect_reason = $2, updated_at = $3 \
             WHERE phone_number_id = $4 AND account_id = $5",
        )
        .bind(NumberStatus::Disconnected.as_str())
        .bind(reason)
        .bind(now_millis())
        .bind(phone_number_id)
        .bind(&self.account_id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    pub async fn change_number(&self, phone_number_id: &str, change: &NumberChange) -> DbResult<bool> {
        let (column, value): (&str, Option<&str>) = match change {
            NumberChange::Status(value) => ("status", Some(value.as_str())),
            NumberChange::QualityRating(value) => ("quality_rating", Some(value.as_str())),
            NumberChange::MessagingLimit(value) => ("messaging_limit", Some(value.as_str())),
            NumberChange::VerifiedName(value) => ("verified_name", Some(value)),
            NumberChange::RequestedVerifiedName(value) => ("requested_verified_name", value.as_deref()),
        };
        let updated = sqlx::query(&format!(
            "UPDATE whatsapp_numbers SET {column} = $1, updated_at = $2 WHERE phone_number_id = $3 AND account_id = $4"
        ))
        .bind(value)
        .bind(now_millis())
        .bind(phone_number_id)
        .bind(&self.account_id)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// Set the status only while it is still `expected`: a background step decided on what it read
    /// earlier, and a webhook applied since then is newer than that decision. True when it changed.
    pub async fn change_status_if(&self, phone_number_id: &str, expected: &NumberStatus, status: &NumberStatus) -> DbResult<bool> {
        let updated = sqlx::query(
            "UPDATE whatsapp_numbers SET status = $1, updated_at = $2 WHERE phone_number_id = $3 AND account_id = $4 AND status = $5",
        )
        .bind(status.as_str())
        .bind(now_millis())
        .bind(phone_number_id)
        .bind(&self.account_id)
        .bind(expected.as_str())
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// Replace the number's state with `fresh` only if it is still `read_before` (compare and set):
    /// when a webhook changed it meanwhile, the webhook is newer and wins. True when it was replaced.
    pub async fn replace_number_state_if(&self, phone_number_id: &str, read_before: &NumberState, fresh: &NumberState) -> DbResult<bool> {
        let updated = sqlx::query(
            "UPDATE whatsapp_numbers SET status = $1, quality_rating = $2, messaging_limit = $3, updated_at = $4 \
             WHERE phone_number_id = $5 AND account_id = $6 AND status = $7 AND quality_rating = $8 AND messaging_limit = $9",
        )
        .bind(fresh.status.as_str())
        .bind(fresh.quality_rating.as_str())
        .bind(fresh.messaging_limit.as_str())
        .bind(now_millis())
        .bind(phone_number_id)
        .bind(&self.account_id)
        .bind(read_before.status.as_str())
        .bind(read_before.quality_rating.as_str())
        .bind(read_before.messaging_limit.as_str())
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    pub async fn set_number_pin(&self, phone_number_id: &str, pin_sealed: &str) -> DbResult<()> {
        sqlx::query("UPDATE whatsapp_numbers SET pin_sealed = $1 WHERE phone_number_id = $2 AND account_id = $3")
            .bind(pin_sealed)
            .bind(phone_number_id)
            .bind(&self.account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Unbind a number: the row, its sync progress and shared contacts (registration attempts stay).
    pub async fn delete_number(&self, phone_number_id: &str) -> DbResult<bool> {
        let mut transaction = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM whatsapp_numbers WHERE phone_number_id = $1 AND account_id = $2")
            .bind(phone_number_id)
            .bind(&self.account_id)
            .execute(&mut *transaction)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        for table in ["whatsapp_sync_progress", "whatsapp_sync_contacts"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE phone_number_id = $1 AND account_id = $2"))
                .bind(phone_number_id)
                .bind(&self.account_id)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    // --- Registration attempts ---

    /// When each of this account's registration attempts for the number since `since` was made, oldest first.
    pub async fn registration_attempts_since(&self, phone_number_id: &str, since: i64) -> DbResult<Vec<i64>> {
        if no_row_can_hold(phone_number_id) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT attempted_at FROM whatsapp_registration_attempts WHERE account_id = $1 AND phone_number_id = $2 \
             AND attempted_at > $3 ORDER BY attempted_at",
        )
        .bind(&self.account_id)
        .bind(phone_number_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.try_get::<i64, _>("attempted_at")).collect()
    }

    /// Count a registration attempt unless `allowed` (given the attempts in the window since
    /// `since`, oldest first) says no: in one transaction that first writes the number's row,
    /// which takes its row lock (PostgreSQL) or the database's write lock (SQLite), so concurrent
    /// attempts for one number queue here and each counts the ones before it. Returns the attempts
    /// that were in the window and whether this one was recorded.
    pub async fn take_registration_attempt(
        &self,
        phone_number_id: &str,
        since: i64,
        now: i64,
        allowed: impl FnOnce(&[i64]) -> bool,
    ) -> DbResult<(Vec<i64>, bool)> {
        let mut transaction = self.pool.begin().await?;
        sqlx::query("UPDATE whatsapp_numbers SET updated_at = updated_at WHERE phone_number_id = $1 AND account_id = $2")
            .bind(phone_number_id)
            .bind(&self.account_id)
            .execute(&mut *transaction)
            .await?;
        let rows = sqlx::query(
            "SELECT attempted_at FROM whatsapp_registration_attempts WHERE account_id = $1 AND phone_number_id = $2 \
             AND attempted_at > $3 ORDER BY attempted_at",
        )
        .bind(&self.account_id)
        .bind(phone_number_id)
        .bind(since)
        .fetch_all(&mut *transaction)
        .await?;
        let attempts: Vec<i64> = rows.iter().map(|row| row.try_get::<i64, _>("attempted_at")).collect::<DbResult<_>>()?;
        if !allowed(&attempts) {
            transaction.rollback().await?;
            return Ok((attempts, false));
        }
        sqlx::query(
            "INSERT INTO whatsapp_registration_attempts (id, account_id, phone_number_id, attempted_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(new_id())
        .bind(&self.account_id)
        .bind(phone_number_id)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok((attempts, true))
    }

    // --- Coexistence sync ---

    /// Create the number's sync row if it has none (coexistence numbers).
    pub async fn ensure_sync_row(&self, phone_number_id: &str) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO whatsapp_sync_progress (phone_number_id, account_id, contacts_state, history_state, history_phase, \
             history_progress, history_messages, updated_at) VALUES ($1, $2, $3, $3, -1, 0, 0, $4) \
             ON CONFLICT (phone_number_id) DO NOTHING",
        )
        .bind(phone_number_id)
        .bind(&self.account_id)
        .bind(SyncState::NotRequested.as_str())
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn sync_progress(&self, phone_number_id: &str) -> DbResult<Option<SyncProgress>> {
        if no_row_can_hold(phone_number_id) {
            return Ok(None);
        }
        let Some(row) = sqlx::query(
            "SELECT contacts_state, history_state, history_phase, history_progress, history_messages \
             FROM whatsapp_sync_progress WHERE phone_number_id = $1 AND account_id = $2",
        )
        .bind(phone_number_id)
        .bind(&self.account_id)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let contacts_imported = sqlx::query(
            "SELECT COUNT(*) AS total FROM whatsapp_sync_contacts WHERE phone_number_id = $1 AND account_id = $2",
        )
        .bind(phone_number_id)
        .bind(&self.account_id)
        .fetch_one(&self.pool)
        .await?
        .try_get::<i64, _>("total")?;
        let phase: i64 = row.try_get("history_phase")?;
        let progress: i64 = row.try_get("history_progress")?;
        let messages: i64 = row.try_get("history_messages")?;
        Ok(Some(SyncProgress {
            contacts: SyncState::parse(&row.try_get::<String, _>("contacts_state")?),
            contacts_imported: u64::try_from(contacts_imported).unwrap_or(0),
            history: SyncState::parse(&row.try_get::<String, _>("history_state")?),
            history_phase: u8::try_from(phase).ok(),
            history_progress: u8::try_from(progress.clamp(0, 100)).unwrap_or(0),
            history_messages_imported: u64::try_from(messages).unwrap_or(0),
        }))
    }

    /// Set a part's state. `only_from` limits it to rows in one of those states (a finished sync is
    /// not reopened by a late delivery).
    pub async fn set_sync_state(&self, phone_number_id: &str, part: SyncPart, state: SyncState, only_from: &[SyncState]) -> DbResult<()> {
        self.ensure_sync_row(phone_number_id).await?;
        let (column, requested_column) = match part {
            SyncPart::Contacts => ("contacts_state", "contacts_requested_at"),
            SyncPart::History => ("history_state", "history_requested_at"),
        };
        let now = now_millis();
        let requested_at = (state == SyncState::Requested).then_some(now);
        let mut sql = format!(
            "UPDATE whatsapp_sync_progress SET {column} = $1, {requested_column} = COALESCE($2, {requested_column}), \
             updated_at = $3 WHERE phone_number_id = $4 AND account_id = $5"
        );
        // The states are bound as parameters $6, $7, ... (never spliced into the SQL).
        if !only_from.is_empty() {
            let placeholders: Vec<String> = (0..only_from.len()).map(|index| format!("${}", index + 6)).collect();
            sql.push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
        }
        let mut query = sqlx::query(&sql)
            .bind(state.as_str().to_owned())
            .bind(requested_at)
            .bind(now)
            .bind(phone_number_id)
            .bind(&self.account_id);
        for allowed in only_from {
            query = query.bind(allowed.as_str().to_owned());
        }
        query.execute(&self.pool).await?;
        Ok(())
    }

    /// A history chunk arrived: the phase and progress only move forward; messages add up.
    pub async fn record_history_chunk(&self, phone_number_id: &str, phase: i64, progress: i64, messages: i64) -> DbResult<()> {
        self.ensure_sync_row(phone_number_id).await?;
        let row = sqlx::query(
            "SELECT history_state, history_phase, history_progress FROM whatsapp_sync_progress \
             WHERE phone_number_id = $1 AND account_id = $2",
        )
        .bind(phone_number_id)
        .bind(&self.account_id)
        .fetch_one(&self.pool)
        .await?;
        let state = SyncState::parse(&row.try_get::<String, _>("history_state")?);
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
             history_messages = history_messages + $4, updated_at = $5 WHERE phone_number_id = $6 AND account_id = $7",
        )
        .bind(new_state.as_str().to_owned())
        .bind(new_phase)
        .bind(new_progress)
        .bind(messages)
        .bind(now_millis())
        .bind(phone_number_id)
        .bind(&self.account_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn upsert_sync_contact(&self, phone_number_id: &str, contact_phone: &str, full_name: &str) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO whatsapp_sync_contacts (phone_number_id, account_id, contact_phone, full_name, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (phone_number_id, contact_phone) DO UPDATE SET full_name = $4, updated_at = $5",
        )
        .bind(phone_number_id)
        .bind(&self.account_id)
        .bind(contact_phone)
        .bind(full_name)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove_sync_contact(&self, phone_number_id: &str, contact_phone: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM whatsapp_sync_contacts WHERE phone_number_id = $1 AND contact_phone = $2 AND account_id = $3")
            .bind(phone_number_id)
            .bind(contact_phone)
            .bind(&self.account_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // --- Webhook settings ---

    /// The account's verify token, made on first use.
    pub async fn webhook_verify_token(&self) -> DbResult<String> {
        let read = || {
            sqlx::query("SELECT verify_token FROM whatsapp_webhook_settings WHERE account_id = $1").bind(&self.account_id)
        };
        if let Some(row) = read().fetch_optional(&self.pool).await? {
            return row.try_get("verify_token");
        }
        let token = format!("wadesk-{}", new_id());
        sqlx::query(
            "INSERT INTO whatsapp_webhook_settings (account_id, verify_token, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(&self.account_id)
        .bind(&token)
        .bind(now_millis())
        .execute(&self.pool)
        .await?;
        // Two first requests at once: whichever insert won is the token.
        read().fetch_one(&self.pool).await?.try_get("verify_token")
    }
}
