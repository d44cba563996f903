//! The pure rules of the shell, run in the browser: redirect safety, base paths, URLs,
//! the API envelope and error mapping, and form checks. The i18n checks are in `tests/i18n.rs`.
#![cfg(target_arch = "wasm32")]

use api_types::{FieldError, SessionUser};
use wadesk::api::{api_root, api_url, decode_response, ApiError};
use wadesk::browser::base_path_of_url;
use wadesk::pages::auth_form::{
    check_account_name, check_email, check_login_password, check_new_password, check_person_name,
    form_name_of_json_field,
};
use wadesk::state::navigation::{
    login_path_returning_to, prefix_base, safe_next_path, safe_next_path_under, strip_base, HOME_PATH, MAX_NEXT_CHARS,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn next_path_rejects_anything_outside_the_app() {
    for hostile in [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "/\n/evil.com",
        "javascript:alert(1)",
        "evil.com",
        "",
        " /numbers",
        "/login",
        "/signup?next=/numbers",
    ] {
        assert_eq!(safe_next_path(Some(hostile)), HOME_PATH, "{hostile:?} must not be followed");
    }
    assert_eq!(safe_next_path(None), HOME_PATH);
}

#[wasm_bindgen_test]
fn next_path_accepts_in_app_paths_with_their_query() {
    assert_eq!(safe_next_path(Some("/numbers?x=1")), "/numbers?x=1");
    assert_eq!(safe_next_path(Some("/team")), "/team");
    assert_eq!(safe_next_path(Some("/numbers?back=https://example.com")), "/numbers?back=https://example.com");
}

#[wasm_bindgen_test]
fn next_path_refuses_escaped_slashes_dot_segments_and_huge_values() {
    for hostile in [
        // Escapes that turn into `//host` or `/\host` when decoded once more.
        "/%2F%2Fevil.com",
        "/%2f%2fevil.com",
        "/%5C%5Cevil.com",
        "/%5Cevil.com",
        "/%252F%252Fevil.com",
        "/%09/evil.com",
        "/%0A/evil.com",
        "/%00",
        "/numbers%",
        "/numbers%2",
        "/numbers%zz",
        // Dot segments climb out from under the base path.
        "/../evil",
        "/numbers/../../evil",
        "/./numbers",
        "/%2E%2E/evil",
        "/%2e%2e/evil",
        // Browsers drop a carriage return too; a form feed or a no-break space is no path.
        "/\r/evil.com",
        "/\u{c}/evil.com",
        "/\u{a0}/evil.com",
        "/login/",
        "/signup/?x=1",
    ] {
        assert_eq!(safe_next_path(Some(hostile)), HOME_PATH, "{hostile:?} must not be followed");
        assert_eq!(safe_next_path_under(Some(hostile), "/console"), HOME_PATH, "{hostile:?} under /console");
    }
    let long = format!("/numbers?x={}", "a".repeat(MAX_NEXT_CHARS));
    assert_eq!(safe_next_path(Some(&long)), HOME_PATH);
    let long = format!("/{}", "a/".repeat(100_000));
    assert_eq!(safe_next_path(Some(&long)), HOME_PATH);
    // Escapes of ordinary characters in the path, and anything in the query, stay as they are.
    assert_eq!(safe_next_path(Some("/inbox/%E4%BD%A0%20x")), "/inbox/%E4%BD%A0%20x");
    assert_eq!(safe_next_path(Some("/numbers?next=%2F%2Fx&y=..")), "/numbers?next=%2F%2Fx&y=..");
    assert_eq!(safe_next_path(Some("/numbers?x=1#y")), "/numbers?x=1#y");
    assert_eq!(safe_next_path(Some("/numbers#/../x")), "/numbers#/../x");
}

#[wasm_bindgen_test]
fn next_path_under_a_base_path_is_an_app_path() {
    // The router puts the base in front: a `next` that already carries it loses it once.
    assert_eq!(safe_next_path_under(Some("/console/numbers?x=1#y"), "/console"), "/numbers?x=1#y");
    assert_eq!(safe_next_path_under(Some("/console"), "/console"), "/");
    assert_eq!(safe_next_path_under(Some("/console/console/numbers"), "/console"), "/console/numbers");
    assert_eq!(safe_next_path_under(Some("/numbers?x=1#y"), "/console"), "/numbers?x=1#y");
    assert_eq!(safe_next_path_under(Some("/consoles/x"), "/console"), "/consoles/x");
    assert_eq!(safe_next_path_under(Some("/console/login?next=/x"), "/console"), HOME_PATH);
    assert_eq!(safe_next_path_under(Some("/console//evil.com"), "/console"), HOME_PATH);
    assert_eq!(safe_next_path_under(Some("/console/../evil"), "/console"), HOME_PATH);
    assert_eq!(safe_next_path_under(Some("/console/numbers"), ""), "/console/numbers");
}

#[wasm_bindgen_test]
fn login_path_carries_the_encoded_return_address() {
    assert_eq!(login_path_returning_to("/numbers?x=1&y=2"), "/login?next=/numbers%3Fx%3D1%26y%3D2");
    assert_eq!(login_path_returning_to("/"), "/login");
    let encoded = login_path_returning_to("/inbox?q=你好");
    let decoded: String = js_sys::decode_uri_component(encoded.trim_start_matches("/login?next=")).unwrap().into();
    assert_eq!(decoded, "/inbox?q=你好");
}

#[wasm_bindgen_test]
fn base_paths_are_stripped_and_added_on_whole_segments() {
    assert_eq!(strip_base("/console/numbers", "/console"), "/numbers");
    assert_eq!(strip_base("/console", "/console"), "/");
    assert_eq!(strip_base("/consoles/x", "/console"), "/consoles/x");
    assert_eq!(strip_base("/numbers", ""), "/numbers");
    assert_eq!(prefix_base("/console", "/numbers"), "/console/numbers");
    assert_eq!(prefix_base("", "/numbers"), "/numbers");
    assert_eq!(base_path_of_url("https://host.example/console/"), "/console");
    assert_eq!(base_path_of_url("http://127.0.0.1:8080/"), "");
    assert_eq!(base_path_of_url("https://host.example/a/b/?x#y"), "/a/b");
}

#[wasm_bindgen_test]
fn api_urls_follow_the_configured_base_or_the_console_path() {
    assert_eq!(api_url(&api_root("", "/console"), "/auth/me"), "/console/intwa-api/auth/me");
    assert_eq!(api_url(&api_root("", ""), "/auth/me"), "/intwa-api/auth/me");
    assert_eq!(
        api_url(&api_root("https://api.example.com/", "/console"), "/auth/login"),
        "https://api.example.com/intwa-api/auth/login"
    );
    assert_eq!(api_url(&api_root("/backend", ""), "whatsapp/x"), "/backend/intwa-api/whatsapp/x");
}

fn user_json() -> &'static str {
    r#"{"id":"u","email":"a@b.c","name":"Ana","role":"agent","accountId":"acc","accountName":"Acme"}"#
}

