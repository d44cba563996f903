//! What every handler can reach. Built once, in `app::build_state`: that is where sandbox mode
//! is chosen, and where everything one server shares (locks, limiters, clocks) lives, rather
//! than in process-wide statics.

use std::sync::Arc;

use sqlx::AnyPool;

use crate::auth::AuthLimits;
use crate::channels::onboarding::OnboardingLocks;
use crate::channels::upstream::Upstream;
use crate::realtime::Realtime;
use crate::sandbox::upstream::SandboxUpstream;
use crate::settings::Settings;
use crate::webhooks::WebhookInbox;

#[derive(Clone)]
pub struct AppState {
    pub db: AnyPool,
    pub settings: Arc<Settings>,
    /// Meta / YCloud, or the in-process sandbox that simulates them.
    pub upstream: Arc<dyn Upstream>,
    /// The sandbox, in sandbox mode only: its Facebook pages and simulation controls use it.
    pub sandbox: Option<Arc<SandboxUpstream>>,
    pub webhooks: WebhookInbox,
    /// Where the inbox keeps media files (a directory, or an S3-compatible bucket).
    pub media: Arc<dyn crate::inbox::media::MediaStore>,
    /// Tells this server's event streams that an account has new events.
    pub realtime: Realtime,
    /// Login and sign-up rate limits, and how many password hashes may run at once.
    pub auth_limits: Arc<AuthLimits>,
    /// One onboarding at a time per number, in this server.
    pub onboarding_locks: Arc<OnboardingLocks>,
}
