//! Where a call goes: an explicit override, or the regional VPC/public endpoint.
//!
//! Plain `http://` exists for the local emulator only, so it is refused unless the host is loopback:
//! a typo must never send signed requests (and STS tokens) over the network in clear text.

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;
use url::{Host, Url};

/// Which default endpoint family to use when no override is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointType {
    /// `kms-vpc.<region>.aliyuncs.com` / `oos-vpc.<region>.aliyuncs.com` (the upstream default).
    #[default]
    Vpc,
    /// `kms.<region>.aliyuncs.com` / `oos.<region>.aliyuncs.com`.
    Public,
}

/// The services this provider calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// KMS Secrets Manager.
    Kms,
    /// Operation Orchestration Service (parameters).
    Oos,
    /// Security Token Service (AssumeRole, AssumeRoleWithOIDC).
    Sts,
}

impl Service {
    fn product(self) -> &'static str {
        match self {
            Service::Kms => "kms",
            Service::Oos => "oos",
            Service::Sts => "sts",
        }
    }
}

/// A validated endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    https: bool,
    /// `host` or `host:port` (port only when not the scheme's default), exactly the signed `Host`.
    authority: String,
}

impl Endpoint {
    /// The URL of the RPC root, `scheme://authority/`.
    pub fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/", self.authority)
    }

    /// The `Host` header value that gets signed.
    pub fn host(&self) -> &str {
        &self.authority
    }

    /// Whether TLS is used.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// Parses an override: `https://host[:port]`, bare `host[:port]` (https, as upstream's
    /// `kmsEndpoint`), or `http://` to a loopback host (127.0.0.0/8, ::1, localhost).
    pub fn parse(text: &str) -> Result<Self, EndpointError> {
        let bad = |why: &str| EndpointError::Invalid {
            value: text.to_owned(),
            reason: why.to_owned(),
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(bad("is empty"));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let url = Url::parse(&with_scheme).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(bad(&format!(
                    "has scheme {other:?}; allowed are https, or http for loopback hosts"
                )));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("contains user info; give only scheme://host[:port]"));
        }
        if !(url.path().is_empty() || url.path() == "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad(
                "has a path, query or fragment; give only scheme://host[:port]",
            ));
        }
        let host = url.host().ok_or_else(|| bad("has no host"))?;
        if !https && !is_loopback(&host) {
            return Err(EndpointError::PlainHttpNotLoopback {
                value: text.to_owned(),
            });
        }
        let host_text = match &host {
            Host::Ipv6(ip) => format!("[{ip}]"),
            other => other.to_string(),
        };
        let authority = match url.port() {
            Some(p) => format!("{host_text}:{p}"),
            None => host_text,
        };
        Ok(Self { https, authority })
    }

    /// The regional default endpoint of `service`.
    pub fn regional(
        service: Service,
        region: &str,
        kind: EndpointType,
    ) -> Result<Self, EndpointError> {
        let valid = !region.is_empty()
            && region.len() <= 64
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(EndpointError::InvalidRegion {
                region: region.to_owned(),
            });
        }
        let suffix = match kind {
            EndpointType::Vpc => "-vpc",
            EndpointType::Public => "",
        };
        Ok(Self {
            https: true,
            authority: format!("{}{suffix}.{region}.aliyuncs.com", service.product()),
        })
    }

    /// Per-object override, else service-wide override, else the regional default.
    pub fn resolve(
        service: Service,
        region: &str,
        per_object: Option<&str>,
        configured: Option<&str>,
        kind: EndpointType,
    ) -> Result<Self, EndpointError> {
        match per_object.or(configured) {
            Some(text) => Self::parse(text),
            None => Self::regional(service, region, kind),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base_url())
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
    }
}

/// A bad endpoint or region.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EndpointError {
    /// The override does not parse or has extra parts.
    #[error("endpoint {value:?} {reason}")]
    Invalid {
        /// The override as given.
        value: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// `http://` to a host that is not loopback.
    #[error(
        "endpoint {value:?} uses plain http to a non-loopback host; use https (http is allowed only for 127.0.0.0/8, ::1 and localhost)"
    )]
    PlainHttpNotLoopback {
        /// The override as given.
        value: String,
    },
    /// The region cannot form a host name.
    #[error(
        "region {region:?} is not a region id; expected lowercase letters, digits and '-', e.g. cn-hangzhou"
    )]
    InvalidRegion {
        /// The region as given.
        region: String,
    },
}
