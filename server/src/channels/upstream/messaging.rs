//! What the inbox asks of the upstream: send a message, upload and download media, mark a
//! customer's message read, show the typing indicator. The types here are the adapters' common
//! words; each adapter (sandbox, YCloud, Meta) maps them to its own API.

use std::fmt;

use api_types::MessageType;

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
}
