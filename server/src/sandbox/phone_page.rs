//! `GET {base}/sandbox/phone`: the sandbox's customers' phones, for showing and testing the
//! inbox offline. A tester picks a business number and who the customer is, then chats as that
//! customer's WhatsApp would; the page speaks only the documented phone API
//! (`/intwa-api/whatsapp/sandbox/phone/...`, [`super::phone_api`]) and polls the chat.
//!
//! Server-rendered: customer-supplied text (names, messages, file names) is escaped here or set
//! as text by the script, never parsed as markup. The inline style and script carry the
//! response's CSP nonce. English and Simplified Chinese (`?lang=zh-CN`, or Accept-Language).
//! Outside sandbox mode the page answers 404.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::facebook::{escape_html, script_json};
use super::phone_api::{self, SandboxBusinessNumber, MAX_MEDIA_BYTES};
use crate::state::AppState;
use crate::web::error::ApiError;
use crate::web::headers::{html_page, PagePolicy};

/// How often the page asks for the chat (it is in memory: cheap).
const POLL_MILLIS: u64 = 700;

/// The languages the page speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    SimplifiedChinese,
}

impl Language {
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::SimplifiedChinese => "zh-CN",
        }
    }

    fn of_tag(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::English),
            "zh" => Some(Language::SimplifiedChinese),
            _ => None,
        }
    }

    /// `?lang=` when it names a language the page speaks, else the first such language of
    /// `Accept-Language` by preference, else English.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Language {
        if let Some(language) = query.and_then(Language::of_tag) {
            return language;
        }
        let mut offered: Vec<(f32, usize, Language)> = accept_language
            .unwrap_or("")
            .split(',')
            .enumerate()
            .filter_map(|(position, item)| {
                let mut parts = item.split(';');
                let language = Language::of_tag(parts.next()?)?;
                let quality = parts
                    .filter_map(|parameter| parameter.trim().strip_prefix("q="))
                    .find_map(|value| value.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (quality > 0.0).then_some((quality, position, language))
            })
            .collect();
        offered.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(&right.1)));
        offered.first().map_or(Language::English, |(_, _, language)| *language)
    }
}

/// Every string the page shows. The script's share goes to it as JSON ([`ScriptStrings`]).
struct Strings {
    title: &'static str,
    badge: &'static str,
    language: &'static str,
    setup_title: &'static str,
    intro: &'static str,
    number_label: &'static str,
    no_numbers: &'static str,
    customer_legend: &'static str,
    wa_id_label: &'static str,
    user_id_label: &'static str,
    user_id_hint: &'static str,
    name_label: &'static str,
    chats_title: &'static str,
    extras_title: &'static str,
    location_legend: &'static str,
    latitude: &'static str,
    longitude: &'static str,
    place_name: &'static str,
    send_location: &'static str,
    contact_legend: &'static str,
    contact_name: &'static str,
    contact_phone: &'static str,
    send_contact: &'static str,
    phone_label: &'static str,
    read: &'static str,
    auto_read: &'static str,
    attach: &'static str,
    message_label: &'static str,
    default_name: &'static str,
    default_wa_id: &'static str,
    default_place: &'static str,
    default_contact_name: &'static str,
    script: ScriptStrings,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScriptStrings {
    typing: &'static str,
    empty: &'static str,
    pick_customer: &'static str,
    no_number: &'static str,
    message_placeholder: &'static str,
    caption_placeholder: &'static str,
    send: &'static str,
    remove_attachment: &'static str,
    status_pending: &'static str,
    status_sent: &'static str,
    status_delivered: &'static str,
    status_read: &'static str,
    status_played: &'static str,
    status_failed: &'static str,
    image: &'static str,
    document: &'static str,
    video: &'static str,
    audio: &'static str,
    sticker: &'static str,
    location: &'static str,
    contacts: &'static str,
    too_large: &'static str,
    no_answer: &'static str,
}

const ENGLISH: Strings = Strings {
    title: "Sandbox phone",
    badge: "Sandbox",
    language: "Language",
    setup_title: "Who is chatting",
    intro: "Play a customer: pick a business number and who you are, then chat the way the customer's WhatsApp would. \
            What you send reaches the console as Meta's webhooks.",
    number_label: "Business number",
    no_numbers: "No business number yet. Connect one in the console (Onboarding), then reload this page.",
    customer_legend: "Customer",
    wa_id_label: "Phone number (WhatsApp id)",
    user_id_label: "User id",
    user_id_hint: "For a customer known without a number: leave the phone number empty.",
    name_label: "Profile name",
    chats_title: "Chats with this number",
    extras_title: "Send something else",
    location_legend: "Share a location",
    latitude: "Latitude",
    longitude: "Longitude",
    place_name: "Place name",
    send_location: "Send location",
    contact_legend: "Share a contact",
    contact_name: "Contact name",
    contact_phone: "Contact phone",
    send_contact: "Send contact",
    phone_label: "The customer's WhatsApp",
    read: "Mark as read",
    auto_read: "Read new messages at once",
    attach: "Attach an image or a document",
    message_label: "Message",
    default_name: "Sheena Nelson",
    default_wa_id: "+1 650 555 1234",
    default_place: "People's Square, Shanghai",
    default_contact_name: "Li Lei",
    script: ScriptStrings {
        typing: "typing…",
        empty: "No messages yet. Say hello!",
        pick_customer: "Enter a phone number or a user id to open the chat.",
        no_number: "Pick a business number first.",
        message_placeholder: "Type a message",
        caption_placeholder: "Add a caption (optional)",
        send: "Send",
        remove_attachment: "Remove the attachment",
        status_pending: "Pending",
        status_sent: "Sent",
        status_delivered: "Delivered",
        status_read: "Read",
        status_played: "Played",
        status_failed: "Failed",
        image: "Photo",
        document: "Document",
        video: "Video",
        audio: "Audio",
        sticker: "Sticker",
        location: "Location",
        contacts: "Contact card",
        too_large: "The file is larger than 5 MB.",
        no_answer: "The sandbox server did not answer.",
    },
};

const SIMPLIFIED_CHINESE: Strings = Strings {
    title: "沙盒手机",
    badge: "沙盒",
    language: "语言",
    setup_title: "谁在聊天",
    intro: "扮演客户：选择企业号码和客户身份，然后像在客户的 WhatsApp 上一样聊天。你发送的内容会以 Meta webhook 的形式到达控制台。",
    number_label: "企业号码",
    no_numbers: "还没有企业号码。请先在控制台（接入）中连接一个号码，然后刷新本页。",
    customer_legend: "客户",
    wa_id_label: "手机号码（WhatsApp ID）",
    user_id_label: "用户 ID",
    user_id_hint: "没有手机号码的客户：请清空手机号码。",
    name_label: "个人资料名称",
    chats_title: "与此号码的聊天",
    extras_title: "发送其他内容",
    location_legend: "发送位置",
    latitude: "纬度",
    longitude: "经度",
    place_name: "地点名称",
    send_location: "发送位置",
    contact_legend: "发送联系人",
    contact_name: "联系人姓名",
    contact_phone: "联系人电话",
    send_contact: "发送联系人",
    phone_label: "客户的 WhatsApp",
    read: "标为已读",
    auto_read: "新消息自动标为已读",
    attach: "附加图片或文件",
    message_label: "消息",
    default_name: "李伟",
    default_wa_id: "+86 138 0013 8000",
    default_place: "上海人民广场",
    default_contact_name: "李雷",
    script: ScriptStrings {
        typing: "正在输入…",
        empty: "还没有消息。打个招呼吧！",
        pick_customer: "输入手机号码或用户 ID 以打开聊天。",
        no_number: "请先选择企业号码。",
        message_placeholder: "输入消息",
        caption_placeholder: "添加说明（可选）",
        send: "发送",
        remove_attachment: "移除附件",
        status_pending: "等待中",
        status_sent: "已发送",
        status_delivered: "已送达",
        status_read: "已读",
        status_played: "已播放",
        status_failed: "发送失败",
        image: "照片",
        document: "文件",
        video: "视频",
        audio: "语音",
        sticker: "贴纸",
        location: "位置",
        contacts: "联系人名片",
        too_large: "文件超过 5 MB。",
        no_answer: "沙盒服务器没有响应。",
    },
};

fn strings(language: Language) -> &'static Strings {
    match language {
        Language::English => &ENGLISH,
        Language::SimplifiedChinese => &SIMPLIFIED_CHINESE,
    }
}

