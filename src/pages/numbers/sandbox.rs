//! In sandbox mode, a number's settings offer to make WhatsApp do something to it (flag it, raise
//! its messaging limit, disconnect it), so a tester sees how the console reacts. The server sends
//! itself the webhook Meta would send.

use api_types::{NumberDetails, SimulatedEvent};
use leptos::prelude::*;

use super::NumbersPageState;
use crate::api::{use_api, whatsapp};
use crate::i18n::use_i18n;

const EVENTS: [(SimulatedEvent, &str, &str); 4] = [
    (
        SimulatedEvent::Flagged,
        "numbers.sandbox.flag",
        "sandbox-simulate-flagged",
    ),
    (
        SimulatedEvent::Unflagged,
        "numbers.sandbox.unflag",
        "sandbox-simulate-unflagged",
    ),
    (
        SimulatedEvent::LimitRaised,
        "numbers.sandbox.raise_limit",
        "sandbox-simulate-limit-raised",
    ),
    (
        SimulatedEvent::Disconnected,
        "numbers.sandbox.disconnect",
        "sandbox-simulate-disconnected",
    ),
];

/// The sandbox-only buttons that make WhatsApp do something to `number`.
#[component]
pub fn SandboxSimulation(
    /// The number the events happen to.
    #[prop(into)]
    number: Signal<NumberDetails>,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let state = expect_context::<NumbersPageState>();
    let simulate = Action::new_local(move |event: &SimulatedEvent| {
        let event = *event;
        let phone_number_id = number.with_untracked(|number| number.phone_number_id.clone());
        async move { whatsapp::simulate_event(api, &phone_number_id, event).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = simulate.value().get() {
            state.refresh();
        }
    });
    view! {
        <div class="settings-section sandbox-simulation" data-testid="sandbox-simulation">
            <h3 class="settings-title">{i18n.text("numbers.sandbox.title")}</h3>
            <p class="muted">{i18n.text("numbers.sandbox.text")}</p>
            <div class="sandbox-simulation-buttons">
                {EVENTS
                    .into_iter()
                    .map(|(event, label, testid)| view! {
                        <button
                            type="button"
                            class="button button-small button-secondary"
                            data-testid=testid
                            disabled=move || simulate.pending().get()
                            on:click=move |_| { simulate.dispatch(event); }
                        >
                            {i18n.text(label)}
                        </button>
                    })
                    .collect_view()}
            </div>
            {move || simulate.value().get().and_then(Result::err).map(|error| view! {
                <p class="inline-error" role="alert" data-testid="sandbox-simulation-error">{error.describe(i18n)}</p>
            })}
        </div>
    }
}
