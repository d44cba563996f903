//! WhatsApp business accounts and numbers: the seed 003 accounts API (exact field names) and
//! the Embedded Signup completion.

use serde::{Deserialize, Serialize};

/// `POST /intwa-api/whatsapp/account/bind` (seed 003 1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BindRequest {
    pub account_name: String,
    pub waba_id: String,
    pub phone_number_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// `POST /intwa-api/whatsapp/account/phoneInfo` (seed 003 1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneInfoRequest {
    pub account_name: String,
    pub waba_id: String,
}

/// One number of a WhatsApp business account (seed 003 1.2 `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneInfo {
    pub id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    /// CONNECTED, PENDING, FLAGGED, RESTRICTED, OFFLINE, RATE_LIMITED, DISCONNECTED, UNVERIFIED.
    pub status: String,
    /// GREEN, YELLOW, RED, UNKNOWN.
    pub quality_rating: String,
    /// TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED.
    pub message_limit: String,
}

/// `POST /intwa-api/whatsapp/account/wabaInfo` (seed 003 1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WabaInfoRequest {
    pub account_name: String,
}

/// One WhatsApp business account (seed 003 1.3 `data[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WabaInfo {
    pub waba_id: String,
    pub waba_name: String,
    pub waba_status: String,
}

/// Which Embedded Signup flow produced the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
