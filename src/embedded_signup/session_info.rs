//! The session info the Embedded Signup popup posts to the opener.
//!
//! `event.data` is a JSON string `{type: 'WA_EMBEDDED_SIGNUP', event, data, version?}`.
//! Everything that is not one of the documented shapes is ignored (`None`): the page receives
//! messages from other scripts too, and an unknown message must never move the flow.

use serde_json::{Map, Value};

/// The `type` every Embedded Signup message carries.
pub const MESSAGE_TYPE: &str = "WA_EMBEDDED_SIGNUP";

/// Longer `event.data` texts are ignored unread.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest accepted id (WABA, phone number, business): Meta's are about 16 digits.
pub const MAX_ID_CHARS: usize = 64;
/// Longest accepted short field (error code, session id, step, version).
pub const MAX_TOKEN_CHARS: usize = 128;
/// A longer `error_message` is cut to this many characters (and an ellipsis).
pub const MAX_ERROR_MESSAGE_CHARS: usize = 500;

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
    // Real session info is a few hundred bytes; anything this large is not from the popup and
    // is not worth parsing.
    if text.len() > MAX_MESSAGE_BYTES {
        return None;
    }
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
            "CANCEL" | "ERROR" => {
                let report = SignupErrorReport {
                    message: message_field(data, "error_message"),
                    code: token_field(data, &["error_code"]),
                    session_id: token_field(data, &["session_id"]),
                    error_id: token_field(data, &["error_id"]),
                };
                // A `CANCEL` is a user-reported error when it carries any usable error detail.
                if event_name == "CANCEL" && report == SignupErrorReport::default() {
                    SessionInfoEvent::Cancelled { step: token_field(data, &["current_step"]) }
                } else {
                    SessionInfoEvent::Error(report)
                }
            }
            _ => return None,
        }
    };
    Some(SessionInfoMessage { event, version: token_field(message, &["version"]) })
}

/// The text of a field that may come as a string or as a whole number (large ids are
/// sometimes sent unquoted; error codes often are). Fractions, negative or out-of-range numbers
/// and numbers in exponent form are not identifiers. The first of `keys` with a usable,
/// non-empty value wins.
fn scalar_text(data: &Map<String, Value>, keys: &[&str], max_chars: usize, allowed: fn(char) -> bool) -> Option<String> {
    keys.iter().find_map(|key| {
        let text = match data.get(*key)? {
            Value::String(text) => text.trim().to_owned(),
            Value::Number(number) => number.as_u64()?.to_string(),
            _ => return None,
        };
        (!text.is_empty() && text.chars().count() <= max_chars && text.chars().all(allowed)).then_some(text)
    })
}

/// An asset id (WABA, phone number, business): letters, digits, `_` and `-` only, so it is safe
/// in the path of a Graph API URL.
fn id_field(data: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    scalar_text(data, keys, MAX_ID_CHARS, |c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A short printable token (error code, session id, step, version).
fn token_field(data: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    scalar_text(data, keys, MAX_TOKEN_CHARS, |c| !c.is_control())
}

/// A free-text message, trimmed, its control characters turned into spaces, and cut to
/// [`MAX_ERROR_MESSAGE_CHARS`].
fn message_field(data: &Map<String, Value>, key: &str) -> Option<String> {
    let text = data.get(key)?.as_str()?.trim();
    if text.is_empty() {
        return None;
    }
    let mut cleaned: String = text
        .chars()
        .take(MAX_ERROR_MESSAGE_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX_ERROR_MESSAGE_CHARS).is_some() {
        cleaned.push('…');
    }
    Some(cleaned)
}
