//! `/intwa-api/whatsapp/sandbox/phone/...`: the customers' side of the sandbox (issue 9 "Sandbox
//! phone"), which the `/sandbox/phone` page drives and end-to-end tests call directly.
//!
//! - `send`: the customer sends a message. It is built as the exact `messages` webhook Meta sends
//!   for it, recorded on the customer's phone, and delivered through the webhook path (stored,
//!   then processed by the same code as real deliveries);
//! - `read`: the customer opens the chat, so the business's messages turn read and Meta's `read`
//!   statuses go out as webhooks;
//! - `thread`: the chat as the customer's WhatsApp shows it (ticks, "typing…");
//! - `media/{id}`: the bytes of a file on a phone (thumbnails).
//!
//! No login: the phones are the world outside every account, and they reach the business numbers
//! of every account, as real customers do. Outside sandbox mode every route answers 404.

use api_types::validation::{self, only_digits};
use api_types::{FieldError, MessageStatus, MessageType};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::phones::{CustomerKey, PhoneMessage, SandboxPhones};
use super::simulator;
use super::upstream::SandboxUpstream;
use crate::channels::upstream::messaging::MediaFile;
use crate::db::{new_id, now_millis};
use crate::state::AppState;
use crate::web::error::{ok, ApiError, ApiResult};
use crate::web::{ApiJson, ErrorEnvelope};

/// The largest file a phone sends (decoded). WhatsApp takes larger documents; a few MB keeps the
/// JSON body (base64, a third larger) small, and images stay within WhatsApp's 5 MB.
pub const MAX_MEDIA_BYTES: usize = 5 * 1024 * 1024;
/// The send route's body limit: the file in base64 plus the rest of the request.
const SEND_BODY_LIMIT: usize = MAX_MEDIA_BYTES / 3 * 4 + 64 * 1024;
/// What one customer message may say (WhatsApp's own limit is larger; the console shows 4,096).
pub const MAX_TEXT_CHARS: usize = 4_096;
pub const MAX_CAPTION_CHARS: usize = 1_024;
const MAX_NAME_CHARS: usize = 256;
const MAX_USER_ID_CHARS: usize = 128;
const MAX_FILE_NAME_CHARS: usize = 240;

pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(OpenApiRouter::new().routes(routes!(send)).layer(DefaultBodyLimit::max(SEND_BODY_LIMIT)))
        .routes(routes!(read))
        .routes(routes!(thread))
        .routes(routes!(media))
}

/// A customer, as the phone page names them: by phone number, by user id (a customer without a
/// number, 2026), or both; with their WhatsApp profile name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneCustomer {
    /// Their WhatsApp id: the phone number (digits; `+`, spaces and dashes are dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    /// Their business-scoped user id, for a customer known without a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Their profile name (sent in `contacts[].profile.name`); any text, markup included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A file a customer attaches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneMedia {
    /// The file's bytes, base64 (standard alphabet), at most 5 MB decoded.
    pub data_base64: String,
    /// `image/jpeg` or `image/png` for an image; any type for a document.
    pub mime_type: String,
    #[serde(default)]
    pub file_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneLocation {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// A contact card: one person with one phone number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneContact {
    pub name: String,
    pub phone: String,
}

/// `POST .../phone/send`: what the customer sends to a business number.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneSendRequest {
    pub phone_number_id: String,
    pub customer: PhoneCustomer,
    /// `text`, `image`, `document`, `location` or `contacts`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: MessageType,
    /// The body of a text; the caption of an image or document.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub media: Option<PhoneMedia>,
    #[serde(default)]
    pub location: Option<PhoneLocation>,
    #[serde(default)]
    pub contact: Option<PhoneContact>,
}

/// `POST .../phone/read` and `.../phone/thread`: one customer's chat with one business number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneChatRequest {
    pub phone_number_id: String,
    pub customer: PhoneCustomer,
}

/// One message as the customer's phone shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneMessageView {
    pub wamid: String,
    /// True for what the business sent, false for what the customer sent.
    pub from_business: bool,
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: MessageType,
    pub text: Option<String>,
    /// The file's id: its bytes are at `.../phone/media/{mediaId}`.
    pub media_id: Option<String>,
    pub mime_type: Option<String>,
    pub file_name: Option<String>,
    /// The business's messages: sent, delivered, read. The customer's: sent, delivered (the
    /// business's webhook got it), read (the business read it).
    #[schema(value_type = String)]
    pub status: MessageStatus,
    /// Unix milliseconds.
    pub timestamp: i64,
}

