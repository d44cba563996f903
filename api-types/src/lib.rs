//! The wadesk backend API contract.
//!
//! Every type the SPA sends or receives lives here, so the compiler checks both sides of the wire.
//! The JSON shapes follow the seed platform's API (seed 003): POST with a JSON body, and every
//! response wrapped in `{"code": 0, "message": "Success", "data": ...}`. Field names are camelCase.

pub mod auth;
pub mod config;
pub mod domain;
pub mod envelope;
pub mod inbox;
pub mod team;
pub mod validation;
pub mod whatsapp;

pub use auth::*;
pub use config::*;
pub use domain::*;
pub use envelope::*;
pub use inbox::*;
pub use team::*;
pub use whatsapp::*;

/// The path every API route lives under, relative to the server's base path.
pub const API_PREFIX: &str = "/intwa-api";
