//! What every handler can reach.

use std::sync::Arc;

use sqlx::AnyPool;

use crate::auth::rate_limit::LoginRateLimiter;
use crate::settings::Settings;
use crate::whatsapp::upstream::Upstream;

#[derive(Clone)]
pub struct AppState {
    pub db: AnyPool,
    pub settings: Arc<Settings>,
    /// Meta / YCloud, or the in-process sandbox that simulates them.
    pub upstream: Arc<dyn Upstream>,
    pub login_limiter: Arc<LoginRateLimiter>,
}
