//! Alibaba Cloud credentials for a mount.
//!
//! This first cut knows the static sources: the volume's own `nodePublishSecretRef` and the provider's
//! environment. Unlike upstream, where the per-volume Secret ranks below every cluster-wide credential,
//! **a per-volume credential always wins**, so a namespace that brings its own key never silently runs
//! with the provider's identity. Later sources (AssumeRole, RRSA/OIDC, ECS metadata, per-pod identity)
//! implement [`CredentialSource`] and slot into [`resolve`]'s order.

mod cache;
mod chain;
mod credentials;
mod ecs;
mod env;
mod error;
mod settings;
mod sts;
mod volume;

pub use cache::{CredentialCache, DEFAULT_MAX_STALE, DEFAULT_REFRESH_BEFORE};
pub use chain::{Authenticator, STS_AUDIENCE};
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
mod tests;
