//! Who the client is, and whether it reached us over HTTPS.
//!
//! The TCP peer is the client, and forwarding headers are ignored, unless the peer is one of the
//! reverse proxies in `--trusted-proxies`. Only then are `X-Forwarded-For` (or, when it is absent,
//! RFC 7239 `Forwarded: for=`) and `X-Forwarded-Proto` (or `Forwarded: proto=`) believed: the
//! chain is walked from the right, skipping trusted proxies, and the right-most address that is
//! not a trusted proxy is the client (each proxy appends the address it saw, so everything left
//! of that point was written by the client and proves nothing). When every hop is trusted, the
//! left-most is the client. A hop a trusted proxy recorded as `unknown`, obfuscated (`_hidden`) or
//! unreadable ends the walk: the client is then the trusted proxy that recorded it. Malformed
//! headers never panic and never let a client choose its address.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use std::convert::Infallible;

/// At most this many hops are looked at, from the right; a longer chain counts as all trusted up
/// to there (no real deployment has more than a handful of proxies).
pub const MAX_HOPS: usize = 32;

/// The client's address (see the module documentation for when forwarding headers count).
/// `0.0.0.0` when the router runs without connect info, as in in-process tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The client's address and whether it reached us over HTTPS, as far as this server can know:
/// this server speaks plain HTTP, so `https` is true only when a trusted proxy says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConnection {
    pub address: IpAddr,
    pub https: bool,
}

/// One network: an address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    network: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// `a.b.c.d/n`, `v6::/n`, or a single address (a /32 or /128). Bits set after the prefix are
    /// refused (`10.0.0.1/8` is most likely a typo), and so is anything else that is not exact.
    pub fn parse(text: &str) -> Result<IpNetwork, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr =
            address.parse().map_err(|_| format!("{text:?} is not an IP address or a network like 10.0.0.0/8"))?;
        let address = address.to_canonical();
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(digits) => digits
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max && digits.bytes().all(|byte| byte.is_ascii_digit()))
                .ok_or_else(|| format!("{text:?}: the prefix length must be a number from 0 to {max}"))?,
        };
        let network = IpNetwork { network: mask(address, prefix), prefix };
        if network.network != address {
            return Err(format!("{text:?} has bits set after the /{prefix} prefix; did you mean {network}?"));
        }
        Ok(network)
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.prefix) == self.network
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = if prefix == 0 { 0 } else { bits & (u32::MAX << (32 - u32::from(prefix))) };
            IpAddr::V4(Ipv4Addr::from(kept))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = if prefix == 0 { 0 } else { bits & (u128::MAX << (128 - u32::from(prefix))) };
            IpAddr::V6(Ipv6Addr::from(kept))
        }
    }
}

/// The reverse proxies whose forwarding headers are believed (`--trusted-proxies`). Empty by
/// default: then nobody's are. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNetwork]>);

impl Default for TrustedProxies {
    fn default() -> Self {
        TrustedProxies(Arc::from(Vec::new()))
    }
}

impl TrustedProxies {
    /// Parse each entry (blank ones are skipped); the error names the first bad one.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<TrustedProxies, String> {
        let networks = entries
            .into_iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(IpNetwork::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(Arc::from(networks)))
    }

    pub fn networks(&self) -> &[IpNetwork] {
        &self.0
    }

    pub fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }

    /// The client behind a connection from `peer` that sent `headers`. `peer` is `None` when the
    /// connection's address is not known (then no header is believed either).
    pub fn resolve(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> ClientConnection {
        let Some(peer) = peer.map(|peer| peer.to_canonical()) else {
            return ClientConnection { address: IpAddr::V4(Ipv4Addr::UNSPECIFIED), https: false };
        };
        if !self.trusts(peer) {
            return ClientConnection { address: peer, https: false };
        }
        let forwarded_for = headers.get_all("x-forwarded-for");
        if forwarded_for.iter().next().is_some() {
            // Each value in order, each entry from the right: the last value's last entry is the
            // one the peer wrote.
            let hops = forwarded_for
                .iter()
                .rev()
                .flat_map(|value| value.as_bytes().rsplit(|byte| *byte == b','))
                .map(parse_node);
            let (address, hop) = self.walk(peer, hops);
            return ClientConnection { address, https: forwarded_proto_at(headers, hop) };
        }
        let elements = forwarded_elements(headers);
        if !elements.is_empty() {
            let (address, hop) = self.walk(peer, elements.iter().rev().map(|element| element.for_node));
            let https = match elements.iter().rev().nth(hop).and_then(|element| element.https) {
                Some(https) => https,
                None => forwarded_proto_at(headers, hop),
            };
            return ClientConnection { address, https };
        }
        ClientConnection { address: peer, https: forwarded_proto_at(headers, 0) }
    }

    /// Walk the hops from the right (the first is the one the peer wrote): the client's address
    /// and its hop's index from the right.
    fn walk(&self, peer: IpAddr, hops: impl Iterator<Item = Node>) -> (IpAddr, usize) {
        let mut last_trusted = peer;
        let mut last_index = 0;
        for (index, hop) in hops.take(MAX_HOPS).enumerate() {
            match hop {
                Node::Address(address) if self.trusts(address) => {
                    last_trusted = address;
                    last_index = index;
                }
                Node::Address(address) => return (address, index),
                // The proxy that recorded this hop did not (or could not) say who it was: the
                // client is that proxy, as far as we can tell.
                Node::Unknown => return (last_trusted, index),
            }
        }
        (last_trusted, last_index)
    }
}

