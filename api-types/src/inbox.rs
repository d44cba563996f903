//! The team inbox's API: conversations and their messages (issue 9 "The API"). POST with a JSON
//! body, seed 003's envelope; these paths and field names are fixed.

use serde::{Deserialize, Serialize};

use crate::domain::{ConversationState, MessageDirection, MessageOrigin, MessageStatus, MessageType};

/// Which conversations `conversations/list` returns, by assignee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ConversationFilter {
    /// Assigned to the caller.
    Mine,
    /// Assigned to nobody.
    Unassigned,
    #[default]
    All,
}

/// `POST /intwa-api/inbox/conversations/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConversationListRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<ConversationFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ConversationState>,
    /// Part of the customer's name, number or user id, or of a message's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `nextCursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// 1 to 200; 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// The customer of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InboxCustomer {
    /// Their WhatsApp id (phone number digits), when known.
    pub wa_id: Option<String>,
    /// Their business-scoped user id, when known.
    pub user_id: Option<String>,
    /// Their WhatsApp profile name (may be empty).
    pub name: String,
}

/// One conversation: a business number and a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConversationSummary {
    pub id: String,
    pub phone_number_id: String,
    pub customer: InboxCustomer,
    pub state: ConversationState,
    pub assignee_user_id: Option<String>,
    pub unread_count: u64,
    /// Unix milliseconds.
    pub last_message_at: i64,
    /// When the account first heard from this customer (Unix milliseconds).
    #[serde(default)]
    pub first_contact_at: i64,
    /// The newest message, for the list's preview line; absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<MessagePreview>,
}

/// What the conversation list shows of a conversation's newest message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessagePreview {
    pub direction: MessageDirection,
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Its text, caption or file name, at most [`PREVIEW_CHARS`] characters. Always text, never markup.
    pub text: Option<String>,
    /// Outbound messages only.
    pub status: Option<MessageStatus>,
}

/// At most this many characters of a message in [`MessagePreview::text`].
pub const PREVIEW_CHARS: usize = 120;

/// A page of conversations, newest activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConversationPage {
    pub items: Vec<ConversationSummary>,
    /// Send as `cursor` for the next page; `null` on the last one.
    pub next_cursor: Option<String>,
}

/// `POST /intwa-api/inbox/messages/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageListRequest {
    pub conversation_id: String,
    /// `nextCursor` of the previous page: messages older than those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// 1 to 200; 50 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A message's media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageMedia {
    /// Our id of the stored file: `GET /intwa-api/inbox/media/{id}` serves it. `null` while an
    /// inbound file is still being downloaded, or when it could not be had.
    #[serde(default)]
    pub id: Option<String>,
    /// The file's size in bytes, once stored.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// As the sender named it (documents).
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub caption: Option<String>,
    /// False when WhatsApp reported the media could not be had ("media unavailable").
    pub available: bool,
}

/// Why a message failed (or what was wrong with one received).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageErrorInfo {
    pub code: Option<String>,
    pub title: Option<String>,
    pub details: Option<String>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageItem {
    pub id: String,
    /// WhatsApp's id; empty for an outbound message the upstream has not accepted yet.
    pub wamid: String,
    /// The conversation it belongs to.
    #[serde(default)]
    pub conversation_id: String,
    /// The id the sender gave `messages/send` (outbound messages sent through wadesk).
    #[serde(default)]
    pub client_message_id: Option<String>,
    pub direction: MessageDirection,
    pub origin: MessageOrigin,
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The text shown (body, caption, a reply's title, a flow's answers as sent). Always text, never markup.
    pub text: Option<String>,
    pub media: Option<MessageMedia>,
    /// Outbound messages only.
    pub status: Option<MessageStatus>,
    pub error: Option<MessageErrorInfo>,
    /// The customer's reaction to this message, when they reacted.
    pub customer_reaction: Option<String>,
    /// The business's reaction (from its phone), when it reacted.
    pub business_reaction: Option<String>,
    /// The wamid this message replies to.
    pub reply_to_wamid: Option<String>,
    /// Unix milliseconds.
    pub timestamp: i64,
    /// A `location` message's place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationCard>,
    /// A `contacts` message's cards.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactCard>,
}

/// Degrees of latitude or longitude, as WhatsApp sends them. Never NaN (JSON has none), so
/// equality is total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Degrees(pub f64);

impl Eq for Degrees {}

/// The place a customer shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LocationCard {
    pub latitude: Degrees,
    pub longitude: Degrees,
    pub name: Option<String>,
    pub address: Option<String>,
}

