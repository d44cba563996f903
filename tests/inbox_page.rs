//! The Inbox page mounted in a real browser, with `window.fetch` answering for the server and
//! events fed to the realtime dispatcher as the stream would: rows, the thread, the composer, a
//! hostile customer name, and a list of thousands that keeps only a window of rows in the DOM.
//!
//! Each test file runs in its own page, so replacing `fetch` here touches no other test file.
#![cfg(target_arch = "wasm32")]

mod support;

use api_types::{InboxEvent, InboxEventData, MessageItem, RuntimeConfig};
use leptos::prelude::*;
use leptos_router::components::Router;
use support::*;
use wadesk::api::events::StreamSignal;
use wadesk::api::ApiClient;
use wadesk::components::app_frame::{AppFrame, RealtimeBanner};
use wadesk::i18n::{I18n, Language};
use wadesk::pages::inbox::InboxPage;
use wadesk::state::realtime::{provide_realtime, use_realtime, Realtime};
use wadesk::state::session::Session;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// A stand-in inbox server: the first path segment names the test's server, whose
/// `window.__inbox[name]` holds `conversations` (paged by `cursor` = offset), `messages` by
/// conversation id, and records the `sent` requests and `calls` by path.
const FAKE_FETCH: &str = r#"
window.__inbox = window.__inbox || {};
window.fetch = async function (input, init) {
    const path = new URL(typeof input === 'string' ? input : input.url, window.location.href).pathname;
    const server = window.__inbox[path.split('/')[1]];
    const text = typeof input === 'string' ? (init && init.body) : await input.clone().text();
    const body = typeof text === 'string' && text.startsWith('{') ? JSON.parse(text) : {};
    const answer = (data) => Promise.resolve(new Response(JSON.stringify({ code: 0, message: 'Success', data }),
        { status: 200, headers: { 'Content-Type': 'application/json' } }));
    const call = path.split('/intwa-api')[1];
    server.calls.push(call);
    if (call === '/inbox/conversations/list') {
        const start = body.cursor ? Number(body.cursor) : 0;
        const limit = body.limit || 50;
        let all = server.conversations;
        if (body.query) all = all.filter((c) => JSON.stringify(c.customer).includes(body.query));
        const items = all.slice(start, start + limit);
        const next = start + limit < all.length ? String(start + limit) : null;
        return answer({ items, nextCursor: body.query ? null : next });
    }
    if (call === '/inbox/messages/list') {
        // `older[id]`: the page before the first one, behind the cursor 'older'.
        const older = (server.older || {})[body.conversationId];
        if (body.before === 'older') return answer({ items: older || [], nextCursor: null });
        return answer({ items: server.messages[body.conversationId] || [], nextCursor: older ? 'older' : null });
    }
    if (call === '/inbox/messages/send') {
        server.sent.push(body);
        return answer({
            id: 'm-sent-' + server.sent.length, wamid: '', conversationId: body.conversationId,
            clientMessageId: body.clientMessageId, direction: 'outbound', origin: 'agent', type: body.type,
            text: body.text || null, media: null, status: 'pending', error: null, customerReaction: null,
            businessReaction: null, replyToWamid: null, timestamp: Date.now(),
        });
    }
    if (call === '/whatsapp/numbers/list') return answer([]);
    if (call === '/team/users/list') return answer({ items: server.team || [] });
    if (call === '/inbox/conversations/assign') {
        server.assigned = (server.assigned || []).concat([body.userId]);
        const conversation = server.conversations.find((c) => c.id === body.conversationId);
        return answer(Object.assign({}, conversation, { assigneeUserId: body.userId }));
    }
    return answer({});
};
"#;

fn js(source: &str) -> JsValue {
    js_sys::Function::new_no_args(source).call0(&JsValue::NULL).expect("script runs")
}

fn conversation_json(n: usize, name: &str) -> String {
    format!(
        r#"{{"id":"c-{n}","phoneNumberId":"phone-1","customer":{{"waId":"861380000{n:04}","userId":null,"name":{name}}},"state":"open","assigneeUserId":null,"unreadCount":{unread},"lastMessageAt":{at}}}"#,
        name = serde_json::to_string(name).unwrap(),
        unread = n % 3,
        at = 1_800_000_000_000_i64 - n as i64 * 60_000,
    )
}

struct FakeInbox {
    name: &'static str,
}

