//! `GET /intwa-api/inbox/events`: a logged-in user's account's events as server-sent events.
//!
//! A stream starts after the `Last-Event-ID` the browser sends when it reconnects (or the
//! `lastEventId` query parameter, for the first connection after a page load; with neither, after
//! the latest event: nothing old), replays what it missed from the database, then waits for
//! notices and reads the database again after the last id it sent. A notice is only a hint: what
//! is sent is always what the database holds. Comments every heartbeat interval keep proxies
//! from closing an idle stream; at each one the session is checked again, so a stream ends soon
//! after its user logs out.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use api_types::{FieldError, InboxEvent, InboxEventData};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use sqlx::AnyPool;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{can_resume_after, events_after, latest_id, Notice, StoredEvent};
use crate::auth::{session, CurrentUser};
use crate::state::AppState;
use crate::web::error::ApiError;
use crate::web::openapi::NotLoggedIn;
use crate::web::ErrorEnvelope;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(inbox_events))
}

/// How many events one database read takes; a longer backlog is read in several.
const READ_BATCH: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct EventsQuery {
    /// The id of the last event the page has applied (the first connection after a page load;
    /// a reconnecting browser sends `Last-Event-ID` instead, which wins).
    last_event_id: Option<String>,
}

/// Whether `user` may see an event about `phone_number_id` (`None`: about no number in
/// particular). Every user of an account sees all of its numbers today; per-number visibility for
/// agents (issue 11) narrows this one check.
fn visible_to(_user: &CurrentUser, _phone_number_id: Option<&str>) -> bool {
    true
}

/// The account's inbox events, live: new and changed messages (statuses, reactions),
/// conversations (activity, unread count, assignee, state), and numbers (status, quality, limit,
/// name, removal).
///
/// Server-sent events (`text/event-stream`): each has `id:` (send the last one seen as the
/// `Last-Event-ID` header to resume, or as `lastEventId` on a first connection), `event:` (the
/// kind: `message`, `conversation`, `conversationRemoved`, `number`, `numberRemoved`, `reset`)
/// and `data:` (the whole `InboxEvent` as JSON). Without either id the stream starts with what
/// happens next. A `reset` event means the events after the id given are no longer kept: reload
/// the lists, and go on from the reset's id. Comment lines (`: heartbeat`) come every 15 seconds
/// (by default) while nothing happens.
#[utoipa::path(
    get,
    path = "/inbox/events",
    tag = "inbox",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received (sent by a reconnecting browser)"),
    ),
    responses(
        (status = 200, description = "The event stream; each `data:` line is one InboxEvent", body = InboxEvent, content_type = "text/event-stream"),
        (status = 400, description = "The last event id is not an id this server gave (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        NotLoggedIn,
    )
)]
async fn inbox_events(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ApiError> {
    let resume_after = match headers.get("last-event-id") {
        Some(value) => Some(parse_event_id("Last-Event-ID", value.to_str().ok())?),
        None => query.last_event_id.as_deref().map(|id| parse_event_id("lastEventId", Some(id))).transpose()?,
    };
    if state.realtime.is_closing() {
        return Err(ApiError::new(api_types::ErrorCode::Unavailable, "The server is stopping; connect again shortly"));
    }
    // Subscribed before the first read: an event committed while reading is not missed.
    let notices = state.realtime.subscribe();
    let mut connection = state.db.acquire().await?;
    let latest = latest_id(&mut connection, &user.account_id).await?;
    let (after, reset) = match resume_after {
        None => (latest, false),
        Some(after) if can_resume_after(&mut connection, &user.account_id, after).await? => (after, false),
        Some(_) => (latest, true),
    };
    drop(connection);
    let mut queue = VecDeque::new();
    if reset {
        let event = InboxEvent { id: latest.to_string(), data: InboxEventData::Reset };
        queue.push_back(sse_event(latest, InboxEventData::Reset.name(), &serde_json::to_string(&event).expect("an InboxEvent serializes")));
    }
    let heartbeat = Duration::from_millis(state.settings.events_heartbeat_ms.max(1));
    let feed = Feed {
        db: state.db.clone(),
        session_token: session::token_from(&headers).unwrap_or_default(),
        user,
        after,
        notices,
        heartbeat: tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat),
        queue,
        stale: resume_after.is_some() && !reset,
        ended: false,
    };
    let mut response = Sse::new(feed.into_stream()).into_response();
    // Proxies that buffer answers (nginx) pass this one through as it is written.
    response.headers_mut().insert(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"));
    Ok(response)
}

fn parse_event_id(field: &str, text: Option<&str>) -> Result<i64, ApiError> {
    text.map(str::trim).and_then(|text| text.parse::<i64>().ok()).filter(|id| *id >= 0).ok_or_else(|| {
        ApiError::validation(vec![FieldError::new(field, "invalid", format!("{field} is not the id of an event this server sent"))])
    })
}

fn sse_event(id: i64, kind: &str, data: &str) -> Event {
    Event::default().id(id.to_string()).event(kind).data(data)
}

/// One stream's position and what it waits on.
struct Feed {
    db: AnyPool,
    /// The session the stream was opened with, checked again at every heartbeat.
    session_token: String,
    user: CurrentUser,
    /// The id of the last event read (sent, or skipped as not visible).
    after: i64,
    notices: broadcast::Receiver<Notice>,
    heartbeat: tokio::time::Interval,
    /// Read, not yet sent.
    queue: VecDeque<Event>,
    /// The database may hold events after `after`.
    stale: bool,
    ended: bool,
}

impl Feed {
    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        futures_util::stream::unfold(self, |mut feed| async move {
            let event = feed.next_event().await?;
            Some((Ok(event), feed))
        })
    }

    /// The next thing to send; `None` ends the stream (the browser reconnects from its last id).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            if self.stale {
                self.read().await;
                continue;
            }
            tokio::select! {
                notice = self.notices.recv() => match notice {
                    Ok(Notice::Committed(committed)) => {
                        self.stale = committed.account_id == self.user.account_id && committed.last_id > self.after;
                    }
                    // Missed notices: the database says what there is.
                    Ok(Notice::Reread) | Err(RecvError::Lagged(_)) => self.stale = true,
                    Ok(Notice::Closing) | Err(RecvError::Closed) => self.ended = true,
                },
                _ = self.heartbeat.tick() => {
                    if !self.session_is_open().await {
                        return None;
                    }
                    return Some(Event::default().comment("heartbeat"));
                }
            }
        }
    }

    /// Queue the events after `after` that the user may see.
    async fn read(&mut self) {
        let read = async {
            let mut connection = self.db.acquire().await?;
            events_after(&mut connection, &self.user.account_id, self.after, READ_BATCH).await
        };
        let events: Vec<StoredEvent> = match read.await {
            Ok(events) => events,
            Err(cause) => {
                tracing::warn!(%cause, "cannot read inbox events for a stream; ending it");
                self.ended = true;
                return;
            }
        };
        self.stale = events.len() as i64 == READ_BATCH;
        for event in events {
            self.after = event.id;
            if visible_to(&self.user, event.phone_number_id.as_deref()) {
                self.queue.push_back(sse_event(event.id, &event.kind, &event.data));
            }
        }
    }

    async fn session_is_open(&self) -> bool {
        match session::find(&self.db, &self.session_token).await {
            Ok(found) => found.is_some_and(|record| record.user_id == self.user.user_id),
            // The database is away for a moment: keep the stream, the next heartbeat checks again.
            Err(cause) => {
                tracing::warn!(%cause, "cannot check a stream's session");
                true
            }
        }
    }
}
