//! Alibaba Cloud POP request signing, shared by the provider host and the local emulator.
//!
//! No published Rust crate signs POP (RPC-style) requests with STS tokens and signature V3, so this
//! crate implements both algorithms from the SDK sources:
//!
//! * [`v1`]: the HMAC-SHA1 "RPC" signature (the Tea SDK calls it `v2`); every parameter is signed.
//! * [`v3`]: `ACS3-HMAC-SHA256`; Action/Version travel in `x-acs-*` headers.
//!
//! The low-level functions are pure string builders so that the emulator can *verify* with exactly the
//! code the client *signs* with. [`sign`] is the high-level client side:
//!
//! ```
//! use acs_sign::{Credential, RpcRequest, SignatureVersion, sign};
//!
//! let req = RpcRequest {
//!     method: "POST".into(),
//!     host: "127.0.0.1:18080".into(),
//!     action: "GetSecretValue".into(),
//!     version: "2016-01-20".into(),
//!     params: vec![("SecretName".into(), "app/db-password".into())],
//!     timestamp: "2024-05-06T07:08:09Z".into(),
//!     nonce: "b2d1f3a4c5e60718293a4b5c6d7e8f90".into(),
//! };
//! let cred = Credential { access_key_id: "LTAI5tTestKeyId", access_key_secret: "TestSecret123", security_token: None };
//! let signed = sign(SignatureVersion::V3, &req, Some(&cred));
//! // Send: POST http://127.0.0.1:18080/?{signed.query_string()} with every header in signed.headers.
//! assert_eq!(signed.query_string(), "SecretName=app%2Fdb-password");
//! assert!(signed.header("authorization").unwrap().starts_with("ACS3-HMAC-SHA256 Credential=LTAI5tTestKeyId,"));
//! ```
#![forbid(unsafe_code)]

mod client;
mod error;
pub mod v1;
pub mod v3;

pub use client::{Credential, RpcRequest, SignatureVersion, SignedRequest, sign};
pub use error::AuthorizationError;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// Every byte except the RFC 3986 unreserved set `A-Z a-z 0-9 - _ . ~` is escaped.
const POP_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` the way Alibaba POP signing requires.
///
/// `A-Za-z0-9-_.~` pass unchanged; every other UTF-8 byte becomes `%XX` with uppercase hex, so a space
/// is `%20` (never `+`), `*` is `%2A` and `~` stays `~`.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, POP_ENCODE_SET).to_string()
}

/// Lowercase hex SHA-256 of `data`, as used by `x-acs-content-sha256` and V3 string-to-sign.
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Hex SHA-256 of the empty body, the `x-acs-content-sha256` of a request without a body.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Sorts `(key, value)` pairs by key bytes (then value, so the result never depends on input order)
/// and joins `enc_key(k)=enc_value(v)` with `&`.
fn sorted_join(
    params: &[(&str, &str)],
    enc_key: fn(&str) -> String,
    enc_value: fn(&str) -> String,
) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(a.1.cmp(b.1)));
    let mut out = String::new();
    for (i, (k, v)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&enc_key(k));
        out.push('=');
        out.push_str(&enc_value(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encode_matches_the_sdk_rules() {
        assert_eq!(
            percent_encode("app/db pass*~+é"),
            "app%2Fdb%20pass%2A~%2B%C3%A9"
        );
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(
            percent_encode("2016-02-23T12:46:24Z"),
            "2016-02-23T12%3A46%3A24Z"
        );
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn hex_sha256_of_known_inputs() {
        assert_eq!(hex_sha256(b""), EMPTY_BODY_SHA256);
        assert_eq!(
            hex_sha256(b"Name=my-param&WithDecryption=true"),
            "6838248a26cea0bcc35b506c83d4deda3a4f64cc264dc46867bf434e19973f44"
        );
    }
}
