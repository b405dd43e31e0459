//! Assembling the URL; plain functions so they are easy to test.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters: safe in user info, path and query.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The pieces of a connection URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Parts {
    /// `postgresql`, `mysql`, ...
    pub scheme: String,
    /// User name (encoded when building).
    pub user: String,
    /// Password (encoded when building).
    pub password: String,
    /// Host name or IP address (IPv6 gets brackets).
    pub host: String,
    /// Port, if any.
    pub port: Option<String>,
    /// Database name, if any (encoded).
    pub database: Option<String>,
    /// Query parameters (encoded), in key order.
    pub params: BTreeMap<String, String>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("scheme", &self.scheme)
            .field("host", &self.host)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// `scheme://user:password@host:port/database?k=v&...`.
pub fn build(p: &Parts) -> String {
    let enc = |s: &str| utf8_percent_encode(s, STRICT).to_string();
    let host = if p.host.contains(':') && !p.host.starts_with('[') {
        format!("[{}]", p.host)
    } else {
        p.host.clone()
    };
    let mut url = format!(
        "{}://{}:{}@{host}",
        p.scheme,
        enc(&p.user),
        enc(&p.password)
    );
    if let Some(port) = &p.port {
        url.push(':');
        url.push_str(port);
    }
    if let Some(db) = &p.database {
        url.push('/');
        url.push_str(&enc(db));
    }
    for (i, (k, v)) in p.params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&format!("{}={}", enc(k), enc(v)));
    }
    url
}

/// `[A-Za-z][A-Za-z0-9+.-]*`.
pub fn valid_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// A DNS name, IPv4 address or (optionally bracketed) IPv6 address.
pub fn valid_host(h: &str) -> bool {
    let inner = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    if inner.parse::<std::net::Ipv6Addr>().is_ok() {
        return true;
    }
    !h.is_empty()
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
}
