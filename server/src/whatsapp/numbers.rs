//! The numbers of an account: what the Numbers page shows, the registration limit, retrying a
//! registration, removal and display name changes. Handlers in `routes.rs` call these.

use api_types::{ErrorCode, ErrorDetails, NumberDetails, NumberOrigin, PhoneInfo, RegistrationAllowance, RemovedNumber, SyncProgress, SyncState};
use rand::Rng;
use sqlx::{AnyConnection, AnyPool, Row};

use super::sandbox::simulator;
use super::secrets::SecretBox;
use super::store::{self, NumberChange, NumberRow, WabaRow};
use super::upstream::BusinessToken;
use crate::auth::CurrentUser;
use crate::db::now_millis;
use crate::error::ApiError;
use crate::state::AppState;

/// Meta allows 10 register requests per number in 72 hours.
pub const REGISTRATION_LIMIT: u32 = 10;
pub const REGISTRATION_WINDOW_MS: i64 = 72 * 60 * 60 * 1000;

pub fn is_sandbox(state: &AppState) -> bool {
    state.upstream.as_sandbox().is_some()
}

pub fn secrets(state: &AppState) -> SecretBox {
    SecretBox::from_settings(&state.settings)
}

/// The business token stored with a WABA, when there is one and it opens.
pub fn token_of(state: &AppState, waba: Option<&WabaRow>) -> Option<BusinessToken> {
    let sealed = waba?.token_sealed.as_deref()?;
    let opened = secrets(state).open(sealed);
    if opened.is_none() {
        tracing::warn!("a stored upstream token does not open with the current secret key");
    }
    opened.map(BusinessToken)
}

pub async fn allowance(db: &AnyPool, phone_number_id: &str, now: i64) -> Result<RegistrationAllowance, sqlx::Error> {
    let attempts = store::registration_attempts_since(db, phone_number_id, now - REGISTRATION_WINDOW_MS).await?;
    Ok(allowance_of(&attempts))
}

/// The allowance given the attempts in the window, oldest first.
fn allowance_of(attempts: &[i64]) -> RegistrationAllowance {
    let count = u32::try_from(attempts.len()).unwrap_or(u32::MAX);
    // With the window full, the next attempt is allowed when the oldest of the last ten leaves it.
    let next_attempt_at = (count >= REGISTRATION_LIMIT)
        .then(|| attempts.get(attempts.len() - REGISTRATION_LIMIT as usize))
        .flatten()
        .map(|oldest| oldest + REGISTRATION_WINDOW_MS);
    RegistrationAllowance { attempts_in_window: count, limit: REGISTRATION_LIMIT, next_attempt_at }
}

/// The attempts since `since`, oldest first, read inside the caller's transaction.
async fn attempts_since_in(connection: &mut AnyConnection, phone_number_id: &str, since: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT attempted_at FROM whatsapp_registration_attempts WHERE phone_number_id = $1 AND attempted_at > $2 \
         ORDER BY attempted_at",
    )
    .bind(phone_number_id)
    .bind(since)
    .fetch_all(&mut *connection)
    .await?;
    rows.iter().map(|row| row.try_get::<i64, _>("attempted_at")).collect()
}

/// Count a registration attempt, or refuse with 429 when the window is full.
///
/// Counting and recording happen in one transaction that first writes the number's row: that
/// takes its row lock (PostgreSQL) or the database's write lock (SQLite), so concurrent attempts
/// for one number queue here and each counts the ones before it. Without it, ten requests sent at
/// once could all read "9 attempts" and all go through.
pub async fn take_registration_attempt(db: &AnyPool, phone_number_id: &str) -> Result<(), ApiError> {
    let mut transaction = db.begin().await?;
    sqlx::query("UPDATE whatsapp_numbers SET updated_at = updated_at WHERE phone_number_id = $1")
        .bind(phone_number_id)
        .execute(&mut *transaction)
        .await?;
    let now = now_millis();
    let attempts = attempts_since_in(&mut transaction, phone_number_id, now - REGISTRATION_WINDOW_MS).await?;
    let allowance = allowance_of(&attempts);
    if let Some(next) = allowance.next_attempt_at {
        transaction.rollback().await?;
        let wait_seconds = u64::try_from(((next - now) + 999) / 1000).unwrap_or(1).max(1);
        let when = time::OffsetDateTime::from_unix_timestamp(next / 1000)
            .ok()
            .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        let hours = wait_seconds / 3600;
        let minutes = (wait_seconds % 3600).div_ceil(60);
        return Err(ApiError {
            code: ErrorCode::RateLimited,
            message: format!(
                "Meta allows {REGISTRATION_LIMIT} registration attempts per number in 72 hours. \
                 The next attempt is possible at {when} (in {hours} h {minutes} min)"
            ),
            details: ErrorDetails { field_errors: Vec::new(), retry_after_seconds: Some(wait_seconds) },
        });
    }
    sqlx::query("INSERT INTO whatsapp_registration_attempts (id, phone_number_id, attempted_at) VALUES ($1, $2, $3)")
        .bind(crate::db::new_id())
        .bind(phone_number_id)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(())
}

