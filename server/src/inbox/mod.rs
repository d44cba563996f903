//! The team inbox's ingestion: what message webhooks tell us (messages, echoes, statuses,
//! reactions), whichever provider sent them, as [`MessageEvent`]s, and how they change the
//! account's contacts, conversations and messages ([`apply_events`]).
//!
//! Applying is idempotent: a message is stored once per (business number, wamid), statuses only
//! move up [`MessageStatus::rank`], reactions only move forward in time. So a delivery applied
//! twice (its outcome could not be recorded, and it was tried again) changes nothing more.

pub mod clock;
pub mod content;
pub mod media;
pub mod outbox;
pub mod receipts;
mod routes;
mod send_routes;
pub mod store;
pub mod workers;

pub use routes::api_routes;

use std::collections::{BTreeMap, HashMap, HashSet};

use api_types::{MessageDirection, MessageOrigin, MessageStatus, MessageType};
use sqlx::AnyPool;

use crate::channels::store::DbResult;
use crate::realtime::Realtime;
use crate::webhooks::events::{self, Applied, NumberKey};

use self::store::{Changes, InboxDb};

/// A customer as a payload names them: by WhatsApp id (phone digits), business-scoped user id, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    /// The WhatsApp profile name, when the payload carries one.
    pub name: Option<String>,
}

impl Customer {
    pub fn is_known(&self) -> bool {
        self.wa_id.is_some() || self.user_id.is_some()
    }
}

/// The first entry of `errors[]` (Meta) or the provider's error fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageError {
    pub code: Option<String>,
    pub title: Option<String>,
    pub details: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Media {
    pub id: Option<String>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    pub caption: Option<String>,
    pub sha256: Option<String>,
    /// YCloud's download link.
    pub link: Option<String>,
}

/// A reaction: attached to the message it reacts to; an empty emoji removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub target_wamid: String,
    pub emoji: String,
}

/// What a message object says, whatever the provider (their message objects share Meta's shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// A type we do not know is [`MessageType::Unsupported`]; the payload keeps what it was.
    pub kind: MessageType,
    pub text: Option<String>,
    pub media: Option<Media>,
    pub reply_to: Option<String>,
    pub error: Option<MessageError>,
    pub reaction: Option<Reaction>,
    /// The message object as sent (JSON).
    pub payload: String,
}

/// A message to or from a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIn {
    pub waba_id: Option<String>,
    pub number: NumberKey,
    pub customer: Customer,
    pub wamid: String,
    pub direction: MessageDirection,
    pub origin: MessageOrigin,
    /// Unix milliseconds.
    pub timestamp: i64,
    pub content: Content,
}

/// A status of a message the business sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusIn {
    pub waba_id: Option<String>,
    pub number: NumberKey,
    pub wamid: String,
    pub status: MessageStatus,
    pub error: Option<MessageError>,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageEvent {
    Message(MessageIn),
    Status(StatusIn),
}

impl MessageEvent {
    fn number(&self) -> (Option<&str>, &NumberKey) {
        match self {
            MessageEvent::Message(message) => (message.waba_id.as_deref(), &message.number),
            MessageEvent::Status(status) => (status.waba_id.as_deref(), &status.number),
        }
    }
}

/// Apply a delivery's message events, in one transaction: each goes to the account holding its
/// number (events for numbers not bound here count as unmatched). What changed is recorded as
/// inbox events in the same transaction, and announced on `realtime` once it has committed; a
/// redelivery that changes nothing records none.
pub async fn apply_events(db: &AnyPool, realtime: &Realtime, events: &[MessageEvent]) -> DbResult<Applied> {
    let mut applied = Applied::default();
    let mut targets = Vec::new();
    // A batch is mostly one number's: each is looked up once.
    let mut resolved: HashMap<(Option<&str>, &NumberKey), Option<(String, String)>> = HashMap::new();
    for event in events {
        let (waba_id, key) = event.number();
        let target = match resolved.get(&(waba_id, key)) {
            Some(target) => target.clone(),
            None => {
                let target = events::resolve(db, waba_id, key)
                    .await?
                    .into_iter()
                    .next()
                    .map(|(tenant, phone_number_id)| (tenant.account_id().to_owned(), phone_number_id));
                resolved.insert((waba_id, key), target.clone());
                target
            }
        };
        match target {
            Some((account_id, phone_number_id)) => {
                let tenant = account_id;
                applied.matched += 1;
                targets.push((InboxDb::new(&tenant), phone_number_id, event));
            }
            None => applied.unmatched += 1,
        }
    }
    if targets.is_empty() {
        return Ok(applied);
    }
    let mut transaction = db.begin().await?;
    // Take the write lock first (SQLite) and the numbers' row locks (PostgreSQL), before any read.
    let mut locked = HashSet::new();
    for (inbox, phone_number_id, _) in &targets {
        if locked.insert((inbox.account_id(), phone_number_id.as_str())) {
            inbox.lock_number(&mut transaction, phone_number_id).await?;
        }
    }
    // By account, in one order: transactions touching several accounts take their event
    // counters in the same order, so they never wait on each other in a circle.
    let mut changes: BTreeMap<String, (InboxDb, Changes)> = BTreeMap::new();
    // What the messages will ask of each number's contacts and conversations, read at once.
    for (account_id, phone_number_id) in &locked {
        let (inbox, account_changes) =
            changes.entry((*account_id).to_owned()).or_insert_with(|| (InboxDb::new(account_id), Changes::default()));
        let customers = targets.iter().filter_map(|(target, number, event)| match event {
            MessageEvent::Message(message) if target.account_id() == *account_id && number == phone_number_id => Some(&message.customer),
            _ => None,
        });
        inbox.preload(&mut transaction, phone_number_id, customers, account_changes).await?;
    }
    // In order; a run of messages of one number (no reaction among them) goes in together.
    let mut at = 0;
    while at < targets.len() {
        let (inbox, phone_number_id, event) = &targets[at];
        let (_, account_changes) =
            changes.entry(inbox.account_id().to_owned()).or_insert_with(|| (inbox.clone(), Changes::default()));
        let plain = |event: &MessageEvent| matches!(event, MessageEvent::Message(message) if message.content.reaction.is_none());
        let run: Vec<&MessageIn> = targets[at..]
            .iter()
            .take_while(|(other, number, event)| other.account_id() == inbox.account_id() && number == phone_number_id && plain(event))
            .filter_map(|(_, _, event)| match event {
                MessageEvent::Message(message) => Some(message),
                MessageEvent::Status(_) => None,
            })
            .collect();
        if run.len() > 1 {
            inbox.record_messages(&mut transaction, phone_number_id, &run, account_changes).await?;
            at += run.len();
            continue;
        }
        match event {
            MessageEvent::Message(message) => inbox.record_message(&mut transaction, phone_number_id, message, account_changes).await?,
            MessageEvent::Status(status) => inbox.record_status(&mut transaction, phone_number_id, status, account_changes).await?,
        }
        at += 1;
    }
    let mut announced = Vec::new();
    for (account_id, (inbox, account_changes)) in &changes {
        if let Some(last_id) = inbox.record_events(&mut transaction, account_changes).await? {
            announced.push((account_id, last_id));
        }
    }
    transaction.commit().await?;
    for (account_id, last_id) in announced {
        realtime.committed(account_id, last_id);
    }
    Ok(applied)
}
