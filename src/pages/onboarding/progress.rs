//! The signup progress panel: steps, the outcome (connected / cancelled / error), the bound
//! number and, for coexistence, the contact and history sync.

use api_types::{NumberDetails, SignupFlow, SyncProgress, SyncState};
use leptos::prelude::*;
use leptos_router::components::A;

use super::controller::{SignupController, SignupStatus, SignupStep};
use crate::components::number::NumberCard;
use crate::i18n::{use_i18n, I18n};
use crate::state::navigation::app_href;

fn step_label_key(step: SignupStep, flow: Option<SignupFlow>) -> &'static str {
    match (step, flow) {
        (SignupStep::Connecting, _) => "onboarding.step.connecting",
        (SignupStep::Exchanging, _) => "onboarding.step.exchanging",
        (SignupStep::Registering, Some(SignupFlow::Coexistence)) => "onboarding.step.linking",
        (SignupStep::Registering, _) => "onboarding.step.registering",
        (SignupStep::Connected, _) => "onboarding.step.connected",
    }
}

/// The words for Meta's step ids in `CANCEL` events.
fn cancel_step_key(step: &str) -> Option<&'static str> {
    Some(match step {
        "BUSINESS_ACCOUNT_SELECTION" => "onboarding.cancel_step.business_account_selection",
        "WABA_PHONE_PROFILE_PICKER" => "onboarding.cancel_step.waba_phone_profile_picker",
        "WHATSAPP_BUSINESS_PROFILE_SETUP" => "onboarding.cancel_step.whatsapp_business_profile_setup",
        "PHONE_NUMBER_SETUP" => "onboarding.cancel_step.phone_number_setup",
        "PHONE_NUMBER_VERIFICATION" => "onboarding.cancel_step.phone_number_verification",
        "PERMISSIONS" => "onboarding.cancel_step.permissions",
        _ => return None,
    })
}

fn cancel_text(i18n: I18n, step: Option<&str>) -> String {
    match step {
        Some(step) => {
            let words = cancel_step_key(step).map(|key| i18n.t(key).to_owned()).unwrap_or_else(|| step.to_owned());
            i18n.tf("onboarding.cancelled_at", &[("step", &words)])
        }
        None => i18n.t("onboarding.cancelled_no_step").to_owned(),
    }
}

/// One list item per step with its state (`data-status`: pending / active / done / failed).
fn progress_steps(status: RwSignal<SignupStatus>, i18n: I18n) -> impl IntoView {
    SignupStep::ALL
        .into_iter()
        .map(|step| {
            let step_status = move || status.with(|status| status.step_status(step));
            view! {
                <li
                    class=move || format!("progress-step step-{}", step_status().name())
                    data-testid=format!("signup-step-{}", step.name())
                    data-status=move || step_status().name()
                    aria-current=move || (step_status() == super::controller::StepStatus::Active).then_some("step")
                >
                    <span class="step-marker" aria-hidden="true"></span>
                    <span class="step-label">{move || i18n.t(step_label_key(step, status.with(SignupStatus::flow)))}</span>
                    <span class="step-state">{move || i18n.t(&step_status().label_key())}</span>
                </li>
            }
        })
        .collect_view()

}

/// Steps and outcome of the current signup; hidden until the first launch.
#[component]
pub fn SignupProgress(controller: SignupController) -> impl IntoView {
    let i18n = use_i18n();
    let status = controller.status;
    view! {
        <Show when=move || status.with(|status| *status != SignupStatus::Idle)>
            <section class="card signup-progress" data-testid="signup-progress" aria-live="polite">
                <h2 class="card-title">
                    {move || match status.with(SignupStatus::flow) {
                        Some(SignupFlow::Coexistence) => i18n.t("onboarding.progress.title_coexistence"),
                        _ => i18n.t("onboarding.progress.title_cloud"),
                    }}
                </h2>
                <ol class="progress-steps">{progress_steps(status, i18n)}</ol>
                <SignupOutcomeView controller=controller />
            </section>
        </Show>
    }
}

