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

