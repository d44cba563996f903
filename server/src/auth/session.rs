//! Login sessions: a random token in an HttpOnly cookie; the database keeps only its SHA-256, so
//! reading the sessions table does not let anyone log in.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use crate::db::now_millis;
use crate::settings::{CookieSecure, Settings};
use crate::web::client_address::ClientConnection;

pub const COOKIE_NAME: &str = "wadesk_session";
/// Sessions last 30 days from login.
pub const LIFETIME_SECONDS: i64 = 30 * 24 * 60 * 60;
/// `last_seen_at` is written at most this often, so reads do not turn into writes.
const LAST_SEEN_RESOLUTION_MILLIS: i64 = 60_000;

/// Who a valid session belongs to, as stored.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user_id: String,
    pub account_id: String,
    pub account_name: String,
    pub email: String,
    pub name: String,
    pub role: String,
}

/// Start a session for the user; returns the token to put in the cookie.
pub async fn create(db: &AnyPool, user_id: &str, account_id: &str) -> Result<String, sqlx::Error> {
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let token = URL_SAFE_NO_PAD.encode(random);
    let now = now_millis();
    // Expired sessions are swept here: logins are rare enough, and no timer is needed.
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(db).await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, account_id, created_at, expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(account_id)
    .bind(now)
    .bind(now + LIFETIME_SECONDS * 1000)
    .bind(now)
    .execute(db)
    .await?;
    Ok(token)
}

/// The user behind a token, when the session exists and has not expired.
pub async fn find(db: &AnyPool, token: &str) -> Result<Option<SessionRecord>, sqlx::Error> {
    let token_hash = hash_token(token);
    let now = now_millis();
    let row: Option<(String, String, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT users.id, users.account_id, accounts.name, users.email, users.name, users.role, sessions.last_seen_at
         FROM sessions
         JOIN users ON users.id = sessions.user_id AND users.account_id = sessions.account_id
         JOIN accounts ON accounts.id = users.account_id
         WHERE sessions.token_hash = $1 AND sessions.expires_at > $2",
    )
    .bind(&token_hash)
    .bind(now)
    .fetch_optional(db)
    .await?;
    let Some((user_id, account_id, account_name, email, name, role, last_seen_at)) = row else {
        return Ok(None);
    };
    if now - last_seen_at >= LAST_SEEN_RESOLUTION_MILLIS {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&token_hash)
            .execute(db)
            .await?;
    }
    Ok(Some(SessionRecord { user_id, account_id, account_name, email, name, role }))
}

pub async fn delete(db: &AnyPool, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(hash_token(token)).execute(db).await?;
    Ok(())
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session token from the request's cookies, if any. The header is read as bytes, pair by
/// pair: another cookie on the same host whose value is not UTF-8 must not hide ours.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|cookies| cookies.as_bytes().split(|byte| *byte == b';'))
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// Whether the session cookie gets `Secure` (`--cookie-secure`): always, never, or (`auto`) when
/// the public URL is https or a trusted proxy says this request came over https. What the client
/// itself claims in `X-Forwarded-Proto` changes nothing.
pub fn secure_cookie(settings: &Settings, connection: &ClientConnection) -> bool {
    match settings.cookie_secure {
        CookieSecure::Always => true,
        CookieSecure::Never => false,
        CookieSecure::Auto => public_url_is_https(settings) || connection.https,
    }
}

fn public_url_is_https(settings: &Settings) -> bool {
    settings
        .public_url
        .as_deref()
        .and_then(|url| url::Url::parse(url.trim()).ok())
        .is_some_and(|url| url.scheme() == "https")
}

/// `Set-Cookie` for a new session.
pub fn cookie(token: &str, base_path: &str, secure: bool) -> HeaderValue {
    cookie_header(token, LIFETIME_SECONDS, base_path, secure)
}

/// `Set-Cookie` that makes the browser forget the session.
pub fn clearing_cookie(base_path: &str, secure: bool) -> HeaderValue {
    cookie_header("", 0, base_path, secure)
}

fn cookie_header(value: &str, max_age_seconds: i64, base_path: &str, secure: bool) -> HeaderValue {
    let path = if base_path.is_empty() { "/" } else { base_path };
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{COOKIE_NAME}={value}; Path={path}; Max-Age={max_age_seconds}; HttpOnly; SameSite=Strict{secure}");
    // The token is base64url and the base path was validated, so this cannot fail; an empty
    // cookie is the harmless fallback.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("wadesk_session=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; wadesk_session=abc-_; b=2"));
        assert_eq!(token_from(&headers).as_deref(), Some("abc-_"));
        headers.insert(header::COOKIE, HeaderValue::from_static("wadesk_session="));
        assert_eq!(token_from(&headers), None);
        headers.insert(header::COOKIE, HeaderValue::from_bytes(b"odd=\xff\xfe; wadesk_session=abc").unwrap());
        assert_eq!(token_from(&headers).as_deref(), Some("abc"));
    }

    #[test]
    fn cookies_are_http_only_strict_and_scoped_to_the_base_path() {
        let text = cookie("t", "/console", true);
        assert_eq!(
            text.to_str().unwrap(),
            "wadesk_session=t; Path=/console; Max-Age=2592000; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(clearing_cookie("", false).to_str().unwrap().contains("Path=/; Max-Age=0"));
    }

    #[test]
    fn secure_follows_the_setting_the_public_url_and_trusted_https() {
        let mut settings = Settings::for_tests("sqlite::memory:", "dist".into());
        let plain = ClientConnection { address: std::net::Ipv4Addr::LOCALHOST.into(), https: false };
        let https = ClientConnection { https: true, ..plain };
        assert_eq!(settings.cookie_secure, CookieSecure::Auto);
        assert!(!secure_cookie(&settings, &plain));
        assert!(secure_cookie(&settings, &https));
        for (public_url, secure) in [("https://wadesk.example.com", true), ("HTTPS://wadesk.example.com/", true), ("http://wadesk.example.com", false), ("not a url", false)] {
            settings.public_url = Some(public_url.to_owned());
            assert_eq!(secure_cookie(&settings, &plain), secure, "{public_url}");
        }
        settings.cookie_secure = CookieSecure::Never;
        assert!(!secure_cookie(&settings, &https));
        settings.cookie_secure = CookieSecure::Always;
        settings.public_url = None;
        assert!(secure_cookie(&settings, &plain));
    }
}
