//! Errors from parsing an `Authorization` header (the only fallible operation in this crate).

use thiserror::Error;

/// Why an `Authorization: ACS3-HMAC-SHA256 ...` header value could not be parsed.
///
/// Messages name the part that was wrong but never echo the signature itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthorizationError {
    /// The value does not start with `ACS3-HMAC-SHA256 `.
    #[error(
        "Authorization: unsupported algorithm; expected it to start with \"ACS3-HMAC-SHA256 \""
    )]
    UnsupportedAlgorithm,
    /// A comma-separated part is not `Name=value`.
    #[error("Authorization: part {index} is not of the form Name=value")]
    MalformedPart {
        /// 1-based position of the part after the algorithm.
        index: usize,
    },
    /// A part name other than Credential, SignedHeaders or Signature.
    #[error(
        "Authorization: unknown part {name:?}; allowed are Credential, SignedHeaders, Signature"
    )]
    UnknownPart {
        /// The unexpected name.
        name: String,
    },
    /// The same part appears twice.
    #[error("Authorization: part {0} appears more than once")]
    DuplicatePart(&'static str),
    /// A required part is absent or empty.
    #[error("Authorization: part {0} is missing or empty")]
    MissingPart(&'static str),
}
