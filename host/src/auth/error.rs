//! Why no usable credential was found. Messages name sources and keys, never values.

use thiserror::Error;

/// An authentication failure.
#[derive(Debug, Error)]
pub enum AuthError {
    /// One half of an AccessKey pair is set without the other.
    #[error(
        "{source_name}: {present} is set but {missing} is missing or empty; set both or neither"
    )]
    IncompletePair {
        /// Where the pair was read, e.g. `nodePublishSecretRef` or `environment`.
        source_name: &'static str,
        /// The key that is set.
        present: &'static str,
        /// The key that is missing.
        missing: &'static str,
    },
    /// The nodePublishSecretRef Secret has data but none of the keys we read.
    #[error(
        "nodePublishSecretRef: the Secret has keys [{}] but no access_key/access_secret (matched case-insensitively); \
         put the AccessKey id under access_key and the secret under access_secret",
        keys.join(", ")
    )]
    UnrecognisedVolumeSecret {
        /// The key names present (never the values).
        keys: Vec<String>,
    },
    /// No source produced a credential.
    #[error("no Alibaba Cloud credentials found; tried: {}", tried.join("; "))]
    NoCredentials {
        /// Every source that was consulted, in order.
        tried: Vec<&'static str>,
    },
    /// No source produced a credential and the ECS metadata service, the last one, failed.
    #[error(
        "no Alibaba Cloud credentials found; tried: {}; the last one failed: {ecs}",
        tried.join("; ")
    )]
    NoCredentialsEcsFailed {
        /// Every source that was consulted, in order.
        tried: Vec<&'static str>,
        /// Why the ECS RAM role gave nothing.
        ecs: String,
    },
    /// An STS call failed; `detail` is the server's error (never a credential) plus a fix hint.
    #[error("STS {action} for role {role_arn}: {detail}")]
    Sts {
        /// `AssumeRole` or `AssumeRoleWithOIDC`.
        action: &'static str,
        /// The role that was asked for.
        role_arn: String,
        /// What went wrong and how to fix it.
        detail: String,
    },
    /// The ECS instance metadata service did not give a credential.
    #[error("ECS RAM role via instance metadata ({endpoint}): {detail}")]
    Metadata {
        /// The metadata endpoint base URL.
        endpoint: String,
        /// What went wrong.
        detail: String,
    },
    /// The provider's auth settings (environment or flags) are invalid; every problem is listed.
    #[error("invalid authentication settings: {}", problems.join("; "))]
    Settings {
        /// One entry per problem, naming the variable and what is allowed.
        problems: Vec<String>,
    },
    /// The OIDC token file for RRSA could not be read.
    #[error(
        "RRSA: cannot read the OIDC token file {path}: {reason}; mount the projected service-account token there or set ALIBABA_CLOUD_OIDC_TOKEN_FILE"
    )]
    TokenFile {
        /// The configured path.
        path: String,
        /// The I/O error kind.
        reason: String,
    },
    /// The Kubernetes API could not be read (ServiceAccount annotation, node region).
    #[error("Kubernetes API: {0}")]
    KubernetesApi(String),
    /// The pod asked for its own identity and something it needs is missing; no fallback happens.
    #[error("per-pod identity (usePodServiceAccountToken): {0}")]
    PodIdentity(String),
}
