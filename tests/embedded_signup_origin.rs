//! Which origins may post Embedded Signup session info (`wadesk::embedded_signup::origin`).
//!
//! Runs in the browser with `cargo test -p wadesk --target wasm32-unknown-unknown`, and natively.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use wadesk::embedded_signup::origin::{is_trusted_origin, Origin};

fn no_extras() -> Vec<String> {
    Vec::new()
}

#[test]
fn facebook_and_its_subdomains_over_https_are_trusted() {
    for origin in [
        "https://facebook.com",
        "https://www.facebook.com",
        "https://business.facebook.com",
        "https://web.business.facebook.com",
        "https://WWW.Facebook.COM",
        "https://www.facebook.com:443",
    ] {
        assert!(is_trusted_origin(origin, &no_extras()), "{origin} should be trusted");
    }
}

#[test]
fn look_alike_and_downgraded_origins_are_refused() {
    for origin in [
        // The seed's endsWith('facebook.com') admits these two.
        "https://evilfacebook.com",
        "https://www.evilfacebook.com",
        "https://facebook.com.evil.example",
        "https://www.facebook.com.evil.example",
        // Not TLS.
        "http://www.facebook.com",
        "http://facebook.com",
        // An explicit non-default port is not Facebook's dialog.
        "https://www.facebook.com:8443",
        "https://facebook.com:80",
        // User info and other smuggling.
        "https://facebook.com@evil.com",
        "https://www.facebook.com@evil.com",
        "https://evil.com#.facebook.com",
        "https://evil.com?.facebook.com",
        "https://evil.com/.facebook.com",
        "https://evil.com\\.facebook.com",
        "https://evil.com%2e.facebook.com",
        "https://evil.com .facebook.com",
        "https://facebook.com.",
        "https://.facebook.com",
        "https://www..facebook.com",
        "https://-x.facebook.com",
        // Not an origin at all.
        "null",
        "",
        "facebook.com",
        "//www.facebook.com",
        "wss://www.facebook.com",
        "javascript://www.facebook.com",
        "https://",
        "https://www.facebook.com:",
        "https://www.facebook.com:99999",
        "https://www.facebook.com:0",
        "https://www.facebook.com:+443",
    ] {
        assert!(!is_trusted_origin(origin, &no_extras()), "{origin:?} must be refused");
    }
}

#[test]
fn configured_origins_match_exactly_after_normalising() {
    let extras = vec![
        "http://127.0.0.1:8080".to_owned(),
        "HTTPS://Console.Example.com:443/".to_owned(),
        "http://[::1]:3000".to_owned(),
    ];
    assert!(is_trusted_origin("http://127.0.0.1:8080", &extras));
    assert!(is_trusted_origin("https://console.example.com", &extras));
    assert!(is_trusted_origin("http://[::1]:3000", &extras));

    assert!(!is_trusted_origin("http://127.0.0.1:8081", &extras), "another port");
    assert!(!is_trusted_origin("http://localhost:8080", &extras), "another host name for the same machine");
    assert!(!is_trusted_origin("https://127.0.0.1:8080", &extras), "another scheme");
    assert!(!is_trusted_origin("https://sub.console.example.com", &extras), "no subdomains of extras");
    assert!(!is_trusted_origin("https://console.example.com.evil.example", &extras));
    assert!(!is_trusted_origin("http://127.0.0.1:8080@evil.com", &extras));
}

#[test]
fn configured_entries_that_are_not_origins_trust_nothing() {
    let extras = vec!["*".to_owned(), "https://example.com/path".to_owned(), "example.com".to_owned(), String::new()];
    for origin in ["https://example.com", "http://example.com", "https://anything.test", "null", ""] {
        assert!(!is_trusted_origin(origin, &extras), "{origin:?} must not be trusted via {extras:?}");
    }
}

#[test]
fn origins_normalise_case_default_ports_and_a_trailing_slash() {
    let origin = Origin::parse("HTTP://LocalHost:80/").unwrap();
    assert_eq!(origin.serialize(), "http://localhost");
    assert_eq!(Origin::parse("https://a.example:8443").unwrap().serialize(), "https://a.example:8443");
    assert_eq!(Origin::parse("https://a.example/x"), None);
}
