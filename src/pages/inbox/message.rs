//! One message of the thread: its bubble with text, media, cards, reactions, the time and the
//! delivery ticks. Everything the customer (or WhatsApp) wrote is put in as text, never as markup.

use api_types::{ContactCard, LocationCard, MessageDirection, MessageItem, MessageMedia, MessageOrigin, MessageStatus, MessageType};
use leptos::prelude::*;

use super::format::{clock_time, file_size};
use crate::api::{inbox, use_api};
use crate::i18n::{use_i18n, I18n};
use crate::state::inbox::is_local;

/// What a bubble's status is called in `data-status` and its CSS class: the wire text.
fn status_name(status: Option<&MessageStatus>) -> String {
    status.map(|status| status.as_str().to_owned()).unwrap_or_default()
}

/// A message's bubble. `on_retry` sends a failed one again; `on_open_image` shows an image large.
#[component]
pub fn MessageBubble(
    message: MessageItem,
    /// The agent asks to send this failed message again.
    on_retry: Callback<MessageItem>,
    /// The agent opens an image (its URL) large.
    on_open_image: Callback<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let outbound = message.direction == MessageDirection::Outbound;
    let kind = message.kind.clone();
    if kind == MessageType::System {
        return view! {
            <div class="system-notice" data-testid="message-bubble" data-message-id=message.id.clone()>
                <span data-testid="message-text">{message.text.clone().unwrap_or_default()}</span>
            </div>
        }
        .into_any();
    }
    let failed = message.status == Some(MessageStatus::Failed);
    let reason = message.error.as_ref().map(|error| {
        let title = error.title.clone().or_else(|| error.details.clone()).unwrap_or_default();
        match error.code.as_deref() {
            Some(code) if !code.is_empty() => format!("{title} ({code})"),
            _ => title,
        }
    });
    let media = message.media.clone();
    let text = message.text.clone().filter(|text| !text.is_empty()).or_else(|| {
        media.as_ref().and_then(|media| media.caption.clone()).filter(|caption| !caption.is_empty())
    });
    let origin_note = match message.origin {
        MessageOrigin::Phone => Some(i18n.t("inbox.message.from_phone")),
        MessageOrigin::Assistant => Some(i18n.t("inbox.message.from_assistant")),
        MessageOrigin::Api => Some(i18n.t("inbox.message.from_api")),
        _ => None,
    };
    let body = match &kind {
        MessageType::Text => text.clone().map(|text| view! { <p class="message-text" data-testid="message-text">{text}</p> }.into_any()),
        kind if kind.is_media() => Some(
            view! {
                <MediaView media=media.clone() kind=kind.clone() pending=is_local(&message) on_open_image />
                {text.clone().map(|text| view! { <p class="message-text" data-testid="message-text">{text}</p> })}
            }
            .into_any(),
        ),
        MessageType::Location => Some(match message.location.clone().filter(|place| place.is_on_earth()) {
            Some(place) => location_card(i18n, place),
            None => card(CardIcon::Location, i18n.t("inbox.message.location"), text.clone(), "message-location"),
        }),
        MessageType::Contacts if !message.contacts.is_empty() => Some(contact_cards(i18n, message.contacts.clone())),
        MessageType::Contacts => Some(card(CardIcon::Contact, i18n.t("inbox.message.contacts"), text.clone(), "message-contacts")),
        MessageType::Order => Some(card(CardIcon::Order, i18n.t("inbox.message.order"), text.clone(), "message-order")),
        MessageType::Interactive | MessageType::Button => Some(
            view! {
                <p class="message-reply-label">{i18n.text("inbox.message.reply")}</p>
                <p class="message-text" data-testid="message-text">{text.clone().unwrap_or_default()}</p>
            }
            .into_any(),
        ),
        _ => Some(
            view! {
                <p class="message-unsupported" data-testid="message-unsupported">{i18n.text("inbox.message.unsupported")}</p>
                {text.clone().map(|text| view! { <p class="message-text" data-testid="message-text">{text}</p> })}
            }
            .into_any(),
        ),
    };
    let reactions: Vec<String> =
        [message.customer_reaction.clone(), message.business_reaction.clone()].into_iter().flatten().filter(|r| !r.is_empty()).collect();
    let time = clock_time(message.timestamp);
    let retry_message = message.clone();
    let class = format!(
        "message-row {} {}",
        if outbound { "message-row-out" } else { "message-row-in" },
        if failed { "message-row-failed" } else { "" }
    );
    view! {
        <div class=class data-message-id=message.id.clone()>
            <div class="message-bubble" data-testid="message-bubble" data-direction=message.direction.as_str().to_owned() data-kind=kind.as_str().to_owned()>
                {origin_note.map(|note| view! { <p class="message-origin" data-testid="message-origin">{note}</p> })}
                {body}
                <span class="message-meta">
                    <time class="message-time">{time}</time>
                    {outbound.then(|| view! { <StatusTicks status=message.status.clone() /> })}
                </span>
                {(!reactions.is_empty()).then(|| view! {
                    <span class="message-reactions" data-testid="message-reactions">{reactions.join(" ")}</span>
                })}
            </div>
            {failed.then(|| view! {
                <div class="message-failure">
                    <span class="message-error" data-testid="message-error" role="alert">
                        {reason.clone().filter(|reason| !reason.is_empty()).unwrap_or_else(|| i18n.t("inbox.message.failed").to_owned())}
                    </span>
                    <button type="button" class="button button-small button-ghost message-retry" data-testid="message-retry" on:click=move |_| on_retry.run(retry_message.clone())>
                        {i18n.text("inbox.message.retry")}
                    </button>
                </div>
            })}
        </div>
    }
    .into_any()
}

