//! Embedded Signup in the browser: the Facebook SDK, the popup's session info and the pairing
//! of the two into one `whatsapp/signup/complete` call.
//!
//! This is Meta's flow that connects a business's WhatsApp numbers (the Onboarding page), not
//! the sign-up form for a new console account ([`crate::pages::signup`]).
//!
//! `origin`, `session_info` and `flow` are plain logic with no browser dependency, tested in
//! `tests/embedded_signup_*.rs`; `facebook_sdk` is the thin web-sys glue around them.

pub mod facebook_sdk;
pub mod flow;
pub mod login_options;
pub mod origin;
pub mod session_info;

pub use flow::{AttemptId, AttemptInProgress, CompleteSignup, SignupFailure, SignupFlowMachine, SignupOutcome};
pub use origin::is_trusted_origin;
pub use session_info::{parse_session_info, FinishKind, SessionInfoEvent, SessionInfoMessage, SignupErrorReport, SignupFinish};
