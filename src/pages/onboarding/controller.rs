//! The Embedded Signup controller of the onboarding page: the SDK's state, the running attempt
//! and its progress, wired to the pure pairing machine in `crate::embedded_signup`.

use std::time::Duration;

use api_types::{
    FacebookConfig, NumberDetails, NumberStatus, SignupCompleteRequest, SignupFlow, SyncProgress, SyncState, WabaInfo,
};
use leptos::prelude::*;

use crate::api::{whatsapp, ApiClient, ApiError};
use crate::embedded_signup::facebook_sdk::{self, LOAD_TIMEOUT};
use crate::embedded_signup::{AttemptId, CompleteSignup, SignupFailure, SignupFlowMachine, SignupOutcome};

/// How long an authorization code may wait for the popup's session info (it lives ~30 s).
const PAIRING_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a finish waits for FB.login's callback (it normally follows within a second, when
/// the popup closes) before the attempt fails and the user may try again.
const LOGIN_CALLBACK_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a new number's registration and a coexistence sync are checked.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// After this long a PENDING registration stops being watched here (the Numbers page goes on).
const REGISTRATION_WATCH_LIMIT: Duration = Duration::from_secs(90);
/// History sync can take long; the page stops polling after this and says where it stands.
const SYNC_WATCH_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Whether the Facebook SDK can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkState {
    Loading,
    Ready,
    /// The technical reason, shown under the translated message.
    Failed(String),
}

/// The visible steps of a signup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignupStep {
    /// The Facebook popup is open.
    Connecting,
    /// The backend exchanges the code and binds the assets.
    Exchanging,
    /// The number is registered (new numbers) or linked (coexistence).
    Registering,
    Connected,
}

impl SignupStep {
    pub const ALL: [SignupStep; 4] = [SignupStep::Connecting, SignupStep::Exchanging, SignupStep::Registering, SignupStep::Connected];

    /// The kebab-case name used in test ids.
    pub fn name(self) -> &'static str {
        match self {
            SignupStep::Connecting => "connecting",
            SignupStep::Exchanging => "exchanging",
            SignupStep::Registering => "registering",
            SignupStep::Connected => "connected",
        }
    }
}

/// Where one step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Pending,
    Active,
    Done,
    Failed,
}

impl StepStatus {
    /// Every status (the i18n test checks each one's [`StepStatus::label_key`]).
    pub const ALL: [StepStatus; 4] = [StepStatus::Pending, StepStatus::Active, StepStatus::Done, StepStatus::Failed];

    /// The kebab-case name used in `data-status`.
    pub fn name(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Active => "active",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
        }
    }

    /// The i18n key of the words beside a step: `onboarding.step_status.<name>`.
    pub fn label_key(self) -> String {
        format!("onboarding.step_status.{}", self.name())
    }
}

/// Why a signup failed, ready to show. Upstream text is kept raw and rendered as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureView {
    /// The i18n key of the explanation.
    pub reason_key: &'static str,
    /// Detail from the popup, the server or the browser (not translated).
    pub detail: Option<String>,
    pub code: Option<String>,
    /// The Embedded Signup session id, for Meta support.
    pub session_id: Option<String>,
}

/// The current signup, as the progress panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupStatus {
    Idle,
    Running { flow: SignupFlow, step: SignupStep },
    Connected { flow: SignupFlow },
    Cancelled { flow: SignupFlow, step: Option<String> },
    Failed { flow: SignupFlow, at: SignupStep, failure: FailureView },
}

