//! Bringing a WABA and a number into an account: Embedded Signup completion (cloud and
//! coexistence) and the seed 003 manual `bind`.
//!
//! Ownership rules: a WABA and a number each belong to one account. Binding what another account
//! holds is a 409; binding what the caller holds already is a success that changes nothing.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, Weak};

use api_types::validation::{self, only_digits};
use api_types::{
    BindRequest, FieldError, NumberOrigin, NumberStatus, PhoneInfo, SignupCompleteRequest, SignupCompleteResponse, SignupFlow,
    SyncState, WabaInfo,
};

use super::numbers::{self, secrets, tenant, token_of};
use super::store::{self, NewNumber, NumberRow, SyncPart, TenantDb, WabaRow};
use super::upstream::{BusinessToken, Outcome, SyncKind, SyncRequest, UpstreamError, UpstreamNumber, UpstreamWaba};
use crate::auth::CurrentUser;
use crate::settings::Mode;
use crate::state::AppState;
use crate::web::error::ApiError;

pub fn waba_info(waba: &WabaRow) -> WabaInfo {
    WabaInfo { waba_id: waba.waba_id.clone(), waba_name: waba.name.clone(), waba_status: waba.status.clone() }
}

fn waba_taken(waba_id: &str) -> ApiError {
    ApiError::conflict(format!("WhatsApp Business Account {waba_id} is connected to another wadesk account"))
}

/// 409 unless the WABA is free or already the caller's.
async fn check_waba_owner(state: &AppState, db: &TenantDb, waba_id: &str) -> Result<Option<WabaRow>, ApiError> {
    match store::owner_of_waba(&state.db, waba_id).await? {
        Some(owner) if owner != db.account_id() => Err(waba_taken(waba_id)),
        Some(_) => Ok(db.find_waba(waba_id).await?),
        None => Ok(None),
    }
}

/// 409 unless the number is free or already the caller's (in the same WABA).
async fn check_number_owner(state: &AppState, db: &TenantDb, waba_id: &str, phone_number_id: &str) -> Result<Option<NumberRow>, ApiError> {
    match store::owner_of_number(&state.db, phone_number_id).await? {
        Some(owner) if owner.account_id != db.account_id() => Err(ApiError::conflict(format!(
            "Phone number {phone_number_id} is connected to another wadesk account"
        ))),
        Some(owner) if owner.waba_id != waba_id => Err(ApiError::conflict(format!(
            "Phone number {phone_number_id} is connected here through WhatsApp Business Account {}",
            owner.waba_id
        ))),
        Some(_) => Ok(db.find_number(phone_number_id).await?),
        None => Ok(None),
    }
}

/// 409 when another number (in this account or another) already holds this display number: a
/// display number is held once, so a webhook naming it reaches one number only.
async fn check_display_number_free(state: &AppState, display_phone_number: &str, phone_number_id: &str) -> Result<(), ApiError> {
    match store::holder_of_display_number(&state.db, display_phone_number).await? {
        Some((_, holder)) if holder != phone_number_id => Err(ApiError::conflict(format!(
            "The display number {display_phone_number} is already connected to a wadesk account"
        ))),
        _ => Ok(()),
    }
}

/// An upstream "no such thing" becomes a field error on the id the user typed.
fn unknown_id(error: UpstreamError, field: &str, what: &str, id: &str) -> ApiError {
    if error.is_not_found() {
        ApiError::validation(vec![FieldError::new(
            field,
            "not_found",
            format!("{} does not know {what} {id}", error.provider),
        )])
    } else {
        error.into()
    }
}

/// What is bound is what the caller asked for and the ownership checks looked at: an upstream
/// answer that names another id (a proxy's mistake, a mixed-up cache) does not bind that one.
fn for_requested_waba(mut upstream: UpstreamWaba, waba_id: &str) -> UpstreamWaba {
    if upstream.id != waba_id {
        tracing::warn!(requested = %waba_id, answered = %upstream.id, "the upstream described another WABA than the one asked for");
        upstream.id = waba_id.to_owned();
    }
    upstream
}

fn for_requested_number(mut upstream: UpstreamNumber, phone_number_id: &str) -> UpstreamNumber {
    if upstream.id != phone_number_id {
        tracing::warn!(requested = %phone_number_id, answered = %upstream.id, "the upstream described another number than the one asked for");
        upstream.id = phone_number_id.to_owned();
    }
    upstream
}