/// Whether `X-Forwarded-Proto` says `https` for the hop `hop` places from the right (each proxy
/// that appends to `X-Forwarded-For` appends here too). When the list is shorter (a proxy that
/// sets the header rather than appending), the left-most value counts.
fn forwarded_proto_at(headers: &HeaderMap, hop: usize) -> bool {
    let values: Vec<&HeaderValue> = headers.get_all("x-forwarded-proto").iter().collect();
    let mut entries = values.iter().rev().flat_map(|value| value.as_bytes().rsplit(|byte| *byte == b','));
    let mut chosen = None;
    for _ in 0..=hop.min(MAX_HOPS) {
        match entries.next() {
            Some(entry) => chosen = Some(entry),
            None => break,
        }
    }
    chosen.is_some_and(|entry| entry.trim_ascii().eq_ignore_ascii_case(b"https"))
}

/// A hop as a proxy recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Address(IpAddr),
    /// `unknown`, an obfuscated identifier, or anything unreadable.
    Unknown,
}

/// One entry of `X-Forwarded-For` or one `for=` value (unquoted): `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`; anything else is [`Node::Unknown`].
fn parse_node(raw: &[u8]) -> Node {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Node::Unknown;
    };
    let text = text.trim();
    let text = text.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')).unwrap_or(text);
    let address = if let Some(bracketed) = text.strip_prefix('[') {
        bracketed.split_once(']').and_then(|(inside, rest)| {
            let v6: Ipv6Addr = inside.parse().ok()?;
            (rest.is_empty() || rest.strip_prefix(':').is_some_and(is_port)).then_some(IpAddr::V6(v6))
        })
    } else if let Ok(address) = text.parse::<IpAddr>() {
        Some(address)
    } else {
        text.rsplit_once(':').and_then(|(host, port)| {
            let v4: Ipv4Addr = host.parse().ok()?;
            is_port(port).then_some(IpAddr::V4(v4))
        })
    };
    match address {
        Some(address) => Node::Address(address.to_canonical()),
        None => Node::Unknown,
    }
}

/// A port number or an RFC 7239 obfuscated port (`_abc`).
fn is_port(text: &str) -> bool {
    let digits = !text.is_empty() && text.len() <= 5 && text.bytes().all(|byte| byte.is_ascii_digit());
    let obfuscated = text.len() > 1
        && text.starts_with('_')
        && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    digits || obfuscated
}

/// What one `Forwarded` element says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ForwardedElement {
    for_node: Node,
    /// `proto=`: `Some(true)` for https, `None` when absent or the element is malformed.
    https: Option<bool>,
}

/// The last [`MAX_HOPS`] elements of every `Forwarded` value, in order. A malformed element
/// (bad syntax, a repeated parameter, no `for=`) is kept, as an unknown hop.
fn forwarded_elements(headers: &HeaderMap) -> VecDeque<ForwardedElement> {
    let mut elements = VecDeque::new();
    for value in headers.get_all("forwarded") {
        for element in split_outside_quotes(value.as_bytes(), b',') {
            if elements.len() == MAX_HOPS {
                elements.pop_front();
            }
            elements.push_back(parse_forwarded_element(element));
        }
    }
    elements
}

