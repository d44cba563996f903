//! The upstream provider behind one trait: the in-process sandbox, YCloud, or Meta's Graph API.

use std::sync::Arc;

use crate::settings::Settings;

/// Everything the server asks of Meta or YCloud. (Methods are added with the onboarding work.)
#[async_trait::async_trait]
pub trait Upstream: Send + Sync {
    /// `sandbox`, `ycloud` or `meta`, for logs.
    fn name(&self) -> &'static str;
}

struct SandboxUpstream;

#[async_trait::async_trait]
impl Upstream for SandboxUpstream {
    fn name(&self) -> &'static str {
        "sandbox"
    }
}

/// The adapter the settings ask for.
pub fn from_settings(_settings: &Settings) -> Arc<dyn Upstream> {
    Arc::new(SandboxUpstream)
}
