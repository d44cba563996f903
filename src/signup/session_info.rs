//! The session info the Embedded Signup popup posts to the opener.
//!
//! `event.data` is a JSON string `{type: 'WA_EMBEDDED_SIGNUP', event, data, version?}`.
//! Everything that is not one of the documented shapes is ignored (`None`): the page receives
//! messages from other scripts too, and an unknown message must never move the flow.

use serde_json::{Map, Value};

/// The `type` every Embedded Signup message carries.
pub const MESSAGE_TYPE: &str = "WA_EMBEDDED_SIGNUP";

/// Which finish the popup reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FinishKind {
    /// `FINISH`: a WABA and a new Cloud API number.
    Finish,
    /// `FINISH_ONLY_WABA`: a WABA without a number yet.
    OnlyWaba,
    /// `FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING`: coexistence with the WhatsApp Business app.
    BusinessAppOnboarding,
    /// `FINISH_OBO_MIGRATION`: an on-behalf-of WABA migrated to the partner.
    OboMigration,
    /// `FINISH_GRANT_ONLY_API_ACCESS`: access granted to an existing WABA.
    GrantOnlyApiAccess,
}

impl FinishKind {
    pub fn from_event(event: &str) -> Option<FinishKind> {
        match event {
            "FINISH" => Some(FinishKind::Finish),
            "FINISH_ONLY_WABA" => Some(FinishKind::OnlyWaba),
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING" => Some(FinishKind::BusinessAppOnboarding),
            "FINISH_OBO_MIGRATION" => Some(FinishKind::OboMigration),
            "FINISH_GRANT_ONLY_API_ACCESS" => Some(FinishKind::GrantOnlyApiAccess),
            _ => None,
        }
    }

    pub fn event_name(self) -> &'static str {
        match self {
            FinishKind::Finish => "FINISH",
            FinishKind::OnlyWaba => "FINISH_ONLY_WABA",
            FinishKind::BusinessAppOnboarding => "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            FinishKind::OboMigration => "FINISH_OBO_MIGRATION",
            FinishKind::GrantOnlyApiAccess => "FINISH_GRANT_ONLY_API_ACCESS",
        }
    }
}

/// A successful finish: the assets the business created or shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupFinish {
    pub kind: FinishKind,
    pub waba_id: String,
    pub phone_number_id: Option<String>,
    pub business_id: Option<String>,
}

/// An error the business reported from inside the popup (sent as `CANCEL` by current
/// versions, as `ERROR` by older ones). Support needs the session id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignupErrorReport {
    pub message: Option<String>,
    pub code: Option<String>,
    pub session_id: Option<String>,
    /// Only older `ERROR` events carry it.
    pub error_id: Option<String>,
}

/// One understood session-info message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInfoEvent {
    Finished(SignupFinish),
    /// The business closed the flow; `step` is Meta's step id such as `PHONE_NUMBER_VERIFICATION`
    /// (absent when the popup did not say).
    Cancelled { step: Option<String> },
    Error(SignupErrorReport),
}

/// The whole message: the event plus the session-info version when given (`3` or `"3"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfoMessage {
    pub event: SessionInfoEvent,
    pub version: Option<String>,
}

/// Parse `event.data` as text: the JSON string the popup posts. (When a sender posts an object
/// instead, the browser glue serialises it to JSON first and calls this too.)
pub fn parse_session_info(text: &str) -> Option<SessionInfoMessage> {
    let value: Value = serde_json::from_str(text).ok()?;
    parse_session_info_value(&value)
}

/// Parse an already-decoded message.
pub fn parse_session_info_value(value: &Value) -> Option<SessionInfoMessage> {
    let message = value.as_object()?;
    if message.get("type").and_then(Value::as_str) != Some(MESSAGE_TYPE) {
        return None;
    }
    let event_name = message.get("event").and_then(Value::as_str)?;
    let empty = Map::new();
    let data = match message.get("data") {
        Some(Value::Object(data)) => data,
        None | Some(Value::Null) => &empty,
        Some(_) => return None,
    };
    let event = if let Some(kind) = FinishKind::from_event(event_name) {
        SessionInfoEvent::Finished(SignupFinish {
            kind,
            waba_id: id_field(data, &["waba_id", "wabaId"])?,
            phone_number_id: id_field(data, &["phone_number_id", "phoneNumberId"]),
            business_id: id_field(data, &["business_id", "businessId"]),
        })
    } else {
        match event_name {
            "CANCEL" if !carries_error(data) => SessionInfoEvent::Cancelled { step: text_field(data, "current_step") },
            "CANCEL" | "ERROR" => SessionInfoEvent::Error(SignupErrorReport {
                message: text_field(data, "error_message"),
                code: id_field(data, &["error_code"]),
                session_id: id_field(data, &["session_id"]),
                error_id: id_field(data, &["error_id"]),
            }),
            _ => return None,
        }
    };
    Some(SessionInfoMessage { event, version: id_field(message, &["version"]) })
}

/// A `CANCEL` is a user-reported error when it carries any error detail.
fn carries_error(data: &Map<String, Value>) -> bool {
    ["error_message", "error_code", "session_id", "error_id"]
        .iter()
        .any(|key| data.get(*key).is_some_and(|value| !value.is_null()))
}

/// A non-empty string field.
fn text_field(data: &Map<String, Value>, key: &str) -> Option<String> {
    let text = data.get(key)?.as_str()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// An identifier that may come as a string or a number (large ids are sometimes sent unquoted).
/// The first of `keys` present wins.
fn id_field(data: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| match data.get(*key)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
}
