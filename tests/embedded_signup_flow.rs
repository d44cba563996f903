//! Pairing the login code with the session info (`wadesk::embedded_signup::flow`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use api_types::SignupFlow;
use wadesk::embedded_signup::flow::{AttemptInProgress, CompleteSignup, SignupFailure, SignupFlowMachine, SignupOutcome};
use wadesk::embedded_signup::session_info::{FinishKind, SessionInfoEvent, SignupErrorReport, SignupFinish};

fn finish(kind: FinishKind, waba: &str, phone: Option<&str>) -> SessionInfoEvent {
    SessionInfoEvent::Finished(SignupFinish {
        kind,
        waba_id: waba.into(),
        phone_number_id: phone.map(Into::into),
        business_id: Some("biz-1".into()),
    })
}

fn cloud_finish() -> SessionInfoEvent {
    finish(FinishKind::Finish, "waba-1", Some("phone-1"))
}

fn completion(outcome: Option<SignupOutcome>) -> CompleteSignup {
    match outcome {
        Some(SignupOutcome::Complete(complete)) => complete,
        other => panic!("expected Complete, got {other:?}"),
    }
}

#[test]
fn event_first_then_code_completes_once_with_everything() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.on_session_info(cloud_finish()), None, "still waiting for the code");
    let complete = completion(machine.on_login_response(attempt, Some("code-1".into())));
    assert_eq!(
        complete,
        CompleteSignup {
            attempt,
            code: "code-1".into(),
            waba_id: "waba-1".into(),
            phone_number_id: Some("phone-1".into()),
            business_id: Some("biz-1".into()),
            flow: SignupFlow::Cloud,
            finish_kind: FinishKind::Finish,
        }
    );
    // Repeats of either half change nothing: the backend gets exactly one call.
    assert_eq!(machine.on_session_info(cloud_finish()), None);
    assert_eq!(machine.on_login_response(attempt, Some("code-1".into())), None);
    assert!(machine.is_busy(), "busy until the backend call settles");
}

#[test]
fn code_first_then_event_completes_once() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Coexistence).unwrap();
    assert_eq!(machine.on_login_response(attempt, Some("code-2".into())), None, "still waiting for the ids");
    let complete = completion(machine.on_session_info(finish(FinishKind::BusinessAppOnboarding, "waba-2", None)));
    assert_eq!(complete.code, "code-2");
    assert_eq!(complete.waba_id, "waba-2");
    assert_eq!(complete.phone_number_id, None);
    assert_eq!(complete.flow, SignupFlow::Coexistence);
    assert_eq!(complete.finish_kind, FinishKind::BusinessAppOnboarding);
    assert_eq!(machine.on_session_info(finish(FinishKind::BusinessAppOnboarding, "waba-2", None)), None);
}

#[test]
fn the_first_finish_wins_over_a_later_different_one() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_session_info(finish(FinishKind::Finish, "first", Some("p1")));
    assert_eq!(machine.on_session_info(finish(FinishKind::Finish, "second", Some("p2"))), None);
    assert_eq!(completion(machine.on_login_response(attempt, Some("c".into()))).waba_id, "first");
}

#[test]
fn a_double_click_cannot_start_a_second_attempt() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.start(SignupFlow::Cloud), Err(AttemptInProgress));
    assert_eq!(machine.start(SignupFlow::Coexistence), Err(AttemptInProgress));
    assert_eq!(machine.waiting_attempt(), Some(attempt));
    // Still refused while the backend call runs, allowed once it settled.
    machine.on_session_info(cloud_finish());
    completion(machine.on_login_response(attempt, Some("c".into())));
    assert_eq!(machine.start(SignupFlow::Cloud), Err(AttemptInProgress));
    machine.settle(attempt);
    assert!(!machine.is_busy());
    assert!(machine.start(SignupFlow::Cloud).is_ok());
}

#[test]
fn cancel_ends_the_attempt_with_its_step() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(
        machine.on_session_info(SessionInfoEvent::Cancelled { step: Some("PHONE_NUMBER_VERIFICATION".into()) }),
        Some(SignupOutcome::Cancelled { step: Some("PHONE_NUMBER_VERIFICATION".into()) })
    );
    assert!(!machine.is_busy(), "a cancel frees the buttons at once");
    // The login callback that follows the closed popup is stale now.
    assert_eq!(machine.on_login_response(attempt, None), None);
    assert_eq!(machine.on_login_response(attempt, Some("late".into())), None);
}

