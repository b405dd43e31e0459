//! Compiled-code caches: in memory per runtime (keyed by the sha256 of the `.wasm`) and,
//! optionally, on disk.
//!
//! A disk entry is the component's serialized code at `modules/<engine>/<sha256 of the .wasm>`, where
//! `<engine>` is a hash of wasmtime's `precompile_compatibility_hash` (compiler version and settings).
//! Loading precompiled code trusts its bytes, so every entry this runtime writes is recorded with its
//! own sha256 in `integrity.sha256`, and an entry is loaded only if it still has that hash; a changed
//! or unrecorded entry is deleted and the component recompiled. Entries are mapped from the file, not
//! copied: code pages a plugin never runs are never read into memory (idle RSS, docs/benchmarks.md).
//! The directory must be writable by the provider alone (the chart uses an `emptyDir`).

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

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
    lock: Mutex<()>,
}

impl DiskCache {
    pub(crate) fn open(dir: &Path) -> Result<Self, TransformError> {
        let bad =
            |what: String| TransformError::Config(format!("cache_dir {}: {what}", dir.display()));
        std::fs::create_dir_all(dir).map_err(|e| bad(format!("cannot create it: {e}")))?;
        Ok(Self {
            root: dir.to_owned(),
            lock: Mutex::new(()),
        })
    }

    fn entries_dir(&self) -> PathBuf {
        self.root.join("wasmtime").join("modules")
    }

    /// The entry of `digest` for this engine, relative to [`Self::entries_dir`] and absolute.
    fn entry(&self, engine: &Engine, digest: &str) -> (String, PathBuf) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let rel = format!("{:016x}/{digest}", hasher.finish());
        let path = self.entries_dir().join(&rel);
        (rel, path)
    }

    /// Loads the entry if it exists and still has the hash recorded when it was written. A
    /// mismatching, unrecorded or unloadable entry is deleted (the caller recompiles).
    fn load(&self, engine: &Engine, rel: &str, path: &Path) -> Option<Component> {
        if !path.is_file() {
            return None;
        }
        let recorded = self.read_manifest().get(rel).cloned();
        let actual = sha256_file(path).ok();
        if recorded.is_none() || recorded != actual {
            tracing::warn!(entry = %path.display(), "compiled-code cache entry fails its integrity check; recompiling");
            self.remove(rel, path);
            return None;
        }
        match deserialize_verified(engine, path) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(entry = %path.display(), error = %format!("{e:#}"), "compiled-code cache entry cannot be loaded; recompiling");
                self.remove(rel, path);
                None
            }
        }
    }

    /// Writes the serialized code of `component` and records its hash.
    fn store(&self, rel: &str, path: &Path, component: &Component) {
        let written = component
            .serialize()
            .map_err(|e| format!("{e:#}"))
            .and_then(|bytes| {
                let dir = path.parent().expect("entries have a parent directory");
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                // Unique per writer: two runtimes (or processes) may store the same entry at once.
                static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let tmp = dir.join(format!(".wip-{}-{n}", std::process::id()));
                std::fs::write(&tmp, &bytes)
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .map_err(|e| e.to_string())?;
                Ok(sha256_hex(&bytes))
            });
        match written {
            Ok(hash) => {
                let mut manifest = self.read_manifest();
                manifest.insert(rel.to_owned(), hash);
                self.write_manifest(&manifest);
            }
            Err(e) => {
                tracing::warn!(entry = %path.display(), error = %e, "cannot write a compiled-code cache entry; the plugin will be compiled again next start");
            }
        }
    }

    fn remove(&self, rel: &str, path: &Path) {
        let _ = std::fs::remove_file(path);
        let mut manifest = self.read_manifest();
        if manifest.remove(rel).is_some() {
            self.write_manifest(&manifest);
        }
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

/// Maps an entry whose bytes were just checked against the hash recorded when this runtime wrote them.
#[allow(unsafe_code)]
fn deserialize_verified(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: wasmtime requires the file to hold the output of `Component::serialize` from a
    // compatible engine, unchanged. The caller has just checked its sha256 against the manifest entry
    // written together with the file by `DiskCache::store` (which serialized it), and the cache
    // directory is private to the provider. wasmtime itself rejects code of another engine version or
    // configuration with an error (then we recompile).
    unsafe { Component::deserialize_file(engine, path) }
}

/// sha256 of a file, read in small chunks (entries are megabytes; no buffer of that size is kept).
fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
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
                let (rel, path) = disk.entry(engine, digest);
                match disk.load(engine, &rel, &path) {
                    Some(component) => (component, CompileSource::DiskCache),
                    None => {
                        let component = compile(engine, bytes)?;
                        disk.store(&rel, &path, &component);
                        (component, CompileSource::Compiled)
                    }
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
