//! The Inbox page: the team's conversations in three panes, as agents know them from WhatsApp
//! Web and Chatwoot: the conversation list ([`list`]), the open thread with its header actions
//! and composer ([`thread`], [`composer`]), and the customer panel ([`customer`]).
//!
//! What is shown lives in the inbox store of the realtime context
//! ([`crate::state::inbox::InboxStore`]): the page's loads write there, and so does the realtime
//! dispatcher for every event, so a new message, a status or another agent's assignment shows at
//! once. The lists load again when the store's query changes, or after the stream was down.

pub mod composer;
pub mod customer;
pub mod format;
pub mod list;
pub mod message;
pub mod strings;
pub mod thread;
pub mod windowing;

use api_types::{ConversationSummary, MessageListRequest};
use leptos::prelude::*;

use crate::api::{inbox, use_api, whatsapp, ApiClient, ApiError};
use crate::components::page_title::use_page_title;
use crate::pages::lazy::Lazy;
use crate::state::inbox::{InboxStore, Thread};
use crate::state::realtime::use_realtime;
use crate::state::session::use_session;

/// How many conversations and messages one page asks for.
pub const PAGE_SIZE: u32 = 50;

/// The page's own state beside the store: which conversation is open.
#[derive(Debug, Clone, Copy)]
pub struct InboxPageState {
    pub selected: RwSignal<Option<String>>,
}

impl InboxPageState {
    /// Open `conversation` in the thread pane.
    pub fn open(&self, store: InboxStore, conversation: ConversationSummary) {
        if self.selected.get_untracked().as_deref() == Some(conversation.id.as_str()) {
            return;
        }
        store.thread.set(Thread::open(&conversation.id));
        store.open.set(Some(conversation.clone()));
        self.selected.set(Some(conversation.id));
    }
}

pub fn use_inbox_page() -> InboxPageState {
    expect_context::<InboxPageState>()
}

/// The load of the open conversation's newest messages (the thread pane shows its loading and
/// error state), made by the page so it runs while the thread's chunk is still on its way.
#[derive(Clone, Copy)]
pub struct ThreadLoad(pub LocalResource<Result<(), ApiError>>);

#[component]
pub fn InboxPage() -> impl IntoView {
    crate::pages::INBOX_THREAD.preload();
    crate::i18n::register(strings::STRINGS);
    use_page_title("nav.inbox");
    let api = use_api();
    let realtime = use_realtime();
    let store = realtime.inbox;
    let session = use_session();
    if let Some(user) = session.with_user(|user| user.map(|user| user.id.clone())) {
        store.me.set(user);
    }
    let page = InboxPageState { selected: RwSignal::new(store.open.get_untracked().map(|open| open.id)) };
    provide_context(page);

    // The number filter and the customer panel name the account's numbers.
    if realtime.numbers.numbers.with_untracked(Option::is_none) {
        let numbers = realtime.numbers;
        leptos::task::spawn_local(async move {
            match whatsapp::list_numbers(api).await {
                Ok(list) => numbers.replace(list),
                Err(error) => leptos::logging::warn!("the numbers could not be loaded: {error}"),
            }
        });
    }

    // The open conversation's newest messages, again after a reconnect; and it is marked read.
    let thread_load = LocalResource::new(move || {
        realtime.reloads();
        let selected = page.selected.get();
        async move {
            match selected {
                Some(conversation_id) => load_thread(api, store, conversation_id).await,
                None => Ok(()),
            }
        }
    });

    provide_context(ThreadLoad(thread_load));

    view! {
        <section class="inbox-page" data-testid="inbox-page">
            <list::ConversationPane />
            <Lazy page=&crate::pages::INBOX_THREAD />
            <customer::CustomerPanel />
        </section>
    }
}

async fn load_thread(api: ApiClient, store: InboxStore, conversation_id: String) -> Result<(), ApiError> {
    let request = MessageListRequest { conversation_id: conversation_id.clone(), before: None, limit: Some(PAGE_SIZE) };
    let page = inbox::list_messages(api, &request).await?;
    let _ = store.thread.try_update(|thread| {
        if thread.is_for(&conversation_id) {
            thread.replace(page);
        }
    });
    if let Err(error) = inbox::mark_read(api, &conversation_id).await {
        leptos::logging::warn!("could not mark the conversation read: {error}");
    }
    Ok(())
}