/// A customer who has a chat with the number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneChatPartner {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
}

/// The chat as the customer's WhatsApp shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhoneThread {
    pub phone_number_id: String,
    /// Oldest first.
    pub messages: Vec<PhoneMessageView>,
    /// The business is typing ("typing…" under its name).
    pub typing: bool,
    /// Every customer with a chat with this number, to switch between them.
    pub chats: Vec<PhoneChatPartner>,
}

/// A business number as the phones see it: any account's, in sandbox mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxBusinessNumber {
    pub phone_number_id: String,
    #[serde(skip)]
    pub waba_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
}

/// Every business number this server's database holds, across accounts: a customer can message
/// any of them. Only the sandbox phones read this (the console's queries are per account).
pub async fn business_numbers(db: &AnyPool) -> Result<Vec<SandboxBusinessNumber>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT phone_number_id, waba_id, display_phone_number, verified_name FROM whatsapp_numbers \
         ORDER BY display_phone_number, phone_number_id",
    )
    .fetch_all(db)
    .await?;
    rows.iter().map(number_of_row).collect()
}

async fn business_number(db: &AnyPool, phone_number_id: &str) -> Result<Option<SandboxBusinessNumber>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT phone_number_id, waba_id, display_phone_number, verified_name FROM whatsapp_numbers WHERE phone_number_id = $1",
    )
    .bind(phone_number_id)
    .fetch_optional(db)
    .await?;
    row.as_ref().map(number_of_row).transpose()
}

fn number_of_row(row: &sqlx::any::AnyRow) -> Result<SandboxBusinessNumber, sqlx::Error> {
    Ok(SandboxBusinessNumber {
        phone_number_id: row.try_get("phone_number_id")?,
        waba_id: row.try_get("waba_id")?,
        display_phone_number: row.try_get("display_phone_number")?,
        verified_name: row.try_get("verified_name")?,
    })
}

fn sandbox_of(state: &AppState) -> Result<&SandboxUpstream, ApiError> {
    state.sandbox.as_deref().ok_or_else(|| ApiError::not_found("The sandbox phones exist only in sandbox mode"))
}

/// The customer, checked: who their phone is ([`CustomerKey`]) and the ids the webhook carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCustomer {
    pub key: CustomerKey,
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Present and not blank.
fn given(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

pub fn check_customer(customer: &PhoneCustomer, errors: &mut Vec<FieldError>) -> Option<CheckedCustomer> {
    let wa_id = given(&customer.wa_id).map(|wa_id| {
        validation::phone_number("customer.waId", wa_id, errors);
        only_digits(wa_id)
    });
    let user_id = given(&customer.user_id).map(str::to_owned);
    if let Some(user_id) = &user_id {
        if user_id.chars().count() > MAX_USER_ID_CHARS || user_id.chars().any(char::is_whitespace) {
            errors.push(FieldError::new(
                "customer.userId",
                "invalid",
                format!("`customer.userId` is one word of at most {MAX_USER_ID_CHARS} characters"),
            ));
        }
    }
    let name = given(&customer.name).map(str::to_owned);
    if let Some(name) = &name {
        if name.chars().count() > MAX_NAME_CHARS || has_control(name) {
            errors.push(FieldError::new(
                "customer.name",
                "invalid",
                format!("`customer.name` is one line of at most {MAX_NAME_CHARS} characters"),
            ));
        }
    }
    let key = match (&wa_id, &user_id) {
        (Some(wa_id), _) => CustomerKey::WaId(wa_id.clone()),
        (None, Some(user_id)) => CustomerKey::UserId(user_id.clone()),
        (None, None) => {
            errors.push(FieldError::new(
                "customer",
                "required",
                "Give the customer's phone number (`customer.waId`) or user id (`customer.userId`)",
            ));
            return None;
        }
    };
    Some(CheckedCustomer { key, wa_id, user_id, name })
}

/// The business number a request names: 400 when the id is malformed, 404 when no account holds it.
async fn number_named(state: &AppState, phone_number_id: &str, errors: Vec<FieldError>) -> Result<SandboxBusinessNumber, ApiError> {
    let mut errors = errors;
    validation::meta_id("phoneNumberId", phone_number_id, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    business_number(&state.db, phone_number_id.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("No account holds this business number"))
}

/// What a customer sends, checked: the message object of the webhook (without the sender and
/// id) and what the phone shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMessage {
    pub kind: MessageType,
    /// The object under the type's key (`text`, `image`, ...).
    pub part: Value,
    /// What the phone shows as text.
    pub text: Option<String>,
    /// The file, with the media id it is kept under.
    pub media: Option<(String, MediaFile)>,
}

fn text_field(field: &str, text: &Option<String>, max: usize, required: bool, errors: &mut Vec<FieldError>) -> Option<String> {
    let text = text.as_deref().filter(|text| !text.trim().is_empty());
    match text {
        None if required => errors.push(FieldError::new(field, "required", format!("`{field}` is required"))),
        Some(text) if text.chars().count() > max => {
            errors.push(FieldError::new(field, "too_long", format!("`{field}` must be at most {max} characters")));
        }
        _ => {}
    }
    text.map(str::to_owned)
}

/// A MIME type as `type/subtype`, with nothing a header or a stored column could trip over.
fn plain_mime_type(mime_type: &str) -> bool {
    let token = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&byte));
    matches!(mime_type.split_once('/'), Some((kind, subtype)) if token(kind) && token(subtype))
}

