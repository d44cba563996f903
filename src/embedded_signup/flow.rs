//! Pairing the two halves of an Embedded Signup attempt.
//!
//! `FB.login`'s callback brings the authorization code; the popup's `postMessage` brings the
//! WABA and number ids. They arrive in either order. The backend needs both, at once (the code
//! lives about 30 seconds), and exactly once. This machine is pure: the browser glue feeds it
//! and acts on what it returns.
//!
//! Lifecycle: `Idle` -> [`SignupFlowMachine::start`] -> waiting for both halves -> either an
//! outcome that ends the attempt (cancel, error) or [`SignupOutcome::Complete`], after which the
//! attempt stays busy until [`SignupFlowMachine::settle`] (the backend call finished).

use api_types::SignupFlow;

use super::session_info::{FinishKind, SessionInfoEvent, SignupErrorReport, SignupFinish};

/// Identifies one attempt so a late callback from an earlier one is recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttemptId(u64);

/// Everything `whatsapp/signup/complete` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteSignup {
    pub attempt: AttemptId,
    pub code: String,
    pub waba_id: String,
    pub phone_number_id: Option<String>,
    pub business_id: Option<String>,
    pub flow: SignupFlow,
    pub finish_kind: FinishKind,
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupFailure {
    /// The business reported an error from the popup.
    Reported(SignupErrorReport),
    /// The popup finished but Facebook returned no authorization code.
    NoAuthorizationCode,
    /// Facebook returned a code but the popup never said which assets it created.
    SessionInfoMissing,
}

/// How an attempt ended (or, for `Complete`, what to send to the backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupOutcome {
    Complete(CompleteSignup),
    Cancelled { step: Option<String> },
    Failed(SignupFailure),
}

/// `start` refused: an attempt is already under way (a double click).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptInProgress;

#[derive(Debug, Clone, PartialEq, Eq)]
struct WaitingAttempt {
    id: AttemptId,
    flow: SignupFlow,
    code: Option<String>,
    finish: Option<SignupFinish>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Idle,
    Waiting(WaitingAttempt),
    /// `Complete` was emitted; the backend call is running.
    Completing(AttemptId),
}

/// The pairing state machine. See the module documentation.
#[derive(Debug, Clone)]
pub struct SignupFlowMachine {
    phase: Phase,
    next_id: u64,
    /// The last attempt ended because the login callback came back without a code and without
    /// any session info. A cancel or error message arriving just after (the popup posts and
    /// closes in no fixed order) may still say why; it is taken once, for that attempt only.
    explainable_cancel: Option<AttemptId>,
}

impl Default for SignupFlowMachine {
    fn default() -> Self {
        SignupFlowMachine::new()
    }
}

impl SignupFlowMachine {
    pub fn new() -> SignupFlowMachine {
        SignupFlowMachine { phase: Phase::Idle, next_id: 1, explainable_cancel: None }
    }

    /// True from `start` until the attempt ends or is settled; the launch buttons are disabled.
    pub fn is_busy(&self) -> bool {
        !matches!(self.phase, Phase::Idle)
    }

    /// The attempt waiting for the popup, if any.
    pub fn waiting_attempt(&self) -> Option<AttemptId> {
        match &self.phase {
            Phase::Waiting(attempt) => Some(attempt.id),
            _ => None,
        }
    }

    /// Begin an attempt; refused while another runs.
    pub fn start(&mut self, flow: SignupFlow) -> Result<AttemptId, AttemptInProgress> {
        if self.is_busy() {
            return Err(AttemptInProgress);
        }
        let id = AttemptId(self.next_id);
        self.next_id += 1;
        self.explainable_cancel = None;
        self.phase = Phase::Waiting(WaitingAttempt { id, flow, code: None, finish: None });
        Ok(id)
    }

    /// `FB.login` called back for `attempt`, with `authResponse.code` or without one.
    pub fn on_login_response(&mut self, attempt: AttemptId, code: Option<String>) -> Option<SignupOutcome> {
        let Phase::Waiting(waiting) = &mut self.phase else {
            return None;
        };
        if waiting.id != attempt || waiting.code.is_some() {
            return None;
        }
        match code.map(|code| code.trim().to_owned()).filter(|code| !code.is_empty()) {
            Some(code) => {
                waiting.code = Some(code);
                self.try_complete()
            }
            None if waiting.finish.is_some() => self.end(SignupOutcome::Failed(SignupFailure::NoAuthorizationCode)),
            None => {
                self.explainable_cancel = Some(attempt);
                self.end(SignupOutcome::Cancelled { step: None })
            }
        }
    }

