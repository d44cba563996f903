//! A WhatsApp number as the Numbers and Onboarding pages show it: its display number and verified
//! name, and badges for its status, quality rating and messaging limit.
//!
//! Each badge carries the provider's text in a `data-` attribute (`data-status`,
//! `data-quality`) for tests and styling, and the translated words as its text.

use api_types::{MessagingLimit, NumberDetails, NumberStatus, QualityRating};
use leptos::prelude::*;

use crate::i18n::{use_i18n, I18n};

/// How a status badge is coloured (`badge-<tone>`).
fn status_tone(status: &NumberStatus) -> &'static str {
    match status {
        NumberStatus::Connected => "good",
        NumberStatus::Pending | NumberStatus::Unverified => "warn",
        NumberStatus::Flagged | NumberStatus::RateLimited => "alert",
        NumberStatus::Restricted | NumberStatus::Disconnected | NumberStatus::Banned => "bad",
        NumberStatus::Offline | NumberStatus::Unknown(_) => "muted",
    }
}

fn status_key(status: &NumberStatus) -> Option<&'static str> {
    Some(match status {
        NumberStatus::Connected => "numbers.status.connected",
        NumberStatus::Pending => "numbers.status.pending",
        NumberStatus::Flagged => "numbers.status.flagged",
        NumberStatus::Restricted => "numbers.status.restricted",
        NumberStatus::Offline => "numbers.status.offline",
        NumberStatus::RateLimited => "numbers.status.rate_limited",
        NumberStatus::Disconnected => "numbers.status.disconnected",
        NumberStatus::Unverified => "numbers.status.unverified",
        NumberStatus::Banned => "numbers.status.banned",
        NumberStatus::Unknown(_) => return None,
    })
}

fn quality_tone(quality: &QualityRating) -> &'static str {
    match quality {
        QualityRating::Green => "good",
        QualityRating::Yellow => "warn",
        QualityRating::Red => "bad",
        QualityRating::NotRated | QualityRating::Unknown(_) => "muted",
    }
}

fn quality_key(quality: &QualityRating) -> &'static str {
    match quality {
        QualityRating::Green => "numbers.quality.green",
        QualityRating::Yellow => "numbers.quality.yellow",
        QualityRating::Red => "numbers.quality.red",
        QualityRating::NotRated | QualityRating::Unknown(_) => "numbers.quality.unknown",
    }
}

/// Translated text of a number status; a status WhatsApp added after this version shows as sent.
pub fn status_text(i18n: I18n, status: &NumberStatus) -> String {
    match status_key(status) {
        Some(key) => i18n.t(key).to_owned(),
        None => status.as_str().to_owned(),
    }
}

/// The messaging limit in words: TIER_2K -> "2,000 customers / 24 h".
fn limit_text(i18n: I18n, limit: &MessagingLimit) -> String {
    let count = match limit {
        MessagingLimit::Tier50 => "50",
        MessagingLimit::Tier250 => "250",
        MessagingLimit::Tier1K => "1,000",
        MessagingLimit::Tier2K => "2,000",
        MessagingLimit::Tier10K => "10,000",
        MessagingLimit::Tier100K => "100,000",
        MessagingLimit::Unlimited => return i18n.t("numbers.limit.unlimited").to_owned(),
        MessagingLimit::Unknown(text) if text.trim().is_empty() => return i18n.t("numbers.limit.unknown").to_owned(),
        MessagingLimit::Unknown(text) => return text.clone(),
    };
    i18n.tf("numbers.limit.per_day", &[("count", count)])
}

/// A number's status (`CONNECTED`, `PENDING`, `FLAGGED`...) as a coloured badge
/// (`data-testid="number-status"`, the provider's text in `data-status`).
#[component]
pub fn NumberStatusBadge(
    /// The number's status.
    #[prop(into)]
    status: Signal<NumberStatus>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span
            class=move || format!("badge badge-{}", status.with(status_tone))
            data-testid="number-status"
            data-status=move || status.with(|status| status.as_str().to_owned())
        >
            {move || status.with(|status| status_text(i18n, status))}
        </span>
    }
}

/// A number's quality rating (`GREEN`, `YELLOW`, `RED`) as an outlined badge with a dot
/// (`data-testid="number-quality"`, the provider's text in `data-quality`).
#[component]
pub fn NumberQualityBadge(
    /// The number's quality rating; not rated (or a value this version does not know) reads "unknown".
    #[prop(into)]
    quality: Signal<QualityRating>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span
            class=move || format!("badge badge-outline badge-{}", quality.with(quality_tone))
            data-testid="number-quality"
            data-quality=move || quality.with(|quality| quality.as_str().to_owned())
            title=i18n.text("numbers.quality.title")
        >
            <span class="quality-dot" aria-hidden="true"></span>
            {move || i18n.t(quality.with(quality_key))}
        </span>
    }
}

/// A number's messaging limit in words ("2,000 customers / 24 h"; `data-testid="number-limit"`).
#[component]
pub fn NumberLimitBadge(
    /// The number's messaging tier.
    #[prop(into)]
    limit: Signal<MessagingLimit>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <span class="badge badge-plain" data-testid="number-limit" title=i18n.text("numbers.limit.title")>
            {move || limit.with(|limit| limit_text(i18n, limit))}
        </span>
    }
}

/// Display number, verified name and the status / quality / limit badges of one number.
#[component]
pub fn NumberFacts(
    /// The number; the view follows its changes in place.
    #[prop(into)]
    number: Signal<NumberDetails>,
) -> impl IntoView {
    let status = Signal::derive(move || number.with(|number| number.status.clone()));
    let quality = Signal::derive(move || number.with(|number| number.quality_rating.clone()));
    let limit = Signal::derive(move || number.with(|number| number.message_limit.clone()));
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
            <NumberStatusBadge status=status />
            <NumberQualityBadge quality=quality />
            <NumberLimitBadge limit=limit />
        </div>
    }
}

/// A number on its own card (`data-testid="number-card"`), such as the one just connected on the
/// Onboarding page: its facts, then whatever the page adds under them.
#[component]
pub fn NumberCard(
    /// The number; the card follows its changes in place.
    #[prop(into)]
    number: Signal<NumberDetails>,
    /// Shown under the facts (the coexistence sync progress, for example).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="number-card" data-testid="number-card">
            <NumberFacts number=number />
            {children.map(|children| children())}
        </div>
    }
}
