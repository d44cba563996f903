//! The wadesk reference server: the backend API the SPA speaks, webhooks, and the upstream
//! adapters (sandbox, YCloud, Meta). `main.rs` parses settings and calls [`serve`]; tests call
//! [`build_app`] or [`serve`] on `127.0.0.1:0` with a fresh database.

pub mod auth;
pub mod db;
pub mod error;
pub mod http;
pub mod settings;
pub mod state;
pub mod whatsapp;

pub use error::ApiError;
pub use settings::{Mode, Settings};
pub use state::AppState;
