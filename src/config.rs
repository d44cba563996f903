//! The runtime configuration: `config.json` next to `index.html`, read before the app mounts.
//!
//! A host replaces that file to point the same bundle at another backend; nothing is baked in
//! at build time. The file is resolved against `document.baseURI`, so a console served under
//! `/console/` reads `/console/config.json`.

use api_types::RuntimeConfig;
use leptos::prelude::*;

/// Why the configuration could not be read; shown on the config error screen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("config.json could not be fetched: {0}")]
    Unreachable(String),
    #[error("config.json answered HTTP {0}")]
    HttpStatus(u16),
    #[error("config.json is not valid: {0}")]
    Invalid(String),
}

/// The address of `config.json` relative to the document's base URI.
pub fn config_url() -> String {
    let base = crate::browser::document_base_uri().unwrap_or_default();
    web_sys::Url::new_with_base("config.json", &base)
        .map(|url| url.href())
        .unwrap_or_else(|_| "config.json".to_owned())
}

/// Read the text of `config.json` into a [`RuntimeConfig`].
pub fn parse_runtime_config(text: &str) -> Result<RuntimeConfig, ConfigError> {
    serde_json::from_str(text).map_err(|error| ConfigError::Invalid(error.to_string()))
}

/// Fetch and parse `config.json`. Never cached by the browser: a host may change it at any time.
pub async fn load_runtime_config() -> Result<RuntimeConfig, ConfigError> {
    let response = gloo_net::http::Request::get(&config_url())
        .cache(web_sys::RequestCache::NoStore)
        .send()
        .await
        .map_err(|error| ConfigError::Unreachable(error.to_string()))?;
    if !response.ok() {
        return Err(ConfigError::HttpStatus(response.status()));
    }
    let text = response.text().await.map_err(|error| ConfigError::Unreachable(error.to_string()))?;
    parse_runtime_config(&text)
}

/// The [`RuntimeConfig`] provided by the app root.
pub fn use_config() -> RuntimeConfig {
    expect_context::<RuntimeConfig>()
}
