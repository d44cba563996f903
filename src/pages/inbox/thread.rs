//! The open conversation: its header with the assignment and state actions, the messages (a
//! window of them in the DOM, older ones loaded on scroll up without moving what the agent
//! reads), the "new messages" marker and jump-to-newest, and the composer with its pending bubbles.

use std::collections::HashMap;

use api_types::{ConversationState, MessageItem, MessageListRequest, MessageMedia, SendMessageRequest};
use leptos::leptos_dom::helpers::request_animation_frame;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::composer::{new_client_message_id, Composer, Outgoing};
use super::format::{customer_address, customer_label, day_key, day_label};
use super::message::MessageBubble;
use super::windowing::ThreadWindow;
use super::{use_inbox_page, PAGE_SIZE};
use crate::api::{inbox, team, use_api, ApiClient, ApiError};
use crate::i18n::use_i18n;
use crate::state::inbox::{is_local, InboxStore, PendingDraft};
use crate::state::realtime::use_realtime;
use crate::state::session::use_session;

/// How close to an end of the scroll (in pixels) counts as being there.
const EDGE: i32 = 48;

/// What is needed to send a message again whose send never reached the server.
#[derive(Clone)]
enum RetryPlan {
    Send(SendMessageRequest),
    Upload { file: web_sys::File, request: SendMessageRequest },
}

/// Sends messages: the pending bubble, the upload, the send, and what a retry needs.
#[derive(Clone, Copy)]
struct Sender {
    api: ApiClient,
    store: InboxStore,
    plans: StoredValue<HashMap<String, RetryPlan>, LocalStorage>,
}

impl Sender {
    fn send(&self, outgoing: Outgoing, conversation_id: String, reason_of: impl Fn(&ApiError) -> String + 'static) {
        let client_message_id = new_client_message_id();
        let (kind, text, media, file) = match outgoing {
            Outgoing::Text(text) => (api_types::MessageType::Text, Some(text), None, None),
            Outgoing::File { file, kind, caption } => {
                let media = MessageMedia {
                    id: None,
                    size_bytes: Some(file.size() as u64),
                    file_name: Some(file.name()),
                    mime_type: Some(file.type_()),
                    caption: caption.clone(),
                    available: true,
                };
                (kind, caption, Some(media), Some(file))
            }
        };
        let request = SendMessageRequest {
            conversation_id: conversation_id.clone(),
            client_message_id: client_message_id.clone(),
            kind: kind.clone(),
            text: text.clone(),
            media_id: None,
        };
        self.store.thread.update(|thread| {
            if thread.is_for(&conversation_id) {
                thread.add_pending(PendingDraft { client_message_id, kind, text, media, timestamp: js_sys::Date::now() as i64 });
            }
        });
        let plan = match file {
            Some(file) => RetryPlan::Upload { file, request },
            None => RetryPlan::Send(request),
        };
        self.run(plan, reason_of);
    }

    fn run(&self, plan: RetryPlan, reason_of: impl Fn(&ApiError) -> String + 'static) {
        let sender = *self;
        leptos::task::spawn_local(async move {
            let client_message_id = match &plan {
                RetryPlan::Send(request) | RetryPlan::Upload { request, .. } => request.client_message_id.clone(),
            };
            let conversation_id = match &plan {
                RetryPlan::Send(request) | RetryPlan::Upload { request, .. } => request.conversation_id.clone(),
            };
            let request = match plan.clone() {
                RetryPlan::Send(request) => Ok(request),
                RetryPlan::Upload { file, mut request } => inbox::upload_media(sender.api, &file).await.map(|uploaded| {
                    request.media_id = Some(uploaded.media_id);
                    // Uploaded once: a retry sends it without uploading again.
                    sender.plans.update_value(|plans| {
                        plans.insert(client_message_id.clone(), RetryPlan::Send(request.clone()));
                    });
                    request
                }),
            };
            let sent = match request {
                Ok(request) => inbox::send_message(sender.api, &request).await,
                Err(error) => Err(error),
            };
            match sent {
                Ok(message) => {
                    sender.plans.update_value(|plans| {
                        plans.remove(&client_message_id);
                    });
                    sender.store.apply_message(&conversation_id, message);
                }
                Err(error) => {
                    sender.plans.update_value(|plans| {
                        plans.entry(client_message_id.clone()).or_insert(plan);
                    });
                    let reason = reason_of(&error);
                    let _ = sender.store.thread.try_update(|thread| thread.fail_locally(&client_message_id, reason));
                }
            }
        });
    }

