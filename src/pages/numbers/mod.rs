//! The Numbers page: the account's WhatsApp business accounts and their numbers, kept live by the
//! event stream (`number` and `numberRemoved` events, applied to the numbers store by the realtime
//! dispatcher), with registration retry, removal and per-number settings.
//!
//! The list is one `LocalResource` shown through `Transition`: the last answer stays on screen
//! while the next one loads, and a failed load shows an error with a retry, never an empty list.
//! It loads again when the stream was down or the server asks for it ([`Realtime::reloads`]).
//! The failure is matched in the `Suspend` rather than thrown to an `ErrorBoundary`: the error
//! stays a typed `ApiError`, and the boundary would add about 7 KB gzipped to the wasm for this
//! one view (measured on the release bundle: 354.8 -> 347.8 KB).
//!
//! The rows sit outside the part that is rebuilt on every answer: keyed by id, each reads its
//! number from [`NumbersPageState::overview`], so an event or a refetch updates badges in place
//! without closing an open settings panel or dialog, and a failed refetch keeps the last list on
//! screen under the error.

mod row;
mod sandbox;
pub mod strings;

use api_types::{NumberDetails, RemovedNumber, WabaInfo, WabaStatus};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{use_api, whatsapp, ApiClient, ApiError};
use crate::components::page_title::use_page_title;
use crate::i18n::{use_i18n, I18n};
use crate::state::navigation::app_href;
use crate::state::numbers::NumbersStore;
use crate::state::realtime::{use_realtime, Realtime};
use crate::state::session::use_session;
use row::NumberRow;

/// One WABA and the ids of its numbers, in display order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WabaGroup {
    pub waba_id: String,
    pub waba_name: String,
    /// `None` when the WABA is known only through its numbers.
    pub waba_status: Option<WabaStatus>,
    pub phone_number_ids: Vec<String>,
}

/// What the page shows: WABAs in the order the server lists them, then any WABA known only
/// from a number; and every number's details.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumbersOverview {
    pub groups: Vec<WabaGroup>,
    pub numbers: Vec<NumberDetails>,
}

impl NumbersOverview {
    pub fn build(wabas: Vec<WabaInfo>, numbers: Vec<NumberDetails>) -> NumbersOverview {
        let mut groups: Vec<WabaGroup> = wabas
            .into_iter()
            .map(|waba| WabaGroup {
                waba_id: waba.waba_id,
                waba_name: waba.waba_name,
                waba_status: Some(waba.waba_status),
                phone_number_ids: Vec::new(),
            })
            .collect();
        for number in &numbers {
            match groups.iter_mut().find(|group| group.waba_id == number.waba_id) {
                Some(group) => group.phone_number_ids.push(number.phone_number_id.clone()),
                None => groups.push(WabaGroup {
                    waba_id: number.waba_id.clone(),
                    waba_name: number.waba_name.clone(),
                    waba_status: None,
                    phone_number_ids: vec![number.phone_number_id.clone()],
                }),
            }
        }
        NumbersOverview { groups, numbers }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn number(&self, phone_number_id: &str) -> Option<&NumberDetails> {
        self.numbers.iter().find(|number| number.phone_number_id == phone_number_id)
    }
}

/// The WABAs; the numbers go into the store, where events keep them current.
async fn load_wabas(api: ApiClient, store: NumbersStore, account_name: String) -> Result<Vec<WabaInfo>, ApiError> {
    let wabas = whatsapp::waba_info(api, &account_name).await?;
    let numbers = whatsapp::list_numbers(api).await?;
    store.replace(numbers);
    Ok(wabas)
}

/// A WABA's review status in words; a value WhatsApp added after this version shows as sent.
fn waba_status_text(i18n: I18n, status: &WabaStatus) -> String {
    let key = match status {
        WabaStatus::Approved => "numbers.waba_status.approved",
        WabaStatus::Pending => "numbers.waba_status.pending",
        WabaStatus::Rejected => "numbers.waba_status.rejected",
        WabaStatus::Disabled => "numbers.waba_status.disabled",
        WabaStatus::NotReported => "numbers.waba.status_unknown",
        WabaStatus::Unknown(text) => return text.clone(),
    };
    i18n.t(key).to_owned()
}

fn waba_status_tone(status: &WabaStatus) -> &'static str {
    match status {
        WabaStatus::Approved => "good",
        WabaStatus::Pending => "warn",
        WabaStatus::Rejected | WabaStatus::Disabled => "bad",
        WabaStatus::NotReported | WabaStatus::Unknown(_) => "muted",
    }
}

