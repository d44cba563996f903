//! WhatsApp business accounts and numbers: the seed 003 accounts API (exact field names) and
//! the Embedded Signup completion.

use serde::{Deserialize, Serialize};

use crate::domain::{MessagingLimit, NumberOrigin, NumberStatus, QualityRating, SyncState, WabaStatus};

/// `POST /intwa-api/whatsapp/account/bind` (seed 003 1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BindRequest {
    pub account_name: String,
    pub waba_id: String,
    pub phone_number_id: String,
    /// The display number, when the caller wants it checked: it must be the number WhatsApp
    /// reports for `phoneNumberId` (never a way to name it otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Live mode: the WABA's own access token (seed 001's permanent system-user token), which
    /// shows the caller controls a WABA it did not connect through Embedded Signup. Stored
    /// encrypted and used for the WABA's upstream calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// `POST /intwa-api/whatsapp/account/phoneInfo` (seed 003 1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PhoneInfoRequest {
    pub account_name: String,
    pub waba_id: String,
}

/// One number of a WhatsApp business account (seed 003 1.2 `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PhoneInfo {
    pub id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub status: NumberStatus,
    pub quality_rating: QualityRating,
    pub message_limit: MessagingLimit,
}

/// `POST /intwa-api/whatsapp/account/wabaInfo` (seed 003 1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WabaInfoRequest {
    pub account_name: String,
}

/// One WhatsApp business account (seed 003 1.3 `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WabaInfo {
    pub waba_id: String,
    pub waba_name: String,
    pub waba_status: WabaStatus,
}

/// Which Embedded Signup flow produced the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SignupFlow {
    /// A new number on the Cloud API (registered with a PIN).
    Cloud,
    /// A WhatsApp Business app number kept on the phone (no register; contact and history sync).
    Coexistence,
}

/// `POST /intwa-api/whatsapp/signup/complete`: exchange the 30-second code and bind what the
/// popup reported to the caller's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignupCompleteRequest {
    pub code: String,
    pub waba_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    pub flow: SignupFlow,
}

/// What `signup/complete` did, step by step, and what it bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignupCompleteResponse {
    pub waba: WabaInfo,
    /// The bound number; `None` when the flow created a WABA without a number (`FINISH_ONLY_WABA`).
    pub number: Option<NumberDetails>,
    /// True when this WABA/number was already bound to the caller's account (completing again is harmless).
    pub already_bound: bool,
}

/// Everything the Numbers page shows about one number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NumberDetails {
    pub phone_number_id: String,
    pub waba_id: String,
    pub waba_name: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub status: NumberStatus,
    /// While `status` is `DISCONNECTED`: why, as WhatsApp said it (`PRIMARY_INACTIVITY`,
    /// `PARTNER_REMOVED`, `PARTNER_APP_UNINSTALLED`, ...), when it said.
    #[serde(default)]
    pub disconnect_reason: Option<String>,
    pub quality_rating: QualityRating,
    pub message_limit: MessagingLimit,
    pub origin: NumberOrigin,
    pub registration: RegistrationAllowance,
    /// Contact and history sync (coexistence numbers only).
    pub sync: Option<SyncProgress>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Register is limited to 10 requests per number in 72 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RegistrationAllowance {
    pub attempts_in_window: u32,
    pub limit: u32,
    /// Unix milliseconds when the next attempt is allowed; `None` when one is allowed now.
    pub next_attempt_at: Option<i64>,
}

/// Coexistence contact and history sync, fed by the `smb_app_state_sync` and `history` webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncProgress {
    pub contacts: SyncState,
    pub contacts_imported: u64,
    pub history: SyncState,
    /// 0 (day 0-1), 1 (day 1-90), 2 (day 90-180).
    pub history_phase: Option<u8>,
    /// 0..=100 within the current phase; 100 in phase 2 means done.
    pub history_progress: u8,
    pub history_messages_imported: u64,
}

/// What the sandbox can make WhatsApp do to a number (sandbox mode only), each delivered as the
/// webhook Meta sends for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum SimulatedEvent {
    /// `phone_number_quality_update` FLAGGED: quality dropped, the number is at risk.
    Flagged,
    /// `phone_number_quality_update` UNFLAGGED: back to CONNECTED.
    Unflagged,
    /// `phone_number_quality_update` UPGRADE: the portfolio's messaging limit goes up one tier.
    LimitRaised,
    /// `account_update` PARTNER_REMOVED with reason PRIMARY_INACTIVITY (app unused for 14 days).
    Disconnected,
}

/// `whatsapp/sandbox/simulate`: make WhatsApp do `event` to one of the caller's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SimulateRequest {
    pub phone_number_id: String,
    pub event: SimulatedEvent,
}

/// A request naming one of the caller's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NumberRef {
    pub phone_number_id: String,
}

/// `{}`: the body of requests that need no fields (`numbers/list`, `webhookSettings`, `auth/me`,
/// `auth/logout`), and the `data` of `auth/logout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Empty {}

/// `POST /intwa-api/whatsapp/numbers/remove` answers with what the business must still do on Meta's side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RemovedNumber {
    pub phone_number_id: String,
    pub waba_id: String,
    /// True when the WABA has no number left here and was unbound too.
    pub waba_unbound: bool,
}

/// `POST /intwa-api/whatsapp/webhookSettings {}`: what to paste into Meta's app dashboard (seed 001).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    pub callback_url: String,
    pub verify_token: String,
}

/// `POST /intwa-api/whatsapp/numbers/updateProfile`: the number's display name (goes to Meta review).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdateNumberProfileRequest {
    pub phone_number_id: String,
    pub verified_name: String,
}