    /// Send a failed message again: one the server never had with the same client message id
    /// (it sends once whatever happens), one it had through `messages/retry`.
    fn retry(&self, message: MessageItem, reason_of: impl Fn(&ApiError) -> String + 'static) {
        if is_local(&message) {
            let Some(client_message_id) = message.client_message_id.clone() else { return };
            let Some(plan) = self.plans.with_value(|plans| plans.get(&client_message_id).cloned()) else { return };
            self.store.thread.update(|thread| thread.mark_retrying(&message.id));
            self.run(plan, reason_of);
            return;
        }
        let sender = *self;
        self.store.thread.update(|thread| thread.mark_retrying(&message.id));
        leptos::task::spawn_local(async move {
            match inbox::retry_message(sender.api, &message.id).await {
                Ok(again) => sender.store.apply_message(&message.conversation_id, again),
                Err(error) => {
                    let reason = reason_of(&error);
                    let _ = sender.store.thread.try_update(|thread| {
                        if let Some(shown) = thread.messages.iter_mut().find(|shown| shown.id == message.id) {
                            shown.status = Some(api_types::MessageStatus::Failed);
                            shown.error = Some(api_types::MessageErrorInfo { code: None, title: Some(reason), details: None });
                        }
                    });
                }
            }
        });
    }
}

/// One line of the thread as drawn: a day separator, the "new messages" marker, or a message.
#[derive(Clone)]
enum ThreadLine {
    Day { key: u32, at: i64 },
    NewMessages,
    Message(Box<MessageItem>),
}

impl ThreadLine {
    /// Redrawn only when what it shows changes.
    fn key(&self) -> String {
        match self {
            ThreadLine::Day { key, .. } => format!("day-{key}"),
            ThreadLine::NewMessages => "new-messages".to_owned(),
            ThreadLine::Message(message) => format!(
                "{}|{}|{:?}|{:?}|{:?}|{:?}",
                message.id,
                message.status.as_ref().map(|status| status.as_str()).unwrap_or(""),
                message.customer_reaction,
                message.business_reaction,
                message.media.as_ref().map(|media| (&media.id, media.available)),
                message.error.as_ref().map(|error| &error.title),
            ),
        }
    }
}

