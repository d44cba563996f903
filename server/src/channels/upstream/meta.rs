//! Meta's Graph API, directly (the "direct integration" of the facts file).
//!
//! Shapes follow Meta's published OpenAPI document (v23.0): errors are
//! `{"error": {"message", "type", "code", "error_subcode", "error_user_msg", "error_data": {"details"}, "fbtrace_id"}}`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{link_is_trusted, path_segment, sha256_matches, text_of, Multipart, UpstreamHttp, MAX_MEDIA_BYTES};
use super::messaging::{MediaFile, MediaSource, OutgoingMessage, SentMessage};
use super::{
    BusinessToken, Operation, SyncKind, Upstream, UpstreamError, UpstreamErrorKind, UpstreamNumber, UpstreamResult, UpstreamWaba,
};
use crate::settings::Settings;
use api_types::{MessagingLimit, NumberStatus, QualityRating, WabaStatus};

pub const PROVIDER: &str = "Meta";
pub const GRAPH_URL: &str = "https://graph.facebook.com";

const NUMBER_FIELDS: &str = "id,display_phone_number,verified_name,status,quality_rating,messaging_limit_tier";

/// Where Meta's short-lived media URLs live (`lookaside.fbsbx.com`, ...): the business token goes
/// to these hosts only (or to the configured Graph host), never to whatever URL an answer names.
const MEDIA_HOSTS: &[&str] = &["fbsbx.com", "facebook.com", "fbcdn.net", "whatsapp.net"];

/// `biz_opaque_callback_data` holds at most this many characters.
const MAX_CALLBACK_DATA_CHARS: usize = 512;

#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// `https://graph.facebook.com`, or a local fake in tests.
    pub base_url: String,
    /// `v23.0`
    pub graph_api_version: String,
    pub app_id: String,
    pub app_secret: String,
}

impl MetaConfig {
    pub fn from_settings(settings: &Settings) -> Self {
        MetaConfig {
            base_url: settings.upstream_url.clone().unwrap_or_else(|| GRAPH_URL.to_owned()),
            graph_api_version: settings.graph_api_version.clone(),
            app_id: settings.meta_app_id.clone(),
            app_secret: settings.meta_app_secret.clone().unwrap_or_default(),
        }
    }
}

pub struct MetaUpstream {
    http: UpstreamHttp,
    config: MetaConfig,
}

impl MetaUpstream {
    pub fn new(config: MetaConfig, timeout: Duration) -> Self {
        MetaUpstream { http: UpstreamHttp::new(PROVIDER, &config.base_url, timeout, read_graph_error), config }
    }

    fn url(&self, path: &str) -> String {
        self.http.url(&format!("/{}/{}", self.config.graph_api_version, path.trim_start_matches('/')))
    }

    /// Every Graph call but the code exchange needs the business token.
    fn bearer<'t>(&self, token: Option<&'t BusinessToken>, operation: Operation) -> UpstreamResult<&'t str> {
        token.map(|token| token.0.as_str()).ok_or_else(|| {
            UpstreamError::rejected(
                PROVIDER,
                operation,
                401,
                "NO_TOKEN",
                "wadesk holds no access token for this WhatsApp Business Account; connect it with Embedded Signup first",
            )
        })
    }

    fn get(&self, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.client.get(self.url(path)).bearer_auth(token)
    }

    fn post(&self, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.client.post(self.url(path)).bearer_auth(token)
    }
}

/// Meta's error body: prefer the wording meant for users, fall back to the developer message,
/// followed by the details messaging errors carry (`error_data.details`: why 131047 refused).
fn read_graph_error(body: &Value) -> Option<(String, String)> {
    let error = body.get("error")?;
    let code = error.get("code").and_then(text_of).unwrap_or_default();
    let message = error
        .get("error_user_msg")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .or_else(|| error.get("message").and_then(Value::as_str))?;
    Some((code, with_details(message, error)))
}

/// `message` followed by the `error_data.details` of a Graph error object, when it adds something.
pub(super) fn with_details(message: &str, error: &Value) -> String {
    let details = error.get("error_data").and_then(|data| data.get("details")).and_then(Value::as_str).map(str::trim);
    match details.filter(|details| !details.is_empty() && !message.contains(details)) {
        Some(details) => format!("{message}: {details}"),
        None => message.to_owned(),
    }
}

/// The answer to a send: `messages[0].id` is the wamid statuses will name.
#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SentId>,
}

#[derive(Deserialize)]
struct SentId {
    id: String,
}

#[derive(Deserialize)]
struct UploadAnswer {
    id: String,
}

/// `GET /{media-id}`: where the file is for the next five minutes, and what it is.
#[derive(Deserialize)]
struct MediaLookup {
    url: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    /// A string in the published examples, a number in practice.
    #[serde(default)]
    file_size: Option<Value>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
}

