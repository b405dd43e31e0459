//! One mount, end to end: validate the request, authenticate, fetch every object concurrently, run the
//! transform chains, and return all files or none.

mod engine;
pub mod error;
mod policy_hook;

pub use engine::{Provider, ProviderConfig, ProviderSettings};
pub use error::{MountError, ObjectFailure};

/// The driver's MountRequest, minus what the provider ignores.
pub struct MountInput {
    /// SPC parameters and `csi.storage.k8s.io/*` keys, JSON. Carries service-account tokens: never log it.
    pub attributes: String,
    /// nodePublishSecretRef data, JSON. Carries credentials: never log it.
    pub secrets: String,
    /// Default file mode as a decimal string, e.g. "420".
    pub permission: String,
    /// Where the driver will write the files (informational).
    pub target_path: String,
}

/// Secret bytes; `Debug` shows only the length.
pub use crate::fetch::SecretBytes as Payload;

/// One file of the volume.
#[derive(Debug, Clone)]
pub struct MountedFile {
    /// Relative path inside the volume.
    pub path: String,
    /// Unix permission bits.
    pub mode: u32,
    /// File contents.
    pub contents: Payload,
}

/// The version of one object, reported so the driver can record what is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionEntry {
    /// Stable object id.
    pub id: String,
    /// Backend version (KMS VersionId, OOS ParameterVersion).
    pub version: String,
}

/// A successful mount: every file and one version per object.
#[derive(Debug)]
pub struct MountOutput {
    /// All files of the volume.
    pub files: Vec<MountedFile>,
    /// One entry per object.
    pub versions: Vec<VersionEntry>,
}