/// The middle pane.
#[component]
pub fn ThreadPane() -> impl IntoView {
    let load = expect_context::<super::ThreadLoad>().0;
    let i18n = use_i18n();
    let api = use_api();
    let store = use_realtime().inbox;
    let page = use_inbox_page();
    let sender = Sender { api, store, plans: StoredValue::new_local(HashMap::new()) };
    let scroller = NodeRef::<leptos::html::Div>::new();
    let window = RwSignal::new(ThreadWindow::default());
    let unseen_from = RwSignal::new(None::<String>);
    let unseen = RwSignal::new(0_usize);
    let lightbox = RwSignal::new(None::<String>);

    let scroll_to_bottom = move || {
        request_animation_frame(move || {
            if let Some(element) = scroller.get_untracked() {
                element.set_scroll_top(element.scroll_height());
            }
        })
    };
    // A new conversation opens at its newest message.
    Effect::new(move |_| {
        page.selected.track();
        window.set(ThreadWindow::default());
        unseen_from.set(None);
        unseen.set(0);
    });
    // Scroll to the newest message once the first page is in.
    Effect::new(move |was_loaded: Option<bool>| {
        let loaded = store.thread.with(|thread| thread.loaded);
        if loaded && was_loaded != Some(true) {
            scroll_to_bottom();
        }
        loaded
    });
    // Something arrived: follow it when at the bottom, else count it under the marker.
    Effect::new(move |last: Option<u64>| {
        let (arrivals, newest) = store.thread.with(|thread| (thread.arrivals, thread.messages.last().cloned()));
        if let (Some(last), Some(newest)) = (last, newest) {
            if arrivals > last {
                let at_bottom = scroller.get_untracked().is_some_and(|element| is_at_bottom(&element));
                let own = is_local(&newest);
                // The agent has the conversation open: what the customer just wrote is read.
                if newest.direction == api_types::MessageDirection::Inbound {
                    let conversation_id = newest.conversation_id.clone();
                    leptos::task::spawn_local(async move {
                        if let Err(error) = inbox::mark_read(api, &conversation_id).await {
                            leptos::logging::warn!("could not mark the conversation read: {error}");
                        }
                    });
                }
                if (at_bottom && window.get_untracked().follows()) || own {
                    window.update(ThreadWindow::to_newest);
                    scroll_to_bottom();
                } else {
                    if unseen_from.get_untracked().is_none() {
                        unseen_from.set(Some(newest.id.clone()));
                    }
                    unseen.update(|count| *count += (arrivals - last) as usize);
                }
            }
        }
        arrivals
    });

    let older = Action::new_local(move |_: &()| async move {
        let Some((conversation_id, cursor)) = store.thread.with_untracked(|thread| {
            Some((thread.conversation_id.clone()?, thread.older_cursor.clone()?))
        }) else {
            return Ok(());
        };
        let request = MessageListRequest { conversation_id: conversation_id.clone(), before: Some(cursor), limit: Some(PAGE_SIZE) };
        let older_page = inbox::list_messages(api, &request).await?;
        keep_place(scroller, move || {
            store.thread.update(|thread| {
                if thread.is_for(&conversation_id) {
                    let before = thread.messages.len();
                    thread.prepend(older_page);
                    let added = thread.messages.len() - before;
                    let count = thread.messages.len();
                    window.update(|window| window.prepended(added, count));
                }
            });
        });
        Ok::<(), ApiError>(())
    });

    // A page that does not fill the pane cannot be scrolled up: load older ones until it does
    // (or there are none).
    Effect::new(move |_| {
        let wants_more = store.thread.with(|thread| thread.loaded && thread.older_cursor.is_some() && !thread.messages.is_empty());
        if !wants_more {
            return;
        }
        request_animation_frame(move || {
            let Some(element) = scroller.get_untracked() else { return };
            if element.scroll_height() <= element.client_height() + EDGE && !older.pending().get_untracked() {
                older.dispatch(());
            }
        });
    });

    let on_scroll = move |_| {
        let Some(element) = scroller.get_untracked() else { return };
        let count = store.thread.with_untracked(|thread| thread.messages.len());
        if element.scroll_top() < EDGE {
            let mut at_oldest = false;
            let current = window.get_untracked();
            let mut moved = current;
            if moved.scrolled_to_top(count) {
                at_oldest = true;
            }
            if moved != current {
                keep_place(scroller, move || window.set(moved));
            } else if at_oldest && !older.pending().get_untracked() && store.thread.with_untracked(|thread| thread.older_cursor.is_some()) {
                older.dispatch(());
            }
        } else if is_at_bottom(&element) {
            let current = window.get_untracked();
            let mut moved = current;
            moved.scrolled_to_bottom(count);
            if moved != current {
                keep_place(scroller, move || window.set(moved));
            }
            if moved.follows() && moved.range(count).end == count {
                unseen_from.set(None);
                unseen.set(0);
            }
        }
    };

    let lines = move || {
        let marker = unseen_from.get();
        let range = window.get().range(store.thread.with(|thread| thread.messages.len()));
        store.thread.with(|thread| {
            let mut lines = Vec::new();
            let mut last_day = None;
            for message in &thread.messages[range] {
                let day = day_key(message.timestamp);
                if last_day != Some(day) {
                    lines.push(ThreadLine::Day { key: day, at: message.timestamp });
                    last_day = Some(day);
                }
                if marker.as_deref() == Some(message.id.as_str()) {
                    lines.push(ThreadLine::NewMessages);
                }
                // A reaction is shown on the message it reacts to, never as a bubble.
                if message.kind != api_types::MessageType::Reaction {
                    lines.push(ThreadLine::Message(Box::new(message.clone())));
                }
            }
            lines
        })
    };
    let reason_of = move |error: &ApiError| error.describe(i18n);
    let on_retry = Callback::new(move |message: MessageItem| sender.retry(message, reason_of));
    let on_open_image = Callback::new(move |url: String| lightbox.set(Some(url)));
    let on_send = Callback::new(move |outgoing: Outgoing| {
        let Some(conversation_id) = page.selected.get_untracked() else { return };
        window.update(ThreadWindow::to_newest);
        sender.send(outgoing, conversation_id, reason_of);
        scroll_to_bottom();
    });
    let jump = move |_| {
        window.update(ThreadWindow::to_newest);
        unseen_from.set(None);
        unseen.set(0);
        scroll_to_bottom();
    };

    view! {
        <section class="inbox-thread-pane" aria-label=i18n.text("inbox.thread.label")>
            <Show
                when=move || page.selected.with(Option::is_some)
                fallback=move || view! {
                    <div class="thread-empty" data-testid="thread-empty">
                        <div class="thread-empty-art" aria-hidden="true"></div>
                        <p class="thread-empty-title">{i18n.text("inbox.thread.none_title")}</p>
                        <p class="muted">{i18n.text("inbox.thread.none")}</p>
                    </div>
                }
            >
                <ThreadHeader />
                <div class="thread" data-testid="thread" node_ref=scroller on:scroll=on_scroll>
                    {move || older.pending().get().then(|| view! {
                        <div class="thread-status"><span class="spinner spinner-small" aria-hidden="true"></span>{i18n.text("inbox.thread.older")}</div>
                    })}
                    {move || load.with(|answer| match answer {
                        None => Some(view! { <div class="thread-status" data-testid="thread-loading"><span class="spinner spinner-small" aria-hidden="true"></span>{i18n.text("inbox.loading")}</div> }.into_any()),
                        Some(Err(error)) => Some(view! {
                            <div class="notice notice-bad thread-error" role="alert" data-testid="thread-error">
                                <span>{i18n.text("inbox.thread.error")} " " {error.describe(i18n)}</span>
                                <button type="button" class="button button-small button-secondary" on:click=move |_| load.refetch()>{i18n.text("inbox.retry")}</button>
                            </div>
                        }.into_any()),
                        Some(Ok(())) => None,
                    })}
                    {move || store.thread.with(|thread| thread.loaded && thread.messages.is_empty()).then(|| view! {
                        <p class="thread-status muted" data-testid="thread-no-messages">{i18n.text("inbox.thread.no_messages")}</p>
                    })}
                    <For each=lines key=ThreadLine::key let:line>
                        {match line {
                            ThreadLine::Day { at, .. } => view! {
                                <div class="day-separator" data-testid="day-separator"><span>{move || day_label(i18n, at)}</span></div>
                            }.into_any(),
                            ThreadLine::NewMessages => view! {
                                <div class="new-messages-marker" data-testid="new-messages-marker" role="status"><span>{i18n.text("inbox.thread.new_messages")}</span></div>
                            }.into_any(),
                            ThreadLine::Message(message) => view! { <MessageBubble message=*message on_retry on_open_image /> }.into_any(),
                        }}
                    </For>
                </div>
                <Show when=move || unseen.get() != 0>
                    <button type="button" class="jump-to-newest" data-testid="jump-to-newest" on:click=jump aria-label=i18n.text("inbox.thread.jump")>
                        <span class="jump-count">{move || unseen.get().to_string()}</span>
                        <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M6 9l6 6 6-6" /></svg>
                    </button>
                </Show>
                <Composer conversation_id=page.selected on_send />
            </Show>
            {move || lightbox.get().map(|url| view! {
                <div class="lightbox" role="dialog" aria-modal="true" aria-label=i18n.text("inbox.media.open") data-testid="lightbox" on:click=move |_| lightbox.set(None)>
                    <img src=url alt="" />
                    <button type="button" class="lightbox-close" data-testid="lightbox-close" aria-label=i18n.text("inbox.media.close")>"×"</button>
                </div>
            })}
        </section>
    }
}

