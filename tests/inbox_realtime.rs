//! The realtime dispatcher and the inbox stores, with events fed in as the stream would deliver
//! them (no server): statuses never move a bubble back, a pending bubble becomes its real message
//! by client message id, conversations move to the top, numbers follow their events, and a
//! reconnect or a reset asks the pages to reload. Also the pure pieces of the page: which rows are
//! in the DOM, the composer's Enter rule and typing throttle, the stream's backoff.
#![cfg(target_arch = "wasm32")]

use api_types::{
    ConversationFilter, ConversationPage, ConversationState, ConversationSummary, InboxCustomer, InboxEvent, InboxEventData,
    MessageDirection, MessageItem, MessageOrigin, MessagePage, MessageStatus, MessageType, MessagingLimit, NumberDetails,
    NumberOrigin, NumberStatus, QualityRating, RegistrationAllowance,
};
use leptos::prelude::*;
use std::time::Duration;
use wadesk::api::events::{Backoff, StreamSignal};
use wadesk::pages::inbox::composer::{char_count, enter_sends, new_client_message_id, TypingThrottle};
use wadesk::pages::inbox::windowing::{anchored_scroll_top, visible_rows, ThreadWindow, OVERSCAN, ROW_HEIGHT, THREAD_WINDOW};
use wadesk::state::inbox::{is_local, ConversationList, ListQuery, PendingDraft, Thread};
use wadesk::state::realtime::{Realtime, StreamStatus};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn conversation(id: &str, at: i64) -> ConversationSummary {
    ConversationSummary {
        id: id.into(),
        phone_number_id: "phone-1".into(),
        customer: InboxCustomer { wa_id: Some(format!("86138{at}")), user_id: None, name: format!("Customer {id}") },
        state: ConversationState::Open,
        assignee_user_id: None,
        unread_count: 0,
        last_message_at: at,
        first_contact_at: at,
        last_message: None,
    }
}

fn message(id: &str, at: i64, status: Option<MessageStatus>) -> MessageItem {
    MessageItem {
        id: id.into(),
        wamid: format!("wamid.{id}"),
        conversation_id: "c-1".into(),
        client_message_id: None,
        direction: if status.is_some() { MessageDirection::Outbound } else { MessageDirection::Inbound },
        origin: if status.is_some() { MessageOrigin::Agent } else { MessageOrigin::Customer },
        kind: MessageType::Text,
        text: Some(format!("text of {id}")),
        media: None,
        status,
        error: None,
        customer_reaction: None,
        business_reaction: None,
        reply_to_wamid: None,
        timestamp: at,
        location: None,
        contacts: Vec::new(),
    }
}

fn number(id: &str, status: NumberStatus) -> NumberDetails {
    NumberDetails {
        phone_number_id: id.into(),
        waba_id: "waba-1".into(),
        waba_name: "Blue Bakery".into(),
        display_phone_number: "+1 555-0102".into(),
        verified_name: "Blue Bakery".into(),
        status,
        disconnect_reason: None,
        quality_rating: QualityRating::Green,
        message_limit: MessagingLimit::Tier250,
        origin: NumberOrigin::Manual,
        registration: RegistrationAllowance { attempts_in_window: 0, limit: 10, next_attempt_at: None },
        sync: None,
        created_at: 0,
        updated_at: 0,
    }
}

fn event(id: u64, data: InboxEventData) -> StreamSignal {
    StreamSignal::Event(Box::new(InboxEvent { id: id.to_string(), data }))
}

fn message_event(id: u64, message: MessageItem) -> StreamSignal {
    event(id, InboxEventData::Message { conversation_id: message.conversation_id.clone(), message })
}

/// A realtime context with conversation `c-1` open and the list loaded with `c-1`..`c-n`, and
/// the owner its signals live in (they are disposed with it).
fn realtime_with_list(count: i64) -> (Owner, Realtime) {
    let owner = Owner::new();
    owner.set();
    let realtime = Realtime::new();
    realtime.inbox.me.set("user-1".into());
    let items = (1..=count).map(|n| conversation(&format!("c-{n}"), 1_000 * n)).collect();
    realtime.inbox.list.update(|list| list.replace(ConversationPage { items, next_cursor: None }));
    realtime.inbox.thread.set(Thread::open("c-1"));
    (owner, realtime)
}

