//! What the inbox asks of the upstream: send a message, upload and download media, mark a
//! customer's message read, show the typing indicator. The types here are the adapters' common
//! words; each adapter (sandbox, YCloud, Meta) maps them to its own API.

use std::fmt;

use api_types::MessageType;
use serde_json::{json, Map, Value};

use super::{Operation, UpstreamError};

/// Who a message goes to: the customer's WhatsApp id (phone digits), or their business-scoped
/// user id when that is all we know (2026).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
}

/// Media to send: by the upstream's media id (uploaded first), or by a public link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMedia {
    /// The id `upload_media` returned.
    pub upstream_media_id: Option<String>,
    pub link: Option<String>,
    pub mime_type: String,
    /// Documents: the name the customer sees.
    pub file_name: Option<String>,
    pub caption: Option<String>,
}

/// A message to a customer, as the outbox hands it to the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub to: Recipient,
    /// Text or a media type.
    pub kind: MessageType,
    /// The body of a text message.
    pub text: Option<String>,
    pub media: Option<OutgoingMedia>,
    /// The wamid this replies to (`context.message_id`).
    pub reply_to: Option<String>,
    /// Our id for the message, sent where the provider keeps one (YCloud `externalId`, Meta `biz_opaque_callback_data`).
    pub client_reference: Option<String>,
    /// The business number as stored (`+1 555-0100`, any punctuation), for a provider that names
    /// the sender by number rather than id: YCloud's `from` (sent in E.164). Without it YCloud
    /// looks the number up by id; Meta never needs it.
    pub from_display_number: Option<String>,
}

/// Why a message cannot be put in WhatsApp's words; the adapters refuse it without calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentProblem {
    /// A type the inbox does not send yet (locations, templates... come with part 2).
    UnsupportedKind(MessageType),
    MissingText,
    /// A media type without an uploaded id or a link.
    MissingMedia,
}

impl ContentProblem {
    /// The refusal `provider` answers with: final (a 400, or 501 for a type it does not send).
    pub fn refusal(&self, provider: &'static str) -> UpstreamError {
        let operation = Operation::SendMessage;
        match self {
            ContentProblem::UnsupportedKind(kind) => {
                UpstreamError::rejected(provider, operation, 501, "unsupported", format!("sending a {kind} message is not supported"))
            }
            ContentProblem::MissingText => UpstreamError::rejected(provider, operation, 400, "INVALID_MESSAGE", "the text message has no text"),
            ContentProblem::MissingMedia => {
                UpstreamError::rejected(provider, operation, 400, "INVALID_MESSAGE", "the media message names no uploaded media or link")
            }
        }
    }
}

impl OutgoingMessage {
    /// The object named by the message's type, as the Cloud API spells it and YCloud relays it:
    /// text `{body, preview_url}`; media `{id}` (preferred) or `{link}`, with `caption` for images,
    /// videos and documents and `filename` for documents only (WhatsApp refuses them elsewhere).
    /// A link preview is asked for when the text holds a web address, as WhatsApp Web does.
    pub fn whatsapp_content(&self) -> Result<Value, ContentProblem> {
        if self.kind == MessageType::Text {
            let body = self.text.as_deref().filter(|text| !text.is_empty()).ok_or(ContentProblem::MissingText)?;
            let preview_url = body.contains("https://") || body.contains("http://");
            return Ok(json!({"body": body, "preview_url": preview_url}));
        }
        if !self.kind.is_media() {
            return Err(ContentProblem::UnsupportedKind(self.kind.clone()));
        }
        let media = self.media.as_ref().ok_or(ContentProblem::MissingMedia)?;
        let mut object = Map::new();
        match (&media.upstream_media_id, &media.link) {
            (Some(id), _) => object.insert("id".to_owned(), json!(id)),
            (None, Some(link)) => object.insert("link".to_owned(), json!(link)),
            (None, None) => return Err(ContentProblem::MissingMedia),
        };
        let takes_caption = matches!(self.kind, MessageType::Image | MessageType::Video | MessageType::Document);
        if let Some(caption) = media.caption.as_ref().filter(|caption| takes_caption && !caption.is_empty()) {
            object.insert("caption".to_owned(), json!(caption));
        }
        if let Some(file_name) = media.file_name.as_ref().filter(|name| self.kind == MessageType::Document && !name.is_empty()) {
            object.insert("filename".to_owned(), json!(file_name));
        }
        Ok(Value::Object(object))
    }
}

/// What the upstream answered a send with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// WhatsApp's message id (`wamid.…`): statuses name it.
    pub wamid: String,
}

/// A file's bytes and what they are.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub bytes: bytes::Bytes,
    pub mime_type: String,
    pub file_name: Option<String>,
}

impl fmt::Debug for MediaFile {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("MediaFile")
            .field("bytes", &self.bytes.len())
            .field("mime_type", &self.mime_type)
            .field("file_name", &self.file_name)
            .finish()
    }
}

/// Media a webhook named: Meta gives an id to look up, YCloud a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSource {
    pub upstream_media_id: Option<String>,
    pub link: Option<String>,
    /// The type the webhook said, used when the download does not say.
    pub mime_type: Option<String>,
    /// The checksum the webhook gave (`sha256`, base64 or hex), checked against the bytes.
    pub sha256: Option<String>,
}
