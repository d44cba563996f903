//! The composer: text with a live counter against WhatsApp's limit, Enter sends and Shift+Enter
//! adds a line (not while an input method is composing, such as Chinese pinyin), files checked
//! against WhatsApp's media limits before upload, and the "typing" notice at most every 20 s.

use api_types::send_limits::{kind_for_mime, media_problem, MediaProblem, MAX_CAPTION_CHARS, MAX_TEXT_CHARS};
use api_types::MessageType;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::api::{inbox, use_api};
use crate::i18n::{use_i18n, I18n};

/// What the agent sends.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Text(String),
    /// A file checked against the limits, sent as `kind`, with the composer's text as caption.
    File { file: web_sys::File, kind: MessageType, caption: Option<String> },
}

/// Whether this Enter key press sends: not with Shift (a new line), and not while an input
/// method is composing (its Enter picks the candidate; Safari reports that as key code 229).
pub fn enter_sends(key: &str, shift: bool, composing: bool, key_code: u32) -> bool {
    key == "Enter" && !shift && !composing && key_code != 229
}

/// The "typing" notice goes at most once every 20 s while the agent types.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TypingThrottle {
    last_sent_at: Option<f64>,
}

impl TypingThrottle {
    pub const INTERVAL_MS: f64 = 20_000.0;

    /// A key was typed at `now_ms`: true when a notice should go now.
    pub fn typed(&mut self, now_ms: f64) -> bool {
        match self.last_sent_at {
            Some(last) if now_ms - last < TypingThrottle::INTERVAL_MS => false,
            _ => {
                self.last_sent_at = Some(now_ms);
                true
            }
        }
    }

    /// After a send the customer's phone stops showing "typing": the next key may notify again.
    pub fn sent(&mut self) {
        self.last_sent_at = None;
    }
}

/// The characters WhatsApp counts (Unicode scalar values: one per Chinese character too).
pub fn char_count(text: &str) -> usize {
    text.chars().count()
}

/// Why a file cannot be sent, in words; `None` when it can, with the type it goes as.
pub fn file_problem(i18n: I18n, mime_type: &str, size_bytes: u64) -> Result<MessageType, String> {
    let kind = kind_for_mime(mime_type);
    match media_problem(&kind, mime_type, size_bytes) {
        None => Ok(kind),
        Some(MediaProblem::TooLarge { max_bytes }) => {
            Err(i18n.tf("inbox.composer.too_large", &[("size", &super::format::file_size(max_bytes))]))
        }
        Some(MediaProblem::WrongType { allowed }) => Err(i18n.tf("inbox.composer.wrong_type", &[("types", &allowed.join(", "))])),
        Some(MediaProblem::Empty) => Err(i18n.t("inbox.composer.empty_file").to_owned()),
    }
}

