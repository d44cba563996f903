//! The inbox's client state: the conversation list the page shows, the open conversation and its
//! thread. The realtime dispatcher ([`super::realtime`]) and the page's own loads write here;
//! the Inbox page only reads. The rules are plain methods, so tests feed events in without a server.

use std::collections::HashMap;

use api_types::{
    ConversationFilter, ConversationListRequest, ConversationPage, ConversationState, ConversationSummary,
    MessageDirection, MessageErrorInfo, MessageItem, MessageOrigin, MessagePage, MessageStatus, MessageType,
};
use leptos::prelude::*;

/// Which conversations the list shows: the tabs, the number and state selects, the search box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: ConversationFilter,
    /// `None`: every number.
    pub phone_number_id: Option<String>,
    pub state: ConversationState,
    /// Trimmed; empty when not searching.
    pub search: String,
}

impl Default for ListQuery {
    fn default() -> ListQuery {
        ListQuery { filter: ConversationFilter::All, phone_number_id: None, state: ConversationState::Open, search: String::new() }
    }
}

impl ListQuery {
    /// The `conversations/list` request for the page after `cursor`.
    pub fn request(&self, cursor: Option<String>, limit: u32) -> ConversationListRequest {
        ConversationListRequest {
            filter: Some(self.filter),
            phone_number_id: self.phone_number_id.clone(),
            state: Some(self.state.clone()),
            query: (!self.search.is_empty()).then(|| self.search.clone()),
            cursor,
            limit: Some(limit),
        }
    }

    /// Whether `conversation` belongs in this list for the user `me`. A search matches message
    /// text too, which only the server knows: while searching, only rows already shown are kept
    /// up to date, none is added.
    pub fn admits(&self, conversation: &ConversationSummary, me: &str) -> bool {
        let assignee_fits = match self.filter {
            ConversationFilter::Mine => conversation.assignee_user_id.as_deref() == Some(me),
            ConversationFilter::Unassigned => conversation.assignee_user_id.is_none(),
            ConversationFilter::All => true,
        };
        let number_fits = self.phone_number_id.as_ref().is_none_or(|id| *id == conversation.phone_number_id);
        assignee_fits && number_fits && conversation.state == self.state
    }
}

/// The conversations shown, newest activity first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationList {
    pub items: Vec<ConversationSummary>,
    /// The cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
    /// False until the first page answered.
    pub loaded: bool,
}

/// Newest activity first; the id keeps equal times in one order.
fn newer_first(a: &ConversationSummary, b: &ConversationSummary) -> std::cmp::Ordering {
    b.last_message_at.cmp(&a.last_message_at).then_with(|| a.id.cmp(&b.id))
}

impl ConversationList {
    /// The first page of a (new) list.
    pub fn replace(&mut self, page: ConversationPage) {
        self.items = page.items;
        self.items.sort_by(newer_first);
        self.next_cursor = page.next_cursor;
        self.loaded = true;
    }

    /// The next page, below what is shown (rows an event already brought are not repeated).
    pub fn append(&mut self, page: ConversationPage) {
        for conversation in page.items {
            if !self.items.iter().any(|shown| shown.id == conversation.id) {
                self.items.push(conversation);
            }
        }
        self.items.sort_by(newer_first);
        self.next_cursor = page.next_cursor;
    }

    /// A conversation as it is now: updated in place, moved to where its last activity puts it
    /// (the top, for a new message), added when `admitted` and not shown yet, removed when it no
    /// longer belongs here.
    pub fn upsert(&mut self, conversation: ConversationSummary, admitted: bool, may_add: bool) {
        let position = self.items.iter().position(|shown| shown.id == conversation.id);
        match (position, admitted) {
            (Some(index), true) => {
                self.items[index] = conversation;
                self.items.sort_by(newer_first);
            }
            (Some(index), false) => {
                self.items.remove(index);
            }
            (None, true) if may_add => {
                let at = self.items.partition_point(|shown| newer_first(shown, &conversation).is_lt());
                // Beyond the loaded pages it comes with the page it belongs to.
                if at < self.items.len() || self.next_cursor.is_none() {
                    self.items.insert(at, conversation);
                }
            }
            _ => {}
        }
    }

    /// A message at `timestamp` happened in `conversation_id`: its row moves up to match.
    pub fn touch(&mut self, conversation_id: &str, timestamp: i64) {
        if let Some(shown) = self.items.iter_mut().find(|shown| shown.id == conversation_id) {
            if timestamp > shown.last_message_at {
                shown.last_message_at = timestamp;
                self.items.sort_by(newer_first);
            }
        }
    }

    pub fn get(&self, conversation_id: &str) -> Option<&ConversationSummary> {
        self.items.iter().find(|shown| shown.id == conversation_id)
    }
}

