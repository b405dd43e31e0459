//! Fetching secret values from KMS Secrets Manager and OOS secret parameters.
//!
//! The mount code talks to the [`SecretBackend`] trait, so tests can swap in a fake; [`AlibabaBackend`]
//! is the real implementation: one pooled `reqwest` client, POP-signed calls (V3 by default), typed
//! Alibaba errors and bounded, jittered retries that never outlive the caller's deadline.

mod cache;
mod client;
mod coalesce;
mod config;
mod endpoint;
mod error;
mod kms;
mod oos;
mod retry;

pub use cache::{CacheConfig, CacheConfigError, MAX_CACHE_TTL};
pub use client::AlibabaBackend;
pub use coalesce::{Deduplicator, FetchKey, Served, SharedFetch};
pub use config::{FetchConfig, RetryPolicy};
pub use endpoint::{Endpoint, EndpointError, EndpointType, Service};
pub use error::{ApiError, FetchError};

use std::fmt;
use std::future::Future;
use std::time::Instant;

use crate::auth::Credentials;

/// Which Alibaba service holds the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// KMS Secrets Manager secret (`GetSecretValue`).
    Kms,
    /// OOS encrypted parameter (`GetSecretParameter`).
    Oos,
    /// OOS plain parameter (`GetParameter`; `StringList` values stay comma-separated).
    OosParameter,
}

/// One object to fetch; independent of the SecretProviderClass types so fetch has no config coupling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// Service to ask.
    pub kind: ObjectKind,
    /// Secret name or ARN (KMS), parameter name (OOS).
    pub name: String,
    /// KMS `VersionId`, or OOS `ParameterVersion` (an integer 1-100).
    pub version_id: Option<String>,
    /// KMS `VersionStage` (ignored for OOS).
    pub version_stage: Option<String>,
    /// Region id, e.g. `cn-hangzhou`; picks the default endpoint and is sent to OOS as `RegionId`.
    pub region: String,
    /// Per-object endpoint override, `https://host[:port]`, bare `host[:port]`, or loopback `http://`.
    pub endpoint: Option<String>,
}

/// Secret bytes. `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps fetched bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    /// The bytes, consuming the wrapper.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
    /// Borrow the bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// A fetched object.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The value (KMS `binary` secrets are already base64-decoded).
    pub data: SecretBytes,
    /// KMS `VersionId`, or OOS `ParameterVersion` as a decimal string.
    pub version: String,
    /// HTTP attempts it took (1 = no retry).
    pub attempts: u32,
}

/// What the mount code needs from a secret store.
pub trait SecretBackend: Send + Sync {
    /// Fetches one object with `creds`, giving up (retries included) at `deadline`.
    fn fetch(
        &self,
        req: &FetchRequest,
        creds: &Credentials,
        deadline: Instant,
    ) -> impl Future<Output = Result<Fetched, FetchError>> + Send;
}

#[cfg(test)]
mod emulator_tests;
#[cfg(test)]
mod tests;
