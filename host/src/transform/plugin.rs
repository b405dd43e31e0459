//! One loaded plugin: its checked, pre-linked component and the code that runs a single guest
//! call in a fresh store under the call limits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Component;
use wasmtime::{Store, Trap};

use super::bindings::{TransformPlugin, TransformPluginPre, WitError, WitFile};
use super::cache::{CompileCache, CompileSource, sha256_hex};
use super::engine::EngineHandle;
use super::error::StepErrorKind;
use super::file::File;
use super::host_impl::{HostState, sanitize};
use super::imports;
use super::limits::Limits;
use super::redact::Redactor;

/// Guest-supplied strings (errors, info) are cut to this length.
const MAX_GUEST_TEXT: usize = 1024;

/// What a plugin says about itself plus what the host knows about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginSummary {
    /// The name plugins are referenced by: the file stem of `<name>.wasm`.
    pub name: String,
    /// `info().version`.
    pub version: String,
    /// `info().description`.
    pub description: String,
    /// sha256 of the `.wasm` file, lowercase hex.
    pub digest: String,
    /// Whether it came from a directory marked as built-in.
    pub builtin: bool,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// Whether its code was compiled at load or came from a cache.
    pub compiled: CompileSource,
    /// For `oci://` plugins: repository, tag, manifest digest and whether its signature was verified.
    pub oci: Option<super::oci::OciOrigin>,
}

/// A plugin ready to be called.
pub(crate) struct LoadedPlugin {
    pub(crate) summary: PluginSummary,
    /// The name the plugin reports in `info()` (may differ from the file name).
    pub(crate) info_name: String,
    pub(crate) imports: Vec<String>,
    pub(crate) size: usize,
    pub(crate) compile_source: CompileSource,
    pub(crate) compile_time: Duration,
    pub(crate) limits: Limits,
    pre: TransformPluginPre<HostState>,
}

/// Identity of the file being loaded.
pub(crate) struct Source<'a> {
    pub(crate) name: &'a str,
    pub(crate) path: &'a Path,
    pub(crate) builtin: bool,
}

impl LoadedPlugin {
    /// Compiles (or fetches from cache), checks imports and exports, and calls `info()`.
    /// The error is a reason for the user; the caller adds the path.
    pub(crate) fn load(
        engine: &EngineHandle,
        cache: &CompileCache,
        source: Source<'_>,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<Self, String> {
        let digest = sha256_hex(bytes);
        let compiled =
            cache.get_or_compile(&engine.engine, engine.disk_cache.as_ref(), &digest, bytes)?;
        let imports = check_imports(engine, &compiled.component)?;
        let instance_pre = engine
            .linker
            .instantiate_pre(&compiled.component)
            .map_err(|e| format!("its imports cannot be satisfied: {}", root(&e)))?;
        let pre = TransformPluginPre::new(instance_pre).map_err(|e| {
            format!(
                "it does not export `alibabacloud:secrets-transform/transformer@0.1.0` of world \
                 `transform-plugin` (a component built for another world?): {}",
                root(&e)
            )
        })?;
        let mut plugin = Self {
            summary: PluginSummary {
                name: source.name.to_owned(),
                version: String::new(),
                description: String::new(),
                digest,
                builtin: source.builtin,
                path: source.path.to_owned(),
                compiled: compiled.source,
                oci: None,
            },
            info_name: String::new(),
            imports,
            size: bytes.len(),
            compile_source: compiled.source,
            compile_time: compiled.elapsed,
            limits,
            pre,
        };
        let load_limits = plugin.limits.clone();
        let info = plugin
            .call(
                engine,
                None,
                &load_limits,
                Default::default(),
                |store, guest| {
                    guest
                        .alibabacloud_secrets_transform_transformer()
                        .call_info(store)
                },
            )
            .map_err(|kind| format!("its `info` call failed: {kind}"))?;
        plugin.info_name = sanitize(&info.name, MAX_GUEST_TEXT);
        plugin.summary.version = sanitize(&info.version, MAX_GUEST_TEXT);
        plugin.summary.description = sanitize(&info.description, MAX_GUEST_TEXT);
        Ok(plugin)
    }

