//! What a webhook can tell us about a number, whichever provider sent it, and how each fact
//! changes the store. Meta's, YCloud's and the sandbox's payloads are all parsed into these.
//!
//! Applying an event twice leaves the same state (contacts are a set, phases only move forward),
//! except history message counts, which is why a redelivered body is skipped before this point.

use api_types::SyncState;
use sqlx::AnyPool;

use super::store::{self, DbResult, NumberChange, SyncPart};

/// Names a number the way the payload does.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    Status { number: NumberKey, status: String },
    Quality { number: NumberKey, quality_rating: Option<String>, messaging_limit: Option<String>, status: Option<String> },
    NameReviewed { number: NumberKey, approved: bool, name: Option<String> },
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

/// The bound numbers a key names (none when the number is not bound here, or was removed).
async fn resolve(db: &AnyPool, key: &NumberKey) -> DbResult<Vec<String>> {
    Ok(match key {
        NumberKey::Id(id) => store::find_number_anywhere(db, id)
            .await?
            .map(|number| vec![number.phone_number_id])
            .unwrap_or_default(),
        NumberKey::DisplayDigits(digits) if !digits.is_empty() => store::find_numbers_by_display_anywhere(db, digits)
            .await?
            .into_iter()
            .map(|number| number.phone_number_id)
            .collect(),
        NumberKey::DisplayDigits(_) => Vec::new(),
    })
}

async fn bound(db: &AnyPool, phone_number_id: &str) -> DbResult<bool> {
    Ok(store::find_number_anywhere(db, phone_number_id).await?.is_some())
}

pub async fn apply_events(db: &AnyPool, events: &[NumberEvent]) -> DbResult<Applied> {
    let mut applied = Applied::default();
    for event in events {
        if apply_event(db, event).await? {
            applied.matched += 1;
        } else {
            applied.unmatched += 1;
        }
    }
    Ok(applied)
}

/// Apply one event; false when it names no bound number.
async fn apply_event(db: &AnyPool, event: &NumberEvent) -> DbResult<bool> {
    match event {
        NumberEvent::WabaBan { waba_id, banned } => {
            tracing::info!(%waba_id, banned, "WhatsApp changed the WABA's ban state");
            // Lifting a ban puts back the approved state a working WABA has; it never
            // approves a WABA that was not disabled.
            let (status, only_from) = if *banned { ("DISABLED", None) } else { ("APPROVED", Some("DISABLED")) };
            store::set_waba_status(db, waba_id, status, only_from).await
        }
        NumberEvent::Status { number, status } => {
            let ids = resolve(db, number).await?;
            for id in &ids {
                store::change_number(db, id, &NumberChange::Status(status.clone())).await?;
            }
            Ok(!ids.is_empty())
        }
        NumberEvent::Quality { number, quality_rating, messaging_limit, status } => {
            let ids = resolve(db, number).await?;
            for id in &ids {
                if let Some(rating) = quality_rating {
                    store::change_number(db, id, &NumberChange::QualityRating(rating.clone())).await?;
                }
                if let Some(limit) = messaging_limit {
                    store::change_number(db, id, &NumberChange::MessagingLimit(limit.clone())).await?;
                }
                if let Some(status) = status {
                    store::change_number(db, id, &NumberChange::Status(status.clone())).await?;
                }
            }
            Ok(!ids.is_empty())
        }
        NumberEvent::NameReviewed { number, approved, name } => {
            let ids = resolve(db, number).await?;
            for id in &ids {
                if *approved {
                    let current = store::find_number_anywhere(db, id).await?;
                    let new_name = name.clone().or_else(|| current.and_then(|number| number.requested_verified_name));
                    if let Some(new_name) = new_name {
                        store::change_number(db, id, &NumberChange::VerifiedName(new_name)).await?;
                    }
                }
                store::change_number(db, id, &NumberChange::RequestedVerifiedName(None)).await?;
            }
            Ok(!ids.is_empty())
        }
        NumberEvent::Offboarded { waba_id, number, reason } => {
            let mut ids = match number {
                Some(key) => resolve(db, key).await?,
                None => Vec::new(),
            };
            if let (true, Some(waba_id)) = (ids.is_empty() && number.is_none(), waba_id) {
                ids = store::list_numbers_of_waba_anywhere(db, waba_id)
                    .await?
                    .into_iter()
                    .map(|number| number.phone_number_id)
                    .collect();
            }
            for id in &ids {
                tracing::info!(phone_number_id = %id, reason = reason.as_deref().unwrap_or(""), "number offboarded");
                store::disconnect_number(db, id, reason.as_deref()).await?;
            }
            Ok(!ids.is_empty())
        }
        NumberEvent::Contacts { phone_number_id, changes } => {
            if !bound(db, phone_number_id).await? {
                return Ok(false);
            }
            for change in changes {
                match change {
                    ContactChange::Added { phone, full_name } => {
                        store::upsert_sync_contact(db, phone_number_id, phone, full_name).await?
                    }
                    ContactChange::Removed { phone } => store::remove_sync_contact(db, phone_number_id, phone).await?,
                }
            }
            // Meta sends no "contacts done" marker: the first batch completes the sync, and later
            // batches (contacts edited on the phone) only move the count.
            store::set_sync_state(
                db,
                phone_number_id,
                SyncPart::Contacts,
                SyncState::Completed,
                &[SyncState::NotRequested, SyncState::Requested, SyncState::InProgress, SyncState::Failed],
            )
            .await?;
            Ok(true)
        }
        NumberEvent::HistoryChunk { phone_number_id, phase, progress, messages } => {
            if !bound(db, phone_number_id).await? {
                return Ok(false);
            }
            store::record_history_chunk(db, phone_number_id, *phase, *progress, *messages).await?;
            Ok(true)
        }
        NumberEvent::HistoryDeclined { phone_number_id } => {
            if !bound(db, phone_number_id).await? {
                return Ok(false);
            }
            store::set_sync_state(db, phone_number_id, SyncPart::History, SyncState::Declined, &[]).await?;
            Ok(true)
        }
        NumberEvent::HistoryFailed { phone_number_id, reason } => {
            if !bound(db, phone_number_id).await? {
                return Ok(false);
            }
            tracing::warn!(%phone_number_id, %reason, "history sync failed");
            store::set_sync_state(
                db,
                phone_number_id,
                SyncPart::History,
                SyncState::Failed,
                &[SyncState::NotRequested, SyncState::Requested, SyncState::InProgress],
            )
            .await?;
            Ok(true)
        }
    }
}