impl FakeInbox {
    /// A server with `count` conversations (`c-0` newest); `c-0`'s customer is named `first_name`.
    fn start(name: &'static str, count: usize, first_name: &str) -> FakeInbox {
        js(FAKE_FETCH);
        let items: Vec<String> =
            (0..count).map(|n| conversation_json(n, if n == 0 { first_name } else { "Customer" })).collect();
        js(&format!(
            "window.__inbox[{name:?}] = {{ conversations: [{}], messages: {{}}, sent: [], calls: [] }}",
            items.join(",")
        ));
        FakeInbox { name }
    }

    fn set_messages(&self, conversation_id: &str, messages: &[MessageItem]) {
        let json = serde_json::to_string(messages).unwrap();
        js(&format!("window.__inbox[{:?}].messages[{conversation_id:?}] = {json}", self.name));
    }

    fn sent(&self) -> usize {
        js(&format!("return window.__inbox[{:?}].sent.length", self.name)).as_f64().unwrap_or(0.0) as usize
    }

    fn called(&self, call: &str) -> bool {
        js(&format!("return window.__inbox[{:?}].calls.includes({call:?})", self.name)).as_bool().unwrap_or(false)
    }

    /// Mount the Inbox page (inside a realtime context this test can dispatch to).
    fn mount(&self, language: Language) -> (Element, Realtime, Box<dyn std::any::Any>) {
        let root = container();
        let api_base = format!("http://127.0.0.1:9/{}", self.name);
        let slot = RwSignal::new(None::<Realtime>);
        let handle = leptos::mount::mount_to(root.clone(), move || {
            let session = Session::settled(Some(test_user()));
            let api = ApiClient::new(&api_base, "", Callback::new(move |_| session.clear()));
            wadesk::provide_app_context(RuntimeConfig::default(), String::new(), I18n::with_language(language), session, api);
            slot.set(Some(provide_realtime()));
            view! { <Router><InboxPage /></Router> }
        });
        let realtime = slot.get_untracked().expect("the page was mounted");
        (root.into(), realtime, Box::new(handle))
    }
}

fn all(root: &Element, testid: &str) -> Vec<Element> {
    let found = root.query_selector_all(&format!("[data-testid=\"{testid}\"]")).unwrap();
    (0..found.length()).filter_map(|index| found.item(index)?.dyn_into::<Element>().ok()).collect()
}

fn outbound(id: &str, text: &str, status: &str, at: i64) -> MessageItem {
    serde_json::from_str(&format!(
        r#"{{"id":{id:?},"wamid":"wamid.{id}","conversationId":"c-0","clientMessageId":null,"direction":"outbound","origin":"agent",
        "type":"text","text":{text:?},"media":null,"status":{status:?},"error":null,"customerReaction":null,"businessReaction":null,
        "replyToWamid":null,"timestamp":{at}}}"#
    ))
    .unwrap()
}

fn inbound(id: &str, text: &str, at: i64) -> MessageItem {
    let mut message = outbound(id, text, "sent", at);
    message.direction = api_types::MessageDirection::Inbound;
    message.origin = api_types::MessageOrigin::Customer;
    message.status = None;
    message
}

async fn open_first_conversation(root: &Element) {
    let row = wait_for(root, "conversation-row").await;
    click(&row);
    wait_for(root, "thread").await;
}

#[wasm_bindgen_test]
async fn a_hostile_customer_name_renders_as_text() {
    let hostile = "<img src=x onerror=\"window.__pwned=1\"><b>Eve</b>";
    let server = FakeInbox::start("hostile", 1, hostile);
    server.set_messages("c-0", &[inbound("m-1", "<script>window.__pwned=2</script>", 1_800_000_000_000)]);
    let (root, _realtime, _mounted) = server.mount(Language::English);
    let name = wait_for(&root, "conversation-name").await;
    assert_eq!(name.text_content().as_deref(), Some(hostile));
    assert_eq!(name.child_element_count(), 0, "no element was made from the name");
    assert!(root.query_selector("img[src=x]").unwrap().is_none());
    open_first_conversation(&root).await;
    let text = wait_for(&root, "message-text").await;
    assert_eq!(text.text_content().as_deref(), Some("<script>window.__pwned=2</script>"));
    assert!(find(&root, "customer-name").unwrap().text_content().as_deref() == Some(hostile));
    assert!(js("return window.__pwned === undefined").as_bool().unwrap());
}

