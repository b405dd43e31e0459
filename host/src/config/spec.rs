//! The validated mount: what the mount code fetches, transforms and returns. Everything here has passed
//! validation, so the mount code does not re-check names, versions or modes.

use super::secrets::NodePublishSecrets;
use super::tokens::ServiceAccountTokens;
use std::fmt;

/// A validated mount request.
#[derive(Debug, Clone)]
pub struct MountSpec {
    /// The objects to fetch, in SecretProviderClass order (at least one).
    pub objects: Vec<ObjectSpec>,
    /// SPC `region`; `None` means the provider's default (`--region`).
    pub region: Option<String>,
    /// SPC `failoverRegion`: tried when the primary region fails with a retryable error. Differs from `region`.
    pub failover_region: Option<String>,
    /// `endpointType` (`vpc` or `public`); `None` means the provider's default.
    pub endpoint_type: Option<EndpointType>,
    /// The pod, from `csi.storage.k8s.io/*` attributes.
    pub pod: PodInfo,
    /// File mode for files without `filePermission`, from `MountRequest.permission` (0644 when empty).
    pub default_mode: u32,
    /// nodePublishSecretRef data. Debug is redacted.
    pub node_publish_secrets: NodePublishSecrets,
    /// Tokens from `csi.storage.k8s.io/serviceAccount.tokens` (secrets first, then attributes). Debug is redacted.
    pub service_account_tokens: Option<ServiceAccountTokens>,
    /// `usePodServiceAccountToken`: authenticate as the pod's service account (RRSA).
    pub use_pod_service_account_token: bool,
    /// `roleArn`: the RAM role to assume with the pod's token, instead of the service-account annotation.
    pub role_arn: Option<String>,
    /// Where the driver writes the files; for logs only, may be empty.
    pub target_path: String,
}

/// The pod a mount is for. Values are `None` when the driver did not send them (e.g. the `mount` CLI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodInfo {
    /// `csi.storage.k8s.io/pod.name`.
    pub name: Option<String>,
    /// `csi.storage.k8s.io/pod.namespace`.
    pub namespace: Option<String>,
    /// `csi.storage.k8s.io/pod.uid`.
    pub uid: Option<String>,
    /// `csi.storage.k8s.io/serviceAccount.name`.
    pub service_account: Option<String>,
    /// `csi.storage.k8s.io/ephemeral`: an inline volume.
    pub ephemeral: bool,
    /// `secretProviderClass`: the SPC's name.
    pub secret_provider_class: Option<String>,
}

/// Which backend holds an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// KMS Secrets Manager (`GetSecretValue`).
    Kms,
    /// OOS encrypted parameter (`GetSecretParameter`).
    Oos,
}

impl ObjectKind {
    /// The `objectType` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kms => "kms",
            Self::Oos => "oos",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default endpoint flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointType {
    /// `kms-vpc.<region>.aliyuncs.com` (as upstream).
    Vpc,
    /// `kms.<region>.aliyuncs.com`.
    Public,
}

/// One object of the SecretProviderClass.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSpec {
    /// Position in `objects` (0-based), for messages.
    pub index: usize,
    /// `objectName` as sent to the backend: a KMS secret name or `acs:kms:` ARN, or an OOS parameter name.
    pub name: String,
    /// `objectType`.
    pub kind: ObjectKind,
    /// The file written: `objectAlias` or `objectName`, after `pathTranslation`. Validated and unique.
    pub file_name: String,
    /// `objectVersion`: KMS `VersionId`, or OOS `ParameterVersion` (then an integer 1–100).
    pub version: Option<String>,
    /// `objectVersionLabel`: KMS `VersionStage` (KMS only).
    pub version_label: Option<String>,
    /// `filePermission`; `None` means [`MountSpec::default_mode`].
    pub mode: Option<u32>,
    /// `jmesPath`: extra files extracted from a JSON value, written next to the object's own file.
    pub jmes_path: Vec<JmesPathEntry>,
    /// `kmsEndpoint` / `oosEndpoint` (matching `kind`), as given: `host[:port]` or `http(s)://host[:port]`.
    pub endpoint: Option<String>,
    /// The object's region: `region`, or else the region of its ARN. `None` means [`MountSpec::region`].
    pub region: Option<String>,
    /// `crossAccountRole*`: a role to assume (with the mount's credential) for this object.
    pub cross_account: Option<CrossAccount>,
    /// `transforms`: plugins applied in order to the fetched value.
    pub transforms: Vec<TransformStep>,
}

impl ObjectSpec {
    /// The stable `ObjectVersion.id`: the object's file name. File names are unique within a mount (two objects
    /// may share a backend name with different versions), stay the same across rotations, and match what the
    /// upstream Go provider reports, so `SecretProviderClassPodStatus` keeps its ids after a migration.
    pub fn id(&self) -> String {
        self.file_name.clone()
    }

    /// `objects[2] (kms "db-pass")`, for error messages.
    pub fn describe(&self) -> String {
        format!(
            "objects[{}] ({} {})",
            self.index,
            self.kind,
            super::error::quote(&self.name)
        )
    }

    /// Mode of the object's own file.
    pub fn file_mode(&self, default_mode: u32) -> u32 {
        self.mode.unwrap_or(default_mode)
    }
}

/// One `jmesPath` entry: a JMESPath expression and the file its result goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JmesPathEntry {
    /// The JMESPath expression (non-empty; compiled by the jmespath step).
    pub path: String,
    /// `objectAlias`: the output file name (validated, not translated).
    pub alias: String,
    /// `filePermission`; `None` means the object's mode, then the default mode.
    pub mode: Option<u32>,
}

/// A cross-account role for one object (`crossAccountRoleArn` and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossAccount {
    /// `crossAccountRoleArn`: `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// `crossAccountExternalId` (2–1224 characters).
    pub external_id: Option<String>,
    /// `crossAccountRoleSessionName` (2–64 of `[A-Za-z0-9_.@-]`).
    pub session_name: Option<String>,
    /// `crossAccountRoleDuration` in seconds (900–43200).
    pub duration_seconds: Option<u32>,
}

/// One transform step.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformStep {
    /// Which plugin.
    pub plugin: PluginRef,
    /// The step's configuration as JSON (`{}` when not given).
    pub config: serde_json::Value,
}

/// `<name>[@sha256:<64 hex>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginRef {
    /// Plugin name, `^[a-z0-9][a-z0-9-]{0,62}$`.
    pub name: String,
    /// Required sha256 of the plugin file, 64 lowercase hex digits (without the `sha256:` prefix).
    pub digest: Option<String>,
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.digest {
            Some(d) => write!(f, "{}@sha256:{d}", self.name),
            None => f.write_str(&self.name),
        }
    }
}
