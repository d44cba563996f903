//! Typed calls of the team inbox (`/intwa-api/inbox/...`, issue 9 "The API").

use api_types::{
    AssignRequest, ConversationListRequest, ConversationPage, ConversationRef, ConversationSummary, MediaUploaded,
    MessageItem, MessageListRequest, MessagePage, SendMessageRequest,
};
use serde::{Deserialize, Serialize};

use super::{ApiClient, ApiError};

/// A page of conversations, newest activity first.
pub async fn list_conversations(api: ApiClient, request: &ConversationListRequest) -> Result<ConversationPage, ApiError> {
    api.post("/inbox/conversations/list", request).await
}

/// A page of a conversation's messages (oldest first within the page); `before` pages back.
pub async fn list_messages(api: ApiClient, request: &MessageListRequest) -> Result<MessagePage, ApiError> {
    api.post("/inbox/messages/list", request).await
}

/// Send text or uploaded media; the same `clientMessageId` again never sends twice.
pub async fn send_message(api: ApiClient, request: &SendMessageRequest) -> Result<MessageItem, ApiError> {
    api.post("/inbox/messages/send", request).await
}

/// `POST /intwa-api/inbox/messages/retry`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryRequest {
    pub message_id: String,
}

/// Send a failed message again.
pub async fn retry_message(api: ApiClient, message_id: &str) -> Result<MessageItem, ApiError> {
    api.post("/inbox/messages/retry", &RetryRequest { message_id: message_id.to_owned() }).await
}

/// Upload a file (multipart, part `file`) to send it as media afterwards.
pub async fn upload_media(api: ApiClient, file: &web_sys::File) -> Result<MediaUploaded, ApiError> {
    let form = web_sys::FormData::new().map_err(|_| ApiError::Network("FormData is not available".into()))?;
    form.append_with_blob_and_filename("file", file, &file.name())
        .map_err(|_| ApiError::Network("the file could not be read".into()))?;
    api.post_form("/inbox/media/upload", form).await
}

/// Where the browser loads a stored media file (`GET`, with the session cookie).
pub fn media_url(api: ApiClient, media_id: &str) -> String {
    api.url(&format!("/inbox/media/{}", js_sys::encode_uri_component(media_id)))
}

/// Assign the conversation to `user_id`, or to nobody with `None`.
pub async fn assign(api: ApiClient, conversation_id: &str, user_id: Option<String>) -> Result<Option<ConversationSummary>, ApiError> {
    let request = AssignRequest { conversation_id: conversation_id.to_owned(), user_id };
    changed_conversation(api.post("/inbox/conversations/assign", &request).await?)
}

pub async fn resolve(api: ApiClient, conversation_id: &str) -> Result<Option<ConversationSummary>, ApiError> {
    changed_conversation(api.post("/inbox/conversations/resolve", &conversation_ref(conversation_id)).await?)
}

pub async fn reopen(api: ApiClient, conversation_id: &str) -> Result<Option<ConversationSummary>, ApiError> {
    changed_conversation(api.post("/inbox/conversations/reopen", &conversation_ref(conversation_id)).await?)
}

/// The agent has seen the conversation: its unread count clears and the customer's phone shows
/// blue ticks.
pub async fn mark_read(api: ApiClient, conversation_id: &str) -> Result<(), ApiError> {
    api.post::<_, serde::de::IgnoredAny>("/inbox/conversations/markRead", &conversation_ref(conversation_id)).await.map(|_| ())
}

/// The agent is typing: the customer sees the typing indicator.
pub async fn typing(api: ApiClient, conversation_id: &str) -> Result<(), ApiError> {
    api.post::<_, serde::de::IgnoredAny>("/inbox/conversations/typing", &conversation_ref(conversation_id)).await.map(|_| ())
}

fn conversation_ref(conversation_id: &str) -> ConversationRef {
    ConversationRef { conversation_id: conversation_id.to_owned() }
}

/// The contract does not fix what assign, resolve and reopen answer (the change reaches every
/// screen as a `conversation` event): the conversation when the answer is one, else nothing.
fn changed_conversation(data: serde_json::Value) -> Result<Option<ConversationSummary>, ApiError> {
    Ok(serde_json::from_value(data).ok())
}