/// A media id as Meta writes them: 16 digits.
fn new_media_id() -> String {
    rand::thread_rng().gen_range(1_000_000_000_000_000_u64..10_000_000_000_000_000).to_string()
}

fn check_media(kind: &MessageType, media: &Option<PhoneMedia>, caption: Option<String>, errors: &mut Vec<FieldError>) -> Option<(Value, (String, MediaFile))> {
    let Some(media) = media else {
        errors.push(FieldError::new("media", "required", "`media` is required for an image or a document"));
        return None;
    };
    let before = errors.len();
    let mime_type = media.mime_type.trim().to_ascii_lowercase();
    if !plain_mime_type(&mime_type) {
        errors.push(FieldError::new("media.mimeType", "invalid", "`media.mimeType` must be a MIME type such as image/jpeg"));
    } else if *kind == MessageType::Image && !matches!(mime_type.as_str(), "image/jpeg" | "image/png") {
        errors.push(FieldError::new("media.mimeType", "invalid", "An image is image/jpeg or image/png; send other files as a document"));
    }
    let file_name = given(&media.file_name).map(str::to_owned);
    if let Some(file_name) = &file_name {
        if file_name.chars().count() > MAX_FILE_NAME_CHARS || has_control(file_name) || file_name.contains(['/', '\\']) {
            errors.push(FieldError::new(
                "media.fileName",
                "invalid",
                format!("`media.fileName` is a file name of at most {MAX_FILE_NAME_CHARS} characters, without folders"),
            ));
        }
    }
    let bytes = match base64::engine::general_purpose::STANDARD.decode(media.data_base64.trim()) {
        Ok(bytes) if bytes.is_empty() => {
            errors.push(FieldError::new("media.dataBase64", "required", "`media.dataBase64` holds no bytes"));
            None
        }
        Ok(bytes) if bytes.len() > MAX_MEDIA_BYTES => {
            errors.push(FieldError::new("media.dataBase64", "too_long", format!("The file is larger than {} MB", MAX_MEDIA_BYTES / 1024 / 1024)));
            None
        }
        Ok(bytes) => Some(bytes),
        Err(_) => {
            errors.push(FieldError::new("media.dataBase64", "invalid", "`media.dataBase64` is not base64"));
            None
        }
    };
    let bytes = bytes.filter(|_| errors.len() == before)?;
    let media_id = new_media_id();
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    let mut part = json!({"id": media_id, "mime_type": mime_type, "sha256": sha256});
    if let Some(caption) = &caption {
        part["caption"] = json!(caption);
    }
    if *kind == MessageType::Document {
        if let Some(file_name) = &file_name {
            part["filename"] = json!(file_name);
        }
    }
    Some((part, (media_id, MediaFile { bytes: bytes.into(), mime_type, file_name })))
}

