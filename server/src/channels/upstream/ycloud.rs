//! YCloud's API v2 (seed 004): `X-API-Key` authentication, camelCase JSON, errors as
//! `{"error": {"status", "code", "message", "whatsappApiError": {...}}}`.
//!
//! YCloud holds the Meta relationship itself, so several Meta steps are no-ops here: it subscribes
//! the WABA to its own webhooks, and it runs the coexistence syncs after `smb/bind`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{link_is_trusted, path_segment, sha256_matches, text_of, Multipart, UpstreamHttp};
use super::messaging::{MediaFile, MediaSource, OutgoingMessage, SentMessage};
use super::meta::{with_details, MetaConfig, MetaUpstream};
use super::{
    BusinessToken, Operation, SyncKind, Upstream, UpstreamError, UpstreamErrorKind, UpstreamNumber, UpstreamResult, UpstreamWaba,
};
use crate::settings::Settings;
use api_types::{MessagingLimit, NumberStatus, QualityRating, WabaStatus};

pub const PROVIDER: &str = "YCloud";
pub const YCLOUD_URL: &str = "https://api.ycloud.com";

/// Hosts the API key may be sent to with a media link (besides the configured API host).
const KEY_HOSTS: &[&str] = &["ycloud.com"];

/// `GET /v2/whatsapp/phoneNumbers` serves at most this many pages of 100.
const MAX_NUMBER_PAGES: u32 = 100;

#[derive(Debug, Clone)]
pub struct YcloudConfig {
    /// `https://api.ycloud.com` (paths start with `/v2`), or a local fake in tests.
    pub base_url: String,
    pub api_key: String,
    /// The partner's own Meta app, when configured: the Embedded Signup code belongs to it and is
    /// exchanged with Meta. Without it the code cannot be checked and YCloud acts on the API key.
    pub code_exchange: Option<MetaConfig>,
}

impl YcloudConfig {
    pub fn from_settings(settings: &Settings) -> Self {
        let code_exchange = settings
            .meta_app_secret
            .as_ref()
            .filter(|secret| !secret.is_empty() && !settings.meta_app_id.is_empty())
            .map(|secret| MetaConfig {
                base_url: super::meta::GRAPH_URL.to_owned(),
                graph_api_version: settings.graph_api_version.clone(),
                app_id: settings.meta_app_id.clone(),
                app_secret: secret.clone(),
            });
        YcloudConfig {
            base_url: settings.upstream_url.clone().unwrap_or_else(|| YCLOUD_URL.to_owned()),
            api_key: settings.ycloud_api_key.clone().unwrap_or_default(),
            code_exchange,
        }
    }
}

pub struct YcloudUpstream {
    http: UpstreamHttp,
    api_key: String,
    code_exchange: Option<MetaUpstream>,
    /// Meta's Graph API with no app of ours: only to check a WABA's own token.
    graph: MetaUpstream,
    /// Each number's E.164 form by its id: YCloud names the sender by number (`from`, the upload
    /// path), the inbox by id. A number's digits never change, so what was seen once is kept.
    e164_by_id: Mutex<HashMap<String, String>>,
}

impl YcloudUpstream {
    pub fn new(config: YcloudConfig, timeout: Duration) -> Self {
        let graph = MetaConfig {
            base_url: super::meta::GRAPH_URL.to_owned(),
            graph_api_version: config.code_exchange.as_ref().map_or_else(|| "v23.0".to_owned(), |meta| meta.graph_api_version.clone()),
            app_id: String::new(),
            app_secret: String::new(),
        };
        YcloudUpstream {
            http: UpstreamHttp::new(PROVIDER, &config.base_url, timeout, read_ycloud_error),
            api_key: config.api_key,
            code_exchange: config.code_exchange.map(|meta| MetaUpstream::new(meta, timeout)),
            graph: MetaUpstream::new(graph, timeout),
            e164_by_id: Mutex::new(HashMap::new()),
        }
    }

    fn remember_number(&self, number: &YcloudNumber) {
        if let Some(e164) = number.phone_number.as_deref().and_then(e164) {
            self.e164_by_id.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(number.id.clone(), e164);
        }
    }

