//! Meta's webhook envelope, `{object: 'whatsapp_business_account', entry: [{id: WABA_ID,
//! changes: [{field, value}]}]}`, read into [`NumberEvent`]s. Fields that are not about
//! onboarding (messages, statuses) produce nothing there; [`parse_messages`] reads those into
//! the inbox's [`MessageEvent`]s.

use serde_json::Value;

use crate::inbox::{content, Customer, MessageEvent, MessageIn, StatusIn};
use crate::webhooks::events::{storable_text, ContactChange, NumberEvent, NumberKey, HISTORY_DECLINED_CODE};
use api_types::validation::only_digits;
use api_types::{MessageDirection, MessageOrigin, MessageStatus, MessagingLimit, NameDecision, QualityEvent, QualityRating};

/// The events in a Meta payload; `Err` says why the payload is not a Meta webhook at all.
pub fn parse(payload: &Value) -> Result<Vec<NumberEvent>, String> {
    let entries = payload
        .get("entry")
        .and_then(Value::as_array)
        .ok_or_else(|| "no entry array: not a WhatsApp webhook".to_owned())?;
    let mut events = Vec::new();
    for entry in entries {
        let waba_id = entry.get("id").and_then(text);
        let Some(changes) = entry.get("changes").and_then(Value::as_array) else { continue };
        for change in changes {
            let field = change.get("field").and_then(Value::as_str).unwrap_or("");
            let value = change.get("value").unwrap_or(&Value::Null);
            read_change(field, value, waba_id.as_deref(), &mut events);
        }
    }
    Ok(events)
}

/// A string, or a number sent where a string was expected (ids), as text the store can keep.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(storable_text(text)),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A whole number, also when sent as a string (`"40"`) or with a zero fraction (`40.0`).
fn int(value: Option<&Value>) -> Option<i64> {
    let whole = |float: f64| (float.fract() == 0.0 && float.abs() < 9.0e15).then_some(float as i64);
    match value? {
        Value::Number(number) => number.as_i64().or_else(|| number.as_f64().and_then(whole)),
        Value::String(text) => {
            let text = text.trim();
            text.parse().ok().or_else(|| text.parse::<f64>().ok().and_then(whole))
        }
        _ => None,
    }
}

fn string_at(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(text).filter(|text| !text.is_empty())
}

fn metadata_number_id(value: &Value) -> Option<String> {
    value.get("metadata").and_then(|metadata| string_at(metadata, "phone_number_id"))
}

fn read_change(field: &str, value: &Value, waba_id: Option<&str>, events: &mut Vec<NumberEvent>) {
    match field {
        "account_update" => read_account_update(value, waba_id, events),
        "phone_number_quality_update" => read_quality_update(value, waba_id, events),
        "phone_number_name_update" => read_name_update(value, waba_id, events),
        "smb_app_state_sync" => read_state_sync(value, events),
        "history" => read_history(value, events),
        _ => {}
    }
}

fn read_account_update(value: &Value, waba_id: Option<&str>, events: &mut Vec<NumberEvent>) {
    let event = value.get("event").and_then(Value::as_str).unwrap_or("");
    if event == "DISABLED_UPDATE" {
        read_ban(value, waba_id, events);
        return;
    }
    // Either way this app no longer reaches the WABA: the business removed the partner, or
    // uninstalled the partner's app (`waba_info` names the WABA in both).
    if event != "PARTNER_REMOVED" && event != "PARTNER_APP_UNINSTALLED" {
        return;
    }
    let waba_id = value
        .get("waba_info")
        .and_then(|info| string_at(info, "waba_id"))
        .or_else(|| waba_id.map(str::to_owned));
    let number = string_at(value, "phone_number").map(|display| NumberKey::DisplayDigits(only_digits(&display)));
    let reason = value
        .get("disconnection_info")
        .and_then(|info| string_at(info, "reason"))
        .or_else(|| (event == "PARTNER_APP_UNINSTALLED").then(|| event.to_owned()));
    events.push(NumberEvent::Offboarded { waba_id, number, reason });
}

/// `ban_info.waba_ban_state` is `DISABLE`, `REINSTATE` or `SCHEDULE_FOR_DISABLE` (a string, or a
/// list of one in some payloads).
fn read_ban(value: &Value, waba_id: Option<&str>, events: &mut Vec<NumberEvent>) {
    let Some(waba_id) = waba_id.filter(|id| !id.is_empty()) else { return };
    let state = value.get("ban_info").and_then(|info| info.get("waba_ban_state"));
    let state = match state {
        Some(Value::Array(states)) => states.first().and_then(Value::as_str),
        Some(other) => other.as_str(),
        None => None,
    };
    let banned = match state {
        Some("DISABLE") => true,
        Some("REINSTATE") => false,
        _ => return,
    };
    events.push(NumberEvent::WabaBan { waba_id: waba_id.to_owned(), banned });
}