impl SignupStatus {
    /// The `data-state` of `signup-status`.
    pub fn state_name(&self) -> &'static str {
        match self {
            SignupStatus::Idle => "idle",
            SignupStatus::Running { .. } => "running",
            SignupStatus::Connected { .. } => "connected",
            SignupStatus::Cancelled { .. } => "cancelled",
            SignupStatus::Failed { .. } => "error",
        }
    }

    pub fn flow(&self) -> Option<SignupFlow> {
        match self {
            SignupStatus::Idle => None,
            SignupStatus::Running { flow, .. }
            | SignupStatus::Connected { flow }
            | SignupStatus::Cancelled { flow, .. }
            | SignupStatus::Failed { flow, .. } => Some(*flow),
        }
    }

    /// Where `step` stands in this status.
    pub fn step_status(&self, step: SignupStep) -> StepStatus {
        let position = |of: SignupStep| SignupStep::ALL.iter().position(|candidate| *candidate == of).unwrap_or(0);
        let relative = |current: SignupStep, on_current: StepStatus| match position(step).cmp(&position(current)) {
            std::cmp::Ordering::Less => StepStatus::Done,
            std::cmp::Ordering::Equal => on_current,
            std::cmp::Ordering::Greater => StepStatus::Pending,
        };
        match self {
            SignupStatus::Idle => StepStatus::Pending,
            SignupStatus::Running { step: current, .. } => relative(*current, StepStatus::Active),
            SignupStatus::Connected { .. } => StepStatus::Done,
            SignupStatus::Cancelled { .. } => relative(SignupStep::Connecting, StepStatus::Failed),
            SignupStatus::Failed { at, .. } => relative(*at, StepStatus::Failed),
        }
    }
}

/// A sync is over when both halves reached an end state.
pub fn sync_finished(number: &NumberDetails) -> bool {
    number.sync.as_ref().is_some_and(sync_finished_progress)
}

/// Contacts and history both ended (completed, declined or failed).
pub fn sync_finished_progress(sync: &SyncProgress) -> bool {
    let ended = |state: &SyncState| matches!(state, SyncState::Completed | SyncState::Declined | SyncState::Failed);
    ended(&sync.contacts) && ended(&sync.history)
}

/// Everything the onboarding page's signup part reads and does. `Copy`: handlers take it freely.
#[derive(Debug, Clone, Copy)]
pub struct SignupController {
    api: ApiClient,
    config: StoredValue<FacebookConfig>,
    machine: StoredValue<SignupFlowMachine>,
    /// Bumped by every launch so watchers of an earlier signup stop.
    generation: StoredValue<u64>,
    pub sdk: RwSignal<SdkState>,
    pub status: RwSignal<SignupStatus>,
    pub waba: RwSignal<Option<WabaInfo>>,
    pub number: RwSignal<Option<NumberDetails>>,
    /// The coexistence sync is still being watched.
    pub sync_watching: RwSignal<bool>,
}

impl SignupController {
    /// Create the controller, start loading the SDK and listen for session info until the
    /// current owner (the page) is cleaned up.
    pub fn new(api: ApiClient, config: FacebookConfig, trusted_origins: Vec<String>) -> SignupController {
        let controller = SignupController {
            api,
            config: StoredValue::new(config),
            machine: StoredValue::new(SignupFlowMachine::new()),
            generation: StoredValue::new(0),
            sdk: RwSignal::new(SdkState::Loading),
            status: RwSignal::new(SignupStatus::Idle),
            waba: RwSignal::new(None),
            number: RwSignal::new(None),
            sync_watching: RwSignal::new(false),
        };
        let listener = facebook_sdk::listen_for_session_info(trusted_origins, move |message| {
            let outcome = controller.machine.try_update_value(|machine| machine.on_session_info(message.event)).flatten();
            if let Some(outcome) = outcome {
                controller.on_outcome(outcome);
            } else if let Some(attempt) = controller.machine.try_with_value(SignupFlowMachine::awaiting_login_callback).flatten() {
                controller.fail_after(attempt, LOGIN_CALLBACK_TIMEOUT);
            }
        });
        on_cleanup(move || listener.remove());
        controller.load_sdk();
        controller
    }

    /// Load (or reload after a failure) the Facebook SDK.
    pub fn load_sdk(&self) {
        let controller = *self;
        controller.sdk.set(SdkState::Loading);
        let config = controller.config.get_value();
        leptos::task::spawn_local(async move {
            let result = facebook_sdk::load(&config, LOAD_TIMEOUT).await;
            let state = match result {
                Ok(()) => SdkState::Ready,
                Err(error) => SdkState::Failed(error.to_string()),
            };
            _ = controller.sdk.try_set(state);
        });
    }

