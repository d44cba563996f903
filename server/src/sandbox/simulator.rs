//! What Meta would do after onboarding, played back in the sandbox: a new number turns CONNECTED
//! a moment after registration, a coexistence number's contacts and chat history arrive in
//! phases, and a display name change is approved.
//!
//! Sync and name updates are Meta-shaped webhook payloads fed through the same store-then-process
//! path as real deliveries (`webhooks::process`), so the sandbox exercises the real parsing.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::AnyPool;

use crate::db::{new_id, now_millis};
use crate::webhooks::events::HISTORY_DECLINED_CODE;
use crate::channels::store::{self, NumberRow, TenantDb};
use crate::webhooks::{self, Provider, WebhookInbox};
use api_types::validation::only_digits;
use api_types::{NameDecision, NumberStatus, QualityEvent};

/// How long a test number stays PENDING after registration.
pub const CONNECT_AFTER: Duration = Duration::from_millis(1200);
/// The pause between two simulated sync deliveries.
const STEP: Duration = Duration::from_millis(150);

/// Turn the number CONNECTED shortly, if it is still bound and PENDING.
pub fn connect_later(inbox: WebhookInbox, phone_number_id: String) {
    tokio::spawn(async move {
        tokio::time::sleep(CONNECT_AFTER).await;
        match connect_if_pending(inbox.db(), &phone_number_id).await {
            Ok(true) => announce_number(&inbox, &phone_number_id).await,
            Ok(false) => {}
            Err(cause) => tracing::error!(%cause, %phone_number_id, "sandbox: cannot connect the number"),
        }
    });
}

/// A number event for the number's account, as a status webhook would make.
async fn announce_number(inbox: &WebhookInbox, phone_number_id: &str) {
    match store::owner_of_number(inbox.db(), phone_number_id).await {
        Ok(Some(owner)) => crate::channels::numbers::announce(inbox.db(), inbox.realtime(), &owner.account_id, phone_number_id).await,
        Ok(None) => {}
        Err(cause) => tracing::warn!(%cause, %phone_number_id, "sandbox: cannot find the number's account"),
    }
}

/// PENDING -> CONNECTED in one conditional write. Reading the status first and writing after
/// would overwrite whatever a webhook set in between (FLAGGED, DISCONNECTED) with an older fact.
pub async fn connect_if_pending(db: &AnyPool, phone_number_id: &str) -> Result<bool, sqlx::Error> {
    let Some(owner) = store::owner_of_number(db, phone_number_id).await? else { return Ok(false) };
    TenantDb::new(db, &owner.account_id)
        .change_status_if(phone_number_id, &NumberStatus::Pending, &NumberStatus::Connected)
        .await
}

/// What a coexistence sync plays back.
#[derive(Debug, Clone)]
pub struct SyncScript {
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub history_declined: bool,
}

/// Contacts first, then history in phases 0, 1 and 2 (or the decline error).
pub fn play_coexistence_sync(inbox: WebhookInbox, script: SyncScript) {
    tokio::spawn(async move {
        for payload in sync_payloads(&script) {
            tokio::time::sleep(STEP).await;
            deliver(&inbox, &payload).await;
        }
    });
}

/// Approve a requested display name shortly (Meta's `phone_number_name_update`).
pub fn approve_name_later(inbox: WebhookInbox, waba_id: String, display_phone_number: String, requested_name: String) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let value = json!({
            "display_phone_number": only_digits(&display_phone_number),
            "decision": NameDecision::Approved.as_str(),
            "requested_verified_name": requested_name,
            "rejection_reason": null,
            // Makes each delivery's body unique, as real ones are.
            "sandbox_delivery_id": new_id(),
        });
        deliver(&inbox, &envelope(&waba_id, "phone_number_name_update", value)).await;
    });
}