fn read_quality_update(value: &Value, waba_id: Option<&str>, events: &mut Vec<NumberEvent>) {
    let Some(display) = string_at(value, "display_phone_number") else { return };
    // The quality event's own words, not a number status: FLAGGED flags it, UNFLAGGED connects it again.
    let status = value.get("event").and_then(Value::as_str).and_then(|event| QualityEvent::parse(event).number_status());
    // Since 2025-10 the limit is per business portfolio; older payloads name it `current_limit`.
    let messaging_limit = string_at(value, "max_daily_conversations_per_business")
        .or_else(|| string_at(value, "current_limit"))
        .or_else(|| string_at(value, "messaging_limit_tier"))
        .map(MessagingLimit::from);
    events.push(NumberEvent::Quality {
        waba_id: waba_id.map(str::to_owned),
        number: NumberKey::DisplayDigits(only_digits(&display)),
        quality_rating: string_at(value, "quality_rating").map(QualityRating::from),
        messaging_limit,
        status,
    });
}

fn read_name_update(value: &Value, waba_id: Option<&str>, events: &mut Vec<NumberEvent>) {
    let Some(display) = string_at(value, "display_phone_number") else { return };
    let decision = NameDecision::parse(value.get("decision").and_then(Value::as_str).unwrap_or(""));
    if !matches!(decision, NameDecision::Approved | NameDecision::Rejected) {
        return;
    }
    events.push(NumberEvent::NameReviewed {
        waba_id: waba_id.map(str::to_owned),
        number: NumberKey::DisplayDigits(only_digits(&display)),
        approved: decision == NameDecision::Approved,
        name: string_at(value, "requested_verified_name"),
    });
}

fn read_state_sync(value: &Value, events: &mut Vec<NumberEvent>) {
    let Some(phone_number_id) = metadata_number_id(value) else { return };
    let Some(items) = value.get("state_sync").and_then(Value::as_array) else { return };
    let changes: Vec<ContactChange> = items
        .iter()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("contact"))
        .filter_map(|item| {
            let contact = item.get("contact")?;
            let phone = only_digits(&string_at(contact, "phone_number")?);
            if phone.is_empty() {
                return None;
            }
            match item.get("action").and_then(Value::as_str) {
                Some("remove") => Some(ContactChange::Removed { phone }),
                _ => {
                    let full_name = string_at(contact, "full_name")
                        .or_else(|| string_at(contact, "first_name"))
                        .unwrap_or_default();
                    Some(ContactChange::Added { phone, full_name })
                }
            }
        })
        .collect();
    events.push(NumberEvent::Contacts { phone_number_id, changes });
}

fn read_history(value: &Value, events: &mut Vec<NumberEvent>) {
    let Some(phone_number_id) = metadata_number_id(value) else { return };
    let Some(items) = value.get("history").and_then(Value::as_array) else { return };
    for item in items {
        if let Some(errors) = item.get("errors").and_then(Value::as_array) {
            let declined = errors.iter().any(|error| int(error.get("code")) == Some(HISTORY_DECLINED_CODE));
            if declined {
                events.push(NumberEvent::HistoryDeclined { phone_number_id: phone_number_id.clone() });
            } else {
                let reason = errors
                    .first()
                    .and_then(|error| string_at(error, "message").or_else(|| string_at(error, "title")))
                    .unwrap_or_else(|| "unknown error".to_owned());
                events.push(NumberEvent::HistoryFailed { phone_number_id: phone_number_id.clone(), reason });
            }
            continue;
        }
        let metadata = item.get("metadata").unwrap_or(&Value::Null);
        let messages: usize = item
            .get("threads")
            .and_then(Value::as_array)
            .map(|threads| {
                threads
                    .iter()
                    .map(|thread| thread.get("messages").and_then(Value::as_array).map_or(0, Vec::len))
                    .sum()
            })
            .unwrap_or(0);
        events.push(NumberEvent::HistoryChunk {
            phone_number_id: phone_number_id.clone(),
            phase: int(metadata.get("phase")).unwrap_or(0),
            progress: int(metadata.get("progress")).unwrap_or(0),
            messages: i64::try_from(messages).unwrap_or(i64::MAX),
        });
    }
}

