//! Errors of the transform boundary. Guest-reported errors (the WIT `transform-error`) are kept
//! apart from traps and host-enforced limits.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in the transform runtime.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// A call into a plugin (or resolving the plugin for it) failed.
    #[error("{0}")]
    Step(#[from] StepError),
    /// A plugin file could not be loaded: unreadable, not a component of our world, disallowed
    /// imports, or its `info` call failed.
    #[error("cannot load plugin {path}: {reason}")]
    Load {
        /// The `.wasm` file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A configured plugin directory cannot be read.
    #[error("cannot read plugin directory {path}: {source}")]
    PluginDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The runtime configuration is unusable (e.g. a limit of zero).
    #[error("invalid transform runtime configuration: {0}")]
    Config(String),
    /// The wasm engine could not be set up.
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
}

impl TransformError {
    /// The step failure, if this error came from a step.
    pub fn step(&self) -> Option<&StepError> {
        match self {
            Self::Step(step) => Some(step),
            _ => None,
        }
    }
}

/// A failure of one step of a chain (or of one `validate_step` call).
#[derive(Debug, thiserror::Error)]
pub struct StepError {
    /// Index of the step in its chain; `None` for a lone `validate_step`.
    pub step: Option<usize>,
    /// The plugin reference as written (`name` or `name@sha256:…`).
    pub plugin: String,
    /// What went wrong.
    pub kind: StepErrorKind,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(i) => write!(f, "step {i} (plugin \"{}\"): {}", self.plugin, self.kind),
            None => write!(f, "plugin \"{}\": {}", self.plugin, self.kind),
        }
    }
}

/// What went wrong in a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepErrorKind {
    /// The reference is not `name` or `name@sha256:<64 hex digits>`.
    #[error("invalid plugin reference: {0}")]
    BadReference(String),
    /// An `oci://` plugin could not be pulled, verified or loaded (the message names the
    /// reference with its digest and what was expected).
    #[error("{0}")]
    Oci(String),
    /// No plugin of that name is loaded.
    #[error("no such plugin is loaded (loaded: {available}){}", .load_error.as_ref().map(|e| format!("; its file failed to load: {e}")).unwrap_or_default())]
    NotFound {
        /// Comma-separated names of the loaded plugins.
        available: String,
        /// Why a file of that name failed to load, if it did.
        load_error: Option<String>,
    },
    /// The loaded plugin is not the one the reference pins.
    #[error("digest mismatch: expected sha256:{expected}, loaded plugin has sha256:{actual}")]
    DigestMismatch {
        /// Digest in the reference.
        expected: String,
        /// Digest of the loaded plugin.
        actual: String,
    },
    /// The plugin rejected the step's config.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// The plugin rejected its input files.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The plugin reported a failure.
    #[error("failed: {0}")]
    Failed(String),
    /// The guest trapped or returned data the host could not read.
    #[error("plugin crashed: {0}")]
    Trap(String),
    /// The call ran past its time budget and was interrupted.
    #[error("timed out after {} ms (limit `timeout`)", .limit.as_millis())]
    Timeout {
        /// The budget.
        limit: Duration,
    },
    /// The guest tried to grow its memory beyond the cap.
    #[error("memory limit of {limit} bytes exceeded (limit `memory_bytes`)")]
    MemoryLimit {
        /// The cap.
        limit: usize,
    },
    /// The files given to the step are too large.
    #[error("input of {size} bytes exceeds the limit of {limit} bytes (limit `max_input_bytes`)")]
    InputTooLarge {
        /// Total size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// The step returned too many bytes.
    #[error("output of {size} bytes exceeds the limit of {limit} bytes (limit `max_output_bytes`)")]
    OutputTooLarge {
        /// Total size.
        size: usize,
        /// The cap.
        limit: usize,
    },
    /// The step returned too many files.
    #[error(
        "output of {count} files exceeds the limit of {limit} files (limit `max_output_files`)"
    )]
    TooManyFiles {
        /// Number of files.
        count: usize,
        /// The cap.
        limit: usize,
    },
    /// The step returned files the host will not mount (all problems listed).
    #[error("bad output: {}", .0.join("; "))]
    BadOutput(Vec<String>),
    /// The host could not run the call at all (e.g. its worker thread died).
    #[error("host error: {0}")]
    Host(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_error_names_step_plugin_and_limit() {
        let err = TransformError::from(StepError {
            step: Some(2),
            plugin: "jmespath".into(),
            kind: StepErrorKind::Timeout {
                limit: Duration::from_millis(100),
            },
        });
        assert_eq!(
            err.to_string(),
            "step 2 (plugin \"jmespath\"): timed out after 100 ms (limit `timeout`)"
        );
    }

    #[test]
    fn not_found_mentions_load_failure() {
        let kind = StepErrorKind::NotFound {
            available: "format, jmespath".into(),
            load_error: Some("not a component".into()),
        };
        assert_eq!(
            kind.to_string(),
            "no such plugin is loaded (loaded: format, jmespath); its file failed to load: not a component"
        );
    }
}
