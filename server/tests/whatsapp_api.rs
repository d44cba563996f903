//! The WhatsApp API over real HTTP, each test on SQLite and (when `WADESK_TEST_POSTGRES_URL` is
//! set) PostgreSQL, in sandbox mode: the seed 003 accounts API, Embedded Signup completion (cloud
//! and coexistence), the Numbers routes, webhooks, and the sandbox's stand-in Facebook pages.

mod common;

#[path = "whatsapp_api/support.rs"]
mod support;

#[path = "whatsapp_api/accounts.rs"]
mod whatsapp_accounts;
#[path = "whatsapp_api/hardening.rs"]
mod whatsapp_hardening;
#[path = "whatsapp_api/numbers.rs"]
mod whatsapp_numbers;
#[path = "whatsapp_api/nul_ids.rs"]
mod whatsapp_nul_ids;
#[path = "whatsapp_api/sandbox_simulation.rs"]
mod whatsapp_sandbox_simulation;
#[path = "whatsapp_api/sandbox_facebook.rs"]
mod whatsapp_sandbox_facebook;
#[path = "whatsapp_api/signup.rs"]
mod whatsapp_signup;
#[path = "whatsapp_api/webhooks.rs"]
mod whatsapp_webhooks;
#[path = "whatsapp_api/tenant_walls.rs"]
mod whatsapp_tenant_walls;
#[path = "whatsapp_api/inbox.rs"]
mod whatsapp_inbox;
#[path = "whatsapp_api/sandbox_phone.rs"]
mod whatsapp_sandbox_phone;
#[path = "whatsapp_api/event_stream.rs"]
mod event_stream;
#[path = "whatsapp_api/realtime.rs"]
mod whatsapp_realtime;
#[path = "whatsapp_api/sending.rs"]
mod whatsapp_sending;
#[path = "whatsapp_api/team.rs"]
mod team;