    /// True while a launch would be refused: an attempt waits for the popup or the backend, or
    /// the number is still being registered.
    pub fn is_busy(&self) -> bool {
        matches!(self.status.get(), SignupStatus::Running { .. })
    }

    /// Open Embedded Signup for `flow`. Called from a click handler (popup blockers); a second
    /// click while an attempt runs does nothing.
    pub fn launch(&self, flow: SignupFlow) {
        if self.sdk.get_untracked() != SdkState::Ready || self.is_busy_untracked() {
            return;
        }
        let Some(Ok(attempt)) = self.machine.try_update_value(|machine| machine.start(flow)) else {
            return;
        };
        self.generation.update_value(|generation| *generation += 1);
        self.waba.set(None);
        self.number.set(None);
        self.sync_watching.set(false);
        self.status.set(SignupStatus::Running { flow, step: SignupStep::Connecting });
        let controller = *self;
        let config = self.config.get_value();
        let launched = facebook_sdk::launch(&config, flow, move |code| {
            let had_code = code.is_some();
            let outcome = controller.machine.try_update_value(|machine| machine.on_login_response(attempt, code)).flatten();
            match outcome {
                Some(outcome) => controller.on_outcome(outcome),
                None if had_code => controller.fail_after(attempt, PAIRING_TIMEOUT),
                None => {}
            }
        });
        if let Err(error) = launched {
            self.machine.update_value(SignupFlowMachine::abandon);
            self.status.set(SignupStatus::Failed {
                flow,
                at: SignupStep::Connecting,
                failure: FailureView { reason_key: "onboarding.error.sdk_launch", detail: Some(error.to_string()), ..Default::default() },
            });
        }
    }

    /// After `wait`, end `attempt` if it still lacks one half (see `on_pairing_timeout`).
    fn fail_after(&self, attempt: AttemptId, wait: Duration) {
        let controller = *self;
        set_timeout(
            move || {
                let late = controller.machine.try_update_value(|machine| machine.on_pairing_timeout(attempt)).flatten();
                if let Some(outcome) = late {
                    controller.on_outcome(outcome);
                }
            },
            wait,
        );
    }

    fn is_busy_untracked(&self) -> bool {
        matches!(self.status.get_untracked(), SignupStatus::Running { .. })
    }

    fn current_flow(&self) -> SignupFlow {
        self.status.get_untracked().flow().unwrap_or(SignupFlow::Cloud)
    }

    fn on_outcome(&self, outcome: SignupOutcome) {
        let flow = self.current_flow();
        let status = match outcome {
            SignupOutcome::Complete(complete) => {
                self.complete(complete);
                return;
            }
            SignupOutcome::Cancelled { step } => SignupStatus::Cancelled { flow, step },
            SignupOutcome::Failed(failure) => {
                SignupStatus::Failed { flow, at: SignupStep::Connecting, failure: describe_failure(failure) }
            }
        };
        _ = self.status.try_set(status);
    }

    fn complete(&self, complete: CompleteSignup) {
        let controller = *self;
        let flow = complete.flow;
        _ = self.status.try_set(SignupStatus::Running { flow, step: SignupStep::Exchanging });
        let request = SignupCompleteRequest {
            code: complete.code,
            waba_id: complete.waba_id,
            phone_number_id: complete.phone_number_id,
            business_id: complete.business_id,
            flow,
        };
        leptos::task::spawn_local(async move {
            let result = whatsapp::complete_signup(controller.api, &request).await;
            controller.machine.try_update_value(|machine| machine.settle(complete.attempt));
            match result {
                Ok(response) => {
                    _ = controller.waba.try_set(Some(response.waba));
                    match response.number {
                        Some(number) => controller.follow_number(flow, number),
                        None => _ = controller.status.try_set(SignupStatus::Connected { flow }),
                    }
                }
                Err(error) => {
                    _ = controller.status.try_set(SignupStatus::Failed {
                        flow,
                        at: SignupStep::Exchanging,
                        failure: describe_api_failure(&error),
                    });
                }
            }
        });
    }

