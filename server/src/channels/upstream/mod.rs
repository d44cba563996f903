//! The upstream provider behind one trait: the in-process sandbox, YCloud, or Meta's Graph API.
//!
//! Handlers only speak [`Upstream`]; which adapter answers is decided once, where the state is
//! built (`app::build_state`: the sandbox in sandbox mode, otherwise [`live_from_settings`]). Every failure is an [`UpstreamError`] that names the provider and the
//! operation, so the message a user reads says what failed ("Meta refused the registration: ...").

mod http;
pub mod messaging;
pub mod meta;
pub mod ycloud;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use api_types::{ErrorCode, MessagingLimit, NumberStatus, QualityRating, WabaStatus};

use crate::web::error::ApiError;
use crate::settings::{Settings, UpstreamKind};

/// How long a live upstream call may take before it counts as timed out.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A business integration token from the Embedded Signup code exchange. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct BusinessToken(pub String);

impl fmt::Debug for BusinessToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("BusinessToken(***)")
    }
}

/// A WhatsApp Business Account as the upstream describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamWaba {
    pub id: String,
    pub name: String,
    pub status: WabaStatus,
    pub business_id: Option<String>,
    /// YCloud only: whether a payment method is attached (seed 004 asks to check it).
    pub payment_method_attached: Option<bool>,
}

/// One phone number of a WABA as the upstream describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamNumber {
    pub id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub status: NumberStatus,
    pub quality_rating: QualityRating,
    pub messaging_limit: MessagingLimit,
}

/// The two coexistence syncs, requested in this order, each once (`smb_app_data` `sync_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    Contacts,
    History,
}

impl SyncKind {
    /// Meta's `sync_type` value.
    pub fn meta_sync_type(self) -> &'static str {
        match self {
            SyncKind::Contacts => "smb_app_state_sync",
            SyncKind::History => "history",
        }
    }
}

/// What the server asked the upstream to do; named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ExchangeCode,
    GetWaba,
    ListNumbers,
    GetNumber,
    SubscribeApp,
    Register,
    CoexistenceBind,
    ContactSync,
    HistorySync,
    Deregister,
    UnsubscribeApp,
    UpdateDisplayName,
    SendMessage,
    UploadMedia,
    DownloadMedia,
    MarkRead,
    Typing,
}

impl Operation {
    /// How the operation reads inside a sentence ("Meta refused <the registration>").
    pub fn describe(self) -> &'static str {
        match self {
            Operation::ExchangeCode => "the sign-up code exchange",
            Operation::GetWaba => "the WhatsApp Business Account lookup",
            Operation::ListNumbers => "the phone number list",
            Operation::GetNumber => "the phone number lookup",
            Operation::SubscribeApp => "the webhook subscription",
            Operation::Register => "the registration",
            Operation::CoexistenceBind => "the WhatsApp Business app binding",
            Operation::ContactSync => "the contact sync request",
            Operation::HistorySync => "the chat history sync request",
            Operation::Deregister => "the deregistration",
            Operation::UnsubscribeApp => "the webhook unsubscription",
            Operation::UpdateDisplayName => "the display name change",
            Operation::SendMessage => "the message",
            Operation::UploadMedia => "the media upload",
            Operation::DownloadMedia => "the media download",
            Operation::MarkRead => "the read receipt",
            Operation::Typing => "the typing indicator",
        }
    }
}

/// Why an upstream call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamErrorKind {
    /// The provider answered with an error: `code` is theirs (Meta's number, YCloud's name).
    Rejected { status: u16, code: String, message: String },
    /// No answer within the timeout.
    Timeout { after: Duration },
    /// No connection (DNS, refused, TLS).
    Unreachable { cause: String },
    /// An answer we cannot read (not JSON, or missing fields).
    Malformed { cause: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamError {
    /// "Meta", "YCloud" or "The sandbox".
    pub provider: &'static str,
    pub operation: Operation,
    pub kind: UpstreamErrorKind,
}

impl UpstreamError {
    pub fn rejected(provider: &'static str, operation: Operation, status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        UpstreamError {
            provider,
            operation,
            kind: UpstreamErrorKind::Rejected { status, code: code.into(), message: message.into() },
        }
    }

    /// True when the provider said the thing does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, UpstreamErrorKind::Rejected { status: 404, .. })
    }

    /// The provider answered and said no (as opposed to not answering).
    pub fn is_refusal(&self) -> bool {
        matches!(self.kind, UpstreamErrorKind::Rejected { .. })
    }

    /// Whether trying the same call again later may succeed: no answer in time, no connection, the
    /// provider's own trouble (5xx, but not 501 "not implemented"), or a rate limit (HTTP 429, and
    /// WhatsApp's throughput 130429 and pair rate 131056, which Meta answers with a 400). Every
    /// other refusal is final: the outbox shows it at once. An unreadable answer is final too: the
    /// provider may have acted on the call, and sending a message twice is worse than once.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            UpstreamErrorKind::Timeout { .. } | UpstreamErrorKind::Unreachable { .. } => true,
            UpstreamErrorKind::Rejected { status, code, .. } => {
                (*status >= 500 && *status != 501) || *status == 429 || THROTTLED_CODES.contains(&code.as_str())
            }
            UpstreamErrorKind::Malformed { .. } => false,
        }
    }

    /// The provider's own error code when it refused (Meta's number such as `131047`, the WhatsApp
    /// code YCloud relays, else YCloud's name such as `NOT_FOUND`), for the outbox to show.
    pub fn error_code(&self) -> Option<&str> {
        match &self.kind {
            UpstreamErrorKind::Rejected { code, .. } if !code.is_empty() => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let provider = self.provider;
        let operation = self.operation.describe();
        match &self.kind {
            UpstreamErrorKind::Rejected { status, message, .. } if *status >= 500 => {
                write!(formatter, "{provider} failed {operation} (HTTP {status}): {message}")
            }
            UpstreamErrorKind::Rejected { message, .. } => write!(formatter, "{provider} refused {operation}: {message}"),
            UpstreamErrorKind::Timeout { after } => {
                write!(formatter, "{provider} did not answer {operation} within {} seconds", after.as_secs_f32())
            }
            UpstreamErrorKind::Unreachable { .. } => write!(formatter, "{provider} could not be reached for {operation}"),
            UpstreamErrorKind::Malformed { .. } => write!(formatter, "{provider} sent an unreadable answer to {operation}"),
        }
    }
}

