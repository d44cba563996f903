//! What a webhook can tell us about a number, whichever provider sent it, and how each fact
//! changes the store. Meta's, YCloud's and the sandbox's payloads are all parsed into these.
//!
//! Applying an event twice leaves the same state (contacts are a set, phases only move forward),
//! except history message counts, which is why a redelivered body is skipped before this point.

use api_types::{MessagingLimit, NumberStatus, QualityRating, SyncState, WabaStatus};
use sqlx::AnyPool;

use crate::channels::numbers;
use crate::channels::store::{self, DbResult, NumberChange, SyncPart, TenantDb};
use crate::realtime::Realtime;

/// Names a number the way the payload does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NumberKey {
    Id(String),
    /// The display number's digits (Meta's quality and name webhooks carry only that).
    DisplayDigits(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChange {
    Added { phone: String, full_name: String },
    Removed { phone: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberEvent {
    /// `waba_id` is the WABA the delivery names (Meta's `entry[].id`, YCloud's `wabaId`): a number
    /// named only by its display digits is looked for in that WABA alone.
    Quality {
        waba_id: Option<String>,
        number: NumberKey,
        quality_rating: Option<QualityRating>,
        messaging_limit: Option<MessagingLimit>,
        status: Option<NumberStatus>,
    },
    NameReviewed { waba_id: Option<String>, number: NumberKey, approved: bool, name: Option<String> },
    /// The business removed us (`PARTNER_REMOVED`), or the number/WABA was deleted upstream.
    Offboarded { waba_id: Option<String>, number: Option<NumberKey>, reason: Option<String> },
    Contacts { phone_number_id: String, changes: Vec<ContactChange> },
    HistoryChunk { phone_number_id: String, phase: i64, progress: i64, messages: i64 },
    /// Error 2593109: the business chose not to share its chat history.
    HistoryDeclined { phone_number_id: String },
    HistoryFailed { phone_number_id: String, reason: String },
    /// WhatsApp banned the WABA (`DISABLED_UPDATE` with ban state `DISABLE`) or lifted the ban
    /// (`REINSTATE`). A ban that is only scheduled changes nothing yet.
    WabaBan { waba_id: String, banned: bool },
}

/// A payload's text as the database can keep it. A JSON string may carry NUL (`\u0000`), which
/// PostgreSQL TEXT cannot hold: left in, the update would fail every time it is tried, and the
/// delivery would stay pending in front of every later one.
pub fn storable_text(text: &str) -> String {
    text.replace('\0', "")
}

/// Meta's error code when the business declines to share history.
pub const HISTORY_DECLINED_CODE: i64 = 2_593_109;

/// How many events found a bound number.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub matched: usize,
    pub unmatched: usize,
}

/// The account holding a number by its id, as its `TenantDb`, with the WABA it is bound through.
async fn tenant_of_number(db: &AnyPool, phone_number_id: &str) -> DbResult<Option<(TenantDb, String)>> {
    Ok(store::owner_of_number(db, phone_number_id)
        .await?
        .map(|owner| (TenantDb::new(db, &owner.account_id), owner.waba_id)))
}

/// The account holding a WABA, as its `TenantDb`.
async fn tenant_of_waba(db: &AnyPool, waba_id: Option<&str>) -> DbResult<Option<TenantDb>> {
    let Some(waba_id) = waba_id.filter(|id| !id.is_empty()) else { return Ok(None) };
    Ok(store::owner_of_waba(db, waba_id).await?.map(|account_id| TenantDb::new(db, &account_id)))
}

/// The bound numbers a key names, each with its account's `TenantDb` (none when the number is
/// not bound here, or was removed).
///
/// An id is Meta's and one account holds it; when the delivery also names a WABA, the number
/// must be bound through that WABA. Display digits are not unique across WhatsApp, so a number
/// named only by them is looked for inside the WABA the delivery names, in the account holding
/// that WABA, and nowhere else: an event for a WABA no account holds changes nothing.
pub(crate) async fn resolve(db: &AnyPool, waba_id: Option<&str>, key: &NumberKey) -> DbResult<Vec<(TenantDb, String)>> {
    match key {
        NumberKey::Id(id) => Ok(match tenant_of_number(db, id).await? {
            Some((tenant, bound_waba)) if waba_id.is_none_or(|waba_id| waba_id == bound_waba) => vec![(tenant, id.clone())],
            _ => Vec::new(),
        }),
        NumberKey::DisplayDigits(digits) => {
            let (Some(waba_id), Some(tenant)) = (waba_id, tenant_of_waba(db, waba_id).await?) else {
                return Ok(Vec::new());
            };
            let numbers = tenant.find_numbers_by_display(waba_id, digits).await?;
            Ok(numbers.into_iter().map(|number| (tenant.clone(), number.phone_number_id)).collect())
        }
    }
}

/// Apply each event to the account it belongs to, then announce each number it changed on
/// `realtime` (a `number` event with what the Numbers page shows). Returns how many found a
/// bound number.
pub async fn apply_events(db: &AnyPool, realtime: &Realtime, events: &[NumberEvent]) -> DbResult<Applied> {
    let mut applied = Applied::default();
    let mut changed = ChangedNumbers::default();
    for event in events {
        if apply_event(db, event, &mut changed).await? {
            applied.matched += 1;
        } else {
            applied.unmatched += 1;
        }
    }
    for (account_id, phone_number_id) in &changed.0 {
        numbers::announce(db, realtime, account_id, phone_number_id).await;
    }
    Ok(applied)
}

/// (account, number) of each number a delivery changed, once each.
#[derive(Debug, Default)]
struct ChangedNumbers(Vec<(String, String)>);

impl ChangedNumbers {
    fn add(&mut self, tenant: &TenantDb, phone_number_id: &str) {
        let key = (tenant.account_id().to_owned(), phone_number_id.to_owned());
        if !self.0.contains(&key) {
            self.0.push(key);
        }
    }
}

/// Apply one event; false when it names no bound number.
async fn apply_event(db: &AnyPool, event: &NumberEvent, changed: &mut ChangedNumbers) -> DbResult<bool> {
    match event {
        NumberEvent::WabaBan { waba_id, banned } => {
            let Some(tenant) = tenant_of_waba(db, Some(waba_id)).await? else { return Ok(false) };
            tracing::info!(%waba_id, banned, "WhatsApp changed the WABA's ban state");
            // Lifting a ban puts back the approved state a working WABA has; it never
            // approves a WABA that was not disabled.
            if *banned {
                tenant.set_waba_status(waba_id, &WabaStatus::Disabled, None).await
            } else {
                tenant.set_waba_status(waba_id, &WabaStatus::Approved, Some(&WabaStatus::Disabled)).await
            }
        }
        NumberEvent::Quality { waba_id, number, quality_rating, messaging_limit, status } => {
            let targets = resolve(db, waba_id.as_deref(), number).await?;
            for (tenant, id) in &targets {
                if let Some(rating) = quality_rating {
                    tenant.change_number(id, &NumberChange::QualityRating(rating.clone())).await?;
                }
                if let Some(limit) = messaging_limit {
                    tenant.change_number(id, &NumberChange::MessagingLimit(limit.clone())).await?;
                }
                if let Some(status) = status {
                    tenant.change_number(id, &NumberChange::Status(status.clone())).await?;
                }
                changed.add(tenant, id);
            }
            Ok(!targets.is_empty())
        }
        NumberEvent::NameReviewed { waba_id, number, approved, name } => {
            let targets = resolve(db, waba_id.as_deref(), number).await?;
            for (tenant, id) in &targets {
                if *approved {
                    let current = tenant.find_number(id).await?;
                    let new_name = name.clone().or_else(|| current.and_then(|number| number.requested_verified_name));
                    if let Some(new_name) = new_name {
                        tenant.change_number(id, &NumberChange::VerifiedName(new_name)).await?;
                    }
                }
                tenant.change_number(id, &NumberChange::RequestedVerifiedName(None)).await?;
                changed.add(tenant, id);
            }
            Ok(!targets.is_empty())
        }
        NumberEvent::Offboarded { waba_id, number, reason } => {
            let targets = match number {
                Some(key) => resolve(db, waba_id.as_deref(), key).await?,
                // The whole WABA: every number of it, in the account holding it.
                None => match tenant_of_waba(db, waba_id.as_deref()).await? {
                    Some(tenant) => {
                        let numbers = tenant.list_numbers_of_waba(waba_id.as_deref().unwrap_or_default()).await?;
                        numbers.into_iter().map(|number| (tenant.clone(), number.phone_number_id)).collect()
                    }
                    None => Vec::new(),
                },
            };
            for (tenant, id) in &targets {
                tracing::info!(phone_number_id = %id, reason = reason.as_deref().unwrap_or(""), "number offboarded");
                tenant.disconnect_number(id, reason.as_deref()).await?;
                changed.add(tenant, id);
            }
            Ok(!targets.is_empty())
        }
        NumberEvent::Contacts { phone_number_id, changes } => {
            let Some((tenant, _)) = tenant_of_number(db, phone_number_id).await? else { return Ok(false) };
            for change in changes {
                match change {
                    ContactChange::Added { phone, full_name } => tenant.upsert_sync_contact(phone_number_id, phone, full_name).await?,
                    ContactChange::Removed { phone } => tenant.remove_sync_contact(phone_number_id, phone).await?,
                }
            }
            // Meta sends no "contacts done" marker: the first batch completes the sync, and later
            // batches (contacts edited on the phone) only move the count.
            tenant
                .set_sync_state(
                    phone_number_id,
                    SyncPart::Contacts,
                    SyncState::Completed,
                    &[SyncState::NotRequested, SyncState::Requested, SyncState::InProgress, SyncState::Failed],
                )
                .await?;
            changed.add(&tenant, phone_number_id);
            Ok(true)
        }
        NumberEvent::HistoryChunk { phone_number_id, phase, progress, messages } => {
            let Some((tenant, _)) = tenant_of_number(db, phone_number_id).await? else { return Ok(false) };
            tenant.record_history_chunk(phone_number_id, *phase, *progress, *messages).await?;
            changed.add(&tenant, phone_number_id);
            Ok(true)
        }
        NumberEvent::HistoryDeclined { phone_number_id } => {
            let Some((tenant, _)) = tenant_of_number(db, phone_number_id).await? else { return Ok(false) };
            tenant.set_sync_state(phone_number_id, SyncPart::History, SyncState::Declined, &[]).await?;
            changed.add(&tenant, phone_number_id);
            Ok(true)
        }
        NumberEvent::HistoryFailed { phone_number_id, reason } => {
            let Some((tenant, _)) = tenant_of_number(db, phone_number_id).await? else { return Ok(false) };
            tracing::warn!(%phone_number_id, %reason, "history sync failed");
            tenant
                .set_sync_state(
                    phone_number_id,
                    SyncPart::History,
                    SyncState::Failed,
                    &[SyncState::NotRequested, SyncState::Requested, SyncState::InProgress],
                )
                .await?;
            changed.add(&tenant, phone_number_id);
            Ok(true)
        }
    }
}