fn is_at_bottom(element: &web_sys::HtmlDivElement) -> bool {
    element.scroll_height() - element.scroll_top() - element.client_height() < EDGE
}

/// Change what is drawn (`change`) while the message at the top of the view stays where it is:
/// the first visible message's distance from the top is measured before, and restored once the
/// DOM has the change.
fn keep_place(scroller: NodeRef<leptos::html::Div>, change: impl FnOnce()) {
    let anchor = scroller.get_untracked().and_then(|element| first_visible_message(&element));
    change();
    if let Some((id, offset)) = anchor {
        request_animation_frame(move || {
            let Some(element) = scroller.get_untracked() else { return };
            let selector = format!("[data-message-id=\"{}\"]", id.replace('"', ""));
            if let Ok(Some(found)) = element.query_selector(&selector) {
                if let Some(found) = found.dyn_ref::<web_sys::HtmlElement>() {
                    element.set_scroll_top(found.offset_top() - offset);
                }
            }
        });
    }
}

/// The id of the first message in view, and how far below the top of the view it starts.
fn first_visible_message(element: &web_sys::HtmlDivElement) -> Option<(String, i32)> {
    let top = element.scroll_top();
    let rows = element.query_selector_all("[data-message-id]").ok()?;
    for index in 0..rows.length() {
        let row = rows.item(index)?.dyn_into::<web_sys::HtmlElement>().ok()?;
        if row.offset_top() + row.offset_height() > top {
            return Some((row.get_attribute("data-message-id")?, row.offset_top() - top));
        }
    }
    None
}

