//! WhatsApp business accounts and numbers: Embedded Signup completion, the seed 003 accounts API,
//! webhooks, and the upstream adapters (sandbox, YCloud, Meta).
//!
//! Owned by the onboarding work (issue 3). The core server merges [`api_routes`] under
//! `/intwa-api` and [`public_routes`] at the base path.

pub mod upstream;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Routes under `/intwa-api/whatsapp/...` (documented in the OpenAPI document).
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// Routes outside the API: webhooks and the sandbox's stand-in Facebook SDK and popup.
pub fn public_routes() -> axum::Router<AppState> {
    axum::Router::new()
}
