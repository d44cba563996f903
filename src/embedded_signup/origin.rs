//! Which `postMessage` origins may speak for Embedded Signup.
//!
//! The seed checks `event.origin.endsWith('facebook.com')`, which also admits
//! `https://evilfacebook.com`. Here an origin is parsed into scheme, host and port and trusted
//! only when it is `https://facebook.com` or `https://<anything>.facebook.com` with no explicit
//! port, or when it equals (after normalising) an origin listed in `config.json`
//! `trustedOrigins` (the sandbox lists its own origin there).
//!
//! Explicit ports are refused for Facebook: browsers serialise an origin without the default
//! port, so `https://www.facebook.com:8443` is a different server that Facebook does not run.

/// A parsed web origin: `scheme://host[:port]`, lowercase, with the scheme's default port removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub scheme: String,
    pub host: String,
    /// `None` when absent or the scheme's default port.
    pub port: Option<u16>,
}

impl Origin {
    /// Parse a serialised origin. Anything beyond `scheme://host[:port]` (a path other than a
    /// lone trailing `/`, a query, a fragment, user info, a backslash, whitespace) is refused,
    /// as are schemes other than `http` and `https`.
    pub fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        // A configured origin may be written with a trailing slash; nothing else may follow.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty()
            || authority.chars().any(|c| matches!(c, '/' | '\\' | '@' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
        {
            return None;
        }
        let (host, port) = split_host_and_port(authority)?;
        let host = host.to_ascii_lowercase();
        if !is_valid_host(&host) {
            return None;
        }
        let port = match port {
            Some(port) if port == default_port => None,
            other => other,
        };
        Some(Origin { scheme, host, port })
    }

    /// The canonical text: `https://www.facebook.com`, `http://127.0.0.1:8080`.
    pub fn serialize(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{}", self.scheme, self.host, port),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }

    /// `https://facebook.com` or `https://<sub>.facebook.com`, default port only.
    fn is_facebook(&self) -> bool {
        self.scheme == "https"
            && self.port.is_none()
            && (self.host == "facebook.com" || self.host.ends_with(".facebook.com"))
    }
}

/// Split `host[:port]`, where host may be a bracketed IPv6 literal. `None` when the port is
/// present but not a number in 1..=65535.
fn split_host_and_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port_text) = if let Some(after_bracket) = authority.strip_prefix('[') {
        let (inside, after) = after_bracket.split_once(']')?;
        let host = &authority[..inside.len() + 2];
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port_text {
        None => None,
        Some(text) => {
            if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let port: u16 = text.parse().ok()?;
            if port == 0 {
                return None;
            }
            Some(port)
        }
    };
    Some((host, port))
}

/// A DNS name of non-empty labels of `[a-z0-9-]` (no trailing dot), or a bracketed IPv6 literal.
fn is_valid_host(host: &str) -> bool {
    if let Some(inside) = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        return !inside.is_empty() && inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// Whether a `MessageEvent.origin` may deliver Embedded Signup session info.
///
/// `trusted_extra` are the `trustedOrigins` of the runtime configuration; each must match the
/// whole origin exactly after normalising (case, default port, trailing slash). Entries that
/// are not plain origins (paths, wildcards) never match anything.
pub fn is_trusted_origin(origin: &str, trusted_extra: &[String]) -> bool {
    let Some(parsed) = Origin::parse(origin) else {
        return false;
    };
    if parsed.is_facebook() {
        return true;
    }
    trusted_extra
        .iter()
        .filter_map(|entry| Origin::parse(entry.trim()))
        .any(|trusted| trusted == parsed)
}