impl std::error::Error for UpstreamError {}

impl From<UpstreamError> for ApiError {
    fn from(error: UpstreamError) -> Self {
        match &error.kind {
            UpstreamErrorKind::Unreachable { cause } | UpstreamErrorKind::Malformed { cause } => {
                tracing::warn!(provider = error.provider, operation = ?error.operation, %cause, "upstream call failed");
            }
            UpstreamErrorKind::Rejected { status, code, .. } => {
                tracing::warn!(provider = error.provider, operation = ?error.operation, status, %code, "upstream refused");
            }
            UpstreamErrorKind::Timeout { .. } => {
                tracing::warn!(provider = error.provider, operation = ?error.operation, "upstream timed out");
            }
        }
        let code = match error.kind {
            UpstreamErrorKind::Timeout { .. } => ErrorCode::UpstreamTimeout,
            _ => ErrorCode::UpstreamError,
        };
        ApiError::new(code, error.to_string())
    }
}

pub type UpstreamResult<T> = Result<T, UpstreamError>;

/// Meta's error codes that mean "too fast, try later" although they come with HTTP 400:
/// throughput (130429, 80007, 4) and the pair rate to one customer (131056).
const THROTTLED_CODES: &[&str] = &["4", "80007", "130429", "131056"];

/// Everything the server asks of Meta or YCloud.
///
/// `token` is the business token from the Embedded Signup exchange when the server has one for
/// the WABA. YCloud authenticates with the server's API key and ignores it; Meta needs it.
#[async_trait::async_trait]
pub trait Upstream: Send + Sync {
    /// `sandbox`, `ycloud` or `meta`, for logs.
    fn name(&self) -> &'static str;

    /// Swap the 30-second Embedded Signup code for a business token, at once.
    /// `None` when the provider acts on the partner's own credentials instead (YCloud without a Meta app).
    async fn exchange_code(&self, code: &str) -> UpstreamResult<Option<BusinessToken>>;

