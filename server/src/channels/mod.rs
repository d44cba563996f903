//! WhatsApp channels: the business accounts (WABAs) and numbers an account holds, how they come
//! in (Embedded Signup completion, coexistence, the seed 003 accounts API), what happens to a
//! bound number (registration, removal, display names), and the upstream adapters.
//!
//! - `upstream`: the [`upstream::Upstream`] trait and the live adapters (YCloud, Meta); the
//!   sandbox adapter lives in `crate::sandbox`.
//! - `onboarding`: signup completion and manual binding; `numbers`: a bound number's life.
//! - `store`: the SQL, reached per account through [`store::TenantDb`].
//! - `routes`: the `/intwa-api/whatsapp/...` handlers.

pub mod numbers;
pub mod onboarding;
mod routes;
pub mod secrets;
pub mod store;
#[cfg(test)]
pub(crate) mod test_database;
pub mod upstream;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Routes under `/intwa-api/whatsapp/...` (documented in the OpenAPI document).
pub fn api_routes() -> OpenApiRouter<AppState> {
    routes::api_routes()
}
