//! Sandboxed wasm transform plugins: the runtime that loads `<name>.wasm` components of the
//! `transform-plugin` world (`wit/transform.wit`) and runs a chain of them over fetched secrets.
//!
//! The host never trusts a plugin. No wasmtime type appears in this module's public API.
//!
//! # Design decisions
//! - **One engine** (component model, epoch interruption) and a dedicated `wasm-epoch` OS thread
//!   ticking every 1 ms, so busy guests on the blocking pool cannot starve the clock.
//! - **Sync bindings on the blocking pool**: each guest call runs in `spawn_blocking`; the async
//!   runtime never executes wasm. Per call: a fresh `Store` from the plugin's `InstancePre`
//!   (nothing survives between calls, steps or pods), a `ResourceLimiter` capping the sum of
//!   linear memories, and an epoch deadline (`info`, `validate-config` and `transform` all get
//!   `timeout`).
//! - **Imports**: WASI p2 is linked with an empty context (no args, env, preopens, network or
//!   stdin; stdout/stderr discarded; wall clock frozen at the epoch). Which imports a component
//!   may declare is an explicit allow list checked at load (see `imports.rs`): the contract,
//!   `wasi:io`, `wasi:cli`, `wasi:random`, `wasi:clocks/wall-clock`,
//!   `wasi:filesystem/{types,preopens}`. Sockets, http and monotonic-clock (whose pollables block
//!   a host thread past the epoch deadline) are rejected with the offending import named.
//! - **Directories**: first directory wins; list built-ins first so they cannot be shadowed.
//!   `builtin` comes from the directory (`PluginDir::builtin`). Rescans compare length + mtime;
//!   a broken new file is logged and the previous version stays; a removed file unloads.
//! - **Cache**: compiled code is shared in memory by sha256 and, with `cache_dir`, persisted by
//!   wasmtime's cache under a directory per compiler version/settings. Every entry's sha256 is
//!   recorded when written and checked before each compile; a mismatch deletes the entry and the
//!   component is recompiled. (Our own `.cwasm` + `Component::deserialize` would need `unsafe`,
//!   which the workspace forbids.)
//! - **Pooling allocator**: on by default ([`EngineOptions`]). Measured with
//!   `tests/transform_bench.rs` (release, 2 cores, identity plugin, whole `run_chain` incl.
//!   `spawn_blocking`): 45–64 µs per call pooled vs 85–148 µs with the on-demand allocator.
//!   Costs: at most 256 concurrent guest calls (the 257th fails with a clear host error) and
//!   address space (not memory) reserved per slot.
//! - **Errors**: guest `transform-error`s (`InvalidConfig`/`InvalidInput`/`Failed`) are kept apart
//!   from `Trap`, `Timeout`, `MemoryLimit` and the host's input/output checks; guest text is
//!   truncated and control characters escaped.

mod bindings;
mod cache;
mod engine;
mod error;
mod file;
mod host_impl;
mod imports;
mod inspect;
mod limits;
pub mod oci;
mod pipeline;
mod plugin;
mod redact;
mod registry;
mod validated;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

pub use cache::CompileSource;
pub use error::{StepError, StepErrorKind, TransformError};
pub use file::File;
pub use inspect::{CheckReport, RunReport, check_component, run_file};
pub use limits::{LimitCaps, Limits, PluginLogLevel};
pub use pipeline::StepSpec;
pub(crate) use pipeline::valid_name as valid_plugin_name;
pub use plugin::PluginSummary;
pub use registry::{PluginDir, ReloadReport};

use cache::CompileCache;
use engine::EngineHandle;
use plugin::LoadedPlugin;
use registry::Registry;

