//! Settings of the fetch layer, fixed at start-up.

use std::time::Duration;

use acs_sign::SignatureVersion;

use super::EndpointType;

/// How the backend reaches KMS and OOS.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Override for every KMS call (a per-object endpoint still wins).
    pub kms_endpoint: Option<String>,
    /// Override for every OOS call (a per-object endpoint still wins).
    pub oos_endpoint: Option<String>,
    /// VPC (default, like upstream) or public default endpoints.
    pub endpoint_type: EndpointType,
    /// V3 by default; V1 for gateways that only speak HMAC-SHA1.
    pub signature_version: SignatureVersion,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Timeout of one HTTP attempt, including reading the body.
    pub request_timeout: Duration,
    /// Retry behaviour for throttling, 5xx and network errors.
    pub retry: RetryPolicy,
    /// Extra trusted CA certificates (PEM bundle), added to the system roots; e.g. the CA of a KMS
    /// dedicated gateway (`<kst-id>.cryptoservice.kms.aliyuncs.com`). Public data, not a secret.
    pub extra_ca_pem: Option<String>,
    /// The payload cache in front of the backend (off by default; see `cache.rs`).
    pub cache: super::CacheConfig,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            kms_endpoint: None,
            oos_endpoint: None,
            endpoint_type: EndpointType::Vpc,
            signature_version: SignatureVersion::V3,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            extra_ca_pem: None,
            cache: super::CacheConfig::default(),
        }
    }
}

/// Exponential backoff with jitter. The caller's deadline always bounds the total.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 disables retries).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Cap on one delay (a server's `x-acs-retry-after` may exceed it, the deadline may not).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}
