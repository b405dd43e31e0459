//! Fetch failures: typed Alibaba API errors plus transport and response problems.
//!
//! Server error messages are not secret and are kept; successful response bodies, request URLs (V1
//! puts `SecurityToken` in the query) and credentials never enter an error.

use std::fmt;
use std::time::Duration;

use thiserror::Error;

use super::EndpointError;

/// Codes Alibaba's own clients retry (alibaba-api.md §3). One doc misspells the 503 code; both count.
const RETRYABLE_CODES: &[&str] = &[
    "Rejected.Throttling",
    "InternalFailure",
    "ServiceUnavailableTemporary",
    "SerivceUnavailableTemporary",
];

/// An error answer from a POP API (`{"Code","Message","RequestId"}`, any letter case of the first letter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `Code`, e.g. `Forbidden.ResourceNotFound`; `None` when the body was not Alibaba JSON.
    pub code: Option<String>,
    /// HTTP status.
    pub status: u16,
    /// `RequestId`, for support tickets.
    pub request_id: Option<String>,
    /// `Message`, or a short excerpt of a non-JSON body.
    pub message: String,
    /// The server's `x-acs-retry-after` hint.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Whether a retry may succeed: throttling, transient server failures and 5xx gateways.
    /// Permission, not-found, signature and parameter errors never are.
    pub fn is_retryable(&self) -> bool {
        let code = self.code.as_deref().unwrap_or("");
        RETRYABLE_CODES.contains(&code)
            || code.starts_with("Throttling")
            || matches!(self.status, 429 | 500 | 502 | 503 | 504)
            || (self.retry_after.is_some() && !matches!(self.status, 401 | 403 | 404))
    }

    /// Whether the STS token has expired or is bad, i.e. fresh credentials (not a retry) are needed.
    pub fn is_credential_expired(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.starts_with("InvalidSecurityToken"))
    }

    fn hint(&self) -> Option<&'static str> {
        Some(match self.code.as_deref()? {
            "Forbidden.ResourceNotFound" | "EntityNotExists.Parameter" | "ParameterNotFound" => {
                "check the object name, version and region"
            }
            "Forbidden.NoPermission" | "Forbidden.RAM" | "NoPermission" => {
                "the credential's RAM policy does not allow this call on this object"
            }
            "InvalidAccessKeyId.NotFound" | "Forbidden.AccessKeyDisabled" => {
                "the AccessKey id is unknown or disabled (an expired STS credential also shows this)"
            }
            "SignatureDoesNotMatch" | "InvalidAccessKeySecret" => "the AccessKey secret is wrong",
            "InvalidTimeStamp.Expired" | "IllegalTimestamp" => {
                "the node clock is off by more than 15 minutes"
            }
            _ => return None,
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code} (HTTP {})", self.status)?,
            None => write!(f, "HTTP {}", self.status)?,
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [RequestId {id}]")?;
        }
        Ok(())
    }
}