pub fn check_message(request: &PhoneSendRequest, errors: &mut Vec<FieldError>) -> Option<CheckedMessage> {
    let kind = request.kind.clone();
    match &kind {
        MessageType::Text => {
            let body = text_field("text", &request.text, MAX_TEXT_CHARS, true, errors)?;
            Some(CheckedMessage { kind, part: json!({"body": body}), text: Some(body), media: None })
        }
        MessageType::Image | MessageType::Document => {
            let caption = text_field("text", &request.text, MAX_CAPTION_CHARS, false, errors);
            let (part, media) = check_media(&kind, &request.media, caption.clone(), errors)?;
            Some(CheckedMessage { kind, part, text: caption, media: Some(media) })
        }
        MessageType::Location => {
            let Some(location) = &request.location else {
                errors.push(FieldError::new("location", "required", "`location` is required for a location"));
                return None;
            };
            if !(location.latitude.is_finite() && (-90.0..=90.0).contains(&location.latitude)) {
                errors.push(FieldError::new("location.latitude", "invalid", "`location.latitude` is between -90 and 90"));
            }
            if !(location.longitude.is_finite() && (-180.0..=180.0).contains(&location.longitude)) {
                errors.push(FieldError::new("location.longitude", "invalid", "`location.longitude` is between -180 and 180"));
            }
            let name = text_field("location.name", &location.name, MAX_NAME_CHARS, false, errors);
            let address = text_field("location.address", &location.address, MAX_NAME_CHARS, false, errors);
            let mut part = json!({"latitude": location.latitude, "longitude": location.longitude});
            if let Some(name) = &name {
                part["name"] = json!(name);
            }
            if let Some(address) = &address {
                part["address"] = json!(address);
            }
            let place = [name, address].into_iter().flatten().collect::<Vec<_>>().join(", ");
            let coordinates = format!("{:.5}, {:.5}", location.latitude, location.longitude);
            let text = if place.is_empty() { coordinates } else { format!("{place} ({coordinates})") };
            Some(CheckedMessage { kind, part, text: Some(text), media: None })
        }
        MessageType::Contacts => {
            let Some(contact) = &request.contact else {
                errors.push(FieldError::new("contact", "required", "`contact` is required for a contact card"));
                return None;
            };
            let name = text_field("contact.name", &Some(contact.name.clone()), MAX_NAME_CHARS, true, errors);
            validation::phone_number("contact.phone", &contact.phone, errors);
            let name = name?;
            let phone = contact.phone.trim().to_owned();
            let first_name = name.split_whitespace().next().unwrap_or(&name).to_owned();
            let part = json!([{
                "name": {"formatted_name": name, "first_name": first_name},
                "phones": [{"phone": phone, "wa_id": only_digits(&phone), "type": "CELL"}],
            }]);
            Some(CheckedMessage { kind, part, text: Some(format!("{name} {phone}")), media: None })
        }
        _ => {
            errors.push(FieldError::new("type", "invalid", "`type` is text, image, document, location or contacts"));
            None
        }
    }
}

fn envelope(number: &SandboxBusinessNumber, value: Map<String, Value>) -> Value {
    let mut value = value;
    value.insert("messaging_product".to_owned(), json!("whatsapp"));
    value.insert(
        "metadata".to_owned(),
        json!({"display_phone_number": only_digits(&number.display_phone_number), "phone_number_id": number.phone_number_id}),
    );
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": number.waba_id, "changes": [{"field": "messages", "value": value}]}],
    })
}

/// The `messages` webhook Meta sends when `customer` sends `message` to `number`: the sender in
/// `contacts[]` (`profile.name`, `wa_id`, `user_id`) and the message with `from` / `from_user_id`.
pub fn customer_message_payload(
    number: &SandboxBusinessNumber,
    customer: &CheckedCustomer,
    wamid: &str,
    unix_seconds: i64,
    message: &CheckedMessage,
) -> Value {
    let mut contact = Map::new();
    if let Some(name) = &customer.name {
        contact.insert("profile".to_owned(), json!({"name": name}));
    }
    let mut object = Map::new();
    if let Some(wa_id) = &customer.wa_id {
        contact.insert("wa_id".to_owned(), json!(wa_id));
        object.insert("from".to_owned(), json!(wa_id));
    }
    if let Some(user_id) = &customer.user_id {
        contact.insert("user_id".to_owned(), json!(user_id));
        object.insert("from_user_id".to_owned(), json!(user_id));
    }
    object.insert("id".to_owned(), json!(wamid));
    object.insert("timestamp".to_owned(), json!(unix_seconds.to_string()));
    object.insert("type".to_owned(), json!(message.kind.as_str()));
    object.insert(message.kind.as_str().to_owned(), message.part.clone());
    let mut value = Map::new();
    value.insert("contacts".to_owned(), json!([contact]));
    value.insert("messages".to_owned(), json!([object]));
    envelope(number, value)
}