/// The open conversation's customer, state, assignee, and the actions on them.
#[component]
fn ThreadHeader() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let store = use_realtime().inbox;
    let session = use_session();
    let me = move || session.with_user(|user| user.map(|user| user.id.clone()).unwrap_or_default());
    let me_name = move || session.with_user(|user| user.map(|user| user.name.clone()).unwrap_or_default());
    let open = move || store.open.get();
    let assignee = move || store.open.with(|open| open.as_ref().and_then(|open| open.assignee_user_id.clone()));
    let resolved = move || store.open.with(|open| open.as_ref().is_some_and(|open| open.state == ConversationState::Resolved));

    #[derive(Clone)]
    enum Change {
        Assign(Option<String>),
        Resolve,
        Reopen,
    }
    let change = Action::new_local(move |change: &Change| {
        let change = change.clone();
        let conversation_id = store.open.with_untracked(|open| open.as_ref().map(|open| open.id.clone())).unwrap_or_default();
        async move {
            let changed = match change {
                Change::Assign(user_id) => inbox::assign(api, &conversation_id, user_id).await?,
                Change::Resolve => inbox::resolve(api, &conversation_id).await?,
                Change::Reopen => inbox::reopen(api, &conversation_id).await?,
            };
            if let Some(conversation) = changed {
                store.apply_conversation(conversation);
            }
            Ok::<(), ApiError>(())
        }
    });
    let busy = move || change.pending().get();
    // The account's users, to assign to (read once; the picker works without it: me and nobody).
    let team = LocalResource::new(move || async move { team::list_users(api).await.map(|list| list.items).unwrap_or_default() });
    let teammates = move || team.with(|users| users.as_ref().map(|users| users.iter().filter(|user| user.id != me()).cloned().collect::<Vec<_>>()).unwrap_or_default());
    let name_of = move |id: &str| {
        team.with(|users| users.as_ref().and_then(|users| users.iter().find(|user| user.id == id).map(|user| user.name.clone())))
    };
    let assignee_text = move || match assignee() {
        None => i18n.t("inbox.assignee.none").to_owned(),
        Some(id) if id == me() => i18n.t("inbox.assignee.me").to_owned(),
        Some(id) => match name_of(&id) {
            Some(name) => i18n.tf("inbox.assignee.named", &[("name", &name)]),
            None => i18n.tf("inbox.assignee.other", &[("id", &id)]),
        },
    };
    view! {
        <header class="thread-header">
            <div class="thread-title">
                {move || open().map(|conversation| view! {
                    <span class="conversation-avatar" aria-hidden="true">{super::format::initial(&conversation)}</span>
                })}
                <div class="thread-title-text">
                    <h2 class="thread-name" data-testid="thread-name">
                        {move || open().map(|conversation| customer_label(&conversation.customer))}
                    </h2>
                    <p class="thread-subtitle muted">
                        {move || open().and_then(|conversation| {
                            let address = customer_address(&conversation.customer);
                            (address != customer_label(&conversation.customer)).then_some(address)
                        })}
                        <span
                            class=move || if resolved() { "badge badge-muted" } else { "badge badge-good" }
                            data-testid="conversation-state"
                            data-state=move || store.open.with(|open| open.as_ref().map(|open| open.state.as_str().to_owned()).unwrap_or_default())
                        >
                            {move || if resolved() { i18n.t("inbox.state.resolved") } else { i18n.t("inbox.state.open") }}
                        </span>
                        <span class="thread-assignee" data-testid="conversation-assignee">{assignee_text}</span>
                    </p>
                </div>
            </div>
            <div class="thread-actions">
                <Show when=move || assignee().as_deref() != Some(me().as_str())>
                    <button type="button" class="button button-small button-primary" data-testid="assign-to-me" disabled=busy on:click=move |_| {
                        change.dispatch(Change::Assign(Some(me())));
                    }>
                        {i18n.text("inbox.action.assign_me")}
                    </button>
                </Show>
                <select
                    class="inbox-select thread-assign-select"
                    data-testid="assign-select"
                    aria-label=i18n.text("inbox.action.assign_to")
                    disabled=busy
                    on:change=move |event| {
                        let value = event_target_value(&event);
                        change.dispatch(Change::Assign((!value.is_empty()).then_some(value)));
                    }
                >
                    <option value="" selected=move || assignee().is_none()>{i18n.text("inbox.assignee.none")}</option>
                    <option value=me selected=move || assignee().as_deref() == Some(me().as_str())>{move || i18n.tf("inbox.assignee.me_named", &[("name", &me_name())])}</option>
                    {move || teammates().into_iter().map(|user| {
                        let id = user.id.clone();
                        view! {
                            <option value=user.id.clone() data-testid="assign-option" selected=move || assignee().as_deref() == Some(id.as_str())>{user.name.clone()}</option>
                        }
                    }).collect_view()}
                    // Someone no longer in the list (or before it loads).
                    {move || assignee().filter(|id| *id != me() && !teammates().iter().any(|user| user.id == *id)).map(|id| view! {
                        <option value=id.clone() selected=true>{i18n.tf("inbox.assignee.other", &[("id", &id)])}</option>
                    })}
                </select>
                <Show when=move || assignee().is_some()>
                    <button type="button" class="button button-small button-ghost" data-testid="unassign" disabled=busy on:click=move |_| {
                        change.dispatch(Change::Assign(None));
                    }>
                        {i18n.text("inbox.action.unassign")}
                    </button>
                </Show>
                <Show
                    when=resolved
                    fallback=move || view! {
                        <button type="button" class="button button-small button-secondary" data-testid="resolve" disabled=busy on:click=move |_| {
                            change.dispatch(Change::Resolve);
                        }>
                            {i18n.text("inbox.action.resolve")}
                        </button>
                    }
                >
                    <button type="button" class="button button-small button-secondary" data-testid="reopen" disabled=busy on:click=move |_| {
                        change.dispatch(Change::Reopen);
                    }>
                        {i18n.text("inbox.action.reopen")}
                    </button>
                </Show>
            </div>
            {move || change.value().get().and_then(Result::err).map(|error| view! {
                <p class="thread-action-error" role="alert" data-testid="conversation-action-error">{error.describe(i18n)}</p>
            })}
        </header>
    }
}