/// What the page may be opened with, so a test or a demo link lands on one chat.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    lang: Option<String>,
    /// The business number's `phone_number_id`.
    number: Option<String>,
    wa_id: Option<String>,
    user_id: Option<String>,
    name: Option<String>,
}

/// What the script starts with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageConfig<'a> {
    lang: &'static str,
    /// Where the phone API is: `{base}/intwa-api/whatsapp/sandbox/phone`.
    api: String,
    numbers: &'a [SandboxBusinessNumber],
    poll_millis: u64,
    max_media_bytes: usize,
    strings: &'static ScriptStrings,
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<PageQuery>) -> Response {
    if state.sandbox.is_none() {
        return ApiError::not_found("The sandbox phone exists only in sandbox mode").into_response();
    }
    let numbers = match phone_api::business_numbers(&state.db).await {
        Ok(numbers) => numbers,
        Err(cause) => return ApiError::from(cause).into_response(),
    };
    let accept_language = headers.get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok());
    let language = Language::choose(query.lang.as_deref(), accept_language);
    let api = format!("{}{}/whatsapp/sandbox/phone", state.settings.base_path, crate::API_PREFIX);
    let mut response = html_page(&page_html(language, &numbers, &query, api), &PagePolicy::default(), false);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

fn number_options(numbers: &[SandboxBusinessNumber], selected: &str) -> String {
    numbers
        .iter()
        .map(|number| {
            let chosen = if number.phone_number_id == selected { " selected" } else { "" };
            format!(
                "<option value=\"{}\"{chosen}>{} · {}</option>",
                escape_html(&number.phone_number_id),
                escape_html(&number.display_phone_number),
                escape_html(&number.verified_name),
            )
        })
        .collect()
}

