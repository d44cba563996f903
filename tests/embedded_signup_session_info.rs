//! Parsing the popup's session-info messages (`wadesk::embedded_signup::session_info`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use wadesk::embedded_signup::session_info::{
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

fn finish_of(data: &str) -> Option<SignupFinish> {
    let text = format!(r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{data}}}"#);
    match parse_session_info(&text)?.event {
        SessionInfoEvent::Finished(finish) => Some(finish),
        other => panic!("{text} parsed as {other:?}"),
    }
}

#[test]
fn numeric_ids_must_be_whole_non_negative_numbers() {
    // A JavaScript number that was an id stringifies as plain digits; anything else is not an id.
    assert_eq!(finish_of(r#"{"waba_id":102290129340398}"#).unwrap().waba_id, "102290129340398");
    for data in [
        r#"{"waba_id":1.5}"#,
        r#"{"waba_id":-102290129340398}"#,
        r#"{"waba_id":1e21}"#,
        r#"{"waba_id":1.0E3}"#,
        r#"{"waba_id":123456789012345678901234567890}"#,
        r#"{"waba_id":true}"#,
        r#"{"waba_id":["1"]}"#,
    ] {
        assert_eq!(finish_of(data), None, "{data} has no usable WABA id");
    }
    let finish = finish_of(r#"{"waba_id":"7","phone_number_id":-3,"business_id":2.5}"#).unwrap();
    assert_eq!((finish.phone_number_id, finish.business_id), (None, None));
    // The version follows the same rule: 3, "3" and "4" are read, 3.5 is not a version.
    let version = |raw: &str| {
        parse_session_info(&format!(r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","version":{raw},"data":{{"waba_id":"1"}}}}"#))
            .unwrap()
            .version
    };
    assert_eq!(version("3").as_deref(), Some("3"));
    assert_eq!(version(r#""4""#).as_deref(), Some("4"));
    assert_eq!(version("3.5"), None);
    assert_eq!(version("null"), None);
}

#[test]
fn ids_that_could_change_a_graph_api_path_are_refused() {
    for bad in ["../me", "1/phone_numbers", "1?fields=x", "1#x", "1 2", "1%2F2", "1\u{0}2", "١٢٣", "a.b"] {
        let data = serde_json::json!({ "waba_id": bad }).to_string();
        assert_eq!(finish_of(&data), None, "{bad:?} is no WABA id");
        let data = serde_json::json!({ "waba_id": "1", "phone_number_id": bad, "business_id": bad }).to_string();
        let finish = finish_of(&data).unwrap();
        assert_eq!((finish.phone_number_id, finish.business_id), (None, None), "{bad:?}");
    }
    // Whitespace around an id is not part of it; the other spelling is used when the first is empty.
    let finish = finish_of(r#"{"waba_id":"  55 ","wabaId":"66","phone_number_id":"","phoneNumberId":"77"}"#).unwrap();
    assert_eq!(finish.waba_id, "55");
    assert_eq!(finish.phone_number_id.as_deref(), Some("77"));
}

#[test]
fn huge_values_are_not_carried_along() {
    let long_id = "1".repeat(10_000);
    assert_eq!(finish_of(&format!(r#"{{"waba_id":"{long_id}"}}"#)), None);
    let finish = finish_of(&format!(r#"{{"waba_id":"1","phone_number_id":"{long_id}"}}"#)).unwrap();
    assert_eq!(finish.phone_number_id, None);

    // A long error message is cut, and still reported with its session id.
    let long_text = "x".repeat(20_000);
    let text = format!(
        r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{{"error_message":"{long_text}","session_id":"s-9","error_code":"{long_text}"}}}}"#
    );
    let SessionInfoEvent::Error(report) = event_of(&text) else { panic!("not an error report") };
    let message = report.message.unwrap();
    assert!(message.chars().count() <= 501, "message of {} characters", message.chars().count());
    assert!(message.starts_with("xxxx"));
    assert_eq!(report.session_id.as_deref(), Some("s-9"));
    assert_eq!(report.code, None, "a 20,000-character error code is no code");

    // A message of megabytes is not even parsed.
    let padded = format!(
        r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{{"waba_id":"1"}},"padding":"{}"}}"#,
        " ".repeat(2 * 1024 * 1024)
    );
    assert_eq!(parse_session_info(&padded), None);
}

#[test]
fn a_cancel_with_empty_error_fields_is_a_plain_cancel() {
    assert_eq!(
        event_of(
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{"current_step":"PERMISSIONS","error_message":"  ","error_code":"","session_id":null}}"#
        ),
        SessionInfoEvent::Cancelled { step: Some("PERMISSIONS".into()) }
    );
    // error_code as a number or a string reads the same.
    for code in ["524126", r#""524126""#] {
        let text = format!(r#"{{"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","data":{{"error_code":{code},"timestamp":1700000000}}}}"#);
        let SessionInfoEvent::Error(report) = event_of(&text) else { panic!("{text} is an error report") };
        assert_eq!(report.code.as_deref(), Some("524126"));
    }
}

#[test]
fn unknown_fields_and_a_control_character_in_the_message_change_nothing_else() {
    assert_eq!(
        event_of(
            r#"{"type":"WA_EMBEDDED_SIGNUP","event":"ERROR","extra":{"a":1},"data":{"error_message":"line one\nline two","error_id":"9","new_field":[1,2]}}"#
        ),
        SessionInfoEvent::Error(SignupErrorReport {
            message: Some("line one line two".into()),
            error_id: Some("9".into()),
            ..Default::default()
        })
    );
}
