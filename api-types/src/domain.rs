//! The WhatsApp domain's closed vocabularies as types: number status, quality rating, messaging
//! limit, WABA review status, number origin and sync state, and the inbox's message and conversation
//! vocabularies.
//!
//! Each is an enum with an `Unknown(String)` fallback, because Meta adds values over time: a value
//! we do not know yet is kept and sent on exactly as the provider wrote it, never turned into an
//! error or into some other value. On the wire and in the database every value is the provider's
//! text (`"CONNECTED"`, `"TIER_2K"`), so the JSON shapes are the ones the seed API documents.
//! Nothing outside this module matches those strings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a provider vocabulary: `Variant = "TEXT" | "ALIAS"...`. The first text is the one
/// written; aliases (spellings other providers use for the same thing) are read as the variant.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )+
            /// A value this version does not know, kept exactly as the provider sent it.
            Unknown(String),
        }

        impl $name {
            /// Every known value, in the order declared.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The provider's text for this value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Unknown(text) => text,
                }
            }

            /// Read the provider's text. Known values are matched ignoring ASCII case and
            /// surrounding blanks; anything else becomes [`Self::Unknown`] with the text as sent.
            pub fn parse(text: &str) -> $name {
                let trimmed = text.trim();
                $(
                    if trimmed.eq_ignore_ascii_case($text) $(|| trimmed.eq_ignore_ascii_case($alias))* {
                        return $name::$variant;
                    }
                )+
                $name::Unknown(text.to_owned())
            }

            /// True for a value this version does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        /// Compares with the provider's text, as tests and logs read it.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> $name {
                $name::parse(text)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> $name {
                $name::parse(&text)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok($name::parse(&text))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let known: Vec<&str> = vec![$($text),+];
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(format!(
                        "One of {}. A value WhatsApp adds later is passed on exactly as the provider sent it.",
                        known.join(", ")
                    )))
                    .examples(known.iter().take(1).map(|text| serde_json::Value::from(*text)))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

vocabulary! {
    /// A phone number's status as WhatsApp reports it.
    NumberStatus {
        /// Registered and able to send.
        Connected = "CONNECTED",
        /// Waiting for registration (or for the app sync of a coexistence number).
        Pending = "PENDING",
        /// Quality dropped; the messaging limit may go down if it does not recover.
        Flagged = "FLAGGED",
        /// Reached its messaging limit or was restricted for policy reasons.
        Restricted = "RESTRICTED",
        /// Not reachable (no connection to WhatsApp for a while).
        Offline = "OFFLINE",
        RateLimited = "RATE_LIMITED",
        /// Offboarded: the business removed the partner, uninstalled the app, or the app was unused for 14 days.
        Disconnected = "DISCONNECTED",
        Unverified = "UNVERIFIED",
        Banned = "BANNED",
    }
}

impl NumberStatus {
    /// The number can send and receive now.
    pub fn is_connected(&self) -> bool {
        matches!(self, NumberStatus::Connected)
    }
}

vocabulary! {
    /// A number's quality rating.
    QualityRating {
        Green = "GREEN",
        Yellow = "YELLOW",
        Red = "RED",
        /// WhatsApp has not rated the number yet (Meta's own value `UNKNOWN`).
        NotRated = "UNKNOWN" | "NA",
    }
}

vocabulary! {
    /// How many business-initiated conversations a number (since 2025-10: its portfolio) may open in 24 hours.
    MessagingLimit {
        Tier50 = "TIER_50",
        Tier250 = "TIER_250",
        Tier1K = "TIER_1K",
        Tier2K = "TIER_2K",
        Tier10K = "TIER_10K",
        Tier100K = "TIER_100K",
        Unlimited = "TIER_UNLIMITED" | "UNLIMITED",
    }
}

impl MessagingLimit {
    /// The limit in conversations per 24 hours; `None` when unlimited or unknown.
    pub fn conversations(&self) -> Option<u32> {
        match self {
            MessagingLimit::Tier50 => Some(50),
            MessagingLimit::Tier250 => Some(250),
            MessagingLimit::Tier1K => Some(1_000),
            MessagingLimit::Tier2K => Some(2_000),
            MessagingLimit::Tier10K => Some(10_000),
            MessagingLimit::Tier100K => Some(100_000),
            MessagingLimit::Unlimited | MessagingLimit::Unknown(_) => None,
        }
    }