    /// The business number `phone_number_id` in E.164: from the caller's display number when it
    /// gave one, else as seen before, else looked up in the partner's number list (which YCloud
    /// serves without a WABA filter for up to 100 WABAs).
    async fn business_number(&self, phone_number_id: &str, display_number: Option<&str>, operation: Operation) -> UpstreamResult<String> {
        if let Some(number) = display_number.and_then(e164) {
            return Ok(number);
        }
        if let Some(number) = self.e164_by_id.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(phone_number_id) {
            return Ok(number.clone());
        }
        for page in 1..=MAX_NUMBER_PAGES {
            let request = self.get("/v2/whatsapp/phoneNumbers").query(&[("page", page.to_string()), ("limit", "100".to_owned())]);
            let numbers: YcloudPage<YcloudNumber> = self.http.json(operation, request).await?;
            numbers.items.iter().for_each(|number| self.remember_number(number));
            if let Some(number) = self.e164_by_id.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(phone_number_id) {
                return Ok(number.clone());
            }
            if numbers.items.len() < 100 {
                break;
            }
        }
        Err(UpstreamError::rejected(PROVIDER, operation, 404, "NOT_FOUND", format!("phone number {phone_number_id} is not among YCloud's numbers")))
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.client.get(self.http.url(path)).header("X-API-Key", &self.api_key)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.client.post(self.http.url(path)).header("X-API-Key", &self.api_key)
    }

    async fn find_number(&self, waba_id: &str, phone_number_id: &str, operation: Operation) -> UpstreamResult<YcloudNumber> {
        let numbers = self.fetch_numbers(waba_id, operation).await?;
        numbers.into_iter().find(|number| number.id == phone_number_id).ok_or_else(|| {
            UpstreamError::rejected(
                PROVIDER,
                operation,
                404,
                "NOT_FOUND",
                format!("phone number {phone_number_id} is not in WhatsApp Business Account {waba_id}"),
            )
        })
    }

    async fn fetch_numbers(&self, waba_id: &str, operation: Operation) -> UpstreamResult<Vec<YcloudNumber>> {
        let request = self
            .get("/v2/whatsapp/phoneNumbers")
            .query(&[("filter.wabaId", waba_id), ("limit", "100")]);
        let page: YcloudPage<YcloudNumber> = self.http.json(operation, request).await?;
        page.items.iter().for_each(|number| self.remember_number(number));
        Ok(page.items)
    }
}

/// A phone number in E.164 (`+` and digits) from any punctuation (`+1 555-0100`, `15550100`).
fn e164(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("+{digits}"))
}

/// YCloud's error body; a Meta error it relays (`whatsappApiError`) is the more precise one, its
/// WhatsApp code (131047, ...) included: that is the code the outbox shows.
fn read_ycloud_error(body: &Value) -> Option<(String, String)> {
    let error = body.get("error")?;
    let relayed = error.get("whatsappApiError").filter(|meta| meta.is_object());
    let code = relayed
        .and_then(|meta| meta.get("code"))
        .and_then(text_of)
        .filter(|code| !code.is_empty())
        .or_else(|| error.get("code").and_then(text_of))
        .unwrap_or_default();
    let relayed_message = relayed.and_then(|meta| {
        ["error_user_msg", "message"]
            .into_iter()
            .find_map(|field| meta.get(field).and_then(Value::as_str).filter(|text| !text.is_empty()))
    });
    let message = match relayed_message {
        Some(message) => with_details(message, relayed?),
        None => error.get("message").and_then(Value::as_str)?.to_owned(),
    };
    Some((code, message))
}

/// A message as YCloud answers a send: `wamid` is what statuses and the inbox key on.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct YcloudMessage {
    #[serde(default)]
    wamid: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    whatsapp_api_error: Option<Value>,
}