#[wasm_bindgen_test]
fn success_envelopes_yield_their_data() {
    let body = format!(r#"{{"code":0,"message":"Success","data":{}}}"#, user_json());
    let user: SessionUser = decode_response(200, &body).unwrap();
    assert_eq!(user.account_name, "Acme");
    // The seed's string code, and a call that answers no data.
    let unit: () = decode_response(200, r#"{"code":"0","message":"Success"}"#).unwrap();
    assert_eq!(unit, ());
}

#[wasm_bindgen_test]
fn error_envelopes_map_to_typed_errors() {
    assert_eq!(decode_response::<()>(401, r#"{"code":40100,"message":"Not logged in"}"#), Err(ApiError::Unauthorized));
    // A wrong password is not an expired session: it must not log anybody out.
    assert_eq!(
        decode_response::<()>(401, r#"{"code":40101,"message":"Wrong email or password"}"#),
        Err(ApiError::Api { code: 40101, message: "Wrong email or password".into() })
    );
    assert_eq!(
        decode_response::<()>(403, r#"{"code":40300,"message":"Admins only"}"#),
        Err(ApiError::Forbidden { message: "Admins only".into() })
    );
    assert_eq!(
        decode_response::<()>(404, r#"{"code":"40400","message":"No such number"}"#),
        Err(ApiError::NotFound { message: "No such number".into() })
    );
    let validation = decode_response::<()>(
        400,
        r#"{"code":40000,"message":"Invalid","data":{"fieldErrors":[{"field":"email","code":"invalid","message":"bad"}]}}"#,
    )
    .unwrap_err();
    assert_eq!(validation.field_error("email"), Some(&FieldError::new("email", "invalid", "bad")));
    assert_eq!(
        decode_response::<()>(429, r#"{"code":42900,"message":"Slow down","data":{"retryAfterSeconds":30}}"#),
        Err(ApiError::RateLimited { message: "Slow down".into(), retry_after_seconds: Some(30) })
    );
    // A conflict that names its field is shown beside that field.
    let taken = decode_response::<()>(
        409,
        r#"{"code":40900,"message":"Taken","data":{"fieldErrors":[{"field":"email","code":"taken","message":"taken"}]}}"#,
    )
    .unwrap_err();
    assert_eq!(taken.field_error("email").map(|error| error.code.as_str()), Some("taken"));
    assert_eq!(
        decode_response::<()>(502, r#"{"code":50200,"message":"Meta said no"}"#),
        Err(ApiError::Api { code: 50200, message: "Meta said no".into() })
    );
}

#[wasm_bindgen_test]
fn responses_that_are_not_envelopes_fall_back_on_the_status() {
    assert_eq!(decode_response::<()>(401, "<html>login</html>"), Err(ApiError::Unauthorized));
    assert!(matches!(decode_response::<()>(502, "<html>Bad gateway</html>"), Err(ApiError::Network(_))));
    // A failure code on a 200 is still a failure; a success code on a 500 is not a success.
    assert!(decode_response::<()>(200, r#"{"code":50000,"message":"Boom"}"#).is_err());
    assert!(decode_response::<()>(500, r#"{"code":0,"message":"Success"}"#).is_err());
}

#[wasm_bindgen_test]
fn form_checks_use_the_server_limits() {
    assert_eq!(check_email(""), Some("field.email_required"));
    assert_eq!(check_email("not-an-address"), Some("field.email_invalid"));
    assert_eq!(check_email("a b@c.d"), Some("field.email_invalid"));
    assert_eq!(check_email("admin@wadesk.local"), None);
    assert_eq!(check_login_password(""), Some("field.password_required"));
    assert_eq!(check_new_password(&"x".repeat(api_types::limits::PASSWORD_MIN_CHARS - 1)), Some("field.password_too_short"));
    assert_eq!(check_new_password(&"x".repeat(api_types::limits::PASSWORD_MIN_CHARS)), None);
    assert_eq!(check_new_password(&"x".repeat(api_types::limits::PASSWORD_MAX_CHARS + 1)), Some("field.too_long"));
    assert_eq!(check_account_name("a"), Some("field.account_name_too_short"));
    assert_eq!(check_account_name(&"a".repeat(api_types::limits::ACCOUNT_NAME_MAX_CHARS)), None);
    assert_eq!(check_account_name(" acme-trading.io_1 "), None);
    assert_eq!(check_account_name("我的公司"), Some("field.account_name_characters"));
    assert_eq!(check_account_name("acme trading"), Some("field.account_name_characters"));
    assert_eq!(check_account_name(&"a".repeat(api_types::limits::ACCOUNT_NAME_MAX_CHARS + 1)), Some("field.account_name_too_long"));
    assert_eq!(check_person_name("   "), Some("field.required"));
    assert_eq!(form_name_of_json_field("accountName"), "account-name");
}