#[derive(Deserialize)]
struct GraphWaba {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    account_review_status: Option<String>,
    #[serde(default)]
    owner_business_info: Option<GraphBusiness>,
}

#[derive(Deserialize)]
struct GraphBusiness {
    id: String,
}

#[derive(Deserialize)]
struct GraphNumber {
    id: String,
    #[serde(default)]
    display_phone_number: Option<String>,
    #[serde(default)]
    verified_name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    quality_rating: Option<String>,
    #[serde(default)]
    messaging_limit_tier: Option<String>,
}

impl GraphNumber {
    fn into_number(self, waba_id: &str) -> UpstreamNumber {
        UpstreamNumber {
            id: self.id,
            waba_id: waba_id.to_owned(),
            display_phone_number: self.display_phone_number.unwrap_or_default(),
            verified_name: self.verified_name.unwrap_or_default(),
            status: self.status.as_deref().map_or(NumberStatus::Pending, NumberStatus::parse),
            quality_rating: self.quality_rating.as_deref().map_or(QualityRating::NotRated, QualityRating::parse),
            messaging_limit: self.messaging_limit_tier.as_deref().map_or(MessagingLimit::Tier250, MessagingLimit::parse),
        }
    }
}

#[derive(Deserialize)]
struct GraphList<T> {
    data: Vec<T>,
    #[serde(default)]
    paging: Option<GraphPaging>,
}

/// Graph's cursor paging: `next` is present only when another page follows.
#[derive(Debug, Deserialize)]
struct GraphPaging {
    #[serde(default)]
    cursors: Option<GraphCursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GraphCursors {
    #[serde(default)]
    after: Option<String>,
}

impl<T> GraphList<T> {
    /// The cursor of the following page, when Graph says there is one.
    fn after_cursor(&self) -> Option<String> {
        let paging = self.paging.as_ref()?;
        paging.next.as_ref()?;
        paging.cursors.as_ref()?.after.clone().filter(|after| !after.is_empty())
    }
}

/// A WABA with more numbers than this many pages of 100 is cut off (and logged): far beyond any
/// real account, and a guard against an upstream that keeps answering "next".
const MAX_NUMBER_PAGES: usize = 50;

#[async_trait::async_trait]
impl Upstream for MetaUpstream {
    fn name(&self) -> &'static str {
        "meta"
    }

    async fn exchange_code(&self, code: &str) -> UpstreamResult<Option<BusinessToken>> {
        let request = self.http.client.get(self.url("oauth/access_token")).query(&[
            ("client_id", self.config.app_id.as_str()),
            ("client_secret", self.config.app_secret.as_str()),
            ("code", code),
        ]);
        let answer: TokenAnswer = self.http.json(Operation::ExchangeCode, request).await?;
        Ok(Some(BusinessToken(answer.access_token)))
    }