/// The `statuses` webhook Meta sends when `customer` reads the business's messages `wamids`.
pub fn read_statuses_payload(number: &SandboxBusinessNumber, customer: &CheckedCustomer, wamids: &[String], unix_seconds: i64) -> Value {
    let statuses: Vec<Value> = wamids
        .iter()
        .map(|wamid| {
            let mut status = json!({"id": wamid, "status": MessageStatus::Read.as_str(), "timestamp": unix_seconds.to_string()});
            if let Some(wa_id) = &customer.wa_id {
                status["recipient_id"] = json!(wa_id);
            }
            if let Some(user_id) = &customer.user_id {
                status["recipient_user_id"] = json!(user_id);
            }
            status
        })
        .collect();
    let mut value = Map::new();
    value.insert("statuses".to_owned(), json!(statuses));
    envelope(number, value)
}

fn view(message: PhoneMessage) -> PhoneMessageView {
    PhoneMessageView {
        wamid: message.wamid,
        from_business: message.from_business,
        kind: message.kind,
        text: message.text,
        media_id: message.media_id,
        mime_type: message.mime_type,
        file_name: message.file_name,
        status: message.status,
        timestamp: message.at,
    }
}

/// The chat of `customer` with `phone_number_id`, as their phone shows it now.
pub fn thread_of(phones: &SandboxPhones, phone_number_id: &str, customer: &CustomerKey) -> PhoneThread {
    let mut chats: Vec<PhoneChatPartner> = phones
        .customers_of(phone_number_id)
        .into_iter()
        .map(|key| match key {
            CustomerKey::WaId(wa_id) => PhoneChatPartner { wa_id: Some(wa_id), user_id: None },
            CustomerKey::UserId(user_id) => PhoneChatPartner { wa_id: None, user_id: Some(user_id) },
        })
        .collect();
    chats.sort_by(|left, right| (&left.wa_id, &left.user_id).cmp(&(&right.wa_id, &right.user_id)));
    PhoneThread {
        phone_number_id: phone_number_id.to_owned(),
        messages: phones.thread(phone_number_id, customer).into_iter().map(view).collect(),
        typing: phones.is_typing(phone_number_id, customer, now_millis()),
        chats,
    }
}

/// Sandbox mode only: a customer sends a message to a business number, which receives it as
/// Meta's `messages` webhook. No login (the phones are outside every account).
#[utoipa::path(
    post,
    path = "/whatsapp/sandbox/phone/send",
    tag = "whatsapp",
    request_body = PhoneSendRequest,
    responses(
        (status = 200, description = "The message as the customer's phone shows it, after the business's webhook processed it", body = api_types::Envelope<PhoneMessageView>),
        (status = 400, description = "A field is missing or invalid (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        (status = 404, description = "Not in sandbox mode, or no account holds the number (code 40400)", body = ErrorEnvelope),
        (status = 413, description = "The body is larger than the file limit allows (code 41300)", body = ErrorEnvelope),
    )
)]
async fn send(State(state): State<AppState>, ApiJson(request): ApiJson<PhoneSendRequest>) -> ApiResult<PhoneMessageView> {
    let sandbox = sandbox_of(&state)?;
    let mut errors = Vec::new();
    let customer = check_customer(&request.customer, &mut errors);
    let message = check_message(&request, &mut errors);
    let number = number_named(&state, &request.phone_number_id, errors).await?;
    let (Some(customer), Some(message)) = (customer, message) else {
        return Err(ApiError::internal("a checked request lacks its customer or message"));
    };
    let at = now_millis();
    let wamid = format!("wamid.sandbox.{}", new_id());
    let payload = customer_message_payload(&number, &customer, &wamid, at / 1000, &message);
    let phones = sandbox.phones();
    let media_id = message.media.as_ref().map(|(media_id, _)| media_id.clone());
    let (mime_type, file_name) = message
        .media
        .as_ref()
        .map_or((None, None), |(_, file)| (Some(file.mime_type.clone()), file.file_name.clone()));
    if let Some((media_id, file)) = message.media {
        phones.put_media(&media_id, file);
    }
    let on_phone = PhoneMessage {
        wamid: wamid.clone(),
        from_business: false,
        kind: message.kind,
        text: message.text,
        media_id,
        mime_type,
        file_name,
        status: MessageStatus::Sent,
        at,
    };
    phones.customer_sent(&number.phone_number_id, &customer.key, on_phone);
    simulator::deliver_now(&state.webhooks, &payload).await;
    // The business's webhook has it: two grey ticks.
    phones.advance(&number.phone_number_id, &wamid, MessageStatus::Delivered);
    let sent = phones
        .thread(&number.phone_number_id, &customer.key)
        .into_iter()
        .find(|message| message.wamid == wamid)
        .ok_or_else(|| ApiError::internal("the phone lost the message it just sent"))?;
    ok(view(sent))
}