#[derive(Clone, Copy)]
enum CardIcon {
    Location,
    Contact,
    Order,
}

/// A location, contact or order message: an icon, what it is, and its text.
fn card(icon: CardIcon, title: &'static str, text: Option<String>, testid: &'static str) -> AnyView {
    view! {
        <div class="message-card" data-testid=testid>
            {card_icon(icon)}
            <span class="message-card-text">
                <span class="message-card-title">{title}</span>
                {text.map(|text| view! { <span class="message-card-body" data-testid="message-text">{text}</span> })}
            </span>
        </div>
    }
    .into_any()
}

/// A shared place: its name and address, its coordinates, and a link to see it on a map.
fn location_card(i18n: I18n, place: LocationCard) -> AnyView {
    let (latitude, longitude) = (place.latitude.0, place.longitude.0);
    let map = format!("https://www.openstreetmap.org/?mlat={latitude:.6}&mlon={longitude:.6}#map=16/{latitude:.6}/{longitude:.6}");
    let title = place.name.clone().unwrap_or_else(|| i18n.t("inbox.message.location").to_owned());
    view! {
        <div class="message-card message-card-rich" data-testid="message-location">
            {card_icon(CardIcon::Location)}
            <span class="message-card-text">
                <span class="message-card-title" data-testid="location-name">{title}</span>
                {place.address.map(|address| view! { <span class="message-card-body" data-testid="location-address">{address}</span> })}
                <span class="message-card-meta muted" data-testid="location-coordinates">{format!("{latitude:.5}, {longitude:.5}")}</span>
                <a class="message-card-link" data-testid="location-map" href=map target="_blank" rel="noopener noreferrer">
                    {i18n.text("inbox.message.open_map")}
                </a>
            </span>
        </div>
    }
    .into_any()
}