/// The message events in a Meta payload: `messages` (messages and statuses, with the senders in
/// `contacts[]`) and `smb_message_echoes` (what the business sent from its phone app). A payload
/// that is not a Meta webhook has none.
pub fn parse_messages(payload: &Value) -> Vec<MessageEvent> {
    let mut events = Vec::new();
    for entry in payload.get("entry").and_then(Value::as_array).into_iter().flatten() {
        let waba_id = entry.get("id").and_then(text);
        for change in entry.get("changes").and_then(Value::as_array).into_iter().flatten() {
            let value = change.get("value").unwrap_or(&Value::Null);
            let Some(phone_number_id) = metadata_number_id(value) else { continue };
            let number = NumberKey::Id(phone_number_id);
            match change.get("field").and_then(Value::as_str).unwrap_or("") {
                "messages" => read_messages(value, waba_id.as_deref(), &number, &mut events),
                "smb_message_echoes" => read_echoes(value, waba_id.as_deref(), &number, &mut events),
                _ => {}
            }
        }
    }
    events
}

/// The customer who sent `message`: its `from` / `from_user_id`, completed (and named) by the
/// entry of `contacts[]` that matches either id, or by the only entry when there is one.
fn sender_of(message: &Value, contacts: &[Value]) -> Customer {
    let wa_id = string_at(message, "from");
    let user_id = string_at(message, "from_user_id");
    let matches = |contact: &&Value| {
        let contact_wa_id = string_at(contact, "wa_id");
        let contact_user_id = string_at(contact, "user_id");
        (wa_id.is_some() && contact_wa_id == wa_id) || (user_id.is_some() && contact_user_id == user_id)
    };
    let contact = contacts.iter().find(matches).or_else(|| (contacts.len() == 1).then(|| &contacts[0]));
    Customer {
        wa_id: wa_id.or_else(|| contact.and_then(|contact| string_at(contact, "wa_id"))),
        user_id: user_id.or_else(|| contact.and_then(|contact| string_at(contact, "user_id"))),
        name: contact.and_then(|contact| contact.get("profile")).and_then(|profile| string_at(profile, "name")),
    }
}

fn read_messages(value: &Value, waba_id: Option<&str>, number: &NumberKey, events: &mut Vec<MessageEvent>) {
    let contacts = value.get("contacts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for message in value.get("messages").and_then(Value::as_array).into_iter().flatten() {
        let Some(wamid) = string_at(message, "id") else { continue };
        events.push(MessageEvent::Message(MessageIn {
            waba_id: waba_id.map(str::to_owned),
            number: number.clone(),
            customer: sender_of(message, contacts),
            wamid,
            direction: MessageDirection::Inbound,
            origin: MessageOrigin::Customer,
            timestamp: content::unix_seconds_ms(message.get("timestamp")).unwrap_or_else(crate::db::now_millis),
            content: content::read(message),
        }));
    }
    for status in value.get("statuses").and_then(Value::as_array).into_iter().flatten() {
        let (Some(wamid), Some(state)) = (string_at(status, "id"), string_at(status, "status")) else { continue };
        events.push(MessageEvent::Status(StatusIn {
            waba_id: waba_id.map(str::to_owned),
            number: number.clone(),
            wamid,
            status: MessageStatus::parse(&state),
            error: content::first_error(status.get("errors")),
            timestamp: content::unix_seconds_ms(status.get("timestamp")).unwrap_or_else(crate::db::now_millis),
        }));
    }
}