/// The webhook Meta sends when `event` happens to a number, as a tester asks for it.
pub fn simulated_event_payload(number: &NumberRow, event: api_types::SimulatedEvent) -> Value {
    use api_types::SimulatedEvent;
    let digits = only_digits(&number.display_phone_number);
    let quality_update = |event: QualityEvent, limit: &str| {
        json!({"display_phone_number": digits, "event": event.as_str(), "current_limit": limit,
            "max_daily_conversations_per_business": limit, "sandbox_delivery_id": new_id()})
    };
    match event {
        SimulatedEvent::Flagged => envelope(&number.waba_id, "phone_number_quality_update", quality_update(QualityEvent::Flagged, number.messaging_limit.as_str())),
        SimulatedEvent::Unflagged => {
            envelope(&number.waba_id, "phone_number_quality_update", quality_update(QualityEvent::Unflagged, number.messaging_limit.as_str()))
        }
        SimulatedEvent::LimitRaised => envelope(
            &number.waba_id,
            "phone_number_quality_update",
            quality_update(QualityEvent::Upgrade, number.messaging_limit.next_tier().as_str()),
        ),
        SimulatedEvent::Disconnected => envelope(
            &number.waba_id,
            "account_update",
            json!({"phone_number": digits, "event": "PARTNER_REMOVED",
                "waba_info": {"waba_id": number.waba_id, "owner_business_id": "sandbox"},
                "disconnection_info": {"reason": "PRIMARY_INACTIVITY"}, "sandbox_delivery_id": new_id()}),
        ),
    }
}

/// Store and apply a simulated delivery now, through the same path as real ones.
pub async fn deliver_now(inbox: &WebhookInbox, payload: &Value) {
    deliver(inbox, payload).await;
}

async fn deliver(inbox: &WebhookInbox, payload: &Value) {
    let body = payload.to_string();
    match webhooks::store_delivery(inbox, Provider::Sandbox, body.as_bytes()).await {
        Ok(stored) => webhooks::process(inbox, &stored).await,
        Err(cause) => tracing::error!(%cause, "sandbox: cannot store a simulated webhook"),
    }
}

fn envelope(waba_id: &str, field: &str, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"field": field, "value": value}]}],
    })
}

fn metadata(script: &SyncScript) -> Value {
    json!({
        "display_phone_number": only_digits(&script.display_phone_number),
        "phone_number_id": script.phone_number_id,
    })
}

/// The sandbox's customers, as the business app knows them.
const CONTACTS: &[(&str, &str)] = &[
    ("Ana Souza", "5511955550101"),
    ("Budi Santoso", "6281255550102"),
    ("Chen Wei", "8613855550103"),
    ("Dana Levi", "97255550104"),
    ("Emma Brown", "14155550105"),
];

