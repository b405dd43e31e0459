//! STS client: signed `AssumeRole` and anonymous `AssumeRoleWithOIDC` (API 2015-04-01).
//!
//! Calls go through the fetch module's HTTP client, so retries, timeouts, the loopback-only `http`
//! rule and Alibaba error parsing are the same as for KMS and OOS.

use std::fmt;
use std::time::Instant;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{AuthError, Credentials};
use crate::fetch::{AlibabaBackend, Endpoint, EndpointError, EndpointType, FetchError, Service};

const VERSION: &str = "2015-04-01";

/// The default `RoleSessionName` (upstream's).
pub const DEFAULT_SESSION_NAME: &str = "csi-secrets-store-provider-alibabacloud";

/// One role to assume.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RoleRequest {
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// `RoleSessionName` (2–64 of `A-Za-z0-9_.@-`).
    pub session_name: String,
    /// `DurationSeconds`; `None` lets STS pick (3600).
    pub duration_seconds: Option<u64>,
    /// `ExternalId` agreed with the role's owner (cross-account).
    pub external_id: Option<String>,
    /// An inline session policy narrowing the role.
    pub policy: Option<String>,
}

impl RoleRequest {
    /// A request with the default session name.
    pub fn new(role_arn: impl Into<String>) -> Self {
        Self {
            role_arn: role_arn.into(),
            session_name: DEFAULT_SESSION_NAME.to_owned(),
            duration_seconds: None,
            external_id: None,
            policy: None,
        }
    }

    /// The cache-key part of this request (role, session policy, external id); never secret.
    pub(super) fn key(&self) -> String {
        format!(
            "{}|{}|{}|{:?}|{:?}",
            self.role_arn,
            self.session_name,
            self.duration_seconds.unwrap_or(0),
            self.external_id,
            self.policy
        )
    }

    fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("RoleArn".to_owned(), self.role_arn.clone()),
            ("RoleSessionName".to_owned(), self.session_name.clone()),
        ];
        if let Some(d) = self.duration_seconds {
            p.push(("DurationSeconds".to_owned(), d.to_string()));
        }
        if let Some(e) = &self.external_id {
            p.push(("ExternalId".to_owned(), e.clone()));
        }
        if let Some(pol) = &self.policy {
            p.push(("Policy".to_owned(), pol.clone()));
        }
        p
    }
}

