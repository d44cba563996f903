//! In-app paths: the base path prefix for links, and the safe `next` target after login.
//!
//! Two path spaces exist. Routes and `use_navigate`/`<Redirect>` take app paths (`/numbers`);
//! leptos_router adds the base itself. `<A href>` with an absolute path is NOT prefixed by the
//! router, so links use [`app_href`], which adds the base (`/console/numbers`).

use leptos::prelude::*;

/// Where the app lives: the path of `<base href>` without trailing slash (`""` or `/console`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppBasePath(pub String);

/// The page users land on after logging in when no (safe) `next` was given.
pub const HOME_PATH: &str = "/onboarding";
pub const LOGIN_PATH: &str = "/login";
pub const SIGNUP_PATH: &str = "/signup";

/// The base path provided by the app root (`""` when none was provided, as in tests).
pub fn use_base_path() -> String {
    use_context::<AppBasePath>().map(|base| base.0).unwrap_or_default()
}

/// The `href` for an `<A>` to the app path `path` (with the base path in front).
pub fn app_href(path: &str) -> String {
    prefix_base(&use_base_path(), path)
}

/// `base` + `path`, for a base without trailing slash and a path starting with `/`.
pub fn prefix_base(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}

/// The app path of a browser path: `/console/numbers` -> `/numbers` under base `/console`.
pub fn strip_base(pathname: &str, base: &str) -> String {
    let base = base.trim_end_matches('/');
    let rest = match pathname.strip_prefix(base) {
        Some(rest) if !base.is_empty() && (rest.is_empty() || rest.starts_with('/')) => rest,
        _ => pathname,
    };
    if rest.is_empty() {
        "/".to_owned()
    } else {
        rest.to_owned()
    }
}

/// `next` if it is a path inside this app, else [`HOME_PATH`].
///
/// Only same-app paths are accepted, to prevent an open redirect through `?next=`: it must start
/// with a single `/`, carry no backslash (browsers read `/\host` as `//host`) and no control
/// characters or spaces (browsers drop tabs and newlines, turning `/\t/host` into `//host`).
/// Going back to the login or sign-up page makes no sense either.
pub fn safe_next_path(next: Option<&str>) -> String {
    let Some(next) = next else { return HOME_PATH.to_owned() };
    let is_in_app = next.starts_with('/')
        && !next.starts_with("//")
        && !next.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    let path_only = next.split(['?', '#']).next().unwrap_or_default();
    let is_auth_page = [LOGIN_PATH, SIGNUP_PATH].iter().any(|auth| path_only == *auth);
    if is_in_app && !is_auth_page {
        next.to_owned()
    } else {
        HOME_PATH.to_owned()
    }
}

/// The login page's app path that comes back to `return_to` (an app path with query) afterwards.
pub fn login_path_returning_to(return_to: &str) -> String {
    if return_to == "/" || return_to.is_empty() {
        return LOGIN_PATH.to_owned();
    }
    format!("{LOGIN_PATH}?next={}", encode_query_value(return_to))
}

/// Percent-encode a query value (UTF-8), keeping only unreserved characters and `/` readable.
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}