async fn save_waba(state: &AppState, db: &TenantDb, upstream: &UpstreamWaba, token: Option<&BusinessToken>) -> Result<WabaRow, ApiError> {
    let row = WabaRow {
        waba_id: upstream.id.clone(),
        business_id: upstream.business_id.clone(),
        name: upstream.name.clone(),
        status: upstream.status.clone(),
        token_sealed: token.map(|token| secrets(state).seal(&token.0)),
    };
    match db.save_waba(&row).await {
        Ok(()) => Ok(row),
        // Someone inserted it between our check and the insert: a second completion of the same
        // sign-up (a double click, a retry) in this account, which then only refreshes it, or
        // another account, which holds it now.
        Err(cause) if crate::db::is_unique_violation(&cause) => match store::owner_of_waba(&state.db, &upstream.id).await? {
            Some(owner) if owner == db.account_id() => {
                db.save_waba(&row).await?;
                Ok(row)
            }
            _ => Err(waba_taken(&upstream.id)),
        },
        Err(cause) => Err(cause.into()),
    }
}

/// Insert the number; `false` when a concurrent request of the same account inserted it first
/// (that request then does what follows the insert: registration, sync).
async fn insert_number(state: &AppState, db: &TenantDb, new: NewNumber) -> Result<bool, ApiError> {
    let phone_number_id = new.phone_number_id.clone();
    match db.insert_number(&new).await {
        Ok(()) => Ok(true),
        Err(cause) if crate::db::is_unique_violation(&cause) => match store::owner_of_number(&state.db, &phone_number_id).await? {
            // Two completions of the same sign-up raced: the other one bound it for us.
            Some(number) if number.account_id == db.account_id() && number.waba_id == new.waba_id => Ok(false),
            Some(number) if number.account_id == db.account_id() => Err(ApiError::conflict(format!(
                "Phone number {phone_number_id} is connected here through WhatsApp Business Account {}",
                number.waba_id
            ))),
            Some(_) => Err(ApiError::conflict(format!("Phone number {phone_number_id} is connected to another wadesk account"))),
            // Not the id: the display number is held (a bind racing ours won it).
            None => Err(ApiError::conflict(format!(
                "The display number {} is already connected to a wadesk account",
                new.display_phone_number
            ))),
        },
        Err(cause) => Err(cause.into()),
    }
}

/// What a new binding stores: the provider's word on the number, never text the caller typed.
fn new_number(upstream: &UpstreamNumber, waba_id: &str, origin: NumberOrigin) -> NewNumber {
    NewNumber {
        waba_id: waba_id.to_owned(),
        phone_number_id: upstream.id.clone(),
        display_phone_number: upstream.display_phone_number.clone(),
        verified_name: upstream.verified_name.clone(),
        // Every new binding starts PENDING until registration or the provider says otherwise.
        status: if origin == NumberOrigin::Manual { upstream.status.clone() } else { NumberStatus::Pending },
        quality_rating: upstream.quality_rating.clone(),
        messaging_limit: upstream.messaging_limit.clone(),
        origin,
        pin_sealed: None,
    }
}