/// The page for `language`, opened on the chat `query` names (or a sample customer).
fn page_html(language: Language, numbers: &[SandboxBusinessNumber], query: &PageQuery, api: String) -> String {
    let text = strings(language);
    let selected = query
        .number
        .as_deref()
        .filter(|wanted| numbers.iter().any(|number| number.phone_number_id == *wanted))
        .or_else(|| numbers.first().map(|number| number.phone_number_id.as_str()))
        .unwrap_or("");
    // Opened without a customer: a sample one, so the chat works at once.
    let any_customer = query.wa_id.is_some() || query.user_id.is_some() || query.name.is_some();
    let (wa_id, user_id, name) = if any_customer {
        (query.wa_id.as_deref().unwrap_or(""), query.user_id.as_deref().unwrap_or(""), query.name.as_deref().unwrap_or(""))
    } else {
        (text.default_wa_id, "", text.default_name)
    };
    let no_numbers = if numbers.is_empty() {
        format!("<p class=\"problem\" data-testid=\"phone-no-numbers\" role=\"status\">{}</p>", escape_html(text.no_numbers))
    } else {
        String::new()
    };
    let config = PageConfig {
        lang: language.tag(),
        api,
        numbers,
        poll_millis: POLL_MILLIS,
        max_media_bytes: MAX_MEDIA_BYTES,
        strings: &text.script,
    };
    let (english_current, chinese_current) = match language {
        Language::English => (" aria-current=\"true\"", ""),
        Language::SimplifiedChinese => ("", " aria-current=\"true\""),
    };
    let texts: [(&str, &str); 31] = [
        ("lang", language.tag()),
        ("title", text.title),
        ("badge", text.badge),
        ("language", text.language),
        ("setup_title", text.setup_title),
        ("intro", text.intro),
        ("number_label", text.number_label),
        ("customer_legend", text.customer_legend),
        ("wa_id_label", text.wa_id_label),
        ("user_id_label", text.user_id_label),
        ("user_id_hint", text.user_id_hint),
        ("name_label", text.name_label),
        ("chats_title", text.chats_title),
        ("extras_title", text.extras_title),
        ("location_legend", text.location_legend),
        ("latitude", text.latitude),
        ("longitude", text.longitude),
        ("place_name", text.place_name),
        ("send_location", text.send_location),
        ("contact_legend", text.contact_legend),
        ("contact_name", text.contact_name),
        ("contact_phone", text.contact_phone),
        ("send_contact", text.send_contact),
        ("phone_label", text.phone_label),
        ("read", text.read),
        ("auto_read", text.auto_read),
        ("attach", text.attach),
        ("message_label", text.message_label),
        ("send", text.script.send),
        ("default_place", text.default_place),
        ("default_contact_name", text.default_contact_name),
    ];
    let mut values: HashMap<&str, String> = texts.into_iter().map(|(key, value)| (key, escape_html(value))).collect();
    values.insert("wa_id", escape_html(wa_id));
    values.insert("user_id", escape_html(user_id));
    values.insert("name", escape_html(name));
    values.insert("english_current", english_current.to_owned());
    values.insert("chinese_current", chinese_current.to_owned());
    values.insert("no_numbers", no_numbers);
    values.insert("number_options", number_options(numbers, selected));
    values.insert("config_json", script_json(&config));
    fill(PAGE_HTML, &values)
}

