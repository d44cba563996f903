//! YCloud's webhook events, `{id, type, apiVersion, createTime, whatsappPhoneNumber | whatsappBusinessAccount}`,
//! read into [`NumberEvent`]s. YCloud sends the whole number as it now is, so its fields are applied as a snapshot.

use serde_json::Value;

use api_types::validation::only_digits;
use api_types::{MessageDirection, MessageOrigin, MessageStatus, MessagingLimit, NameDecision, NumberStatus, QualityRating};

use crate::inbox::{content, Customer, MessageError, MessageEvent, MessageIn, StatusIn};
use crate::webhooks::events::{storable_text, NumberEvent, NumberKey};

/// A non-empty string field (or a number sent in its place), as text the store can keep.
fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(text) => Some(storable_text(text)),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
    .filter(|text| !text.is_empty())
}

pub fn parse(payload: &Value) -> Result<Vec<NumberEvent>, String> {
    let kind = payload
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| "no type: not a YCloud event".to_owned())?;
    let mut events = Vec::new();
    match kind {
        "whatsapp.phone_number.quality_updated" | "whatsapp.phone_number.name_updated" | "whatsapp.phone_number.deleted" => {
            let Some(number) = payload.get("whatsappPhoneNumber") else { return Ok(events) };
            let Some(id) = text(number, "id") else { return Ok(events) };
            let key = NumberKey::Id(id);
            if kind == "whatsapp.phone_number.deleted" || text(number, "updateEvent").as_deref() == Some("ACCOUNT_OFFBOARDED") {
                events.push(NumberEvent::Offboarded { waba_id: text(number, "wabaId"), number: Some(key), reason: text(number, "updateEvent") });
                return Ok(events);
            }
            if kind == "whatsapp.phone_number.name_updated" {
                if let Some(decision) = text(number, "decision").map(NameDecision::from) {
                    if matches!(decision, NameDecision::Approved | NameDecision::Rejected) {
                        events.push(NumberEvent::NameReviewed {
                            waba_id: text(number, "wabaId"),
                            number: key.clone(),
                            approved: decision == NameDecision::Approved,
                            name: text(number, "requestedVerifiedName")
                                .or_else(|| text(number, "newName"))
                                .or_else(|| text(number, "verifiedName")),
                        });
                    }
                }
            }
            events.push(NumberEvent::Quality {
                waba_id: text(number, "wabaId"),
                number: key,
                quality_rating: text(number, "qualityRating").map(QualityRating::from),
                messaging_limit: text(number, "whatsappBusinessManagerMessagingLimit")
                    .or_else(|| text(number, "messagingLimit"))
                    .map(MessagingLimit::from),
                status: text(number, "status").map(NumberStatus::from),
            });
        }
        "whatsapp.business_account.deleted" | "whatsapp.business_account.updated" => {
            let Some(waba) = payload.get("whatsappBusinessAccount") else { return Ok(events) };
            if let (Some(waba_id), Some("DISABLED_UPDATE")) = (text(waba, "id"), text(waba, "updateEvent").as_deref()) {
                match text(waba, "banState").as_deref() {
                    Some("DISABLE") => events.push(NumberEvent::WabaBan { waba_id, banned: true }),
                    Some("REINSTATE") => events.push(NumberEvent::WabaBan { waba_id, banned: false }),
                    _ => {}
                }
                return Ok(events);
            }
            let removed = kind == "whatsapp.business_account.deleted"
                || matches!(text(waba, "updateEvent").as_deref(), Some("PARTNER_REMOVED" | "PARTNER_APP_UNINSTALLED" | "ACCOUNT_OFFBOARDED"));
            if removed {
                events.push(NumberEvent::Offboarded {
                    waba_id: text(waba, "id"),
                    number: None,
                    reason: text(waba, "removedReason").or_else(|| text(waba, "updateEvent")),
                });
            }
        }
        _ => {}
    }
    Ok(events)
}

/// YCloud names the business number by its display number (`to` of an inbound message, `from`
/// of what the business sent) inside the WABA the event names.
fn business_number(message: &Value, key: &str) -> Option<NumberKey> {
    let digits = only_digits(&text(message, key)?);
    (!digits.is_empty()).then_some(NumberKey::DisplayDigits(digits))
}

/// A customer's phone number as WhatsApp's id: the E.164 digits without `+`.
fn wa_id(message: &Value, key: &str) -> Option<String> {
    text(message, key).map(|phone| only_digits(&phone)).filter(|digits| !digits.is_empty())
}