impl fmt::Debug for RoleRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoleRequest")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("duration_seconds", &self.duration_seconds)
            .field("external_id", &self.external_id.as_ref().map(|_| "<set>"))
            .field("policy", &self.policy.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// Which STS endpoint to call.
pub fn sts_endpoint(
    explicit: Option<&str>,
    region: Option<&str>,
    kind: EndpointType,
) -> Result<Endpoint, EndpointError> {
    if let Some(e) = explicit {
        return Endpoint::parse(e);
    }
    let Some(region) = region else {
        return Endpoint::parse("sts.aliyuncs.com");
    };
    Endpoint::regional(Service::Sts, region, kind)
}

/// Calls STS at one endpoint.
#[derive(Debug, Clone)]
pub struct StsClient {
    backend: AlibabaBackend,
    endpoint: Endpoint,
}

impl StsClient {
    /// Uses `backend`'s HTTP client and retry policy against `endpoint`.
    pub fn new(backend: AlibabaBackend, endpoint: Endpoint) -> Self {
        Self { backend, endpoint }
    }

    /// The endpoint in use.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `AssumeRole` signed with `base`.
    pub async fn assume_role(
        &self,
        base: &Credentials,
        role: &RoleRequest,
        origin: &'static str,
        deadline: Instant,
    ) -> Result<Credentials, AuthError> {
        const ACTION: &str = "AssumeRole";
        let got = self
            .backend
            .rpc(
                "STS AssumeRole",
                &self.endpoint,
                (ACTION, VERSION),
                role.params(),
                Some(base),
                deadline,
            )
            .await
            .map_err(|e| sts_error(ACTION, &role.role_arn, &e))?;
        parse_credentials(ACTION, &role.role_arn, &got, origin)
    }

    /// Anonymous `AssumeRoleWithOIDC` with a service-account token (RRSA / per-pod identity).
    pub async fn assume_role_with_oidc(
        &self,
        provider_arn: &str,
        token: &SecretString,
        role: &RoleRequest,
        origin: &'static str,
        deadline: Instant,
    ) -> Result<Credentials, AuthError> {
        const ACTION: &str = "AssumeRoleWithOIDC";
        let mut params = role.params();
        params.push(("OIDCProviderArn".to_owned(), provider_arn.to_owned()));
        params.push(("OIDCToken".to_owned(), token.expose_secret().to_owned()));
        let got = self
            .backend
            .rpc(
                "STS AssumeRoleWithOIDC",
                &self.endpoint,
                (ACTION, VERSION),
                params,
                None,
                deadline,
            )
            .await
            .map_err(|e| sts_error(ACTION, &role.role_arn, &e))?;
        parse_credentials(ACTION, &role.role_arn, &got, origin)
    }
}

/// Maps a failed call to a message with a fix; the fetch error never holds the request (V1 queries
/// and OIDC tokens stay out).
fn sts_error(action: &'static str, role_arn: &str, e: &FetchError) -> AuthError {
    let code = e.api_error().and_then(|a| a.code.as_deref()).unwrap_or("");
    let hint = match code {
        "NoPermission" | "AuthenticationFail.NoPermission" => Some(
            "the role's trust policy does not allow this caller (check the trusted account/AccessKey, OIDC provider and subject system:serviceaccount:<ns>:<sa>, and the ExternalId)",
        ),
        c if c.starts_with("EntityNotExist.Role") => Some("the role does not exist; check roleArn"),
        "EntityNotExist.OIDCProvider" => Some(
            "the OIDC provider does not exist; check ALIBABA_CLOUD_OIDC_PROVIDER_ARN (or ALICLOUD_ACCOUNT_ID/ALICLOUD_CLUSTER_ID)",
        ),
        "AuthenticationFail.OIDCToken.Expired" => Some(
            "the service-account token has expired; the kubelet must refresh it (check CSIDriver tokenRequests / requiresRepublish)",
        ),
        c if c.starts_with("AuthenticationFail.OIDCToken") => Some(
            "the service-account token was rejected; its issuer must be the cluster's RRSA issuer and its audience sts.aliyuncs.com",
        ),
        c if c.starts_with("InvalidParameter.DurationSeconds") => {
            Some("the session duration is outside 900 s to the role's MaxSessionDuration")
        }
        c if c.starts_with("InvalidParameter.RoleSessionName") => {
            Some("the session name must be 2-64 of A-Z a-z 0-9 _ . @ -")
        }
        _ => None,
    };
    let detail = match hint {
        Some(h) => format!("{e}; {h}"),
        None => e.to_string(),
    };
    AuthError::Sts {
        action,
        role_arn: role_arn.to_owned(),
        detail,
    }
}

fn parse_credentials(
    action: &'static str,
    role_arn: &str,
    body: &Map<String, Value>,
    origin: &'static str,
) -> Result<Credentials, AuthError> {
    let bad = |why: String| AuthError::Sts {
        action,
        role_arn: role_arn.to_owned(),
        detail: format!("unexpected response: {why}"),
    };
    let Some(Value::Object(c)) = body.get("Credentials") else {
        return Err(bad("Credentials is missing or not an object".into()));
    };
    credentials_from_json(c, origin).map_err(bad)
}

/// Reads `AccessKeyId`, `AccessKeySecret`, `SecurityToken`, `Expiration` (STS and ECS metadata
/// share this shape). Errors name the field, never a value.
pub(super) fn credentials_from_json(
    c: &Map<String, Value>,
    origin: &'static str,
) -> Result<Credentials, String> {
    let field = |name: &str| match c.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(format!("{name} is empty or not a string")),
        None => Err(format!("{name} is missing")),
    };
    let id = field("AccessKeyId")?;
    let secret = SecretString::from(field("AccessKeySecret")?);
    let token = SecretString::from(field("SecurityToken")?);
    let expiration = OffsetDateTime::parse(&field("Expiration")?, &Rfc3339)
        .map_err(|_| "Expiration is not an RFC 3339 time".to_owned())?;
    Ok(Credentials::new(id, secret, origin)
        .with_security_token(token)
        .with_expiration(expiration))
}