/// The outcome line with its actions, and the connected number.
#[component]
fn SignupOutcomeView(controller: SignupController) -> impl IntoView {
    let i18n = use_i18n();
    let status = controller.status;
    let restart = move |_| {
        if let Some(flow) = status.get_untracked().flow() {
            controller.launch(flow);
        }
    };
    let outcome = move || match status.get() {
        SignupStatus::Idle => ().into_any(),
        SignupStatus::Running { step, .. } => view! {
            <p class="signup-status status-running">
                <span class="spinner" aria-hidden="true"></span>
                {i18n.t(match step {
                    SignupStep::Connecting => "onboarding.running.connecting",
                    SignupStep::Exchanging => "onboarding.running.exchanging",
                    _ => "onboarding.running.registering",
                })}
            </p>
        }
        .into_any(),
        SignupStatus::Connected { .. } => view! {
            <p class="signup-status status-connected">
                {move || if controller.number.with(Option::is_some) {
                    i18n.t("onboarding.connected")
                } else {
                    i18n.t("onboarding.connected_waba_only")
                }}
            </p>
        }
        .into_any(),
        SignupStatus::Cancelled { step, .. } => view! {
            <div class="signup-status status-cancelled">
                <p data-testid="signup-cancel-step" data-step=step.clone().unwrap_or_default()>
                    {cancel_text(i18n, step.as_deref())}
                </p>
                <button type="button" class="button button-primary" data-testid="signup-restart" on:click=restart>
                    {i18n.t("onboarding.restart")}
                </button>
            </div>
        }
        .into_any(),
        SignupStatus::Failed { failure, .. } => view! {
            <div class="signup-status status-error" role="alert">
                <p class="error-reason">{i18n.t(failure.reason_key)}</p>
                {failure.detail.map(|detail| view! { <p class="error-detail" data-testid="signup-error-message">{detail}</p> })}
                <dl class="error-facts">
                    {failure.code.map(|code| view! {
                        <dt>{i18n.t("onboarding.error.code")}</dt>
                        <dd data-testid="signup-error-code">{code}</dd>
                    })}
                    {failure.session_id.map(|session_id| view! {
                        <dt>{i18n.t("onboarding.error.session_id")}</dt>
                        <dd><code data-testid="signup-session-id">{session_id}</code></dd>
                    })}
                </dl>
                {(failure.reason_key == "onboarding.error.reported").then(|| view! {
                    <p class="muted">{i18n.t("onboarding.error.support_hint")}</p>
                })}
                <button type="button" class="button button-primary" data-testid="signup-restart" on:click=restart>
                    {i18n.t("onboarding.restart")}
                </button>
            </div>
        }
        .into_any(),
    };

    view! {
        <div data-testid="signup-status" data-state=move || status.with(SignupStatus::state_name)>
            {outcome}
        </div>
        {move || controller.number.get().map(|number| {
            let number_signal = Signal::derive(move || controller.number.get().unwrap_or_else(|| number.clone()));
            view! {
                <NumberCard number=number_signal>
                    <SyncProgressView controller=controller />
                </NumberCard>
            }
        })}
        <Show when=move || status.with(|status| matches!(status, SignupStatus::Connected { .. }))>
            <A href=app_href("/numbers") attr:class="button button-secondary" attr:data-testid="signup-go-numbers">
                {i18n.text("onboarding.go_numbers")}
            </A>
        </Show>
    }
}

/// Overall history percentage over the three phases (day 0-1, 1-90, 90-180).
fn history_percent(sync: &SyncProgress) -> u8 {
    match sync.history {
        SyncState::Completed => 100,
        SyncState::InProgress => {
            let phase = u32::from(sync.history_phase.unwrap_or(0).min(2));
            ((phase * 100 + u32::from(sync.history_progress.min(100))) / 3) as u8
        }
        _ => 0,
    }
}

/// Where one half of the sync stands, in words; a state WhatsApp added after this version shows as sent.
fn sync_state_text(i18n: I18n, state: &SyncState) -> String {
    let key = match state {
        SyncState::NotRequested => "onboarding.sync.not_requested",
        SyncState::Requested => "onboarding.sync.requested",
        SyncState::InProgress => "onboarding.sync.in_progress",
        SyncState::Completed => "onboarding.sync.completed",
        SyncState::Declined => "onboarding.sync.declined",
        SyncState::Failed => "onboarding.sync.failed",
        SyncState::Unknown(text) => return text.clone(),
    };
    i18n.t(key).to_owned()
}

