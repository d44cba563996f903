//! `/intwa-api/inbox/...` for what agents do to customers: send (`messages/send`, `/retry`),
//! read receipts (`conversations/markRead`) and the typing indicator (`conversations/typing`),
//! and the media routes ([`super::media::routes`]). Every query is the caller's account's: another
//! account's conversation or message is "not found".

use api_types::{ConversationRef, ConversationSummary, Envelope, MessageItem, MessageRef, SendMessageRequest, TypingShown};
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{outbox, receipts};
use crate::auth::CurrentUser;
use crate::state::AppState;
use crate::web::error::{ok, ApiResult};
use crate::web::openapi::{NotLoggedIn, UpstreamFailures};
use crate::web::{ApiJson, ErrorEnvelope};

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message))
        .routes(routes!(retry_message))
        .routes(routes!(mark_read))
        .routes(routes!(typing))
        .merge(super::media::routes::api_routes())
}

/// Send text or media to the conversation's customer. Answers the stored message at once
/// (`pending`, `wamid` empty); the outbox sends it, and its status moves on as `message` events
/// (`sent`, `delivered`, `read`, or `failed` with the upstream's reason). The same
/// `clientMessageId` again returns the same message and never sends twice.
#[utoipa::path(
    post,
    path = "/inbox/messages/send",
    tag = "inbox",
    request_body = SendMessageRequest,
    responses(
        (status = 200, description = "The message, as stored (pending until the upstream accepts it)", body = Envelope<MessageItem>),
        (status = 400, description = "A field is invalid (code 40000, `fieldErrors`: text too long, a file WhatsApp would refuse, ...)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 404, description = "No such conversation in the caller's account (code 40400)", body = ErrorEnvelope),
        (status = 409, description = "This clientMessageId was used for another message (code 40900)", body = ErrorEnvelope),
    )
)]
async fn send_message(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<SendMessageRequest>) -> ApiResult<MessageItem> {
    ok(outbox::send(&state, &user, &request).await?)
}

/// Send a failed message again: the same message goes back to `pending` with a new try.
#[utoipa::path(
    post,
    path = "/inbox/messages/retry",
    tag = "inbox",
    request_body = MessageRef,
    responses(
        (status = 200, description = "The message, pending again", body = Envelope<MessageItem>),
        NotLoggedIn,
        (status = 404, description = "No such message in the caller's account (code 40400)", body = ErrorEnvelope),
        (status = 409, description = "The message has not failed (or was not sent from the inbox) (code 40900)", body = ErrorEnvelope),
    )
)]
async fn retry_message(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<MessageRef>) -> ApiResult<MessageItem> {
    ok(outbox::retry(&state, &user, &request.message_id).await?)
}

/// The agent opened the conversation: its unread count goes to zero, and the customer's
/// messages are marked read upstream (blue ticks on their phone), each once.
#[utoipa::path(
    post,
    path = "/inbox/conversations/markRead",
    tag = "inbox",
    request_body = ConversationRef,
    responses(
        (status = 200, description = "The conversation, read", body = Envelope<ConversationSummary>),
        NotLoggedIn,
        (status = 404, description = "No such conversation in the caller's account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn mark_read(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<ConversationRef>) -> ApiResult<ConversationSummary> {
    ok(receipts::mark_read(&state, &user, &request.conversation_id).await?)
}

/// The agent is typing: the customer sees the typing indicator. Call it as the agent types;
/// it reaches the upstream at most once every 20 seconds per conversation.
#[utoipa::path(
    post,
    path = "/inbox/conversations/typing",
    tag = "inbox",
    request_body = ConversationRef,
    responses(
        (status = 200, description = "Whether the indicator was sent now", body = Envelope<TypingShown>),
        NotLoggedIn,
        (status = 404, description = "No such conversation in the caller's account (code 40400)", body = ErrorEnvelope),
        UpstreamFailures,
    )
)]
async fn typing(State(state): State<AppState>, user: CurrentUser, ApiJson(request): ApiJson<ConversationRef>) -> ApiResult<TypingShown> {
    ok(receipts::typing(&state, &user, &request.conversation_id).await?)
}