fn list_ids(realtime: &Realtime) -> Vec<String> {
    realtime.inbox.list.with_untracked(|list| list.items.iter().map(|item| item.id.clone()).collect())
}

fn status_of(realtime: &Realtime, id: &str) -> Option<MessageStatus> {
    realtime.inbox.thread.with_untracked(|thread| thread.get(id).and_then(|message| message.status.clone()))
}

#[wasm_bindgen_test]
fn a_status_never_moves_a_bubble_backwards() {
    let (_owner, realtime) = realtime_with_list(1);
    realtime.dispatch(message_event(1, message("m-1", 10, Some(MessageStatus::Delivered))));
    realtime.dispatch(message_event(2, message("m-1", 10, Some(MessageStatus::Sent))));
    assert_eq!(status_of(&realtime, "m-1"), Some(MessageStatus::Delivered), "a late 'sent' does not undo 'delivered'");
    realtime.dispatch(message_event(3, message("m-1", 10, Some(MessageStatus::Pending))));
    assert_eq!(status_of(&realtime, "m-1"), Some(MessageStatus::Delivered));
    realtime.dispatch(message_event(4, message("m-1", 10, Some(MessageStatus::Unknown("queued".into())))));
    assert_eq!(status_of(&realtime, "m-1"), Some(MessageStatus::Delivered), "an unknown status never replaces a known one");
    realtime.dispatch(message_event(5, message("m-1", 10, Some(MessageStatus::Read))));
    assert_eq!(status_of(&realtime, "m-1"), Some(MessageStatus::Read));

    // A failure overrides 'sent', and a late 'sent' does not hide it; 'delivered' proves arrival.
    realtime.dispatch(message_event(6, message("m-2", 20, Some(MessageStatus::Sent))));
    let mut failed = message("m-2", 20, Some(MessageStatus::Failed));
    failed.error = Some(api_types::MessageErrorInfo { code: Some("131047".into()), title: Some("Re-engagement message".into()), details: None });
    realtime.dispatch(message_event(7, failed));
    realtime.dispatch(message_event(8, message("m-2", 20, Some(MessageStatus::Sent))));
    assert_eq!(status_of(&realtime, "m-2"), Some(MessageStatus::Failed));
    let error = realtime.inbox.thread.with_untracked(|thread| thread.get("m-2").and_then(|m| m.error.clone()));
    assert_eq!(error.and_then(|error| error.code).as_deref(), Some("131047"), "the failure keeps its reason");

    // A retry puts it back on the clock, so the new attempt's statuses show.
    realtime.inbox.thread.update(|thread| thread.mark_retrying("m-2"));
    realtime.dispatch(message_event(9, message("m-2", 20, Some(MessageStatus::Sent))));
    assert_eq!(status_of(&realtime, "m-2"), Some(MessageStatus::Sent));
    assert_eq!(realtime.inbox.thread.with_untracked(|thread| thread.messages.len()), 2, "updates never add bubbles");
}