/// A new client message id: a random (version 4) UUID. Made from `crypto.getRandomValues`,
/// which, unlike `crypto.randomUUID`, also works on a console served over plain HTTP.
pub fn new_client_message_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|window| window.crypto().ok())
        .is_some_and(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for byte in bytes.iter_mut() {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The text box, its counter, attach and send.
#[component]
pub fn Composer(
    /// The open conversation (typing notices go to it).
    #[prop(into)]
    conversation_id: Signal<Option<String>>,
    /// The agent sends text or a file.
    on_send: Callback<Outgoing>,
) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let throttle = StoredValue::new(TypingThrottle::default());
    let input = NodeRef::<leptos::html::Textarea>::new();
    let file_input = NodeRef::<leptos::html::Input>::new();
    let count = Memo::new(move |_| text.with(|text| char_count(text)));
    let too_long = move || count.get() > MAX_TEXT_CHARS;
    let can_send = move || conversation_id.with(Option::is_some) && !too_long() && text.with(|text| !text.trim().is_empty());

    let fit_height = move || {
        if let Some(textarea) = input.get_untracked() {
            let style = web_sys::HtmlElement::style(&textarea);
            let _ = style.set_property("height", "auto");
            let _ = style.set_property("height", &format!("{}px", textarea.scroll_height().min(160)));
        }
    };
    let send = move || {
        if !can_send() {
            return;
        }
        let body = text.get_untracked();
        on_send.run(Outgoing::Text(body.trim_end().to_owned()));
        text.set(String::new());
        problem.set(None);
        throttle.update_value(TypingThrottle::sent);
        if let Some(textarea) = input.get_untracked() {
            textarea.set_value("");
        }
        fit_height();
    };
    let on_input = move |event: web_sys::Event| {
        text.set(event_target_value(&event));
        fit_height();
        let mut notify = false;
        throttle.update_value(|throttle| notify = throttle.typed(js_sys::Date::now()));
        if let (true, Some(conversation_id)) = (notify, conversation_id.get_untracked()) {
            leptos::task::spawn_local(async move {
                if let Err(error) = inbox::typing(api, &conversation_id).await {
                    leptos::logging::warn!("the typing notice failed: {error}");
                }
            });
        }
    };
    let on_keydown = move |event: web_sys::KeyboardEvent| {
        if enter_sends(&event.key(), event.shift_key(), event.is_composing(), event.key_code()) {
            event.prevent_default();
            send();
        }
    };
    let on_file = move |event: web_sys::Event| {
        let Some(target) = event.target().and_then(|target| target.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        let Some(file) = target.files().and_then(|files| files.get(0)) else { return };
        target.set_value("");
        match file_problem(i18n, &file.type_(), file.size() as u64) {
            Err(reason) => problem.set(Some(reason)),
            Ok(kind) => {
                let caption = text.get_untracked().trim().to_owned();
                if char_count(&caption) > MAX_CAPTION_CHARS {
                    problem.set(Some(i18n.tf("inbox.composer.caption_too_long", &[("limit", &MAX_CAPTION_CHARS.to_string())])));
                    return;
                }
                problem.set(None);
                let caption = (!caption.is_empty() && kind != MessageType::Audio && kind != MessageType::Sticker).then_some(caption);
                if caption.is_some() {
                    text.set(String::new());
                    if let Some(textarea) = input.get_untracked() {
                        textarea.set_value("");
                    }
                }
                on_send.run(Outgoing::File { file, kind, caption });
            }
        }
    };
    let shown_problem = move || {
        problem.get().or_else(|| too_long().then(|| i18n.tf("inbox.composer.too_long", &[("limit", &MAX_TEXT_CHARS.to_string())])))
    };
    view! {
        <div class="composer">
            {move || shown_problem().map(|reason| view! { <p class="composer-error" role="alert" data-testid="composer-error">{reason}</p> })}
            <div class="composer-row">
                <button
                    type="button"
                    class="composer-icon-button"
                    data-testid="composer-attach"
                    title=i18n.text("inbox.composer.attach")
                    aria-label=i18n.text("inbox.composer.attach")
                    disabled=move || conversation_id.with(Option::is_none)
                    on:click=move |_| {
                        if let Some(picker) = file_input.get_untracked() {
                            picker.click();
                        }
                    }
                >
                    <svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" aria-hidden="true">
                        <path d="M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.6-8.6a3.4 3.4 0 0 1 4.8 4.8l-8.6 8.6a1.7 1.7 0 0 1-2.4-2.4l7.9-7.9" />
                    </svg>
                </button>
                <input type="file" class="visually-hidden" tabindex="-1" aria-hidden="true" node_ref=file_input data-testid="composer-file" on:change=on_file />
                <textarea
                    class="composer-input"
                    rows="1"
                    data-testid="composer-input"
                    node_ref=input
                    placeholder=i18n.text("inbox.composer.placeholder")
                    aria-label=i18n.text("inbox.composer.placeholder")
                    disabled=move || conversation_id.with(Option::is_none)
                    on:input=on_input
                    on:keydown=on_keydown
                ></textarea>
                <span class="composer-counter" class:composer-counter-over=too_long data-testid="composer-counter" aria-live="polite">
                    {move || format!("{} / {}", count.get(), MAX_TEXT_CHARS)}
                </span>
                <button
                    type="button"
                    class="composer-send"
                    data-testid="composer-send"
                    title=i18n.text("inbox.composer.send")
                    aria-label=i18n.text("inbox.composer.send")
                    disabled=move || !can_send()
                    on:click=move |_| send()
                >
                    <svg viewBox="0 0 24 24" width="22" height="22" fill="currentColor" aria-hidden="true">
                        <path d="M3.4 20.4l17.5-7.5a1 1 0 0 0 0-1.8L3.4 3.6a.9.9 0 0 0-1.3 1L4 11l9 1-9 1-1.9 6.4a.9.9 0 0 0 1.3 1z" />
                    </svg>
                </button>
            </div>
        </div>
    }
}
