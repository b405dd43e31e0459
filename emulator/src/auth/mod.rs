//! Request authentication: signature V1 (`Signature` param) or V3 (`Authorization`
//! header), timestamp window, nonce replay, STS security tokens, and who the caller is.
//!
//! Verification uses `acs-sign`, the same code the provider signs with, so the two
//! cannot drift apart; the Python SDK tests keep both honest against the real clients.

mod replay;
mod v1;
mod v3;

pub use replay::ReplayGuard;

use axum::http::StatusCode;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::request::PopRequest;
use crate::seed::AccessKeySeed;
use crate::store::{KeyEntry, Store};

/// An authenticated caller and what it may read.
pub struct Caller {
    pub access_key_id: String,
    permissions: Option<Vec<String>>,
}

impl Caller {
    fn from_key(key: &AccessKeySeed) -> Self {
        Self {
            access_key_id: key.id.clone(),
            permissions: key.permissions.clone(),
        }
    }

    /// Whether the key's permission list covers secret or parameter `name`.
    pub fn may_read(&self, name: &str) -> bool {
        match &self.permissions {
            None => true,
            Some(patterns) => patterns.iter().any(|p| crate::glob::matches(p, name)),
        }
    }
}

/// Authenticate `req`; V3 when an `Authorization` header is present, else V1.
pub fn authenticate(
    req: &PopRequest,
    store: &Store,
    replay: &ReplayGuard,
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    match req.header("authorization") {
        Some(authorization) => v3::verify(req, authorization, store, replay, now),
        None => v1::verify(req, store, replay, now),
    }
}

fn lookup_key(store: &Store, id: &str) -> Result<KeyEntry, ApiError> {
    store.access_key(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    })
}

/// STS-style keys need exactly their token; plain keys must not present one.
fn check_security_token(key: &AccessKeySeed, presented: Option<&str>) -> Result<(), ApiError> {
    let mismatch = |why: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.MismatchWithAccessKey",
            format!("The security token you provided does not match the access key: {why}"),
        )
    };
    match (
        key.security_token.as_deref(),
        presented.filter(|t| !t.is_empty()),
    ) {
        (None, None) => Ok(()),
        (Some(want), Some(got)) if constant_time_eq(want.as_bytes(), got.as_bytes()) => Ok(()),
        (Some(_), Some(_)) => Err(mismatch("the token is not the one issued with this key")),
        (Some(_), None) => Err(mismatch(
            "this is an STS access key and no security token was sent",
        )),
        (None, Some(_)) => Err(mismatch(
            "a security token was sent with a permanent access key",
        )),
    }
}

/// Issued (STS/ECS) keys stop working at their expiration.
fn check_expiry(entry: &KeyEntry, now: OffsetDateTime) -> Result<(), ApiError> {
    match entry.expires {
        Some(exp) if exp <= now => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        )),
        _ => Ok(()),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