fn parse_forwarded_element(element: &[u8]) -> ForwardedElement {
    const MALFORMED: ForwardedElement = ForwardedElement { for_node: Node::Unknown, https: None };
    let mut for_node = None;
    let mut proto = None;
    for pair in split_outside_quotes(element, b';') {
        let pair = pair.trim_ascii();
        if pair.is_empty() {
            continue;
        }
        let Some(equals) = pair.iter().position(|byte| *byte == b'=') else {
            return MALFORMED;
        };
        let (name, value) = (&pair[..equals], &pair[equals + 1..]);
        let Some(value) = unquote(value) else {
            return MALFORMED;
        };
        // A parameter given twice in one element is malformed (RFC 7239 section 4).
        let repeated = if name.eq_ignore_ascii_case(b"for") {
            for_node.replace(parse_node(&value)).is_some()
        } else if name.eq_ignore_ascii_case(b"proto") {
            proto.replace(value.eq_ignore_ascii_case(b"https")).is_some()
        } else {
            false
        };
        if repeated {
            return MALFORMED;
        }
    }
    ForwardedElement { for_node: for_node.unwrap_or(Node::Unknown), https: proto }
}

/// A token as it is, or a quoted string without its quotes and escapes; `None` when malformed.
fn unquote(value: &[u8]) -> Option<Vec<u8>> {
    let Some(inner) = value.strip_prefix(b"\"") else {
        let token = !value.is_empty() && value.iter().all(|byte| byte.is_ascii_graphic() && !matches!(byte, b'"' | b'\\'));
        // Brackets and colons are not token characters, but some proxies leave IPv6 unquoted.
        return token.then(|| value.to_vec());
    };
    let inner = inner.strip_suffix(b"\"")?;
    let mut text = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\\' => text.push(*bytes.next()?),
            b'"' => return None,
            _ => text.push(byte),
        }
    }
    Some(text)
}

/// Split at `separator` where it is not inside a quoted string (an unterminated quote runs to the
/// end, and [`unquote`] refuses it later).
fn split_outside_quotes(bytes: &[u8], separator: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (index, &byte) in text.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if quoted && byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                quoted = !quoted;
            } else if byte == separator && !quoted {
                rest = Some(&text[index + 1..]);
                return Some(&text[..index]);
            }
        }
        rest = None;
        Some(text)
    })
}

impl<S> FromRequestParts<S> for ClientConnection
where
    S: Send + Sync,
    TrustedProxies: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(known) = parts.extensions.get::<ClientConnection>() {
            return Ok(*known);
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
        let connection = TrustedProxies::from_ref(state).resolve(peer, &parts.headers);
        parts.extensions.insert(connection);
        Ok(connection)
    }
}

