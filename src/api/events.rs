//! The inbox event stream (`GET /intwa-api/inbox/events`, server-sent events): one per logged-in
//! app, reconnecting by itself.
//!
//! The browser's `EventSource` retries a dropped connection on its own and sends `Last-Event-ID`
//! then, so the server replays what was missed. When it gives up for good (the server answered
//! an error, or something that is not an event stream) the stream opens a new one after a
//! growing delay ([`Backoff`]), naming the last event seen in the `lastEventId` query parameter,
//! since a fresh `EventSource` cannot set that header. Whoever listens learns when the stream is
//! down and up again ([`StreamSignal`]), and reloads what it shows after a gap.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use api_types::InboxEvent;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::ApiClient;

/// The SSE event names this version applies (`InboxEventData::name()`), and `reset`: "reload
/// your lists". Events of other names are not listened to, so kinds a newer server adds are ignored.
pub const EVENT_NAMES: [&str; 6] = ["message", "conversation", "conversationRemoved", "number", "numberRemoved", "reset"];

/// What the stream tells its listener.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamSignal {
    /// Connected (at first, or again after being down).
    Up,
    /// The connection dropped; it is being re-established.
    Down,
    /// One event, in the order the server sent them.
    Event(Box<InboxEvent>),
    /// The server asks for the lists to be loaded again (it cannot replay what was missed).
    Reset,
}

/// How long to wait before opening the stream again after it closed for good: 1 s, doubling up
/// to 30 s, back to 1 s once it is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_secs(1);
    pub const LONGEST: Duration = Duration::from_secs(30);

    pub fn new() -> Backoff {
        Backoff { failures: 0 }
    }

    /// The delay before the next attempt (each call counts one more failure).
    pub fn next_delay(&mut self) -> Duration {
        let delay = Backoff::FIRST.saturating_mul(1 << self.failures.min(5));
        self.failures = self.failures.saturating_add(1);
        delay.min(Backoff::LONGEST)
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}

/// The stream's URL: `{api}/inbox/events`, with `lastEventId` when resuming in a new connection.
pub fn events_url(api: ApiClient, last_event_id: Option<&str>) -> String {
    let url = api.url("/inbox/events");
    match last_event_id {
        Some(id) => format!("{url}?lastEventId={}", js_sys::encode_uri_component(id)),
        None => url,
    }
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Connection {
    api: ApiClient,
    on_signal: Rc<dyn Fn(StreamSignal)>,
    source: Option<web_sys::EventSource>,
    /// Kept alive as long as `source` calls them.
    listeners: Vec<(&'static str, Listener)>,
    last_event_id: Option<String>,
    backoff: Backoff,
    reopen: Option<gloo_timers::callback::Timeout>,
    down: bool,
    closed: bool,
    /// `pagehide` and `pageshow` on the window, removed on close.
    page_listeners: Vec<(&'static str, Listener)>,
}

/// The open stream; [`EventStream::close`] ends it (the app frame does when it unmounts).
#[derive(Clone)]
pub struct EventStream {
    connection: Rc<RefCell<Connection>>,
}

impl EventStream {
    /// Open the stream of `api`'s server; every event and change of the connection goes to `on_signal`.
    pub fn open(api: ApiClient, on_signal: impl Fn(StreamSignal) + 'static) -> EventStream {
        let connection = Rc::new(RefCell::new(Connection {
            api,
            on_signal: Rc::new(on_signal),
            source: None,
            listeners: Vec::new(),
            last_event_id: None,
            backoff: Backoff::new(),
            reopen: None,
            down: false,
            closed: false,
            page_listeners: Vec::new(),
        }));
        connect(&connection);
        follow_the_page(&connection);
        EventStream { connection }
    }

    pub fn close(&self) {
        let mut connection = self.connection.borrow_mut();
        connection.closed = true;
        connection.reopen = None;
        if let Some(source) = connection.source.take() {
            source.close();
        }
        connection.listeners.clear();
        if let Some(window) = web_sys::window() {
            for (name, listener) in connection.page_listeners.drain(..) {
                let _ = window.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            }
        }
    }
}

/// A page the browser keeps for its back button (the back/forward cache) would keep its stream
/// open, and a browser opens six connections at most to one HTTP/1.1 server: a few pages away
/// and back, the app would wait for a free one. So the stream closes when the page is hidden for
/// a navigation, and opens again (resuming from the last event) if the page is shown from that cache.
fn follow_the_page(connection: &Rc<RefCell<Connection>>) {
    let Some(window) = web_sys::window() else { return };
    let weak = Rc::downgrade(connection);
    let on_hide = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        let Some(connection) = weak.upgrade() else { return };
        let mut connection = connection.borrow_mut();
        connection.reopen = None;
        if let Some(source) = connection.source.take() {
            source.close();
        }
    });
    let weak = Rc::downgrade(connection);
    let on_show = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let persisted = js_sys::Reflect::get(&event, &"persisted".into()).ok().and_then(|value| value.as_bool()).unwrap_or(false);
        let Some(connection) = weak.upgrade() else { return };
        let reopen = persisted && {
            let connection = connection.borrow();
            !connection.closed && connection.source.is_none()
        };
        if reopen {
            connect(&connection);
        }
    });
    let listeners: Vec<(&'static str, Listener)> = vec![("pagehide", on_hide), ("pageshow", on_show)];
    for (name, listener) in &listeners {
        let _ = window.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
    }
    connection.borrow_mut().page_listeners = listeners;
}