/// The kebab-case `data-state` of a sync half.
fn sync_state_name(state: &SyncState) -> &'static str {
    match state {
        SyncState::NotRequested => "not-requested",
        SyncState::Requested => "requested",
        SyncState::InProgress => "in-progress",
        SyncState::Completed => "completed",
        SyncState::Declined => "declined",
        SyncState::Failed => "failed",
        SyncState::Unknown(_) => "unknown",
    }
}

/// Coexistence only: contacts imported and history phase/percent, with a bar.
#[component]
fn SyncProgressView(controller: SignupController) -> impl IntoView {
    let i18n = use_i18n();
    let sync = move || controller.number.with(|number| number.as_ref().and_then(|number: &NumberDetails| number.sync.clone()));
    let is_coexistence = move || controller.status.with(|status| status.flow() == Some(SignupFlow::Coexistence));
    view! {
        <Show when=is_coexistence>
            {move || {
                let Some(sync) = sync() else {
                    return view! {
                        <div class="sync-progress" data-testid="sync-progress" data-state="waiting">
                            <p class="muted">{i18n.t("onboarding.sync.waiting")}</p>
                        </div>
                    }
                    .into_any();
                };
                let percent = history_percent(&sync);
                let done = super::controller::sync_finished_progress(&sync);
                let phase_text = match (&sync.history, sync.history_phase) {
                    (SyncState::InProgress, Some(phase)) => i18n.tf(
                        "onboarding.sync.phase",
                        &[("phase", &(u32::from(phase.min(2)) + 1).to_string()), ("percent", &sync.history_progress.min(100).to_string())],
                    ),
                    (state, _) => sync_state_text(i18n, state),
                };
                view! {
                    <div
                        class="sync-progress"
                        data-testid="sync-progress"
                        data-state=if done { "done" } else { "running" }
                        data-percent=percent
                    >
                        <h3 class="sync-title">{i18n.t("onboarding.sync.title")}</h3>
                        <div class="sync-row">
                            <span class="sync-label">{i18n.t("onboarding.sync.contacts")}</span>
                            <span class="sync-value" data-testid="sync-contacts-state" data-state=sync_state_name(&sync.contacts)>
                                {sync_state_text(i18n, &sync.contacts)}
                            </span>
                            <span class="sync-count" data-testid="sync-contacts-count" data-count=sync.contacts_imported>
                                {i18n.tf("onboarding.sync.contacts_count", &[("count", &sync.contacts_imported.to_string())])}
                            </span>
                        </div>
                        <div class="sync-row">
                            <span class="sync-label">{i18n.t("onboarding.sync.history")}</span>
                            <span
                                class="sync-value"
                                data-testid="sync-history-progress"
                                data-state=sync_state_name(&sync.history)
                                data-phase=sync.history_phase.map(|phase| phase.to_string()).unwrap_or_default()
                                data-percent=percent
                            >
                                {phase_text}
                            </span>
                            <span class="sync-count">
                                {i18n.tf("onboarding.sync.messages_count", &[("count", &sync.history_messages_imported.to_string())])}
                            </span>
                        </div>
                        <div
                            class="progress-bar"
                            role="progressbar"
                            aria-valuemin="0"
                            aria-valuemax="100"
                            aria-valuenow=percent
                            aria-label=i18n.t("onboarding.sync.history")
                        >
                            <div class="progress-bar-fill" style:width=format!("{percent}%")></div>
                        </div>
                        {(sync.history == SyncState::Declined).then(|| view! {
                            <p class="notice notice-warn" data-testid="sync-history-declined">
                                {i18n.t("onboarding.sync.history_declined")}
                            </p>
                        })}
                        {done.then(|| view! {
                            <p class="notice notice-good" data-testid="sync-done">{i18n.t("onboarding.sync.done")}</p>
                        })}
                    </div>
                }
                .into_any()
            }}
        </Show>
    }
}