/// Sandbox mode only: the customer opens the chat and reads what the business sent; the business
/// receives Meta's `read` statuses for each message that was not read yet.
#[utoipa::path(
    post,
    path = "/whatsapp/sandbox/phone/read",
    tag = "whatsapp",
    request_body = PhoneChatRequest,
    responses(
        (status = 200, description = "The chat after reading", body = api_types::Envelope<PhoneThread>),
        (status = 400, description = "A field is missing or invalid (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        (status = 404, description = "Not in sandbox mode, or no account holds the number (code 40400)", body = ErrorEnvelope),
    )
)]
async fn read(State(state): State<AppState>, ApiJson(request): ApiJson<PhoneChatRequest>) -> ApiResult<PhoneThread> {
    let sandbox = sandbox_of(&state)?;
    let mut errors = Vec::new();
    let customer = check_customer(&request.customer, &mut errors);
    let number = number_named(&state, &request.phone_number_id, errors).await?;
    let customer = customer.ok_or_else(|| ApiError::internal("a checked request lacks its customer"))?;
    let phones = sandbox.phones();
    let unread: Vec<String> = phones
        .thread(&number.phone_number_id, &customer.key)
        .into_iter()
        .filter(|message| message.from_business && message.status.rank() < MessageStatus::Read.rank())
        .map(|message| message.wamid)
        .collect();
    for wamid in &unread {
        phones.advance(&number.phone_number_id, wamid, MessageStatus::Read);
    }
    if !unread.is_empty() {
        simulator::deliver_now(&state.webhooks, &read_statuses_payload(&number, &customer, &unread, now_millis() / 1000)).await;
    }
    ok(thread_of(phones, &number.phone_number_id, &customer.key))
}

/// Sandbox mode only: the chat as the customer's WhatsApp shows it (the phone page polls this).
#[utoipa::path(
    post,
    path = "/whatsapp/sandbox/phone/thread",
    tag = "whatsapp",
    request_body = PhoneChatRequest,
    responses(
        (status = 200, description = "The chat, oldest message first", body = api_types::Envelope<PhoneThread>),
        (status = 400, description = "A field is missing or invalid (code 40000, `fieldErrors`)", body = ErrorEnvelope),
        (status = 404, description = "Not in sandbox mode, or no account holds the number (code 40400)", body = ErrorEnvelope),
    )
)]
async fn thread(State(state): State<AppState>, ApiJson(request): ApiJson<PhoneChatRequest>) -> ApiResult<PhoneThread> {
    let sandbox = sandbox_of(&state)?;
    let mut errors = Vec::new();
    let customer = check_customer(&request.customer, &mut errors);
    let number = number_named(&state, &request.phone_number_id, errors).await?;
    let customer = customer.ok_or_else(|| ApiError::internal("a checked request lacks its customer"))?;
    ok(thread_of(sandbox.phones(), &number.phone_number_id, &customer.key))
}

/// Types a browser may show inline from this origin: they cannot run script. Anything else
/// (HTML, SVG, ...) is a download, so a customer's file never runs as the console's page.
fn shown_inline(mime_type: &str) -> bool {
    matches!(mime_type, "image/jpeg" | "image/png" | "image/webp" | "image/gif" | "application/pdf")
        || mime_type.starts_with("video/")
        || mime_type.starts_with("audio/")
}