/// Why a fetch failed.
#[derive(Debug, Clone, Error)]
pub enum FetchError {
    /// The API answered with an error.
    #[error("{action}: {error} (after {attempts} attempt{})", plural(*attempts))]
    Api {
        /// e.g. `KMS GetSecretValue`.
        action: &'static str,
        /// The parsed error.
        error: ApiError,
        /// HTTP attempts made.
        attempts: u32,
    },
    /// No HTTP answer: connect failure, TLS failure, timeout, broken body.
    #[error("{action}: {detail} (endpoint {host}, after {attempts} attempt{})", plural(*attempts))]
    Network {
        /// e.g. `KMS GetSecretValue`.
        action: &'static str,
        /// The endpoint host (never the URL: V1 queries carry the security token).
        host: String,
        /// What went wrong, from the transport error chain.
        detail: String,
        /// Whether it was a timeout.
        timeout: bool,
        /// HTTP attempts made.
        attempts: u32,
    },
    /// The deadline passed before a first attempt could be made.
    #[error("{action}: the mount deadline passed before the request could be sent")]
    DeadlineExceeded {
        /// e.g. `KMS GetSecretValue`.
        action: &'static str,
    },
    /// A 2xx answer that lacks a field or has one of the wrong type.
    #[error("{action}: unexpected response: {reason}")]
    InvalidResponse {
        /// e.g. `KMS GetSecretValue`.
        action: &'static str,
        /// Which field was wrong (never its value).
        reason: String,
    },
    /// The answer is larger than the provider accepts for one object (a secret too large to mount).
    #[error(
        "{action}: the answer is larger than {limit} bytes, the provider's limit for one object (KMS secrets are at most 64 KiB)"
    )]
    TooLarge {
        /// e.g. `KMS GetSecretValue`.
        action: &'static str,
        /// The limit in bytes.
        limit: usize,
    },
    /// The request cannot be sent as given.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Bad endpoint override or region.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// The HTTP client could not be built (TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl FetchError {
    /// HTTP attempts made (0 when nothing was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            FetchError::Api { attempts, .. } | FetchError::Network { attempts, .. } => *attempts,
            FetchError::InvalidResponse { .. } | FetchError::TooLarge { .. } => 1,
            _ => 0,
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Api { error, .. } => error.is_retryable(),
            FetchError::Network { .. } => true,
            _ => false,
        }
    }

    /// The Alibaba error, if the API answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            FetchError::Api { error, .. } => Some(error),
            _ => None,
        }
    }

    pub(super) fn set_attempts(&mut self, n: u32) {
        if let FetchError::Api { attempts, .. } | FetchError::Network { attempts, .. } = self {
            *attempts = n;
        }
    }

    /// Builds a `Network` error from a reqwest error without its URL.
    pub(super) fn network(action: &'static str, host: &str, err: reqwest::Error) -> Self {
        let timeout = err.is_timeout();
        let err = err.without_url();
        let mut detail = if timeout {
            "timed out".to_owned()
        } else if err.is_connect() {
            "could not connect".to_owned()
        } else {
            "request failed".to_owned()
        };
        // The innermost cause is the useful part ("Connection refused (os error 111)").
        let mut cause: &dyn std::error::Error = &err;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let root = cause.to_string();
        if !root.is_empty() && !timeout {
            detail.push_str(": ");
            detail.push_str(&root);
        }
        FetchError::Network {
            action,
            host: host.to_owned(),
            detail,
            timeout,
            attempts: 1,
        }
    }
}

/// Parses an error answer. `body` is an error body, which is not secret.
pub(super) fn parse_api_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ApiError {
    let json: Option<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(body).ok();
    let field = |names: [&str; 2]| {
        json.as_ref().and_then(|m| {
            names
                .iter()
                .find_map(|n| m.get(*n).and_then(|v| v.as_str()).map(str::to_owned))
        })
    };
    let code = field(["Code", "code"]);
    let message = field(["Message", "message"]).unwrap_or_else(|| {
        if json.is_some() {
            String::new()
        } else {
            excerpt(body)
        }
    });
    ApiError {
        code,
        status,
        request_id: field(["RequestId", "requestId"]),
        message: redact_message(message),
        retry_after,
    }
}

/// `SignatureDoesNotMatch` answers quote the server's string-to-sign, which for V1 contains the
/// `SecurityToken`; everything from that quote on is dropped so it can never reach an error or a log.
fn redact_message(message: String) -> String {
    const MARKER: &str = "string to sign is";
    match message.to_ascii_lowercase().find(MARKER) {
        Some(at) => format!("{} <string to sign omitted>", message[..at].trim_end()),
        None => message,
    }
}

/// At most 200 printable characters of a non-JSON error body (e.g. a proxy's HTML page).
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    cleaned.trim().to_owned()
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn signature_mismatch_never_echoes_the_string_to_sign() {
        let body = br#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId%3DSTS.x%26SecurityToken%3DCAIS-secret-token","RequestId":"r1"}"#;
        let e = parse_api_error(400, None, body);
        assert!(!e.message.contains("CAIS-secret-token"), "{}", e.message);
        assert!(!e.to_string().contains("SecurityToken"), "{e}");
        assert!(
            e.message.starts_with("Specified signature is not matched"),
            "{}",
            e.message
        );
    }
}
