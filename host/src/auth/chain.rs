//! The full credential chain with caching:
//! per-pod identity (when the SPC asks) > nodePublishSecretRef > provider RRSA >
//! provider AccessKey (+ AssumeRole) > ECS RAM role; plus cross-account roles on top.

use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::cache::{CredentialCache, DEFAULT_MAX_STALE};
use super::cluster::{Cluster, ROLE_ANNOTATION};
use super::ecs::EcsMetadata;
use super::settings::AuthSettings;
use super::sts::{RoleRequest, StsClient, sts_endpoint};
use super::{AuthError, Credentials, EnvCredentials, VolumeCredentials, VolumeSecrets};
use crate::fetch::{AlibabaBackend, EndpointType};

/// The audience per-pod tokens must be minted for.
pub const STS_AUDIENCE: &str = "sts.aliyuncs.com";

/// Resolves and caches credentials. Build once; share for every mount.
#[derive(Debug)]
pub struct Authenticator {
    env: EnvCredentials,
    settings: AuthSettings,
    sts: StsClient,
    ecs: Option<EcsMetadata>,
    cache: CredentialCache,
    cluster: Cluster,
}

impl Authenticator {
    /// Checks the endpoints; uses `backend`'s HTTP client for STS and metadata calls.
    pub fn new(
        settings: AuthSettings,
        env: EnvCredentials,
        backend: &AlibabaBackend,
        endpoint_type: EndpointType,
    ) -> Result<Self, AuthError> {
        let sts_ep = sts_endpoint(
            settings.sts_endpoint.as_deref(),
            settings.sts_region.as_deref(),
            endpoint_type,
        )
        .map_err(|e| AuthError::Settings {
            problems: vec![format!("STS endpoint: {e}")],
        })?;
        let ecs = if settings.ecs_disabled {
            None
        } else {
            Some(EcsMetadata::new(
                backend.http().clone(),
                &settings.ecs_endpoint,
                settings.ecs_role_name.clone(),
                settings.ecs_timeout,
            )?)
        };
        Ok(Self {
            env,
            sts: StsClient::new(backend.clone(), sts_ep),
            ecs,
            cache: CredentialCache::new(settings.refresh_before, DEFAULT_MAX_STALE),
            cluster: Cluster::new(settings.kubeconfig.clone(), settings.node_name.clone()),
            settings,
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The mount's base credential, without per-pod identity: nodePublishSecretRef, provider RRSA,
    /// provider AccessKey (+ AssumeRole), ECS RAM role. None at all lists every source tried.
    pub async fn resolve(
        &self,
        volume: &impl VolumeSecrets,
        deadline: Instant,
    ) -> Result<Credentials, AuthError> {
        if let Some(c) = VolumeCredentials::from_secrets(volume)? {
            return Ok(c);
        }
        let ecs_failure = match self.provider_credentials(deadline).await {
            Ok(Some(c)) => return Ok(c),
            Ok(None) => None,
            // The node's identity is the last resort: its failure (e.g. not an ECS host) is
            // reported together with everything else that was tried.
            Err(e @ AuthError::Metadata { .. }) => Some(e.to_string()),
            Err(e) => return Err(e),
        };
        let mut tried = vec![
            VolumeCredentials::DESCRIPTION,
            "RRSA (ALIBABA_CLOUD_OIDC_PROVIDER_ARN)",
        ];
        tried.extend_from_slice(EnvCredentials::DESCRIPTIONS);
        tried.push(if self.ecs.is_some() {
            "ECS RAM role (instance metadata)"
        } else {
            "ECS RAM role (disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED)"
        });
        match ecs_failure {
            None => Err(AuthError::NoCredentials { tried }),
            Some(ecs) => Err(AuthError::NoCredentialsEcsFailed { tried, ecs }),
        }
    }

    /// The provider's own identity: RRSA > AccessKey (+ AssumeRole) > ECS RAM role.
    async fn provider_credentials(
        &self,
        deadline: Instant,
    ) -> Result<Option<Credentials>, AuthError> {
        let role = self.settings.role_arn.as_ref().map(|arn| RoleRequest {
            session_name: self.settings.session_name.clone(),
            duration_seconds: self.settings.session_expiration,
            ..RoleRequest::new(arn.clone())
        });
        if let (Some(rrsa), Some(role)) = (&self.settings.rrsa, &role) {
            let key = format!("rrsa|{}|{}", rrsa.provider_arn, role.key());
            let c = self
                .cache
                .get(&key, false, || async {
                    // Re-read on every refresh: kubelet rotates the projected token.
                    let text = tokio::fs::read_to_string(&rrsa.token_file)
                        .await
                        .map_err(|e| AuthError::TokenFile {
                            path: rrsa.token_file.display().to_string(),
                            reason: e.kind().to_string(),
                        })?;
                    let token = SecretString::from(text.trim().to_owned());
                    self.sts
                        .assume_role_with_oidc(&rrsa.provider_arn, &token, role, "RRSA", deadline)
                        .await
                })
                .await?;
            return Ok(Some(c));
        }
        if let Some(base) = self.env.credentials()? {
            let Some(role) = role else {
                return Ok(Some(base));
            };
            let key = format!("assume|{}|{}", base.access_key_id(), role.key());
            let c = self
                .cache
                .get(&key, false, || {
                    self.sts.assume_role(
                        &base,
                        &role,
                        "environment AccessKey + AssumeRole",
                        deadline,
                    )
                })
                .await?;
            return Ok(Some(c));
        }
        if let Some(ecs) = &self.ecs {
            let c = self.cache.get("ecs", true, || ecs.credentials()).await?;
            return Ok(Some(c));
        }
        Ok(None)
    }

    /// Counts credential fetches and refreshes in `metrics`.
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.cache.set_metrics(metrics);
        self
    }

    /// Drops cached credentials with `creds`' key id after the server reported its security token
    /// expired (clock skew, revoked session); returns whether any was cached.
    pub fn invalidate(&self, creds: &Credentials) -> bool {
        self.cache.invalidate(creds.access_key_id()) > 0
    }

    /// The region of the provider's node (labels, then `spec.providerID`), looked up once;
    /// `None` without `--node-name`.
    pub async fn node_region(&self) -> Result<Option<String>, AuthError> {
        self.cluster.node_region().await
    }

    /// The role for a pod: the SPC's `roleArn`, else the ServiceAccount's
    /// `ack.alibabacloud.com/role-arn` annotation. Missing both is an error saying how to fix it.
    pub async fn pod_role(
        &self,
        spc_role: Option<&str>,
        namespace: Option<&str>,
        service_account: Option<&str>,
    ) -> Result<String, AuthError> {
        if let Some(r) = spc_role {
            return Ok(r.to_owned());
        }
        let (Some(ns), Some(sa)) = (namespace, service_account) else {
            return Err(AuthError::PodIdentity(
                "no role: set roleArn in the SecretProviderClass (the driver sent no pod namespace/service account to look up)".into(),
            ));
        };
        self.cluster
            .service_account_role(ns, sa)
            .await
            .map_err(|e| match e {
                AuthError::KubernetesApi(why) => AuthError::PodIdentity(format!(
                    "no roleArn in the SecretProviderClass and the {ROLE_ANNOTATION} annotation of ServiceAccount {ns}/{sa} could not be read ({why}); set roleArn, or grant the provider get on serviceaccounts"
                )),
                other => other,
            })?
            .ok_or_else(|| {
                AuthError::PodIdentity(format!(
                    "no role: set roleArn in the SecretProviderClass or annotate ServiceAccount {ns}/{sa} with {ROLE_ANNOTATION}: acs:ram::<account>:role/<name>"
                ))
            })
    }

    /// Per-pod identity: the pod's service-account token for audience `sts.aliyuncs.com`, exchanged
    /// with `AssumeRoleWithOIDC` for `role_arn`. Never falls back to another identity.
    pub async fn pod_identity(
        &self,
        token: Option<&crate::config::ServiceAccountTokens>,
        role_arn: &str,
        deadline: Instant,
    ) -> Result<Credentials, AuthError> {
        let Some(rrsa) = &self.settings.rrsa else {
            return Err(AuthError::PodIdentity(
                "the provider has no RRSA OIDC provider configured; set ALIBABA_CLOUD_OIDC_PROVIDER_ARN (or ALICLOUD_ACCOUNT_ID and ALICLOUD_CLUSTER_ID) on the provider".into(),
            ));
        };
        let tokens = token.filter(|t| !t.is_empty()).ok_or_else(|| {
            AuthError::PodIdentity(format!(
                "kubelet sent no service-account token; add tokenRequests with audience {STS_AUDIENCE} to the CSIDriver secrets-store.csi.k8s.io"
            ))
        })?;
        let tok = tokens.get(STS_AUDIENCE).ok_or_else(|| {
            let have: Vec<&str> = tokens.audiences().collect();
            AuthError::PodIdentity(format!(
                "no token for audience {STS_AUDIENCE} (got audiences {have:?}); add tokenRequests with audience {STS_AUDIENCE} to the CSIDriver"
            ))
        })?;
        let claims = peek_claims(tok.token());
        let now = OffsetDateTime::now_utc();
        let exp = tok.expiration.or(claims.exp);
        if exp.is_some_and(|e| e <= now) {
            return Err(AuthError::PodIdentity(
                "the service-account token has expired; kubelet refreshes it when the CSIDriver sets requiresRepublish: true".into(),
            ));
        }
        let subject = claims
            .sub
            .unwrap_or_else(|| hex::encode(Sha256::digest(tok.token().as_bytes())));
        let role = RoleRequest::new(role_arn);
        // The token itself is part of the key: `sub` is read without verifying the token, so a forged
        // claim must not reach another pod's cached role credentials.
        let key = format!(
            "pod|{}|{subject}|{}|{}",
            rrsa.provider_arn,
            proof(&[tok.token().as_bytes()]),
            role.key()
        );
        let secret = SecretString::from(tok.token().to_owned());
        self.cache
            .get(&key, false, || {
                self.sts.assume_role_with_oidc(
                    &rrsa.provider_arn,
                    &secret,
                    &role,
                    "per-pod identity",
                    deadline,
                )
            })
            .await
    }

    /// Assumes `role` with `base` (cross-account objects), cached per base key id and role.
    pub async fn assume(
        &self,
        base: &Credentials,
        role: &RoleRequest,
        deadline: Instant,
    ) -> Result<Credentials, AuthError> {
        // Keyed by the whole base credential (a salted hash of its secret and token), not only its AccessKeyId:
        // a volume key with a known id and a wrong secret must not get the owner's cached role credentials.
        let signing = base.signing();
        let key = format!(
            "cross|{}|{}|{}",
            base.access_key_id(),
            proof(&[
                signing.access_key_secret.as_bytes(),
                signing.security_token.unwrap_or_default().as_bytes(),
            ]),
            role.key()
        );
        self.cache
            .get(&key, false, || {
                self.sts
                    .assume_role(base, role, "cross-account role", deadline)
            })
            .await
    }
}

/// A non-secret cache-key part standing for secret material: a SHA-256 over a per-process random salt and the
/// length-prefixed parts, truncated. Equal only for equal parts within this process; useless elsewhere.
fn proof(parts: &[&[u8]]) -> String {
    static SALT: std::sync::LazyLock<[u8; 32]> = std::sync::LazyLock::new(rand::random);
    let mut h = Sha256::new();
    h.update(*SALT);
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(&h.finalize()[..16])
}

struct Claims {
    sub: Option<String>,
    exp: Option<OffsetDateTime>,
}

/// Reads `sub` and `exp` without verifying (STS verifies); only for cache keys and early expiry.
fn peek_claims(token: &str) -> Claims {
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let sub = payload
        .as_ref()
        .and_then(|v| v.get("sub"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let exp = payload
        .as_ref()
        .and_then(|v| v.get("exp"))
        .and_then(serde_json::Value::as_i64)
        .and_then(|e| OffsetDateTime::from_unix_timestamp(e).ok());
    Claims { sub, exp }
}
