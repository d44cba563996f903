//! A WhatsApp message object (Meta's shape, which YCloud's inbound messages and echoes follow) read
//! into [`Content`]: its type, the text an agent reads, media, errors, reply context, reaction.

use api_types::MessageType;
use serde_json::Value;

use super::{Content, Media, MessageError, Reaction};
use crate::webhooks::events::storable_text;

/// A string (or a number sent in its place) as text the store can keep; empty is none.
pub fn text_at(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(text) => Some(storable_text(text)),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
    .filter(|text| !text.is_empty())
}

/// Meta's `timestamp`: unix seconds, as a string or a number; in milliseconds.
pub fn unix_seconds_ms(value: Option<&Value>) -> Option<i64> {
    let seconds = match value? {
        Value::String(text) => text.trim().parse::<i64>().ok()?,
        Value::Number(number) => number.as_i64()?,
        _ => return None,
    };
    seconds.checked_mul(1000)
}

/// An RFC 3339 time (YCloud's `sendTime`), in unix milliseconds.
pub fn rfc3339_ms(value: Option<&Value>) -> Option<i64> {
    let text = value?.as_str()?;
    let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000_000).ok()
}

/// The first of `errors[]`: code, title, and `error_data.details` (or `message`).
pub fn first_error(errors: Option<&Value>) -> Option<MessageError> {
    let error = errors?.as_array()?.first()?;
    let details = error.get("error_data").and_then(|data| text_at(data, "details")).or_else(|| text_at(error, "message"));
    Some(MessageError { code: text_at(error, "code"), title: text_at(error, "title"), details })
}

fn media_of(object: &Value) -> Media {
    Media {
        id: text_at(object, "id"),
        mime_type: text_at(object, "mime_type"),
        file_name: text_at(object, "filename"),
        caption: text_at(object, "caption"),
        sha256: text_at(object, "sha256"),
        link: text_at(object, "link"),
    }
}

/// Read a message object. Never fails: a type we do not know is `unsupported`, with the object kept.
pub fn read(message: &Value) -> Content {
    let type_text = message.get("type").and_then(Value::as_str).unwrap_or("");
    let kind = match MessageType::parse(type_text) {
        MessageType::Unknown(_) => MessageType::Unsupported,
        known => known,
    };
    let part = message.get(type_text).unwrap_or(&Value::Null);
    let mut text = None;
    let mut media = None;
    let mut reaction = None;
    match &kind {
        MessageType::Text => text = text_at(part, "body"),
        kind if kind.is_media() => {
            let read = media_of(part);
            text = read.caption.clone();
            media = Some(read);
        }
        MessageType::Location => text = text_at(part, "name").or_else(|| text_at(part, "address")),
        MessageType::Contacts => {
            let names: Vec<String> = part
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|contact| contact.get("name").and_then(|name| text_at(name, "formatted_name")))
                .collect();
            text = (!names.is_empty()).then(|| names.join(", "));
        }
        MessageType::Interactive => {
            let reply_type = part.get("type").and_then(Value::as_str).unwrap_or("");
            let reply = part.get(reply_type).unwrap_or(&Value::Null);
            // A flow's answers are kept as the text they came as, JSON or not.
            text = match reply_type {
                "nfm_reply" => text_at(reply, "response_json").or_else(|| text_at(reply, "body")),
                _ => text_at(reply, "title"),
            };
        }
        MessageType::Button => text = text_at(part, "text").or_else(|| text_at(part, "payload")),
        MessageType::Order => text = text_at(part, "text"),
        MessageType::System => text = text_at(part, "body"),
        MessageType::Reaction => {
            if let Some(target_wamid) = text_at(part, "message_id") {
                // No emoji (or an empty one) removes the reaction.
                reaction = Some(Reaction { target_wamid, emoji: text_at(part, "emoji").unwrap_or_default() });
            }
        }
        _ => {}
    }
    Content {
        kind,
        text,
        media,
        reply_to: message.get("context").and_then(|context| text_at(context, "id")),
        error: first_error(message.get("errors")),
        reaction,
        payload: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_keeps_its_file_name_and_caption_exactly() {
        let content = read(&json!({"type": "document", "document": {"id": "m1", "mime_type": "application/pdf",
            "filename": "Relevé de compte – Über.pdf", "caption": "Voilà  l’extrait"}}));
        assert_eq!(content.kind, MessageType::Document);
        let media = content.media.unwrap();
        assert_eq!(media.file_name.as_deref(), Some("Relevé de compte – Über.pdf"));
        assert_eq!(media.caption.as_deref(), Some("Voilà  l’extrait"));
        assert_eq!(content.text.as_deref(), Some("Voilà  l’extrait"));
    }

    #[test]
    fn a_flow_reply_keeps_response_json_that_is_not_json() {
        let content = read(&json!({"type": "interactive", "interactive": {"type": "nfm_reply",
            "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{not json"}}}));
        assert_eq!(content.kind, MessageType::Interactive);
        assert_eq!(content.text.as_deref(), Some("{not json"));
    }

    #[test]
    fn unknown_types_are_unsupported_with_their_errors_and_reactions_name_their_target() {
        let content = read(&json!({"type": "edit", "edit": {}, "errors": [{"code": 131051, "title": "Message type unknown",
            "error_data": {"details": "Message type is currently not supported."}}]}));
        assert_eq!(content.kind, MessageType::Unsupported);
        assert_eq!(
            content.error,
            Some(MessageError {
                code: Some("131051".to_owned()),
                title: Some("Message type unknown".to_owned()),
                details: Some("Message type is currently not supported.".to_owned()),
            })
        );
        assert!(content.payload.contains("\"edit\""));
        let removed = read(&json!({"type": "reaction", "reaction": {"message_id": "wamid.A"}}));
        assert_eq!(removed.reaction, Some(Reaction { target_wamid: "wamid.A".to_owned(), emoji: String::new() }));
    }

    #[test]
    fn times_in_seconds_and_rfc3339() {
        assert_eq!(unix_seconds_ms(Some(&json!("1700000000"))), Some(1_700_000_000_000));
        assert_eq!(rfc3339_ms(Some(&json!("2026-01-01T00:00:00.250Z"))), Some(1_767_225_600_250));
    }
}