/// Configuration of a [`TransformRuntime`].
#[derive(Clone, Debug, Default)]
pub struct RuntimeConfig {
    /// Plugin directories in precedence order (the first holding `<name>.wasm` wins).
    pub plugin_dirs: Vec<PluginDir>,
    /// Directory for compiled code; `None` keeps compiled code in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Limits for every plugin without an override.
    pub limits: Limits,
    /// Per-plugin limits, by plugin name (replace `limits` entirely for that plugin).
    pub plugin_limits: HashMap<String, Limits>,
    /// How often to rescan the plugin directories; `None` disables automatic reloads.
    pub reload_interval: Option<Duration>,
    /// How `oci://` plugin references are pulled and verified (stored under `cache_dir/oci`).
    pub oci: oci::OciConfig,
}

/// Engine tuning that deployments normally leave at its default.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Use wasmtime's pooling instance allocator (slots sized for the largest `memory_bytes`,
    /// at most 256 concurrent calls). On by default; see the module docs for the measurement.
    pub pooling_allocator: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            pooling_allocator: true,
        }
    }
}

/// The transform runtime. Cheap to clone; all clones share one engine and plugin set.
#[derive(Clone)]
pub struct TransformRuntime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: EngineHandle,
    cache: CompileCache,
    registry: Registry,
    limits: Limits,
    plugin_limits: HashMap<String, Limits>,
    oci: oci::OciPlugins,
    /// OCI plugins loaded by this runtime, by `oci://registry/repo@sha256:<manifest digest>`.
    oci_loaded: std::sync::Mutex<HashMap<String, Arc<LoadedPlugin>>>,
    /// Step configs each plugin already accepted: skips a sandbox per step on every mount.
    validated: validated::ValidatedConfigs,
}

impl TransformRuntime {
    /// Builds the engine, loads every plugin of the configured directories and, with a
    /// `reload_interval`, starts watching them. A plugin that fails to load is logged and left
    /// out; an unreadable directory or a bad configuration is an error.
    pub fn new(cfg: RuntimeConfig) -> Result<Self, TransformError> {
        Self::with_engine_options(cfg, EngineOptions::default())
    }

    /// [`TransformRuntime::new`] with non-default engine tuning.
    pub fn with_engine_options(
        cfg: RuntimeConfig,
        options: EngineOptions,
    ) -> Result<Self, TransformError> {
        validate_limits("limits", &cfg.limits)?;
        for (name, limits) in &cfg.plugin_limits {
            validate_limits(&format!("plugin_limits[{name}]"), limits)?;
        }
        if cfg.reload_interval.is_some_and(|i| i.is_zero()) {
            return Err(TransformError::Config(
                "reload_interval must be more than zero".into(),
            ));
        }
        let pooling = options.pooling_allocator.then(|| {
            let overrides = cfg.plugin_limits.values().map(|l| l.memory_bytes);
            overrides
                .chain([cfg.limits.memory_bytes])
                .max()
                .unwrap_or_default()
        });
        let inner = Arc::new(Inner {
            engine: EngineHandle::new(cfg.cache_dir.as_deref(), pooling)?,
            cache: CompileCache::default(),
            registry: Registry::new(cfg.plugin_dirs),
            limits: cfg.limits,
            plugin_limits: cfg.plugin_limits,
            oci: oci::OciPlugins::new(&cfg.oci, cfg.cache_dir.as_deref())
                .map_err(|e| TransformError::Config(e.to_string()))?,
            oci_loaded: Default::default(),
            validated: Default::default(),
        });
        inner.scan(true)?;
        if let Some(interval) = cfg.reload_interval {
            spawn_reloader(Arc::downgrade(&inner), interval)?;
        }
        Ok(Self { inner })
    }

    /// The loaded plugins, sorted by name.
    pub fn plugins(&self) -> Vec<PluginSummary> {
        self.inner
            .registry
            .all()
            .iter()
            .map(|p| p.summary.clone())
            .collect()
    }

    /// The loaded plugin called `name`, if any (for policy decisions on its digest and origin).
    pub fn plugin(&self, name: &str) -> Option<PluginSummary> {
        self.inner.registry.get(name).map(|p| p.summary.clone())
    }