fn connect(connection: &Rc<RefCell<Connection>>) {
    let (url, with_credentials) = {
        let connection = connection.borrow();
        (events_url(connection.api, connection.last_event_id.as_deref()), connection.api.sends_credentials_cross_origin())
    };
    let init = web_sys::EventSourceInit::new();
    init.set_with_credentials(with_credentials);
    let source = match web_sys::EventSource::new_with_event_source_init_dict(&url, &init) {
        Ok(source) => source,
        Err(_) => {
            leptos::logging::warn!("the event stream could not be opened");
            schedule_reopen(connection);
            return;
        }
    };
    let mut listeners: Vec<(&'static str, Listener)> = Vec::new();
    let weak = Rc::downgrade(connection);
    let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        if let Some(connection) = weak.upgrade() {
            let on_signal = {
                let mut connection = connection.borrow_mut();
                connection.backoff.reset();
                connection.down = false;
                connection.on_signal.clone()
            };
            on_signal(StreamSignal::Up);
        }
    });
    listeners.push(("open", on_open));
    let weak = Rc::downgrade(connection);
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        let Some(connection) = weak.upgrade() else { return };
        let (on_signal, was_down, gave_up) = {
            let mut connection = connection.borrow_mut();
            let gave_up = connection.source.as_ref().is_some_and(|source| source.ready_state() == web_sys::EventSource::CLOSED);
            let was_down = std::mem::replace(&mut connection.down, true);
            (connection.on_signal.clone(), was_down, gave_up)
        };
        if !was_down {
            on_signal(StreamSignal::Down);
        }
        if gave_up {
            schedule_reopen(&connection);
        }
    });
    listeners.push(("error", on_error));
    for name in EVENT_NAMES {
        let weak = Rc::downgrade(connection);
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let Some(connection) = weak.upgrade() else { return };
            let Some(message) = event.dyn_ref::<web_sys::MessageEvent>() else { return };
            let id = message.last_event_id();
            let on_signal = {
                let mut connection = connection.borrow_mut();
                if !id.is_empty() {
                    connection.last_event_id = Some(id);
                }
                connection.on_signal.clone()
            };
            if name == "reset" {
                on_signal(StreamSignal::Reset);
                return;
            }
            match message.data().as_string().map(|data| serde_json::from_str::<InboxEvent>(&data)) {
                Some(Ok(event)) => on_signal(StreamSignal::Event(Box::new(event))),
                _ => leptos::logging::warn!("an inbox event could not be read"),
            }
        });
        listeners.push((name, listener));
    }
    for (name, listener) in &listeners {
        let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
    }
    let mut connection = connection.borrow_mut();
    connection.source = Some(source);
    connection.listeners = listeners;
}

fn schedule_reopen(connection: &Rc<RefCell<Connection>>) {
    let mut state = connection.borrow_mut();
    if state.closed {
        return;
    }
    if let Some(source) = state.source.take() {
        source.close();
    }
    // Dropping the listeners of the closed source here would free the closure running now; they
    // go with the next connection instead.
    let delay = state.backoff.next_delay();
    // Spread the re-opens of many consoles after a server restart.
    let jitter = (js_sys::Math::random() * 250.0) as u32;
    let weak = Rc::downgrade(connection);
    state.reopen = Some(gloo_timers::callback::Timeout::new(delay.as_millis() as u32 + jitter, move || {
        if let Some(connection) = weak.upgrade() {
            if !connection.borrow().closed {
                connect(&connection);
            }
        }
    }));
}
