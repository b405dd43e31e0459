//! Compiled-code caches: in memory per runtime (keyed by the sha256 of the `.wasm`) and,
//! optionally, on disk.
//!
//! The disk layer is wasmtime's own cache (entries keyed by the module's content hash under a
//! directory per compiler version and settings, which plays the role of
//! `precompile_compatibility_hash`). Loading precompiled code trusts its bytes, so every entry
//! this runtime writes is recorded with its sha256 in `integrity.sha256`, and before each compile
//! all entries are checked: a changed or unrecorded entry is deleted and the component recompiled.
//! (The crate forbids `unsafe`, which rules out calling `Component::deserialize` on our own files.)

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Cache, CacheConfig, Engine};

use super::error::TransformError;

const MANIFEST: &str = "integrity.sha256";

/// Where a component's compiled code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompileSource {
    /// Compiled with cranelift just now.
    Compiled,
    /// Loaded from the verified on-disk cache.
    DiskCache,
    /// Already compiled by this runtime (same digest).
    Memory,
}

/// Result of getting a component ready.
pub(crate) struct Compiled {
    pub(crate) component: Component,
    pub(crate) source: CompileSource,
    pub(crate) elapsed: Duration,
}

/// The on-disk cache plus its integrity manifest.
pub(crate) struct DiskCache {
    root: PathBuf,
    cache: Cache,
    lock: Mutex<()>,
}

impl DiskCache {
    pub(crate) fn open(dir: &Path) -> Result<Self, TransformError> {
        let bad =
            |what: String| TransformError::Config(format!("cache_dir {}: {what}", dir.display()));
        std::fs::create_dir_all(dir).map_err(|e| bad(format!("cannot create it: {e}")))?;
        let mut config = CacheConfig::new();
        config.with_directory(dir.join("wasmtime"));
        // Never rewrite entries in the background: the manifest records the bytes we wrote.
        config.with_optimized_compression_usage_counter_threshold(u64::MAX);
        let cache = Cache::new(config).map_err(|e| bad(format!("{e:#}")))?;
        Ok(Self {
            root: dir.to_owned(),
            cache,
            lock: Mutex::new(()),
        })
    }

    pub(crate) fn wasmtime_cache(&self) -> &Cache {
        &self.cache
    }

    fn entries_dir(&self) -> PathBuf {
        self.root.join("wasmtime").join("modules")
    }

    /// Deletes every entry whose bytes differ from the sha256 recorded when it was written (or
    /// that was never recorded). Returns the relative paths removed.
    fn verify(&self) -> Vec<String> {
        let mut manifest = self.read_manifest();
        let mut removed = Vec::new();
        for (rel, path) in entry_files(&self.entries_dir()) {
            let ok = std::fs::read(&path)
                .map(|bytes| manifest.get(&rel) == Some(&sha256_hex(&bytes)))
                .unwrap_or(false);
            if !ok {
                tracing::warn!(entry = %path.display(), "compiled-code cache entry fails its integrity check; recompiling");
                let _ = std::fs::remove_file(&path);
                removed.push(rel);
            }
        }
        if !removed.is_empty() {
            manifest.retain(|rel, _| !removed.contains(rel));
            self.write_manifest(&manifest);
        }
        removed
    }

    /// Records the sha256 of every entry present now.
    fn record(&self) {
        let mut manifest = self.read_manifest();
        let present = entry_files(&self.entries_dir());
        manifest.retain(|rel, _| present.iter().any(|(r, _)| r == rel));
        for (rel, path) in present {
            if !manifest.contains_key(&rel)
                && let Ok(bytes) = std::fs::read(&path)
            {
                manifest.insert(rel, sha256_hex(&bytes));
            }
        }
        self.write_manifest(&manifest);
    }

    fn write_manifest(&self, manifest: &BTreeMap<String, String>) {
        let text: String = manifest
            .iter()
            .map(|(rel, hash)| format!("{hash}  {rel}\n"))
            .collect();
        let tmp = self.root.join(format!("{MANIFEST}.tmp"));
        let written = std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, self.root.join(MANIFEST)));
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot write the compiled-code cache manifest; entries will be recompiled");
        }
    }

    fn read_manifest(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.root.join(MANIFEST)).unwrap_or_default();
        text.lines()
            .filter_map(|line| line.split_once("  "))
            .map(|(hash, rel)| (rel.to_owned(), hash.to_owned()))
            .collect()
    }
}

/// Cache entries (not wasmtime's `.stats` bookkeeping or in-progress writes), by relative path.
fn entry_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(compilers) = std::fs::read_dir(dir) else {
        return out;
    };
    for compiler in compilers.flatten() {
        let Ok(files) = std::fs::read_dir(compiler.path()) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.contains(".stats") || name.contains(".wip") || !file.path().is_file() {
                continue;
            }
            let rel = format!("{}/{name}", compiler.file_name().to_string_lossy());
            out.push((rel, file.path()));
        }
    }
    out
}

/// Lowercase hex sha256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// In-memory cache in front of the disk cache.
#[derive(Default)]
pub(crate) struct CompileCache {
    memory: Mutex<HashMap<String, Component>>,
}

impl CompileCache {
    /// Returns the compiled component for `bytes` (whose sha256 is `digest`).
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        disk: Option<&DiskCache>,
        digest: &str,
        bytes: &[u8],
    ) -> Result<Compiled, String> {
        let started = Instant::now();
        if let Some(component) = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(digest)
        {
            let component = component.clone();
            return Ok(Compiled {
                component,
                source: CompileSource::Memory,
                elapsed: started.elapsed(),
            });
        }
        let (component, source) = match disk {
            Some(disk) => {
                let _guard = disk.lock.lock().unwrap_or_else(|p| p.into_inner());
                disk.verify();
                let hits = disk.cache.cache_hits();
                let component = compile(engine, bytes)?;
                if disk.cache.cache_hits() > hits {
                    (component, CompileSource::DiskCache)
                } else {
                    disk.record();
                    (component, CompileSource::Compiled)
                }
            }
            None => (compile(engine, bytes)?, CompileSource::Compiled),
        };
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.to_owned(), component.clone());
        Ok(Compiled {
            component,
            source,
            elapsed: started.elapsed(),
        })
    }

    /// Drops compiled code no loaded plugin uses any more.
    pub(crate) fn retain(&self, digests: &[String]) {
        self.memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|digest, _| digests.contains(digest));
    }
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, String> {
    Component::from_binary(engine, bytes).map_err(|e| format!("not a valid wasm component: {e:#}"))
}
