//! Sandbox mode: Meta, YCloud and customers' phones simulated in-process, so the whole product
//! works offline. The sandbox is chosen once, where the state is built (`app::build_state`):
//!
//! - `upstream`: the [`upstream::SandboxUpstream`] adapter behind the same trait as the live ones,
//!   which also plays back what WhatsApp does after each step;
//! - `simulator`: those follow-ups, as Meta-shaped webhooks through the real webhook path;
//! - `facebook`: the stand-in Facebook SDK and Embedded Signup popup;
//! - `controls`: `whatsapp/sandbox/simulate`, a tester's buttons for WhatsApp's own events;
//! - `phones`, `phone_api`, `phone_page`: the customers' phones (`/sandbox/phone` and
//!   `whatsapp/sandbox/phone/...`), where a tester plays customers chatting with the inbox.
//!
//! Outside sandbox mode every route here answers 404.

pub mod controls;
pub mod facebook;
pub mod phone_api;
pub mod phone_page;
pub mod phones;
pub mod simulator;
pub mod upstream;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// `/intwa-api/whatsapp/sandbox/...` (documented).
pub fn api_routes() -> OpenApiRouter<AppState> {
    controls::api_routes().merge(phone_api::api_routes())
}

/// The stand-in Facebook SDK and popup, and the customers' phone page, at the base path.
pub fn public_routes() -> axum::Router<AppState> {
    facebook::routes().route("/sandbox/phone", axum::routing::get(phone_page::page))
}