    /// Rescans the plugin directories now (the reload thread does this every interval).
    pub fn reload(&self) -> Result<ReloadReport, TransformError> {
        self.inner.scan(false)
    }

    /// Checks a step's plugin reference and lets the plugin validate its config.
    pub async fn validate_step(
        &self,
        plugin: &str,
        config_json: &str,
    ) -> Result<(), TransformError> {
        self.validate_at(None, plugin, config_json, LimitCaps::default())
            .await
    }

    /// Validates every step of a chain and returns all errors at once.
    pub async fn validate_chain(&self, steps: &[StepSpec]) -> Result<(), Vec<TransformError>> {
        self.validate_chain_capped(steps, &[]).await
    }

    /// [`Self::validate_chain`] with step `i` run under `caps[i]` (missing entries: no caps).
    pub async fn validate_chain_capped(
        &self,
        steps: &[StepSpec],
        caps: &[LimitCaps],
    ) -> Result<(), Vec<TransformError>> {
        let mut errors = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let cap = caps.get(i).copied().unwrap_or_default();
            if let Err(e) = self
                .validate_at(Some(i), &step.plugin, &step.config_json, cap)
                .await
            {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Runs the chain: `input` goes to the first step, each output feeds the next, and the last
    /// output is returned. An empty chain returns `input` unchanged.
    pub async fn run_chain(
        &self,
        steps: &[StepSpec],
        input: Vec<File>,
    ) -> Result<Vec<File>, TransformError> {
        self.run_chain_capped(steps, input, &[]).await
    }

    /// [`Self::run_chain`] with step `i` run under its plugin's limits lowered by `caps[i]`
    /// (missing entries: no caps). A namespace policy tightens limits per mount this way.
    pub async fn run_chain_capped(
        &self,
        steps: &[StepSpec],
        input: Vec<File>,
        caps: &[LimitCaps],
    ) -> Result<Vec<File>, TransformError> {
        let mut files = input;
        for (i, step) in steps.iter().enumerate() {
            let plugin = self.resolve(Some(i), &step.plugin).await?;
            let limits = caps
                .get(i)
                .copied()
                .unwrap_or_default()
                .apply(&plugin.limits);
            let (inner, config) = (self.inner.clone(), step.config_json.clone());
            let reference = oci::shown_reference(&plugin, &step.plugin);
            files = blocking(Some(i), &step.plugin, move || {
                pipeline::run_step(&inner.engine, &plugin, Some(i), &config, files, &limits)
                    .map_err(|kind| StepError {
                        step: Some(i),
                        plugin: reference,
                        kind,
                    })
            })
            .await?;
        }
        Ok(files)
    }

    async fn validate_at(
        &self,
        step: Option<usize>,
        reference: &str,
        config: &str,
        caps: LimitCaps,
    ) -> Result<(), TransformError> {
        let plugin = self.resolve(step, reference).await?;
        let limits = caps.apply(&plugin.limits);
        let digest = &plugin.summary.digest;
        let seen = (limits.memory_bytes, limits.timeout);
        if self
            .inner
            .validated
            .contains(digest, config, seen.0, seen.1)
        {
            return Ok(());
        }
        let (inner, config, owned_ref) = (
            self.inner.clone(),
            config.to_owned(),
            oci::shown_reference(&plugin, reference),
        );
        blocking(step, reference, move || {
            plugin
                .validate(&inner.engine, step, &config, &limits)
                .map_err(|kind| StepError {
                    step,
                    plugin: owned_ref,
                    kind,
                })?;
            inner
                .validated
                .insert(&plugin.summary.digest, &config, seen.0, seen.1);
            Ok(())
        })
        .await
    }
}

impl Inner {
    fn limits_for(&self, name: &str) -> Limits {
        self.plugin_limits.get(name).unwrap_or(&self.limits).clone()
    }

    fn scan(&self, strict: bool) -> Result<ReloadReport, TransformError> {
        self.registry.scan(
            &self.engine,
            &self.cache,
            &|name| self.limits_for(name),
            strict,
        )
    }

    /// Finds the plugin a reference names and checks its pin.
    fn resolve(
        &self,
        step: Option<usize>,
        reference: &str,
    ) -> Result<Arc<LoadedPlugin>, StepError> {
        let err = |kind| StepError {
            step,
            plugin: reference.to_owned(),
            kind,
        };
        let parsed = pipeline::parse_ref(reference).map_err(err)?;
        let Some(plugin) = self.registry.get(parsed.name) else {
            let names: Vec<String> = self
                .registry
                .all()
                .iter()
                .map(|p| p.summary.name.clone())
                .collect();
            let available = if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            };
            return Err(err(StepErrorKind::NotFound {
                available,
                load_error: self.registry.failure(parsed.name),
            }));
        };
        if let Some(expected) = parsed.digest
            && expected != plugin.summary.digest
        {
            return Err(err(StepErrorKind::DigestMismatch {
                expected,
                actual: plugin.summary.digest.clone(),
            }));
        }
        Ok(plugin)
    }
}

/// Runs guest work off the async scheduler so busy plugins never stall other tasks; a panic in it fails
/// only this step.
async fn blocking<R: Send + 'static>(
    step: Option<usize>,
    reference: &str,
    work: impl FnOnce() -> Result<R, StepError> + Send + 'static,
) -> Result<R, TransformError> {
    // A plugin call is short (tens of µs) but bounded only by its timeout. On a multi-thread runtime it
    // runs in place and the worker's other tasks move to another thread, which costs ~20 µs less per
    // call than a hop to the blocking pool and back; a current-thread runtime cannot do that.
    if tokio::runtime::Handle::current().runtime_flavor()
        == tokio::runtime::RuntimeFlavor::MultiThread
    {
        let caught = tokio::task::block_in_place(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        });
        return match caught {
            Ok(result) => result.map_err(TransformError::from),
            Err(_) => Err(worker_failed(step, reference, "panicked")),
        };
    }
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(TransformError::from),
        Err(join) => Err(worker_failed(step, reference, &join.to_string())),
    }
}