#[wasm_bindgen_test]
fn a_pending_bubble_becomes_its_real_message_by_client_message_id() {
    let (_owner, realtime) = realtime_with_list(1);
    realtime.dispatch(message_event(1, message("m-1", 10, None)));
    let client_id = new_client_message_id();
    realtime.inbox.thread.update(|thread| {
        thread.add_pending(PendingDraft {
            client_message_id: client_id.clone(),
            kind: MessageType::Text,
            text: Some("你好".into()),
            media: None,
            timestamp: 50,
        })
    });
    let pending_id = realtime.inbox.thread.with_untracked(|thread| thread.messages.last().unwrap().id.clone());
    assert!(realtime.inbox.thread.with_untracked(|thread| is_local(thread.messages.last().unwrap())));

    // Its event arrives first (sent), then the send's answer (still pending): one bubble, 'sent'.
    let mut real = message("m-9", 51, Some(MessageStatus::Sent));
    real.client_message_id = Some(client_id.clone());
    realtime.dispatch(message_event(2, real.clone()));
    let mut answer = real.clone();
    answer.status = Some(MessageStatus::Pending);
    realtime.inbox.apply_message("c-1", answer);
    let ids: Vec<String> = realtime.inbox.thread.with_untracked(|thread| thread.messages.iter().map(|m| m.id.clone()).collect());
    assert_eq!(ids, vec!["m-1".to_owned(), "m-9".to_owned()], "the pending bubble {pending_id} was replaced, not doubled");
    assert_eq!(status_of(&realtime, "m-9"), Some(MessageStatus::Sent));

    // A send that failed before the server had it shows its reason.
    let other = new_client_message_id();
    assert_ne!(other, client_id);
    realtime.inbox.thread.update(|thread| {
        thread.add_pending(PendingDraft { client_message_id: other.clone(), kind: MessageType::Text, text: Some("x".into()), media: None, timestamp: 60 });
        thread.fail_locally(&other, "The server could not be reached.".into());
    });
    let last = realtime.inbox.thread.with_untracked(|thread| thread.messages.last().cloned().unwrap());
    assert_eq!(last.status, Some(MessageStatus::Failed));
    assert_eq!(last.error.and_then(|error| error.title).as_deref(), Some("The server could not be reached."));
}

#[wasm_bindgen_test]
fn messages_of_other_conversations_stay_out_of_the_open_thread_and_a_page_load_is_no_arrival() {
    let (_owner, realtime) = realtime_with_list(2);
    let mut elsewhere = message("m-x", 10, None);
    elsewhere.conversation_id = "c-2".into();
    realtime.dispatch(message_event(1, elsewhere));
    assert!(realtime.inbox.thread.with_untracked(|thread| thread.messages.is_empty()));

    realtime.inbox.thread.update(|thread| {
        thread.replace(MessagePage { items: vec![message("m-1", 1, None), message("m-2", 2, None)], next_cursor: Some("older".into()) })
    });
    assert_eq!(realtime.inbox.thread.with_untracked(|thread| thread.arrivals), 0);
    realtime.dispatch(message_event(2, message("m-3", 3, None)));
    assert_eq!(realtime.inbox.thread.with_untracked(|thread| thread.arrivals), 1, "a new last message is an arrival");
    realtime.inbox.thread.update(|thread| thread.prepend(MessagePage { items: vec![message("m-0", 0, None)], next_cursor: None }));
    let ids: Vec<String> = realtime.inbox.thread.with_untracked(|thread| thread.messages.iter().map(|m| m.id.clone()).collect());
    assert_eq!(ids, ["m-0", "m-1", "m-2", "m-3"]);
    assert_eq!(realtime.inbox.thread.with_untracked(|thread| (thread.arrivals, thread.older_cursor.clone())), (1, None));
}

#[wasm_bindgen_test]
fn a_conversation_or_message_event_moves_its_row_to_the_top() {
    let (_owner, realtime) = realtime_with_list(4);
    assert_eq!(list_ids(&realtime), ["c-4", "c-3", "c-2", "c-1"]);

    let mut changed = conversation("c-2", 9_000);
    changed.unread_count = 3;
    realtime.dispatch(event(1, InboxEventData::Conversation { conversation: changed }));
    assert_eq!(list_ids(&realtime), ["c-2", "c-4", "c-3", "c-1"]);
    assert_eq!(realtime.inbox.list.with_untracked(|list| list.get("c-2").map(|c| c.unread_count)), Some(3));

    let mut newest = message("m-1", 10_000, None);
    newest.conversation_id = "c-1".into();
    realtime.dispatch(message_event(2, newest));
    assert_eq!(list_ids(&realtime), ["c-1", "c-2", "c-4", "c-3"], "a new message brings its conversation up");

    // A new conversation is added where its activity puts it.
    realtime.dispatch(event(3, InboxEventData::Conversation { conversation: conversation("c-9", 20_000) }));
    assert_eq!(list_ids(&realtime)[0], "c-9");
    // One that no longer fits the list (resolved, while Open is shown) leaves it.
    let mut resolved = conversation("c-4", 4_000);
    resolved.state = ConversationState::Resolved;
    realtime.dispatch(event(4, InboxEventData::Conversation { conversation: resolved }));
    assert!(!list_ids(&realtime).contains(&"c-4".to_owned()));
    assert_eq!(realtime.inbox.known("c-4").map(|c| c.state), Some(ConversationState::Resolved));
}

