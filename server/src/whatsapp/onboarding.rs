//! Bringing a WABA and a number into an account: Embedded Signup completion (cloud and
//! coexistence) and the seed 003 manual `bind`.
//!
//! Ownership rules: a WABA and a number each belong to one account. Binding what another account
//! holds is a 409; binding what the caller holds already is a success that changes nothing.

use api_types::{BindRequest, NumberOrigin, PhoneInfo, SignupCompleteRequest, SignupCompleteResponse, SignupFlow, WabaInfo};

use super::numbers::{self, is_sandbox, secrets, token_of};
use super::sandbox::simulator::{self, SyncScript};
use super::store::{self, NewNumber, NumberRow, SyncPart, WabaRow};
use super::upstream::{BusinessToken, SyncKind, UpstreamError, UpstreamNumber, UpstreamWaba};
use super::validation;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;
use api_types::{FieldError, SyncState};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError, Weak};

pub fn waba_info(waba: &WabaRow) -> WabaInfo {
    WabaInfo { waba_id: waba.waba_id.clone(), waba_name: waba.name.clone(), waba_status: waba.status.clone() }
}

/// 409 unless the WABA is free or already the caller's.
async fn check_waba_owner(state: &AppState, user: &CurrentUser, waba_id: &str) -> Result<Option<WabaRow>, ApiError> {
    match store::find_waba_anywhere(&state.db, waba_id).await? {
        Some(waba) if waba.account_id != user.account_id => Err(ApiError::conflict(format!(
            "WhatsApp Business Account {waba_id} is connected to another wadesk account"
        ))),
        found => Ok(found),
    }
}

