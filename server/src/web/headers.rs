//! Headers every answer carries.

use axum::http::{header, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// Headers every answer carries: no MIME sniffing, no full URLs in the Referer to other sites,
/// and no framing of the console by other sites (clickjacking). Handlers may set their own.
pub fn security_headers(app: Router) -> Router {
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(header::HeaderName::from_static(name), HeaderValue::from_static(value))
    };
    app.layer(header("x-content-type-options", "nosniff"))
        .layer(header("referrer-policy", "strict-origin-when-cross-origin"))
        .layer(header("x-frame-options", "SAMEORIGIN"))
        .layer(header("content-security-policy", "frame-ancestors 'self'"))
}


/// What a page's Content-Security-Policy allows beyond its own origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PagePolicy {
    /// Origins scripts may load from besides `'self'` (the Facebook SDK's, from the runtime config).
    pub script_origins: Vec<String>,
    /// Origins the page may connect to besides `'self'` (a configured API origin, Facebook's).
    pub connect_origins: Vec<String>,
    /// Origins the page may frame (Facebook's login and signup dialogs).
    pub frame_origins: Vec<String>,
    /// Who may frame the page (`'self'` unless configured).
    pub frame_ancestors: Vec<String>,
}

/// Facebook's origins the Embedded Signup needs: its SDK, and the dialogs it frames and opens.
pub const FACEBOOK_SCRIPT_ORIGIN: &str = "https://connect.facebook.net";
pub const FACEBOOK_FRAME_ORIGINS: &[&str] = &["https://www.facebook.com", "https://web.facebook.com", "https://*.facebook.com"];

impl PagePolicy {
    /// The header value for a page whose inline `<script>` and `<style>` elements carry `nonce`.
    /// Nothing else inline runs: no injected script, no `on...=` handler, no `javascript:` URL.
    pub fn header_value(&self, nonce: &str) -> String {
        let list = |base: &str, extra: &[String]| {
            let mut sources = vec![base.to_owned()];
            sources.extend(extra.iter().filter(|source| is_source_expression(source)).cloned());
            sources.join(" ")
        };
        let frame_ancestors = if self.frame_ancestors.is_empty() { vec!["'self'".to_owned()] } else { self.frame_ancestors.clone() };
        [
            "default-src 'self'".to_owned(),
            format!("script-src {} 'nonce-{nonce}'", list("'self' 'wasm-unsafe-eval'", &self.script_origins)),
            format!("style-src 'self' 'nonce-{nonce}'"),
            format!("connect-src {}", list("'self'", &self.connect_origins)),
            format!("frame-src {}", list("'self'", &self.frame_origins)),
            "img-src 'self' data: blob:".to_owned(),
            "font-src 'self'".to_owned(),
            "object-src 'none'".to_owned(),
            "base-uri 'self'".to_owned(),
            "form-action 'self'".to_owned(),
            format!("frame-ancestors {}", list_of(&frame_ancestors)),
        ]
        .join("; ")
    }
}

fn list_of(sources: &[String]) -> String {
    let valid: Vec<&str> = sources.iter().map(String::as_str).filter(|source| is_source_expression(source)).collect();
    if valid.is_empty() { "'none'".to_owned() } else { valid.join(" ") }
}

/// A CSP source expression we can put in a header as it is: a keyword in quotes, or a scheme,
/// host and port with no spaces, semicolons, commas or quotes that could change the policy.
fn is_source_expression(source: &str) -> bool {
    let keyword = matches!(source, "'self'" | "'none'");
    let plain = !source.is_empty() && source.bytes().all(|byte| byte.is_ascii_graphic() && !matches!(byte, b';' | b',' | b'\'' | b'"'));
    keyword || plain
}

/// A fresh nonce for one response: 128 random bits, base64.
pub fn new_nonce() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The page with `nonce` on each inline `<script>` and `<style>` element it was written with
/// (ours, and Trunk's loader). Elements that load a file (`<script src>`) are left as they are:
/// `'self'` covers them.
pub fn with_nonce(html: &str, nonce: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(start) = find_tag(rest) {
        let (before, tag_and_after) = rest.split_at(start);
        out.push_str(before);
        let end = tag_and_after.find('>').map_or(tag_and_after.len(), |end| end + 1);
        let (tag, after) = tag_and_after.split_at(end);
        let is_script = tag[1..].to_ascii_lowercase().starts_with("script");
        let inline = !(is_script && tag.to_ascii_lowercase().contains(" src="));
        if inline && !tag.contains("nonce=") {
            let name_length = if is_script { "<script".len() } else { "<style".len() };
            out.push_str(&tag[..name_length]);
            out.push_str(&format!(" nonce=\"{nonce}\""));
            out.push_str(&tag[name_length..]);
        } else {
            out.push_str(tag);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Where the next `<script` or `<style` opening tag starts (followed by a space or `>`).
fn find_tag(html: &str) -> Option<usize> {
    let lower = html.to_ascii_lowercase();
    let mut offset = 0;
    loop {
        let found = lower[offset..].find('<')? + offset;
        let after = &lower[found + 1..];
        for name in ["script", "style"] {
            if after.starts_with(name) && after[name.len()..].starts_with([' ', '>', '\n', '\t']) {
                return Some(found);
            }
        }
        offset = found + 1;
    }
}

/// `Strict-Transport-Security` for answers served over https.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_and_styles_get_the_nonce_and_loaded_scripts_do_not() {
        let html = "<head><style>a{}</style><script type=\"module\">import init from '/x.js';</script>\
                    <SCRIPT>1</SCRIPT><script src=\"/sdk.js\"></script><scripts></scripts></head>";
        let out = with_nonce(html, "abc");
        assert!(out.contains("<style nonce=\"abc\">a{}</style>"), "{out}");
        assert!(out.contains("<script nonce=\"abc\" type=\"module\">"), "{out}");
        assert!(out.contains("<SCRIPT nonce=\"abc\">1</SCRIPT>"), "{out}");
        assert!(out.contains("<script src=\"/sdk.js\"></script>"), "{out}");
        assert!(out.contains("<scripts></scripts>"), "{out}");
    }

    #[test]
    fn the_policy_allows_only_what_it_lists() {
        let policy = PagePolicy {
            script_origins: vec![FACEBOOK_SCRIPT_ORIGIN.to_owned(), "evil; script-src *".to_owned()],
            connect_origins: vec!["https://api.partner.example".to_owned()],
            frame_origins: FACEBOOK_FRAME_ORIGINS.iter().map(|origin| (*origin).to_owned()).collect(),
            frame_ancestors: Vec::new(),
        };
        let value = policy.header_value("n0nce");
        assert!(value.contains("script-src 'self' 'wasm-unsafe-eval' https://connect.facebook.net 'nonce-n0nce'"), "{value}");
        assert!(!value.contains("evil"), "a source that would change the policy is dropped: {value}");
        assert!(value.contains("connect-src 'self' https://api.partner.example"));
        assert!(value.contains("object-src 'none'") && value.contains("base-uri 'self'") && value.contains("frame-ancestors 'self'"));
        assert!(!value.contains("unsafe-inline"));
        assert_ne!(new_nonce(), new_nonce());
    }
}

/// An HTML page with its Content-Security-Policy: a fresh nonce on its inline elements, and
/// `Strict-Transport-Security` when `https` says the page is served over https.
pub fn html_page(html: &str, policy: &PagePolicy, https: bool) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let nonce = new_nonce();
    let mut response = axum::response::Html(with_nonce(html, &nonce)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy.header_value(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    if https {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    }
    response
}
