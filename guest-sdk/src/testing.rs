//! Native test harness: runs a plugin through the same entry points as the wasm export.
//!
//! `run` and `validate` call the generated `Guest` implementation that `export_plugin!` exports,
//! so config parsing, `validate`, `transform` and the output checks all run exactly as in wasm;
//! only the canonical-ABI lifting is skipped. Host log calls are captured per thread.

use crate::log::Level;
use crate::plugin::Adapter;
use crate::wit::alibabacloud::secrets_transform::types::{File as WitFile, TransformError};
use crate::wit::exports::alibabacloud::secrets_transform::transformer::Guest;
use crate::{Error, File, Files, Transform};

/// Name, version and description as the host would see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// One-line description.
    pub description: String,
}

/// What `info` would return to the host.
pub fn info<P: Transform>() -> Info {
    let i = <Adapter<P> as Guest>::info();
    Info {
        name: i.name,
        version: i.version,
        description: i.description,
    }
}

/// Calls `validate-config` with `config_json`. Clears previously captured logs first.
pub fn validate<P: Transform>(config_json: &str) -> Result<(), Error> {
    let _ = take_logs();
    <Adapter<P> as Guest>::validate_config(config_json.to_string()).map_err(from_wit)
}

/// Calls `transform` with `config_json` and `files`. Clears previously captured logs first.
pub fn run<P: Transform>(config_json: &str, files: impl Into<Files>) -> Result<Files, Error> {
    let _ = take_logs();
    let input: Vec<WitFile> = files.into().into_iter().map(WitFile::from).collect();
    <Adapter<P> as Guest>::transform(config_json.to_string(), input)
        .map(|out| out.into_iter().map(File::from).collect())
        .map_err(from_wit)
}

/// Returns and clears the log messages captured on this thread.
pub fn take_logs() -> Vec<(Level, String)> {
    crate::log::sink::take()
}

fn from_wit(e: TransformError) -> Error {
    match e {
        TransformError::InvalidConfig(m) => Error::invalid_config(m),
        TransformError::InvalidInput(m) => Error::invalid_input(m),
        TransformError::Failed(m) => Error::failed(m),
    }
}