    /// The next tier up (WhatsApp raises a limit one tier at a time); unlimited stays unlimited.
    pub fn next_tier(&self) -> MessagingLimit {
        match self {
            MessagingLimit::Tier50 | MessagingLimit::Tier250 => MessagingLimit::Tier2K,
            MessagingLimit::Tier1K | MessagingLimit::Tier2K => MessagingLimit::Tier10K,
            MessagingLimit::Tier10K => MessagingLimit::Tier100K,
            MessagingLimit::Tier100K | MessagingLimit::Unlimited | MessagingLimit::Unknown(_) => MessagingLimit::Unlimited,
        }
    }
}

vocabulary! {
    /// A WhatsApp business account's review status (`account_review_status`), and the ban WhatsApp can put on it.
    WabaStatus {
        Approved = "APPROVED" | "ACTIVE" | "VERIFIED",
        Pending = "PENDING" | "IN_REVIEW",
        Rejected = "REJECTED",
        /// Banned by WhatsApp (`DISABLED_UPDATE` with ban state `DISABLE`).
        Disabled = "DISABLED" | "BANNED" | "RESTRICTED",
        /// The provider did not say.
        NotReported = "UNKNOWN",
    }
}

vocabulary! {
    /// How a number came to the account.
    NumberOrigin {
        /// Embedded Signup, new number on the Cloud API.
        Cloud = "cloud",
        /// Coexistence: a WhatsApp Business app number.
        Coexistence = "coexistence",
        /// Bound by hand with ids from elsewhere (seed 003 bind).
        Manual = "manual",
    }
}

vocabulary! {
    /// Where one half (contacts or history) of a coexistence sync stands.
    SyncState {
        NotRequested = "NOT_REQUESTED",
        Requested = "REQUESTED",
        InProgress = "IN_PROGRESS",
        Completed = "COMPLETED",
        /// The business declined to share history (error 2593109).
        Declined = "DECLINED",
        Failed = "FAILED",
    }
}

impl SyncState {
    /// No later delivery changes a part in this state.
    pub fn is_final(&self) -> bool {
        matches!(self, SyncState::Completed | SyncState::Declined)
    }
}

vocabulary! {
    /// What a quality webhook (`phone_number_quality_update` `event`) says happened.
    QualityEvent {
        /// Quality dropped: the number is flagged.
        Flagged = "FLAGGED",
        /// Quality recovered: the number is connected again.
        Unflagged = "UNFLAGGED",
        /// The messaging limit went up a tier.
        Upgrade = "UPGRADE",
        Downgrade = "DOWNGRADE",
    }
}

impl QualityEvent {
    /// The number status this event puts the number in, when it changes the status at all.
    pub fn number_status(&self) -> Option<NumberStatus> {
        match self {
            QualityEvent::Flagged => Some(NumberStatus::Flagged),
            QualityEvent::Unflagged => Some(NumberStatus::Connected),
            QualityEvent::Upgrade | QualityEvent::Downgrade | QualityEvent::Unknown(_) => None,
        }
    }
}

vocabulary! {
    /// Meta's review of a requested display name (`phone_number_name_update` `decision`).
    NameDecision {
        Approved = "APPROVED",
        Rejected = "REJECTED",
        /// Meta has not decided yet.
        Deferred = "DEFERRED",
    }
}

vocabulary! {
    /// Which way a message went: from the customer, or from the business.
    MessageDirection {
        Inbound = "inbound",
        Outbound = "outbound",
    }
}

vocabulary! {
    /// Who wrote a message: the customer, an agent in wadesk, the business on its phone (a
    /// coexistence echo), the assistant, or a partner through the API.
    MessageOrigin {
        Customer = "customer",
        Agent = "agent",
        /// Sent from the WhatsApp Business app on the business's phone (`smb_message_echoes`).
        Phone = "phone",
        Assistant = "assistant",
        Api = "api",
    }
}

vocabulary! {
    /// A message's type as WhatsApp names it. A type this version does not know is stored and
    /// shown as an unsupported message, never dropped.
    MessageType {
        Text = "text",
        Image = "image",
        Video = "video",
        /// Audio files and voice notes.
        Audio = "audio" | "voice",
        Document = "document",
        Sticker = "sticker",
        Location = "location",
        Contacts = "contacts",
        /// A reply to buttons, a list or a flow (`button_reply`, `list_reply`, `nfm_reply`).
        Interactive = "interactive",
        /// A template's quick-reply button.
        Button = "button",
        Reaction = "reaction",
        Order = "order",
        /// WhatsApp's own notices (the customer changed their number, ...).
        System = "system",
        Unsupported = "unsupported",
    }
}

