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
}

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
    pub wamid: String,
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
