//! Shared helpers of the `transform_*` integration tests: fixture components from
//! `tests/fixtures/plugins/*.wat`, temporary plugin directories and runtimes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use provider::transform::{
    File, Limits, PluginDir, RuntimeConfig, StepErrorKind, StepSpec, TransformError,
    TransformRuntime,
};

/// The binary component of `tests/fixtures/plugins/<name>.wat`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plugins")
        .join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Writes `<name>.wasm` for each fixture into `dir`.
pub fn install(dir: &Path, names: &[&str]) {
    for name in names {
        std::fs::write(dir.join(format!("{name}.wasm")), fixture(name)).unwrap();
    }
}

/// A temp dir holding the given fixtures as `<name>.wasm`.
pub fn plugin_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), names);
    dir
}

/// Runtime over one custom directory, no disk cache, no reload thread.
pub fn runtime(dir: &Path, limits: Limits) -> TransformRuntime {
    TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom(dir)],
        limits,
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

pub fn step(plugin: &str, config: &str) -> StepSpec {
    StepSpec {
        plugin: plugin.into(),
        config_json: config.into(),
    }
}

/// The fetched object as one file, as the mount code passes it.
pub fn secret_input() -> Vec<File> {
    vec![File::new("db-password", b"s3cr3t-value".to_vec())]
}

/// The step error kind, or a panic naming what came instead.
pub fn kind(result: Result<Vec<File>, TransformError>) -> StepErrorKind {
    match result {
        Ok(files) => panic!("expected an error, got {files:?}"),
        Err(err) => err
            .step()
            .unwrap_or_else(|| panic!("expected a step error, got {err}"))
            .kind
            .clone(),
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plugins")
}
