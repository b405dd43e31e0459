//! Errors of pulling, verifying and pushing OCI plugins. Messages name the reference (with the
//! resolved digest once known) and never carry registry credentials.

/// What went wrong with an OCI plugin.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference does not parse.
    #[error("{0}")]
    Reference(String),
    /// The registry has no manifest or blob of that name.
    #[error("{reference}: not found in the registry")]
    NotFound {
        /// The reference.
        reference: String,
    },
    /// The registry could not be reached or answered with an error (after the retries).
    #[error("cannot pull {reference} after {attempts} attempt(s): {reason}")]
    Pull {
        /// The reference (with the digest when resolved).
        reference: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        reason: String,
    },
    /// The registry refused the credentials (or wanted some and none are configured).
    #[error(
        "cannot pull {reference}: the registry refused access ({reason}); check --plugin-registry-auth-file"
    )]
    Unauthorized {
        /// The reference.
        reference: String,
        /// The registry's answer.
        reason: String,
    },
    /// The artifact is not a single-layer wasm plugin, or its bytes are not what the digest says.
    #[error("{reference}: {reason}")]
    BadArtifact {
        /// The reference (with the digest).
        reference: String,
        /// What was wrong.
        reason: String,
    },
    /// Signature verification failed or a required signature is missing.
    #[error("{reference}: signature check failed: {reason}")]
    Signature {
        /// The reference (with the digest).
        reference: String,
        /// What was expected and what was found.
        reason: String,
    },
    /// The local store (cache directory) failed.
    #[error("plugin store {path}: {reason}")]
    Store {
        /// The file or directory.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// Configuration (auth file, public key, insecure list) is unusable.
    #[error("{0}")]
    Config(String),
    /// Pushing failed.
    #[error("cannot push {reference}: {reason}")]
    Push {
        /// The reference.
        reference: String,
        /// What went wrong.
        reason: String,
    },
}