/// A status moves only up [`MessageStatus::rank`]; a status this version does not know never
/// replaces a known one.
pub fn status_may_replace(old: Option<&MessageStatus>, new: Option<&MessageStatus>) -> bool {
    match (old, new) {
        (_, None) => old.is_none(),
        (None, Some(_)) => true,
        (Some(old), Some(new)) => {
            if new.is_unknown() && !old.is_unknown() {
                return false;
            }
            new.rank() >= old.rank()
        }
    }
}

/// Which message an id or a client message id names, as the thread holds them.
const PENDING_PREFIX: &str = "pending:";

/// Whether this bubble is only on this screen so far (its send has not answered).
pub fn is_local(message: &MessageItem) -> bool {
    message.id.starts_with(PENDING_PREFIX)
}

/// What a change did to the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A message not shown before, after every other one.
    AddedLast,
    /// A message not shown before, among older ones.
    AddedEarlier,
    Updated,
    /// Nothing changed (an older status, or another conversation).
    Unchanged,
}

/// The open conversation's messages, oldest first, with the bubbles still being sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    pub conversation_id: Option<String>,
    pub messages: Vec<MessageItem>,
    /// The cursor of the older page; `None` when the first message is loaded.
    pub older_cursor: Option<String>,
    pub loaded: bool,
    /// Counts messages added after every other one (an arrival), for the "new messages" marker.
    pub arrivals: u64,
}

fn older_first(a: &MessageItem, b: &MessageItem) -> std::cmp::Ordering {
    a.timestamp.cmp(&b.timestamp).then_with(|| is_local(a).cmp(&is_local(b))).then_with(|| a.id.cmp(&b.id))
}

impl Thread {
    /// Open `conversation_id`, empty until its newest page answers.
    pub fn open(conversation_id: &str) -> Thread {
        Thread { conversation_id: Some(conversation_id.to_owned()), ..Thread::default() }
    }

    pub fn is_for(&self, conversation_id: &str) -> bool {
        self.conversation_id.as_deref() == Some(conversation_id)
    }

    /// The newest page, merged with what is shown: messages events brought while it loaded, and
    /// bubbles still being sent, stay.
    pub fn replace(&mut self, page: MessagePage) {
        if !self.loaded {
            self.older_cursor = page.next_cursor;
        }
        self.loaded = true;
        let arrivals = self.arrivals;
        for message in page.items {
            self.upsert(message);
        }
        // A load is not an arrival.
        self.arrivals = arrivals;
    }

    /// An older page, above what is shown.
    pub fn prepend(&mut self, page: MessagePage) {
        self.older_cursor = page.next_cursor;
        let arrivals = self.arrivals;
        for message in page.items {
            self.upsert(message);
        }
        self.arrivals = arrivals;
    }

    /// A message as it is now (from a list, an event or a send's answer): replaces the bubble with
    /// its id, or the pending bubble with its client message id; the status never moves back.
    pub fn upsert(&mut self, message: MessageItem) -> Upserted {
        let existing = self.messages.iter().position(|shown| shown.id == message.id).or_else(|| {
            message.client_message_id.as_ref().and_then(|client_id| {
                self.messages.iter().position(|shown| shown.client_message_id.as_ref() == Some(client_id))
            })
        });
        match existing {
            Some(index) => {
                let merged = merge(&self.messages[index], message);
                if merged == self.messages[index] {
                    return Upserted::Unchanged;
                }
                self.messages.remove(index);
                let at = self.messages.partition_point(|shown| older_first(shown, &merged).is_lt());
                self.messages.insert(at, merged);
                Upserted::Updated
            }
            None => {
                let at = self.messages.partition_point(|shown| older_first(shown, &message).is_lt());
                self.messages.insert(at, message);
                if at + 1 == self.messages.len() {
                    self.arrivals += 1;
                    Upserted::AddedLast
                } else {
                    Upserted::AddedEarlier
                }
            }
        }
    }

    /// Show a message being sent: a bubble of its own until the send or its event answers.
    pub fn add_pending(&mut self, draft: PendingDraft) {
        let message = MessageItem {
            id: format!("{PENDING_PREFIX}{}", draft.client_message_id),
            wamid: String::new(),
            conversation_id: self.conversation_id.clone().unwrap_or_default(),
            client_message_id: Some(draft.client_message_id),
            direction: MessageDirection::Outbound,
            origin: MessageOrigin::Agent,
            kind: draft.kind,
            text: draft.text,
            media: draft.media,
            status: Some(MessageStatus::Pending),
            error: None,
            customer_reaction: None,
            business_reaction: None,
            reply_to_wamid: None,
            timestamp: draft.timestamp,
            location: None,
            contacts: Vec::new(),
        };
        self.upsert(message);
    }