    async fn token_controls_waba(&self, token: &BusinessToken, waba_id: &str) -> UpstreamResult<bool> {
        match self.get_waba(Some(token), waba_id).await {
            Ok(waba) => Ok(waba.id == waba_id),
            Err(error) if error.is_refusal() => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn get_waba(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<UpstreamWaba> {
        let token = self.bearer(token, Operation::GetWaba)?;
        let request = self
            .get(token, waba_id)
            .query(&[("fields", "id,name,account_review_status,owner_business_info")]);
        let waba: GraphWaba = self.http.json(Operation::GetWaba, request).await?;
        Ok(UpstreamWaba {
            name: waba.name.unwrap_or_else(|| waba.id.clone()),
            id: waba.id,
            status: waba.account_review_status.as_deref().map_or(WabaStatus::NotReported, WabaStatus::parse),
            business_id: waba.owner_business_info.map(|business| business.id),
            payment_method_attached: None,
        })
    }

    async fn list_numbers(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<Vec<UpstreamNumber>> {
        let token = self.bearer(token, Operation::ListNumbers)?;
        let mut numbers = Vec::new();
        let mut after: Option<String> = None;
        for _page in 0..MAX_NUMBER_PAGES {
            let mut request = self
                .get(token, &format!("{waba_id}/phone_numbers"))
                .query(&[("fields", NUMBER_FIELDS), ("limit", "100")]);
            if let Some(cursor) = &after {
                // The cursor, not Graph's absolute `next` URL: requests only ever go to the configured host.
                request = request.query(&[("after", cursor.as_str())]);
            }
            let list: GraphList<GraphNumber> = self.http.json(Operation::ListNumbers, request).await?;
            after = list.after_cursor();
            numbers.extend(list.data.into_iter().map(|number| number.into_number(waba_id)));
            if after.is_none() {
                return Ok(numbers);
            }
        }
        tracing::warn!(waba_id, pages = MAX_NUMBER_PAGES, "Graph kept paging phone numbers; the rest is left out");
        Ok(numbers)
    }

    async fn get_number(&self, token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str) -> UpstreamResult<UpstreamNumber> {
        let token = self.bearer(token, Operation::GetNumber)?;
        let request = self.get(token, phone_number_id).query(&[("fields", NUMBER_FIELDS)]);
        let number: GraphNumber = self.http.json(Operation::GetNumber, request).await?;
        Ok(number.into_number(waba_id))
    }

    async fn subscribe_app(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<()> {
        let token = self.bearer(token, Operation::SubscribeApp)?;
        self.http.call(Operation::SubscribeApp, self.post(token, &format!("{waba_id}/subscribed_apps"))).await
    }

    async fn register_number(&self, token: Option<&BusinessToken>, _waba_id: &str, phone_number_id: &str, pin: &str) -> UpstreamResult<()> {
        let token = self.bearer(token, Operation::Register)?;
        let request = self
            .post(token, &format!("{phone_number_id}/register"))
            .json(&json!({"messaging_product": "whatsapp", "pin": pin}));
        self.http.call(Operation::Register, request).await
    }

    async fn bind_coexistence(&self, _token: Option<&BusinessToken>, _waba_id: &str, _phone_number_id: &str) -> UpstreamResult<()> {
        // On Meta directly, the Embedded Signup itself onboards the app number; the syncs follow.
        Ok(())
    }

    async fn request_sync(&self, token: Option<&BusinessToken>, _waba_id: &str, phone_number_id: &str, kind: SyncKind) -> UpstreamResult<()> {
        let operation = match kind {
            SyncKind::Contacts => Operation::ContactSync,
            SyncKind::History => Operation::HistorySync,
        };
        let token = self.bearer(token, operation)?;
        let request = self
            .post(token, &format!("{phone_number_id}/smb_app_data"))
            .json(&json!({"messaging_product": "whatsapp", "sync_type": kind.meta_sync_type()}));
        self.http.call(operation, request).await
    }

    async fn deregister_number(&self, token: Option<&BusinessToken>, _waba_id: &str, phone_number_id: &str) -> UpstreamResult<()> {
        let token = self.bearer(token, Operation::Deregister)?;
        self.http.call(Operation::Deregister, self.post(token, &format!("{phone_number_id}/deregister"))).await
    }

    async fn unsubscribe_app(&self, token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<()> {
        let token = self.bearer(token, Operation::UnsubscribeApp)?;
        let request = self.http.client.delete(self.url(&format!("{waba_id}/subscribed_apps"))).bearer_auth(token);
        self.http.call(Operation::UnsubscribeApp, request).await
    }

    async fn update_display_name(&self, token: Option<&BusinessToken>, _waba_id: &str, phone_number_id: &str, name: &str) -> UpstreamResult<()> {
        let token = self.bearer(token, Operation::UpdateDisplayName)?;
        let request = self.post(token, phone_number_id).query(&[("new_display_name", name)]);
        self.http.call(Operation::UpdateDisplayName, request).await
    }

    async fn send_message(&self, token: Option<&BusinessToken>, phone_number_id: &str, message: &OutgoingMessage) -> UpstreamResult<SentMessage> {
        let operation = Operation::SendMessage;
        let token = self.bearer(token, operation)?;
        // The Cloud API addresses customers by `to` only (v23.0 has no field for a user id).
        let to = message.to.wa_id.as_deref().filter(|wa_id| !wa_id.is_empty()).ok_or_else(|| {
            UpstreamError::rejected(
                PROVIDER,
                operation,
                400,
                "NO_WA_ID",
                "Meta's Cloud API sends only to a WhatsApp phone number, and this customer is known only by a user id",
            )
        })?;
        let content = message.whatsapp_content().map_err(|problem| problem.refusal(PROVIDER))?;
        let kind = message.kind.as_str();
        let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind});
        body[kind] = content;
        if let Some(reply_to) = &message.reply_to {
            body["context"] = json!({"message_id": reply_to});
        }
        if let Some(reference) = message.client_reference.as_ref().filter(|reference| reference.chars().count() <= MAX_CALLBACK_DATA_CHARS) {
            body["biz_opaque_callback_data"] = json!(reference);
        }
        let request = self.post(token, &format!("{phone_number_id}/messages")).json(&body);
        let answer: SendAnswer = self.http.json(operation, request).await?;
        let wamid = answer.messages.into_iter().next().map(|sent| sent.id).filter(|id| !id.is_empty());
        let wamid = wamid.ok_or_else(|| self.http.error(operation, UpstreamErrorKind::Malformed { cause: "no messages[0].id in the answer".to_owned() }))?;
        Ok(SentMessage { wamid })
    }

    async fn upload_media(&self, token: Option<&BusinessToken>, phone_number_id: &str, file: &MediaFile) -> UpstreamResult<String> {
        let token = self.bearer(token, Operation::UploadMedia)?;
        // `type` is the file's MIME type, as Meta's media reference asks.
        let form = Multipart::new()
            .text("messaging_product", "whatsapp")
            .text("type", &file.mime_type)
            .file("file", file.file_name.as_deref().unwrap_or("media"), &file.mime_type, &file.bytes);
        let answer: UploadAnswer = self.http.upload(Operation::UploadMedia, self.post(token, &format!("{phone_number_id}/media")), form).await?;
        Ok(answer.id)
    }

    async fn download_media(&self, token: Option<&BusinessToken>, phone_number_id: &str, media: &MediaSource) -> UpstreamResult<MediaFile> {
        let operation = Operation::DownloadMedia;
        let token = self.bearer(token, operation)?;
        let media_id = media.upstream_media_id.as_deref().filter(|id| !id.is_empty()).ok_or_else(|| {
            UpstreamError::rejected(PROVIDER, operation, 400, "NO_MEDIA_ID", "the webhook named no media id to download")
        })?;
        let malformed = |cause: String| self.http.error(operation, UpstreamErrorKind::Malformed { cause });
        let request = self.get(token, &path_segment(media_id)).query(&[("phone_number_id", phone_number_id)]);
        let lookup: MediaLookup = self.http.json(operation, request).await?;
        let declared_size = lookup.file_size.as_ref().and_then(text_of).and_then(|size| size.parse::<u64>().ok());
        if declared_size.is_some_and(|size| size > MAX_MEDIA_BYTES) {
            return Err(malformed(format!("the file is larger than {MAX_MEDIA_BYTES} bytes")));
        }
        if !link_is_trusted(&lookup.url, &self.config.base_url, MEDIA_HOSTS) {
            return Err(malformed("the media URL is not on a Meta host".to_owned()));
        }
        // The URL needs the token too, and lives five minutes: fetched at once.
        let downloaded = self.http.download(operation, self.http.client.get(&lookup.url).bearer_auth(token)).await?;
        if let Some(expected) = lookup.sha256.as_deref().or(media.sha256.as_deref()).filter(|sum| !sum.is_empty()) {
            match sha256_matches(expected, &downloaded.bytes) {
                Some(true) => {}
                Some(false) => return Err(malformed("the file does not match its sha256".to_owned())),
                None => return Err(malformed("the sha256 is neither hex nor base64".to_owned())),
            }
        }
        let mime_type = lookup
            .mime_type
            .or_else(|| media.mime_type.clone())
            .or(downloaded.content_type)
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        Ok(MediaFile { bytes: downloaded.bytes, mime_type, file_name: None })
    }

    async fn mark_read(&self, token: Option<&BusinessToken>, phone_number_id: &str, wamid: &str) -> UpstreamResult<()> {
        let token = self.bearer(token, Operation::MarkRead)?;
        let request = self
            .post(token, &format!("{phone_number_id}/messages"))
            .json(&json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid}));
        self.http.call(Operation::MarkRead, request).await
    }

    async fn send_typing(&self, token: Option<&BusinessToken>, phone_number_id: &str, wamid: &str) -> UpstreamResult<()> {
        let token = self.bearer(token, Operation::Typing)?;
        // Meta shows typing only together with a read receipt for the message being answered.
        let request = self.post(token, &format!("{phone_number_id}/messages")).json(&json!({
            "messaging_product": "whatsapp", "status": "read", "message_id": wamid, "typing_indicator": {"type": "text"}
        }));
        self.http.call(Operation::Typing, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_errors_prefer_the_user_message() {
        let body = json!({"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100,
            "error_user_msg": "The PIN is not valid", "fbtrace_id": "x"}});
        assert_eq!(read_graph_error(&body), Some(("100".to_owned(), "The PIN is not valid".to_owned())));
        let body = json!({"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}});
        assert_eq!(read_graph_error(&body), Some(("190".to_owned(), "Invalid OAuth access token".to_owned())));
        assert_eq!(read_graph_error(&json!({"ok": true})), None);
    }

    #[test]
    fn messaging_errors_keep_their_details() {
        let body = json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
            "error_data": {"messaging_product": "whatsapp", "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}});
        let (code, message) = read_graph_error(&body).unwrap();
        assert_eq!(code, "131047");
        assert_eq!(
            message,
            "(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number."
        );
    }
}
