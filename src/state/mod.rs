//! Shared client state, provided as `Copy` contexts by the app root (session, navigation) and by
//! the app frame (the realtime stream and the stores it feeds).

pub mod inbox;
pub mod navigation;
pub mod numbers;
pub mod realtime;
pub mod session;
