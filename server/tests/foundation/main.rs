//! The server's foundation over real HTTP, each test on SQLite and (when
//! `WADESK_TEST_POSTGRES_URL` is set) PostgreSQL: login, sessions, sign-up, rate limits, JSON
//! errors, the SPA bundle, config.json, the base path, the OpenAPI document, compression, first
//! run, and the command line's one-line errors.

#[path = "../common/mod.rs"]
mod common;

mod abuse_limits;
mod auth_api;
mod command_line;
mod compression;
mod serving;