/// A random 6-digit two-step verification PIN.
pub fn new_pin() -> String {
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
}

pub fn phone_info(number: &NumberRow) -> PhoneInfo {
    PhoneInfo {
        id: number.phone_number_id.clone(),
        display_phone_number: number.display_phone_number.clone(),
        verified_name: number.verified_name.clone(),
        status: number.status.clone(),
        quality_rating: number.quality_rating.clone(),
        message_limit: number.messaging_limit.clone(),
    }
}

pub async fn details(db: &AnyPool, number: NumberRow) -> Result<NumberDetails, sqlx::Error> {
    let registration = allowance(db, &number.phone_number_id, now_millis()).await?;
    let sync = if number.origin == NumberOrigin::Coexistence {
        Some(store::sync_progress(db, &number.phone_number_id).await?.unwrap_or(SyncProgress {
            contacts: SyncState::NotRequested,
            contacts_imported: 0,
            history: SyncState::NotRequested,
            history_phase: None,
            history_progress: 0,
            history_messages_imported: 0,
        }))
    } else {
        None
    };
    Ok(NumberDetails {
        phone_number_id: number.phone_number_id,
        waba_id: number.waba_id,
        waba_name: number.waba_name,
        display_phone_number: number.display_phone_number,
        verified_name: number.verified_name,
        disconnect_reason: number.disconnect_reason.filter(|_| number.status == "DISCONNECTED"),
        status: number.status,
        quality_rating: number.quality_rating,
        message_limit: number.messaging_limit,
        origin: number.origin,
        registration,
        sync,
        created_at: number.created_at,
        updated_at: number.updated_at,
    })
}

/// The caller's number, or 404 (also for numbers of other accounts: their existence is not revealed).
pub async fn own_number(db: &AnyPool, user: &CurrentUser, phone_number_id: &str) -> Result<NumberRow, ApiError> {
    store::find_number(db, &user.account_id, phone_number_id.trim())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("There is no number {} in this account", phone_number_id.trim())))
}

pub async fn list(db: &AnyPool, user: &CurrentUser) -> Result<Vec<NumberDetails>, ApiError> {
    let mut all = Vec::new();
    for number in store::list_numbers(db, &user.account_id).await? {
        all.push(details(db, number).await?);
    }
    Ok(all)
}

/// Register the number (again) with its PIN; counts toward the limit.
pub async fn register(state: &AppState, number: &NumberRow, token: Option<&BusinessToken>) -> Result<(), ApiError> {
    if number.origin == NumberOrigin::Coexistence {
        return Err(ApiError::conflict(
            "A WhatsApp Business app number stays registered on the phone; it is never registered with a PIN",
        ));
    }
    take_registration_attempt(&state.db, &number.phone_number_id).await?;
    let secrets = secrets(state);
    let pin = match number.pin_sealed.as_deref().and_then(|sealed| secrets.open(sealed)) {
        Some(pin) => pin,
        None => {
            let pin = new_pin();
            store::set_number_pin(&state.db, &number.phone_number_id, &secrets.seal(&pin)).await?;
            pin
        }
    };
    state.upstream.register_number(token, &number.waba_id, &number.phone_number_id, &pin).await?;
    if is_sandbox(state) {
        store::change_number(&state.db, &number.phone_number_id, &NumberChange::Status("PENDING".to_owned())).await?;
        simulator::connect_later(state.db.clone(), number.phone_number_id.clone());
    } else {
        refresh_from_upstream(state, number, token).await;
    }
    Ok(())
}

