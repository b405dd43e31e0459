//! The mount's side of the plugin policy: describe what the mount would run and with which
//! identity, let the policy decide, and apply its pins and limit caps to the chains.

use crate::auth::{AuthSettings, EnvCredentials, VolumeCredentials};
use crate::config::MountSpec;
use crate::policy::{CredentialMode, LoadedInfo, ObjectUse, PolicyEnforcer, StepUse};
use crate::transform::oci::{OciReference, SCHEME};
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
            let Some(pin) = pin else { continue };
            if step.plugin.starts_with(SCHEME) {
                if let Ok(r) = OciReference::parse(&step.plugin) {
                    step.plugin = format!("{}@sha256:{pin}", r.name());
                }
            } else if !step.plugin.contains('@') {
                step.plugin = format!("{}@sha256:{pin}", step.plugin);
            }
        }
    }
    if decision.require_signed {
        let unsigned = unsigned_plugins(transforms, chains).await;
        if !unsigned.is_empty() {
            return Err(MountError::Policy(
                policy.deny_unsigned(namespace, pod, &decision, unsigned),
            ));
        }
    }
    Ok(decision.caps)
}

/// `(plugin, reason)` for every plugin of the chains without a verified signature. Built-in
/// plugins ship in the image and count as signed; custom plugin files carry no signature; `oci://`
/// plugins are pulled (once per digest) to learn whether their signature was verified. A plugin
/// that cannot be resolved counts as unsigned (fail closed: a later retry must not load it unchecked).
async fn unsigned_plugins(
    transforms: &TransformRuntime,
    chains: &[Vec<StepSpec>],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for step in chains.iter().flatten() {
        if !seen.insert(step.plugin.clone()) {
            continue;
        }
        let p = match transforms.resolve_plugin(&step.plugin).await {
            Ok(p) => p,
            Err(e) => {
                out.push((
                    // Counted as "unknown": the reference is tenant text (the reason names it).
                    "unknown".to_owned(),
                    format!("plugin {:?} could not be loaded to check its signature, and the rule sets requireSignedPlugins: {e}", step.plugin),
                ));
                continue;
            }
        };
        let why = match &p.oci {
            Some(o) if o.signature_verified => continue,
            Some(o) => format!(
                "plugin {:?} (manifest sha256:{}) has no signature verified by --plugin-signature-public-key and the rule sets requireSignedPlugins",
                o.repository, o.manifest_digest
            ),
            None if p.builtin => continue,
            None => format!(
                "plugin {:?} (sha256:{}) is a custom plugin file, which carries no signature, and the rule sets requireSignedPlugins (publish it as a signed oci:// plugin)",
                p.name, p.digest
            ),
        };
        if !out.iter().any(|(n, _)| *n == p.name) {
            out.push((p.name.clone(), why));
        }
    }
    out
}

fn step_use(transforms: &TransformRuntime, reference: &str) -> StepUse {
    // `oci://registry/repo[:tag][@sha256:…]` plugins come from a registry: never built-in, named
    // without tag or digest; their digest is known once pulled (after the decision).
    if reference.starts_with(SCHEME) {
        let (name, digest) = match OciReference::parse(reference) {
            Ok(r) => (r.name(), r.digest),
            Err(_) => (reference.to_owned(), None),
        };
        return StepUse {
            name,
            requested_digest: digest,
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
