//! Why no usable credential was found. Messages name sources and keys, never values.

use thiserror::Error;

/// An authentication failure.
#[derive(Debug, Error)]
pub enum AuthError {
    /// One half of an AccessKey pair is set without the other.
    #[error(
        "{source_name}: {present} is set but {missing} is missing or empty; set both or neither"
    )]
    IncompletePair {
        /// Where the pair was read, e.g. `nodePublishSecretRef` or `environment`.
        source_name: &'static str,
        /// The key that is set.
        present: &'static str,
        /// The key that is missing.
        missing: &'static str,
    },
    /// The nodePublishSecretRef Secret has data but none of the keys we read.
    #[error(
        "nodePublishSecretRef: the Secret has keys [{}] but no access_key/access_secret (matched case-insensitively); \
         put the AccessKey id under access_key and the secret under access_secret",
        keys.join(", ")
    )]
    UnrecognisedVolumeSecret {
        /// The key names present (never the values).
        keys: Vec<String>,
    },
    /// No source produced a credential.
    #[error("no Alibaba Cloud credentials found; tried: {}", tried.join("; "))]
    NoCredentials {
        /// Every source that was consulted, in order.
        tried: Vec<&'static str>,
    },
}