#[wasm_bindgen_test]
async fn ten_thousand_conversations_keep_only_a_window_of_rows_in_the_dom() {
    let server = FakeInbox::start("many", 10_000, "Ana");
    let (root, realtime, _mounted) = server.mount(Language::English);
    wait_for(&root, "conversation-row").await;
    // Pages come in as the agent scrolls; push the whole list in as if they all had.
    let page: api_types::ConversationPage = serde_json::from_value(serde_json::json!({
        "items": (0..10_000).map(|n| serde_json::from_str::<serde_json::Value>(&conversation_json(n, "Customer")).unwrap()).collect::<Vec<_>>(),
        "nextCursor": null,
    }))
    .unwrap();
    realtime.inbox.list.update(|list| list.replace(page));
    let spacer_height = || {
        root.query_selector(".conversation-spacer").unwrap().and_then(|spacer| spacer.get_attribute("style")).unwrap_or_default()
    };
    eventually("the spacer to be as tall as 10,000 rows", || spacer_height().contains("720000px").then_some(())).await;
    let rows = all(&root, "conversation-row").len();
    assert!(rows > 0 && rows <= 60, "{rows} rows in the DOM");

    // A conversation far down gets a message: it moves to the top.
    let mut moved = realtime.inbox.list.with_untracked(|list| list.get("c-5000").cloned().unwrap());
    moved.last_message_at = 1_900_000_000_000;
    realtime.dispatch(StreamSignal::Event(Box::new(InboxEvent { id: "1".into(), data: InboxEventData::Conversation { conversation: moved } })));
    eventually("c-5000 at the top", || {
        all(&root, "conversation-row")
            .iter()
            .find(|row| row.get_attribute("style").unwrap_or_default().contains("top: 0px"))
            .and_then(|row| row.get_attribute("data-conversation-id"))
            .filter(|id| id == "c-5000")
    })
    .await;
    assert!(all(&root, "conversation-row").len() <= 60);
    let badge = find(&root, "conversation-unread").expect("unread badges show");
    assert!(badge.text_content().unwrap_or_default().parse::<u64>().is_ok());
}

#[wasm_bindgen_test]
async fn the_thread_shows_ticks_day_separators_and_live_messages() {
    let server = FakeInbox::start("thread", 2, "李雷");
    let day = 1_800_000_000_000_i64;
    server.set_messages(
        "c-0",
        &[
            inbound("m-1", "你好", day - 86_400_000 * 3),
            outbound("m-2", "Hello!", "delivered", day),
            outbound("m-3", "Your order", "read", day + 1_000),
            outbound("m-4", "Second try", "failed", day + 2_000),
        ],
    );
    let (root, realtime, _mounted) = server.mount(Language::SimplifiedChinese);
    open_first_conversation(&root).await;
    eventually("four bubbles", || (all(&root, "message-bubble").len() == 4).then_some(())).await;
    assert_eq!(all(&root, "day-separator").len(), 2, "one separator per day");
    let statuses: Vec<String> = all(&root, "message-status").iter().filter_map(|s| s.get_attribute("data-status")).collect();
    assert_eq!(statuses, ["delivered", "read", "failed"]);
    assert!(find(&root, "message-retry").is_some(), "a failed message offers a retry");
    assert!(find(&root, "message-error").is_some());
    eventually("markRead on open", || server.called("/inbox/conversations/markRead").then_some(())).await;
    assert_eq!(find(&root, "customer-phone").and_then(|e| e.text_content()).as_deref(), Some("+8613800000000"));

    // The stream brings a status (never backwards) and a new message.
    let mut later = outbound("m-2", "Hello!", "sent", day);
    later.conversation_id = "c-0".into();
    realtime.dispatch(StreamSignal::Event(Box::new(InboxEvent { id: "1".into(), data: InboxEventData::Message { conversation_id: "c-0".into(), message: later } })));
    realtime.dispatch(StreamSignal::Event(Box::new(InboxEvent {
        id: "2".into(),
        data: InboxEventData::Message { conversation_id: "c-0".into(), message: inbound("m-5", "新消息", day + 5_000) },
    })));
    eventually("the new message", || (all(&root, "message-bubble").len() == 5).then_some(())).await;
    let statuses: Vec<String> = all(&root, "message-status").iter().filter_map(|s| s.get_attribute("data-status")).collect();
    assert_eq!(statuses[0], "delivered", "a late 'sent' did not move the bubble back");
}

