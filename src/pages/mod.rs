//! One module per route.

pub mod auth_form;
pub mod inbox;
pub mod login;
pub mod not_found;
pub mod numbers;
pub mod onboarding;
pub mod settings;
pub mod signup;
pub mod team;