/// `Content-Disposition` for `file_name`: an ASCII fallback and the exact name (RFC 6266 / 5987).
fn disposition(inline: bool, file_name: Option<&str>) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let Some(file_name) = file_name else { return kind.to_owned() };
    let ascii: String = file_name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded: String = file_name
        .bytes()
        .map(|byte| if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) { (byte as char).to_string() } else { format!("%{byte:02X}") })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Sandbox mode only: the bytes of a file on a phone (a customer's attachment, or media the business sent).
#[utoipa::path(
    get,
    path = "/whatsapp/sandbox/phone/media/{id}",
    tag = "whatsapp",
    params(("id" = String, Path, description = "The media id a thread message names")),
    responses(
        (status = 200, description = "The file, with its content type", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 404, description = "Not in sandbox mode, or no such file (code 40400)", body = ErrorEnvelope),
    )
)]
async fn media(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let sandbox = match sandbox_of(&state) {
        Ok(sandbox) => sandbox,
        Err(error) => return error.into_response(),
    };
    let Some(file) = sandbox.phones().media(&id) else {
        return ApiError::not_found("No such file on the sandbox phones").into_response();
    };
    let inline = shown_inline(&file.mime_type);
    let content_type = if inline { file.mime_type.as_str() } else { "application/octet-stream" };
    let mut response = file.bytes.clone().into_response();
    let headers = response.headers_mut();
    let header_of = |text: &str| HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, header_of(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition(inline, file.file_name.as_deref())) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    // Even a file shown inline runs nothing, and is never framed by another site.
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox; frame-ancestors 'self'"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::MessageEvent;
    use crate::webhooks::meta_payload;

    fn number() -> SandboxBusinessNumber {
        SandboxBusinessNumber {
            phone_number_id: "2000000000000001".to_owned(),
            waba_id: "1000000000000001".to_owned(),
            display_phone_number: "+1 555-0100".to_owned(),
            verified_name: "Acme Trading".to_owned(),
        }
    }

    fn request(kind: &str, customer: PhoneCustomer) -> PhoneSendRequest {
        PhoneSendRequest {
            phone_number_id: "2000000000000001".to_owned(),
            customer,
            kind: MessageType::parse(kind),
            text: None,
            media: None,
            location: None,
            contact: None,
        }
    }

    fn checked(request: &PhoneSendRequest) -> (CheckedCustomer, CheckedMessage) {
        let mut errors = Vec::new();
        let customer = check_customer(&request.customer, &mut errors);
        let message = check_message(request, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        (customer.unwrap(), message.unwrap())
    }

    fn only_message(payload: &Value) -> crate::inbox::MessageIn {
        let events = meta_payload::parse_messages(payload);
        assert_eq!(events.len(), 1, "{events:?}");
        match events.into_iter().next().unwrap() {
            MessageEvent::Message(message) => message,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn a_text_from_a_number_reads_back_as_the_customers_message_with_their_name() {
        let mut request = request("text", PhoneCustomer { wa_id: Some("+86 138-0013-8000".into()), user_id: None, name: Some("<b>Li</b>".into()) });
        request.text = Some("Hello 你好".into());
        let (customer, message) = checked(&request);
        assert_eq!(customer.key, CustomerKey::WaId("8613800138000".into()));
        let payload = customer_message_payload(&number(), &customer, "wamid.1", 1_700_000_000, &message);
        let value = &payload["entry"][0]["changes"][0]["value"];
        assert_eq!(value["metadata"]["display_phone_number"], "15550100");
        assert_eq!(value["contacts"][0], json!({"profile": {"name": "<b>Li</b>"}, "wa_id": "8613800138000"}));
        let read = only_message(&payload);
        assert_eq!(read.customer.wa_id.as_deref(), Some("8613800138000"));
        assert_eq!(read.customer.name.as_deref(), Some("<b>Li</b>"));
        assert_eq!(read.content.text.as_deref(), Some("Hello 你好"));
        assert_eq!(read.timestamp, 1_700_000_000_000);
    }

    #[test]
    fn a_customer_without_a_number_sends_from_their_user_id() {
        let mut request = request("text", PhoneCustomer { wa_id: None, user_id: Some("US.1234567890".into()), name: Some("Sam".into()) });
        request.text = Some("hi".into());
        let (customer, message) = checked(&request);
        assert_eq!(customer.key, CustomerKey::UserId("US.1234567890".into()));
        let payload = customer_message_payload(&number(), &customer, "wamid.2", 1, &message);
        let object = &payload["entry"][0]["changes"][0]["value"]["messages"][0];
        assert!(object.get("from").is_none(), "{object}");
        assert_eq!(object["from_user_id"], "US.1234567890");
        let read = only_message(&payload);
        assert_eq!((read.customer.wa_id, read.customer.user_id.as_deref()), (None, Some("US.1234567890")));
    }

    #[test]
    fn a_document_carries_its_id_hash_name_and_caption_and_keeps_the_bytes() {
        let mut request = request("document", PhoneCustomer { wa_id: Some("15550001234".into()), ..Default::default() });
        request.text = Some("Voilà".into());
        request.media = Some(PhoneMedia {
            data_base64: base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4"),
            mime_type: "application/PDF".into(),
            file_name: Some("Relevé – Über.pdf".into()),
        });
        let (customer, message) = checked(&request);
        let (media_id, file) = message.media.clone().unwrap();
        assert_eq!(media_id.len(), 16);
        assert_eq!(file.bytes.as_ref(), b"%PDF-1.4");
        let read = only_message(&customer_message_payload(&number(), &customer, "wamid.3", 1, &message));
        let media = read.content.media.unwrap();
        assert_eq!(media.id.as_deref(), Some(media_id.as_str()));
        assert_eq!(media.mime_type.as_deref(), Some("application/pdf"));
        assert_eq!(media.file_name.as_deref(), Some("Relevé – Über.pdf"));
        assert_eq!(media.caption.as_deref(), Some("Voilà"));
        let expected = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"%PDF-1.4"));
        assert_eq!(media.sha256.as_deref(), Some(expected.as_str()));
    }

    #[test]
    fn locations_and_contact_cards_read_back_as_what_they_are() {
        let customer = PhoneCustomer { wa_id: Some("15550001234".into()), ..Default::default() };
        let mut location = request("location", customer.clone());
        location.location = Some(PhoneLocation { latitude: 31.2304, longitude: 121.4737, name: Some("People's Square".into()), address: None });
        let (who, message) = checked(&location);
        let read = only_message(&customer_message_payload(&number(), &who, "wamid.4", 1, &message));
        assert_eq!(read.content.kind, MessageType::Location);
        assert_eq!(read.content.text.as_deref(), Some("People's Square"));
        let mut card = request("contacts", customer);
        card.contact = Some(PhoneContact { name: "Li Lei".into(), phone: "+86 138 0000 0000".into() });
        let (who, message) = checked(&card);
        let read = only_message(&customer_message_payload(&number(), &who, "wamid.5", 1, &message));
        assert_eq!(read.content.kind, MessageType::Contacts);
        assert_eq!(read.content.text.as_deref(), Some("Li Lei"));
    }

    #[test]
    fn bad_requests_name_their_fields() {
        let field_errors = |request: &PhoneSendRequest| {
            let mut errors = Vec::new();
            check_customer(&request.customer, &mut errors);
            check_message(request, &mut errors);
            errors.into_iter().map(|error| error.field).collect::<Vec<_>>()
        };
        assert_eq!(field_errors(&request("text", PhoneCustomer::default())), ["customer", "text"]);
        let mut image = request("image", PhoneCustomer { wa_id: Some("12".into()), ..Default::default() });
        image.media = Some(PhoneMedia { data_base64: "not base64!".into(), mime_type: "image/gif".into(), file_name: None });
        assert_eq!(field_errors(&image), ["customer.waId", "media.mimeType", "media.dataBase64"]);
        let video = request("video", PhoneCustomer { user_id: Some("u 1".into()), ..Default::default() });
        assert_eq!(field_errors(&video), ["customer.userId", "type"]);
        let mut far = request("location", PhoneCustomer { user_id: Some("u1".into()), ..Default::default() });
        far.location = Some(PhoneLocation { latitude: 91.0, longitude: f64::NAN, name: None, address: None });
        assert_eq!(field_errors(&far), ["location.latitude", "location.longitude"]);
    }

    #[test]
    fn read_statuses_name_the_customer_by_each_id_they_have() {
        let customer = CheckedCustomer {
            key: CustomerKey::UserId("u1".into()),
            wa_id: None,
            user_id: Some("u1".into()),
            name: None,
        };
        let payload = read_statuses_payload(&number(), &customer, &["wamid.a".to_owned(), "wamid.b".to_owned()], 5);
        let statuses = &payload["entry"][0]["changes"][0]["value"]["statuses"];
        assert_eq!(statuses[1], json!({"id": "wamid.b", "status": "read", "timestamp": "5", "recipient_user_id": "u1"}));
        let events = meta_payload::parse_messages(&payload);
        assert!(matches!(&events[..], [MessageEvent::Status(a), MessageEvent::Status(b)]
            if a.status == MessageStatus::Read && b.wamid == "wamid.b"));
    }

    #[test]
    fn only_harmless_types_are_shown_inline_and_names_are_quoted_safely() {
        assert!(shown_inline("image/png") && shown_inline("audio/ogg"));
        assert!(!shown_inline("text/html") && !shown_inline("image/svg+xml"));
        assert_eq!(disposition(false, Some("a\"b.pdf")), "attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b.pdf");
        assert_eq!(disposition(true, Some("Über.png")), "inline; filename=\"_ber.png\"; filename*=UTF-8''%C3%9Cber.png");
        assert_eq!(disposition(true, None), "inline");
    }
}
