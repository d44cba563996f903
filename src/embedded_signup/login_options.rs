//! The options object passed to `FB.login` for Embedded Signup, per configured version.
//!
//! - `v4` (current, the default): the Facebook Login for Business configuration decides the
//!   flow; `extras` carries only `{setup: {solutionID?}}` plus `featureType` for coexistence.
//! - `v3`: the same with `extras.version: 'v3'`.
//! - `v2`: the seed's shape `{setup, sessionInfoVersion: '3', featureType?}` (deprecated by Meta).

use api_types::{FacebookConfig, SignupFlow};
use serde_json::{json, Map, Value};

/// `featureType` that turns Embedded Signup into the WhatsApp Business app onboarding.
pub const COEXISTENCE_FEATURE_TYPE: &str = "whatsapp_business_app_onboarding";

/// The Embedded Signup versions the console can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddedSignupVersion {
    V2,
    V3,
    V4,
}

impl EmbeddedSignupVersion {
    /// `v2`, `v3`, `v4` (case and the leading `v` optional); anything else is the current `v4`.
    pub fn from_config(text: &str) -> EmbeddedSignupVersion {
        let normalised = text.trim().to_ascii_lowercase();
        match normalised.strip_prefix('v').unwrap_or(&normalised) {
            "2" => EmbeddedSignupVersion::V2,
            "3" => EmbeddedSignupVersion::V3,
            _ => EmbeddedSignupVersion::V4,
        }
    }
}

/// The Facebook Login for Business configuration for `flow`: the coexistence one when set.
pub fn config_id_for(config: &FacebookConfig, flow: SignupFlow) -> &str {
    match flow {
        SignupFlow::Coexistence if !config.coexistence_config_id.trim().is_empty() => config.coexistence_config_id.trim(),
        _ => config.config_id.trim(),
    }
}

/// The second argument of `FB.login`.
pub fn login_options(config: &FacebookConfig, flow: SignupFlow) -> Value {
    let mut setup = Map::new();
    if !config.solution_id.trim().is_empty() {
        setup.insert("solutionID".to_owned(), json!(config.solution_id.trim()));
    }
    let mut extras = Map::new();
    extras.insert("setup".to_owned(), Value::Object(setup));
    match EmbeddedSignupVersion::from_config(&config.embedded_signup_version) {
        EmbeddedSignupVersion::V4 => {}
        EmbeddedSignupVersion::V3 => {
            extras.insert("version".to_owned(), json!("v3"));
        }
        EmbeddedSignupVersion::V2 => {
            extras.insert("sessionInfoVersion".to_owned(), json!("3"));
        }
    }
    if flow == SignupFlow::Coexistence {
        extras.insert("featureType".to_owned(), json!(COEXISTENCE_FEATURE_TYPE));
    }
    json!({
        "config_id": config_id_for(config, flow),
        "response_type": "code",
        "override_default_response_type": true,
        "extras": extras,
    })
}

/// The argument of `FB.init`.
pub fn init_options(config: &FacebookConfig) -> Value {
    json!({
        "appId": config.app_id,
        "cookie": true,
        "xfbml": true,
        "version": config.graph_api_version,
    })
}
