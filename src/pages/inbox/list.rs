//! The conversation list: Mine / Unassigned / All, the business number, Open / Resolved, a
//! search box, and the conversations newest activity first, only the visible rows in the DOM.

use std::time::Duration;

use api_types::{ConversationFilter, ConversationState, ConversationSummary};
use leptos::leptos_dom::helpers::{set_timeout_with_handle, TimeoutHandle};
use leptos::prelude::*;

use super::format::{activity_label, customer_address, customer_label, initial, preview_label};
use super::windowing::{anchored_scroll_top, near_the_end, visible_rows, ROW_HEIGHT};
use super::{use_inbox_page, PAGE_SIZE};
use crate::api::{inbox, use_api, ApiClient, ApiError};
use crate::i18n::use_i18n;
use crate::state::inbox::{InboxStore, ListQuery};
use crate::state::realtime::use_realtime;

/// How long the search waits after the last key before it asks the server.
const SEARCH_DEBOUNCE: Duration = Duration::from_millis(300);

async fn load_first_page(api: ApiClient, store: InboxStore, query: ListQuery) -> Result<(), ApiError> {
    let page = inbox::list_conversations(api, &query.request(None, PAGE_SIZE)).await?;
    store.remember(&page.items);
    // An answer for a query the agent has left is not shown.
    if store.query.with_untracked(|current| *current == query) {
        store.list.update(|list| list.replace(page));
    }
    Ok(())
}

