//! Webhook signatures, read exactly as the providers document them and checked over the raw body
//! bytes in constant time.
//!
//! - Meta: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`.
//! - YCloud: `YCloud-Signature: t=<unix seconds>,s=<hex HMAC-SHA256(secret, "<t>.<body>")>`, within
//!   300 seconds of now, with any of several secrets (rotation on our side: YCloud sends one
//!   timestamp and one signature).
//!
//! The hex is lowercase and exactly 64 characters (32 bytes). Anything looser (upper case,
//! spaces, a repeated or unknown part, a missing part, a wrong length, bytes that are not ASCII,
//! the header sent twice) is [`SignatureError::Malformed`]: a sender that signs as documented never
//! writes it, so accepting it would only widen what a forger may try.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

type HmacSha256 = Hmac<Sha256>;

/// How far a YCloud timestamp may be from now, either way.
pub const YCLOUD_TOLERANCE_SECONDS: i64 = 300;

/// HMAC-SHA256 is 32 bytes, 64 hex characters.
const DIGEST_LEN: usize = 32;

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

/// A signature header as the request carried it: its raw bytes, not yet known to be text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureHeader<'h> {
    Absent,
    Once(&'h [u8]),
    /// Sent more than once: which one would count is ambiguous, so none does.
    Repeated,
}

impl<'h> SignatureHeader<'h> {
    /// The header `name` of a request.
    pub fn of(headers: &'h HeaderMap, name: &str) -> SignatureHeader<'h> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => SignatureHeader::Absent,
            (Some(value), None) => SignatureHeader::Once(value.as_bytes()),
            (Some(_), Some(_)) => SignatureHeader::Repeated,
        }
    }

    fn value(self) -> Result<&'h [u8], SignatureError> {
        match self {
            SignatureHeader::Absent => Err(SignatureError::Missing),
            SignatureHeader::Once(value) => Ok(value),
            SignatureHeader::Repeated => Err(SignatureError::Malformed),
        }
    }
}

impl<'h> From<Option<&'h str>> for SignatureHeader<'h> {
    fn from(value: Option<&'h str>) -> Self {
        value.map_or(SignatureHeader::Absent, |value| SignatureHeader::Once(value.as_bytes()))
    }
}

/// Exactly 64 lowercase hex characters, as 32 bytes.
fn lowercase_hex_digest(text: &[u8]) -> Result<[u8; DIGEST_LEN], SignatureError> {
    fn nibble(character: u8) -> Result<u8, SignatureError> {
        match character {
            b'0'..=b'9' => Ok(character - b'0'),
            b'a'..=b'f' => Ok(character - b'a' + 10),
            _ => Err(SignatureError::Malformed),
        }
    }
    if text.len() != 2 * DIGEST_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut digest = [0u8; DIGEST_LEN];
    for (byte, pair) in digest.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Ok(digest)
}

