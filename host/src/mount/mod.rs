//! One mount, end to end: validate the request, authenticate, fetch every object concurrently, run the
//! transform chains, and return all files or none.

mod error;

pub use error::MountError;
use std::time::Instant;

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

/// Secret bytes that must not reach logs: `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload(Vec<u8>);

impl Payload {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    /// The bytes, for the response.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
    /// Borrow the bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Payload(<{} bytes redacted>)", self.0.len())
    }
}

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

/// The mount engine shared by the gRPC server and the `mount` command.
pub struct Provider {}

impl Provider {
    /// Mounts, all or nothing, before `deadline`.
    pub async fn mount(
        &self,
        _input: MountInput,
        _deadline: Instant,
    ) -> Result<MountOutput, MountError> {
        Err(MountError::Internal("mount is being wired up".into()))
    }
}
