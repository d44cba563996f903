//! Real time: the one event stream of the logged-in app and the one dispatcher that applies
//! every event to the stores the pages read (Chatwoot's "one map from event name to handler").
//!
//! The app frame opens the stream ([`start_stream`]) and provides [`Realtime`]; pages read its
//! stores and [`Realtime::reloads`], which counts the times they must load their lists again:
//! after the stream was down (events may have been missed) or when the server asks (`reset`).

use api_types::{InboxEvent, InboxEventData};
use leptos::prelude::*;

use crate::api::events::{EventStream, StreamSignal};
use crate::api::ApiClient;
use crate::state::inbox::InboxStore;
use crate::state::numbers::NumbersStore;

/// Where the stream stands, for the "reconnecting" banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamStatus {
    /// Not connected yet (no banner: nothing was missed).
    Connecting,
    Up,
    /// It was up and dropped: the banner shows until it is back.
    Reconnecting,
}

/// The stream's state and the stores it feeds. `Copy`, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct Realtime {
    pub status: RwSignal<StreamStatus>,
    reloads: RwSignal<u64>,
    pub inbox: InboxStore,
    pub numbers: NumbersStore,
}

impl Realtime {
    pub fn new() -> Realtime {
        Realtime {
            status: RwSignal::new(StreamStatus::Connecting),
            reloads: RwSignal::new(0),
            inbox: InboxStore::new(),
            numbers: NumbersStore::new(),
        }
    }

    /// How many times the lists had to be reloaded so far (reactive: a page's loader reads it,
    /// so it loads again when it grows).
    pub fn reloads(&self) -> u64 {
        self.reloads.get()
    }

    /// The dispatcher: what the stream said, into the stores.
    pub fn dispatch(&self, signal: StreamSignal) {
        match signal {
            StreamSignal::Up => {
                if self.status.get_untracked() == StreamStatus::Reconnecting {
                    self.reloads.update(|count| *count += 1);
                }
                self.status.set(StreamStatus::Up);
            }
            StreamSignal::Down => {
                if self.status.get_untracked() == StreamStatus::Up {
                    self.status.set(StreamStatus::Reconnecting);
                }
            }
            StreamSignal::Event(event) => self.apply(*event),
            StreamSignal::Reset => self.reloads.update(|count| *count += 1),
        }
    }

    /// One event, applied where it belongs; kinds this version does not know are ignored.
    pub fn apply(&self, event: InboxEvent) {
        match event.data {
            InboxEventData::Message { conversation_id, message } => self.inbox.apply_message(&conversation_id, message),
            InboxEventData::Conversation { conversation } => self.inbox.apply_conversation(conversation),
            InboxEventData::Number { number } => self.numbers.apply_number(number),
            InboxEventData::NumberRemoved { phone_number_id } => self.numbers.apply_removed(&phone_number_id),
            // A customer's two conversations became one (their ids merged), or the server no
            // longer has what we missed: the lists load again.
            InboxEventData::ConversationRemoved { .. } | InboxEventData::Reset => self.reloads.update(|count| *count += 1),
            InboxEventData::Unknown => {}
        }
    }
}

impl Default for Realtime {
    fn default() -> Realtime {
        Realtime::new()
    }
}

/// Provide a fresh [`Realtime`] to everything rendered under the current owner.
pub fn provide_realtime() -> Realtime {
    let realtime = Realtime::new();
    provide_context(realtime);
    realtime
}

/// The [`Realtime`] of the app frame.
pub fn use_realtime() -> Realtime {
    expect_context::<Realtime>()
}

/// Open the event stream into `realtime`; it is closed when the current owner is cleaned up.
pub fn start_stream(api: ApiClient, realtime: Realtime) {
    let stream = EventStream::open(api, move |signal| realtime.dispatch(signal));
    let stream = StoredValue::new_local(stream);
    on_cleanup(move || stream.with_value(EventStream::close));
}