    async fn get_waba(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<UpstreamWaba>;

    async fn list_numbers(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<Vec<UpstreamNumber>>;

    async fn get_number(&self, token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str) -> UpstreamResult<UpstreamNumber>;

    /// Subscribe our app to the WABA's webhooks (Meta `POST /{waba}/subscribed_apps`).
    async fn subscribe_app(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<()>;

    /// Register a Cloud API number with its two-step verification PIN. Never for coexistence.
    async fn register_number(&self, token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str, pin: &str) -> UpstreamResult<()>;

    /// Coexistence: bind the WhatsApp Business app number (YCloud `smb/bind`; nothing to do on Meta).
    async fn bind_coexistence(&self, token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str) -> UpstreamResult<()>;

    /// Coexistence: ask for the contacts, then the chat history (`smb_app_data`).
    async fn request_sync(&self, token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str, kind: SyncKind) -> UpstreamResult<()>;

    /// Removal, best effort: stop the number on the Cloud API.
    async fn deregister_number(&self, token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str) -> UpstreamResult<()>;

    /// Removal, best effort: stop the WABA's webhooks to our app.
    async fn unsubscribe_app(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<()>;

    /// Ask for a new display name (Meta reviews it; `phone_number_name_update` says the outcome).
    async fn update_display_name(&self, token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str, name: &str) -> UpstreamResult<()>;

    /// Whether `token` (a WABA's own access token, such as seed 001's permanent system-user
    /// token) can read the WABA at Meta: how an account shows it controls a WABA it binds by
    /// hand. Refused or unknown is `Ok(false)`; no answer is an error.
    async fn token_controls_waba(&self, token: &BusinessToken, waba_id: &str) -> UpstreamResult<bool>;

    // The inbox (issue 9). Each adapter answers these; the defaults say "not supported" so an
    // adapter can grow them one at a time.

    /// Send a message from the business number `phone_number_id`.
    async fn send_message(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, _message: &messaging::OutgoingMessage) -> UpstreamResult<messaging::SentMessage> {
        Err(self.unsupported(Operation::SendMessage))
    }

    /// Upload a file for a later send; returns the upstream's media id.
    async fn upload_media(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, _file: &messaging::MediaFile) -> UpstreamResult<String> {
        Err(self.unsupported(Operation::UploadMedia))
    }

    /// Fetch media a webhook named (Meta: `GET /{media-id}`, then its short-lived URL with the token; YCloud: the link).
    async fn download_media(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, _media: &messaging::MediaSource) -> UpstreamResult<messaging::MediaFile> {
        Err(self.unsupported(Operation::DownloadMedia))
    }

    /// Mark the customer's message `wamid` read (their phone shows blue ticks).
    async fn mark_read(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, _wamid: &str) -> UpstreamResult<()> {
        Err(self.unsupported(Operation::MarkRead))
    }

    /// Show the customer the typing indicator, in reply to their message `wamid` (it also marks it read).
    async fn send_typing(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, _wamid: &str) -> UpstreamResult<()> {
        Err(self.unsupported(Operation::Typing))
    }

    /// The error of an operation this adapter does not do (yet).
    fn unsupported(&self, operation: Operation) -> UpstreamError {
        UpstreamError::rejected(self.provider_label(), operation, 501, "unsupported", "this upstream does not support it")
    }

    /// "Meta", "YCloud" or "Meta (sandbox)": how errors name the provider.
    fn provider_label(&self) -> &'static str {
        match self.name() {
            "meta" => "Meta",
            "ycloud" => "YCloud",
            _ => "The sandbox",
        }
    }

    /// Whether the display number `get_number` reports for this id is the provider's real word.
    /// Live providers always know it; the sandbox does not for ids it made no number for.
    fn knows_display_number(&self, _phone_number_id: &str) -> bool {
        true
    }

    // What WhatsApp does by itself after a step reaches us later as webhooks. A live upstream
    // does nothing here (the real webhooks come); the sandbox plays them back through the real
    // webhook path. Onboarding and numbers call these after each step, whichever adapter it is.

    /// A number was registered (or bound by hand): WhatsApp connects it a moment later. Says how
    /// the number's new state reaches us.
    fn after_registration(&self, _phone_number_id: &str) -> Outcome {
        Outcome::ReadBack
    }

    /// A coexistence number's contact and history sync was requested.
    fn after_sync_request(&self, _request: &SyncRequest) -> Outcome {
        Outcome::ReadBack
    }

    /// A new display name was asked for: WhatsApp reviews it.
    fn after_name_request(&self, _request: &NameRequest) {}
}

/// How a number's state after a step reaches us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Read it back from the upstream now (live providers answer with the state at once).
    ReadBack,
    /// The upstream reports it later, as a webhook would: until then the number is PENDING.
    Reported,
}

/// A coexistence sync that was asked for (see [`Upstream::after_sync_request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    pub waba_id: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
}

/// A display name change that was asked for (see [`Upstream::after_name_request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRequest {
    pub waba_id: String,
    pub display_phone_number: String,
    pub requested_name: String,
}

/// The live adapter the settings ask for (`--upstream meta|ycloud`).
pub fn live_from_settings(settings: &Settings) -> Arc<dyn Upstream> {
    live_from_settings_with_timeout(settings, DEFAULT_TIMEOUT)
}

/// [`live_from_settings`] with another timeout (tests use a short one).
pub fn live_from_settings_with_timeout(settings: &Settings, timeout: Duration) -> Arc<dyn Upstream> {
    match settings.upstream {
        UpstreamKind::Meta => Arc::new(meta::MetaUpstream::new(meta::MetaConfig::from_settings(settings), timeout)),
        UpstreamKind::Ycloud => Arc::new(ycloud::YcloudUpstream::new(ycloud::YcloudConfig::from_settings(settings), timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_provider_and_the_operation() {
        let refused = UpstreamError::rejected("Meta", Operation::Register, 400, "100", "Invalid PIN");
        assert_eq!(refused.to_string(), "Meta refused the registration: Invalid PIN");
        let failed = UpstreamError::rejected("YCloud", Operation::GetWaba, 503, "UNAVAILABLE", "try later");
        assert_eq!(
            failed.to_string(),
            "YCloud failed the WhatsApp Business Account lookup (HTTP 503): try later"
        );
        let timeout = UpstreamError {
            provider: "Meta",
            operation: Operation::ExchangeCode,
            kind: UpstreamErrorKind::Timeout { after: Duration::from_secs(15) },
        };
        let api: ApiError = timeout.into();
        assert_eq!(api.code, ErrorCode::UpstreamTimeout);
        assert_eq!(api.message, "Meta did not answer the sign-up code exchange within 15 seconds");
        let api: ApiError = refused.into();
        assert_eq!(api.code, ErrorCode::UpstreamError);
    }
}