fn worker_failed(step: Option<usize>, reference: &str, why: &str) -> TransformError {
    StepError {
        step,
        plugin: reference.to_owned(),
        kind: StepErrorKind::Host(format!("the plugin worker thread failed: {why}")),
    }
    .into()
}

fn spawn_reloader(inner: Weak<Inner>, interval: Duration) -> Result<(), TransformError> {
    std::thread::Builder::new()
        .name("plugin-reload".into())
        .spawn(move || {
            loop {
                std::thread::sleep(interval);
                let Some(inner) = inner.upgrade() else { break };
                match inner.scan(false) {
                    Ok(report) if report != ReloadReport::default() => {
                        tracing::info!(loaded = ?report.loaded, removed = ?report.removed, failed = report.failed.len(), "plugin directories rescanned");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "plugin directory rescan failed"),
                }
            }
        })
        .map(drop)
        .map_err(|e| TransformError::Engine(format!("cannot start the plugin reload thread: {e}")))
}

fn validate_limits(field: &str, limits: &Limits) -> Result<(), TransformError> {
    let mut zero = Vec::new();
    for (name, value) in [
        ("memory_bytes", limits.memory_bytes),
        ("max_input_bytes", limits.max_input_bytes),
        ("max_output_bytes", limits.max_output_bytes),
        ("max_output_files", limits.max_output_files),
    ] {
        if value == 0 {
            zero.push(name);
        }
    }
    if limits.timeout.is_zero() {
        zero.push("timeout");
    }
    if zero.is_empty() {
        Ok(())
    } else {
        Err(TransformError::Config(format!(
            "{field}: {} must be more than zero",
            zero.join(", ")
        )))
    }
}