fn check_signup_request(request: &SignupCompleteRequest) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    validation::code("code", &request.code, &mut errors);
    validation::meta_id("wabaId", &request.waba_id, &mut errors);
    if let Some(id) = request.phone_number_id.as_deref().filter(|id| !id.trim().is_empty()) {
        validation::meta_id("phoneNumberId", id, &mut errors);
    }
    if let Some(id) = request.business_id.as_deref().filter(|id| !id.trim().is_empty()) {
        validation::meta_id("businessId", id, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// One onboarding at a time per number, in one server (kept in its state). Across servers the
/// UNIQUE columns still make the second insert lose (see [`insert_number`]).
#[derive(Default)]
pub struct OnboardingLocks {
    locks: std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl OnboardingLocks {
    /// The lock for this number.
    pub fn for_number(&self, phone_number_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Locks nobody holds or waits for any more are forgotten.
        locks.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = locks.get(phone_number_id).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(phone_number_id.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

/// `whatsapp/signup/complete`.
pub async fn complete_signup(state: &AppState, user: &CurrentUser, request: SignupCompleteRequest) -> Result<SignupCompleteResponse, ApiError> {
    check_signup_request(&request)?;
    let db = tenant(state, user);
    let waba_id = request.waba_id.trim().to_owned();
    // The code lives 30 seconds: exchange it before anything else that talks to anyone.
    let token = state.upstream.exchange_code(request.code.trim()).await?;
    let known_waba = check_waba_owner(state, &db, &waba_id).await?;
    // A number held elsewhere is refused before anything is saved: not a WABA bound here
    // without the number the sign-up was for.
    if let Some(id) = request.phone_number_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        check_number_owner(state, &db, &waba_id, id).await?;
    }
    let token = token.or_else(|| token_of(state, known_waba.as_ref()));
    let upstream_waba = state.upstream.get_waba(token.as_ref(), &waba_id).await?;
    if upstream_waba.payment_method_attached == Some(false) {
        tracing::warn!(%waba_id, "the WABA has no payment method attached yet (seed 004: ask YCloud)");
    }
    state.upstream.subscribe_app(token.as_ref(), &waba_id).await?;
    let mut upstream_waba = for_requested_waba(upstream_waba, &waba_id);
    if let Some(business_id) = request.business_id.as_deref().filter(|id| !id.trim().is_empty()) {
        upstream_waba.business_id.get_or_insert_with(|| business_id.trim().to_owned());
    }
    let waba = save_waba(state, &db, &upstream_waba, token.as_ref()).await?;

    let phone_number_id = match request.phone_number_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => Some(id.to_owned()),
        // Coexistence may finish without the number: it is the WABA's (only) number.
        None if request.flow == SignupFlow::Coexistence => Some(find_coexistence_number(state, &db, &waba_id, token.as_ref()).await?),
        None => None,
    };
    let Some(phone_number_id) = phone_number_id else {
        // FINISH_ONLY_WABA: the WABA is bound, a number comes later.
        return Ok(SignupCompleteResponse { waba: waba_info(&waba), number: None, already_bound: known_waba.is_some() });
    };

    // Two completions of one sign-up at once (a double click, a retry while the first still
    // runs) take turns from here: the second then finds what the first did, instead of
    // registering or requesting the sync a second time.
    let onboarding = state.onboarding_locks.for_number(&phone_number_id);
    let _turn = onboarding.lock().await;
    let onboarded = onboard_number(state, &db, &request, &waba_id, &phone_number_id, token.as_ref()).await;
    // Whatever got done (bound, registering, syncing) shows on every screen of the account.
    numbers::announce(&state.db, &state.realtime, &user.account_id, &phone_number_id).await;
    let already_bound = onboarded?;
    let number = numbers::own_number(&db, &phone_number_id).await?;
    let details = numbers::details(&db, number).await?;
    Ok(SignupCompleteResponse { waba: waba_info(&waba), number: Some(details), already_bound })
}

/// Bind, register or sync the sign-up's number (or finish what an earlier try left undone), in
/// the number's onboarding turn; true when it was bound already.
async fn onboard_number(
    state: &AppState,
    db: &TenantDb,
    request: &SignupCompleteRequest,
    waba_id: &str,
    phone_number_id: &str,
    token: Option<&BusinessToken>,
) -> Result<bool, ApiError> {
    let existing = check_number_owner(state, db, waba_id, phone_number_id).await?;
    let mut already_bound = existing.is_some();
    if let Some(disconnected) = existing.as_ref().filter(|number| number.status == NumberStatus::Disconnected) {
        // WhatsApp had disconnected it (partner removed, app inactive on the phone): the business
        // connected it again, so it is onboarded again, as it was first (register or app sync).
        reconnect(state, db, disconnected, token).await?;
    } else if let Some(bound) = existing.as_ref() {
        finish_unfinished(state, db, bound, token).await?;
    } else {
        let upstream_number = for_requested_number(state.upstream.get_number(token, waba_id, phone_number_id).await?, phone_number_id);
        check_display_number_free(state, &upstream_number.display_phone_number, phone_number_id).await?;
        let origin = match request.flow {
            SignupFlow::Cloud => NumberOrigin::Cloud,
            SignupFlow::Coexistence => NumberOrigin::Coexistence,
        };
        if insert_number(state, db, new_number(&upstream_number, waba_id, origin)).await? {
            let number = numbers::own_number(db, phone_number_id).await?;
            match request.flow {
                SignupFlow::Cloud => numbers::register(state, db, &number, token).await?,
                SignupFlow::Coexistence => {
                    start_coexistence(state, db, &number, token, false).await?;
                }
            }
        } else {
            // A concurrent completion bound it a moment ago and registers it: not twice.
            already_bound = true;
        }
    }
    Ok(already_bound)
}

/// Completing the sign-up again after an upstream failure part-way (the number was bound, then
/// a registration or sync request failed) does the step that failed, so signing up again is a
/// way out: a coexistence number whose syncs were not all requested gets them requested, and a
/// cloud number still PENDING that the upstream does not report CONNECTED is registered. A
/// finished onboarding is left as it is (no second registration, no second sync).
async fn finish_unfinished(state: &AppState, db: &TenantDb, number: &NumberRow, token: Option<&BusinessToken>) -> Result<(), ApiError> {
    match number.origin {
        NumberOrigin::Coexistence => {
            let progress = db.sync_progress(&number.phone_number_id).await?;
            let unrequested = progress.is_none_or(|progress| progress.contacts == SyncState::NotRequested || progress.history == SyncState::NotRequested);
            if unrequested {
                tracing::info!(phone_number_id = %number.phone_number_id, "the coexistence sync was not requested yet: requesting it");
                start_coexistence(state, db, number, token, true).await?;
            }
            Ok(())
        }
        NumberOrigin::Cloud if number.status == NumberStatus::Pending => {
            match state.upstream.get_number(token, &number.waba_id, &number.phone_number_id).await {
                Ok(upstream) if upstream.status.is_connected() => Ok(()),
                Ok(_) => {
                    tracing::info!(phone_number_id = %number.phone_number_id, "the number is not registered yet: registering it");
                    numbers::register(state, db, number, token).await
                }
                // Only a check: the number stays as it is, and the Numbers page offers a retry.
                Err(error) => {
                    tracing::warn!(%error, "cannot check whether a bound number is registered");
                    Ok(())
                }
            }
        }
        NumberOrigin::Cloud | NumberOrigin::Manual | NumberOrigin::Unknown(_) => Ok(()),
    }
}

async fn reconnect(state: &AppState, db: &TenantDb, number: &NumberRow, token: Option<&BusinessToken>) -> Result<(), ApiError> {
    let phone_number_id = &number.phone_number_id;
    tracing::info!(%phone_number_id, "a disconnected number is connected again");
    db.change_number(phone_number_id, &store::NumberChange::Status(NumberStatus::Pending)).await?;
    let number = &numbers::own_number(db, phone_number_id).await?;
    match number.origin {
        NumberOrigin::Coexistence => {
            if start_coexistence(state, db, number, token, false).await? == Outcome::ReadBack {
                numbers::refresh_from_upstream(state, db, number, token).await;
            }
            Ok(())
        }
        NumberOrigin::Cloud | NumberOrigin::Manual | NumberOrigin::Unknown(_) => numbers::register(state, db, number, token).await,
    }
}

async fn find_coexistence_number(state: &AppState, db: &TenantDb, waba_id: &str, token: Option<&BusinessToken>) -> Result<String, ApiError> {
    let candidates = state.upstream.list_numbers(token, waba_id).await?;
    // Prefer a number not bound here yet; with one number (the usual case) that is it.
    let mut first_free = None;
    for candidate in &candidates {
        match store::owner_of_number(&state.db, &candidate.id).await? {
            Some(bound) if bound.account_id == db.account_id() => return Ok(candidate.id.clone()),
            Some(_) => {}
            None => {
                first_free.get_or_insert_with(|| candidate.id.clone());
            }
        }
    }
    first_free.ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(
            "phoneNumberId",
            "required",
            format!("WhatsApp Business Account {waba_id} has no phone number to connect; finish the sign-up on the phone first"),
        )])
    })
}

