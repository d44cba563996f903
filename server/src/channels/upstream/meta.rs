//! Meta's Graph API, directly (the "direct integration" of the facts file).
//!
//! Shapes follow Meta's published OpenAPI document (v23.0): errors are
//! `{"error": {"message", "type", "code", "error_subcode", "error_user_msg", "fbtrace_id"}}`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{text_of, UpstreamHttp};
use super::{
    BusinessToken, Operation, SyncKind, Upstream, UpstreamError, UpstreamNumber, UpstreamResult, UpstreamWaba,
};
use crate::settings::Settings;
use api_types::{MessagingLimit, NumberStatus, QualityRating, WabaStatus};

pub const PROVIDER: &str = "Meta";
pub const GRAPH_URL: &str = "https://graph.facebook.com";

const NUMBER_FIELDS: &str = "id,display_phone_number,verified_name,status,quality_rating,messaging_limit_tier";

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

/// Meta's error body: prefer the wording meant for users, fall back to the developer message.
fn read_graph_error(body: &Value) -> Option<(String, String)> {
    let error = body.get("error")?;
    let code = error.get("code").and_then(text_of).unwrap_or_default();
    let message = error
        .get("error_user_msg")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .or_else(|| error.get("message").and_then(Value::as_str))?
        .to_owned();
    Some((code, message))
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
}