/// `template` with each `{{key}}` replaced by its value, in one pass: a value is never read
/// again, so text that looks like a placeholder (a customer named `{{config_json}}`) stays text.
fn fill(template: &str, values: &HashMap<&str, String>) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| values.get(&after[..end]).map(|value| (end, value))) {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

const PAGE_HTML: &str = r##"<!doctype html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · wadesk</title>
<style>
  :root { --green: #008069; --teal: #00a884; --out: #d9fdd3; --in: #ffffff; --chat: #efeae2; --text: #111b21; --muted: #667781; --line: #e9edef; --blue: #53bdeb; }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; min-height: 100vh; color: var(--text); background: #d1d7db linear-gradient(var(--teal), var(--teal)) no-repeat top / 100% 190px;
    font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
  .top { display: flex; justify-content: space-between; align-items: center; padding: 16px 32px; color: #fff; }
  .brand { display: flex; align-items: center; gap: 10px; font-size: 18px; font-weight: 600; }
  .brand svg { width: 26px; height: 26px; }
  .badge { font-size: 12px; font-weight: 600; background: rgba(255, 255, 255, .22); border-radius: 10px; padding: 2px 9px; }
  .langs { font-size: 14px; }
  .langs a { color: #fff; opacity: .85; }
  .langs a[aria-current] { opacity: 1; font-weight: 700; text-decoration: none; }
  .layout { display: flex; gap: 28px; justify-content: center; align-items: flex-start; flex-wrap: wrap; padding: 4px 24px 32px; }
  .panel { width: 350px; background: #fff; border-radius: 14px; box-shadow: 0 2px 12px rgba(11, 20, 26, .14); padding: 20px 22px 22px; }
  .panel.extras { width: 300px; }
  .panel h2 { font-size: 17px; margin: 0 0 6px; }
  .note { color: var(--muted); font-size: 13px; line-height: 1.5; margin: 0 0 6px; }
  .hint { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
  .problem { color: #b3261e; font-size: 13px; }
  label { display: block; font-size: 13px; font-weight: 600; margin: 12px 0 4px; }
  .panel input, .panel select { width: 100%; font: inherit; font-size: 14px; padding: 8px 10px; border: 1px solid #d1d7db; border-radius: 8px; background: #fff; color: var(--text); }
  .panel input:focus, .panel select:focus, .composer textarea:focus, button:focus-visible, .attach:focus-within { outline: 2px solid var(--teal); outline-offset: 1px; }
  fieldset { border: 1px solid var(--line); border-radius: 10px; margin: 16px 0 0; padding: 2px 14px 14px; }
  legend { font-size: 13px; color: var(--muted); padding: 0 6px; }
  .row { display: flex; gap: 10px; }
  .row > div { flex: 1; min-width: 0; }
  .panel button { margin-top: 12px; padding: 7px 16px; font: inherit; font-size: 14px; font-weight: 600; color: var(--green); background: #fff; border: 1px solid var(--green); border-radius: 18px; cursor: pointer; }
  .panel button:hover { background: #e7f8f2; }
  .check { display: flex; gap: 8px; align-items: center; font-weight: 400; margin-top: 14px; }
  .check input { width: auto; }
  .chats h3 { font-size: 13px; color: var(--muted); font-weight: 600; margin: 16px 0 6px; }
  .chat-list { display: flex; flex-wrap: wrap; gap: 6px; }
  .chat-list button { margin: 0; padding: 4px 12px; font-weight: 500; font-size: 13px; border-color: #d1d7db; color: var(--text); }
  .chat-list button[aria-pressed="true"] { border-color: var(--green); background: #e7f8f2; color: var(--green); }
  .error { color: #b3261e; font-size: 13px; min-height: 1.3em; margin: 12px 0 0; }
  .phone { width: 392px; height: 780px; padding: 12px; background: #1f2c33; border-radius: 48px; box-shadow: 0 14px 36px rgba(11, 20, 26, .35), inset 0 0 0 2px #3b4a54; }
  .screen { position: relative; height: 100%; display: flex; flex-direction: column; overflow: hidden; border-radius: 37px; background: var(--chat); }
  .chat-head { display: flex; align-items: center; gap: 10px; padding: 30px 14px 10px; color: #fff; background: var(--green); }
  .avatar { flex: none; width: 40px; height: 40px; border-radius: 50%; display: flex; align-items: center; justify-content: center; font-weight: 700; font-size: 17px; color: var(--green); background: #d9fdd3; }
  .who { flex: 1; min-width: 0; }
  .biz-name { font-size: 16px; font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .biz-sub { font-size: 12.5px; opacity: .85; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .read-button { flex: none; font: inherit; font-size: 12px; padding: 5px 10px; color: #fff; background: rgba(255, 255, 255, .14); border: 1px solid rgba(255, 255, 255, .55); border-radius: 14px; cursor: pointer; }
  .read-button:hover { background: rgba(255, 255, 255, .25); }
  .messages { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: 12px 12px 8px; display: flex; flex-direction: column; gap: 5px; }
  .bubble { max-width: 82%; padding: 6px 8px 4px 9px; border-radius: 8px; font-size: 14.2px; line-height: 1.38; box-shadow: 0 1px .5px rgba(11, 20, 26, .13); overflow-wrap: anywhere; }
  .bubble.in { align-self: flex-start; background: var(--in); border-top-left-radius: 2px; }
  .bubble.out { align-self: flex-end; background: var(--out); border-top-right-radius: 2px; }
  .bubble .text { white-space: pre-wrap; }
  .kind { display: block; font-size: 12px; font-weight: 600; color: var(--green); margin-bottom: 2px; }
  .meta { display: flex; justify-content: flex-end; align-items: center; gap: 4px; margin-top: 2px; font-size: 11px; color: var(--muted); }
  .ticks { font-size: 12.5px; font-weight: 700; letter-spacing: -4px; padding-right: 4px; color: var(--muted); }
  .ticks.read, .ticks.played { color: var(--blue); }
  .ticks.failed { color: #b3261e; letter-spacing: 0; padding-right: 0; }
  .thumb { display: block; max-width: 250px; max-height: 250px; border-radius: 6px; margin: 0 0 4px; }
  .file { display: flex; align-items: center; gap: 8px; margin: 0 0 4px; padding: 8px 10px; border-radius: 6px; background: rgba(11, 20, 26, .05); color: var(--text); text-decoration: none; }
  .file svg { flex: none; width: 26px; height: 30px; }
  .empty { position: absolute; left: 24px; right: 24px; top: 42%; margin: 0; text-align: center; font-size: 13px; color: #54656f; background: #fff8c5; padding: 8px 12px; border-radius: 8px; box-shadow: 0 1px .5px rgba(11, 20, 26, .13); }
  .staged { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 7px 14px; font-size: 13px; background: #fff; border-top: 1px solid var(--line); }
  .staged button { font-size: 18px; line-height: 1; border: none; background: none; color: var(--muted); cursor: pointer; }
  .composer { display: flex; align-items: flex-end; gap: 6px; padding: 8px 10px 18px; background: #f0f2f5; }
  .attach { flex: none; margin: 0; width: 42px; height: 42px; display: flex; align-items: center; justify-content: center; border-radius: 50%; color: #54656f; cursor: pointer; }
  .attach:hover { background: #e2e6e9; }
  .attach svg, .send svg { width: 24px; height: 24px; }
  .composer textarea { flex: 1; min-height: 42px; max-height: 120px; resize: none; font: inherit; font-size: 15px; line-height: 1.35; padding: 10px 14px; border: none; border-radius: 21px; background: #fff; color: var(--text); }
  .send { flex: none; width: 42px; height: 42px; display: flex; align-items: center; justify-content: center; border: none; border-radius: 50%; color: #fff; background: var(--teal); cursor: pointer; }
  .send:hover { background: var(--green); }
  .visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
</style>
</head>
<body>
<header class="top">
  <div class="brand">
    <svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 2a10 10 0 0 0-8.6 15.1L2 22l5-1.3A10 10 0 1 0 12 2Zm0 18.2a8.2 8.2 0 0 1-4.2-1.1l-.3-.2-3 .8.8-2.9-.2-.3A8.2 8.2 0 1 1 12 20.2Z"/></svg>
    <span>{{title}}</span><span class="badge">{{badge}}</span>
  </div>
  <nav class="langs" aria-label="{{language}}">
    <a id="lang-en" data-testid="phone-lang-en" href="?lang=en" hreflang="en" lang="en"{{english_current}}>English</a>
    ·
    <a id="lang-zh" data-testid="phone-lang-zh" href="?lang=zh-CN" hreflang="zh-CN" lang="zh-CN"{{chinese_current}}>简体中文</a>
  </nav>
</header>
<main class="layout">
  <section class="panel" aria-labelledby="setup-title">
    <h2 id="setup-title">{{setup_title}}</h2>
    <p class="note">{{intro}}</p>
    <label for="number">{{number_label}}</label>
    <select id="number" data-testid="phone-number-select">{{number_options}}</select>
    {{no_numbers}}
    <fieldset>
      <legend>{{customer_legend}}</legend>
      <label for="wa-id">{{wa_id_label}}</label>
      <input id="wa-id" data-testid="phone-customer-wa-id" inputmode="tel" autocomplete="off" value="{{wa_id}}">
      <label for="user-id">{{user_id_label}}</label>
      <input id="user-id" data-testid="phone-customer-user-id" autocomplete="off" value="{{user_id}}" aria-describedby="user-id-hint">
      <p class="hint" id="user-id-hint">{{user_id_hint}}</p>
      <label for="name">{{name_label}}</label>
      <input id="name" data-testid="phone-customer-name" autocomplete="off" value="{{name}}">
      <div class="chats" id="chats" data-testid="phone-chats" hidden>
        <h3 id="chats-title">{{chats_title}}</h3>
        <div class="chat-list" id="chat-list" role="group" aria-labelledby="chats-title"></div>
      </div>
    </fieldset>
    <label class="check"><input type="checkbox" id="auto-read" data-testid="phone-auto-read"> {{auto_read}}</label>
    <p class="error" id="error" data-testid="phone-error" role="alert"></p>
  </section>

  <section class="phone" aria-label="{{phone_label}}">
    <div class="screen">
      <div class="chat-head">
        <div class="avatar" id="avatar" aria-hidden="true"></div>
        <div class="who">
          <div class="biz-name" id="biz-name" data-testid="phone-business-name"></div>
          <div class="biz-sub"><span id="biz-number" data-testid="phone-business-number"></span><span id="typing" data-testid="phone-typing" role="status" hidden></span></div>
        </div>
        <button type="button" class="read-button" id="read" data-testid="phone-read">{{read}}</button>
      </div>
      <ol class="messages" id="messages" data-testid="phone-messages" aria-live="polite"></ol>
      <p class="empty" id="empty" data-testid="phone-empty"></p>
      <div class="staged" id="staged" data-testid="phone-attachment" hidden>
        <span id="staged-name"></span>
        <button type="button" id="unstage" data-testid="phone-attachment-remove">×</button>
      </div>
      <form class="composer" id="composer">
        <label class="attach" title="{{attach}}">
          <svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M16.5 6.5v10.6a4.5 4.5 0 0 1-9 0V5.5a3 3 0 0 1 6 0v10.4a1.5 1.5 0 0 1-3 0V6.5H9v9.4a3 3 0 0 0 6 0V5.5a4.5 4.5 0 0 0-9 0v11.6a6 6 0 0 0 12 0V6.5h-1.5Z"/></svg>
          <span class="visually-hidden">{{attach}}</span>
          <input type="file" id="attach" class="visually-hidden" data-testid="phone-attach">
        </label>
        <label for="text" class="visually-hidden">{{message_label}}</label>
        <textarea id="text" data-testid="phone-text" rows="1"></textarea>
        <button type="submit" class="send" id="send" data-testid="phone-send" aria-label="{{send}}" title="{{send}}">
          <svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"/></svg>
        </button>
      </form>
    </div>
  </section>

  <section class="panel extras" aria-labelledby="extras-title">
    <h2 id="extras-title">{{extras_title}}</h2>
    <fieldset>
      <legend>{{location_legend}}</legend>
      <div class="row">
        <div><label for="latitude">{{latitude}}</label><input id="latitude" data-testid="phone-location-latitude" type="number" step="any" min="-90" max="90" value="31.2304"></div>
        <div><label for="longitude">{{longitude}}</label><input id="longitude" data-testid="phone-location-longitude" type="number" step="any" min="-180" max="180" value="121.4737"></div>
      </div>
      <label for="place">{{place_name}}</label>
      <input id="place" data-testid="phone-location-name" value="{{default_place}}">
      <button type="button" id="send-location" data-testid="phone-send-location">{{send_location}}</button>
    </fieldset>
    <fieldset>
      <legend>{{contact_legend}}</legend>
      <label for="contact-name">{{contact_name}}</label>
      <input id="contact-name" data-testid="phone-contact-name" value="{{default_contact_name}}">
      <label for="contact-phone">{{contact_phone}}</label>
      <input id="contact-phone" data-testid="phone-contact-phone" inputmode="tel" value="+86 138 0000 0000">
      <button type="button" id="send-contact" data-testid="phone-send-contact">{{send_contact}}</button>
    </fieldset>
  </section>
</main>
<script>
(function () {
  'use strict';
  var CONFIG = {{config_json}};
  var T = CONFIG.strings;
  var byId = function (id) { return document.getElementById(id); };
  var numberSelect = byId('number');
  var waIdInput = byId('wa-id');
  var userIdInput = byId('user-id');
  var nameInput = byId('name');
  var textInput = byId('text');
  var attachInput = byId('attach');
  var list = byId('messages');
  var errorLine = byId('error');
  var staged = null;
  var lastDrawn = null;
  var drawnChat = null;
  var drawnChats = null;
  var drawnItems = {};
  var generation = 0;
  var reading = false;
  var pollFailed = false;

  var STATUS_TEXT = { pending: T.statusPending, sent: T.statusSent, delivered: T.statusDelivered, read: T.statusRead, played: T.statusPlayed, failed: T.statusFailed };
  var STATUS_MARK = { pending: '\u25F7', sent: '\u2713', delivered: '\u2713\u2713', read: '\u2713\u2713', played: '\u2713\u2713', failed: '!' };
  var KIND_TEXT = { image: T.image, document: T.document, video: T.video, audio: T.audio, sticker: T.sticker, location: T.location, contacts: T.contacts };

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) { made.className = className; }
    if (text !== undefined && text !== null) { made.textContent = text; }
    return made;
  }

  function say(text) { errorLine.textContent = text || ''; }

  function customer() {
    var found = { waId: waIdInput.value.trim(), userId: userIdInput.value.trim(), name: nameInput.value.trim() };
    Object.keys(found).forEach(function (key) { if (!found[key]) { delete found[key]; } });
    return found;
  }

  function chatKey() { return numberSelect.value + '|' + (customer().waId || '') + '|' + (customer().userId || ''); }

  function businessNumber() {
    return CONFIG.numbers.filter(function (number) { return number.phoneNumberId === numberSelect.value; })[0] || null;
  }

  function call(path, body) {
    return fetch(CONFIG.api + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (envelope) {
        if (!response.ok || !envelope || envelope.code !== 0) {
          throw new Error((envelope && envelope.message) || T.noAnswer);
        }
        return envelope.data;
      });
    }, function () { throw new Error(T.noAnswer); });
  }

  function mediaUrl(id) { return CONFIG.api + '/media/' + encodeURIComponent(id); }

  function timeOf(millis) {
    try { return new Date(millis).toLocaleTimeString(CONFIG.lang, { hour: '2-digit', minute: '2-digit' }); } catch (error) { return ''; }
  }

  function documentIcon() {
    var svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 26 30');
    svg.setAttribute('aria-hidden', 'true');
    var page = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    page.setAttribute('d', 'M3 0h14l9 9v18a3 3 0 0 1-3 3H3a3 3 0 0 1-3-3V3a3 3 0 0 1 3-3Z');
    page.setAttribute('fill', '#8696a0');
    var fold = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    fold.setAttribute('d', 'M17 0l9 9h-6a3 3 0 0 1-3-3Z');
    fold.setAttribute('fill', '#c5ced3');
    svg.appendChild(page);
    svg.appendChild(fold);
    return svg;
  }

  function messageItem(message) {
    var item = element('li', 'bubble ' + (message.fromBusiness ? 'in' : 'out'));
    item.setAttribute('data-testid', 'phone-message');
    item.setAttribute('data-wamid', message.wamid);
    item.setAttribute('data-from', message.fromBusiness ? 'business' : 'customer');
    item.setAttribute('data-type', message.type);
    item.setAttribute('data-status', message.status);
    var kindText = KIND_TEXT[message.type];
    var picture = message.mediaId && /^image\/(jpeg|png|webp|gif)$/.test(message.mimeType || '');
    if (message.mediaId && picture) {
      var link = element('a');
      link.href = mediaUrl(message.mediaId);
      link.target = '_blank';
      link.rel = 'noopener';
      var image = element('img', 'thumb');
      image.src = mediaUrl(message.mediaId);
      image.alt = message.fileName || kindText || '';
      image.setAttribute('data-testid', 'phone-message-image');
      link.appendChild(image);
      item.appendChild(link);
    } else if (message.mediaId) {
      var file = element('a', 'file');
      file.href = mediaUrl(message.mediaId);
      file.setAttribute('download', message.fileName || '');
      file.setAttribute('data-testid', 'phone-message-file');
      file.appendChild(documentIcon());
      file.appendChild(element('span', null, message.fileName || kindText || message.type));
      item.appendChild(file);
    } else if (kindText) {
      item.appendChild(element('span', 'kind', kindText));
    }
    if (message.text) {
      var text = element('div', 'text', message.text);
      text.setAttribute('data-testid', 'phone-message-text');
      item.appendChild(text);
    }
    var meta = element('div', 'meta');
    meta.appendChild(element('time', null, timeOf(message.timestamp)));
    var status = element('span');
    status.setAttribute('data-testid', 'phone-message-status');
    status.setAttribute('role', 'img');
    meta.appendChild(status);
    item.appendChild(meta);
    showStatus(item, status, message.status);
    return item;
  }

  function showStatus(item, status, value) {
    item.setAttribute('data-status', value);
    status.className = 'ticks ' + value;
    status.textContent = STATUS_MARK[value] || '';
    status.setAttribute('data-status', value);
    status.setAttribute('aria-label', STATUS_TEXT[value] || value);
    status.title = STATUS_TEXT[value] || value;
  }

  /**
   * Bubbles stay the same elements while the chat grows and ticks change (a test holding one
   * keeps it); only another chat starts the list afresh.
   */
  function drawMessages(messages, chat) {
    if (chat !== drawnChat) {
      drawnChat = chat;
      drawnItems = {};
      list.textContent = '';
    }
    messages.forEach(function (message) {
      var drawn = drawnItems[message.wamid];
      if (!drawn) {
        var item = messageItem(message);
        list.appendChild(item);
        drawnItems[message.wamid] = { item: item, status: message.status };
      } else if (drawn.status !== message.status) {
        drawn.status = message.status;
        showStatus(drawn.item, drawn.item.querySelector('[data-testid="phone-message-status"]'), message.status);
      }
    });
  }

  function drawHeader(typing) {
    var number = businessNumber();
    byId('biz-name').textContent = number ? number.verifiedName : '';
    byId('avatar').textContent = number && number.verifiedName ? Array.from(number.verifiedName)[0].toUpperCase() : '';
    var typingLine = byId('typing');
    typingLine.textContent = T.typing;
    typingLine.hidden = !typing;
    var numberLine = byId('biz-number');
    numberLine.textContent = number ? number.displayPhoneNumber : '';
    numberLine.hidden = !!typing;
  }

  function drawChats(chats) {
    var box = byId('chats');
    var group = byId('chat-list');
    group.textContent = '';
    var current = customer();
    (chats || []).forEach(function (chat) {
      var label = chat.waId ? '+' + chat.waId : chat.userId;
      var button = element('button', null, label);
      button.type = 'button';
      button.setAttribute('data-testid', 'phone-chat');
      var pressed = chat.waId ? chat.waId === (current.waId || '').replace(/\D/g, '') : !current.waId && chat.userId === current.userId;
      button.setAttribute('aria-pressed', pressed ? 'true' : 'false');
      button.addEventListener('click', function () {
        waIdInput.value = chat.waId ? '+' + chat.waId : '';
        userIdInput.value = chat.userId || '';
        nameInput.value = '';
        chatChanged();
      });
      group.appendChild(button);
    });
    box.hidden = !chats || chats.length === 0;
  }

  function draw(thread, notice, chat) {
    var drawn = JSON.stringify([thread, notice, chat]);
    if (drawn === lastDrawn) { return; }
    lastDrawn = drawn;
    var nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    var before = list.children.length;
    drawHeader(thread && thread.typing);
    var chats = JSON.stringify(thread && thread.chats);
    if (chats !== drawnChats) {
      drawnChats = chats;
      drawChats(thread && thread.chats);
    }
    var messages = thread ? thread.messages : [];
    drawMessages(messages, thread ? chat : null);
    var empty = byId('empty');
    empty.textContent = notice || T.empty;
    empty.hidden = messages.length > 0;
    if (nearBottom || messages.length !== before) { list.scrollTop = list.scrollHeight; }
    if (thread && byId('auto-read').checked && hasUnread(thread)) { markRead(); }
  }

  function hasUnread(thread) {
    return thread.messages.some(function (message) { return message.fromBusiness && message.status !== 'read' && message.status !== 'played'; });
  }

  function ready() {
    if (!numberSelect.value) { return T.noNumber; }
    var who = customer();
    if (!who.waId && !who.userId) { return T.pickCustomer; }
    return null;
  }

  function refresh() {
    var problem = ready();
    if (problem) { draw(null, problem, null); return Promise.resolve(); }
    var asked = generation;
    var chat = chatKey();
    return call('/thread', { phoneNumberId: numberSelect.value, customer: customer() }).then(function (thread) {
      if (asked !== generation) { return; }
      draw(thread, null, chat);
      // The server is back: its absence is no longer news (other errors stay until the next action).
      if (pollFailed) { pollFailed = false; say(''); }
    }, function (error) {
      if (asked === generation) { pollFailed = true; say(error.message); }
    });
  }

  function poll() {
    refresh().then(function () { setTimeout(poll, CONFIG.pollMillis); });
  }

  function chatChanged() {
    generation += 1;
    lastDrawn = null;
    say('');
    remember();
    refresh();
  }

  /** The chat in the address, so a reload or a shared link opens the same one. */
  function remember() {
    var params = new URLSearchParams();
    params.set('lang', CONFIG.lang);
    if (numberSelect.value) { params.set('number', numberSelect.value); }
    var who = customer();
    params.set('waId', who.waId || '');
    if (who.userId) { params.set('userId', who.userId); }
    if (who.name) { params.set('name', who.name); }
    history.replaceState(null, '', '?' + params.toString());
    ['en', 'zh-CN'].forEach(function (lang) {
      params.set('lang', lang);
      byId(lang === 'en' ? 'lang-en' : 'lang-zh').href = '?' + params.toString();
    });
  }

  function send(body) {
    var problem = ready();
    if (problem) { say(problem); return Promise.resolve(false); }
    body.phoneNumberId = numberSelect.value;
    body.customer = customer();
    say('');
    return call('/send', body).then(function () {
      lastDrawn = null;
      refresh();
      return true;
    }, function (error) { say(error.message); return false; });
  }

  function markRead() {
    if (reading || ready()) { return; }
    reading = true;
    var asked = generation;
    var chat = chatKey();
    call('/read', { phoneNumberId: numberSelect.value, customer: customer() }).then(function (thread) {
      reading = false;
      if (asked === generation) { draw(thread, null, chat); }
    }, function (error) { reading = false; say(error.message); });
  }

  function stage(file) {
    staged = file;
    byId('staged').hidden = !file;
    byId('staged-name').textContent = file ? file.name : '';
    textInput.placeholder = file ? T.captionPlaceholder : T.messagePlaceholder;
    if (!file) { attachInput.value = ''; }
  }

  function readBase64(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result).replace(/^data:[^,]*,/, '')); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }

  function sendComposed() {
    var text = textInput.value;
    if (staged) {
      var file = staged;
      if (file.size > CONFIG.maxMediaBytes) { say(T.tooLarge); return; }
      var mimeType = file.type || 'application/octet-stream';
      var kind = /^image\/(jpeg|png)$/.test(mimeType) ? 'image' : 'document';
      readBase64(file).then(function (data) {
        return send({ type: kind, text: text.trim() ? text : undefined, media: { dataBase64: data, mimeType: mimeType, fileName: file.name } });
      }).then(function (sent) {
        if (sent) { stage(null); textInput.value = ''; }
      }, function (error) { say(String(error)); });
      return;
    }
    if (!text.trim()) { return; }
    send({ type: 'text', text: text }).then(function (sent) { if (sent) { textInput.value = ''; } });
  }

  byId('composer').addEventListener('submit', function (event) { event.preventDefault(); sendComposed(); });
  textInput.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendComposed(); }
  });
  attachInput.addEventListener('change', function () { stage(attachInput.files && attachInput.files[0] ? attachInput.files[0] : null); });
  byId('unstage').addEventListener('click', function () { stage(null); });
  byId('unstage').setAttribute('aria-label', T.removeAttachment);
  byId('read').addEventListener('click', markRead);
  byId('auto-read').addEventListener('change', function () { lastDrawn = null; refresh(); });
  byId('send-location').addEventListener('click', function () {
    send({ type: 'location', location: {
      latitude: Number(byId('latitude').value),
      longitude: Number(byId('longitude').value),
      name: byId('place').value.trim() || undefined
    } });
  });
  byId('send-contact').addEventListener('click', function () {
    send({ type: 'contacts', contact: { name: byId('contact-name').value, phone: byId('contact-phone').value } });
  });
  numberSelect.addEventListener('change', chatChanged);
  [waIdInput, userIdInput].forEach(function (input) { input.addEventListener('input', chatChanged); });
  nameInput.addEventListener('change', remember);

  textInput.placeholder = T.messagePlaceholder;
  remember();
  drawHeader(false);
  poll();
})();
</script>
</body>
</html>
"##;

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers() -> Vec<SandboxBusinessNumber> {
        vec![SandboxBusinessNumber {
            phone_number_id: "2000000000000001".to_owned(),
            waba_id: "1000000000000001".to_owned(),
            display_phone_number: "+1 555-0100".to_owned(),
            verified_name: "Acme <Trading>".to_owned(),
        }]
    }

    #[test]
    fn the_language_comes_from_the_query_then_accept_language() {
        assert_eq!(Language::choose(Some("zh-CN"), Some("en")), Language::SimplifiedChinese);
        assert_eq!(Language::choose(Some("fr"), Some("fr-FR, zh;q=0.8, en;q=0.5")), Language::SimplifiedChinese);
        assert_eq!(Language::choose(None, Some("zh;q=0.3, en-GB;q=0.9")), Language::English);
        assert_eq!(Language::choose(None, Some("zh-Hans-CN")), Language::SimplifiedChinese);
        assert_eq!(Language::choose(None, Some("zh;q=0, de")), Language::English);
        assert_eq!(Language::choose(None, None), Language::English);
    }

    #[test]
    fn what_the_page_echoes_is_escaped() {
        let query = PageQuery {
            name: Some("<img src=x onerror=alert(1)>".to_owned()),
            wa_id: Some("\"><script>alert(2)</script>".to_owned()),
            ..PageQuery::default()
        };
        let html = page_html(Language::English, &numbers(), &query, "/intwa-api/whatsapp/sandbox/phone".to_owned());
        assert!(!html.contains("<img src=x"), "the name is echoed raw");
        assert!(html.contains("value=\"&lt;img src=x onerror=alert(1)&gt;\""));
        assert!(!html.contains("<script>alert(2)"));
        assert!(html.contains("Acme &lt;Trading&gt;"));
        // The script's copy of the numbers cannot close the script either.
        assert!(html.contains("Acme \\u003cTrading\\u003e"));
        assert!(!html.contains("{{"), "a placeholder was left: {}", &html[html.find("{{").unwrap()..][..40]);
    }

    #[test]
    fn text_that_looks_like_a_placeholder_stays_text() {
        let query = PageQuery { name: Some("{{config_json}}".to_owned()), ..PageQuery::default() };
        let html = page_html(Language::English, &numbers(), &query, String::new());
        assert!(html.contains("value=\"{{config_json}}\""));
        assert_eq!(html.matches("\"pollMillis\"").count(), 1);
    }

    #[test]
    fn the_chinese_page_is_chinese_and_picks_a_sample_customer() {
        let html = page_html(Language::SimplifiedChinese, &numbers(), &PageQuery::default(), String::new());
        assert!(html.contains("<html lang=\"zh-CN\">"));
        assert!(html.contains("企业号码") && html.contains("\"typing\":\"正在输入…\""));
        assert!(html.contains("value=\"李伟\""));
        let none = page_html(Language::English, &[], &PageQuery::default(), String::new());
        assert!(none.contains("data-testid=\"phone-no-numbers\""));
    }
}