impl LocationCard {
    /// Whether the coordinates are a place on Earth (what a map link may be made of).
    pub fn is_on_earth(&self) -> bool {
        self.latitude.0.is_finite() && self.longitude.0.is_finite() && self.latitude.0.abs() <= 90.0 && self.longitude.0.abs() <= 180.0
    }
}

/// One contact card a customer shared: a name and its numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContactCard {
    pub name: String,
    #[serde(default)]
    pub phones: Vec<ContactPhone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ContactPhone {
    /// As written on the card (`+86 138 0000 0000`).
    pub phone: String,
    /// The WhatsApp id, when the number is on WhatsApp.
    pub wa_id: Option<String>,
    /// `CELL`, `HOME`, `WORK`... as the card says.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// A page of messages, oldest first within the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessagePage {
    pub items: Vec<MessageItem>,
    /// Send as `before` for the older page; `null` when there is none.
    pub next_cursor: Option<String>,
}

/// `POST /intwa-api/inbox/messages/send`: text or media to the conversation's customer.
///
/// `clientMessageId` is chosen by the sender (a UUID): sending again with the same id returns the
/// message already made and never sends twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SendMessageRequest {
    pub conversation_id: String,
    pub client_message_id: String,
    /// `text`, `image`, `video`, `audio`, `document` or `sticker`.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// The text (`text`), or the caption (image, video, document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// From `media/upload` (media types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
}

/// `POST /intwa-api/inbox/messages/retry`: send a failed message again (the same message, a new try).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MessageRef {
    pub message_id: String,
}

/// What `POST /intwa-api/inbox/conversations/typing` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TypingShown {
    /// False when the customer was shown it less than 20 seconds ago (it lasts about 25 s), or
    /// when they have written nothing to answer yet: nothing was sent, and nothing needs to be.
    pub sent: bool,
}

/// `POST /intwa-api/inbox/media/upload` (multipart, one part named `file`): the stored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MediaUploaded {
    pub media_id: String,
    pub mime_type: String,
    pub file_name: Option<String>,
    pub size_bytes: u64,
}

/// `POST /intwa-api/inbox/conversations/assign`: `userId` null unassigns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AssignRequest {
    pub conversation_id: String,
    pub user_id: Option<String>,
}

/// `POST /intwa-api/inbox/conversations/resolve`, `/reopen`, `/markRead`, `/typing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConversationRef {
    pub conversation_id: String,
}

/// What changed, in one event of `GET /intwa-api/inbox/events` (server-sent events: the SSE
/// `id` is [`InboxEvent::id`], the SSE `event` name is the `kind`, `data` is the whole event as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum InboxEventData {
    /// A message appeared or changed (status, reaction, media downloaded): the whole message as it is now.
    #[serde(rename_all = "camelCase")]
    Message { conversation_id: String, message: MessageItem },
    /// A conversation appeared or changed (last activity, unread count, assignee, state).
    #[serde(rename_all = "camelCase")]
    Conversation { conversation: ConversationSummary },
    /// A number's status, quality or limit changed (what the Numbers page shows).
    #[serde(rename_all = "camelCase")]
    Number { number: crate::whatsapp::NumberDetails },
    /// A number was removed from the account.
    #[serde(rename_all = "camelCase")]
    NumberRemoved { phone_number_id: String },
    /// A conversation is gone: its customer turned out to be the customer of `mergedInto` (a
    /// message named both their ids), and its messages moved there.
    #[serde(rename_all = "camelCase")]
    ConversationRemoved { conversation_id: String, merged_into: String },
    /// The events since the `Last-Event-ID` the client sent are no longer kept (or never
    /// existed): reload every list, then go on from this event's id. Never stored.
    Reset,
    /// A kind this version does not know (sent by a newer server): ignored by readers.
    #[serde(other)]
    Unknown,
}

/// One event of the inbox stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InboxEvent {
    /// Increasing within an account; send the last one seen as `Last-Event-ID` to resume.
    pub id: String,
    #[serde(flatten)]
    pub data: InboxEventData,
}

impl InboxEventData {
    /// The SSE `event` name of this kind.
    pub fn name(&self) -> &'static str {
        match self {
            InboxEventData::Message { .. } => "message",
            InboxEventData::Conversation { .. } => "conversation",
            InboxEventData::Number { .. } => "number",
            InboxEventData::NumberRemoved { .. } => "numberRemoved",
            InboxEventData::ConversationRemoved { .. } => "conversationRemoved",
            InboxEventData::Reset => "reset",
            InboxEventData::Unknown => "unknown",
        }
    }
}

