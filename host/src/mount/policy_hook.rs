//! The mount's side of the plugin policy: describe what the mount would run and with which
//! identity, let the policy decide, and apply its pins and limit caps to the chains.

use crate::auth::{AuthSettings, EnvCredentials, VolumeCredentials};
use crate::config::MountSpec;
use crate::policy::{CredentialMode, LoadedInfo, ObjectUse, PolicyEnforcer, StepUse};
use crate::transform::{LimitCaps, StepSpec, TransformRuntime};

use super::error::MountError;

/// The identity the provider itself would use (chain order: RRSA, AccessKey, ECS role), decided
/// from its settings without any network call.
pub(super) fn provider_mode(auth: &AuthSettings, env: &EnvCredentials) -> Option<CredentialMode> {
    if auth.rrsa.is_some() && auth.role_arn.is_some() {
        Some(CredentialMode::ProviderRrsa)
    } else if matches!(env.credentials(), Ok(Some(_))) {
        Some(CredentialMode::ProviderAccessKey)
    } else if !auth.ecs_disabled {
        Some(CredentialMode::NodeInstanceRole)
    } else {
        None
    }
}

/// The mode this mount authenticates with (the same order the auth chain uses).
fn mount_mode(spec: &MountSpec, provider: Option<CredentialMode>) -> Option<CredentialMode> {
    if spec.use_pod_service_account_token {
        return Some(CredentialMode::PodIdentity);
    }
    match VolumeCredentials::from_secrets(&spec.node_publish_secrets) {
        // A half-filled secret is still the volume's credential (auth reports what is missing).
        Ok(Some(_)) | Err(_) => Some(CredentialMode::NodePublishSecret),
        Ok(None) => provider,
    }
}

/// Decides the mount; on success pins the rule's digests into `chains` (so the run refuses a plugin
/// swapped after the decision) and returns each step's limit caps.
pub(super) async fn enforce(
    policy: &PolicyEnforcer,
    transforms: &TransformRuntime,
    spec: &MountSpec,
    chains: &mut [Vec<StepSpec>],
    provider: Option<CredentialMode>,
) -> Result<Vec<Vec<LimitCaps>>, MountError> {
    let objects: Vec<ObjectUse> = spec
        .objects
        .iter()
        .zip(chains.iter())
        .map(|(o, chain)| ObjectUse {
            object: o.describe(),
            steps: chain
                .iter()
                .map(|s| step_use(transforms, &s.plugin))
                .collect(),
        })
        .collect();
    let namespace = spec.pod.namespace.as_deref().unwrap_or("");
    let pod = spec.pod.name.as_deref().unwrap_or("?");
    let decision = policy
        .check(namespace, pod, &objects, mount_mode(spec, provider))
        .await
        .map_err(MountError::Policy)?;
    for (chain, pins) in chains.iter_mut().zip(&decision.pins) {
        for (step, pin) in chain.iter_mut().zip(pins) {
            if let Some(pin) = pin
                && !step.plugin.contains('@')
            {
                step.plugin = format!("{}@sha256:{pin}", step.plugin);
            }
        }
    }
    Ok(decision.caps)
}

fn step_use(transforms: &TransformRuntime, reference: &str) -> StepUse {
    // `oci://registry/repo@sha256:…` plugins are pulled from a registry: never built-in.
    if reference.starts_with("oci://") {
        return StepUse {
            name: reference.to_owned(),
            requested_digest: None,
            loaded: Some(LoadedInfo {
                digest: None,
                builtin: false,
            }),
        };
    }
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, d.strip_prefix("sha256:").map(str::to_ascii_lowercase)),
        None => (reference, None),
    };
    StepUse {
        name: name.to_owned(),
        requested_digest: digest,
        loaded: transforms.plugin(name).map(|p| LoadedInfo {
            digest: Some(p.digest),
            builtin: p.builtin,
        }),
    }
}
