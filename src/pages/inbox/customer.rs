//! The customer panel: who the open conversation is with, through which business number, since
//! when, and their other conversations (on other numbers, or resolved ones).

use api_types::{ConversationFilter, ConversationListRequest, ConversationState, ConversationSummary};
use leptos::prelude::*;

use super::format::{activity_label, customer_label, long_date, phone_label};
use super::use_inbox_page;
use crate::api::{inbox, use_api};
use crate::i18n::use_i18n;
use crate::state::realtime::use_realtime;

#[component]
pub fn CustomerPanel() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let realtime = use_realtime();
    let store = realtime.inbox;
    let page = use_inbox_page();
    let open = move || store.open.get();

    // The customer's conversations: the search matches their number or user id.
    let customer_key = Memo::new(move |_| {
        store.open.with(|open| {
            open.as_ref().and_then(|open| open.customer.wa_id.clone().or_else(|| open.customer.user_id.clone()))
        })
    });
    let others = LocalResource::new(move || {
        let key = customer_key.get();
        realtime.reloads();
        async move {
            let Some(key) = key else { return Ok(Vec::new()) };
            let request = ConversationListRequest {
                filter: Some(ConversationFilter::All),
                query: Some(key),
                limit: Some(20),
                ..ConversationListRequest::default()
            };
            inbox::list_conversations(api, &request).await.map(|page| page.items)
        }
    });
    let other_rows = move || {
        let open_id = store.open.with(|open| open.as_ref().map(|open| open.id.clone())).unwrap_or_default();
        let key = customer_key.get();
        others.with(|answer| match answer {
            Some(Ok(items)) => items
                .iter()
                .filter(|item| item.id != open_id && same_customer(item, key.as_deref()))
                .cloned()
                .collect::<Vec<ConversationSummary>>(),
            _ => Vec::new(),
        })
    };
    // When the account first heard from the customer; servers before `firstContactAt` send 0:
    // the first message then, once the whole history is loaded.
    let first_contact = move || {
        let known = store.open.with(|open| open.as_ref().map(|open| open.first_contact_at).filter(|at| *at > 0));
        known.or_else(|| {
            store.thread.with(|thread| (thread.loaded && thread.older_cursor.is_none()).then(|| thread.messages.first().map(|first| first.timestamp)).flatten())
        })
    };
    let number_label = move |phone_number_id: &str| match realtime.numbers.get(phone_number_id) {
        Some(number) if !number.verified_name.is_empty() => format!("{} · {}", number.verified_name, number.display_phone_number),
        Some(number) => number.display_phone_number,
        None => phone_number_id.to_owned(),
    };

    view! {
        <aside class="customer-panel" data-testid="customer-panel" aria-label=i18n.text("inbox.customer.label")>
            {move || match open() {
                None => view! { <p class="muted customer-none">{i18n.text("inbox.customer.none")}</p> }.into_any(),
                Some(conversation) => {
                    let name = customer_label(&conversation.customer);
                    let wa_id = conversation.customer.wa_id.clone().filter(|id| !id.is_empty());
                    let user_id = conversation.customer.user_id.clone().filter(|id| !id.is_empty());
                    let number = number_label(&conversation.phone_number_id);
                    view! {
                        <div class="customer-card">
                            <span class="customer-avatar" aria-hidden="true">{super::format::initial(&conversation)}</span>
                            <h3 class="customer-name" data-testid="customer-name">{name}</h3>
                        </div>
                        <dl class="customer-facts">
                            {wa_id.map(|wa_id| view! {
                                <dt>{i18n.text("inbox.customer.phone")}</dt>
                                <dd data-testid="customer-phone">{phone_label(&wa_id)}</dd>
                            })}
                            {user_id.map(|user_id| view! {
                                <dt>{i18n.text("inbox.customer.user_id")}</dt>
                                <dd class="customer-user-id" data-testid="customer-user-id">{user_id}</dd>
                            })}
                            <dt>{i18n.text("inbox.customer.business_number")}</dt>
                            <dd data-testid="customer-business-number">{number}</dd>
                            <dt>{i18n.text("inbox.customer.first_contact")}</dt>
                            <dd data-testid="customer-first-contact">
                                {move || first_contact().map(|at| long_date(i18n, at)).unwrap_or_else(|| i18n.t("inbox.customer.earlier").to_owned())}
                            </dd>
                        </dl>
                    }
                    .into_any()
                }
            }}
            <Show when=move || !other_rows().is_empty()>
                <h4 class="customer-section-title">{i18n.text("inbox.customer.others")}</h4>
                <ul class="customer-others" data-testid="customer-others">
                    <For each=other_rows key=|item| format!("{}|{}|{}", item.id, item.state, item.last_message_at) let:item>
                        {
                            let number = number_label(&item.phone_number_id);
                            let resolved = item.state == ConversationState::Resolved;
                            let at = item.last_message_at;
                            let target = item.clone();
                            view! {
                                <li>
                                    <button type="button" class="customer-other" data-testid="customer-other" on:click=move |_| page.open(store, target.clone())>
                                        <span class="customer-other-number">{number}</span>
                                        <span class="customer-other-meta muted">
                                            {if resolved { i18n.t("inbox.state.resolved") } else { i18n.t("inbox.state.open") }}
                                            " · "
                                            {activity_label(i18n, at)}
                                        </span>
                                    </button>
                                </li>
                            }
                        }
                    </For>
                </ul>
            </Show>
        </aside>
    }
}

/// The search matches text anywhere; keep only this customer's own conversations.
fn same_customer(conversation: &ConversationSummary, key: Option<&str>) -> bool {
    let Some(key) = key else { return false };
    conversation.customer.wa_id.as_deref() == Some(key) || conversation.customer.user_id.as_deref() == Some(key)
}
