//! View pieces shared by the Numbers and Onboarding pages: a number's facts with coloured
//! badges, copyable values and the webhook settings block.

use api_types::NumberDetails;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::api::{whatsapp, use_api};
use crate::i18n::{use_i18n, I18n};

/// How a badge is coloured.
fn status_tone(status: &str) -> &'static str {
    match status {
        "CONNECTED" => "good",
        "PENDING" | "UNVERIFIED" => "warn",
        "FLAGGED" | "RATE_LIMITED" => "alert",
        "RESTRICTED" | "DISCONNECTED" | "BANNED" => "bad",
        _ => "muted",
    }
}

fn status_key(status: &str) -> Option<&'static str> {
    Some(match status {
        "CONNECTED" => "numbers.status.connected",
        "PENDING" => "numbers.status.pending",
        "FLAGGED" => "numbers.status.flagged",
        "RESTRICTED" => "numbers.status.restricted",
        "OFFLINE" => "numbers.status.offline",
        "RATE_LIMITED" => "numbers.status.rate_limited",
        "DISCONNECTED" => "numbers.status.disconnected",
        "UNVERIFIED" => "numbers.status.unverified",
        _ => return None,
    })
}

fn quality_tone(quality: &str) -> &'static str {
    match quality {
        "GREEN" => "good",
        "YELLOW" => "warn",
        "RED" => "bad",
        _ => "muted",
    }
}

fn quality_key(quality: &str) -> &'static str {
    match quality {
        "GREEN" => "numbers.quality.green",
        "YELLOW" => "numbers.quality.yellow",
        "RED" => "numbers.quality.red",
        _ => "numbers.quality.unknown",
    }
}

/// The messaging limit in words: TIER_2K -> "2,000 customers / 24 h".
fn limit_text(i18n: I18n, limit: &str) -> String {
    let count = match limit {
        "TIER_50" => "50",
        "TIER_250" => "250",
        "TIER_1K" => "1,000",
        "TIER_2K" => "2,000",
        "TIER_10K" => "10,000",
        "TIER_100K" => "100,000",
        "TIER_UNLIMITED" | "UNLIMITED" => return i18n.t("numbers.limit.unlimited").to_owned(),
        "" => return i18n.t("numbers.limit.unknown").to_owned(),
        other => return other.to_owned(),
    };
    i18n.tf("numbers.limit.per_day", &[("count", count)])
}

/// Translated text of a raw upstream status (the raw value itself when unknown).
pub fn status_text(i18n: I18n, status: &str) -> String {
    match status_key(status) {
        Some(key) => i18n.t(key).to_owned(),
        None => status.to_owned(),
    }
}

/// The status badge; `data-status` carries the raw value for tests and styling.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span
            class=move || format!("badge badge-{}", status.with(|status| status_tone(status)))
            data-testid="number-status"
            data-status=move || status.get()
        >
            {move || status.with(|status| status_text(i18n, status))}
        </span>
    }
}

/// Display number, verified name and the status / quality / limit badges of one number.
#[component]
pub fn NumberFacts(#[prop(into)] number: Signal<NumberDetails>) -> impl IntoView {
    let i18n = use_i18n();
    let status = Signal::derive(move || number.with(|number| number.status.clone()));
    let quality = move || number.with(|number| number.quality_rating.clone());
    view! {
        <div class="number-identity">
            <span class="number-display" data-testid="number-display">
                {move || number.with(|number| number.display_phone_number.clone())}
            </span>
            <span class="number-verified-name" data-testid="number-verified-name">
                {move || number.with(|number| number.verified_name.clone())}
            </span>
        </div>
        <div class="number-badges">
            <StatusBadge status=status />
            <span
                class=move || format!("badge badge-outline badge-{}", quality_tone(&quality()))
                data-testid="number-quality"
                data-quality=quality
                title=i18n.text("numbers.quality.title")
            >
                <span class="quality-dot" aria-hidden="true"></span>
                {move || i18n.t(quality_key(&quality()))}
            </span>
            <span class="badge badge-plain" data-testid="number-limit" title=i18n.text("numbers.limit.title")>
                {move || number.with(|number| limit_text(i18n, &number.message_limit))}
            </span>
        </div>
    }
}

/// Copy text to the clipboard; false when the browser refuses (no permission, insecure origin).
fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    let clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard")).ok();
    let write = clipboard
        .as_ref()
        .filter(|clipboard| clipboard.is_object())
        .and_then(|clipboard| js_sys::Reflect::get(clipboard, &JsValue::from_str("writeText")).ok())
        .and_then(|write| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(write).ok());
    match (clipboard, write) {
        (Some(clipboard), Some(write)) => write.call1(&clipboard, &JsValue::from_str(text)).is_ok(),
        _ => false,
    }
}

/// A labelled read-only value with a copy button (`<testid>` for the value, `<testid>-copy`).
#[component]
pub fn CopyField(
    /// The i18n key of the label.
    label_key: &'static str,
    #[prop(into)] value: Signal<String>,
    testid: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(None::<bool>);
    view! {
        <div class="copy-field">
            <span class="copy-label">{i18n.text(label_key)}</span>
            <div class="copy-row">
                <code class="copy-value" data-testid=testid>{move || value.get()}</code>
                <button
                    type="button"
                    class="button button-small button-ghost"
                    data-testid=format!("{testid}-copy")
                    on:click=move |_| copied.set(Some(copy_to_clipboard(&value.get_untracked())))
                >
                    {move || match copied.get() {
                        Some(true) => i18n.t("numbers.copy.done"),
                        Some(false) => i18n.t("numbers.copy.failed"),
                        None => i18n.t("numbers.copy.action"),
                    }}
                </button>
            </div>
        </div>
    }
}

/// The webhook callback URL and verify token to paste into Meta's app dashboard (seed 001).
#[component]
pub fn WebhookSettingsBlock() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let settings = LocalResource::new(move || whatsapp::webhook_settings(api));
    view! {
        <div class="webhook-settings" data-testid="webhook-settings">
            <Transition fallback=move || view! { <p class="muted">{i18n.text("numbers.loading")}</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(settings) => view! {
                            <CopyField label_key="numbers.webhook.callback_url" value=settings.callback_url testid="webhook-callback-url" />
                            <CopyField label_key="numbers.webhook.verify_token" value=settings.verify_token testid="webhook-verify-token" />
                        }.into_any(),
                        Err(error) => view! {
                            <p class="inline-error" role="alert" data-testid="webhook-settings-error">{error.describe(i18n)}</p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

/// A point in time (unix milliseconds) in the user's language.
pub fn format_time(i18n: I18n, unix_ms: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(unix_ms as f64));
    date.to_locale_string(i18n.language().code(), &JsValue::UNDEFINED).into()
}