/// The structured cards of a stored `location` or `contacts` message, read from its payload
/// (the message object as sent); nothing for other kinds or a payload that does not say.
pub fn cards(kind: &MessageType, payload: Option<&str>) -> (Option<api_types::LocationCard>, Vec<api_types::ContactCard>) {
    let Some(payload) = payload else { return (None, Vec::new()) };
    if !matches!(kind, MessageType::Location | MessageType::Contacts) {
        return (None, Vec::new());
    }
    let Ok(message) = serde_json::from_str::<Value>(payload) else { return (None, Vec::new()) };
    let degrees = |value: Option<&Value>| match value? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|degrees| degrees.is_finite())
    .map(api_types::Degrees);
    match kind {
        MessageType::Location => {
            let part = message.get("location").unwrap_or(&Value::Null);
            let location = match (degrees(part.get("latitude")), degrees(part.get("longitude"))) {
                (Some(latitude), Some(longitude)) => Some(api_types::LocationCard {
                    latitude,
                    longitude,
                    name: text_at(part, "name"),
                    address: text_at(part, "address"),
                }),
                _ => None,
            };
            (location, Vec::new())
        }
        _ => {
            let cards = message
                .get("contacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|contact| {
                    let name = contact.get("name").unwrap_or(&Value::Null);
                    let name = text_at(name, "formatted_name")
                        .or_else(|| {
                            let parts: Vec<String> = ["first_name", "last_name"].iter().filter_map(|key| text_at(name, key)).collect();
                            (!parts.is_empty()).then(|| parts.join(" "))
                        })
                        .unwrap_or_default();
                    let phones = contact
                        .get("phones")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|phone| {
                            Some(api_types::ContactPhone {
                                phone: text_at(phone, "phone").or_else(|| text_at(phone, "wa_id"))?,
                                wa_id: text_at(phone, "wa_id"),
                                kind: text_at(phone, "type"),
                            })
                        })
                        .collect();
                    api_types::ContactCard { name, phones }
                })
                .collect();
            (None, cards)
        }
    }
}
