//! Sandbox mode: the stand-in Facebook SDK and popup, and the simulation of what Meta does after
//! onboarding. The upstream half of the sandbox lives in `upstream::sandbox`.

pub mod controls;
pub mod facebook;
pub mod simulator;
