//! YCloud's API v2 (seed 004): `X-API-Key` authentication, camelCase JSON, errors as
//! `{"error": {"status", "code", "message", "whatsappApiError": {...}}}`.
//!
//! YCloud holds the Meta relationship itself, so several Meta steps are no-ops here: it subscribes
//! the WABA to its own webhooks, and it runs the coexistence syncs after `smb/bind`.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{text_of, UpstreamHttp};
use super::meta::{MetaConfig, MetaUpstream};
use super::{
    BusinessToken, Operation, SyncKind, Upstream, UpstreamError, UpstreamNumber, UpstreamResult, UpstreamWaba,
};
use crate::settings::Settings;
use api_types::{MessagingLimit, NumberStatus, QualityRating, WabaStatus};

pub const PROVIDER: &str = "YCloud";
pub const YCLOUD_URL: &str = "https://api.ycloud.com";

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
        }
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
        Ok(page.items)
    }
}

/// YCloud's error body; a Meta error it relays (`whatsappApiError`) is the more precise one.
fn read_ycloud_error(body: &Value) -> Option<(String, String)> {
    let error = body.get("error")?;
    let code = error.get("code").and_then(text_of).unwrap_or_default();
    let relayed = error
        .get("whatsappApiError")
        .and_then(|meta| meta.get("error_user_msg").or_else(|| meta.get("message")))
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty());
    let message = relayed.or_else(|| error.get("message").and_then(Value::as_str))?.to_owned();
    Some((code, message))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayed_meta_errors_win() {
        let body = json!({"error": {"status": 400, "code": "WHATSAPP_API_ERROR", "message": "Bad request",
            "whatsappApiError": {"code": "133005", "message": "Two step verification PIN Mismatch"}}});
        assert_eq!(
            read_ycloud_error(&body),
            Some(("WHATSAPP_API_ERROR".to_owned(), "Two step verification PIN Mismatch".to_owned()))
        );
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