/// The message events in a YCloud event: `whatsapp.inbound_message.received` (a customer's
/// message), `whatsapp.message.updated` (a status of a message the business sent) and
/// `whatsapp.smb.message.created` (an echo of what the business sent from its phone app).
pub fn parse_messages(payload: &Value) -> Vec<MessageEvent> {
    let kind = payload.get("type").and_then(Value::as_str).unwrap_or("");
    let event_time = content::rfc3339_ms(payload.get("createTime"));
    let mut events = Vec::new();
    match kind {
        "whatsapp.inbound_message.received" => {
            let Some(message) = payload.get("whatsappInboundMessage") else { return events };
            let (Some(wamid), Some(number)) = (text(message, "wamid"), business_number(message, "to")) else { return events };
            events.push(MessageEvent::Message(MessageIn {
                waba_id: text(message, "wabaId"),
                number,
                customer: Customer {
                    wa_id: wa_id(message, "from"),
                    user_id: text(message, "fromUserId"),
                    name: message.get("customerProfile").and_then(|profile| text(profile, "name")),
                },
                wamid,
                direction: MessageDirection::Inbound,
                origin: MessageOrigin::Customer,
                timestamp: content::rfc3339_ms(message.get("sendTime")).or(event_time).unwrap_or_else(crate::db::now_millis),
                content: content::read(message),
            }));
        }
        "whatsapp.message.updated" => {
            let Some(message) = payload.get("whatsappMessage") else { return events };
            let (Some(wamid), Some(number), Some(status)) =
                (text(message, "wamid"), business_number(message, "from"), text(message, "status"))
            else {
                return events;
            };
            let api_error = message.get("whatsappApiError");
            let error = (text(message, "errorCode").is_some() || api_error.is_some()).then(|| MessageError {
                code: text(message, "errorCode").or_else(|| api_error.and_then(|error| text(error, "code"))),
                title: api_error.and_then(|error| text(error, "title")).or_else(|| text(message, "errorMessage")),
                details: api_error
                    .and_then(|error| error.get("error_data"))
                    .and_then(|data| text(data, "details"))
                    .or_else(|| text(message, "errorMessage")),
            });
            events.push(MessageEvent::Status(StatusIn {
                waba_id: text(message, "wabaId"),
                number,
                wamid,
                status: MessageStatus::parse(&status),
                error,
                timestamp: content::rfc3339_ms(message.get("updateTime")).or(event_time).unwrap_or_else(crate::db::now_millis),
            }));
        }
        "whatsapp.smb.message.created" => {
            let Some(message) = payload.get("whatsappMessage") else { return events };
            let (Some(wamid), Some(number)) = (text(message, "wamid"), business_number(message, "from")) else { return events };
            events.push(MessageEvent::Message(MessageIn {
                waba_id: text(message, "wabaId"),
                number,
                customer: Customer {
                    wa_id: wa_id(message, "to"),
                    user_id: text(message, "recipientUserId").or_else(|| text(message, "toUserId")),
                    name: message.get("customerProfile").and_then(|profile| text(profile, "name")),
                },
                wamid,
                direction: MessageDirection::Outbound,
                origin: MessageOrigin::Phone,
                timestamp: content::rfc3339_ms(message.get("createTime")).or(event_time).unwrap_or_else(crate::db::now_millis),
                content: content::read(message),
            }));
        }
        _ => {}
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn number_snapshots_become_status_quality_and_limit() {
        let payload = json!({"id": "evt_1", "type": "whatsapp.phone_number.quality_updated", "apiVersion": "v2",
            "createTime": "2026-01-01T00:00:00Z",
            "whatsappPhoneNumber": {"id": "2000000000000001", "wabaId": "1", "qualityRating": "YELLOW",
                "messagingLimit": "TIER_1K", "whatsappBusinessManagerMessagingLimit": "TIER_2K", "status": "CONNECTED"}});
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Quality {
                waba_id: Some("1".to_owned()),
                number: NumberKey::Id("2000000000000001".to_owned()),
                quality_rating: Some(QualityRating::Yellow),
                messaging_limit: Some(MessagingLimit::Tier2K),
                status: Some(NumberStatus::Connected),
            }]
        );
    }

    #[test]
    fn a_reviewed_name_reads_new_name_and_ids_sent_as_numbers() {
        let payload = json!({"id": "evt_3", "type": "whatsapp.phone_number.name_updated",
            "whatsappPhoneNumber": {"id": 2000000000000001u64, "decision": "APPROVED", "newName": "Acme\u{0} Cakes"}});
        assert_eq!(
            parse(&payload).unwrap(),
            vec![
                NumberEvent::NameReviewed {
                    waba_id: None,
                    number: NumberKey::Id("2000000000000001".to_owned()),
                    approved: true,
                    name: Some("Acme Cakes".to_owned()),
                },
                NumberEvent::Quality {
                    waba_id: None,
                    number: NumberKey::Id("2000000000000001".to_owned()),
                    quality_rating: None,
                    messaging_limit: None,
                    status: None,
                },
            ]
        );
    }

    #[test]
    fn an_uninstalled_partner_app_offboards_the_waba() {
        let payload = json!({"id": "evt_3", "type": "whatsapp.business_account.updated",
            "whatsappBusinessAccount": {"id": "1000", "updateEvent": "PARTNER_APP_UNINSTALLED"}});
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Offboarded {
                waba_id: Some("1000".to_owned()),
                number: None,
                reason: Some("PARTNER_APP_UNINSTALLED".to_owned()),
            }]
        );
        let violation = json!({"id": "evt_4", "type": "whatsapp.business_account.updated",
            "whatsappBusinessAccount": {"id": "1000", "updateEvent": "ACCOUNT_VIOLATION"}});
        assert_eq!(parse(&violation).unwrap(), vec![]);
    }

    #[test]
    fn a_ban_state_update_bans_or_reinstates_the_waba() {
        let update = |state: &str| json!({"id": "evt_5", "type": "whatsapp.business_account.updated",
            "whatsappBusinessAccount": {"id": "1000", "updateEvent": "DISABLED_UPDATE", "banState": state, "banDate": "December 9, 2026"}});
        assert_eq!(parse(&update("DISABLE")).unwrap(), vec![NumberEvent::WabaBan { waba_id: "1000".to_owned(), banned: true }]);
        assert_eq!(parse(&update("REINSTATE")).unwrap(), vec![NumberEvent::WabaBan { waba_id: "1000".to_owned(), banned: false }]);
        assert_eq!(parse(&update("SCHEDULE_FOR_DISABLE")).unwrap(), vec![]);
    }

    #[test]
    fn a_deleted_waba_offboards_its_numbers() {
        let payload = json!({"id": "evt_2", "type": "whatsapp.business_account.deleted", "whatsappBusinessAccount": {"id": "1000"}});
        assert_eq!(
            parse(&payload).unwrap(),
            vec![NumberEvent::Offboarded { waba_id: Some("1000".to_owned()), number: None, reason: None }]
        );
        assert!(parse(&json!([1, 2])).is_err());
    }

    #[test]
    fn inbound_messages_statuses_and_echoes() {
        let inbound = json!({"id": "evt_m1", "type": "whatsapp.inbound_message.received", "apiVersion": "v2",
            "createTime": "2026-01-01T00:00:01Z",
            "whatsappInboundMessage": {"id": "in_1", "wamid": "wamid.Y1", "wabaId": "1000", "from": "+16315551111",
                "fromUserId": "US.1234", "customerProfile": {"name": "Ann"}, "to": "+1 555 0100", "sendTime": "2026-01-01T00:00:00Z",
                "type": "image", "image": {"id": "img1", "link": "https://api.ycloud.com/m/img1", "mime_type": "image/jpeg", "caption": "look"}}});
        let events = parse_messages(&inbound);
        let [MessageEvent::Message(message)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(message.number, NumberKey::DisplayDigits("15550100".to_owned()));
        assert_eq!(message.customer, Customer { wa_id: Some("16315551111".to_owned()), user_id: Some("US.1234".to_owned()), name: Some("Ann".to_owned()) });
        assert_eq!(message.timestamp, 1_767_225_600_000);
        assert_eq!(message.content.media.as_ref().and_then(|media| media.link.as_deref()), Some("https://api.ycloud.com/m/img1"));
        assert_eq!(parse(&inbound).unwrap(), vec![]);

        let failed = json!({"id": "evt_m2", "type": "whatsapp.message.updated", "createTime": "2026-01-01T00:00:02Z",
            "whatsappMessage": {"id": "out_1", "wamid": "wamid.Y2", "wabaId": "1000", "from": "+15550100", "to": "+16315551111",
                "status": "failed", "errorCode": "131047", "errorMessage": "Re-engagement message"}});
        let events = parse_messages(&failed);
        let [MessageEvent::Status(status)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!(status.status, MessageStatus::Failed);
        assert_eq!(status.error.as_ref().and_then(|error| error.code.as_deref()), Some("131047"));

        let echo = json!({"id": "evt_m3", "type": "whatsapp.smb.message.created",
            "whatsappMessage": {"wamid": "wamid.Y3", "wabaId": "1000", "from": "+15550100", "to": "+16315551111", "type": "text", "text": {"body": "hi"}}});
        let events = parse_messages(&echo);
        let [MessageEvent::Message(echo)] = events.as_slice() else { panic!("{events:?}") };
        assert_eq!((echo.direction.clone(), echo.origin.clone()), (MessageDirection::Outbound, MessageOrigin::Phone));
    }
}
