//! Reusable view pieces of the shell.

pub mod app_frame;
pub mod auth_layout;
pub mod config_error;
pub mod form_field;
pub mod icons;
pub mod language_switch;
pub mod not_built;
pub mod page_title;
pub mod session_gate;
