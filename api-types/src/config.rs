//! The runtime configuration the SPA reads from `config.json` before it mounts.
//!
//! Nothing here is compiled into the bundle: a host replaces `config.json` to point the same
//! bundle at another backend, Facebook app or language set. Secrets never appear here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuntimeConfig {
    /// Where the backend API lives: `""` for the same origin and path root as the page,
    /// a path such as `"/console"`, or an absolute URL such as `"https://api.example.com"`.
    /// Requests go to `{apiBaseUrl}/intwa-api/...`.
    #[serde(default)]
    pub api_base_url: String,
    /// True when the backend simulates Meta, YCloud and customers' phones.
    #[serde(default)]
    pub sandbox: bool,
    /// Language codes the language switch offers, in order (`en`, `zh-CN`).
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// The language used before the user picks one.
    #[serde(default = "default_language")]
    pub default_language: String,
    /// Whether the login page offers self-service sign-up.
    #[serde(default = "default_true")]
    pub signup_enabled: bool,
    /// Everything the Facebook JS SDK and Embedded Signup need.
    #[serde(default)]
    pub facebook: FacebookConfig,
    /// Origins, besides `https://facebook.com` and `https://*.facebook.com`, whose Embedded Signup
    /// messages the SPA accepts (sandbox mode lists its own origin here).
    #[serde(default)]
    pub trusted_origins: Vec<String>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            api_base_url: String::new(),
            sandbox: false,
            languages: default_languages(),
            default_language: default_language(),
            signup_enabled: true,
            facebook: FacebookConfig::default(),
            trusted_origins: Vec::new(),
        }
    }
}

/// The Facebook app and Embedded Signup settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FacebookConfig {
    /// The SDK script to load (`https://connect.facebook.net/en_US/sdk.js` live).
    pub sdk_url: String,
    pub app_id: String,
    /// The Facebook Login for Business configuration for Embedded Signup (new numbers).
    pub config_id: String,
    /// The configuration for the WhatsApp Business app coexistence flow; falls back to `configId`.
    #[serde(default)]
    pub coexistence_config_id: String,
    /// A partner's solution id (`extras.setup.solutionID`), when there is one.
    #[serde(default)]
    pub solution_id: String,
    /// The Graph API version passed to `FB.init`, such as `v23.0`.
    pub graph_api_version: String,
    /// `v4` (current), `v3` or `v2` (the seed's `sessionInfoVersion: '3'` shape).
    pub embedded_signup_version: String,
}

impl Default for FacebookConfig {
    fn default() -> Self {
        FacebookConfig {
            sdk_url: "https://connect.facebook.net/en_US/sdk.js".to_owned(),
            app_id: String::new(),
            config_id: String::new(),
            coexistence_config_id: String::new(),
            solution_id: String::new(),
            graph_api_version: "v23.0".to_owned(),
            embedded_signup_version: "v4".to_owned(),
        }
    }
}

fn default_languages() -> Vec<String> {
    vec!["en".to_owned(), "zh-CN".to_owned()]
}

fn default_language() -> String {
    "en".to_owned()
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_config_fills_in_defaults() {
        let config: RuntimeConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config.api_base_url, "");
        assert_eq!(config.languages, vec!["en", "zh-CN"]);
        assert!(config.signup_enabled);
        assert_eq!(config.facebook.embedded_signup_version, "v4");
    }
}
