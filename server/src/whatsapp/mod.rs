//! WhatsApp business accounts and numbers: Embedded Signup completion, the seed 003 accounts API,
//! webhooks, and the upstream adapters (sandbox, YCloud, Meta).
//!
//! Owned by the onboarding work (issue 3). The core server merges [`api_routes`] under
//! `/intwa-api` and [`public_routes`] at the base path.
//!
//! - `upstream`: the [`upstream::Upstream`] trait and its three adapters.
//! - `onboarding`: signup completion and manual binding; `numbers`: what happens to a bound number.
//! - `store`: the SQL; `events`: what webhooks tell us, applied to the store.
//! - `webhooks`: signature checks, store-then-acknowledge, payload parsing.
//! - `sandbox`: the stand-in Facebook SDK and popup, and the simulated follow-ups.

pub mod events;
pub mod numbers;
pub mod onboarding;
mod routes;
pub mod sandbox;
pub mod secrets;
pub mod store;
#[cfg(test)]
mod test_database;
pub mod upstream;
pub mod validation;
pub mod webhooks;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Routes under `/intwa-api/whatsapp/...` (documented in the OpenAPI document).
pub fn api_routes() -> OpenApiRouter<AppState> {
    routes::api_routes().merge(sandbox::controls::api_routes())
}

/// Routes outside the API: webhooks and the sandbox's stand-in Facebook SDK and popup
/// (which answer 404 outside sandbox mode).
pub fn public_routes() -> axum::Router<AppState> {
    axum::Router::new().merge(webhooks::routes()).merge(sandbox::facebook::routes())
}
