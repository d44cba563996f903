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

/// How a screen sends the user to another app path (`(path, replace the history entry)`).
///
/// Inside the app it is the router's navigation (`AppRoutes` provides it). The login page is also
/// shown before the router has loaded (see `App`: the router is in a lazily loaded chunk, so the
/// first download stays small); there it records the address and brings up the app.
#[derive(Clone, Copy)]
pub struct Go(pub Callback<(String, bool)>);

impl Go {
    pub fn to(&self, path: &str, replace: bool) {
        self.0.run((path.to_owned(), replace));
    }
}

/// The [`Go`] of the current screen; without one (a piece mounted alone in a test), the address
/// changes and nothing else happens.
pub fn use_go() -> Go {
    use_context::<Go>().unwrap_or_else(|| {
        let base = use_base_path();
        Go(Callback::new(move |(path, replace): (String, bool)| crate::browser::set_address(&prefix_base(&base, &path), replace)))
    })
}

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

/// Longer `next` values are not followed (no app address is anywhere near this long).
pub const MAX_NEXT_CHARS: usize = 2048;

/// `next` if it is a path inside this app, else [`HOME_PATH`]. The base path comes from the
/// app context (none outside a component); see [`safe_next_path_under`].
pub fn safe_next_path(next: Option<&str>) -> String {
    safe_next_path_under(next, &use_base_path())
}

/// `next` (already decoded from the query) as an app path if it stays inside this app, else
/// [`HOME_PATH`].
///
/// Only same-app paths are accepted, to prevent an open redirect through `?next=`:
/// - it must start with a single `/`, carry no backslash (browsers read `/\host` as `//host`)
///   and no control characters or spaces anywhere (browsers drop tabs and newlines, turning
///   `/\t/host` into `//host`);
/// - its path part may not hide a `/`, `\`, `.`, `%` or control character behind a percent
///   escape (`/%2F%2Fevil.com` is `//evil.com` to anything that decodes it once more), nor
///   contain `.` or `..` segments (which climb out from under the base path);
/// - a path that starts with the base path (`/console/numbers` under `/console`) is a browser
///   path: the base is removed once, as the router adds it again (else `/console/console/...`);
/// - going back to the login or sign-up page makes no sense;
/// - values longer than [`MAX_NEXT_CHARS`] are refused.
pub fn safe_next_path_under(next: Option<&str>, base: &str) -> String {
    next.and_then(|next| in_app_path(next, base)).unwrap_or_else(|| HOME_PATH.to_owned())
}

fn in_app_path(next: &str, base: &str) -> Option<String> {
    if next.len() > MAX_NEXT_CHARS || next.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (path, query_and_fragment) = next.split_at(next.find(['?', '#']).unwrap_or(next.len()));
    if !path.starts_with('/') || path.starts_with("//") || !has_plain_escapes(path) {
        return None;
    }
    if path.split('/').any(|segment| segment == "." || segment == "..") {
        return None;
    }
    let path = strip_base(path, base);
    let page = path.trim_end_matches('/');
    // Checked again without the base: `/console//evil.com` must not become `//evil.com`.
    if path.starts_with("//") || page == LOGIN_PATH || page == SIGNUP_PATH {
        return None;
    }
    Some(format!("{path}{query_and_fragment}"))
}

/// Every `%` starts a well-formed escape of a byte that means nothing special in a path.
fn has_plain_escapes(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = |at: usize| bytes.get(at).and_then(|byte| (*byte as char).to_digit(16));
            let (Some(high), Some(low)) = (hex(index + 1), hex(index + 2)) else {
                return false;
            };
            let byte = (high * 16 + low) as u8;
            if matches!(byte, b'/' | b'\\' | b'.' | b'%') || byte < 0x20 || byte == 0x7f {
                return false;
            }
            index += 3;
        } else {
            index += 1;
        }
    }
    true
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
