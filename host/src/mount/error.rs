//! Why a mount failed, in words the user can act on. Never contains secret values.

use crate::auth::AuthError;
use crate::config::ConfigErrors;
use std::fmt;

/// What kind of failure an object had, for choosing the gRPC code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The object (or version) does not exist.
    NotFound,
    /// The credential may not read it.
    PermissionDenied,
    /// The credential itself was rejected (unknown key, bad secret, expired token).
    Unauthenticated,
    /// Throttling, 5xx or network trouble that outlasted the retries.
    Unavailable,
    /// The mount deadline passed.
    DeadlineExceeded,
    /// The request or configuration is wrong (bad endpoint, region, plugin config).
    Invalid,
    /// A plugin failed at run time (trap, limit, guest error).
    Plugin,
    /// Anything else.
    Other,
}

/// One object that failed, named as in the SecretProviderClass.
#[derive(Debug, Clone)]
pub struct ObjectFailure {
    /// `objects[2] (kms "db-pass")`.
    pub object: String,
    /// What went wrong (backend code, status, request id, or plugin error).
    pub reason: String,
    /// Classification.
    pub kind: FailureKind,
}

impl fmt::Display for ObjectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.object, self.reason)
    }
}

/// A failed mount. Every variant lists every problem found, so one round trip fixes them all.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// The request or SecretProviderClass is invalid.
    #[error("invalid SecretProviderClass:\n{0}")]
    Config(ConfigErrors),
    /// A transform step's plugin or config is invalid (checked before anything is fetched).
    #[error("invalid transforms:\n{}", lines(.0))]
    InvalidTransforms(Vec<ObjectFailure>),
    /// The namespace's plugin policy refuses the mount (checked before anything runs or is fetched).
    #[error("{0}")]
    Policy(crate::policy::PolicyError),
    /// No usable credential.
    #[error("credentials: {0}")]
    Credentials(AuthError),
    /// Some objects could not be fetched; nothing is mounted.
    #[error("{} of {total} objects could not be fetched, nothing was mounted:\n{}", .failed.len(), lines(.failed))]
    Fetch {
        /// The failures, in SecretProviderClass order.
        failed: Vec<ObjectFailure>,
        /// Objects in the mount.
        total: usize,
    },
    /// A transform failed at run time or produced unusable files.
    #[error("transform failed, nothing was mounted:\n{}", lines(.0))]
    Transform(Vec<ObjectFailure>),
    /// Two objects would write the same file.
    #[error("output files collide, nothing was mounted:\n{}", .0.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"))]
    OutputCollision(Vec<String>),
    /// The mount did not finish before the driver's deadline.
    #[error("the mount did not finish before its deadline; nothing was mounted")]
    DeadlineExceeded,
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

fn lines(failures: &[ObjectFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl MountError {
    /// The classification that decides the gRPC code: the first failure that is not a plain "unavailable"
    /// wins, because a permission problem needs a human while throttling goes away by itself.
    pub fn kind(&self) -> FailureKind {
        match self {
            MountError::Config(_)
            | MountError::InvalidTransforms(_)
            | MountError::OutputCollision(_) => FailureKind::Invalid,
            MountError::Credentials(_) => FailureKind::Unauthenticated,
            MountError::Policy(crate::policy::PolicyError::Denied { .. }) => {
                FailureKind::PermissionDenied
            }
            MountError::Policy(crate::policy::PolicyError::Labels { .. }) => {
                FailureKind::Unavailable
            }
            MountError::Fetch { failed, .. } | MountError::Transform(failed) => failed
                .iter()
                .map(|f| f.kind)
                .find(|k| *k != FailureKind::Unavailable)
                .or_else(|| failed.first().map(|f| f.kind))
                .unwrap_or(FailureKind::Other),
            MountError::DeadlineExceeded => FailureKind::DeadlineExceeded,
            MountError::Internal(_) => FailureKind::Other,
        }
    }
}
