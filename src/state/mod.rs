//! Shared client state, provided as `Copy` contexts by the app root.

pub mod navigation;
pub mod session;
