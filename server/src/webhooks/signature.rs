//! Webhook signatures, checked over the raw body bytes in constant time.
//!
//! - Meta: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`.
//! - YCloud: `YCloud-Signature: t=<unix seconds>,s=<hex HMAC-SHA256(secret, "<t>.<body>")>`, within
//!   300 seconds of now, with any of several secrets (rotation).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a YCloud timestamp may be from now, either way.
pub const YCLOUD_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    Mismatch,
    Stale,
    NotConfigured,
}

impl SignatureError {
    pub fn message(&self) -> &'static str {
        match self {
            SignatureError::Missing => "The webhook signature header is missing",
            SignatureError::Malformed => "The webhook signature header is not in the expected format",
            SignatureError::Mismatch => "The webhook signature does not match the body",
            SignatureError::Stale => "The webhook signature timestamp is too old or in the future",
            SignatureError::NotConfigured => "This server has no webhook signing secret configured",
        }
    }
}

/// `Mac::verify_slice` compares in constant time.
fn matches(secret: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else { return false };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(expected).is_ok()
}

pub fn verify_meta(app_secret: Option<&str>, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let secret = app_secret.filter(|secret| !secret.is_empty()).ok_or(SignatureError::NotConfigured)?;
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header.trim().strip_prefix("sha256=").ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    if matches(secret.as_bytes(), &[body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

pub fn verify_ycloud(secrets: &[String], header: Option<&str>, body: &[u8], now_unix_seconds: i64) -> Result<(), SignatureError> {
    let secrets: Vec<&String> = secrets.iter().filter(|secret| !secret.is_empty()).collect();
    if secrets.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    // A repeated `t=` keeps the last one; that is safe because the signature is checked over the
    // very text the window is checked on.
    for pair in header.split(',') {
        let Some((key, value)) = pair.split_once('=') else { continue };
        match key.trim() {
            "t" => timestamp = Some(value.trim()),
            "s" => signatures.push(value.trim()),
            _ => {}
        }
    }
    let timestamp_text = timestamp.ok_or(SignatureError::Malformed)?;
    let timestamp: i64 = timestamp_text.parse().map_err(|_| SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // `abs_diff`: a subtraction of the sender's number could overflow (t=-9223372036854775808).
    if now_unix_seconds.abs_diff(timestamp) > YCLOUD_TOLERANCE_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let parts: [&[u8]; 3] = [timestamp_text.as_bytes(), b".", body];
    let any_match = signatures.iter().filter_map(|signature| hex::decode(signature).ok()).any(|expected| {
        secrets.iter().any(|secret| matches(secret.as_bytes(), &parts, &expected))
    });
    if any_match {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Sign like Meta does (tests and the sandbox use it).
pub fn meta_signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sign like YCloud does (tests use it).
pub fn ycloud_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},s={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_signatures() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = meta_signature("app-secret", body);
        assert_eq!(verify_meta(Some("app-secret"), Some(&header), body), Ok(()));
        assert_eq!(verify_meta(Some("app-secret"), Some(&header), b"{}"), Err(SignatureError::Mismatch));
        assert_eq!(verify_meta(Some("other"), Some(&header), body), Err(SignatureError::Mismatch));
        assert_eq!(verify_meta(Some("app-secret"), None, body), Err(SignatureError::Missing));
        assert_eq!(verify_meta(Some("app-secret"), Some("sha1=abc"), body), Err(SignatureError::Malformed));
        assert_eq!(verify_meta(Some("app-secret"), Some("sha256=zz"), body), Err(SignatureError::Malformed));
        assert_eq!(verify_meta(None, Some(&header), body), Err(SignatureError::NotConfigured));
        // Meta sends lowercase hex; upper case and surrounding spaces name the same bytes.
        let upper = format!("sha256={}", header.trim_start_matches("sha256=").to_uppercase());
        assert_eq!(verify_meta(Some("app-secret"), Some(&format!(" {upper} ")), body), Ok(()));
        assert_eq!(verify_meta(Some("app-secret"), Some("sha256="), body), Err(SignatureError::Mismatch));
    }

    #[test]
    fn ycloud_signatures_with_rotation_and_tolerance() {
        let body = br#"{"type":"whatsapp.phone_number.quality_updated"}"#;
        let now = 1_800_000_000;
        let secrets = vec!["old-secret".to_owned(), "new-secret".to_owned()];
        let header = ycloud_signature("new-secret", now - 10, body);
        assert_eq!(verify_ycloud(&secrets, Some(&header), body, now), Ok(()));
        let header = ycloud_signature("old-secret", now, body);
        assert_eq!(verify_ycloud(&secrets, Some(&header), body, now), Ok(()));
        let header = ycloud_signature("retired", now, body);
        assert_eq!(verify_ycloud(&secrets, Some(&header), body, now), Err(SignatureError::Mismatch));
        let stale = ycloud_signature("new-secret", now - 301, body);
        assert_eq!(verify_ycloud(&secrets, Some(&stale), body, now), Err(SignatureError::Stale));
        let future = ycloud_signature("new-secret", now + 301, body);
        assert_eq!(verify_ycloud(&secrets, Some(&future), body, now), Err(SignatureError::Stale));
        assert_eq!(verify_ycloud(&secrets, Some("s=abc"), body, now), Err(SignatureError::Malformed));
        assert_eq!(verify_ycloud(&[], Some(&header), body, now), Err(SignatureError::NotConfigured));
    }

    #[test]
    fn extreme_ycloud_timestamps_are_stale_not_a_panic() {
        let body = b"{}";
        let secrets = vec!["secret".to_owned()];
        let now = 1_800_000_000;
        for extreme in [i64::MIN, i64::MIN + 1, i64::MAX, -now] {
            let header = ycloud_signature("secret", extreme, body);
            assert_eq!(verify_ycloud(&secrets, Some(&header), body, now), Err(SignatureError::Stale), "t={extreme}");
        }
        // Beyond i64 is not a number we read.
        let header = "t=99999999999999999999999,s=00";
        assert_eq!(verify_ycloud(&secrets, Some(header), body, now), Err(SignatureError::Malformed));
    }

    #[test]
    fn ycloud_header_parts_may_have_spaces_around_them() {
        let body = b"{}";
        let secrets = vec!["secret".to_owned()];
        let now = 1_800_000_000;
        let signature = ycloud_signature("secret", now, body);
        let hex_part = signature.split_once(",s=").unwrap().1;
        let spaced = format!(" t = {now} , s = {hex_part} ");
        assert_eq!(verify_ycloud(&secrets, Some(&spaced), body, now), Ok(()));
        let upper = format!("t={now},s={}", hex_part.to_uppercase());
        assert_eq!(verify_ycloud(&secrets, Some(&upper), body, now), Ok(()));
    }
}
