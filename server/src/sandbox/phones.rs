//! Customers' phones, simulated (issue 9 "Sandbox phone"): what each customer's WhatsApp shows of
//! their chat with a business number. The sandbox upstream writes here what the business sends
//! (`business_sent`, `business_read`, `business_typing`); the `/sandbox/phone` page reads the
//! threads and makes the customer act (send, read), which reaches the console as webhooks.
//!
//! In memory, like the rest of the sandbox: a restart forgets the phones, not the console's data.

use std::collections::HashMap;
use std::sync::Mutex;

use api_types::{MessageStatus, MessageType};
use tokio::sync::watch;

use crate::channels::upstream::messaging::{MediaFile, OutgoingMessage, Recipient};

/// A customer as the phones know them: their WhatsApp id, or their user id when they have no number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomerKey {
    WaId(String),
    UserId(String),
}

impl CustomerKey {
    /// The key a business send goes to (its WhatsApp id first).
    pub fn of(recipient: &Recipient) -> Option<CustomerKey> {
        match (&recipient.wa_id, &recipient.user_id) {
            (Some(wa_id), _) => Some(CustomerKey::WaId(wa_id.clone())),
            (None, Some(user_id)) => Some(CustomerKey::UserId(user_id.clone())),
            (None, None) => None,
        }
    }
}

/// One message on a customer's phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneMessage {
    pub wamid: String,
    /// True for what the business sent; false for what the customer sent.
    pub from_business: bool,
    pub kind: MessageType,
    pub text: Option<String>,
    /// The sandbox media id of an attached file ([`SandboxPhones::media`]).
    pub media_id: Option<String>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    /// Business messages: how far they got (sent, delivered, read). Customer messages: read once the business read them.
    pub status: MessageStatus,
    /// Unix milliseconds.
    pub at: i64,
}

#[derive(Default)]
struct Phones {
    /// (business phone_number_id, customer) -> the thread, oldest first.
    threads: HashMap<(String, CustomerKey), Vec<PhoneMessage>>,
    /// Media by sandbox media id: uploaded by the business, or sent by a customer.
    media: HashMap<String, MediaFile>,
    /// (business phone_number_id, customer) -> until when (unix ms) the customer sees "typing…".
    typing_until: HashMap<(String, CustomerKey), i64>,
}

/// Every simulated customer phone of one server.
pub struct SandboxPhones {
    phones: Mutex<Phones>,
    /// Bumped on every change, so a page (or a test) can wait for the next one.
    version: watch::Sender<u64>,
}

impl Default for SandboxPhones {
    fn default() -> Self {
        SandboxPhones { phones: Mutex::default(), version: watch::channel(0).0 }
    }
}

impl SandboxPhones {
    fn phones(&self) -> std::sync::MutexGuard<'_, Phones> {
        self.phones.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        self.version.send_modify(|version| *version += 1);
    }

    /// Wait for the next change with `subscribe().changed()`.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// The business sent `message` (accepted as `wamid`): it appears on the customer's phone as sent.
    pub fn business_sent(&self, phone_number_id: &str, message: &OutgoingMessage, wamid: &str, at: i64) {
        let Some(customer) = CustomerKey::of(&message.to) else { return };
        let media = message.media.as_ref();
        let entry = PhoneMessage {
            wamid: wamid.to_owned(),
            from_business: true,
            kind: message.kind.clone(),
            text: message.text.clone().or_else(|| media.and_then(|media| media.caption.clone())),
            media_id: media.and_then(|media| media.upstream_media_id.clone()),
            mime_type: media.map(|media| media.mime_type.clone()),
            file_name: media.and_then(|media| media.file_name.clone()),
            status: MessageStatus::Sent,
            at,
        };
        let mut phones = self.phones();
        phones.typing_until.remove(&(phone_number_id.to_owned(), customer.clone()));
        phones.threads.entry((phone_number_id.to_owned(), customer)).or_default().push(entry);
        drop(phones);
        self.changed();
    }

    /// The customer sent a message (the phone page records it before its webhook goes out).
    pub fn customer_sent(&self, phone_number_id: &str, customer: &CustomerKey, message: PhoneMessage) {
        self.phones().threads.entry((phone_number_id.to_owned(), customer.clone())).or_default().push(message);
        self.changed();
    }

    /// Move a message on a phone to `status` when that is further than where it is. Returns the
    /// customer whose phone holds it, when one does.
    pub fn advance(&self, phone_number_id: &str, wamid: &str, status: MessageStatus) -> Option<CustomerKey> {
        let mut phones = self.phones();
        let mut found = None;
        for ((number, customer), thread) in phones.threads.iter_mut() {
            if number != phone_number_id {
                continue;
            }
            if let Some(message) = thread.iter_mut().find(|message| message.wamid == wamid) {
                if status.rank() > message.status.rank() {
                    message.status = status.clone();
                }
                found = Some(customer.clone());
                break;
            }
        }
        drop(phones);
        if found.is_some() {
            self.changed();
        }
        found
    }

    /// The business read the customer's message `wamid` (and, as WhatsApp does, everything before it).
    pub fn business_read(&self, phone_number_id: &str, wamid: &str) {
        let mut phones = self.phones();
        for ((number, _), thread) in phones.threads.iter_mut() {
            if number != phone_number_id {
                continue;
            }
            if let Some(position) = thread.iter().position(|message| message.wamid == wamid && !message.from_business) {
                for message in thread[..=position].iter_mut().filter(|message| !message.from_business) {
                    message.status = MessageStatus::Read;
                }
                break;
            }
        }
        drop(phones);
        self.changed();
    }

    /// The business is typing to the customer who sent `wamid`: shown until `until` (unix ms) or the next business message.
    pub fn business_typing(&self, phone_number_id: &str, wamid: &str, until: i64) {
        let mut phones = self.phones();
        let customer = phones
            .threads
            .iter()
            .find(|((number, _), thread)| number == phone_number_id && thread.iter().any(|message| message.wamid == wamid))
            .map(|((_, customer), _)| customer.clone());
        if let Some(customer) = customer {
            phones.typing_until.insert((phone_number_id.to_owned(), customer), until);
        }
        drop(phones);
        self.changed();
    }

    /// Whether the customer sees the business typing at `now` (unix ms).
    pub fn is_typing(&self, phone_number_id: &str, customer: &CustomerKey, now: i64) -> bool {
        self.phones()
            .typing_until
            .get(&(phone_number_id.to_owned(), customer.clone()))
            .is_some_and(|until| *until > now)
    }

    /// The customer's chat with the business number, oldest first.
    pub fn thread(&self, phone_number_id: &str, customer: &CustomerKey) -> Vec<PhoneMessage> {
        self.phones().threads.get(&(phone_number_id.to_owned(), customer.clone())).cloned().unwrap_or_default()
    }

    /// Every customer who has a chat with the business number.
    pub fn customers_of(&self, phone_number_id: &str) -> Vec<CustomerKey> {
        self.phones().threads.keys().filter(|(number, _)| number == phone_number_id).map(|(_, customer)| customer.clone()).collect()
    }

    /// Keep a file under `media_id` (a business upload or a customer's attachment).
    pub fn put_media(&self, media_id: &str, file: MediaFile) {
        self.phones().media.insert(media_id.to_owned(), file);
    }

    pub fn media(&self, media_id: &str) -> Option<MediaFile> {
        self.phones().media.get(media_id).cloned()
    }
}