fn key(element: &Element, shift: bool, composing: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_shift_key(shift);
    init.set_is_composing(composing);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    element.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
async fn the_composer_counts_and_sends_on_enter_but_not_on_shift_enter_or_while_composing() {
    let server = FakeInbox::start("composer", 1, "Ana");
    server.set_messages("c-0", &[inbound("m-1", "Hi", 1_800_000_000_000)]);
    let (root, _realtime, _mounted) = server.mount(Language::English);
    open_first_conversation(&root).await;
    let input = wait_for(&root, "composer-input").await;
    wait_for_text(&root, "composer-counter", "0 / 4096").await;
    type_into(&input, "你好 there");
    wait_for_text(&root, "composer-counter", "8 / 4096").await;

    key(&input, true, false);
    key(&input, false, true);
    gloo_timers::future::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(server.sent(), 0, "Shift+Enter and an input method's Enter do not send");
    assert!(all(&root, "message-bubble").len() == 1);

    key(&input, false, false);
    eventually("the send", || (server.sent() == 1).then_some(())).await;
    // The pending bubble became the server's message: one bubble, not two.
    eventually("the sent bubble", || root.query_selector("[data-message-id=\"m-sent-1\"]").unwrap()).await;
    assert!(root.query_selector("[data-message-id^=\"pending:\"]").unwrap().is_none(), "no pending bubble is left");
    assert_eq!(all(&root, "message-bubble").len(), 2);
    wait_for_text(&root, "composer-counter", "0 / 4096").await;

    // Over the limit: the counter says so, and nothing is sent.
    type_into(&input, &"a".repeat(4_097));
    wait_for(&root, "composer-error").await;
    key(&input, false, false);
    gloo_timers::future::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(server.sent(), 1);
    assert!(find(&root, "composer-send").unwrap().has_attribute("disabled"));
}

#[wasm_bindgen_test]
async fn a_banner_shows_while_the_stream_is_down() {
    let root = container();
    let found = RwSignal::new(None::<Realtime>);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_test_context(RuntimeConfig::default(), Language::English, Some(test_user()));
        found.set(Some(provide_realtime()));
        view! { <RealtimeBanner /> }
    });
    let realtime = found.get_untracked().expect("mounted");
    realtime.dispatch(StreamSignal::Down);
    realtime.dispatch(StreamSignal::Up);
    gloo_timers::future::sleep(std::time::Duration::from_millis(30)).await;
    assert!(find(&root, "realtime-banner").is_none(), "no banner while it is up");
    realtime.dispatch(StreamSignal::Down);
    let banner = wait_for(&root, "realtime-banner").await;
    assert!(banner.text_content().unwrap_or_default().contains("Reconnecting"));
    realtime.dispatch(StreamSignal::Up);
    eventually("the banner to go", || find(&root, "realtime-banner").is_none().then_some(())).await;
}

/// Reads the frame's realtime context (the frame provides it).
#[component]
fn RealtimeProbe(found: RwSignal<Option<Realtime>>) -> impl IntoView {
    found.set(Some(use_realtime()));
}

#[wasm_bindgen_test]
async fn the_frame_holds_the_realtime_context_and_its_banner() {
    let root = container();
    let found = RwSignal::new(None::<Realtime>);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        provide_test_context(RuntimeConfig::default(), Language::English, Some(test_user()));
        view! { <Router><AppFrame><RealtimeProbe found /></AppFrame></Router> }
    });
    let realtime = eventually("the frame's realtime context", || found.get_untracked()).await;
    eventually("the frame to know who is logged in", || (realtime.inbox.me.get_untracked() == "user-1").then_some(())).await;
    realtime.dispatch(StreamSignal::Up);
    realtime.dispatch(StreamSignal::Down);
    wait_for(&root, "realtime-banner").await;
}

