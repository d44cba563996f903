//! The sandbox: Meta simulated in-process, so onboarding works offline.
//!
//! It knows a few fake business portfolios (the sandbox Facebook popup offers them), mints the
//! single-use 30-second codes the popup hands to the stand-in SDK, and answers every other call
//! like a test number would. Ids it has never seen are accepted too (seed 003 `bind` with any
//! ids), except WABA ids starting with `999`, which it refuses, so failures can be tried.
//!
//! The inbox's calls reach the customers' phones ([`super::phones`]): what the business sends
//! appears there, and WhatsApp's statuses come back as Meta-shaped webhooks through the real
//! webhook path (`sent` at once, `delivered` a moment later). Failures to try:
//! a customer whose number starts with [`NOT_ALLOWED_PREFIX`] is refused at once (131030),
//! one whose number starts with [`UNDELIVERABLE_PREFIX`] gets a `failed` status (131026), and a
//! text containing [`TIMEOUT_ONCE_MARKER`] times out on its first try.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use api_types::{MessageStatus, MessageType, MessagingLimit, NumberStatus, QualityRating, WabaStatus};
use rand::{Rng, RngCore};
use serde_json::{json, Value};

use super::phones::CustomerKey;
use super::simulator::{self, SyncScript};
use crate::webhooks::WebhookInbox;
use crate::channels::upstream::messaging::{MediaFile, MediaSource, OutgoingMessage, Recipient, SentMessage};
use crate::channels::upstream::{
    BusinessToken, NameRequest, Operation, Outcome, SyncKind, SyncRequest, Upstream, UpstreamError, UpstreamErrorKind, UpstreamNumber,
    UpstreamResult, UpstreamWaba, DEFAULT_TIMEOUT,
};

pub const PROVIDER: &str = "Meta (sandbox)";

/// How long a minted code may be exchanged, like Meta's.
pub const CODE_LIFETIME: Duration = Duration::from_secs(30);

/// WABA ids with this prefix are refused, to try the error paths.
pub const REFUSED_WABA_PREFIX: &str = "999";

/// Customers whose WhatsApp number starts with this are refused at once, as Meta refuses a test
/// number's send to a number not on its allowed list (HTTP 400, code 131030).
pub const NOT_ALLOWED_PREFIX: &str = "999";

/// Customers whose WhatsApp number starts with this get the message accepted, then a `failed`
/// status (131026, undeliverable: not on WhatsApp, or an old app).
pub const UNDELIVERABLE_PREFIX: &str = "998";

/// A text containing this times out on its first try (no answer within the timeout), and is
/// accepted when tried again.
pub const TIMEOUT_ONCE_MARKER: &str = "[sandbox:timeout-once]";

/// How long after `sent` the sandbox says `delivered`.
pub const DELIVERED_AFTER: Duration = Duration::from_millis(300);

/// How long the customer sees "typing…" (WhatsApp: up to 25 seconds, or the next message).
pub const TYPING_SHOWN_MS: i64 = 25_000;

/// The largest file the sandbox takes, like Meta's (documents).
const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024;

/// A fake business portfolio with its WABA and numbers.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SandboxPortfolio {
    pub business_id: &'static str,
    pub business_name: &'static str,
    pub waba_id: &'static str,
    pub waba_name: &'static str,
    pub numbers: &'static [SandboxNumber],
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SandboxNumber {
    pub id: &'static str,
    pub display_phone_number: &'static str,
    pub verified_name: &'static str,
}

/// What the popup offers. Ids are digits only, like Meta's.
pub const PORTFOLIOS: &[SandboxPortfolio] = &[
    SandboxPortfolio {
        business_id: "3000000000000001",
        business_name: "Acme Trading",
        waba_id: "1000000000000001",
        waba_name: "Acme Trading",
        numbers: &[
            SandboxNumber { id: "2000000000000001", display_phone_number: "+1 555-0100", verified_name: "Acme Trading" },
            SandboxNumber { id: "2000000000000002", display_phone_number: "+1 555-0101", verified_name: "Acme Support" },
        ],
    },
    SandboxPortfolio {
        business_id: "3000000000000002",
        business_name: "Blue Bakery",
        waba_id: "1000000000000002",
        waba_name: "Blue Bakery",
        numbers: &[
            SandboxNumber { id: "2000000000000003", display_phone_number: "+1 555-0102", verified_name: "Blue Bakery" },
            SandboxNumber { id: "2000000000000004", display_phone_number: "+1 555-0103", verified_name: "Blue Bakery Orders" },
        ],
    },
    SandboxPortfolio {
        business_id: "3000000000000003",
        business_name: "Harbor Clinic",
        waba_id: "1000000000000003",
        waba_name: "Harbor Clinic",
        numbers: &[SandboxNumber { id: "2000000000000005", display_phone_number: "+1 555-0104", verified_name: "Harbor Clinic" }],
    },
];

