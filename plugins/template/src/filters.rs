//! Filters added to the template environment.

use std::fmt::Write;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but RFC 3986 unreserved characters (`A-Za-z0-9-._~`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `urlencode`: percent-encodes a string (or number) for use in **any** URL component, including
/// user info and path segments. Unlike Jinja's built-in, `/` is encoded too, because passwords in
/// `scheme://user:pass@host` must not contain a raw `/`. A map becomes `k=v&k2=v2`.
pub fn urlencode(value: &Value) -> Result<String, Error> {
    if value.kind() == ValueKind::Map {
        let mut out = String::new();
        for key in value.try_iter()? {
            let item = value.get_item(&key)?;
            if item.is_none() || item.is_undefined() {
                continue;
            }
            if !out.is_empty() {
                out.push('&');
            }
            let _ = write!(out, "{}={}", encode(&key)?, encode(&item)?);
        }
        return Ok(out);
    }
    encode(value)
}

fn encode(value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::String | ValueKind::Number | ValueKind::Bool => {
            Ok(utf8_percent_encode(&value.to_string(), COMPONENT).to_string())
        }
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("urlencode cannot encode a {kind}"),
        )),
    }
}
