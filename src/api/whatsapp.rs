//! Typed calls for WhatsApp accounts and numbers (`/intwa-api/whatsapp/...`).
//!
//! The seed 003 calls carry `accountName`: the logged-in user's account (the server checks it
//! against the session, so it cannot reach another tenant).

use api_types::{
    SimulateRequest, SimulatedEvent,
    BindRequest, Empty, NumberDetails, NumberRef, PhoneInfo, PhoneInfoRequest, RemovedNumber, SignupCompleteRequest,
    SignupCompleteResponse, UpdateNumberProfileRequest, WabaInfo, WabaInfoRequest, WebhookSettings,
};
use serde::de::IgnoredAny;

use super::{ApiClient, ApiError};

/// Exchange the Embedded Signup code and bind what the popup reported.
pub async fn complete_signup(api: ApiClient, request: &SignupCompleteRequest) -> Result<SignupCompleteResponse, ApiError> {
    api.post("/whatsapp/signup/complete", request).await
}

/// Bind a WABA and number by their ids (seed 003 1.1). What the server answers besides success
/// is not needed: the caller reloads the numbers.
pub async fn bind_account(api: ApiClient, request: &BindRequest) -> Result<(), ApiError> {
    api.post::<_, IgnoredAny>("/whatsapp/account/bind", request).await.map(|_| ())
}

/// The account's WhatsApp business accounts (seed 003 1.3).
pub async fn waba_info(api: ApiClient, account_name: &str) -> Result<Vec<WabaInfo>, ApiError> {
    api.post("/whatsapp/account/wabaInfo", &WabaInfoRequest { account_name: account_name.to_owned() }).await
}

/// The numbers of one WABA (seed 003 1.2).
pub async fn phone_info(api: ApiClient, account_name: &str, waba_id: &str) -> Result<Vec<PhoneInfo>, ApiError> {
    let request = PhoneInfoRequest { account_name: account_name.to_owned(), waba_id: waba_id.to_owned() };
    api.post("/whatsapp/account/phoneInfo", &request).await
}

/// Every number of the account with status, quality, limit, registration allowance and sync.
pub async fn list_numbers(api: ApiClient) -> Result<Vec<NumberDetails>, ApiError> {
    api.post("/whatsapp/numbers/list", &Empty {}).await
}

/// One number, fresh.
pub async fn get_number(api: ApiClient, phone_number_id: &str) -> Result<NumberDetails, ApiError> {
    api.post("/whatsapp/numbers/get", &number_ref(phone_number_id)).await
}

/// Ask the provider to register the number again (10 attempts per 72 h; 429 tells when).
pub async fn retry_registration(api: ApiClient, phone_number_id: &str) -> Result<(), ApiError> {
    api.post::<_, IgnoredAny>("/whatsapp/numbers/retryRegistration", &number_ref(phone_number_id)).await.map(|_| ())
}

/// Unbind the number from this account.
pub async fn remove_number(api: ApiClient, phone_number_id: &str) -> Result<RemovedNumber, ApiError> {
    api.post("/whatsapp/numbers/remove", &number_ref(phone_number_id)).await
}

/// Change the number's display name (Meta reviews it).
pub async fn update_number_profile(api: ApiClient, request: &UpdateNumberProfileRequest) -> Result<(), ApiError> {
    api.post::<_, IgnoredAny>("/whatsapp/numbers/updateProfile", request).await.map(|_| ())
}

/// The webhook callback URL and verify token to paste into Meta's app dashboard.
pub async fn webhook_settings(api: ApiClient) -> Result<WebhookSettings, ApiError> {
    api.post("/whatsapp/webhookSettings", &Empty {}).await
}

/// Sandbox mode only: make WhatsApp do `event` to the number (the server sends itself Meta's webhook).
pub async fn simulate_event(api: ApiClient, phone_number_id: &str, event: SimulatedEvent) -> Result<NumberDetails, ApiError> {
    let request = SimulateRequest { phone_number_id: phone_number_id.to_owned(), event };
    api.post("/whatsapp/sandbox/simulate", &request).await
}

fn number_ref(phone_number_id: &str) -> NumberRef {
    NumberRef { phone_number_id: phone_number_id.to_owned() }
}