#[derive(Deserialize)]
struct UploadAnswer {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct YcloudWaba {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    account_review_status: Option<String>,
    #[serde(default)]
    business_id: Option<String>,
    #[serde(default)]
    payment_method_attached: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct YcloudNumber {
    id: String,
    #[serde(default)]
    phone_number: Option<String>,
    #[serde(default)]
    display_phone_number: Option<String>,
    #[serde(default)]
    waba_id: Option<String>,
    #[serde(default)]
    verified_name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    quality_rating: Option<String>,
    #[serde(default)]
    messaging_limit: Option<String>,
    /// Since 2025-10 the limit is per business portfolio; YCloud sends both.
    #[serde(default)]
    whatsapp_business_manager_messaging_limit: Option<String>,
}

impl YcloudNumber {
    fn into_number(self, waba_id: &str) -> UpstreamNumber {
        UpstreamNumber {
            display_phone_number: self.display_phone_number.or(self.phone_number).unwrap_or_default(),
            id: self.id,
            waba_id: self.waba_id.unwrap_or_else(|| waba_id.to_owned()),
            verified_name: self.verified_name.unwrap_or_default(),
            status: self.status.as_deref().map_or(NumberStatus::Pending, NumberStatus::parse),
            quality_rating: self.quality_rating.as_deref().map_or(QualityRating::NotRated, QualityRating::parse),
            messaging_limit: self
                .whatsapp_business_manager_messaging_limit
                .or(self.messaging_limit)
                .as_deref()
                .map_or(MessagingLimit::Tier250, MessagingLimit::parse),
        }
    }
}

#[derive(Deserialize)]
struct YcloudPage<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

#[async_trait::async_trait]
impl Upstream for YcloudUpstream {
    fn name(&self) -> &'static str {
        "ycloud"
    }

    async fn exchange_code(&self, code: &str) -> UpstreamResult<Option<BusinessToken>> {
        match &self.code_exchange {
            Some(meta) => meta.exchange_code(code).await,
            None => Ok(None),
        }
    }

    /// YCloud's API key sees every WABA of the partner, so it proves nothing: the token is checked
    /// with Meta's Graph API (the partner's Meta app when configured, otherwise the public Graph).
    async fn token_controls_waba(&self, token: &BusinessToken, waba_id: &str) -> UpstreamResult<bool> {
        match &self.code_exchange {
            Some(meta) => meta.token_controls_waba(token, waba_id).await,
            None => self.graph.token_controls_waba(token, waba_id).await,
        }
    }

