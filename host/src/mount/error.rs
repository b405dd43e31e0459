//! Why a mount failed, in words the user can act on. Never contains secret values.

/// A failed mount.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    /// Anything else; a bug.
    #[error("internal error: {0}")]
    Internal(String),
}
