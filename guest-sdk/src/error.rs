//! The error a plugin returns; mapped one-to-one onto the WIT `transform-error` variant.

use std::fmt;

/// Which kind of failure an [`Error`] is; decides how the host reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The step's `config` is wrong. The host reports it when the SecretProviderClass is validated,
    /// before any secret is fetched.
    InvalidConfig,
    /// The input files do not have the shape the plugin needs (not JSON, missing key, ...).
    InvalidInput,
    /// Anything else.
    Failed,
}

/// A plugin failure with a message for the user.
///
/// **Messages must never contain secret payload bytes**: the host logs them and returns them to
/// the kubelet. Name files, config fields, JSON keys, expressions, line and column numbers; never
/// echo values read from the input files. The host prefixes every message with the object and
/// plugin it came from, so don't repeat those.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// The step's config is wrong (reported at validation time, before any fetch).
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }

    /// The input files do not have the shape this plugin needs.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// Any other failure.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }

    /// Builds an error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Returns the same error with `context: ` put in front of the message (e.g. a file name).
    pub fn context(self, context: impl fmt::Display) -> Self {
        Self {
            kind: self.kind,
            message: format!("{context}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ErrorKind::InvalidConfig => "invalid config",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Failed => "failed",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Messages are already payload-free by contract, so Debug may show them.
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

impl From<Error> for crate::wit::alibabacloud::secrets_transform::types::TransformError {
    fn from(e: Error) -> Self {
        use crate::wit::alibabacloud::secrets_transform::types::TransformError as W;
        match e.kind {
            ErrorKind::InvalidConfig => W::InvalidConfig(e.message),
            ErrorKind::InvalidInput => W::InvalidInput(e.message),
            ErrorKind::Failed => W::Failed(e.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prefixes_kind_and_context_prepends() {
        let e = Error::invalid_input("not JSON").context("file `db`");
        assert_eq!(e.to_string(), "invalid input: file `db`: not JSON");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(Error::invalid_config("x").to_string(), "invalid config: x");
        assert_eq!(Error::failed("y").to_string(), "failed: y");
    }
}