/// What the tester picked in the popup; remembered with the code it minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxGrant {
    pub waba_id: String,
    pub phone_number_id: Option<String>,
    pub business_id: Option<String>,
    /// The tester declined to share the chat history (coexistence).
    pub decline_history: bool,
}

struct MintedCode {
    grant: SandboxGrant,
    expires_at: Instant,
    used: bool,
}

#[derive(Default)]
struct SandboxState {
    codes: HashMap<String, MintedCode>,
    history_declined: HashSet<String>,
    /// Registered (or bound by hand, or app-synced) numbers.
    registered: HashSet<String>,
    /// Messages (by our reference) that already timed out once ([`TIMEOUT_ONCE_MARKER`]).
    timed_out: HashSet<String>,
    /// Every `mark_read` call: (business number, wamid).
    read_receipts: Vec<(String, String)>,
    /// Every `send_typing` call: (business number, wamid).
    typing_indicators: Vec<(String, String)>,
}

/// Where the sandbox reads the time to expire the codes it mints.
/// The monotonic clock ([`Instant::now`]) unless a test gives another ([`SandboxUpstream::with_clock`]).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The sandbox adapter. With a database it also plays back what WhatsApp does after each step
/// (connecting a number, the coexistence sync, name reviews) as webhooks into that database.
pub struct SandboxUpstream {
    state: Arc<Mutex<SandboxState>>,
    /// The customers' phones this sandbox's sends reach (and the phone page reads).
    phones: Arc<super::phones::SandboxPhones>,
    inbox: Option<WebhookInbox>,
    clock: Clock,
}

impl Default for SandboxUpstream {
    fn default() -> Self {
        SandboxUpstream::new()
    }
}

impl SandboxUpstream {
    /// The adapter alone (no follow-ups are played back).
    pub fn new() -> Self {
        SandboxUpstream { state: Arc::default(), phones: Arc::default(), inbox: None, clock: Arc::new(Instant::now) }
    }

    /// The adapter that plays WhatsApp's follow-ups back through the webhook path into `inbox`.
    pub fn with_inbox(inbox: WebhookInbox) -> Self {
        SandboxUpstream { inbox: Some(inbox), ..SandboxUpstream::new() }
    }

    /// The same adapter reading the time from `clock` (tests move a fake clock instead of waiting).
    pub fn with_clock(self, clock: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        SandboxUpstream { clock: Arc::new(clock), ..self }
    }

    /// The customers' phones.
    pub fn phones(&self) -> &Arc<super::phones::SandboxPhones> {
        &self.phones
    }

    /// The webhook inbox the sandbox plays WhatsApp's webhooks into (none for the adapter alone).
    pub fn inbox(&self) -> Option<&WebhookInbox> {
        self.inbox.as_ref()
    }

