//! Parsing the popup's session-info messages (`wadesk::signup::session_info`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use wadesk::signup::session_info::{
    parse_session_info, FinishKind, SessionInfoEvent, SessionInfoMessage, SignupErrorReport, SignupFinish,
};

fn event_of(text: &str) -> SessionInfoEvent {
    parse_session_info(text).unwrap_or_else(|| panic!("{text} should parse")).event
}

#[test]
fn finish_carries_the_three_ids_and_the_version() {
    let message = parse_session_info(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":3,
            "data":{"phone_number_id":"106540352242922","waba_id":"102290129340398","business_id":"2729063490586005"}}"#,
    )
    .unwrap();
    assert_eq!(
        message,
        SessionInfoMessage {
            event: SessionInfoEvent::Finished(SignupFinish {
                kind: FinishKind::Finish,
                waba_id: "102290129340398".into(),
                phone_number_id: Some("106540352242922".into()),
                business_id: Some("2729063490586005".into()),
            }),
            version: Some("3".into()),
        }
    );
}

#[test]
fn version_may_be_a_string_or_absent() {
    let with_string = parse_session_info(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":"3","data":{"waba_id":"1"}}"#);
    assert_eq!(with_string.unwrap().version.as_deref(), Some("3"));
    let without = parse_session_info(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"1"}}"#);
    assert_eq!(without.unwrap().version, None);
}

#[test]
fn the_seeds_business_id_spelling_is_accepted() {
    let SessionInfoEvent::Finished(finish) =
        event_of(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"w","phone_number_id":"p","businessId":"b"}}"#)
    else {
        panic!("not a finish");
    };
    assert_eq!(finish.business_id.as_deref(), Some("b"));
}

#[test]
fn numeric_ids_are_read_as_text() {
    let SessionInfoEvent::Finished(finish) =
        event_of(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":102290129340398,"phone_number_id":106540352242922}}"#)
    else {
        panic!("not a finish");
    };
    assert_eq!(finish.waba_id, "102290129340398");
    assert_eq!(finish.phone_number_id.as_deref(), Some("106540352242922"));
    assert_eq!(finish.business_id, None);
}

#[test]
fn every_finish_event_is_understood() {
    for (event, kind) in [
        ("FINISH", FinishKind::Finish),
        ("FINISH_ONLY_WABA", FinishKind::OnlyWaba),
        ("FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING", FinishKind::BusinessAppOnboarding),
        ("FINISH_OBO_MIGRATION", FinishKind::OboMigration),
        ("FINISH_GRANT_ONLY_API_ACCESS", FinishKind::GrantOnlyApiAccess),
    ] {
        let text = format!(r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"{event}","data":{{"waba_id":"77","business_id":"88"}}}}"#);
        match event_of(&text) {
            SessionInfoEvent::Finished(finish) => {
                assert_eq!(finish.kind, kind);
                assert_eq!(finish.kind.event_name(), event);
                assert_eq!(finish.waba_id, "77");
                assert_eq!(finish.phone_number_id, None, "{event} without a number");
            }
            other => panic!("{event} parsed as {other:?}"),
        }
    }
}

#[test]
fn coexistence_finish_may_omit_the_number() {
    let SessionInfoEvent::Finished(finish) = event_of(
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING","data":{"waba_id":"w","business_id":"b"}}"#,
    ) else {
        panic!("not a finish");
    };
    assert_eq!(finish.kind, FinishKind::BusinessAppOnboarding);
    assert_eq!(finish.phone_number_id, None);
}

#[test]
fn a_finish_without_a_waba_is_ignored() {
    for data in [r#"{}"#, r#"{"phone_number_id":"p"}"#, r#"{"waba_id":""}"#, r#"{"waba_id":null}"#, r#"{"waba_id":{"x":1}}"#] {
        let text = format!(r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{data}}}"#);
        assert_eq!(parse_session_info(&text), None, "{text}");
    }
    assert_eq!(parse_session_info(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH"}"#), None);
}

#[test]
fn cancel_names_the_step() {
    assert_eq!(
        event_of(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PHONE_NUMBER_VERIFICATION"}}"#),
        SessionInfoEvent::Cancelled { step: Some("PHONE_NUMBER_VERIFICATION".into()) }
    );
    assert_eq!(
        event_of(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{}}"#),
        SessionInfoEvent::Cancelled { step: None }
    );
    assert_eq!(event_of(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL"}"#), SessionInfoEvent::Cancelled { step: None });
}

#[test]
fn a_user_reported_error_under_cancel_keeps_its_session_id() {
    assert_eq!(
        event_of(
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","version":"3",
                "data":{"error_message":"Phone number already registered","error_code":"524126","session_id":"f34b6a5e","timestamp":1700000000}}"#
        ),
        SessionInfoEvent::Error(SignupErrorReport {
            message: Some("Phone number already registered".into()),
            code: Some("524126".into()),
            session_id: Some("f34b6a5e".into()),
            error_id: None,
        })
    );
}

#[test]
fn the_older_error_event_with_an_error_id_is_understood() {
    assert_eq!(
        event_of(
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"ERROR",
                "data":{"error_message":"Something went wrong","error_id":"8a2c","session_id":"s-1","error_code":2593109}}"#
        ),
        SessionInfoEvent::Error(SignupErrorReport {
            message: Some("Something went wrong".into()),
            code: Some("2593109".into()),
            session_id: Some("s-1".into()),
            error_id: Some("8a2c".into()),
        })
    );
    assert_eq!(
        event_of(r#"{"type":"WA_EMBEDDED_SIGNUP","event":"ERROR","data":{}}"#),
        SessionInfoEvent::Error(SignupErrorReport::default())
    );
}

#[test]
fn anything_else_is_ignored() {
    for text in [
        "",
        "not json",
        "{",
        "null",
        "42",
        r#""WA_EMBEDDED_SIGNUP""#,
        "[]",
        r#"{"type":"OTHER","event":"FINISH","data":{"waba_id":"1"}}"#,
        r#"{"type":"wa_embedded_signup","event":"FINISH","data":{"waba_id":"1"}}"#,
        r#"{"event":"FINISH","data":{"waba_id":"1"}}"#,
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"PROGRESS","data":{"waba_id":"1"}}"#,
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"finish","data":{"waba_id":"1"}}"#,
        r#"{"type":"WA_EMBEDDED_SIGNUP","data":{"waba_id":"1"}}"#,
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":7,"data":{"waba_id":"1"}}"#,
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":"waba_id=1"}"#,
        r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":[1]}"#,
        // Messages other libraries post to the window.
        r#"{"source":"react-devtools-bridge","payload":{}}"#,
        r#"{"type":"webpackOk"}"#,
    ] {
        assert_eq!(parse_session_info(text), None, "{text:?} must be ignored");
    }
}