#[wasm_bindgen_test]
fn the_list_query_admits_what_its_tabs_and_selects_say() {
    let mut mine = conversation("c-1", 1);
    mine.assignee_user_id = Some("user-1".into());
    let other = ConversationSummary { assignee_user_id: Some("user-2".into()), ..conversation("c-2", 2) };
    let nobody = conversation("c-3", 3);
    let query = |filter| ListQuery { filter, ..ListQuery::default() };
    assert!(query(ConversationFilter::Mine).admits(&mine, "user-1"));
    assert!(!query(ConversationFilter::Mine).admits(&other, "user-1"));
    assert!(query(ConversationFilter::Unassigned).admits(&nobody, "user-1"));
    assert!(!query(ConversationFilter::Unassigned).admits(&mine, "user-1"));
    assert!(query(ConversationFilter::All).admits(&other, "user-1"));
    let on_other_number = ListQuery { phone_number_id: Some("phone-2".into()), ..ListQuery::default() };
    assert!(!on_other_number.admits(&nobody, "user-1"));

    // While searching, events update the rows shown but add none (the server decides matches).
    let mut list = ConversationList::default();
    list.replace(ConversationPage { items: vec![conversation("c-1", 1)], next_cursor: None });
    list.upsert(conversation("c-2", 5), true, false);
    assert_eq!(list.items.len(), 1);
    // Beyond the loaded pages a conversation comes with its own page.
    list.next_cursor = Some("next".into());
    list.upsert(conversation("c-0", 0), true, true);
    assert_eq!(list.items.len(), 1);
    list.upsert(conversation("c-5", 50), true, true);
    assert_eq!(list.items[0].id, "c-5");
}

