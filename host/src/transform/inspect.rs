//! Helpers behind the `plugin check` and `plugin run` CLI commands.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::cache::{CompileCache, CompileSource};
use super::engine::EngineHandle;
use super::error::{StepError, TransformError};
use super::file::File;
use super::limits::Limits;
use super::pipeline::{run_step, valid_name};
use super::plugin::{LoadedPlugin, Source};

/// What `plugin check` found out about a component.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// The file.
    pub path: PathBuf,
    /// Name it would be referenced by (file stem).
    pub name: String,
    /// Name, version and description the plugin reports.
    pub info_name: String,
    /// `info().version`.
    pub version: String,
    /// `info().description`.
    pub description: String,
    /// sha256 of the file, for `name@sha256:<digest>` pins.
    pub digest: String,
    /// File size in bytes.
    pub size: usize,
    /// Every import of the component (all allowed, or the check would have failed).
    pub imports: Vec<String>,
    /// Time to compile (or load from cache).
    pub compile_time: Duration,
    /// Where the compiled code came from.
    pub compile_source: CompileSource,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plugin:      {} ({})", self.name, self.path.display())?;
        writeln!(
            f,
            "info:        {} {} — {}",
            self.info_name, self.version, self.description
        )?;
        writeln!(f, "digest:      sha256:{}", self.digest)?;
        writeln!(f, "reference:   {}@sha256:{}", self.name, self.digest)?;
        writeln!(f, "size:        {} bytes", self.size)?;
        writeln!(
            f,
            "compile:     {:.1} ms ({:?})",
            self.compile_time.as_secs_f64() * 1e3,
            self.compile_source
        )?;
        writeln!(f, "imports:     {}", self.imports.len())?;
        for import in &self.imports {
            writeln!(f, "  - {import}")?;
        }
        Ok(())
    }
}

/// Loads one component the way the registry would (compile, import allow list, world check,
/// `info()` under `limits`) and reports on it.
pub fn check_component(path: &Path, limits: &Limits) -> Result<CheckReport, TransformError> {
    let (_engine, plugin) = load_one(path, limits)?;
    Ok(CheckReport {
        path: path.to_owned(),
        name: plugin.summary.name.clone(),
        info_name: plugin.info_name.clone(),
        version: plugin.summary.version.clone(),
        description: plugin.summary.description.clone(),
        digest: plugin.summary.digest.clone(),
        size: plugin.size,
        imports: plugin.imports.clone(),
        compile_time: plugin.compile_time,
        compile_source: plugin.compile_source,
    })
}

/// What `plugin run` produced. `Display` lists the files without their contents.
#[derive(Debug)]
pub struct RunReport {
    /// Output files (contents are secret-bearing; write them, don't print them).
    pub files: Vec<File>,
    /// Time of `validate-config` plus `transform`, excluding compilation.
    pub elapsed: Duration,
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} file(s) in {:.2} ms",
            self.files.len(),
            self.elapsed.as_secs_f64() * 1e3
        )?;
        for file in &self.files {
            let mode = file
                .mode
                .map(|m| format!("{m:#o}"))
                .unwrap_or_else(|| "default".into());
            writeln!(
                f,
                "  {}  {} bytes  mode {mode}",
                file.path,
                file.contents.len()
            )?;
        }
        Ok(())
    }
}

/// Runs one plugin file on `input` as a mount would: `validate-config`, then `transform` with
/// the same limits and output checks. Errors are reported as step 0.
pub async fn run_file(
    path: &Path,
    config_json: &str,
    input: Vec<File>,
    limits: &Limits,
) -> Result<RunReport, TransformError> {
    let (path, config, limits) = (path.to_owned(), config_json.to_owned(), limits.clone());
    tokio::task::spawn_blocking(move || {
        let (engine, plugin) = load_one(&path, &limits)?;
        let started = Instant::now();
        let step_err = |kind| StepError {
            step: Some(0),
            plugin: plugin.summary.name.clone(),
            kind,
        };
        plugin
            .validate(&engine, Some(0), &config, &plugin.limits)
            .map_err(step_err)?;
        let files = run_step(&engine, &plugin, Some(0), &config, input, &plugin.limits)
            .map_err(step_err)?;
        Ok(RunReport {
            files,
            elapsed: started.elapsed(),
        })
    })
    .await
    .map_err(|e| TransformError::Engine(format!("the plugin worker thread failed: {e}")))?
}

fn load_one(path: &Path, limits: &Limits) -> Result<(EngineHandle, LoadedPlugin), TransformError> {
    let load_err = |reason: String| TransformError::Load {
        path: path.to_owned(),
        reason,
    };
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|n| valid_name(n))
        .ok_or_else(|| {
            load_err("the file name must be <name>.wasm with a name of a-z, 0-9, `-`, `_`".into())
        })?
        .to_owned();
    let bytes = std::fs::read(path).map_err(|e| load_err(format!("cannot read it: {e}")))?;
    let engine = EngineHandle::new(None, None)?;
    let source = Source {
        name: &name,
        path,
        builtin: false,
    };
    let plugin = LoadedPlugin::load(
        &engine,
        &CompileCache::default(),
        source,
        &bytes,
        limits.clone(),
    )
    .map_err(load_err)?;
    Ok((engine, plugin))
}