/// Coexistence: no register. Bind the app number (YCloud), then ask for contacts, then history.
/// With `only_missing`, what was requested already is skipped (a sign-up completed again after
/// it failed part-way); without, all of it is done (a first sign-up, a reconnection).
async fn start_coexistence(state: &AppState, db: &TenantDb, number: &NumberRow, token: Option<&BusinessToken>, only_missing: bool) -> Result<Outcome, ApiError> {
    let (waba_id, phone_number_id) = (&number.waba_id, &number.phone_number_id);
    // Started again after a failure part-way: what was requested already is not requested twice
    // (and the app number was bound before any request).
    let progress = db.sync_progress(phone_number_id).await?;
    let requested = |part: SyncPart| {
        progress.as_ref().is_some_and(|progress| {
            let state = match part {
                SyncPart::Contacts => &progress.contacts,
                SyncPart::History => &progress.history,
            };
            *state != SyncState::NotRequested
        })
    };
    if !only_missing || !(requested(SyncPart::Contacts) || requested(SyncPart::History)) {
        state.upstream.bind_coexistence(token, waba_id, phone_number_id).await?;
    }
    db.ensure_sync_row(phone_number_id).await?;
    for (kind, part) in [(SyncKind::Contacts, SyncPart::Contacts), (SyncKind::History, SyncPart::History)] {
        if only_missing && requested(part) {
            continue;
        }
        state.upstream.request_sync(token, waba_id, phone_number_id, kind).await?;
        // Each is requested once; a webhook that already arrived is not set back.
        db.set_sync_state(phone_number_id, part, SyncState::Requested, &[SyncState::NotRequested]).await?;
    }
    Ok(state.upstream.after_sync_request(&SyncRequest {
        waba_id: waba_id.clone(),
        phone_number_id: phone_number_id.clone(),
        display_phone_number: number.display_phone_number.clone(),
    }))
}