#[test]
fn a_reported_error_ends_the_attempt_with_the_report() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    let report = SignupErrorReport {
        message: Some("Number already in use".into()),
        code: Some("2388001".into()),
        session_id: Some("sess-9".into()),
        error_id: None,
    };
    assert_eq!(
        machine.on_session_info(SessionInfoEvent::Error(report.clone())),
        Some(SignupOutcome::Failed(SignupFailure::Reported(report)))
    );
    assert_eq!(machine.on_login_response(attempt, Some("code".into())), None);
    assert!(!machine.is_busy());
}

#[test]
fn an_error_after_the_code_still_ends_the_attempt() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_login_response(attempt, Some("code".into()));
    let outcome = machine.on_session_info(SessionInfoEvent::Error(SignupErrorReport::default()));
    assert!(matches!(outcome, Some(SignupOutcome::Failed(SignupFailure::Reported(_)))));
    assert_eq!(machine.on_session_info(cloud_finish()), None, "the ended attempt cannot complete");
}

#[test]
fn a_login_without_code_and_without_finish_is_a_calm_cancel() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.on_login_response(attempt, None), Some(SignupOutcome::Cancelled { step: None }));
    assert!(!machine.is_busy());
    // An empty code is no code.
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.on_login_response(attempt, Some("  ".into())), Some(SignupOutcome::Cancelled { step: None }));
}

#[test]
fn a_cancel_that_arrives_just_after_a_codeless_login_says_where() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_login_response(attempt, None);
    assert_eq!(
        machine.on_session_info(SessionInfoEvent::Cancelled { step: Some("PERMISSIONS".into()) }),
        Some(SignupOutcome::Cancelled { step: Some("PERMISSIONS".into()) })
    );
    // Only once.
    assert_eq!(machine.on_session_info(SessionInfoEvent::Cancelled { step: Some("PERMISSIONS".into()) }), None);

    // An error report is taken the same way, so its session id reaches support.
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_login_response(attempt, None);
    let report = SignupErrorReport { session_id: Some("s".into()), ..Default::default() };
    assert_eq!(
        machine.on_session_info(SessionInfoEvent::Error(report.clone())),
        Some(SignupOutcome::Failed(SignupFailure::Reported(report)))
    );

    // But a finish cannot be completed without a code: ignored.
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_login_response(attempt, None);
    assert_eq!(machine.on_session_info(cloud_finish()), None);
}

#[test]
fn a_finish_then_a_login_without_code_fails_instead_of_hanging() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_session_info(cloud_finish());
    assert_eq!(machine.on_login_response(attempt, None), Some(SignupOutcome::Failed(SignupFailure::NoAuthorizationCode)));
    assert!(!machine.is_busy());
}

#[test]
fn messages_with_no_attempt_running_are_ignored() {
    let mut machine = SignupFlowMachine::new();
    assert_eq!(machine.on_session_info(cloud_finish()), None);
    assert_eq!(machine.on_session_info(SessionInfoEvent::Cancelled { step: Some("X".into()) }), None);
    assert_eq!(machine.on_session_info(SessionInfoEvent::Error(SignupErrorReport::default())), None);
    assert!(!machine.is_busy());
    // A finish posted before the click must not be paired with the next attempt's code.
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.on_login_response(attempt, Some("code".into())), None);
}

#[test]
fn a_stale_attempts_late_callback_and_messages_are_ignored() {
    let mut machine = SignupFlowMachine::new();
    let first = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_session_info(SessionInfoEvent::Cancelled { step: Some("PERMISSIONS".into()) });
    let second = machine.start(SignupFlow::Cloud).unwrap();
    assert_ne!(first, second);
    // The first popup's login callback comes back late, with a code: it belongs to nobody.
    assert_eq!(machine.on_login_response(first, Some("old-code".into())), None);
    machine.on_session_info(cloud_finish());
    let complete = completion(machine.on_login_response(second, Some("new-code".into())));
    assert_eq!(complete.code, "new-code");
    assert_eq!(complete.attempt, second);
    // Settling the stale attempt does not free the current one.
    machine.settle(first);
    assert!(machine.is_busy());
    machine.settle(second);
    assert!(!machine.is_busy());
}