/// Shared contact cards: each name with its numbers (dialable).
fn contact_cards(i18n: I18n, cards: Vec<ContactCard>) -> AnyView {
    view! {
        <div class="message-contact-cards">
            {cards.into_iter().map(|contact| {
                let name = if contact.name.trim().is_empty() { i18n.t("inbox.message.contacts").to_owned() } else { contact.name.clone() };
                view! {
                    <div class="message-card message-card-rich" data-testid="message-contacts">
                        {card_icon(CardIcon::Contact)}
                        <span class="message-card-text">
                            <span class="message-card-title" data-testid="contact-card-name">{name}</span>
                            {contact.phones.into_iter().map(|phone| {
                                let dial: String = phone.phone.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
                                let kind = phone.kind.clone().map(|kind| format!(" · {}", kind.to_lowercase()));
                                view! {
                                    <span class="message-card-body">
                                        <a class="message-card-link" data-testid="contact-card-phone" href=format!("tel:{dial}")>{phone.phone.clone()}</a>
                                        <span class="muted">{kind}</span>
                                    </span>
                                }
                            }).collect_view()}
                        </span>
                    </div>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

fn card_icon(icon: CardIcon) -> AnyView {
    let shape = match icon {
        CardIcon::Location => view! { <path d="M12 21s-6.5-5.6-6.5-11a6.5 6.5 0 0 1 13 0c0 5.4-6.5 11-6.5 11z" /><circle cx="12" cy="10" r="2.4" /> }.into_any(),
        CardIcon::Contact => view! { <circle cx="12" cy="8.5" r="3.5" /><path d="M5 20a7 7 0 0 1 14 0" /> }.into_any(),
        CardIcon::Order => view! { <path d="M3.5 4.5h2.2l2.1 10.5h10.4l1.8-7.5H7" /><circle cx="9.5" cy="19" r="1.3" /><circle cx="17" cy="19" r="1.3" /> }.into_any(),
    };
    view! {
        <span class="message-card-icon" aria-hidden="true">
            <svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">{shape}</svg>
        </span>
    }
    .into_any()
}

/// The clock, one tick, two ticks, two blue ticks, or the red mark of a failure.
#[component]
fn StatusTicks(status: Option<MessageStatus>) -> impl IntoView {
    let i18n = use_i18n();
    let (label, shape) = match &status {
        Some(MessageStatus::Sent) => (i18n.t("inbox.status.sent"), "tick"),
        Some(MessageStatus::Delivered) => (i18n.t("inbox.status.delivered"), "ticks"),
        Some(MessageStatus::Read) | Some(MessageStatus::Played) => (i18n.t("inbox.status.read"), "ticks"),
        Some(MessageStatus::Failed) => (i18n.t("inbox.status.failed"), "failed"),
        _ => (i18n.t("inbox.status.pending"), "clock"),
    };
    let name = status_name(status.as_ref());
    let icon = match shape {
        "tick" => view! { <path d="M3 8.5l3 3 7-7" /> }.into_any(),
        "ticks" => view! { <path d="M1 8.5l3 3 7-7" /><path d="M7.5 11.5l7-7" /> }.into_any(),
        "failed" => view! { <circle cx="8" cy="8" r="6.5" /><path d="M8 4.5v4.2M8 11.2v.3" /> }.into_any(),
        _ => view! { <circle cx="8" cy="8" r="6" /><path d="M8 4.8V8l2.2 1.6" /> }.into_any(),
    };
    view! {
        <span class=format!("message-status message-status-{}", if name.is_empty() { "pending" } else { name.as_str() }) data-testid="message-status" data-status=name.clone() title=label>
            <svg viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">
                {icon}
            </svg>
            <span class="visually-hidden">{label}</span>
        </span>
    }
}

/// A media message's preview: an image thumbnail (opened large on click), a player, a document
/// with its name, size and download link, or "media unavailable".
#[component]
fn MediaView(media: Option<MessageMedia>, kind: MessageType, pending: bool, on_open_image: Callback<String>) -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let Some(media) = media else {
        return view! { <p class="message-media message-media-missing" data-testid="message-media" data-available="false">{i18n.text("inbox.media.unavailable")}</p> }.into_any();
    };
    if !media.available {
        return view! {
            <p class="message-media message-media-missing" data-testid="message-media" data-available="false">
                <span aria-hidden="true">"⚠ "</span>{i18n.text("inbox.media.unavailable")}
            </p>
        }
        .into_any();
    }
    let file_name = media.file_name.clone().unwrap_or_default();
    let Some(id) = media.id.clone() else {
        // Not stored yet: an inbound file still downloading, or one being uploaded.
        let note = if pending { i18n.t("inbox.media.uploading") } else { i18n.t("inbox.media.downloading") };
        let waiting = view! { <span class="spinner spinner-small" aria-hidden="true"></span><span>{note}</span> };
        return match kind {
            MessageType::Image | MessageType::Sticker | MessageType::Video => view! {
                <p class="message-media message-media-waiting message-image-waiting" data-testid="message-media" data-available="true">{waiting}</p>
            }
            .into_any(),
            _ => view! {
                <div class="message-media message-document" data-testid="message-media" data-available="true">
                    <DocumentIcon />
                    <span class="message-document-text">
                        <span class="message-file-name" data-testid="message-file-name">
                            {if file_name.is_empty() { i18n.t("inbox.media.document").to_owned() } else { file_name.clone() }}
                        </span>
                        <span class="message-file-size muted message-media-note">{waiting}</span>
                    </span>
                </div>
            }
            .into_any(),
        };
    };
    let url = inbox::media_url(api, &id);
    match kind {
        MessageType::Image | MessageType::Sticker => {
            let large = url.clone();
            let class = if kind == MessageType::Sticker { "message-media message-sticker" } else { "message-media message-image" };
            view! {
                <button type="button" class=class data-testid="message-media" data-available="true" aria-label=i18n.text("inbox.media.open") on:click=move |_| on_open_image.run(large.clone())>
                    <img src=url alt="" loading="lazy" />
                </button>
            }
            .into_any()
        }
        MessageType::Video => view! {
            <video class="message-media message-video" data-testid="message-media" data-available="true" src=url controls=true preload="metadata"></video>
        }
        .into_any(),
        MessageType::Audio => view! {
            <audio class="message-media message-audio" data-testid="message-media" data-available="true" src=url controls=true preload="none"></audio>
        }
        .into_any(),
        _ => {
            let size = media.size_bytes.map(file_size).unwrap_or_default();
            let shown_name = if file_name.is_empty() { i18n.t("inbox.media.document").to_owned() } else { file_name.clone() };
            view! {
                <div class="message-media message-document" data-testid="message-media" data-available="true">
                    <DocumentIcon />
                    <span class="message-document-text">
                        <span class="message-file-name" data-testid="message-file-name">{shown_name}</span>
                        <span class="message-file-size muted">{size}</span>
                    </span>
                    <a class="button button-small button-secondary" href=url download=file_name data-testid="message-download">{i18n.text("inbox.media.download")}</a>
                </div>
            }
            .into_any()
        }
    }
}

#[component]
fn DocumentIcon() -> impl IntoView {
    view! {
        <span class="message-document-icon" aria-hidden="true">
            <svg viewBox="0 0 24 24" width="28" height="28" fill="none" stroke="currentColor" stroke-width="1.6"><path d="M6 2.5h8l4.5 4.5v14.5H6z" /><path d="M14 2.5V7h4.5" /></svg>
        </span>
    }
}