    async fn get_waba(&self, _token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<UpstreamWaba> {
        let request = self.get(&format!("/v2/whatsapp/businessAccounts/{waba_id}"));
        let waba: YcloudWaba = self.http.json(Operation::GetWaba, request).await?;
        Ok(UpstreamWaba {
            name: waba.name.unwrap_or_else(|| waba.id.clone()),
            id: waba.id,
            status: waba.account_review_status.as_deref().map_or(WabaStatus::NotReported, WabaStatus::parse),
            business_id: waba.business_id,
            payment_method_attached: waba.payment_method_attached,
        })
    }

    async fn list_numbers(&self, _token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<Vec<UpstreamNumber>> {
        let numbers = self.fetch_numbers(waba_id, Operation::ListNumbers).await?;
        Ok(numbers.into_iter().map(|number| number.into_number(waba_id)).collect())
    }

    async fn get_number(&self, _token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str) -> UpstreamResult<UpstreamNumber> {
        // YCloud retrieves one number by its E.164 number, not its id: find it in the WABA's list.
        let number = self.find_number(waba_id, phone_number_id, Operation::GetNumber).await?;
        Ok(number.into_number(waba_id))
    }

    async fn subscribe_app(&self, _token: Option<&BusinessToken>, _waba_id: &str) -> UpstreamResult<()> {
        Ok(())
    }

    async fn register_number(&self, _token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str, _pin: &str) -> UpstreamResult<()> {
        let request = self.post(&format!("/v2/whatsapp/phoneNumbers/{waba_id}/{phone_number_id}/register"));
        self.http.call(Operation::Register, request).await
    }

    async fn bind_coexistence(&self, _token: Option<&BusinessToken>, waba_id: &str, _phone_number_id: &str) -> UpstreamResult<()> {
        let request = self.post(&format!("/v2/whatsapp/businessAccounts/{waba_id}/smb/bind"));
        self.http.call(Operation::CoexistenceBind, request).await
    }

    async fn request_sync(&self, _token: Option<&BusinessToken>, _waba_id: &str, _phone_number_id: &str, _kind: SyncKind) -> UpstreamResult<()> {
        // YCloud requests both syncs itself after `smb/bind` and relays them as `whatsapp.smb.*` events.
        Ok(())
    }

    async fn deregister_number(&self, _token: Option<&BusinessToken>, _waba_id: &str, _phone_number_id: &str) -> UpstreamResult<()> {
        // YCloud's API v2 has no deregistration; the number stays with YCloud until removed there.
        Ok(())
    }

    async fn unsubscribe_app(&self, _token: Option<&BusinessToken>, _waba_id: &str) -> UpstreamResult<()> {
        Ok(())
    }

    async fn update_display_name(&self, _token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str, name: &str) -> UpstreamResult<()> {
        let number = self.find_number(waba_id, phone_number_id, Operation::UpdateDisplayName).await?;
        let e164 = number.phone_number.unwrap_or_default();
        let request = self
            .http
            .client
            .patch(self.http.url(&format!("/v2/whatsapp/phoneNumbers/{waba_id}/{e164}/displayName")))
            .header("X-API-Key", &self.api_key)
            .json(&json!({"newName": name}));
        self.http.call(Operation::UpdateDisplayName, request).await
    }

    /// Through `sendDirectly`, not the queued `POST /v2/whatsapp/messages`: it hands the message to
    /// WhatsApp at once and answers with the wamid or WhatsApp's refusal (131047, ...), so the
    /// outbox learns the outcome in the call; the queued endpoint answers before WhatsApp has seen
    /// the message, without a wamid, and reports a refusal only later as a webhook.
    async fn send_message(&self, _token: Option<&BusinessToken>, phone_number_id: &str, message: &OutgoingMessage) -> UpstreamResult<SentMessage> {
        let operation = Operation::SendMessage;
        let content = message.whatsapp_content().map_err(|problem| problem.refusal(PROVIDER))?;
        let from = self.business_number(phone_number_id, message.from_display_number.as_deref(), operation).await?;
        let kind = message.kind.as_str();
        let mut body = json!({"from": from, "type": kind});
        body[kind] = content;
        // `to` wins over `recipient` at YCloud, so only one is sent.
        match (message.to.wa_id.as_deref().and_then(e164), message.to.user_id.as_deref().filter(|id| !id.is_empty())) {
            (Some(to), _) => body["to"] = json!(to),
            (None, Some(user_id)) => body["recipient"] = json!(user_id),
            (None, None) => {
                return Err(UpstreamError::rejected(PROVIDER, operation, 400, "INVALID_MESSAGE", "the message names no recipient"));
            }
        }
        if let Some(reply_to) = &message.reply_to {
            body["context"] = json!({"message_id": reply_to});
        }
        if let Some(reference) = &message.client_reference {
            body["externalId"] = json!(reference);
        }
        let request = self.post("/v2/whatsapp/messages/sendDirectly").json(&body);
        let sent: YcloudMessage = self.http.json(operation, request).await?;
        if sent.status.as_deref() == Some("failed") {
            // Refused by WhatsApp though YCloud answered 200: as final as a 4xx.
            let error = json!({"error": {"code": sent.error_code, "message": sent.error_message, "whatsappApiError": sent.whatsapp_api_error}});
            let (code, text) = read_ycloud_error(&error)
                .unwrap_or_else(|| (sent.error_code.unwrap_or_default(), "WhatsApp did not accept the message".to_owned()));
            return Err(UpstreamError::rejected(PROVIDER, operation, 422, code, text));
        }
        let wamid = sent.wamid.filter(|wamid| !wamid.is_empty());
        let wamid = wamid.ok_or_else(|| self.http.error(operation, UpstreamErrorKind::Malformed { cause: "no wamid in the answer".to_owned() }))?;
        Ok(SentMessage { wamid })
    }

    async fn upload_media(&self, _token: Option<&BusinessToken>, phone_number_id: &str, file: &MediaFile) -> UpstreamResult<String> {
        let operation = Operation::UploadMedia;
        let number = self.business_number(phone_number_id, None, operation).await?;
        let form = Multipart::new().file("file", file.file_name.as_deref().unwrap_or("media"), &file.mime_type, &file.bytes);
        let request = self.post(&format!("/v2/whatsapp/media/{number}/upload"));
        let answer: UploadAnswer = self.http.upload(operation, request, form).await?;
        Ok(answer.id)
    }

    /// The webhook's link. YCloud asks for the `X-API-Key` header on it (the link alone works for a
    /// few minutes, with the key for a month); the key goes only to YCloud's hosts.
    async fn download_media(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, media: &MediaSource) -> UpstreamResult<MediaFile> {
        let operation = Operation::DownloadMedia;
        let link = media.link.as_deref().filter(|link| !link.is_empty()).ok_or_else(|| {
            UpstreamError::rejected(PROVIDER, operation, 400, "NO_LINK", "the webhook carried no link to download the media from")
        })?;
        let mut request = self.http.client.get(link);
        if link_is_trusted(link, &self.http.base_url, KEY_HOSTS) {
            request = request.header("X-API-Key", &self.api_key);
        }
        let downloaded = self.http.download(operation, request).await?;
        let malformed = |cause: &str| self.http.error(operation, UpstreamErrorKind::Malformed { cause: cause.to_owned() });
        if let Some(expected) = media.sha256.as_deref().filter(|sum| !sum.is_empty()) {
            match sha256_matches(expected, &downloaded.bytes) {
                Some(true) => {}
                Some(false) => return Err(malformed("the file does not match its sha256")),
                None => return Err(malformed("the sha256 is neither hex nor base64")),
            }
        }
        let mime_type = media
            .mime_type
            .clone()
            .or(downloaded.content_type)
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        Ok(MediaFile { bytes: downloaded.bytes, mime_type, file_name: None })
    }

    /// `{id}` is YCloud's id of the inbound message or, as the spec allows, its wamid: the wamid.
    async fn mark_read(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, wamid: &str) -> UpstreamResult<()> {
        let request = self.post(&format!("/v2/whatsapp/inboundMessages/{}/markAsRead", path_segment(wamid)));
        self.http.call(Operation::MarkRead, request).await
    }

    /// Marks the message read too, and lasts until we answer or 25 seconds.
    async fn send_typing(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, wamid: &str) -> UpstreamResult<()> {
        let request = self.post(&format!("/v2/whatsapp/inboundMessages/{}/typingIndicator", path_segment(wamid)));
        self.http.call(Operation::Typing, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_meta_errors_win() {
        let body = json!({"error": {"status": 400, "code": "WHATSAPP_API_ERROR", "message": "Bad request",
            "whatsappApiError": {"code": "133005", "message": "Two step verification PIN Mismatch"}}});
        assert_eq!(read_ycloud_error(&body), Some(("133005".to_owned(), "Two step verification PIN Mismatch".to_owned())));
        let body = json!({"error": {"status": 404, "code": "NOT_FOUND", "message": "The requested resource does not exist."}});
        assert_eq!(read_ycloud_error(&body).unwrap().1, "The requested resource does not exist.");
    }

    #[test]
    fn the_portfolio_limit_is_preferred() {
        let number: YcloudNumber = serde_json::from_value(json!({"id": "1", "phoneNumber": "+16315551111",
            "messagingLimit": "TIER_1K", "whatsappBusinessManagerMessagingLimit": "TIER_2K"}))
        .unwrap();
        let number = number.into_number("9");
        assert_eq!(number.messaging_limit, MessagingLimit::Tier2K);
        assert_eq!(number.display_phone_number, "+16315551111");
        assert_eq!(number.waba_id, "9");
    }
}