#[test]
fn a_code_that_waits_too_long_for_session_info_fails() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.on_pairing_timeout(attempt), None, "no code yet: the user is still in the popup");
    machine.on_login_response(attempt, Some("code".into()));
    assert_eq!(machine.on_pairing_timeout(attempt), Some(SignupOutcome::Failed(SignupFailure::SessionInfoMissing)));
    assert_eq!(machine.on_session_info(cloud_finish()), None, "too late");
    // A timer left over from an earlier attempt does nothing to the current one.
    let next = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_login_response(next, Some("code".into()));
    assert_eq!(machine.on_pairing_timeout(attempt), None);
    assert!(completion(machine.on_session_info(cloud_finish())).attempt == next);
}

#[test]
fn a_finish_whose_login_callback_never_comes_fails_on_the_timer() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.awaiting_login_callback(), None, "the popup is still open");
    assert_eq!(machine.on_session_info(cloud_finish()), None);
    assert_eq!(machine.awaiting_login_callback(), Some(attempt));
    assert_eq!(machine.on_pairing_timeout(attempt), Some(SignupOutcome::Failed(SignupFailure::NoAuthorizationCode)));
    assert!(!machine.is_busy(), "the user may try again");
    assert_eq!(machine.on_login_response(attempt, Some("code".into())), None, "too late");
    // When the callback does come in time, the timer finds nothing to end.
    let next = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_session_info(cloud_finish());
    assert!(completion(machine.on_login_response(next, Some("code".into()))).attempt == next);
    assert_eq!(machine.awaiting_login_callback(), None);
    assert_eq!(machine.on_pairing_timeout(next), None);
}

#[test]
fn abandoning_drops_the_waiting_attempt() {
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.abandon();
    assert!(!machine.is_busy());
    assert_eq!(machine.on_session_info(cloud_finish()), None);
    assert_eq!(machine.on_login_response(attempt, Some("c".into())), None);
}

#[test]
fn a_cancel_or_error_after_a_finish_does_not_undo_it() {
    // Finish, then a cancel (the user closes the window), then the code: still one completion.
    let mut machine = SignupFlowMachine::new();
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    assert_eq!(machine.on_session_info(cloud_finish()), None);
    assert_eq!(machine.on_session_info(SessionInfoEvent::Cancelled { step: Some("PERMISSIONS".into()) }), None);
    assert_eq!(machine.on_session_info(SessionInfoEvent::Cancelled { step: None }), None);
    assert!(machine.is_busy(), "the attempt still waits for its code");
    let complete = completion(machine.on_login_response(attempt, Some("code".into())));
    assert_eq!(complete.waba_id, "waba-1");

    // The same with a user-reported error arriving after the finish.
    machine.settle(attempt);
    let attempt = machine.start(SignupFlow::Coexistence).unwrap();
    machine.on_session_info(finish(FinishKind::BusinessAppOnboarding, "waba-2", None));
    let report = SignupErrorReport { message: Some("late".into()), ..Default::default() };
    assert_eq!(machine.on_session_info(SessionInfoEvent::Error(report)), None);
    assert_eq!(completion(machine.on_login_response(attempt, Some("code-2".into()))).waba_id, "waba-2");

    // Code first, then finish, then cancel: the completion already went out and stays alone.
    machine.settle(attempt);
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_login_response(attempt, Some("code-3".into()));
    completion(machine.on_session_info(cloud_finish()));
    assert_eq!(machine.on_session_info(SessionInfoEvent::Cancelled { step: None }), None);
    assert!(machine.is_busy(), "busy until the backend call settles");

    // A finish followed by a cancel and a code-less login still ends (no hang), as a failure.
    machine.settle(attempt);
    let attempt = machine.start(SignupFlow::Cloud).unwrap();
    machine.on_session_info(cloud_finish());
    assert_eq!(machine.on_session_info(SessionInfoEvent::Cancelled { step: None }), None);
    assert_eq!(machine.on_login_response(attempt, None), Some(SignupOutcome::Failed(SignupFailure::NoAuthorizationCode)));
    assert!(!machine.is_busy());
}