/// The left pane: filters above the list.
#[component]
pub fn ConversationPane() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let store = realtime.inbox;

    let first_page = LocalResource::new(move || {
        realtime.reloads();
        let query = store.query.get();
        load_first_page(api, store, query)
    });
    let more = Action::new_local(move |cursor: &String| {
        let cursor = cursor.clone();
        async move {
            let query = store.query.get_untracked();
            let page = inbox::list_conversations(api, &query.request(Some(cursor), PAGE_SIZE)).await?;
            store.remember(&page.items);
            if store.query.with_untracked(|current| *current == query) {
                store.list.update(|list| list.append(page));
            }
            Ok::<(), ApiError>(())
        }
    });
    let load_more = Callback::new(move |_: ()| {
        if more.pending().get_untracked() {
            return;
        }
        if let Some(cursor) = store.list.with_untracked(|list| list.next_cursor.clone()) {
            more.dispatch(cursor);
        }
    });

    let loading = move || {
        view! {
            <div class="inbox-list-status" data-testid="inbox-loading">
                <span class="spinner spinner-small" aria-hidden="true"></span>
                {i18n.text("inbox.loading")}
            </div>
        }
    };
    view! {
        <aside class="inbox-list-pane" aria-label=i18n.text("inbox.list.label")>
            <ListFilters />
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match first_page.await {
                        Ok(()) => ().into_any(),
                        Err(error) => view! {
                            <div class="notice notice-bad inbox-list-error" role="alert" data-testid="inbox-error">
                                <span>{i18n.text("inbox.error.load")} " " {error.describe(i18n)}</span>
                                <button type="button" class="button button-small button-secondary" data-testid="inbox-retry" on:click=move |_| first_page.refetch()>
                                    {i18n.text("inbox.retry")}
                                </button>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
            <ConversationList store on_near_end=load_more />
            {move || more.value().get().and_then(Result::err).map(|error| view! {
                <p class="inbox-list-status inbox-list-more-error" role="alert">{i18n.text("inbox.error.more")} " " {error.describe(i18n)}</p>
            })}
        </aside>
    }
}

/// The tabs, the number and state selects and the search box; each changes the store's query.
#[component]
fn ListFilters() -> impl IntoView {
    let i18n = use_i18n();
    let realtime = use_realtime();
    let store = realtime.inbox;
    let tab = move |filter: ConversationFilter, key: &'static str, testid: &'static str| {
        let selected = move || store.query.with(|query| query.filter == filter);
        view! {
            <button
                type="button"
                role="tab"
                class="inbox-tab"
                class:inbox-tab-active=selected
                aria-selected=move || selected().to_string()
                data-testid=testid
                on:click=move |_| store.query.update(|query| query.filter = filter)
            >
                {i18n.text(key)}
            </button>
        }
    };
    let numbers = move || realtime.numbers.numbers.get().unwrap_or_default();
    let search_timer = StoredValue::new(None::<TimeoutHandle>);
    let on_search = move |text: String| {
        if let Some(timer) = search_timer.get_value() {
            timer.clear();
        }
        let handle = set_timeout_with_handle(
            move || store.query.update(|query| query.search = text.trim().to_owned()),
            SEARCH_DEBOUNCE,
        );
        search_timer.set_value(handle.ok());
    };
    on_cleanup(move || {
        if let Some(timer) = search_timer.get_value() {
            timer.clear();
        }
    });
    view! {
        <div class="inbox-filters">
            <div class="inbox-tabs" role="tablist">
                {tab(ConversationFilter::Mine, "inbox.filter.mine", "inbox-filter-mine")}
                {tab(ConversationFilter::Unassigned, "inbox.filter.unassigned", "inbox-filter-unassigned")}
                {tab(ConversationFilter::All, "inbox.filter.all", "inbox-filter-all")}
            </div>
            <div class="inbox-search">
                <svg class="inbox-search-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
                    <circle cx="11" cy="11" r="7" fill="none" stroke="currentColor" stroke-width="2" />
                    <path d="M20 20l-3.5-3.5" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
                </svg>
                <input
                    type="search"
                    class="inbox-search-input"
                    data-testid="inbox-search"
                    placeholder=i18n.text("inbox.search.placeholder")
                    aria-label=i18n.text("inbox.search.placeholder")
                    prop:value=move || store.query.with_untracked(|query| query.search.clone())
                    on:input=move |event| on_search(event_target_value(&event))
                />
            </div>
            <div class="inbox-selects">
                <select
                    class="inbox-select"
                    data-testid="inbox-number-filter"
                    aria-label=i18n.text("inbox.number.label")
                    on:change=move |event| {
                        let value = event_target_value(&event);
                        store.query.update(|query| query.phone_number_id = (!value.is_empty()).then_some(value));
                    }
                >
                    <option value="" selected=move || store.query.with(|query| query.phone_number_id.is_none())>
                        {i18n.text("inbox.number.all")}
                    </option>
                    <For each=numbers key=|number| number.phone_number_id.clone() let:number>
                        {
                            let id = number.phone_number_id.clone();
                            let selected = move || store.query.with(|query| query.phone_number_id.as_deref() == Some(id.as_str()));
                            let label = if number.verified_name.is_empty() {
                                number.display_phone_number.clone()
                            } else {
                                format!("{} · {}", number.verified_name, number.display_phone_number)
                            };
                            view! { <option value=number.phone_number_id.clone() selected=selected>{label}</option> }
                        }
                    </For>
                </select>
                <select
                    class="inbox-select inbox-select-state"
                    data-testid="inbox-state-filter"
                    aria-label=i18n.text("inbox.state.label")
                    on:change=move |event| {
                        let state = ConversationState::parse(&event_target_value(&event));
                        store.query.update(|query| query.state = state);
                    }
                >
                    <option value="open" selected=move || store.query.with(|query| query.state == ConversationState::Open)>
                        {i18n.text("inbox.state.open")}
                    </option>
                    <option value="resolved" selected=move || store.query.with(|query| query.state == ConversationState::Resolved)>
                        {i18n.text("inbox.state.resolved")}
                    </option>
                </select>
            </div>
        </div>
    }
}

/// The conversations, only the rows in view (and a few around) in the DOM: every row is
/// [`ROW_HEIGHT`] tall and placed at its index, inside a spacer as tall as the whole list.
#[component]
pub fn ConversationList(
    /// Where the rows come from.
    store: InboxStore,
    /// Called when the agent scrolls near the last loaded row.
    on_near_end: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let scroller = NodeRef::<leptos::html::Div>::new();
    let scroll_top = RwSignal::new(0.0_f64);
    let viewport = RwSignal::new(window_height());
    let count = Memo::new(move |_| store.list.with(|list| list.items.len()));
    let window = Memo::new(move |_| visible_rows(scroll_top.get(), viewport.get(), count.get()));

    // Keep the agent's place when rows move (a conversation jumps to the top on a new message).
    let order = StoredValue::new(Vec::<String>::new());
    Effect::new(move |_| {
        let ids: Vec<String> = store.list.with(|list| list.items.iter().map(|item| item.id.clone()).collect());
        let before = order.get_value();
        if let Some(element) = scroller.get_untracked() {
            if let Some(top) = anchored_scroll_top(&before, &ids, element.scroll_top() as f64) {
                element.set_scroll_top(top as i32);
                scroll_top.set(top);
            }
        }
        order.set_value(ids);
    });

    let measure = move || {
        if let Some(element) = scroller.get_untracked() {
            let top = element.scroll_top() as f64;
            let height = (element.client_height() as f64).min(window_height());
            scroll_top.set(top);
            viewport.set(if height > 0.0 { height } else { window_height() });
            if near_the_end(top, viewport.get_untracked(), count.get_untracked()) {
                on_near_end.run(());
            }
        }
    };
    Effect::new(move |_| {
        if scroller.get().is_some() {
            measure();
        }
    });
    let rows = move || {
        let range = window.get();
        store.list.with(|list| {
            list.items[range.clone()]
                .iter()
                .enumerate()
                .map(|(offset, conversation)| (range.start + offset, conversation.clone()))
                .collect::<Vec<_>>()
        })
    };
    let empty = move || store.list.with(|list| list.loaded && list.items.is_empty());
    view! {
        <div class="conversation-scroller" node_ref=scroller on:scroll=move |_| measure() data-testid="conversation-list">
            <Show when=empty>
                <div class="inbox-empty" data-testid="inbox-empty">
                    <p>{i18n.text("inbox.empty")}</p>
                </div>
            </Show>
            <div class="conversation-spacer" style:height=move || format!("{}px", count.get() as f64 * ROW_HEIGHT)>
                <For
                    each=rows
                    key=|(index, conversation)| (*index, row_version(conversation))
                    children=move |(index, conversation)| view! { <ConversationRow index conversation /> }
                />
            </div>
        </div>
    }
}

fn window_height() -> f64 {
    web_sys::window().and_then(|window| window.inner_height().ok()).and_then(|height| height.as_f64()).unwrap_or(800.0)
}

/// What a row shows: it is drawn again only when one of these changes.
fn row_version(conversation: &ConversationSummary) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}",
        conversation.id,
        conversation.last_message_at,
        conversation.unread_count,
        conversation.state,
        conversation.assignee_user_id.as_deref().unwrap_or(""),
        conversation.customer.name,
    ) + &conversation.last_message.as_ref().map(|last| format!("|{:?}|{:?}", last.text, last.status)).unwrap_or_default()
}