#[wasm_bindgen_test]
async fn rows_preview_the_newest_message_and_the_thread_shows_cards_first_contact_and_teammates() {
    let server = FakeInbox::start("preview", 2, "Ana");
    js(r#"const s = window.__inbox.preview;
        s.conversations[0].lastMessage = { direction: 'outbound', type: 'text', text: '<b>Your order</b> ships today', status: 'read' };
        s.conversations[0].firstContactAt = Date.UTC(2025, 2, 14, 9, 0);
        s.conversations[1].lastMessage = { direction: 'inbound', type: 'image', text: null, status: null };
        s.team = [{ id: 'user-1', email: 'ana@example.com', name: 'Ana Pereira', role: 'admin' },
                  { id: 'user-2', email: 'bo@example.com', name: 'Bo Chen', role: 'agent' }];"#);
    let mut place = inbound("m-1", "Bund", 1_800_000_000_000);
    place.kind = api_types::MessageType::Location;
    place.location = Some(api_types::LocationCard {
        latitude: api_types::Degrees(31.2397),
        longitude: api_types::Degrees(121.4998),
        name: Some("The Bund".into()),
        address: Some("Zhongshan East 1st Rd, Shanghai".into()),
    });
    let mut card = inbound("m-2", "Li Lei", 1_800_000_001_000);
    card.kind = api_types::MessageType::Contacts;
    card.contacts = vec![api_types::ContactCard {
        name: "Li Lei".into(),
        phones: vec![api_types::ContactPhone { phone: "+86 138 0000 0000".into(), wa_id: None, kind: Some("CELL".into()) }],
    }];
    server.set_messages("c-0", &[place, card]);
    let (root, _realtime, _mounted) = server.mount(Language::English);
    eventually("two previews", || (all(&root, "conversation-preview").len() == 2).then_some(())).await;
    let previews: Vec<String> = all(&root, "conversation-preview").iter().filter_map(|p| p.text_content()).collect();
    assert_eq!(previews, ["You: <b>Your order</b> ships today", "Photo"], "as text, after You: when the business sent it");
    assert!(root.query_selector(".conversation-preview b").unwrap().is_none());

    open_first_conversation(&root).await;
    let map = wait_for(&root, "location-map").await;
    let href = map.get_attribute("href").unwrap_or_default();
    assert!(href.starts_with("https://www.openstreetmap.org/?mlat=31.239700&mlon=121.499800"), "{href}");
    assert_eq!(map.get_attribute("rel").as_deref(), Some("noopener noreferrer"));
    assert_eq!(find(&root, "location-name").and_then(|e| e.text_content()).as_deref(), Some("The Bund"));
    assert_eq!(find(&root, "contact-card-name").and_then(|e| e.text_content()).as_deref(), Some("Li Lei"));
    assert_eq!(find(&root, "contact-card-phone").and_then(|e| e.get_attribute("href")).as_deref(), Some("tel:+8613800000000"));
    let first = find(&root, "customer-first-contact").and_then(|e| e.text_content()).unwrap_or_default();
    assert!(first.contains("2025"), "the first contact from the server, not 'earlier': {first}");

    // The picker lists the teammates by name; choosing one assigns and names them.
    eventually("Bo in the picker", || {
        all(&root, "assign-option").iter().find(|option| option.text_content().as_deref() == Some("Bo Chen")).map(|_| ())
    })
    .await;
    let select: web_sys::HtmlSelectElement = find(&root, "assign-select").unwrap().dyn_into().unwrap();
    select.set_value("user-2");
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    select.dispatch_event(&web_sys::Event::new_with_event_init_dict("change", &init).unwrap()).unwrap();
    eventually("assigned to Bo", || {
        find(&root, "conversation-assignee").and_then(|e| e.text_content()).filter(|text| text == "Assigned to Bo Chen").map(|_| ())
    })
    .await;
    assert!(js("return JSON.stringify(window.__inbox.preview.assigned) === '[\"user-2\"]'").as_bool().unwrap());
}

#[wasm_bindgen_test]
async fn a_first_page_too_short_to_scroll_loads_the_older_one_by_itself() {
    let server = FakeInbox::start("short", 1, "Ana");
    server.set_messages("c-0", &[inbound("m-3", "newest", 1_800_000_003_000)]);
    let older = serde_json::to_string(&[inbound("m-1", "oldest", 1_800_000_001_000), inbound("m-2", "older", 1_800_000_002_000)]).unwrap();
    js(&format!("window.__inbox.short.older = {{ 'c-0': {older} }}"));
    let (root, _realtime, _mounted) = server.mount(Language::English);
    open_first_conversation(&root).await;
    eventually("the older page without any scrolling", || (all(&root, "message-bubble").len() == 3).then_some(())).await;
    let texts: Vec<String> = all(&root, "message-text").iter().filter_map(|text| text.text_content()).collect();
    assert_eq!(texts, ["oldest", "older", "newest"]);
}
