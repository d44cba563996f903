//! `/intwa-api/inbox/...`: the inbox API: reading conversations and messages, and what agents do
//! to a conversation (assign, resolve, reopen). Every query is the caller's account's
//! ([`InboxDb`] binds it): another account's conversation is "not found".

use api_types::{
    AssignRequest, ConversationFilter, ConversationListRequest, ConversationPage, ConversationRef, ConversationState,
    ConversationSummary, Envelope, MessageListRequest, MessagePage,
};
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{ConversationChange, ConversationQuery, InboxDb};
use crate::auth::CurrentUser;
use crate::state::AppState;
use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::openapi::NotLoggedIn;
use crate::web::{ApiJson, ErrorEnvelope};

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations))
        .routes(routes!(list_messages))
        .routes(routes!(assign_conversation))
        .routes(routes!(resolve_conversation))
        .routes(routes!(reopen_conversation))
        .merge(crate::realtime::api_routes())
        .merge(super::send_routes::api_routes())
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

fn limit_of(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(limit @ 1..=MAX_LIMIT) => Ok(limit),
        Some(_) => Err(ApiError::validation(vec![api_types::FieldError::new("limit", "range", format!("limit is 1 to {MAX_LIMIT}"))])),
    }
}

/// A page position given back by the client must be one this server handed out.
fn check_cursor(field: &str, cursor: Option<&str>) -> Result<(), ApiError> {
    match cursor {
        Some(text) if crate::inbox::store::parse_cursor(Some(text)).is_none() => Err(ApiError::validation(vec![
            api_types::FieldError::new(field, "invalid", format!("{field} is not a page position from an earlier answer")),
        ])),
        _ => Ok(()),
    }
}

/// The caller's account's conversations, newest activity first.
#[utoipa::path(
    post,
    path = "/inbox/conversations/list",
    tag = "inbox",
    request_body = ConversationListRequest,
    responses(
        (status = 200, description = "One page of conversations", body = Envelope<ConversationPage>),
        (status = 400, description = "A field is invalid (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
    )
)]
async fn list_conversations(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ConversationListRequest>,
) -> ApiResult<ConversationPage> {
    check_cursor("cursor", request.cursor.as_deref())?;
    let assignee = match request.filter.unwrap_or_default() {
        ConversationFilter::All => None,
        ConversationFilter::Mine => Some(Some(user.user_id.clone())),
        ConversationFilter::Unassigned => Some(None),
    };
    let query = ConversationQuery {
        assignee,
        phone_number_id: request.phone_number_id.filter(|id| !id.is_empty() && !id.contains('\0')),
        state: request.state,
        text: request.query.map(|text| text.replace('\0', "")),
        cursor: request.cursor,
        limit: limit_of(request.limit)?,
    };
    ok(InboxDb::new(&user.account_id).list_conversations(&state.db, &query).await?)
}

/// One page of a conversation's messages, oldest first within the page; `before` pages back.
#[utoipa::path(
    post,
    path = "/inbox/messages/list",
    tag = "inbox",
    request_body = MessageListRequest,
    responses(
        (status = 200, description = "One page of messages", body = Envelope<MessagePage>),
        (status = 400, description = "A field is invalid (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 404, description = "No such conversation in the caller's account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn list_messages(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<MessageListRequest>,
) -> ApiResult<MessagePage> {
    let limit = limit_of(request.limit)?;
    check_cursor("before", request.before.as_deref())?;
    InboxDb::new(&user.account_id)
        .list_messages(&state.db, &request.conversation_id, request.before.as_deref(), limit)
        .await?
        .map_or_else(|| Err(ApiError::not_found("No such conversation")), ok)
}

/// Make `change` on the caller's conversation (one `conversation` event when it changed anything).
async fn change_conversation(state: &AppState, user: &CurrentUser, conversation_id: &str, change: ConversationChange) -> ApiResult<ConversationSummary> {
    InboxDb::new(&user.account_id)
        .change_conversation(&state.db, &state.realtime, conversation_id, &change)
        .await?
        .map_or_else(|| Err(ApiError::not_found("No such conversation")), ok)
}

/// Assign the conversation to a user of the caller's account, or to nobody (`userId` null).
#[utoipa::path(
    post,
    path = "/inbox/conversations/assign",
    tag = "inbox",
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The conversation as it is now", body = Envelope<ConversationSummary>),
        (status = 400, description = "`userId` is not a user of this account (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
        (status = 404, description = "No such conversation in the caller's account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn assign_conversation(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<AssignRequest>,
) -> ApiResult<ConversationSummary> {
    if let Some(assignee) = request.user_id.as_deref() {
        if !InboxDb::new(&user.account_id).has_user(&state.db, assignee).await? {
            return Err(ApiError::validation(vec![api_types::FieldError::new(
                "userId",
                "unknown",
                "userId is not a user of this account",
            )]));
        }
    }
    change_conversation(&state, &user, &request.conversation_id, ConversationChange::Assign(request.user_id)).await
}

/// Mark the conversation resolved (a resolved one stays as it is). A new message from the
/// customer opens it again.
#[utoipa::path(
    post,
    path = "/inbox/conversations/resolve",
    tag = "inbox",
    request_body = ConversationRef,
    responses(
        (status = 200, description = "The conversation as it is now", body = Envelope<ConversationSummary>),
        NotLoggedIn,
        (status = 404, description = "No such conversation in the caller's account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn resolve_conversation(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ConversationRef>,
) -> ApiResult<ConversationSummary> {
    change_conversation(&state, &user, &request.conversation_id, ConversationChange::State(ConversationState::Resolved)).await
}

/// Open the conversation again (an open one stays as it is).
#[utoipa::path(
    post,
    path = "/inbox/conversations/reopen",
    tag = "inbox",
    request_body = ConversationRef,
    responses(
        (status = 200, description = "The conversation as it is now", body = Envelope<ConversationSummary>),
        NotLoggedIn,
        (status = 404, description = "No such conversation in the caller's account (code 40400)", body = ErrorEnvelope),
    )
)]
async fn reopen_conversation(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ConversationRef>,
) -> ApiResult<ConversationSummary> {
    change_conversation(&state, &user, &request.conversation_id, ConversationChange::State(ConversationState::Open)).await
}