    /// A trusted session-info message arrived. Messages outside a waiting attempt are stale and
    /// ignored, except the one explanation of a code-less cancel (see `explainable_cancel`).
    pub fn on_session_info(&mut self, event: SessionInfoEvent) -> Option<SignupOutcome> {
        let Phase::Waiting(waiting) = &mut self.phase else {
            return self.explain_cancel(event);
        };
        match event {
            SessionInfoEvent::Finished(finish) => {
                if waiting.finish.is_some() {
                    return None;
                }
                waiting.finish = Some(finish);
                self.try_complete()
            }
            // Once the popup reported a finish, the assets exist: a later cancel or error (the
            // user closing the window afterwards, a second frame) must not undo that success.
            // The login callback still decides: with a code it completes, without one it fails.
            SessionInfoEvent::Cancelled { .. } | SessionInfoEvent::Error(_) if waiting.finish.is_some() => None,
            SessionInfoEvent::Cancelled { step } => self.end(SignupOutcome::Cancelled { step }),
            SessionInfoEvent::Error(report) => self.end(SignupOutcome::Failed(SignupFailure::Reported(report))),
        }
    }

    /// The page's timer for `attempt` ran out.
    /// - A code that waits for session info too long is useless (it expires): the attempt fails.
    /// - A finish whose login callback never came (the popup closes right after it, and the
    ///   callback follows at once): the attempt fails as having no code, so the user can retry
    ///   instead of waiting on a busy page.
    /// - With neither, the popup is still open and the user is still working: nothing happens.
    pub fn on_pairing_timeout(&mut self, attempt: AttemptId) -> Option<SignupOutcome> {
        let Phase::Waiting(waiting) = &self.phase else {
            return None;
        };
        if waiting.id != attempt {
            return None;
        }
        match (&waiting.code, &waiting.finish) {
            (Some(_), None) => self.end(SignupOutcome::Failed(SignupFailure::SessionInfoMissing)),
            (None, Some(_)) => self.end(SignupOutcome::Failed(SignupFailure::NoAuthorizationCode)),
            _ => None,
        }
    }

    /// The waiting attempt, when the popup has finished but the login callback has not come yet.
    pub fn awaiting_login_callback(&self) -> Option<AttemptId> {
        match &self.phase {
            Phase::Waiting(waiting) if waiting.finish.is_some() && waiting.code.is_none() => Some(waiting.id),
            _ => None,
        }
    }

    /// The backend call for `attempt` has finished (either way): launching is allowed again.
    pub fn settle(&mut self, attempt: AttemptId) {
        if self.phase == Phase::Completing(attempt) {
            self.phase = Phase::Idle;
        }
    }

    /// Give up the waiting attempt (the page is left or the SDK failed); its late messages and
    /// callbacks are ignored from now on.
    pub fn abandon(&mut self) {
        if let Phase::Waiting(_) = self.phase {
            self.phase = Phase::Idle;
        }
        self.explainable_cancel = None;
    }

    fn try_complete(&mut self) -> Option<SignupOutcome> {
        let Phase::Waiting(waiting) = &self.phase else {
            return None;
        };
        let (Some(code), Some(finish)) = (&waiting.code, &waiting.finish) else {
            return None;
        };
        let complete = CompleteSignup {
            attempt: waiting.id,
            code: code.clone(),
            waba_id: finish.waba_id.clone(),
            phone_number_id: finish.phone_number_id.clone(),
            business_id: finish.business_id.clone(),
            flow: waiting.flow,
            finish_kind: finish.kind,
        };
        self.phase = Phase::Completing(waiting.id);
        Some(SignupOutcome::Complete(complete))
    }

    fn end(&mut self, outcome: SignupOutcome) -> Option<SignupOutcome> {
        self.phase = Phase::Idle;
        Some(outcome)
    }

    fn explain_cancel(&mut self, event: SessionInfoEvent) -> Option<SignupOutcome> {
        if self.phase != Phase::Idle || self.explainable_cancel.take().is_none() {
            return None;
        }
        match event {
            SessionInfoEvent::Cancelled { step: Some(step) } => Some(SignupOutcome::Cancelled { step: Some(step) }),
            SessionInfoEvent::Error(report) => Some(SignupOutcome::Failed(SignupFailure::Reported(report))),
            // A finish after a code-less login cannot be completed; a step-less cancel adds nothing.
            _ => None,
        }
    }
}