/// One conversation: avatar, name, number, last activity, unread count.
#[component]
fn ConversationRow(index: usize, conversation: ConversationSummary) -> impl IntoView {
    let i18n = use_i18n();
    let page = use_inbox_page();
    let store = use_realtime().inbox;
    let id = conversation.id.clone();
    let selected = {
        let id = id.clone();
        move || page.selected.with(|selected| selected.as_deref() == Some(id.as_str()))
    };
    let name = customer_label(&conversation.customer);
    let address = customer_address(&conversation.customer);
    let shows_address = address != name;
    let unread = conversation.unread_count;
    let has_unread = unread > 0;
    let at = conversation.last_message_at;
    let resolved = conversation.state == ConversationState::Resolved;
    let avatar = initial(&conversation);
    let preview = conversation.last_message.as_ref().map(|last| preview_label(i18n, last));
    let open = conversation.clone();
    view! {
        <button
            type="button"
            class="conversation-row"
            class:conversation-row-selected=selected.clone()
            class:conversation-row-unread=has_unread
            style:top=format!("{}px", index as f64 * ROW_HEIGHT)
            aria-current=move || if selected() { "true" } else { "false" }
            data-testid="conversation-row"
            data-conversation-id=id
            on:click=move |_| page.open(store, open.clone())
        >
            <span class="conversation-avatar" aria-hidden="true">{avatar}</span>
            <span class="conversation-text">
                <span class="conversation-line">
                    <span class="conversation-name" data-testid="conversation-name">{name}</span>
                    <span class="conversation-time" data-testid="conversation-time">{move || activity_label(i18n, at)}</span>
                </span>
                <span class="conversation-line">
                    <span class="conversation-address muted">
                        {resolved.then(|| view! { <span class="conversation-resolved">{i18n.text("inbox.state.resolved")}</span> })}
                        {match preview {
                            Some(preview) => view! { <span class="conversation-preview" data-testid="conversation-preview">{preview}</span> }.into_any(),
                            None => shows_address.then(|| address.clone()).into_any(),
                        }}
                    </span>
                    {(unread > 0).then(|| view! {
                        <span class="conversation-unread" data-testid="conversation-unread" aria-label=move || i18n.tf("inbox.unread", &[("count", &unread.to_string())])>
                            {if unread > 99 { "99+".to_owned() } else { unread.to_string() }}
                        </span>
                    })}
                </span>
            </span>
        </button>
    }
}