impl MessageType {
    /// Types whose content is a media object (`id`, `mime_type`, `caption`, `filename`).
    pub fn is_media(&self) -> bool {
        matches!(self, MessageType::Image | MessageType::Video | MessageType::Audio | MessageType::Document | MessageType::Sticker)
    }
}

vocabulary! {
    /// Where a message the business sent stands.
    MessageStatus {
        /// Accepted by wadesk or the provider, not yet sent by WhatsApp (YCloud: `accepted`).
        Pending = "pending" | "accepted",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        /// A voice message was played.
        Played = "played",
        Failed = "failed",
    }
}

impl MessageStatus {
    /// Statuses only move up this rank, whatever order they arrive in: pending 0 < sent 1 <
    /// failed 2 < delivered 3 < read 4 < played 5. `failed` overrides `sent` (and a late `sent`
    /// never hides a failure) but not `delivered` or later: proof that the message reached the
    /// phone is newer than any failure reported before it. A status this version does not know
    /// ranks 0 and never replaces a known one.
    pub fn rank(&self) -> i64 {
        match self {
            MessageStatus::Pending | MessageStatus::Unknown(_) => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Failed => 2,
            MessageStatus::Delivered => 3,
            MessageStatus::Read => 4,
            MessageStatus::Played => 5,
        }
    }
}

vocabulary! {
    /// A conversation is open until an agent resolves it; a new customer message reopens it.
    ConversationState {
        Open = "open",
        Resolved = "resolved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_as_the_provider_text() {
        for status in NumberStatus::KNOWN {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(&serde_json::from_str::<NumberStatus>(&json).unwrap(), status);
        }
        assert_eq!(serde_json::to_string(&MessagingLimit::Tier2K).unwrap(), "\"TIER_2K\"");
        assert_eq!(serde_json::to_string(&NumberOrigin::Coexistence).unwrap(), "\"coexistence\"");
    }

    #[test]
    fn values_meta_adds_later_pass_through_unchanged() {
        let status: NumberStatus = serde_json::from_str("\"PENDING_DELETION\"").unwrap();
        assert_eq!(status, NumberStatus::Unknown("PENDING_DELETION".to_owned()));
        assert!(status.is_unknown());
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"PENDING_DELETION\"");
        assert_eq!(MessagingLimit::parse("TIER_5M").as_str(), "TIER_5M");
    }

    #[test]
    fn aliases_read_as_the_same_value_and_write_the_canonical_text() {
        assert_eq!(MessagingLimit::parse("UNLIMITED"), MessagingLimit::Unlimited);
        assert_eq!(MessagingLimit::Unlimited.as_str(), "TIER_UNLIMITED");
        assert_eq!(WabaStatus::parse("in_review"), WabaStatus::Pending);
        assert_eq!(QualityRating::parse(" green "), QualityRating::Green);
        assert_eq!(QualityRating::parse("UNKNOWN"), QualityRating::NotRated);
    }

    #[test]
    fn message_statuses_rank_so_they_never_move_backwards() {
        let order = ["pending", "sent", "failed", "delivered", "read", "played"];
        let ranks: Vec<i64> = order.iter().map(|text| MessageStatus::parse(text).rank()).collect();
        assert!(ranks.windows(2).all(|pair| pair[0] < pair[1]), "{ranks:?}");
        assert_eq!(MessageStatus::parse("accepted"), MessageStatus::Pending);
        assert_eq!(MessageStatus::parse("deleted").rank(), 0);
        assert_eq!(MessageType::parse("voice"), MessageType::Audio);
        assert_eq!(MessageType::parse("edit"), MessageType::Unknown("edit".to_owned()));
    }

    #[test]
    fn limits_rise_one_tier_at_a_time() {
        assert_eq!(MessagingLimit::Tier250.next_tier(), MessagingLimit::Tier2K);
        assert_eq!(MessagingLimit::Tier10K.next_tier(), MessagingLimit::Tier100K);
        assert_eq!(MessagingLimit::Unlimited.next_tier(), MessagingLimit::Unlimited);
        assert_eq!(MessagingLimit::Tier1K.conversations(), Some(1_000));
    }
}
