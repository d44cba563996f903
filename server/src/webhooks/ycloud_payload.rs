//! YCloud's webhook events, `{id, type, apiVersion, createTime, whatsappPhoneNumber | whatsappBusinessAccount}`,
//! read into [`NumberEvent`]s. YCloud sends the whole number as it now is, so its fields are applied as a snapshot.

use serde_json::Value;

use api_types::{MessagingLimit, NameDecision, NumberStatus, QualityRating};

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
}