/// The caller's account name must be the one the request names (seed 003 `accountName`).
pub fn check_account_name(user: &CurrentUser, account_name: &str) -> Result<(), ApiError> {
    let account_name = account_name.trim();
    if account_name.is_empty() {
        return Err(ApiError::validation(vec![FieldError::new("accountName", "required", "`accountName` is required")]));
    }
    if account_name.to_lowercase() != user.account_name.to_lowercase() {
        // The name is echoed, but not all 10 KB a caller may send.
        let shown: String = account_name.chars().take(64).collect();
        let more = if shown.len() < account_name.len() { "…" } else { "" };
        return Err(ApiError::forbidden(format!("You cannot act for the account {shown:?}{more}")));
    }
    Ok(())
}

/// Who is binding by hand: an account's user, or a partner's backend that presented a platform
/// operator key from the server's configuration (seed 003's provisioning API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binder {
    User,
    Operator,
}

/// `whatsapp/account/bind` (seed 003 1.1).
///
/// Typed text never overrides the provider: the display number stored is the one WhatsApp
/// reports, and a `phoneNumber` that disagrees is a field error. In live mode a WABA this account
/// does not hold yet is bound only when the caller shows it controls it: the WABA's own access
/// token (`accessToken`), or a platform operator key. Otherwise a self-signed-up account could
/// claim another customer's WABA that the BSP's upstream key can see.
pub async fn bind(state: &AppState, user: &CurrentUser, request: BindRequest, binder: Binder) -> Result<PhoneInfo, ApiError> {
    check_account_name(user, &request.account_name)?;
    let db = tenant(state, user);
    let mut errors = Vec::new();
    validation::meta_id("wabaId", &request.waba_id, &mut errors);
    validation::meta_id("phoneNumberId", &request.phone_number_id, &mut errors);
    let typed_display = request.phone_number.as_deref().map(str::trim).filter(|number| !number.is_empty());
    if let Some(display) = typed_display {
        validation::phone_number("phoneNumber", display, &mut errors);
    }
    let access_token = request.access_token.as_deref().map(str::trim).filter(|token| !token.is_empty());
    if access_token.is_some_and(|token| token.len() > 4096 || token.chars().any(|c| c.is_whitespace() || c.is_control())) {
        errors.push(FieldError::new("accessToken", "invalid", "`accessToken` is not an access token"));
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let waba_id = request.waba_id.trim();
    let phone_number_id = request.phone_number_id.trim();
    let known_waba = check_waba_owner(state, &db, waba_id).await?;
    if let Some(existing) = check_number_owner(state, &db, waba_id, phone_number_id).await? {
        check_typed_display(typed_display, &existing.display_phone_number)?;
        return Ok(numbers::phone_info(&existing));
    }
    let offered_token = access_token.map(|token| BusinessToken(token.to_owned()));
    if known_waba.is_none() {
        check_control(state, waba_id, offered_token.as_ref(), binder).await?;
    }
    let token = offered_token.clone().or_else(|| token_of(state, known_waba.as_ref()));
    let upstream_waba = state
        .upstream
        .get_waba(token.as_ref(), waba_id)
        .await
        .map_err(|error| unknown_id(error, "wabaId", "WhatsApp Business Account", waba_id))?;
    let upstream_number = state
        .upstream
        .get_number(token.as_ref(), waba_id, phone_number_id)
        .await
        .map_err(|error| unknown_id(error, "phoneNumberId", "phone number", phone_number_id))?;
    let upstream_waba = for_requested_waba(upstream_waba, waba_id);
    let mut upstream_number = for_requested_number(upstream_number, phone_number_id);
    match typed_display {
        // Only where the provider has no word on it (a sandbox number it never made).
        Some(typed) if !state.upstream.knows_display_number(phone_number_id) => upstream_number.display_phone_number = typed.to_owned(),
        _ => check_typed_display(typed_display, &upstream_number.display_phone_number)?,
    }
    check_display_number_free(state, &upstream_number.display_phone_number, phone_number_id).await?;
    save_waba(state, &db, &upstream_waba, offered_token.as_ref()).await?;
    insert_number(state, &db, new_number(&upstream_number, waba_id, NumberOrigin::Manual)).await?;
    numbers::announce(&state.db, &state.realtime, &user.account_id, phone_number_id).await;
    state.upstream.after_registration(phone_number_id);
    let number = numbers::own_number(&db, phone_number_id).await?;
    Ok(numbers::phone_info(&number))
}

/// A typed display number must be the one WhatsApp reports (compared by digits).
fn check_typed_display(typed: Option<&str>, reported: &str) -> Result<(), ApiError> {
    match typed {
        Some(typed) if only_digits(typed) != only_digits(reported) => Err(ApiError::validation(vec![FieldError::new(
            "phoneNumber",
            "mismatch",
            format!("WhatsApp reports {reported} for this phone number id, not {typed}; leave the field empty or correct it"),
        )])),
        _ => Ok(()),
    }
}

/// Live mode: the caller must show it controls a WABA before binding it by hand.
async fn check_control(state: &AppState, waba_id: &str, token: Option<&BusinessToken>, binder: Binder) -> Result<(), ApiError> {
    if state.settings.mode == Mode::Sandbox || binder == Binder::Operator {
        return Ok(());
    }
    let Some(token) = token else {
        return Err(ApiError::forbidden(format!(
            "This account has not shown it controls WhatsApp Business Account {waba_id}: connect it with Embedded Signup, \
             or send the WABA's own access token as `accessToken`"
        )));
    };
    if state.upstream.token_controls_waba(token, waba_id).await? {
        Ok(())
    } else {
        Err(ApiError::validation(vec![FieldError::new(
            "accessToken",
            "invalid",
            format!("This access token cannot reach WhatsApp Business Account {waba_id}"),
        )]))
    }
}

/// `whatsapp/account/phoneInfo` (seed 003 1.2).
pub async fn phone_info(state: &AppState, user: &CurrentUser, account_name: &str, waba_id: &str) -> Result<Vec<PhoneInfo>, ApiError> {
    check_account_name(user, account_name)?;
    let db = tenant(state, user);
    let mut errors = Vec::new();
    validation::meta_id("wabaId", waba_id, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let waba_id = waba_id.trim();
    if db.find_waba(waba_id).await?.is_none() {
        return Err(ApiError::not_found(format!("There is no WhatsApp Business Account {waba_id} in this account")));
    }
    Ok(db.list_numbers_of_waba(waba_id).await?.iter().map(numbers::phone_info).collect())
}

/// `whatsapp/account/wabaInfo` (seed 003 1.3).
pub async fn waba_list(state: &AppState, user: &CurrentUser, account_name: &str) -> Result<Vec<WabaInfo>, ApiError> {
    check_account_name(user, account_name)?;
    Ok(tenant(state, user).list_wabas().await?.iter().map(waba_info).collect())
}
