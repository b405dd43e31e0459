//! Alibaba Cloud credentials for a mount.
//!
//! [`Authenticator`] is the full chain (see `docs/auth.md`): per-pod identity when the SPC asks,
//! the volume's `nodePublishSecretRef`, the provider's RRSA, its AccessKey (+ AssumeRole), then the
//! node's ECS RAM role; cross-account roles on top. Unlike upstream, **a per-volume credential wins
//! over every cluster-wide identity**. Temporary credentials are cached per identity and refreshed
//! ahead of expiry, one refresh at a time ([`CredentialCache`]). [`resolve`] is the static-only
//! subset (volume, then environment) for callers without network access.

mod cache;
mod chain;
mod cluster;
mod credentials;
mod ecs;
mod env;
mod error;
mod settings;
mod sts;
mod volume;

pub use cache::{CredentialCache, DEFAULT_MAX_STALE, DEFAULT_REFRESH_BEFORE};
pub use chain::{Authenticator, STS_AUDIENCE};
pub use cluster::{Cluster, ROLE_ANNOTATION, region_of_node};
pub use credentials::Credentials;
pub use ecs::EcsMetadata;
pub use env::EnvCredentials;
pub use error::AuthError;
pub use settings::{AuthSettings, DEFAULT_OIDC_TOKEN_FILE, RrsaSettings};
pub use sts::{DEFAULT_SESSION_NAME, RoleRequest, StsClient, sts_endpoint};
pub use volume::{VolumeCredentials, VolumeSecrets};

use std::future::Future;

/// Something that may supply credentials. `Ok(None)` means "not configured here, try the next source";
/// an error stops the chain (a half-configured source is a mistake to report, not to skip).
pub trait CredentialSource: Send + Sync {
    /// Human-readable name used in "which sources were tried" messages.
    fn describe(&self) -> &'static str;
    /// Produces credentials, possibly after network calls (STS, metadata) in later sources.
    fn get(&self) -> impl Future<Output = Result<Option<Credentials>, AuthError>> + Send;
}

/// Picks the credentials for one mount: the volume's nodePublishSecretRef first, then the provider's
/// environment. No credential at all is an error listing every source that was tried.
pub fn resolve(
    volume: &impl VolumeSecrets,
    env: &EnvCredentials,
) -> Result<Credentials, AuthError> {
    if let Some(c) = VolumeCredentials::from_secrets(volume)? {
        return Ok(c);
    }
    if let Some(c) = env.credentials()? {
        return Ok(c);
    }
    let mut tried = vec![VolumeCredentials::DESCRIPTION];
    tried.extend_from_slice(EnvCredentials::DESCRIPTIONS);
    Err(AuthError::NoCredentials { tried })
}

#[cfg(test)]
mod chain_tests;
#[cfg(test)]
pub(crate) mod cluster_tests;
#[cfg(test)]
mod tests;
