//! The `FB.login` and `FB.init` options per Embedded Signup version (`wadesk::embedded_signup::login_options`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use api_types::{FacebookConfig, SignupFlow};
use serde_json::json;
use wadesk::embedded_signup::login_options::{init_options, login_options, EmbeddedSignupVersion};

fn config(version: &str, solution: &str) -> FacebookConfig {
    FacebookConfig {
        sdk_url: "/sandbox/facebook/sdk.js".into(),
        app_id: "app-1".into(),
        config_id: "cfg-cloud".into(),
        coexistence_config_id: "cfg-coex".into(),
        solution_id: solution.into(),
        graph_api_version: "v23.0".into(),
        embedded_signup_version: version.into(),
    }
}

#[test]
fn v4_carries_only_setup() {
    assert_eq!(
        login_options(&config("v4", "sol-1"), SignupFlow::Cloud),
        json!({
            "config_id": "cfg-cloud",
            "response_type": "code",
            "override_default_response_type": true,
            "extras": {"setup": {"solutionID": "sol-1"}},
        })
    );
    assert_eq!(login_options(&config("v4", ""), SignupFlow::Cloud)["extras"], json!({"setup": {}}));
}

#[test]
fn coexistence_uses_its_configuration_and_feature_type() {
    let options = login_options(&config("v4", "sol-1"), SignupFlow::Coexistence);
    assert_eq!(options["config_id"], "cfg-coex");
    assert_eq!(
        options["extras"],
        json!({"setup": {"solutionID": "sol-1"}, "featureType": "whatsapp_business_app_onboarding"})
    );
    let mut without_own = config("v4", "");
    without_own.coexistence_config_id = " ".into();
    assert_eq!(login_options(&without_own, SignupFlow::Coexistence)["config_id"], "cfg-cloud", "falls back to configId");
}

#[test]
fn v3_adds_the_version() {
    assert_eq!(login_options(&config("v3", ""), SignupFlow::Cloud)["extras"], json!({"setup": {}, "version": "v3"}));
    assert_eq!(
        login_options(&config("v3", ""), SignupFlow::Coexistence)["extras"],
        json!({"setup": {}, "version": "v3", "featureType": "whatsapp_business_app_onboarding"})
    );
}

#[test]
fn v2_is_the_seeds_shape() {
    assert_eq!(
        login_options(&config("v2", "sol-9"), SignupFlow::Cloud)["extras"],
        json!({"setup": {"solutionID": "sol-9"}, "sessionInfoVersion": "3"})
    );
    assert_eq!(
        login_options(&config("v2", "sol-9"), SignupFlow::Coexistence)["extras"],
        json!({"setup": {"solutionID": "sol-9"}, "sessionInfoVersion": "3", "featureType": "whatsapp_business_app_onboarding"})
    );
}

#[test]
fn versions_are_read_leniently_and_default_to_v4() {
    assert_eq!(EmbeddedSignupVersion::from_config("V2"), EmbeddedSignupVersion::V2);
    assert_eq!(EmbeddedSignupVersion::from_config("3"), EmbeddedSignupVersion::V3);
    assert_eq!(EmbeddedSignupVersion::from_config(" v4 "), EmbeddedSignupVersion::V4);
    assert_eq!(EmbeddedSignupVersion::from_config(""), EmbeddedSignupVersion::V4);
    assert_eq!(EmbeddedSignupVersion::from_config("v9"), EmbeddedSignupVersion::V4);
}

#[test]
fn init_passes_the_app_and_graph_version() {
    assert_eq!(
        init_options(&config("v4", "")),
        json!({"appId": "app-1", "cookie": true, "xfbml": true, "version": "v23.0"})
    );
}