/// WhatsApp's limits on what the business sends, checked by the SPA before upload and by the
/// server again (whatsapp-facts: "Sending").
pub mod send_limits {
    use crate::domain::MessageType;

    /// A text message's body, in characters (Unicode scalar values).
    pub const MAX_TEXT_CHARS: usize = 4_096;
    /// A media message's caption, in characters.
    pub const MAX_CAPTION_CHARS: usize = 1_024;

    /// The MIME types WhatsApp takes for `kind`, and the largest file in bytes; `None` for a
    /// type that is not media. Stickers: 500 KB (animated; static ones are 100 KB).
    pub fn media_limit(kind: &MessageType) -> Option<(&'static [&'static str], u64)> {
        const MB: u64 = 1024 * 1024;
        match kind {
            MessageType::Image => Some((&["image/jpeg", "image/png"], 5 * MB)),
            MessageType::Video => Some((&["video/mp4", "video/3gpp"], 16 * MB)),
            MessageType::Audio => Some((
                &["audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"],
                16 * MB,
            )),
            MessageType::Document => Some((&[], 100 * MB)),
            MessageType::Sticker => Some((&["image/webp"], 500 * 1024)),
            _ => None,
        }
    }

    /// Why WhatsApp would refuse a `kind` file of `mime_type` and `size_bytes`; `None` when it is
    /// fine. Documents take any type. The MIME type is compared without parameters (`; codecs=opus`).
    pub fn media_problem(kind: &MessageType, mime_type: &str, size_bytes: u64) -> Option<MediaProblem> {
        let (types, max) = media_limit(kind)?;
        let bare = mime_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !types.is_empty() && !types.contains(&bare.as_str()) {
            return Some(MediaProblem::WrongType { allowed: types });
        }
        if size_bytes > max {
            return Some(MediaProblem::TooLarge { max_bytes: max });
        }
        if size_bytes == 0 {
            return Some(MediaProblem::Empty);
        }
        None
    }

    /// The message type a file of `mime_type` is sent as: image, video, audio or sticker by its
    /// type, anything else a document.
    pub fn kind_for_mime(mime_type: &str) -> MessageType {
        let bare = mime_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        for kind in [MessageType::Image, MessageType::Video, MessageType::Audio, MessageType::Sticker] {
            if media_limit(&kind).is_some_and(|(types, _)| types.contains(&bare.as_str())) {
                return kind;
            }
        }
        MessageType::Document
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum MediaProblem {
        WrongType { allowed: &'static [&'static str] },
        TooLarge { max_bytes: u64 },
        Empty,
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn limits_follow_whatsapp() {
            assert_eq!(media_problem(&MessageType::Image, "image/jpeg", 5 * 1024 * 1024), None);
            assert_eq!(media_problem(&MessageType::Image, "image/jpeg", 5 * 1024 * 1024 + 1), Some(MediaProblem::TooLarge { max_bytes: 5 * 1024 * 1024 }));
            assert!(matches!(media_problem(&MessageType::Image, "image/gif", 10), Some(MediaProblem::WrongType { .. })));
            assert_eq!(media_problem(&MessageType::Audio, "audio/ogg; codecs=opus", 10), None);
            assert_eq!(media_problem(&MessageType::Document, "application/x-anything", 10), None);
            assert_eq!(media_problem(&MessageType::Document, "application/pdf", 0), Some(MediaProblem::Empty));
            assert_eq!(kind_for_mime("image/webp"), MessageType::Sticker);
            assert_eq!(kind_for_mime("image/gif"), MessageType::Document);
            assert_eq!(kind_for_mime("VIDEO/MP4"), MessageType::Video);
        }
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;

    #[test]
    fn events_carry_their_kind_beside_the_id_and_unknown_kinds_are_kept_readable() {
        let event = InboxEvent {
            id: "42".into(),
            data: InboxEventData::NumberRemoved { phone_number_id: "2000000000000001".into() },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json, serde_json::json!({"id": "42", "kind": "numberRemoved", "phoneNumberId": "2000000000000001"}));
        assert_eq!(serde_json::from_value::<InboxEvent>(json).unwrap(), event);
        let newer: InboxEvent = serde_json::from_str(r#"{"id": "43", "kind": "somethingNew", "x": 1}"#).unwrap();
        assert_eq!(newer.data, InboxEventData::Unknown);
        let reset = InboxEvent { id: "44".into(), data: InboxEventData::Reset };
        assert_eq!(serde_json::to_value(&reset).unwrap(), serde_json::json!({"id": "44", "kind": "reset"}));
        assert_eq!(reset.data.name(), "reset");
    }
}