fn sync_payloads(script: &SyncScript) -> Vec<Value> {
    let now_seconds = now_millis() / 1000;
    let contacts: Vec<Value> = CONTACTS
        .iter()
        .map(|(name, phone)| {
            json!({
                "type": "contact",
                "contact": {"full_name": name, "first_name": name.split(' ').next(), "phone_number": phone},
                "action": "add",
                "metadata": {"timestamp": now_seconds.to_string()},
            })
        })
        .collect();
    let mut payloads = vec![envelope(
        &script.waba_id,
        "smb_app_state_sync",
        json!({"messaging_product": "whatsapp", "metadata": metadata(script), "state_sync": contacts}),
    )];
    if script.history_declined {
        payloads.push(envelope(
            &script.waba_id,
            "history",
            json!({"messaging_product": "whatsapp", "metadata": metadata(script), "history": [{"errors": [{
                "code": HISTORY_DECLINED_CODE,
                "title": "History sync is turned off by the business from the WhatsApp Business App",
                "message": "History sync is turned off by the business from the WhatsApp Business App",
                "error_data": {"details": "The business declined to share chat history"},
                "sandbox_delivery_id": new_id(),
            }]}]}),
        ));
        return payloads;
    }
    let chunks: [(i64, i64, i64); 5] = [(0, 1, 100), (1, 1, 50), (1, 2, 100), (2, 1, 50), (2, 2, 100)];
    for (chunk_index, (phase, chunk_order, progress)) in chunks.into_iter().enumerate() {
        let threads: Vec<Value> = CONTACTS
            .iter()
            .take(2 + chunk_index % 3)
            .map(|(_, phone)| {
                json!({"id": phone, "messages": [
                    {"from": phone, "id": format!("wamid.sandbox.{}", new_id()), "timestamp": now_seconds.to_string(),
                     "type": "text", "text": {"body": "Hello!"}, "history_context": {"status": "READ"}},
                    {"from": only_digits(&script.display_phone_number), "to": phone,
                     "id": format!("wamid.sandbox.{}", new_id()), "timestamp": now_seconds.to_string(),
                     "type": "text", "text": {"body": "Hi, how can we help?"}, "history_context": {"status": "DELIVERED"}},
                ]})
            })
            .collect();
        payloads.push(envelope(
            &script.waba_id,
            "history",
            json!({"messaging_product": "whatsapp", "metadata": metadata(script), "history": [{
                "metadata": {"phase": phase, "chunk_order": chunk_order, "progress": progress},
                "threads": threads,
            }]}),
        ));
    }
    payloads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::events::NumberEvent;
    use crate::webhooks::meta_payload;

    #[test]
    fn the_script_parses_into_contacts_then_history_to_completion() {
        let script = SyncScript {
            waba_id: "1000000000000002".to_owned(),
            phone_number_id: "2000000000000003".to_owned(),
            display_phone_number: "+1 555-0102".to_owned(),
            history_declined: false,
        };
        let events: Vec<NumberEvent> =
            sync_payloads(&script).iter().flat_map(|payload| meta_payload::parse(payload).unwrap()).collect();
        assert!(matches!(&events[0], NumberEvent::Contacts { changes, .. } if changes.len() == CONTACTS.len()));
        assert!(matches!(events.last(), Some(NumberEvent::HistoryChunk { phase: 2, progress: 100, .. })));
        let declined = SyncScript { history_declined: true, ..script };
        let events: Vec<NumberEvent> =
            sync_payloads(&declined).iter().flat_map(|payload| meta_payload::parse(payload).unwrap()).collect();
        assert!(matches!(events.last(), Some(NumberEvent::HistoryDeclined { .. })));
    }
}

#[cfg(test)]
mod connect_tests {
    use super::*;
    use crate::webhooks::events::{apply_events, NumberEvent, NumberKey};
    use crate::channels::test_database::{TestDatabase, NUMBER_DIGITS, NUMBER_ID};
    use api_types::MessagingLimit;

    #[tokio::test]
    async fn a_pending_number_turns_connected() {
        let test = TestDatabase::with_number(NumberStatus::Pending).await;
        assert!(connect_if_pending(&test.db, NUMBER_ID).await.unwrap());
        assert_eq!(test.number_state().await.0, NumberStatus::Connected);
    }

    #[tokio::test]
    async fn a_flag_that_arrives_while_pending_is_not_overwritten_by_the_connect() {
        let test = TestDatabase::with_number(NumberStatus::Pending).await;
        // The simulator has seen PENDING and decided to connect; a quality webhook lands first.
        let flagged = NumberEvent::Quality {
            waba_id: Some("1000000000000001".to_owned()),
            number: NumberKey::DisplayDigits(NUMBER_DIGITS.to_owned()),
            quality_rating: None,
            messaging_limit: Some(MessagingLimit::Tier2K),
            status: Some(NumberStatus::Flagged),
        };
        apply_events(&test.db, &crate::realtime::Realtime::default(), &[flagged]).await.unwrap();
        assert!(!connect_if_pending(&test.db, NUMBER_ID).await.unwrap());
        assert_eq!(test.number_state().await, (NumberStatus::Flagged, MessagingLimit::Tier2K));
    }
}
