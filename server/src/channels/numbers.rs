//! The numbers of an account: what the Numbers page shows, the registration limit, retrying a
//! registration, removal and display name changes. Handlers in `routes.rs` call these.

use api_types::{
    ErrorCode, ErrorDetails, InboxEventData, NumberDetails, NumberOrigin, NumberStatus, PhoneInfo, RegistrationAllowance,
    RemovedNumber, SyncProgress, SyncState,
};
use rand::Rng;
use sqlx::AnyPool;

use super::secrets::SecretBox;
use super::store::{self, DbResult, NumberChange, NumberRow, TenantDb, WabaRow};
use super::upstream::{BusinessToken, NameRequest, Outcome};
use crate::auth::CurrentUser;
use crate::db::now_millis;
use crate::realtime::{self, Realtime};
use crate::state::AppState;
use crate::web::error::ApiError;

/// Meta allows 10 register requests per number in 72 hours.
pub const REGISTRATION_LIMIT: u32 = 10;
pub const REGISTRATION_WINDOW_MS: i64 = 72 * 60 * 60 * 1000;

/// The caller's account, as the only handle through which its rows are reached.
pub fn tenant(state: &AppState, user: &CurrentUser) -> TenantDb {
    TenantDb::new(&state.db, &user.account_id)
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

pub async fn allowance(db: &TenantDb, phone_number_id: &str, now: i64) -> Result<RegistrationAllowance, sqlx::Error> {
    let attempts = db.registration_attempts_since(phone_number_id, now - REGISTRATION_WINDOW_MS).await?;
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

/// Count a registration attempt, or refuse with 429 when the window is full.
///
/// Counting and recording happen in one transaction under the number's row lock (see
/// [`TenantDb::take_registration_attempt`]): without it, ten requests sent at once could all
/// read "9 attempts" and all go through.
pub async fn take_registration_attempt(db: &TenantDb, phone_number_id: &str) -> Result<(), ApiError> {
    let now = now_millis();
    let (attempts, taken) = db
        .take_registration_attempt(phone_number_id, now - REGISTRATION_WINDOW_MS, now, |attempts| {
            allowance_of(attempts).next_attempt_at.is_none()
        })
        .await?;
    if let (false, Some(next)) = (taken, allowance_of(&attempts).next_attempt_at) {
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

pub async fn details(db: &TenantDb, number: NumberRow) -> Result<NumberDetails, sqlx::Error> {
    let registration = allowance(db, &number.phone_number_id, now_millis()).await?;
    let sync = if number.origin == NumberOrigin::Coexistence {
        Some(db.sync_progress(&number.phone_number_id).await?.unwrap_or(SyncProgress {
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
        disconnect_reason: number.disconnect_reason.filter(|_| number.status == NumberStatus::Disconnected),
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

/// Tell the account's screens what the number looks like now (a `number` event with its
/// [`details`]), after a change to it has been written. Best effort: the change stands either
/// way, and a page that missed the event shows it when it reloads; a failure is logged.
/// Within a server, announcements of one number take turns ([`Realtime::turn`]), so the last
/// event shows the latest state; two servers announcing one number at the same moment may record
/// theirs in either order (webhooks for a number are applied one at a time across servers).
pub async fn announce(db: &AnyPool, realtime: &Realtime, account_id: &str, phone_number_id: &str) {
    if let Err(cause) = record_number_event(db, realtime, account_id, phone_number_id).await {
        tracing::warn!(%cause, %phone_number_id, "cannot record the number's event");
    }
}

async fn record_number_event(db: &AnyPool, realtime: &Realtime, account_id: &str, phone_number_id: &str) -> DbResult<()> {
    let tenant = TenantDb::new(db, account_id);
    // Read and recorded in one turn, and the transaction holds no lock while reading: readers
    // that waited on a row lock for a second pooled connection could take every connection.
    let turn = realtime.turn(phone_number_id);
    let _turn = turn.lock().await;
    // Removed meanwhile: the removal has its own event.
    let Some(number) = tenant.find_number(phone_number_id).await? else { return Ok(()) };
    let data = InboxEventData::Number { number: details(&tenant, number).await? };
    let mut transaction = db.begin().await?;
    let last_id = realtime::record(&mut transaction, account_id, Some(phone_number_id), &data).await?;
    transaction.commit().await?;
    realtime.committed(account_id, last_id);
    Ok(())
}

/// Tell the account's screens the number is gone (a `numberRemoved` event). Best effort, as [`announce`].
pub async fn announce_removal(db: &AnyPool, realtime: &Realtime, account_id: &str, phone_number_id: &str) {
    let turn = realtime.turn(phone_number_id);
    let _turn = turn.lock().await;
    let recorded = async {
        let mut transaction = db.begin().await?;
        let data = InboxEventData::NumberRemoved { phone_number_id: phone_number_id.to_owned() };
        let last_id = realtime::record(&mut transaction, account_id, Some(phone_number_id), &data).await?;
        transaction.commit().await?;
        DbResult::Ok(last_id)
    };
    match recorded.await {
        Ok(last_id) => realtime.committed(account_id, last_id),
        Err(cause) => tracing::warn!(%cause, %phone_number_id, "cannot record the number's removal event"),
    }
}

/// The caller's number, or 404 (also for numbers of other accounts: their existence is not revealed).
pub async fn own_number(db: &TenantDb, phone_number_id: &str) -> Result<NumberRow, ApiError> {
    db.find_number(phone_number_id.trim())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("There is no number {} in this account", phone_number_id.trim())))
}

pub async fn list(db: &TenantDb) -> Result<Vec<NumberDetails>, ApiError> {
    let mut all = Vec::new();
    for number in db.list_numbers().await? {
        all.push(details(db, number).await?);
    }
    Ok(all)
}

/// Register the number (again) with its PIN; counts toward the limit.
pub async fn register(state: &AppState, db: &TenantDb, number: &NumberRow, token: Option<&BusinessToken>) -> Result<(), ApiError> {
    if number.origin == NumberOrigin::Coexistence {
        return Err(ApiError::conflict(
            "A WhatsApp Business app number stays registered on the phone; it is never registered with a PIN",
        ));
    }
    take_registration_attempt(db, &number.phone_number_id).await?;
    let secrets = secrets(state);
    let pin = match number.pin_sealed.as_deref().and_then(|sealed| secrets.open(sealed)) {
        Some(pin) => pin,
        None => {
            let pin = new_pin();
            db.set_number_pin(&number.phone_number_id, &secrets.seal(&pin)).await?;
            pin
        }
    };
    state.upstream.register_number(token, &number.waba_id, &number.phone_number_id, &pin).await?;
    match state.upstream.after_registration(&number.phone_number_id) {
        Outcome::ReadBack => refresh_from_upstream(state, db, number, token).await,
        Outcome::Reported => {
            db.change_number(&number.phone_number_id, &NumberChange::Status(NumberStatus::Pending)).await?;
        }
    }
    Ok(())
}

/// After a live registration, read the number's state back (best effort: webhooks also update it).
/// The read-back is written only if no webhook changed the number while it was on its way: a
/// webhook applied meanwhile is newer than what the upstream answered before it.
pub async fn refresh_from_upstream(state: &AppState, db: &TenantDb, number: &NumberRow, token: Option<&BusinessToken>) {
    let read_before = match db.find_number(&number.phone_number_id).await {
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
            match db.replace_number_state_if(&number.phone_number_id, &read_before, &fresh).await {
                Ok(true) => {}
                Ok(false) => tracing::info!(phone_number_id = %number.phone_number_id, "a webhook updated the number first; the read-back is dropped"),
                Err(cause) => tracing::error!(%cause, "cannot store a refreshed number"),
            }
        }
        Err(error) => tracing::warn!(%error, "cannot refresh the number after registration"),
    }
}

pub async fn retry_registration(state: &AppState, user: &CurrentUser, phone_number_id: &str) -> Result<NumberDetails, ApiError> {
    let db = tenant(state, user);
    let number = own_number(&db, phone_number_id).await?;
    let waba = db.find_waba(&number.waba_id).await?;
    let token = token_of(state, waba.as_ref());
    let registered = register(state, &db, &number, token.as_ref()).await;
    // A refused attempt still counts toward the limit the page shows.
    announce(&state.db, &state.realtime, &user.account_id, &number.phone_number_id).await;
    registered?;
    let number = own_number(&db, phone_number_id).await?;
    Ok(details(&db, number).await?)
}

pub async fn remove(state: &AppState, user: &CurrentUser, phone_number_id: &str) -> Result<RemovedNumber, ApiError> {
    let db = tenant(state, user);
    let number = own_number(&db, phone_number_id).await?;
    let waba = db.find_waba(&number.waba_id).await?;
    let token = token_of(state, waba.as_ref());
    // Unbind first: of two removals at once, only the one that deleted the row goes on (and talks
    // to the upstream); the other finds nothing, as a removal after a removal does.
    if !db.delete_number(&number.phone_number_id).await? {
        return Err(ApiError::not_found(format!("There is no number {} in this account", number.phone_number_id)));
    }
    announce_removal(&state.db, &state.realtime, &user.account_id, &number.phone_number_id).await;
    // Only numbers we registered are deregistered: a coexistence number lives on the phone, and a
    // manually bound one may be registered by someone else.
    if number.origin == NumberOrigin::Cloud {
        if let Err(error) = state.upstream.deregister_number(token.as_ref(), &number.waba_id, &number.phone_number_id).await {
            tracing::warn!(%error, "best-effort deregistration failed");
        }
    }
    let remaining = db.list_numbers_of_waba(&number.waba_id).await?;
    let waba_unbound = remaining.is_empty() && waba.is_some();
    if waba_unbound {
        if let Err(error) = state.upstream.unsubscribe_app(token.as_ref(), &number.waba_id).await {
            tracing::warn!(%error, "best-effort unsubscription failed");
        }
        db.delete_waba(&number.waba_id).await?;
    }
    Ok(RemovedNumber { phone_number_id: number.phone_number_id, waba_id: number.waba_id, waba_unbound })
}

pub async fn update_profile(state: &AppState, user: &CurrentUser, phone_number_id: &str, verified_name: &str) -> Result<NumberDetails, ApiError> {
    let db = tenant(state, user);
    let number = own_number(&db, phone_number_id).await?;
    let waba = db.find_waba(&number.waba_id).await?;
    let token = token_of(state, waba.as_ref());
    let name = verified_name.trim().to_owned();
    state
        .upstream
        .update_display_name(token.as_ref(), &number.waba_id, &number.phone_number_id, &name)
        .await?;
    db.change_number(&number.phone_number_id, &NumberChange::RequestedVerifiedName(Some(name.clone()))).await?;
    announce(&state.db, &state.realtime, &user.account_id, &number.phone_number_id).await;
    state.upstream.after_name_request(&NameRequest {
        waba_id: number.waba_id.clone(),
        display_phone_number: number.display_phone_number.clone(),
        requested_name: name,
    });
    let number = own_number(&db, phone_number_id).await?;
    Ok(details(&db, number).await?)
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