/// Coexistence echoes: `message_echoes[]{from (the business), to (the customer), to_user_id?, id, timestamp, type, ...}`.
fn read_echoes(value: &Value, waba_id: Option<&str>, number: &NumberKey, events: &mut Vec<MessageEvent>) {
    for echo in value.get("message_echoes").and_then(Value::as_array).into_iter().flatten() {
        let Some(wamid) = string_at(echo, "id") else { continue };
        events.push(MessageEvent::Message(MessageIn {
            waba_id: waba_id.map(str::to_owned),
            number: number.clone(),
            customer: Customer { wa_id: string_at(echo, "to"), user_id: string_at(echo, "to_user_id"), name: None },
            wamid,
            direction: MessageDirection::Outbound,
            origin: MessageOrigin::Phone,
            timestamp: content::unix_seconds_ms(echo.get("timestamp")).unwrap_or_else(crate::db::now_millis),
            content: content::read(echo),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(field: &str, value: Value) -> Value {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1000000000000001", "changes": [{"field": field, "value": value}]}]})
    }

    #[test]
    fn partner_removed_offboards_the_waba() {
        let payload = envelope("account_update", json!({"phone_number": "15550100", "event": "PARTNER_REMOVED",
            "waba_info": {"waba_id": "1000000000000009", "owner_business_id": "3"}, "disconnection_info": {"reason": "PRIMARY_INACTIVITY"}}));
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Offboarded {
                waba_id: Some("1000000000000009".to_owned()),
                number: Some(NumberKey::DisplayDigits("15550100".to_owned())),
                reason: Some("PRIMARY_INACTIVITY".to_owned()),
            }]
        );
    }

    #[test]
    fn an_uninstalled_partner_app_offboards_the_waba_and_other_updates_do_not() {
        let payload = envelope("account_update", json!({"event": "PARTNER_APP_UNINSTALLED",
            "waba_info": {"waba_id": "1000000000000009", "owner_business_id": "3", "partner_app_id": "4"}}));
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Offboarded {
                waba_id: Some("1000000000000009".to_owned()),
                number: None,
                reason: Some("PARTNER_APP_UNINSTALLED".to_owned()),
            }]
        );
        for event in ["PARTNER_APP_INSTALLED", "PARTNER_ADDED", "ACCOUNT_VIOLATION", "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE"] {
            let payload = envelope("account_update", json!({"event": event, "waba_info": {"waba_id": "1000000000000009"}}));
            assert_eq!(parse(&payload).unwrap(), vec![], "{event}");
        }
    }

    #[test]
    fn a_ban_and_its_lifting_change_the_waba() {
        let ban = |state: Value| envelope("account_update", json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": state, "waba_ban_date": "2026-11-25"}}));
        let banned = NumberEvent::WabaBan { waba_id: "1000000000000001".to_owned(), banned: true };
        assert_eq!(parse(&ban(json!("DISABLE"))).unwrap(), vec![banned.clone()]);
        assert_eq!(parse(&ban(json!(["DISABLE"]))).unwrap(), vec![banned]);
        assert_eq!(parse(&ban(json!("REINSTATE"))).unwrap(), vec![NumberEvent::WabaBan { waba_id: "1000000000000001".to_owned(), banned: false }]);
        assert_eq!(parse(&ban(json!("SCHEDULE_FOR_DISABLE"))).unwrap(), vec![]);
        assert_eq!(parse(&ban(json!(null))).unwrap(), vec![]);
    }

    #[test]
    fn history_chunks_and_the_decline_error() {
        let payload = envelope("history", json!({"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": "2000000000000001"},
            "history": [{"metadata": {"phase": 1, "chunk_order": 3, "progress": 40},
                "threads": [{"id": "15550111", "messages": [{"id": "a"}, {"id": "b"}]}, {"id": "15550112", "messages": [{"id": "c"}]}]}]}));
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::HistoryChunk { phone_number_id: "2000000000000001".to_owned(), phase: 1, progress: 40, messages: 3 }]
        );
        let declined = envelope("history", json!({"metadata": {"phone_number_id": "2000000000000001"},
            "history": [{"errors": [{"code": 2593109, "title": "History sync is turned off"}]}]}));
        assert_eq!(
            parse(&declined).unwrap(),
            vec![NumberEvent::HistoryDeclined { phone_number_id: "2000000000000001".to_owned() }]
        );
    }

    #[test]
    fn numbers_may_come_as_strings_or_whole_floats_and_text_loses_nul() {
        let payload = envelope("history", json!({"metadata": {"phone_number_id": 2000000000000001u64},
            "history": [{"metadata": {"phase": "2", "progress": 100.0}, "threads": []},
                        {"metadata": {"phase": 1.5, "progress": " 7 "}}]}));
        assert_eq!(
            parse(&payload).unwrap(),
            vec![
                NumberEvent::HistoryChunk { phone_number_id: "2000000000000001".to_owned(), phase: 2, progress: 100, messages: 0 },
                NumberEvent::HistoryChunk { phone_number_id: "2000000000000001".to_owned(), phase: 0, progress: 7, messages: 0 },
            ]
        );
        let payload = envelope("smb_app_state_sync", json!({"metadata": {"phone_number_id": "2"},
            "state_sync": [{"type": "contact", "contact": {"full_name": "A\u{0}B", "phone_number": "15550111"}, "action": "add"}]}));
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Contacts {
                phone_number_id: "2".to_owned(),
                changes: vec![ContactChange::Added { phone: "15550111".to_owned(), full_name: "AB".to_owned() }],
            }]
        );
    }

    #[test]
    fn contacts_add_and_remove() {
        let payload = envelope("smb_app_state_sync", json!({"metadata": {"phone_number_id": "2"},
            "state_sync": [
                {"type": "contact", "contact": {"full_name": "Ann Lee", "first_name": "Ann", "phone_number": "+1 555 0111"}, "action": "add"},
                {"type": "contact", "contact": {"phone_number": "15550112"}, "action": "remove"},
                {"type": "other"}]}));
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Contacts {
                phone_number_id: "2".to_owned(),
                changes: vec![
                    ContactChange::Added { phone: "15550111".to_owned(), full_name: "Ann Lee".to_owned() },
                    ContactChange::Removed { phone: "15550112".to_owned() },
                ],
            }]
        );
    }

    #[test]
    fn quality_updates_and_unrelated_fields() {
        let payload = envelope("phone_number_quality_update", json!({"display_phone_number": "15550100",
            "event": "FLAGGED", "current_limit": "TIER_1K", "max_daily_conversations_per_business": "TIER_2K"}));
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Quality {
                waba_id: Some("1000000000000001".to_owned()),
                number: NumberKey::DisplayDigits("15550100".to_owned()),
                quality_rating: None,
                messaging_limit: Some(MessagingLimit::Tier2K),
                status: Some(api_types::NumberStatus::Flagged),
            }]
        );
        assert_eq!(parse(&envelope("messages", json!({"messages": []}))).unwrap(), vec![]);
        assert!(parse(&json!({"hello": 1})).is_err());
    }

    fn messages_value(value: Value) -> Value {
        let mut value = value;
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] = json!({"display_phone_number": "15550100", "phone_number_id": "2000000000000001"});
        value
    }

    #[test]
    fn messages_name_their_sender_from_contacts_by_either_id() {
        let payload = envelope("messages", messages_value(json!({
            "contacts": [{"profile": {"name": "Zoë"}, "wa_id": "15550111", "user_id": "US.7"}, {"profile": {"name": "Other"}, "user_id": "US.9"}],
            "messages": [
                {"from": "15550111", "id": "wamid.1", "timestamp": "1700000000", "type": "text", "text": {"body": "hi"}},
                {"from_user_id": "US.9", "id": "wamid.2", "timestamp": "1700000001", "type": "holiday", "holiday": {}},
            ]})));
        let events = parse_messages(&payload);
        assert_eq!(parse(&payload).unwrap(), vec![]);
        let [MessageEvent::Message(first), MessageEvent::Message(second)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(first.customer, Customer { wa_id: Some("15550111".to_owned()), user_id: Some("US.7".to_owned()), name: Some("Zoë".to_owned()) });
        assert_eq!((first.timestamp, first.content.text.as_deref()), (1_700_000_000_000, Some("hi")));
        assert_eq!(first.waba_id.as_deref(), Some("1000000000000001"));
        assert_eq!(second.customer, Customer { wa_id: None, user_id: Some("US.9".to_owned()), name: Some("Other".to_owned()) });
        assert_eq!(second.content.kind, api_types::MessageType::Unsupported);
    }

    #[test]
    fn statuses_keep_their_errors_and_echoes_are_outbound_from_the_phone() {
        let payload = envelope("messages", messages_value(json!({"statuses": [{"id": "wamid.9", "status": "failed",
            "timestamp": "1700000005", "recipient_id": "15550111", "errors": [{"code": 131047, "title": "Re-engagement message",
            "message": "Re-engagement message", "error_data": {"details": "More than 24 hours have passed"}}]}]})));
        let events = parse_messages(&payload);
        let [MessageEvent::Status(status)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(status.status, MessageStatus::Failed);
        let error = status.error.clone().unwrap();
        assert_eq!((error.code.as_deref(), error.details.as_deref()), (Some("131047"), Some("More than 24 hours have passed")));
        let echo = envelope("smb_message_echoes", messages_value(json!({"message_echoes": [{"from": "15550100", "to": "15550111",
            "id": "wamid.E", "timestamp": "1700000009", "type": "text", "text": {"body": "from the phone"}}]})));
        let events = parse_messages(&echo);
        let [MessageEvent::Message(echo)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!((echo.direction.clone(), echo.origin.clone()), (MessageDirection::Outbound, MessageOrigin::Phone));
        assert_eq!(echo.customer.wa_id.as_deref(), Some("15550111"));
    }
}