impl<S> FromRequestParts<S> for ClientAddress
where
    S: Send + Sync,
    TrustedProxies: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let connection = ClientConnection::from_request_parts(parts, state).await?;
        Ok(ClientAddress(connection.address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXY: &str = "10.0.0.5";

    fn trusted(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries.iter().copied()).unwrap()
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// The client behind `PROXY` (trusted, with `10.0.0.0/8`) for these headers.
    fn behind_proxy(pairs: &[(&str, &[u8])]) -> ClientConnection {
        trusted(&["10.0.0.0/8"]).resolve(Some(ip(PROXY)), &headers(pairs))
    }

    #[test]
    fn networks_parse_exactly() {
        assert_eq!(IpNetwork::parse("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(IpNetwork::parse(" 127.0.0.1 ").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(IpNetwork::parse("::1").unwrap().to_string(), "::1/128");
        assert_eq!(IpNetwork::parse("2001:db8::/32").unwrap().to_string(), "2001:db8::/32");
        assert_eq!(IpNetwork::parse("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(IpNetwork::parse("::ffff:10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/+8", "10.0.0/8", "example.com", "10.0.0.0/8/8", "[::1]", "fe80::1%eth0"] {
            assert!(IpNetwork::parse(bad).is_err(), "{bad:?}");
        }
        let typo = IpNetwork::parse("10.1.0.0/8").unwrap_err();
        assert!(typo.contains("did you mean 10.0.0.0/8"), "{typo}");
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let v4 = IpNetwork::parse("192.168.0.0/16").unwrap();
        assert!(v4.contains(ip("192.168.255.1")));
        assert!(v4.contains(ip("::ffff:192.168.1.1")), "IPv4-mapped IPv6 is the same address");
        assert!(!v4.contains(ip("192.169.0.1")));
        assert!(!v4.contains(ip("::1")));
        let v6 = IpNetwork::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("32.1.13.184")));
        assert!(IpNetwork::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpNetwork::parse("::/0").unwrap().contains(ip("2001:db8::1")));
    }

    #[test]
    fn a_list_names_its_bad_entry_and_skips_blank_ones() {
        assert_eq!(TrustedProxies::parse(["", " "]).unwrap().networks().len(), 0);
        assert_eq!(TrustedProxies::parse(["10.0.0.0/8", " ::1 "]).unwrap().networks().len(), 2);
        let error = TrustedProxies::parse(["10.0.0.0/8", "10.0.0.300"]).unwrap_err();
        assert!(error.contains("10.0.0.300"), "{error}");
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        let sent = headers(&[
            ("x-forwarded-for", b"203.0.113.7"),
            ("forwarded", b"for=203.0.113.8;proto=https"),
            ("x-forwarded-proto", b"https"),
        ]);
        let peer = ip("198.51.100.1");
        for proxies in [TrustedProxies::default(), trusted(&["10.0.0.0/8"])] {
            assert_eq!(proxies.resolve(Some(peer), &sent), ClientConnection { address: peer, https: false });
        }
        let unknown_peer = TrustedProxies::default().resolve(None, &sent);
        assert_eq!(unknown_peer, ClientConnection { address: IpAddr::V4(Ipv4Addr::UNSPECIFIED), https: false });
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        // The client claims 1.1.1.1; the proxy appended what it saw.
        let connection = behind_proxy(&[("x-forwarded-for", b"1.1.1.1, 203.0.113.7, 10.0.0.9"), ("x-forwarded-proto", b"https")]);
        assert_eq!(connection, ClientConnection { address: ip("203.0.113.7"), https: true });
        // Several header lines are one list, in order.
        let split = behind_proxy(&[("x-forwarded-for", b"1.1.1.1"), ("x-forwarded-for", b"203.0.113.7, 10.0.0.9")]);
        assert_eq!(split.address, ip("203.0.113.7"));
        // With nothing forwarded, the proxy is the client.
        assert_eq!(behind_proxy(&[]).address, ip(PROXY));
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        assert_eq!(behind_proxy(&[("x-forwarded-for", b"10.1.1.1, 10.2.2.2")]).address, ip("10.1.1.1"));
        // A list longer than anything real: the walk stops after MAX_HOPS trusted hops.
        let long = vec!["10.3.3.3"; 10_000].join(",");
        assert_eq!(behind_proxy(&[("x-forwarded-for", long.as_bytes())]).address, ip("10.3.3.3"));
    }

    #[test]
    fn ports_and_ipv6_are_understood() {
        for (entry, expected) in [
            ("203.0.113.7:4711", "203.0.113.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("\"[2001:db8::1]:4711\"", "2001:db8::1"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("203.0.113.7:_obf", "203.0.113.7"),
        ] {
            assert_eq!(behind_proxy(&[("x-forwarded-for", entry.as_bytes())]).address, ip(expected), "{entry}");
        }
    }

    #[test]
    fn garbage_never_lets_the_client_choose_its_address() {
        // Each time the entry the trusted proxy wrote is unreadable, so the client is that proxy:
        // whatever the client wrote to the left of it is not looked at.
        let hostile: [&[u8]; 14] = [
            b"unknown",
            b"_hidden",
            b"",
            b" , ",
            b"not an address",
            b"203.0.113.7:99999999",
            b"[2001:db8::1",
            b"2001:db8::1]:80",
            b"[203.0.113.7]",
            b"203.0.113.7:",
            b"\xff\xfe\x80",
            b"1.1.1.1, \xff",
            b"1.1.1.1, unknown",
            b"fe80::1%eth0",
        ];
        for value in hostile {
            let connection = behind_proxy(&[("x-forwarded-for", value)]);
            assert_eq!(connection.address, ip(PROXY), "{:?}", String::from_utf8_lossy(value));
        }
        // An unknown hop behind another trusted proxy: that proxy is the client.
        assert_eq!(behind_proxy(&[("x-forwarded-for", b"1.1.1.1, unknown, 10.0.0.9")]).address, ip("10.0.0.9"));
        // A huge list of garbage is read from the right only as far as needed.
        let huge = format!("{}, 203.0.113.7", "x,".repeat(100_000));
        assert_eq!(behind_proxy(&[("x-forwarded-for", huge.as_bytes())]).address, ip("203.0.113.7"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let connection = behind_proxy(&[(
            "forwarded",
            b"for=1.1.1.1;proto=http, For=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.5, for=10.0.0.9;proto=http",
        )]);
        assert_eq!(connection, ClientConnection { address: ip("2001:db8:cafe::17"), https: true });
        let v4 = behind_proxy(&[("forwarded", b"for=192.0.2.60;proto=http;by=203.0.113.43")]);
        assert_eq!(v4, ClientConnection { address: ip("192.0.2.60"), https: false });
        // Several lines, quoted commas and semicolons inside values, escapes.
        let tricky = behind_proxy(&[("forwarded", b"for=1.1.1.1"), ("forwarded", b"by=\"a,b;c\";for=\"203.0.113.\\7\"")]);
        assert_eq!(tricky.address, ip("203.0.113.7"));
        // X-Forwarded-For wins when both are sent (the proxies documented set it).
        let both = behind_proxy(&[("x-forwarded-for", b"203.0.113.1"), ("forwarded", b"for=203.0.113.2")]);
        assert_eq!(both.address, ip("203.0.113.1"));
        // proto= absent: X-Forwarded-Proto is asked.
        let proto = behind_proxy(&[("forwarded", b"for=203.0.113.2"), ("x-forwarded-proto", b"https")]);
        assert!(proto.https);
    }

    #[test]
    fn hostile_forwarded_elements_are_unknown_hops() {
        let hostile: [&[u8]; 12] = [
            b"for=unknown",
            b"for=_hidden;proto=https",
            b"for",
            b"for=",
            b"for=\"1.1.1.1",
            b"for=\"[2001:db8::1]:4711",
            b"for=1.1.1.1;for=2.2.2.2",
            b"proto=https",
            b"for=1.1.1.1 garbage",
            b";;;,,,",
            b"for=\"1.1.1.1\"\"",
            b"\xff\xfe=\x80",
        ];
        for value in hostile {
            let connection = behind_proxy(&[("forwarded", value)]);
            assert_eq!(connection.address, ip(PROXY), "{:?}", String::from_utf8_lossy(value));
        }
        // Whatever the client put before the proxy's element is not read.
        let appended = behind_proxy(&[("forwarded", b"for=1.1.1.1, for=\"_x\", for=203.0.113.9")]);
        assert_eq!(appended.address, ip("203.0.113.9"));
        let huge = format!("{}for=203.0.113.9", "for=\"a,b\";x=y, ".repeat(50_000));
        assert_eq!(behind_proxy(&[("forwarded", huge.as_bytes())]).address, ip("203.0.113.9"));
    }

    #[test]
    fn https_comes_from_the_proxy_that_saw_the_client() {
        let https = |pairs: &[(&str, &[u8])]| behind_proxy(pairs).https;
        assert!(https(&[("x-forwarded-proto", b"https")]));
        assert!(https(&[("x-forwarded-proto", b" HTTPS ")]));
        assert!(https(&[("x-forwarded-for", b"203.0.113.7"), ("x-forwarded-proto", b"https")]));
        assert!(!https(&[("x-forwarded-for", b"203.0.113.7"), ("x-forwarded-proto", b"http")]));
        assert!(!https(&[("x-forwarded-proto", b"\xff")]));
        assert!(!https(&[]));
        // The client sent "https" itself, and the proxy appended what it really saw.
        assert!(!https(&[("x-forwarded-for", b"203.0.113.7"), ("x-forwarded-proto", b"https, http")]));
        // Two proxies, each appending; the outer one (which the client reached) saw https.
        assert!(https(&[("x-forwarded-for", b"203.0.113.7, 10.0.0.9"), ("x-forwarded-proto", b"https, http")]));
        // A proxy that sets the header instead of appending: its one value counts.
        assert!(https(&[("x-forwarded-for", b"203.0.113.7, 10.0.0.9"), ("x-forwarded-proto", b"https")]));
    }
}
