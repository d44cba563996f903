//! How the inbox writes names, times, days and sizes.

use api_types::{ConversationSummary, InboxCustomer, MessageDirection, MessagePreview, MessageType};

use crate::i18n::{I18n, Language};

/// The customer as agents call them: their WhatsApp name, else their number, else their user id.
pub fn customer_label(customer: &InboxCustomer) -> String {
    let name = customer.name.trim();
    if !name.is_empty() {
        return name.to_owned();
    }
    if let Some(wa_id) = customer.wa_id.as_deref().filter(|id| !id.is_empty()) {
        return phone_label(wa_id);
    }
    customer.user_id.clone().unwrap_or_default()
}

/// A `wa_id` (digits) as a phone number: `+8613800000000`.
pub fn phone_label(wa_id: &str) -> String {
    if wa_id.starts_with('+') {
        wa_id.to_owned()
    } else {
        format!("+{wa_id}")
    }
}

/// The customer's number, else their user id (the line under the name).
pub fn customer_address(customer: &InboxCustomer) -> String {
    match (customer.wa_id.as_deref(), customer.user_id.as_deref()) {
        (Some(wa_id), _) if !wa_id.is_empty() => phone_label(wa_id),
        (_, Some(user_id)) => user_id.to_owned(),
        _ => String::new(),
    }
}

/// One letter for the avatar.
pub fn initial(conversation: &ConversationSummary) -> String {
    let label = customer_label(&conversation.customer);
    label.chars().find(|c| c.is_alphanumeric()).map(|c| c.to_uppercase().to_string()).unwrap_or_else(|| "#".into())
}

fn date(millis: i64) -> js_sys::Date {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis as f64))
}

/// The local calendar day of a time, as one comparable number (`20261201`).
pub fn day_key(millis: i64) -> u32 {
    let date = date(millis);
    date.get_full_year() * 10_000 + (date.get_month() + 1) * 100 + date.get_date()
}

/// `14:05`, local time.
pub fn clock_time(millis: i64) -> String {
    let date = date(millis);
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

fn now_millis() -> i64 {
    js_sys::Date::now() as i64
}

fn locale(i18n: I18n) -> &'static str {
    match i18n.language() {
        Language::English => "en-GB",
        Language::SimplifiedChinese => "zh-CN",
    }
}

/// A date in the current language: `1 December 2026` / `2026年12月1日`.
pub fn long_date(i18n: I18n, millis: i64) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [("year", "numeric"), ("month", "long"), ("day", "numeric")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    date(millis).to_locale_date_string(locale(i18n), &options).into()
}

/// A day separator's text: Today, Yesterday, or the date.
pub fn day_label(i18n: I18n, millis: i64) -> String {
    let today = day_key(now_millis());
    let day = day_key(millis);
    if day == today {
        i18n.t("inbox.day.today").to_owned()
    } else if day == day_key(now_millis() - 86_400_000) {
        i18n.t("inbox.day.yesterday").to_owned()
    } else {
        long_date(i18n, millis)
    }
}

/// A list row's time: the clock today, "Yesterday", else the short date.
pub fn activity_label(i18n: I18n, millis: i64) -> String {
    if millis <= 0 {
        return String::new();
    }
    let day = day_key(millis);
    if day == day_key(now_millis()) {
        clock_time(millis)
    } else if day == day_key(now_millis() - 86_400_000) {
        i18n.t("inbox.day.yesterday").to_owned()
    } else {
        let options = js_sys::Object::new();
        for (key, value) in [("month", "short"), ("day", "numeric")] {
            let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
        }
        date(millis).to_locale_date_string(locale(i18n), &options).into()
    }
}

/// A file size in words: `980 B`, `12.4 KB`, `3.1 MB`.
pub fn file_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let size = bytes as f64;
    if size < KB {
        format!("{bytes} B")
    } else if size < KB * KB {
        format!("{:.1} KB", size / KB)
    } else {
        format!("{:.1} MB", size / (KB * KB))
    }
}

/// The list's preview of a conversation's newest message: its text (or what kind of message it
/// is), after "You: " when the business sent it. Always shown as text.
pub fn preview_label(i18n: I18n, preview: &MessagePreview) -> String {
    let text = preview.text.as_deref().map(str::trim).filter(|text| !text.is_empty()).map(|text| text.replace('\n', " "));
    let kind = match preview.kind {
        MessageType::Image => Some("inbox.preview.image"),
        MessageType::Video => Some("inbox.preview.video"),
        MessageType::Audio => Some("inbox.preview.audio"),
        MessageType::Document => Some("inbox.preview.document"),
        MessageType::Sticker => Some("inbox.preview.sticker"),
        MessageType::Location => Some("inbox.message.location"),
        MessageType::Contacts => Some("inbox.message.contacts"),
        MessageType::Order => Some("inbox.message.order"),
        MessageType::Text | MessageType::Interactive | MessageType::Button | MessageType::System => None,
        _ => Some("inbox.preview.other"),
    };
    let body = match (kind, text) {
        (Some(kind), Some(text)) => format!("{} · {text}", i18n.t(kind)),
        (Some(kind), None) => i18n.t(kind).to_owned(),
        (None, Some(text)) => text,
        (None, None) => i18n.t("inbox.preview.other").to_owned(),
    };
    if preview.direction == MessageDirection::Outbound {
        i18n.tf("inbox.preview.you", &[("text", &body)])
    } else {
        body
    }
}
