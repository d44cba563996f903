//! Reusable view pieces: the shell, and the pieces more than one page shows (form parts, a
//! number's badges and card, the webhook settings).

pub mod app_frame;
pub mod auth_layout;
pub mod config_error;
pub mod copy_field;
pub mod form_error;
pub mod form_field;
pub mod icons;
pub mod language_switch;
pub mod not_built;
pub mod number;
pub mod page_title;
pub mod skeleton;
pub mod submit_button;
pub mod webhook_settings;