    fn now(&self) -> Instant {
        (self.clock)()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SandboxState> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mint a random single-use code for `grant`, valid for `lifetime` (at most [`CODE_LIFETIME`]).
    pub fn mint_code(&self, grant: SandboxGrant, lifetime: Duration) -> String {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let code = format!("sbx_{}", hex::encode(bytes));
        let now = self.now();
        let mut state = self.state();
        state.codes.retain(|_, minted| minted.expires_at + Duration::from_secs(300) > now);
        state
            .codes
            .insert(code.clone(), MintedCode { grant, expires_at: now + lifetime.min(CODE_LIFETIME), used: false });
        code
    }

    /// Whether the tester declined history sharing for this number in the popup.
    pub fn history_declined(&self, phone_number_id: &str) -> bool {
        self.state().history_declined.contains(phone_number_id)
    }

    /// The wamids `mark_read` was called with for `phone_number_id`, in order.
    pub fn read_receipts(&self, phone_number_id: &str) -> Vec<String> {
        let state = self.state();
        state.read_receipts.iter().filter(|(number, _)| number == phone_number_id).map(|(_, wamid)| wamid.clone()).collect()
    }

    /// The wamids `send_typing` was called with for `phone_number_id`, in order.
    pub fn typing_indicators(&self, phone_number_id: &str) -> Vec<String> {
        let state = self.state();
        state.typing_indicators.iter().filter(|(number, _)| number == phone_number_id).map(|(_, wamid)| wamid.clone()).collect()
    }

    /// Play back what WhatsApp says about a message the business sent: `sent` now, then
    /// `delivered` (the phone shows it) or, for an undeliverable customer, `failed` (131026).
    fn play_statuses(&self, phone_number_id: &str, wamid: &str, to: &Recipient) {
        let Some(inbox) = self.inbox.clone() else { return };
        let phones = self.phones.clone();
        let (phone_number_id, wamid, to) = (phone_number_id.to_owned(), wamid.to_owned(), to.clone());
        let undeliverable = to.wa_id.as_deref().is_some_and(|wa_id| wa_id.starts_with(UNDELIVERABLE_PREFIX));
        tokio::spawn(async move {
            let number = match number_metadata(inbox.db(), &phone_number_id).await {
                Ok(number) => number,
                Err(cause) => {
                    tracing::error!(%cause, "sandbox: cannot read the number a status is for");
                    return;
                }
            };
            simulator::deliver_now(&inbox, &status_payload(&number, &wamid, &to, "sent", None)).await;
            tokio::time::sleep(DELIVERED_AFTER).await;
            if undeliverable {
                let error = json!([{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                    "error_data": {"details": "The customer's phone cannot receive this message (not on WhatsApp, or an old app)"}}]);
                simulator::deliver_now(&inbox, &status_payload(&number, &wamid, &to, "failed", Some(error))).await;
            } else {
                phones.advance(&phone_number_id, &wamid, MessageStatus::Delivered);
                simulator::deliver_now(&inbox, &status_payload(&number, &wamid, &to, "delivered", None)).await;
            }
        });
    }

    fn refuse(operation: Operation, status: u16, code: &str, message: impl Into<String>) -> UpstreamError {
        UpstreamError::rejected(PROVIDER, operation, status, code, message)
    }

    fn check_waba(waba_id: &str, operation: Operation) -> UpstreamResult<()> {
        if waba_id.starts_with(REFUSED_WABA_PREFIX) {
            return Err(Self::refuse(
                operation,
                403,
                "200",
                format!("WhatsApp Business Account {waba_id} is not shared with this app"),
            ));
        }
        Ok(())
    }

    fn known_portfolio(waba_id: &str) -> Option<&'static SandboxPortfolio> {
        PORTFOLIOS.iter().find(|portfolio| portfolio.waba_id == waba_id)
    }

    fn number_of(&self, waba_id: &str, phone_number_id: &str) -> UpstreamNumber {
        let known = PORTFOLIOS
            .iter()
            .flat_map(|portfolio| portfolio.numbers.iter())
            .find(|number| number.id == phone_number_id);
        // Registered at Meta means connected there; the console still shows PENDING until the
        // simulated webhook-like follow-up connects it (see `after_registration`).
        let connected = self.state().registered.contains(phone_number_id);
        let status = if connected { NumberStatus::Connected } else { NumberStatus::Pending };
        // The last four characters (not bytes: an id from elsewhere may be any text).
        let tail: String = phone_number_id.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        UpstreamNumber {
            id: phone_number_id.to_owned(),
            waba_id: waba_id.to_owned(),
            display_phone_number: known
                .map(|number| number.display_phone_number.to_owned())
                .unwrap_or_else(|| format!("+1 555-{tail:0>4}")),
            verified_name: known
                .map(|number| number.verified_name.to_owned())
                .or_else(|| Self::known_portfolio(waba_id).map(|portfolio| portfolio.waba_name.to_owned()))
                .unwrap_or_else(|| "Sandbox Business".to_owned()),
            status,
            quality_rating: QualityRating::Green,
            messaging_limit: MessagingLimit::Tier250,
        }
    }
}