fn hmac(secret: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether `expected` is the HMAC of `parts` under any of `secrets`, compared in constant time
/// (and every secret tried, so the time says nothing about which one matched).
fn signed_by_any(secrets: &[&str], parts: &[&[u8]], expected: &[u8; DIGEST_LEN]) -> bool {
    let matched = secrets
        .iter()
        .fold(Choice::from(0), |matched, secret| matched | hmac(secret.as_bytes(), parts).ct_eq(expected));
    bool::from(matched)
}

pub fn verify_meta(app_secret: Option<&str>, header: SignatureHeader<'_>, body: &[u8]) -> Result<(), SignatureError> {
    let secret = app_secret.filter(|secret| !secret.is_empty()).ok_or(SignatureError::NotConfigured)?;
    let value = header.value()?;
    let hex_digest = value.strip_prefix(b"sha256=").ok_or(SignatureError::Malformed)?;
    let expected = lowercase_hex_digest(hex_digest)?;
    if signed_by_any(&[secret], &[body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// `t=<digits>,s=<64 lowercase hex>`, the two parts in either order, each exactly once, nothing
/// else. Returns the timestamp as sent (it is signed as text) and the signature.
fn parse_ycloud(value: &[u8]) -> Result<(&str, i64, [u8; DIGEST_LEN]), SignatureError> {
    let mut timestamp = None;
    let mut signature = None;
    for part in value.split(|&byte| byte == b',') {
        let (key, text) = match part {
            [b't', b'=', text @ ..] => (&mut timestamp, text),
            [b's', b'=', text @ ..] => (&mut signature, text),
            _ => return Err(SignatureError::Malformed),
        };
        if key.replace(text).is_some() {
            return Err(SignatureError::Malformed);
        }
    }
    let (Some(timestamp_text), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Malformed);
    };
    // Unix seconds: digits only (no sign, no spaces), and within i64.
    if timestamp_text.is_empty() || !timestamp_text.iter().all(u8::is_ascii_digit) {
        return Err(SignatureError::Malformed);
    }
    let timestamp_text = std::str::from_utf8(timestamp_text).map_err(|_| SignatureError::Malformed)?;
    let timestamp: i64 = timestamp_text.parse().map_err(|_| SignatureError::Malformed)?;
    Ok((timestamp_text, timestamp, lowercase_hex_digest(signature)?))
}

/// `now_unix_seconds` is the caller's clock (the server passes the wall clock; tests pass any).
pub fn verify_ycloud(secrets: &[String], header: SignatureHeader<'_>, body: &[u8], now_unix_seconds: i64) -> Result<(), SignatureError> {
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).filter(|secret| !secret.is_empty()).collect();
    if secrets.is_empty() {
        return Err(SignatureError::NotConfigured);
    }
    let (timestamp_text, timestamp, expected) = parse_ycloud(header.value()?)?;
    // `abs_diff`: a subtraction of the sender's number could overflow.
    if now_unix_seconds.abs_diff(timestamp) > YCLOUD_TOLERANCE_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    if signed_by_any(&secrets, &[timestamp_text.as_bytes(), b".", body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Sign like Meta does (tests and the sandbox use it).
pub fn meta_signature(app_secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(app_secret.as_bytes(), &[body])))
}

/// Sign like YCloud does (tests use it).
pub fn ycloud_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = hmac(secret.as_bytes(), &[timestamp.to_string().as_bytes(), b".", body]);
    format!("t={timestamp},s={}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn once(value: &str) -> SignatureHeader<'_> {
        SignatureHeader::Once(value.as_bytes())
    }

    fn hex_of(header: &str) -> &str {
        header.rsplit_once('=').unwrap().1
    }

    /// `hex` with its first letter in upper case (a digest of this test's bodies has letters).
    fn one_letter_upper(hex: &str) -> String {
        let at = hex.find(|character: char| character.is_ascii_lowercase()).expect("a letter in the digest");
        format!("{}{}{}", &hex[..at], hex[at..=at].to_uppercase(), &hex[at + 1..])
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn meta_signatures() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = meta_signature("app-secret", body);
        assert_eq!(verify_meta(Some("app-secret"), once(&header), body), Ok(()));
        assert_eq!(verify_meta(Some("app-secret"), once(&header), b"{}"), Err(SignatureError::Mismatch));
        assert_eq!(verify_meta(Some("other"), once(&header), body), Err(SignatureError::Mismatch));
        assert_eq!(verify_meta(Some("app-secret"), SignatureHeader::Absent, body), Err(SignatureError::Missing));
        assert_eq!(verify_meta(None, once(&header), body), Err(SignatureError::NotConfigured));
        assert_eq!(verify_meta(Some(""), once(&header), body), Err(SignatureError::NotConfigured));
        let zeros = format!("sha256={}", "0".repeat(64));
        assert_eq!(verify_meta(Some("app-secret"), once(&zeros), body), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_meta_header_not_exactly_as_documented_is_malformed() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = meta_signature("app-secret", body);
        let hex = hex_of(&header);
        let malformed: Vec<String> = vec![
            String::new(),
            "sha256=".to_owned(),
            "sha256=zz".to_owned(),
            format!("sha1={hex}"),
            format!("SHA256={hex}"),
            format!("sha256={}", hex.to_uppercase()),
            // One upper-case letter is enough.
            format!("sha256={}", one_letter_upper(hex)),
            format!(" {header}"),
            format!("{header} "),
            format!("sha256= {hex}"),
            format!("sha256 ={hex}"),
            format!("sha256={hex}\t"),
            format!("sha256={}", &hex[..62]),
            format!("sha256={hex}00"),
            format!("sha256={}", &hex[..63]),
            format!("sha256={hex},sha256={hex}"),
            format!("sha256={hex};"),
            format!("sha256=0x{}", &hex[..62]),
            format!("sha256={}é", &hex[..62]),
        ];
        for value in &malformed {
            assert_eq!(verify_meta(Some("app-secret"), once(value), body), Err(SignatureError::Malformed), "{value:?}");
        }
        // Bytes that are not ASCII (HTTP allows obs-text in a header value).
        let mut latin1 = format!("sha256={}", &hex[..63]).into_bytes();
        latin1.push(0xe9);
        assert_eq!(verify_meta(Some("app-secret"), SignatureHeader::Once(&latin1), body), Err(SignatureError::Malformed));
        // The header twice, even twice the right one.
        assert_eq!(verify_meta(Some("app-secret"), SignatureHeader::Repeated, body), Err(SignatureError::Malformed));
    }

    #[test]
    fn signature_headers_are_read_raw_and_once() {
        use axum::http::HeaderValue;
        let mut headers = HeaderMap::new();
        assert_eq!(SignatureHeader::of(&headers, "x-hub-signature-256"), SignatureHeader::Absent);
        headers.append("x-hub-signature-256", HeaderValue::from_bytes(b"sha256=\xe9").unwrap());
        assert_eq!(SignatureHeader::of(&headers, "x-hub-signature-256"), SignatureHeader::Once(b"sha256=\xe9"));
        headers.append("x-hub-signature-256", HeaderValue::from_static("sha256=00"));
        assert_eq!(SignatureHeader::of(&headers, "x-hub-signature-256"), SignatureHeader::Repeated);
        assert_eq!(SignatureHeader::from(None), SignatureHeader::Absent);
    }

    #[test]
    fn ycloud_signatures_with_rotation_and_tolerance() {
        let body = br#"{"type":"whatsapp.phone_number.quality_updated"}"#;
        let secrets = vec!["old-secret".to_owned(), "new-secret".to_owned()];
        let verify = |header: &str, now: i64| verify_ycloud(&secrets, once(header), body, now);
        assert_eq!(verify(&ycloud_signature("new-secret", NOW - 10, body), NOW), Ok(()));
        assert_eq!(verify(&ycloud_signature("old-secret", NOW, body), NOW), Ok(()));
        assert_eq!(verify(&ycloud_signature("retired", NOW, body), NOW), Err(SignatureError::Mismatch));
        assert_eq!(verify(&ycloud_signature("new-secret", NOW, b"{}"), NOW), Err(SignatureError::Mismatch));
        assert_eq!(verify_ycloud(&[], once(&ycloud_signature("new-secret", NOW, body)), body, NOW), Err(SignatureError::NotConfigured));
        assert_eq!(verify_ycloud(&["".to_owned()], once("t=1,s=0"), body, NOW), Err(SignatureError::NotConfigured));
        assert_eq!(verify_ycloud(&secrets, SignatureHeader::Absent, body, NOW), Err(SignatureError::Missing));
        // The parts in the other order read the same.
        let signed = ycloud_signature("new-secret", NOW, body);
        let (t, s) = signed.split_once(',').unwrap();
        assert_eq!(verify(&format!("{s},{t}"), NOW), Ok(()));
    }

    #[test]
    fn the_ycloud_window_is_300_seconds_either_way_on_the_given_clock() {
        let body = b"{}";
        let secrets = vec!["secret".to_owned()];
        let signed_at = NOW;
        let header = ycloud_signature("secret", signed_at, body);
        // The same header, checked at different moments of an injected clock: no waiting.
        for (now, expected) in [
            (signed_at - 301, Err(SignatureError::Stale)),
            (signed_at - 300, Ok(())),
            (signed_at, Ok(())),
            (signed_at + 300, Ok(())),
            (signed_at + 301, Err(SignatureError::Stale)),
            (signed_at + 86_400, Err(SignatureError::Stale)),
        ] {
            assert_eq!(verify_ycloud(&secrets, once(&header), body, now), expected, "checked at t{:+}", now - signed_at);
        }
        // A stale header is stale before it is a mismatch: the window is checked first.
        let wrong_and_old = ycloud_signature("other", signed_at, body);
        assert_eq!(verify_ycloud(&secrets, once(&wrong_and_old), body, signed_at + 301), Err(SignatureError::Stale));
    }

    #[test]
    fn a_ycloud_header_not_exactly_as_documented_is_malformed() {
        let body = b"{}";
        let secrets = vec!["secret".to_owned()];
        let header = ycloud_signature("secret", NOW, body);
        let hex = hex_of(&header);
        let other = hex_of(&ycloud_signature("other", NOW, body)).to_owned();
        let malformed: Vec<String> = vec![
            String::new(),
            ",".to_owned(),
            ",,,".to_owned(),
            "t=,s=".to_owned(),
            format!("t={NOW}"),
            format!("s={hex}"),
            format!("t={NOW},"),
            format!(",t={NOW},s={hex}"),
            format!("t={NOW},s={hex},"),
            format!("t={NOW},s={}", hex.to_uppercase()),
            format!("t={NOW},s={}", one_letter_upper(hex)),
            format!("T={NOW},s={hex}"),
            format!("t={NOW},S={hex}"),
            format!(" t={NOW},s={hex}"),
            format!("t={NOW},s={hex} "),
            format!("t={NOW}, s={hex}"),
            format!("t = {NOW},s = {hex}"),
            format!("t={NOW} ,s={hex}"),
            format!("t={NOW},s={}", &hex[..62]),
            format!("t={NOW},s={hex}00"),
            format!("t={NOW},s={}", &hex[..63]),
            format!("t={NOW},t={NOW},s={hex}"),
            format!("t={NOW},s={hex},t={NOW}"),
            format!("t={},t={NOW},s={hex}", NOW - 1000),
            // One signature, as documented; rotation is which secrets we accept.
            format!("t={NOW},s={hex},s={hex}"),
            format!("t={NOW},s={other},s={hex}"),
            format!("t={NOW},s={hex},v1={hex}"),
            format!("t={NOW},s={hex},x"),
            format!("t={NOW};s={hex}"),
            format!("t=+{NOW},s={hex}"),
            format!("t=-{NOW},s={hex}"),
            format!("t={NOW}.0,s={hex}"),
            format!("t=0x{NOW},s={hex}"),
            format!("t={NOW}\u{0663},s={hex}"),
            format!("t={NOW},s={}é", &hex[..62]),
            "t=abc,s=00".to_owned(),
            format!("t=99999999999999999999999,s={hex}"),
            format!("t={NOW},s=={hex}"),
        ];
        for value in &malformed {
            assert_eq!(verify_ycloud(&secrets, once(value), body, NOW), Err(SignatureError::Malformed), "{value:?}");
        }
        let mut latin1 = format!("t={NOW},s={}", &hex[..63]).into_bytes();
        latin1.push(0xe9);
        assert_eq!(verify_ycloud(&secrets, SignatureHeader::Once(&latin1), body, NOW), Err(SignatureError::Malformed));
        assert_eq!(verify_ycloud(&secrets, SignatureHeader::Repeated, body, NOW), Err(SignatureError::Malformed));
        // And the well-formed one still verifies.
        assert_eq!(verify_ycloud(&secrets, once(&header), body, NOW), Ok(()));
    }

    #[test]
    fn extreme_ycloud_timestamps_are_stale_not_a_panic() {
        let body = b"{}";
        let secrets = vec!["secret".to_owned()];
        for extreme in [0, 1, i64::MAX, i64::MAX - 1] {
            let header = ycloud_signature("secret", extreme, body);
            assert_eq!(verify_ycloud(&secrets, once(&header), body, NOW), Err(SignatureError::Stale), "t={extreme}");
        }
        // A clock at either end of i64 does not overflow either.
        let header = ycloud_signature("secret", NOW, body);
        for now in [i64::MIN, i64::MAX] {
            assert_eq!(verify_ycloud(&secrets, once(&header), body, now), Err(SignatureError::Stale), "now={now}");
        }
        // A negative number is not unix seconds as YCloud writes them.
        let negative = ycloud_signature("secret", i64::MIN, body);
        assert_eq!(verify_ycloud(&secrets, once(&negative), body, NOW), Err(SignatureError::Malformed));
    }

    #[test]
    fn signatures_made_here_are_in_the_documented_format() {
        let meta = meta_signature("secret", b"body");
        assert!(meta.starts_with("sha256=") && meta.len() == 7 + 64, "{meta}");
        assert!(lowercase_hex_digest(hex_of(&meta).as_bytes()).is_ok());
        let ycloud = ycloud_signature("secret", NOW, b"body");
        assert!(ycloud.starts_with(&format!("t={NOW},s=")), "{ycloud}");
        assert!(parse_ycloud(ycloud.as_bytes()).is_ok());
    }
}