/// Shared by the rows: the latest list, and a way to ask for a fresh one now.
#[derive(Clone, Copy)]
pub struct NumbersPageState {
    /// The last list the server answered: `None` until the first one, and kept through a failed
    /// refetch (the page says it is stale).
    pub overview: Memo<Option<NumbersOverview>>,
    numbers: LocalResource<Result<Vec<WabaInfo>, ApiError>>,
    /// What was removed last, with what the business must still do on Meta's side.
    pub removed: RwSignal<Option<RemovedNumber>>,
}

impl NumbersPageState {
    /// Load the list again now (after a change, or to retry a failed load).
    pub fn refresh(&self) {
        self.numbers.refetch();
    }
}

#[component]
pub fn NumbersPage() -> impl IntoView {
    crate::i18n::register(strings::STRINGS);
    let i18n = use_i18n();
    use_page_title("numbers.title");
    let api = use_api();
    let session = use_session();
    let account_name = move || session.with_user(|user| user.map(|user| user.account_name.clone()).unwrap_or_default());

    let realtime: Realtime = use_realtime();
    let store = realtime.numbers;
    let numbers = LocalResource::new(move || {
        // Read so that a reconnect or a reset loads the list again.
        realtime.reloads();
        load_wabas(api, store, account_name())
    });
    let wabas = Memo::new(move |last: Option<&Option<Vec<WabaInfo>>>| {
        numbers.with(|answer| match answer {
            Some(Ok(fresh)) => Some(fresh.clone()),
            _ => last.cloned().flatten(),
        })
    });
    // A memo, so rows are only told about changes to what they show.
    let overview = Memo::new(move |_| {
        let wabas = wabas.get()?;
        let numbers = store.numbers.get()?;
        Some(NumbersOverview::build(wabas, numbers))
    });
    let state = NumbersPageState { overview, numbers, removed: RwSignal::new(None) };
    provide_context(state);

    let group_ids = move || {
        overview.with(|overview| {
            overview
                .as_ref()
                .map(|overview| overview.groups.iter().map(|group| group.waba_id.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    };
    let loading = move || {
        view! {
            <div class="loading-block" data-testid="numbers-loading">
                <span class="spinner" aria-hidden="true"></span>
                {i18n.text("numbers.loading")}
            </div>
        }
    };

    view! {
        <section class="page numbers-page" data-testid="numbers-page">
            <header class="page-header page-header-row">
                <div>
                    <h1 class="page-title">{i18n.text("numbers.title")}</h1>
                    <p class="page-subtitle">{i18n.text("numbers.subtitle")}</p>
                </div>
                <A href=app_href("/onboarding") attr:class="button button-primary" attr:data-testid="numbers-connect-link">
                    {i18n.text("numbers.connect")}
                </A>
            </header>
            {move || state.removed.get().map(|removed| view! {
                <div class="notice notice-info" role="status" data-testid="remove-done">
                    <p><strong>{i18n.tf("numbers.removed.title", &[("id", &removed.phone_number_id)])}</strong></p>
                    <p>{i18n.t("numbers.removed.meta_steps")}</p>
                    {removed.waba_unbound.then(|| view! { <p>{i18n.t("numbers.removed.waba_unbound")}</p> })}
                    <button type="button" class="button button-small button-ghost" data-testid="remove-done-dismiss" on:click=move |_| state.removed.set(None)>
                        {i18n.t("numbers.dismiss")}
                    </button>
                </div>
            })}
            <Transition fallback=loading>
                // Rebuilt on every answer: only what has no state of its own.
                {move || Suspend::new(async move {
                    match numbers.await {
                        Ok(_) => view! {
                            <Show when=move || overview.with(|overview| overview.as_ref().is_some_and(NumbersOverview::is_empty))>
                                <NoNumbersYet />
                            </Show>
                        }
                        .into_any(),
                        Err(error) => view! { <NumbersLoadError error=error /> }.into_any(),
                    }
                })}
                <div class="waba-list">
                    <For each=group_ids key=|waba_id| waba_id.clone() let:waba_id>
                        <WabaCard waba_id=waba_id />
                    </For>
                </div>
            </Transition>
        </section>
    }
}

/// Why the list could not be loaded, with a retry. Above the last list when there is one.
#[component]
fn NumbersLoadError(
    /// What the last load failed with.
    error: ApiError,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = expect_context::<NumbersPageState>();
    let shows_rows = move || state.overview.with(|overview| overview.as_ref().is_some_and(|overview| !overview.is_empty()));
    let reason = move || error.describe(i18n);
    view! {
        <div class="notice notice-bad numbers-error" role="alert" data-testid="numbers-error">
            <span>
                {move || if shows_rows() { i18n.t("numbers.error.stale") } else { i18n.t("numbers.error.load") }}
                " "
                {reason}
            </span>
            <button type="button" class="button button-small button-secondary" data-testid="numbers-retry" on:click=move |_| state.refresh()>
                {i18n.text("numbers.retry")}
            </button>
        </div>
    }
}

/// The account has no WhatsApp business account yet: where to connect one.
#[component]
fn NoNumbersYet() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="empty-state" data-testid="numbers-empty">
            <div class="empty-state-icon" aria-hidden="true">"☎"</div>
            <p class="empty-state-text">{i18n.text("numbers.empty")}</p>
            <A href=app_href("/onboarding") attr:class="button button-primary" attr:data-testid="numbers-empty-onboarding">
                {i18n.text("numbers.empty.action")}
            </A>
        </div>
    }
}

/// One WhatsApp business account and its numbers.
#[component]
fn WabaCard(waba_id: String) -> impl IntoView {
    let i18n = use_i18n();
    let state = expect_context::<NumbersPageState>();
    let group = {
        let waba_id = waba_id.clone();
        Memo::new(move |_| {
            state.overview.with(|overview| {
                overview.as_ref().and_then(|overview| overview.groups.iter().find(|group| group.waba_id == waba_id).cloned())
            })
        })
    };
    let waba_status = move || group.with(|group| group.as_ref().and_then(|group| group.waba_status.clone()));
    let number_ids = move || group.with(|group| group.as_ref().map(|group| group.phone_number_ids.clone()).unwrap_or_default());
    let waba_id_text = waba_id.clone();
    view! {
        <section class="card waba-card" data-testid="waba-card" data-waba-id=waba_id.clone()>
            <header class="waba-header">
                <div>
                    <h2 class="waba-name" data-testid="waba-name">
                        {move || group.with(|group| group.as_ref().map(|group| group.waba_name.clone()).unwrap_or_default())}
                    </h2>
                    <p class="waba-id muted">{move || i18n.tf("numbers.waba.id", &[("id", &waba_id_text)])}</p>
                </div>
                <span
                    class=move || format!("badge badge-{}", waba_status().as_ref().map(waba_status_tone).unwrap_or("muted"))
                    data-testid="waba-status"
                    data-status=move || waba_status().map(|status| status.as_str().to_owned()).unwrap_or_default()
                >
                    {move || match waba_status() {
                        Some(status) => waba_status_text(i18n, &status),
                        None => i18n.t("numbers.waba.status_unknown").to_owned(),
                    }}
                </span>
            </header>
            <Show
                when=move || group.with(|group| group.as_ref().is_some_and(|group| !group.phone_number_ids.is_empty()))
                fallback=move || view! { <p class="muted waba-no-numbers" data-testid="waba-no-numbers">{i18n.text("numbers.waba.no_numbers")}</p> }
            >
                <ul class="number-list">
                    <For each=number_ids key=|id| id.clone() let:phone_number_id>
                        <NumberRow phone_number_id=phone_number_id />
                    </For>
                </ul>
            </Show>
        </section>
    }
}
