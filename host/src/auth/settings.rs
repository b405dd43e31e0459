//! The provider's own identity settings (RRSA, AssumeRole, ECS metadata), read once at start-up.
//!
//! Tests build them with [`AuthSettings::from_map`]; nothing calls `set_var`. Every bad value is a
//! start-up error, and all of them are reported together.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::AuthError;
use super::cache::DEFAULT_REFRESH_BEFORE;
use super::ecs::DEFAULT_ENDPOINT;
use super::sts::DEFAULT_SESSION_NAME;

/// The chart's projected token path.
pub const DEFAULT_OIDC_TOKEN_FILE: &str =
    "/var/run/secrets/tokens/csi-secrets-store-provider-alibabacloud";

/// RRSA for the provider's own service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrsaSettings {
    /// `acs:ram::<account>:oidc-provider/<name>`.
    pub provider_arn: String,
    /// The projected token file, re-read on every refresh.
    pub token_file: PathBuf,
}

/// Everything the credential chain needs besides per-mount input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `ALIBABA_CLOUD_ROLE_ARN` / `ALICLOUD_ROLE_ARN`: RRSA's role, or AssumeRole on top of the AccessKey.
    pub role_arn: Option<String>,
    /// `ALICLOUD_ROLE_SESSION_NAME` / `ALIBABA_CLOUD_ROLE_SESSION_NAME`.
    pub session_name: String,
    /// `ALICLOUD_ROLE_SESSION_EXPIRATION` (seconds, 900–43200).
    pub session_expiration: Option<u64>,
    /// Present when the OIDC provider ARN is known (explicitly or from account + cluster id). Per-pod
    /// identity needs it; the provider itself uses RRSA only when `role_arn` is set too.
    pub rrsa: Option<RrsaSettings>,
    /// `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true` turns the ECS source off.
    pub ecs_disabled: bool,
    /// `ALIBABA_CLOUD_ECS_METADATA`: the instance role name (else discovered).
    pub ecs_role_name: Option<String>,
    /// `--ecs-metadata-endpoint` / `ECS_METADATA_ENDPOINT`.
    pub ecs_endpoint: String,
    /// Timeout of one metadata call.
    pub ecs_timeout: Duration,
    /// `--sts-endpoint` / `STS_ENDPOINT`.
    pub sts_endpoint: Option<String>,
    /// Region for the regional STS endpoint (`--region`); `None` uses `sts.aliyuncs.com`.
    pub sts_region: Option<String>,
    /// `--credential-refresh-before` / `CREDENTIAL_REFRESH_BEFORE`.
    pub refresh_before: Duration,
    /// `--node-name` / `NODE_NAME` (downward API): whose region labels to read.
    pub node_name: Option<String>,
    /// Kubeconfig for the API reads; `None` = `KUBECONFIG`, `~/.kube/config` or in-cluster.
    pub kubeconfig: Option<PathBuf>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            role_arn: None,
            session_name: DEFAULT_SESSION_NAME.to_owned(),
            session_expiration: None,
            rrsa: None,
            ecs_disabled: false,
            ecs_role_name: None,
            ecs_endpoint: DEFAULT_ENDPOINT.to_owned(),
            ecs_timeout: Duration::from_secs(1),
            sts_endpoint: None,
            sts_region: None,
            refresh_before: DEFAULT_REFRESH_BEFORE,
            node_name: None,
            kubeconfig: None,
        }
    }
}

impl AuthSettings {
    /// Reads the process environment (once, at start-up).
    pub fn from_env() -> Result<Self, AuthError> {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::from_map(&vars)
    }

    /// Builds from an explicit variable map. Flag-backed fields (endpoints, refresh lead) keep their
    /// defaults; the CLI sets them.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, AuthError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let either = |a: &str, b: &str| get(a).or_else(|| get(b)).map(str::to_owned);
        let mut problems = Vec::new();
        let mut s = Self {
            role_arn: either("ALIBABA_CLOUD_ROLE_ARN", "ALICLOUD_ROLE_ARN"),
            ..Self::default()
        };
        if let Some(n) = either(
            "ALIBABA_CLOUD_ROLE_SESSION_NAME",
            "ALICLOUD_ROLE_SESSION_NAME",
        ) {
            let ok = (2..=64).contains(&n.len())
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.@-".contains(&b));
            if ok {
                s.session_name = n;
            } else {
                problems.push(format!(
                    "ALICLOUD_ROLE_SESSION_NAME {n:?} must be 2-64 of A-Z a-z 0-9 _ . @ -"
                ));
            }
        }
        if let Some(v) = either(
            "ALICLOUD_ROLE_SESSION_EXPIRATION",
            "ALIBABA_CLOUD_ROLE_SESSION_EXPIRATION",
        ) {
            match v.parse::<u64>() {
                Ok(n) if (900..=43200).contains(&n) => s.session_expiration = Some(n),
                _ => problems.push(format!(
                    "ALICLOUD_ROLE_SESSION_EXPIRATION {v:?} must be a whole number of seconds from 900 to 43200"
                )),
            }
        }
        let explicit_provider = either(
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "ALICLOUD_OIDC_PROVIDER_ARN",
        );
        let account = either("ALICLOUD_ACCOUNT_ID", "ALIBABA_CLOUD_ACCOUNT_ID");
        let cluster = either("ALICLOUD_CLUSTER_ID", "ALIBABA_CLOUD_CLUSTER_ID");
        let built = match (&account, &cluster) {
            (Some(a), Some(c)) => Some(format!("acs:ram::{a}:oidc-provider/ack-rrsa-{c}")),
            (Some(_), None) => {
                problems.push("ALICLOUD_ACCOUNT_ID is set but ALICLOUD_CLUSTER_ID is missing; set both to build the RRSA OIDC provider ARN".into());
                None
            }
            (None, Some(_)) => {
                problems.push("ALICLOUD_CLUSTER_ID is set but ALICLOUD_ACCOUNT_ID is missing; set both to build the RRSA OIDC provider ARN".into());
                None
            }
            (None, None) => None,
        };
        if let Some(provider_arn) = explicit_provider.or(built) {
            if !provider_arn.starts_with("acs:ram::") || !provider_arn.contains(":oidc-provider/") {
                problems.push(format!(
                    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN {provider_arn:?} is not an OIDC provider ARN (acs:ram::<account>:oidc-provider/<name>)"
                ));
            }
            let token_file = either("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALICLOUD_OIDC_TOKEN_FILE")
                .unwrap_or_else(|| DEFAULT_OIDC_TOKEN_FILE.to_owned());
            s.rrsa = Some(RrsaSettings {
                provider_arn,
                token_file: PathBuf::from(token_file),
            });
        }
        if let Some(r) = &s.role_arn
            && !(r.starts_with("acs:ram::") && r.contains(":role/"))
        {
            problems.push(format!(
                "ALIBABA_CLOUD_ROLE_ARN {r:?} is not a role ARN (acs:ram::<account>:role/<name>)"
            ));
        }
        if let Some(v) = get("ALIBABA_CLOUD_ECS_METADATA_DISABLED") {
            match v.to_ascii_lowercase().as_str() {
                "true" => s.ecs_disabled = true,
                "false" => {}
                _ => problems.push(format!(
                    "ALIBABA_CLOUD_ECS_METADATA_DISABLED {v:?} must be true or false"
                )),
            }
        }
        s.ecs_role_name = get("ALIBABA_CLOUD_ECS_METADATA").map(str::to_owned);
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(AuthError::Settings { problems })
        }
    }
}