    /// Show the bound number and wait (polling) until it is CONNECTED; then, for coexistence,
    /// keep following the contact and history sync.
    fn follow_number(&self, flow: SignupFlow, number: NumberDetails) {
        let controller = *self;
        let generation = self.generation.get_value();
        let phone_number_id = number.phone_number_id.clone();
        let is_current = move || controller.generation.try_get_value() == Some(generation);
        leptos::task::spawn_local(async move {
            let mut latest = number;
            let started = js_sys::Date::now();
            loop {
                if controller.number.try_set(Some(latest.clone())).is_some() || !is_current() {
                    return; // the page is gone, or a new signup began
                }
                match &latest.status {
                    NumberStatus::Connected => break,
                    NumberStatus::Pending if js_sys::Date::now() - started < REGISTRATION_WATCH_LIMIT.as_millis() as f64 => {
                        _ = controller.status.try_set(SignupStatus::Running { flow, step: SignupStep::Registering });
                    }
                    NumberStatus::Pending => {
                        _ = controller.status.try_set(SignupStatus::Failed {
                            flow,
                            at: SignupStep::Registering,
                            failure: FailureView { reason_key: "onboarding.error.registration_slow", ..Default::default() },
                        });
                        return;
                    }
                    other => {
                        _ = controller.status.try_set(SignupStatus::Failed {
                            flow,
                            at: SignupStep::Registering,
                            failure: FailureView {
                                reason_key: "onboarding.error.registration_status",
                                detail: Some(other.as_str().to_owned()),
                                ..Default::default()
                            },
                        });
                        return;
                    }
                }
                gloo_timers::future::sleep(POLL_INTERVAL).await;
                if !is_current() {
                    return;
                }
                // A failed poll is retried on the next tick; the last known state stays shown.
                if let Ok(fresh) = whatsapp::get_number(controller.api, &phone_number_id).await {
                    latest = fresh;
                }
            }
            _ = controller.status.try_set(SignupStatus::Connected { flow });
            if flow == SignupFlow::Coexistence {
                controller.follow_sync(latest, is_current).await;
            }
        });
    }

    async fn follow_sync(&self, mut latest: NumberDetails, is_current: impl Fn() -> bool) {
        let started = js_sys::Date::now();
        _ = self.sync_watching.try_set(true);
        while !sync_finished(&latest) && js_sys::Date::now() - started < SYNC_WATCH_LIMIT.as_millis() as f64 {
            gloo_timers::future::sleep(POLL_INTERVAL).await;
            if !is_current() {
                return;
            }
            if let Ok(fresh) = whatsapp::get_number(self.api, &latest.phone_number_id).await {
                latest = fresh;
                if self.number.try_set(Some(latest.clone())).is_some() {
                    return;
                }
            }
        }
        _ = self.sync_watching.try_set(false);
    }
}

fn describe_failure(failure: SignupFailure) -> FailureView {
    match failure {
        SignupFailure::Reported(report) => FailureView {
            reason_key: "onboarding.error.reported",
            detail: report.message,
            code: report.code.or(report.error_id),
            session_id: report.session_id,
        },
        SignupFailure::NoAuthorizationCode => FailureView { reason_key: "onboarding.error.no_code", ..Default::default() },
        SignupFailure::SessionInfoMissing => FailureView { reason_key: "onboarding.error.no_session_info", ..Default::default() },
    }
}

fn describe_api_failure(error: &ApiError) -> FailureView {
    let (code, detail) = match error {
        ApiError::Api { code, message } => (Some(code.to_string()), Some(message.clone())),
        ApiError::Validation { message, .. }
        | ApiError::Forbidden { message }
        | ApiError::NotFound { message }
        | ApiError::RateLimited { message, .. } => {
            (error.error_code().map(|code| code.code().to_string()), Some(message.clone()))
        }
        ApiError::Network(detail) => (None, Some(detail.clone())),
        ApiError::Unauthorized => (None, None),
    };
    FailureView {
        reason_key: "onboarding.error.complete_failed",
        detail: detail.filter(|text| !text.trim().is_empty()),
        code,
        session_id: None,
    }
}
