//! A client for `GET /intwa-api/inbox/events`: reads the server-sent events as they arrive (the
//! response body, chunk by chunk) and parses them the way a browser's EventSource does.

#![allow(dead_code)]

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::support::SETTLE;

/// One dispatched SSE message, or one comment line (a heartbeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sse {
    Event { id: Option<String>, event: Option<String>, data: String },
    Comment(String),
}

/// An open event stream.
pub struct EventStream {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    body: Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    /// Bytes received and not parsed yet (an incomplete line).
    pending: String,
    /// The message being assembled (fields seen since the last blank line).
    id: Option<String>,
    event: Option<String>,
    data: Vec<String>,
    parsed: std::collections::VecDeque<Sse>,
}

/// An event of the stream: its SSE fields and its data as JSON.
#[derive(Debug, Clone)]
pub struct InboxEvent {
    pub id: String,
    pub name: String,
    pub data: Value,
}

impl EventStream {
    /// GET `url` with `client` (its session cookie), sending `Last-Event-ID` when given.
    pub async fn open(client: &reqwest::Client, url: &str, last_event_id: Option<&str>) -> EventStream {
        let mut request = client.get(url).header("accept", "text/event-stream").header("accept-encoding", "br, gzip");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("the stream request is sent");
        EventStream {
            status: response.status(),
            headers: response.headers().clone(),
            body: Box::pin(response.bytes_stream()),
            pending: String::new(),
            id: None,
            event: None,
            data: Vec::new(),
            parsed: Default::default(),
        }
    }

    /// The next message or comment, `None` when the stream ended; panics when nothing comes
    /// within `within`.
    pub async fn next_within(&mut self, within: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(message) = self.parsed.pop_front() {
                return Some(message);
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .unwrap_or_else(|_| panic!("nothing arrived on the event stream within {within:?}"));
            match chunk {
                Some(Ok(bytes)) => self.feed(&String::from_utf8_lossy(&bytes)),
                Some(Err(cause)) => panic!("the event stream failed: {cause}"),
                None => return None,
            }
        }
    }

    /// The next event (comments skipped); panics when none comes within [`SETTLE`] or the stream ends.
    pub async fn next_event(&mut self) -> InboxEvent {
        loop {
            match self.next_within(SETTLE).await {
                Some(Sse::Event { id, event, data }) => {
                    let data: Value = serde_json::from_str(&data).unwrap_or_else(|_| panic!("event data is JSON: {data}"));
                    return InboxEvent { id: id.expect("every event has an id"), name: event.expect("every event is named"), data };
                }
                Some(Sse::Comment(_)) => continue,
                None => panic!("the event stream ended"),
            }
        }
    }

    /// The next event named `name` for which `wanted` holds, skipping the others.
    pub async fn next_matching(&mut self, name: &str, wanted: impl Fn(&Value) -> bool) -> InboxEvent {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            assert!(tokio::time::Instant::now() < deadline, "no {name} event as expected arrived");
            let event = self.next_event().await;
            if event.name == name && wanted(&event.data) {
                return event;
            }
        }
    }

    fn feed(&mut self, text: &str) {
        self.pending.push_str(text);
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            let line = line.trim_end_matches('\n').trim_end_matches('\r');
            self.line(line);
        }
    }

    fn line(&mut self, line: &str) {
        if line.is_empty() {
            if !self.data.is_empty() || self.id.is_some() || self.event.is_some() {
                self.parsed.push_back(Sse::Event { id: self.id.take(), event: self.event.take(), data: self.data.join("\n") });
                self.data.clear();
            }
            return;
        }
        if let Some(comment) = line.strip_prefix(':') {
            self.parsed.push_back(Sse::Comment(comment.trim_start().to_owned()));
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "id" => self.id = Some(value),
            "event" => self.event = Some(value),
            "data" => self.data.push(value),
            _ => {}
        }
    }
}