    /// Runs `validate-config` under `limits` (the plugin's own, or tighter ones of a policy).
    pub(crate) fn validate(
        &self,
        engine: &EngineHandle,
        step: Option<usize>,
        config: &str,
        limits: &Limits,
    ) -> Result<(), StepErrorKind> {
        self.call(engine, step, limits, Default::default(), |store, guest| {
            guest
                .alibabacloud_secrets_transform_transformer()
                .call_validate_config(store, config)
        })?
        .map_err(|e| guest_error(e, &Redactor::default()))
    }

    /// Runs `transform` under `limits`; the caller checks input and output limits.
    pub(crate) fn transform(
        &self,
        engine: &EngineHandle,
        step: Option<usize>,
        config: &str,
        input: Vec<File>,
        limits: &Limits,
    ) -> Result<Vec<File>, StepErrorKind> {
        // Built before the input moves into the guest: log lines and errors of this call are scrubbed of it.
        let redactor = Arc::new(Redactor::for_input(&input));
        let input: Vec<WitFile> = input
            .into_iter()
            .map(|f| WitFile {
                path: f.path,
                contents: f.contents,
                mode: f.mode,
            })
            .collect();
        let output = self
            .call(engine, step, limits, redactor.clone(), |store, guest| {
                guest
                    .alibabacloud_secrets_transform_transformer()
                    .call_transform(store, config, &input)
            })?
            .map_err(|e| guest_error(e, &redactor))?;
        Ok(output
            .into_iter()
            .map(|f| File {
                path: f.path,
                contents: f.contents,
                mode: f.mode,
            })
            .collect())
    }

    /// One guest call: fresh store (nothing survives between calls), memory limiter, epoch
    /// deadline; traps, timeouts and limit hits become a `StepErrorKind`.
    fn call<R>(
        &self,
        engine: &EngineHandle,
        step: Option<usize>,
        limits: &Limits,
        redactor: Arc<Redactor>,
        f: impl FnOnce(&mut Store<HostState>, &TransformPlugin) -> wasmtime::Result<R>,
    ) -> Result<R, StepErrorKind> {
        let _ticking = engine.ticking();
        let mut store = Store::new(
            &engine.engine,
            HostState::new(&self.summary.name, step, limits, redactor),
        );
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(EngineHandle::deadline_ticks(limits.timeout));
        store.epoch_deadline_trap();
        let result = self
            .pre
            .instantiate(&mut store)
            .and_then(|guest| f(&mut store, &guest));
        store.data().log.finish();
        result.map_err(|e| classify(&e, store.data(), limits))
    }
}

/// Names a failed call: memory cap, pool exhaustion, timeout or trap, with the limits it ran under.
fn classify(err: &wasmtime::Error, state: &HostState, limits: &Limits) -> StepErrorKind {
    if state.limiter.memory_hit {
        return StepErrorKind::MemoryLimit {
            limit: limits.memory_bytes,
        };
    }
    if err
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return StepErrorKind::Host(
            "too many plugin calls at once (the pooling allocator's 256 slots are in use); retry later".into(),
        );
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => StepErrorKind::Timeout {
            limit: limits.timeout,
        },
        Some(trap) => StepErrorKind::Trap(trap.to_string()),
        None => StepErrorKind::Trap(sanitize(&root(err), MAX_GUEST_TEXT)),
    }
}

fn check_imports(engine: &EngineHandle, component: &Component) -> Result<Vec<String>, String> {
    let names = imports::import_names(&engine.engine, component);
    let bad = imports::disallowed(&names);
    if bad.is_empty() {
        Ok(names)
    } else {
        Err(format!(
            "it imports {} which plugins may not use (allowed: {}){}",
            bad.join(", "),
            imports::ALLOWED_SUMMARY,
            imports::hint(&bad)
        ))
    }
}

/// A guest's error, scrubbed of the call's input (it reaches pod events) and bounded.
fn guest_error(err: WitError, redactor: &Redactor) -> StepErrorKind {
    let clean = |m: &str| sanitize(&redactor.redact(m), MAX_GUEST_TEXT);
    match err {
        WitError::InvalidConfig(m) => StepErrorKind::InvalidConfig(clean(&m)),
        WitError::InvalidInput(m) => StepErrorKind::InvalidInput(clean(&m)),
        WitError::Failed(m) => StepErrorKind::Failed(clean(&m)),
    }
}

fn root(err: &wasmtime::Error) -> String {
    err.root_cause().to_string()
}