/// 409 unless the number is free or already the caller's (in the same WABA).
async fn check_number_owner(state: &AppState, user: &CurrentUser, waba_id: &str, phone_number_id: &str) -> Result<Option<NumberRow>, ApiError> {
    match store::find_number_anywhere(&state.db, phone_number_id).await? {
        Some(number) if number.account_id != user.account_id => Err(ApiError::conflict(format!(
            "Phone number {phone_number_id} is connected to another wadesk account"
        ))),
        Some(number) if number.waba_id != waba_id => Err(ApiError::conflict(format!(
            "Phone number {phone_number_id} is connected here through WhatsApp Business Account {}",
            number.waba_id
        ))),
        found => Ok(found),
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

async fn save_waba(state: &AppState, user: &CurrentUser, upstream: &UpstreamWaba, token: Option<&BusinessToken>) -> Result<WabaRow, ApiError> {
    let row = WabaRow {
        account_id: user.account_id.clone(),
        waba_id: upstream.id.clone(),
        business_id: upstream.business_id.clone(),
        name: upstream.name.clone(),
        status: upstream.status.clone(),
        token_sealed: token.map(|token| secrets(state).seal(&token.0)),
    };
    match store::save_waba(&state.db, &row).await {
        Ok(()) => Ok(row),
        // Someone inserted it between our check and the insert: a second completion of the same
        // sign-up (a double click, a retry) in this account, which then only refreshes it, or
        // another account, which holds it now.
        Err(cause) if crate::db::is_unique_violation(&cause) => match store::find_waba_anywhere(&state.db, &upstream.id).await? {
            Some(waba) if waba.account_id == user.account_id => {
                store::save_waba(&state.db, &row).await?;
                Ok(row)
            }
            _ => Err(ApiError::conflict(format!(
                "WhatsApp Business Account {} is connected to another wadesk account",
                upstream.id
            ))),
        },
        Err(cause) => Err(cause.into()),
    }
}

/// Insert the number; `false` when a concurrent request of the same account inserted it first
/// (that request then does what follows the insert: registration, sync).
async fn insert_number(state: &AppState, new: NewNumber) -> Result<bool, ApiError> {
    let phone_number_id = new.phone_number_id.clone();
    match store::insert_number(&state.db, &new).await {
        Ok(()) => Ok(true),
        Err(cause) if crate::db::is_unique_violation(&cause) => match store::find_number_anywhere(&state.db, &phone_number_id).await? {
            // Two completions of the same sign-up raced: the other one bound it for us.
            Some(number) if number.account_id == new.account_id && number.waba_id == new.waba_id => Ok(false),
            Some(number) if number.account_id == new.account_id => Err(ApiError::conflict(format!(
                "Phone number {phone_number_id} is connected here through WhatsApp Business Account {}",
                number.waba_id
            ))),
            _ => Err(ApiError::conflict(format!("Phone number {phone_number_id} is connected to another wadesk account"))),
        },
        Err(cause) => Err(cause.into()),
    }
}

fn new_number(user: &CurrentUser, upstream: &UpstreamNumber, waba_id: &str, origin: NumberOrigin, display: Option<&str>) -> NewNumber {
    NewNumber {
        account_id: user.account_id.clone(),
        waba_id: waba_id.to_owned(),
        phone_number_id: upstream.id.clone(),
        display_phone_number: display.map(str::to_owned).unwrap_or_else(|| upstream.display_phone_number.clone()),
        verified_name: upstream.verified_name.clone(),
        // Every new binding starts PENDING until registration or the provider says otherwise.
        status: if origin == NumberOrigin::Manual { upstream.status.clone() } else { "PENDING".to_owned() },
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

/// The lock that lets one request at a time onboard this number in this process. Across
/// processes the UNIQUE columns still make the second insert lose (see [`insert_number`]).
fn number_lock(phone_number_id: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: LazyLock<std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> = LazyLock::new(Default::default);
    let mut locks = LOCKS.lock().unwrap_or_else(PoisonError::into_inner);
    // Locks nobody holds or waits for any more are forgotten.
    locks.retain(|_, lock| lock.strong_count() > 0);
    if let Some(lock) = locks.get(phone_number_id).and_then(Weak::upgrade) {
        return lock;
    }
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    locks.insert(phone_number_id.to_owned(), Arc::downgrade(&lock));
    lock
}

/// `whatsapp/signup/complete`.
pub async fn complete_signup(state: &AppState, user: &CurrentUser, request: SignupCompleteRequest) -> Result<SignupCompleteResponse, ApiError> {
    check_signup_request(&request)?;
    let waba_id = request.waba_id.trim().to_owned();
    // The code lives 30 seconds: exchange it before anything else that talks to anyone.
    let token = state.upstream.exchange_code(request.code.trim()).await?;
    let known_waba = check_waba_owner(state, user, &waba_id).await?;
    // A number held elsewhere is refused before anything is saved: not a WABA bound here
    // without the number the sign-up was for.
    if let Some(id) = request.phone_number_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        check_number_owner(state, user, &waba_id, id).await?;
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
    let waba = save_waba(state, user, &upstream_waba, token.as_ref()).await?;

    let phone_number_id = match request.phone_number_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => Some(id.to_owned()),
        // Coexistence may finish without the number: it is the WABA's (only) number.
        None if request.flow == SignupFlow::Coexistence => Some(find_coexistence_number(state, user, &waba_id, token.as_ref()).await?),
        None => None,
    };
    let Some(phone_number_id) = phone_number_id else {
        // FINISH_ONLY_WABA: the WABA is bound, a number comes later.
        return Ok(SignupCompleteResponse { waba: waba_info(&waba), number: None, already_bound: known_waba.is_some() });
    };

    // Two completions of one sign-up at once (a double click, a retry while the first still
    // runs) take turns from here: the second then finds what the first did, instead of
    // registering or requesting the sync a second time.
    let onboarding = number_lock(&phone_number_id);
    let _turn = onboarding.lock().await;
    let existing = check_number_owner(state, user, &waba_id, &phone_number_id).await?;
    let mut already_bound = existing.is_some();
    if let Some(disconnected) = existing.as_ref().filter(|number| number.status == "DISCONNECTED") {
        // WhatsApp had disconnected it (partner removed, app inactive on the phone): the business
        // connected it again, so it is onboarded again, as it was first (register or app sync).
        reconnect(state, disconnected, token.as_ref()).await?;
    } else if let Some(bound) = existing.as_ref() {
        finish_unfinished(state, bound, token.as_ref()).await?;
    } else {
        let upstream_number = for_requested_number(state.upstream.get_number(token.as_ref(), &waba_id, &phone_number_id).await?, &phone_number_id);
        let origin = match request.flow {
            SignupFlow::Cloud => NumberOrigin::Cloud,
            SignupFlow::Coexistence => NumberOrigin::Coexistence,
        };
        if insert_number(state, new_number(user, &upstream_number, &waba_id, origin, None)).await? {
            let number = numbers::own_number(&state.db, user, &phone_number_id).await?;
            match request.flow {
                SignupFlow::Cloud => numbers::register(state, &number, token.as_ref()).await?,
                SignupFlow::Coexistence => start_coexistence(state, &number, token.as_ref(), false).await?,
            }
        } else {
            // A concurrent completion bound it a moment ago and registers it: not twice.
            already_bound = true;
        }
    }
    let number = numbers::own_number(&state.db, user, &phone_number_id).await?;
    let details = numbers::details(&state.db, number).await?;
    Ok(SignupCompleteResponse { waba: waba_info(&waba), number: Some(details), already_bound })
}

/// Completing the sign-up again after an upstream failure part-way (the number was bound, then
/// a registration or sync request failed) does the step that failed, so signing up again is a
/// way out: a coexistence number whose syncs were not all requested gets them requested, and a
/// cloud number still PENDING that the upstream does not report CONNECTED is registered. A
/// finished onboarding is left as it is (no second registration, no second sync).
async fn finish_unfinished(state: &AppState, number: &NumberRow, token: Option<&BusinessToken>) -> Result<(), ApiError> {
    match number.origin {
        NumberOrigin::Coexistence => {
            let progress = store::sync_progress(&state.db, &number.phone_number_id).await?;
            let unrequested = progress.is_none_or(|progress| progress.contacts == SyncState::NotRequested || progress.history == SyncState::NotRequested);
            if unrequested {
                tracing::info!(phone_number_id = %number.phone_number_id, "the coexistence sync was not requested yet: requesting it");
                start_coexistence(state, number, token, true).await?;
            }
            Ok(())
        }
        NumberOrigin::Cloud if number.status == "PENDING" => {
            match state.upstream.get_number(token, &number.waba_id, &number.phone_number_id).await {
                Ok(upstream) if upstream.status == "CONNECTED" => Ok(()),
                Ok(_) => {
                    tracing::info!(phone_number_id = %number.phone_number_id, "the number is not registered yet: registering it");
                    numbers::register(state, number, token).await
                }
                // Only a check: the number stays as it is, and the Numbers page offers a retry.
                Err(error) => {
                    tracing::warn!(%error, "cannot check whether a bound number is registered");
                    Ok(())
                }
            }
        }
        NumberOrigin::Cloud | NumberOrigin::Manual => Ok(()),
    }
}

async fn reconnect(state: &AppState, number: &NumberRow, token: Option<&BusinessToken>) -> Result<(), ApiError> {
    let phone_number_id = &number.phone_number_id;
    tracing::info!(%phone_number_id, "a disconnected number is connected again");
    store::change_number(&state.db, phone_number_id, &store::NumberChange::Status("PENDING".to_owned())).await?;
    match number.origin {
        NumberOrigin::Coexistence => {
            start_coexistence(state, number, token, false).await?;
            if state.upstream.as_sandbox().is_none() {
                numbers::refresh_from_upstream(state, number, token).await;
            }
            Ok(())
        }
        NumberOrigin::Cloud | NumberOrigin::Manual => numbers::register(state, number, token).await,
    }
}

async fn find_coexistence_number(state: &AppState, user: &CurrentUser, waba_id: &str, token: Option<&BusinessToken>) -> Result<String, ApiError> {
    let candidates = state.upstream.list_numbers(token, waba_id).await?;
    // Prefer a number not bound here yet; with one number (the usual case) that is it.
    let mut first_free = None;
    for candidate in &candidates {
        match store::find_number_anywhere(&state.db, &candidate.id).await? {
            Some(bound) if bound.account_id == user.account_id => return Ok(candidate.id.clone()),
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
async fn start_coexistence(state: &AppState, number: &NumberRow, token: Option<&BusinessToken>, only_missing: bool) -> Result<(), ApiError> {
    let (waba_id, phone_number_id) = (&number.waba_id, &number.phone_number_id);
    // Started again after a failure part-way: what was requested already is not requested twice
    // (and the app number was bound before any request).
    let progress = store::sync_progress(&state.db, phone_number_id).await?;
    let requested = |part: SyncPart| {
        progress.as_ref().is_some_and(|progress| {
            let state = match part {
                SyncPart::Contacts => progress.contacts,
                SyncPart::History => progress.history,
            };
            state != SyncState::NotRequested
        })
    };
    if !only_missing || !(requested(SyncPart::Contacts) || requested(SyncPart::History)) {
        state.upstream.bind_coexistence(token, waba_id, phone_number_id).await?;
    }
    store::ensure_sync_row(&state.db, phone_number_id).await?;
    for (kind, part) in [(SyncKind::Contacts, SyncPart::Contacts), (SyncKind::History, SyncPart::History)] {
        if only_missing && requested(part) {
            continue;
        }
        state.upstream.request_sync(token, waba_id, phone_number_id, kind).await?;
        // Each is requested once; a webhook that already arrived is not set back.
        store::set_sync_state(&state.db, phone_number_id, part, SyncState::Requested, &[SyncState::NotRequested]).await?;
    }
    if let Some(sandbox) = state.upstream.as_sandbox() {
        simulator::connect_later(state.db.clone(), phone_number_id.clone());
        simulator::play_coexistence_sync(
            state.db.clone(),
            SyncScript {
                waba_id: waba_id.clone(),
                phone_number_id: phone_number_id.clone(),
                display_phone_number: number.display_phone_number.clone(),
                history_declined: sandbox.history_declined(phone_number_id),
            },
        );
    }
    Ok(())
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

/// `whatsapp/account/bind` (seed 003 1.1).
pub async fn bind(state: &AppState, user: &CurrentUser, request: BindRequest) -> Result<PhoneInfo, ApiError> {
    check_account_name(user, &request.account_name)?;
    let mut errors = Vec::new();
    validation::meta_id("wabaId", &request.waba_id, &mut errors);
    validation::meta_id("phoneNumberId", &request.phone_number_id, &mut errors);
    let display = request.phone_number.as_deref().map(str::trim).filter(|number| !number.is_empty());
    if let Some(display) = display {
        validation::phone_number("phoneNumber", display, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let waba_id = request.waba_id.trim();
    let phone_number_id = request.phone_number_id.trim();
    let known_waba = check_waba_owner(state, user, waba_id).await?;
    if let Some(existing) = check_number_owner(state, user, waba_id, phone_number_id).await? {
        return Ok(numbers::phone_info(&existing));
    }
    let token = token_of(state, known_waba.as_ref());
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
    let upstream_number = for_requested_number(upstream_number, phone_number_id);
    save_waba(state, user, &upstream_waba, None).await?;
    let mut new = new_number(user, &upstream_number, waba_id, NumberOrigin::Manual, display);
    if is_sandbox(state) {
        // Like a test number: PENDING first, CONNECTED a moment later.
        new.status = "PENDING".to_owned();
    }
    insert_number(state, new).await?;
    if is_sandbox(state) {
        simulator::connect_later(state.db.clone(), phone_number_id.to_owned());
    }
    let number = numbers::own_number(&state.db, user, phone_number_id).await?;
    Ok(numbers::phone_info(&number))
}

/// `whatsapp/account/phoneInfo` (seed 003 1.2).
pub async fn phone_info(state: &AppState, user: &CurrentUser, account_name: &str, waba_id: &str) -> Result<Vec<PhoneInfo>, ApiError> {
    check_account_name(user, account_name)?;
    let mut errors = Vec::new();
    validation::meta_id("wabaId", waba_id, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let waba_id = waba_id.trim();
    if store::find_waba(&state.db, &user.account_id, waba_id).await?.is_none() {
        return Err(ApiError::not_found(format!("There is no WhatsApp Business Account {waba_id} in this account")));
    }
    let numbers = store::list_numbers_of_waba_anywhere(&state.db, waba_id).await?;
    Ok(numbers
        .iter()
        .filter(|number| number.account_id == user.account_id)
        .map(numbers::phone_info)
        .collect())
}

/// `whatsapp/account/wabaInfo` (seed 003 1.3).
pub async fn waba_list(state: &AppState, user: &CurrentUser, account_name: &str) -> Result<Vec<WabaInfo>, ApiError> {
    check_account_name(user, account_name)?;
    Ok(store::list_wabas(&state.db, &user.account_id).await?.iter().map(waba_info).collect())
}