#[async_trait::async_trait]
impl Upstream for SandboxUpstream {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn exchange_code(&self, code: &str) -> UpstreamResult<Option<BusinessToken>> {
        let now = self.now();
        let mut state = self.state();
        let Some(minted) = state.codes.get_mut(code) else {
            return Err(Self::refuse(Operation::ExchangeCode, 400, "100", "This authorization code is not valid"));
        };
        if minted.used {
            return Err(Self::refuse(Operation::ExchangeCode, 400, "100", "This authorization code has been used"));
        }
        if now >= minted.expires_at {
            return Err(Self::refuse(
                Operation::ExchangeCode,
                400,
                "100",
                "This authorization code has expired (codes live 30 seconds): please sign up again",
            ));
        }
        minted.used = true;
        let grant = minted.grant.clone();
        if let (true, Some(number)) = (grant.decline_history, &grant.phone_number_id) {
            state.history_declined.insert(number.clone());
        }
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        Ok(Some(BusinessToken(format!("sandbox-token-{}", hex::encode(bytes)))))
    }

    async fn get_waba(&self, _token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<UpstreamWaba> {
        Self::check_waba(waba_id, Operation::GetWaba)?;
        let known = Self::known_portfolio(waba_id);
        Ok(UpstreamWaba {
            id: waba_id.to_owned(),
            name: known.map(|portfolio| portfolio.waba_name.to_owned()).unwrap_or_else(|| format!("Sandbox WABA {waba_id}")),
            status: WabaStatus::Approved,
            business_id: known.map(|portfolio| portfolio.business_id.to_owned()),
            payment_method_attached: Some(true),
        })
    }

    async fn list_numbers(&self, _token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<Vec<UpstreamNumber>> {
        Self::check_waba(waba_id, Operation::ListNumbers)?;
        let ids: Vec<&str> = Self::known_portfolio(waba_id)
            .map(|portfolio| portfolio.numbers.iter().map(|number| number.id).collect())
            .unwrap_or_default();
        Ok(ids.into_iter().map(|id| self.number_of(waba_id, id)).collect())
    }

    async fn get_number(&self, _token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str) -> UpstreamResult<UpstreamNumber> {
        Self::check_waba(waba_id, Operation::GetNumber)?;
        Ok(self.number_of(waba_id, phone_number_id))
    }

    async fn subscribe_app(&self, _token: Option<&BusinessToken>, waba_id: &str) -> UpstreamResult<()> {
        Self::check_waba(waba_id, Operation::SubscribeApp)
    }

    async fn register_number(&self, _token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str, pin: &str) -> UpstreamResult<()> {
        Self::check_waba(waba_id, Operation::Register)?;
        if pin.len() != 6 || !pin.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(Self::refuse(Operation::Register, 400, "100", "The PIN must be 6 digits"));
        }
        self.state().registered.insert(phone_number_id.to_owned());
        Ok(())
    }

    async fn bind_coexistence(&self, _token: Option<&BusinessToken>, waba_id: &str, phone_number_id: &str) -> UpstreamResult<()> {
        Self::check_waba(waba_id, Operation::CoexistenceBind)?;
        self.state().registered.insert(phone_number_id.to_owned());
        Ok(())
    }

    async fn request_sync(&self, _token: Option<&BusinessToken>, waba_id: &str, _phone_number_id: &str, kind: SyncKind) -> UpstreamResult<()> {
        let operation = match kind {
            SyncKind::Contacts => Operation::ContactSync,
            SyncKind::History => Operation::HistorySync,
        };
        Self::check_waba(waba_id, operation)
    }

    async fn deregister_number(&self, _token: Option<&BusinessToken>, _waba_id: &str, phone_number_id: &str) -> UpstreamResult<()> {
        self.state().registered.remove(phone_number_id);
        Ok(())
    }

    async fn unsubscribe_app(&self, _token: Option<&BusinessToken>, _waba_id: &str) -> UpstreamResult<()> {
        Ok(())
    }

    async fn update_display_name(&self, _token: Option<&BusinessToken>, waba_id: &str, _phone_number_id: &str, _name: &str) -> UpstreamResult<()> {
        Self::check_waba(waba_id, Operation::UpdateDisplayName)
    }

    async fn send_message(&self, _token: Option<&BusinessToken>, phone_number_id: &str, message: &OutgoingMessage) -> UpstreamResult<SentMessage> {
        let operation = Operation::SendMessage;
        if CustomerKey::of(&message.to).is_none() {
            return Err(Self::refuse(operation, 400, "100", "The message names no recipient"));
        }
        if message.to.wa_id.as_deref().is_some_and(|wa_id| wa_id.starts_with(NOT_ALLOWED_PREFIX)) {
            return Err(Self::refuse(operation, 400, "131030", "Recipient phone number not in allowed list"));
        }
        match &message.kind {
            MessageType::Text => {
                let length = message.text.as_deref().map_or(0, |text| text.chars().count());
                if length == 0 || length > api_types::send_limits::MAX_TEXT_CHARS {
                    return Err(Self::refuse(operation, 400, "100", "Param text['body'] must be 1 to 4096 characters"));
                }
            }
            kind if kind.is_media() => {
                let known = message.media.as_ref().and_then(|media| media.upstream_media_id.as_deref()).is_some_and(|id| self.phones.media(id).is_some());
                if !known {
                    return Err(Self::refuse(operation, 400, "131053", "Media upload error: the media id is not one uploaded here"));
                }
            }
            other => return Err(Self::refuse(operation, 400, "131009", format!("Parameter value is not valid: type {}", other.as_str()))),
        }
        if message.text.as_deref().is_some_and(|text| text.contains(TIMEOUT_ONCE_MARKER)) {
            let reference = message.client_reference.clone().or_else(|| message.text.clone()).unwrap_or_default();
            if self.state().timed_out.insert(reference) {
                return Err(UpstreamError { provider: PROVIDER, operation, kind: UpstreamErrorKind::Timeout { after: DEFAULT_TIMEOUT } });
            }
        }
        let mut bytes = [0u8; 18];
        rand::thread_rng().fill_bytes(&mut bytes);
        let wamid = format!("wamid.{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, bytes));
        self.phones.business_sent(phone_number_id, message, &wamid, crate::db::now_millis());
        self.play_statuses(phone_number_id, &wamid, &message.to);
        Ok(SentMessage { wamid })
    }

    async fn upload_media(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, file: &MediaFile) -> UpstreamResult<String> {
        if file.bytes.is_empty() || file.bytes.len() > MAX_UPLOAD_BYTES || file.mime_type.is_empty() {
            return Err(Self::refuse(Operation::UploadMedia, 400, "100", "The file must have a type and 1 byte to 100 MB"));
        }
        // Digits, like Meta's media ids.
        let id: String = (0..16).map(|_| char::from(b'0' + rand::thread_rng().gen_range(0..10))).collect();
        self.phones.put_media(&id, file.clone());
        Ok(id)
    }

    async fn download_media(&self, _token: Option<&BusinessToken>, _phone_number_id: &str, media: &MediaSource) -> UpstreamResult<MediaFile> {
        let found = media.upstream_media_id.as_deref().and_then(|id| self.phones.media(id));
        found.ok_or_else(|| {
            let named = media.upstream_media_id.as_deref().or(media.link.as_deref()).unwrap_or("");
            Self::refuse(Operation::DownloadMedia, 404, "100", format!("Unsupported get request. Object with ID '{named}' does not exist"))
        })
    }

    async fn mark_read(&self, _token: Option<&BusinessToken>, phone_number_id: &str, wamid: &str) -> UpstreamResult<()> {
        self.state().read_receipts.push((phone_number_id.to_owned(), wamid.to_owned()));
        self.phones.business_read(phone_number_id, wamid);
        Ok(())
    }

    /// Meta's typing indicator also marks the message read.
    async fn send_typing(&self, _token: Option<&BusinessToken>, phone_number_id: &str, wamid: &str) -> UpstreamResult<()> {
        self.state().typing_indicators.push((phone_number_id.to_owned(), wamid.to_owned()));
        self.phones.business_read(phone_number_id, wamid);
        self.phones.business_typing(phone_number_id, wamid, crate::db::now_millis() + TYPING_SHOWN_MS);
        Ok(())
    }

    /// The sandbox knows the display numbers of its own portfolios' numbers only; for any other
    /// id it has nothing to say, so a display number typed at manual bind is taken.
    fn knows_display_number(&self, phone_number_id: &str) -> bool {
        PORTFOLIOS.iter().flat_map(|portfolio| portfolio.numbers.iter()).any(|number| number.id == phone_number_id)
    }

    /// Sandbox tokens are the ones its code exchange minted; any of them controls any sandbox WABA.
    async fn token_controls_waba(&self, token: &BusinessToken, waba_id: &str) -> UpstreamResult<bool> {
        Self::check_waba(waba_id, Operation::GetWaba)?;
        Ok(token.0.starts_with("sandbox-token-"))
    }

    /// Like a test number: PENDING first, CONNECTED a moment later (a bound-by-hand number counts
    /// as registered from now on).
    fn after_registration(&self, phone_number_id: &str) -> Outcome {
        self.state().registered.insert(phone_number_id.to_owned());
        if let Some(inbox) = &self.inbox {
            simulator::connect_later(inbox.clone(), phone_number_id.to_owned());
        }
        Outcome::Reported
    }

    fn after_sync_request(&self, request: &SyncRequest) -> Outcome {
        let Some(inbox) = &self.inbox else { return Outcome::Reported };
        simulator::connect_later(inbox.clone(), request.phone_number_id.clone());
        simulator::play_coexistence_sync(
            inbox.clone(),
            SyncScript {
                waba_id: request.waba_id.clone(),
                phone_number_id: request.phone_number_id.clone(),
                display_phone_number: request.display_phone_number.clone(),
                history_declined: self.history_declined(&request.phone_number_id),
            },
        );
        Outcome::Reported
    }

    fn after_name_request(&self, request: &NameRequest) {
        let Some(inbox) = &self.inbox else { return };
        simulator::approve_name_later(
            inbox.clone(),
            request.waba_id.clone(),
            request.display_phone_number.clone(),
            request.requested_name.clone(),
        );
    }
}

/// What a status webhook says about the business number.
struct NumberMetadata {
    waba_id: Option<String>,
    phone_number_id: String,
    display_digits: String,
}

async fn number_metadata(db: &sqlx::AnyPool, phone_number_id: &str) -> Result<NumberMetadata, sqlx::Error> {
    let owner = crate::channels::store::owner_of_number(db, phone_number_id).await?;
    let number = match &owner {
        Some(owner) => crate::channels::store::TenantDb::new(db, &owner.account_id).find_number(phone_number_id).await?,
        None => None,
    };
    Ok(NumberMetadata {
        waba_id: owner.map(|owner| owner.waba_id),
        phone_number_id: phone_number_id.to_owned(),
        display_digits: number.map(|number| api_types::validation::only_digits(&number.display_phone_number)).unwrap_or_default(),
    })
}

/// A `messages` webhook carrying one status, as Meta sends it.
fn status_payload(number: &NumberMetadata, wamid: &str, to: &Recipient, status: &str, errors: Option<Value>) -> Value {
    let mut entry = json!({
        "id": wamid,
        "status": status,
        "timestamp": (crate::db::now_millis() / 1000).to_string(),
        "recipient_id": to.wa_id.clone().unwrap_or_default(),
    });
    if let Some(user_id) = &to.user_id {
        entry["recipient_user_id"] = json!(user_id);
    }
    if status == "sent" {
        entry["conversation"] = json!({"id": format!("sandbox-{}", crate::db::new_id()), "origin": {"type": "service"}});
        entry["pricing"] = json!({"billable": false, "pricing_model": "PMP", "category": "service"});
    }
    if let Some(errors) = errors {
        entry["errors"] = errors;
    }
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": number.display_digits, "phone_number_id": number.phone_number_id},
        "statuses": [entry],
    });
    let mut change = json!({"changes": [{"field": "messages", "value": value}]});
    if let Some(waba_id) = &number.waba_id {
        change["id"] = json!(waba_id);
    }
    json!({"object": "whatsapp_business_account", "entry": [change]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> SandboxGrant {
        SandboxGrant {
            waba_id: "1000000000000002".to_owned(),
            phone_number_id: Some("2000000000000003".to_owned()),
            business_id: None,
            decline_history: true,
        }
    }

    #[tokio::test]
    async fn a_code_works_once() {
        let sandbox = SandboxUpstream::new();
        let code = sandbox.mint_code(grant(), CODE_LIFETIME);
        assert!(sandbox.exchange_code(&code).await.unwrap().is_some());
        assert!(sandbox.history_declined("2000000000000003"));
        let again = sandbox.exchange_code(&code).await.unwrap_err();
        assert_eq!(again.to_string(), "Meta (sandbox) refused the sign-up code exchange: This authorization code has been used");
        let unknown = sandbox.exchange_code("nope").await.unwrap_err();
        assert!(unknown.to_string().contains("not valid"));
    }

    /// A clock that stands still until the test moves it.
    #[derive(Clone)]
    struct FakeClock {
        start: Instant,
        elapsed: Arc<Mutex<Duration>>,
    }

    impl FakeClock {
        fn new() -> FakeClock {
            FakeClock { start: Instant::now(), elapsed: Arc::default() }
        }

        fn advance(&self, by: Duration) {
            *self.elapsed.lock().unwrap() += by;
        }

        fn sandbox(&self) -> SandboxUpstream {
            let clock = self.clone();
            SandboxUpstream::new().with_clock(move || clock.start + *clock.elapsed.lock().unwrap())
        }
    }

    async fn expired(sandbox: &SandboxUpstream, code: &str) -> bool {
        match sandbox.exchange_code(code).await {
            Ok(_) => false,
            Err(error) if error.to_string().contains("has expired (codes live 30 seconds)") => true,
            Err(error) => panic!("{error}"),
        }
    }

    #[tokio::test]
    async fn a_code_expires_after_30_seconds_on_the_sandbox_clock() {
        let clock = FakeClock::new();
        let sandbox = clock.sandbox();
        let (first, second) = (sandbox.mint_code(grant(), CODE_LIFETIME), sandbox.mint_code(grant(), CODE_LIFETIME));
        clock.advance(CODE_LIFETIME - Duration::from_millis(1));
        assert!(!expired(&sandbox, &first).await, "a code is good until its 30 seconds are up");
        clock.advance(Duration::from_millis(1));
        assert!(expired(&sandbox, &second).await, "and expired at 30 seconds");
        clock.advance(Duration::from_secs(3600));
        assert!(expired(&sandbox, &second).await, "an expired code stays expired (until it is forgotten)");
    }

    #[tokio::test]
    async fn a_shorter_lifetime_is_kept_and_a_longer_one_capped() {
        let clock = FakeClock::new();
        let sandbox = clock.sandbox();
        let short = sandbox.mint_code(grant(), Duration::from_secs(1));
        let (long, capped) = (sandbox.mint_code(grant(), Duration::from_secs(60)), sandbox.mint_code(grant(), Duration::from_secs(60)));
        clock.advance(Duration::from_secs(1));
        assert!(expired(&sandbox, &short).await);
        clock.advance(CODE_LIFETIME - Duration::from_secs(2));
        assert!(!expired(&sandbox, &long).await, "29 seconds in");
        clock.advance(Duration::from_secs(1));
        assert!(expired(&sandbox, &capped).await, "60 seconds asked for, 30 given");
        // Zero: expired at once, with no time passing at all.
        let zero = sandbox.mint_code(grant(), Duration::ZERO);
        assert!(expired(&sandbox, &zero).await);
    }

    #[tokio::test]
    async fn expired_codes_are_forgotten_five_minutes_later() {
        let clock = FakeClock::new();
        let sandbox = clock.sandbox();
        let code = sandbox.mint_code(grant(), CODE_LIFETIME);
        clock.advance(CODE_LIFETIME + Duration::from_secs(300));
        // Minting prunes what expired 5 minutes ago or more.
        sandbox.mint_code(grant(), CODE_LIFETIME);
        let forgotten = sandbox.exchange_code(&code).await.unwrap_err();
        assert!(forgotten.to_string().contains("not valid"), "{forgotten}");
    }

    #[tokio::test]
    async fn an_id_that_is_not_digits_is_not_a_panic() {
        let sandbox = SandboxUpstream::new();
        let number = sandbox.get_number(None, "1000000000000001", "\u{20ac}\u{20ac}").await.unwrap();
        assert_eq!(number.display_phone_number, "+1 555-00\u{20ac}\u{20ac}");
        let number = sandbox.get_number(None, "1000000000000001", "2000000000001234").await.unwrap();
        assert_eq!(number.display_phone_number, "+1 555-1234");
    }

    #[tokio::test]
    async fn refused_wabas_fail_with_a_message() {
        let sandbox = SandboxUpstream::new();
        let error = sandbox.get_waba(None, "9990001").await.unwrap_err();
        assert_eq!(error.to_string(), "Meta (sandbox) refused the WhatsApp Business Account lookup: WhatsApp Business Account 9990001 is not shared with this app");
        let numbers = sandbox.list_numbers(None, "1000000000000001").await.unwrap();
        assert_eq!(numbers.len(), 2);
        assert_eq!(numbers[0].display_phone_number, "+1 555-0100");
    }
}