    /// The send of a pending bubble failed before the server took it: show why, with a retry.
    pub fn fail_locally(&mut self, client_message_id: &str, reason: String) {
        if let Some(shown) = self.local_mut(client_message_id) {
            shown.status = Some(MessageStatus::Failed);
            shown.error = Some(MessageErrorInfo { code: None, title: Some(reason), details: None });
        }
    }

    /// A failed message is being sent again: back to the clock, so the new attempt's statuses
    /// (which rank below a failure) show.
    pub fn mark_retrying(&mut self, message_id: &str) {
        if let Some(shown) = self.messages.iter_mut().find(|shown| shown.id == message_id) {
            shown.status = Some(MessageStatus::Pending);
            shown.error = None;
        }
    }

    fn local_mut(&mut self, client_message_id: &str) -> Option<&mut MessageItem> {
        self.messages
            .iter_mut()
            .find(|shown| is_local(shown) && shown.client_message_id.as_deref() == Some(client_message_id))
    }

    pub fn get(&self, message_id: &str) -> Option<&MessageItem> {
        self.messages.iter().find(|shown| shown.id == message_id)
    }
}

/// What the composer sends, before the server has it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDraft {
    pub client_message_id: String,
    pub kind: MessageType,
    pub text: Option<String>,
    pub media: Option<api_types::MessageMedia>,
    pub timestamp: i64,
}

/// `new` over `old`: everything from `new`, but a status (and its error) that would move back
/// stays as it was.
fn merge(old: &MessageItem, mut new: MessageItem) -> MessageItem {
    if !status_may_replace(old.status.as_ref(), new.status.as_ref()) {
        new.status = old.status.clone();
        new.error = old.error.clone();
    }
    // The local preview of a file being sent stays until the server names the stored file.
    if new.media.is_none() && is_local(old) {
        new.media = old.media.clone();
    }
    new
}

/// The inbox's stores, shared through the realtime context. `Copy`.
#[derive(Debug, Clone, Copy)]
pub struct InboxStore {
    pub query: RwSignal<ListQuery>,
    pub list: RwSignal<ConversationList>,
    /// The open conversation as last heard of (it may be outside the list's filter).
    pub open: RwSignal<Option<ConversationSummary>>,
    pub thread: RwSignal<Thread>,
    /// The logged-in user's id, for "Mine".
    pub me: RwSignal<String>,
    /// Conversations seen in any list or event, by id (the customer panel's other conversations,
    /// a row's last known state).
    known: RwSignal<HashMap<String, ConversationSummary>>,
}

impl InboxStore {
    pub fn new() -> InboxStore {
        InboxStore {
            query: RwSignal::new(ListQuery::default()),
            list: RwSignal::new(ConversationList::default()),
            open: RwSignal::new(None),
            thread: RwSignal::new(Thread::default()),
            me: RwSignal::new(String::new()),
            known: RwSignal::new(HashMap::new()),
        }
    }

    /// A conversation appeared or changed.
    pub fn apply_conversation(&self, conversation: ConversationSummary) {
        let me = self.me.get_untracked();
        let (admitted, may_add) =
            self.query.with_untracked(|query| (query.admits(&conversation, &me), query.search.is_empty()));
        self.known.update(|known| {
            known.insert(conversation.id.clone(), conversation.clone());
        });
        if self.open.with_untracked(|open| open.as_ref().is_some_and(|open| open.id == conversation.id)) {
            self.open.set(Some(conversation.clone()));
        }
        self.list.update(|list| list.upsert(conversation, admitted, may_add));
    }

    /// A message appeared or changed: into the open thread, and its conversation's row moves up.
    pub fn apply_message(&self, conversation_id: &str, message: MessageItem) {
        let timestamp = message.timestamp;
        let is_new_activity = !self.thread.with_untracked(|thread| thread.get(&message.id).is_some());
        if self.thread.with_untracked(|thread| thread.is_for(conversation_id)) {
            self.thread.update(|thread| {
                thread.upsert(message);
            });
        }
        if is_new_activity {
            self.list.update(|list| list.touch(conversation_id, timestamp));
        }
    }

    /// The conversations the page loaded.
    pub fn remember(&self, conversations: &[ConversationSummary]) {
        self.known.update(|known| {
            for conversation in conversations {
                known.insert(conversation.id.clone(), conversation.clone());
            }
        });
    }

    /// A conversation as last heard of (reactive).
    pub fn known(&self, conversation_id: &str) -> Option<ConversationSummary> {
        self.known.with(|known| known.get(conversation_id).cloned())
    }
}

impl Default for InboxStore {
    fn default() -> InboxStore {
        InboxStore::new()
    }
}