/// After a live registration, read the number's state back (best effort: webhooks also update it).
/// The read-back is written only if no webhook changed the number while it was on its way: a
/// webhook applied meanwhile is newer than what the upstream answered before it.
pub async fn refresh_from_upstream(state: &AppState, number: &NumberRow, token: Option<&BusinessToken>) {
    let read_before = match store::find_number_anywhere(&state.db, &number.phone_number_id).await {
        Ok(Some(current)) => store::NumberState::of(&current),
        Ok(None) => return,
        Err(cause) => {
            tracing::error!(%cause, "cannot read the number before refreshing it");
            return;
        }
    };
    match state.upstream.get_number(token, &number.waba_id, &number.phone_number_id).await {
        Ok(fresh) => {
            let fresh = store::NumberState {
                status: fresh.status,
                quality_rating: fresh.quality_rating,
                messaging_limit: fresh.messaging_limit,
            };
            match store::replace_number_state_if(&state.db, &number.phone_number_id, &read_before, &fresh).await {
                Ok(true) => {}
                Ok(false) => tracing::info!(phone_number_id = %number.phone_number_id, "a webhook updated the number first; the read-back is dropped"),
                Err(cause) => tracing::error!(%cause, "cannot store a refreshed number"),
            }
        }
        Err(error) => tracing::warn!(%error, "cannot refresh the number after registration"),
    }
}

pub async fn retry_registration(state: &AppState, user: &CurrentUser, phone_number_id: &str) -> Result<NumberDetails, ApiError> {
    let number = own_number(&state.db, user, phone_number_id).await?;
    let waba = store::find_waba(&state.db, &user.account_id, &number.waba_id).await?;
    let token = token_of(state, waba.as_ref());
    register(state, &number, token.as_ref()).await?;
    let number = own_number(&state.db, user, phone_number_id).await?;
    Ok(details(&state.db, number).await?)
}

pub async fn remove(state: &AppState, user: &CurrentUser, phone_number_id: &str) -> Result<RemovedNumber, ApiError> {
    let number = own_number(&state.db, user, phone_number_id).await?;
    let waba = store::find_waba(&state.db, &user.account_id, &number.waba_id).await?;
    let token = token_of(state, waba.as_ref());
    // Unbind first: of two removals at once, only the one that deleted the row goes on (and talks
    // to the upstream); the other finds nothing, as a removal after a removal does.
    if !store::delete_number(&state.db, &user.account_id, &number.phone_number_id).await? {
        return Err(ApiError::not_found(format!("There is no number {} in this account", number.phone_number_id)));
    }
    // Only numbers we registered are deregistered: a coexistence number lives on the phone, and a
    // manually bound one may be registered by someone else.
    if number.origin == NumberOrigin::Cloud {
        if let Err(error) = state.upstream.deregister_number(token.as_ref(), &number.waba_id, &number.phone_number_id).await {
            tracing::warn!(%error, "best-effort deregistration failed");
        }
    }
    let remaining = store::list_numbers_of_waba_anywhere(&state.db, &number.waba_id).await?;
    let waba_unbound = remaining.is_empty() && waba.is_some();
    if waba_unbound {
        if let Err(error) = state.upstream.unsubscribe_app(token.as_ref(), &number.waba_id).await {
            tracing::warn!(%error, "best-effort unsubscription failed");
        }
        store::delete_waba(&state.db, &user.account_id, &number.waba_id).await?;
    }
    Ok(RemovedNumber { phone_number_id: number.phone_number_id, waba_id: number.waba_id, waba_unbound })
}

pub async fn update_profile(state: &AppState, user: &CurrentUser, phone_number_id: &str, verified_name: &str) -> Result<NumberDetails, ApiError> {
    let number = own_number(&state.db, user, phone_number_id).await?;
    let waba = store::find_waba(&state.db, &user.account_id, &number.waba_id).await?;
    let token = token_of(state, waba.as_ref());
    let name = verified_name.trim().to_owned();
    state
        .upstream
        .update_display_name(token.as_ref(), &number.waba_id, &number.phone_number_id, &name)
        .await?;
    store::change_number(&state.db, &number.phone_number_id, &NumberChange::RequestedVerifiedName(Some(name.clone()))).await?;
    if is_sandbox(state) {
        simulator::approve_name_later(state.db.clone(), number.waba_id.clone(), number.display_phone_number.clone(), name);
    }
    let number = own_number(&state.db, user, phone_number_id).await?;
    Ok(details(&state.db, number).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_digits() {
        for _ in 0..50 {
            let pin = new_pin();
            assert_eq!(pin.len(), 6);
            assert!(pin.bytes().all(|byte| byte.is_ascii_digit()));
        }
    }
}