#[wasm_bindgen_test]
fn number_events_keep_the_numbers_store_and_unknown_kinds_are_ignored() {
    let (_owner, realtime) = realtime_with_list(0);
    realtime.dispatch(event(1, InboxEventData::Number { number: number("phone-1", NumberStatus::Connected) }));
    assert_eq!(realtime.numbers.numbers.get_untracked(), None, "nothing to change before the first load");
    realtime.numbers.replace(vec![number("phone-1", NumberStatus::Pending)]);
    realtime.dispatch(event(2, InboxEventData::Number { number: number("phone-1", NumberStatus::Connected) }));
    realtime.dispatch(event(3, InboxEventData::Number { number: number("phone-2", NumberStatus::Pending) }));
    let statuses: Vec<(String, NumberStatus)> = realtime
        .numbers
        .numbers
        .get_untracked()
        .unwrap()
        .into_iter()
        .map(|number| (number.phone_number_id, number.status))
        .collect();
    assert_eq!(statuses, vec![("phone-1".into(), NumberStatus::Connected), ("phone-2".into(), NumberStatus::Pending)]);
    realtime.dispatch(event(4, InboxEventData::NumberRemoved { phone_number_id: "phone-1".into() }));
    assert_eq!(realtime.numbers.numbers.get_untracked().unwrap().len(), 1);

    let before = (list_ids(&realtime), realtime.numbers.numbers.get_untracked());
    let newer: InboxEvent = serde_json::from_str(r#"{"id": "5", "kind": "somethingNew", "x": 1}"#).unwrap();
    realtime.dispatch(StreamSignal::Event(Box::new(newer)));
    assert_eq!((list_ids(&realtime), realtime.numbers.numbers.get_untracked()), before);
}

#[wasm_bindgen_test]
fn a_reconnect_or_a_reset_asks_the_pages_to_reload_and_the_banner_follows_the_stream() {
    let (_owner, realtime) = realtime_with_list(0);
    assert_eq!(realtime.status.get_untracked(), StreamStatus::Connecting);
    realtime.dispatch(StreamSignal::Down);
    assert_eq!(realtime.status.get_untracked(), StreamStatus::Connecting, "no banner before it was ever up");
    realtime.dispatch(StreamSignal::Up);
    assert_eq!((realtime.status.get_untracked(), realtime.reloads()), (StreamStatus::Up, 0));
    realtime.dispatch(StreamSignal::Down);
    assert_eq!(realtime.status.get_untracked(), StreamStatus::Reconnecting);
    realtime.dispatch(StreamSignal::Up);
    assert_eq!((realtime.status.get_untracked(), realtime.reloads()), (StreamStatus::Up, 1), "back up: reload what may be missed");
    realtime.dispatch(StreamSignal::Reset);
    assert_eq!(realtime.reloads(), 2);
}

#[wasm_bindgen_test]
fn the_stream_backs_off_up_to_thirty_seconds_and_starts_over_once_up() {
    let mut backoff = Backoff::new();
    let delays: Vec<u64> = (0..8).map(|_| backoff.next_delay().as_secs()).collect();
    assert_eq!(delays, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    backoff.reset();
    assert_eq!(backoff.next_delay(), Duration::from_secs(1));
}

#[wasm_bindgen_test]
fn only_a_window_of_rows_is_in_the_dom() {
    // 10,000 conversations in an 800 px viewport: the visible rows and the overscan, wherever it is scrolled.
    let viewport = 800.0;
    let most = (viewport / ROW_HEIGHT).ceil() as usize + 1 + 2 * OVERSCAN;
    for scroll_top in [0.0, 72.0 * 100.0 + 13.0, 72.0 * 9_990.0, 1e9] {
        let rows = visible_rows(scroll_top, viewport, 10_000);
        assert!(rows.len() <= most, "{rows:?} at {scroll_top}");
        assert!(rows.end <= 10_000);
    }
    assert_eq!(visible_rows(0.0, viewport, 3), 0..3);
    let middle = visible_rows(72.0 * 500.0, viewport, 10_000);
    assert!(middle.contains(&500) && middle.contains(&(500 + 11)), "{middle:?}");

    // A row moving to the top keeps the agent's place: the row they read stays at the top of the view.
    let before: Vec<String> = (0..100).map(|n| format!("c-{n}")).collect();
    let mut after = before.clone();
    let moved = after.remove(70);
    after.insert(0, moved);
    assert_eq!(anchored_scroll_top(&before, &after, 72.0 * 10.0 + 5.0), Some(72.0 * 11.0 + 5.0));
    assert_eq!(anchored_scroll_top(&before, &after, 0.0), None, "at the top the agent sees the new row arrive");

    // The thread keeps at most a window of messages, following the newest until the agent scrolls up.
    let mut window = ThreadWindow::default();
    assert_eq!(window.range(5_000), 5_000 - THREAD_WINDOW..5_000);
    assert!(!window.scrolled_to_top(5_000));
    let up = window.range(5_000);
    assert!(up.start < 5_000 - THREAD_WINDOW && up.len() <= THREAD_WINDOW);
    assert!(!window.follows());
    window.prepended(50, 5_050);
    assert!(window.range(5_050).len() <= THREAD_WINDOW);
    let mut at_oldest = ThreadWindow::default();
    assert!(at_oldest.scrolled_to_top(20), "all twenty are shown: the older page must be loaded");
    for _ in 0..400 {
        window.scrolled_to_bottom(5_050);
    }
    assert!(window.follows());
    assert_eq!(window.range(5_050).end, 5_050);
}

#[wasm_bindgen_test]
fn enter_sends_shift_enter_adds_a_line_and_an_input_method_keeps_its_enter() {
    assert!(enter_sends("Enter", false, false, 13));
    assert!(!enter_sends("Enter", true, false, 13), "Shift+Enter is a new line");
    assert!(!enter_sends("Enter", false, true, 13), "Enter picks the pinyin candidate");
    assert!(!enter_sends("Enter", false, false, 229), "Safari's composing key code");
    assert!(!enter_sends("a", false, false, 65));

    let mut throttle = TypingThrottle::default();
    assert!(throttle.typed(0.0));
    assert!(!throttle.typed(19_999.0));
    assert!(throttle.typed(20_000.0));
    throttle.sent();
    assert!(throttle.typed(20_001.0), "after a send, the next key notifies again");

    assert_eq!(char_count("你好,世界"), 5, "a Chinese character is one character");
    let id = new_client_message_id();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "a version 4 UUID: {id}");
}
