//! The plugin directories: which `<name>.wasm` files are loaded, and reloading them on change.
//!
//! Precedence: directories are searched in the order configured and the **first** directory
//! holding `<name>.wasm` wins; the same name in a later directory is ignored with a warning. Put
//! the built-in directory first so a custom plugin can never shadow a built-in one.
//!
//! Reload: each scan compares every file's length and mtime with the last scan. A changed file is
//! loaded; if that fails the error is logged and the previously loaded version stays. A removed
//! file unloads its plugin.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::cache::{CompileCache, sha256_hex};
use super::engine::EngineHandle;
use super::error::TransformError;
use super::limits::Limits;
use super::pipeline::valid_name;
use super::plugin::{LoadedPlugin, Source};

/// A directory of `<name>.wasm` plugins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginDir {
    /// The directory.
    pub path: PathBuf,
    /// Plugins from here are reported as built-in (for policy decisions made elsewhere).
    pub builtin: bool,
}

impl PluginDir {
    /// A directory of built-in plugins.
    pub fn builtin(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            builtin: true,
        }
    }

    /// A directory of custom plugins.
    pub fn custom(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            builtin: false,
        }
    }
}

impl From<PathBuf> for PluginDir {
    fn from(path: PathBuf) -> Self {
        Self::custom(path)
    }
}

/// What a scan changed, for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Names loaded or replaced.
    pub loaded: Vec<String>,
    /// Names whose file disappeared.
    pub removed: Vec<String>,
    /// `(name, reason)` of files that failed to load (a previous version, if any, stays).
    pub failed: Vec<(String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: Option<SystemTime>,
}

#[derive(Default)]
struct State {
    plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    /// Last seen stamp of each candidate file.
    stamps: HashMap<PathBuf, Stamp>,
    /// Last load failure per name, shown when a missing plugin is referenced.
    failures: HashMap<String, String>,
}

pub(crate) struct Registry {
    dirs: Vec<PluginDir>,
    state: RwLock<State>,
    scanning: Mutex<()>,
}

struct Candidate {
    path: PathBuf,
    builtin: bool,
}

impl Registry {
    pub(crate) fn new(dirs: Vec<PluginDir>) -> Self {
        Self {
            dirs,
            state: RwLock::default(),
            scanning: Mutex::new(()),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.read().plugins.get(name).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<LoadedPlugin>> {
        self.read().plugins.values().cloned().collect()
    }

    pub(crate) fn failure(&self, name: &str) -> Option<String> {
        self.read().failures.get(name).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Scans all directories. `strict` (the first scan) turns an unreadable directory into an
    /// error; later scans log it and keep that directory's plugins.
    pub(crate) fn scan(
        &self,
        engine: &EngineHandle,
        cache: &CompileCache,
        limits_for: &dyn Fn(&str) -> Limits,
        strict: bool,
    ) -> Result<ReloadReport, TransformError> {
        let _one_scan_at_a_time = self.scanning.lock().unwrap_or_else(|p| p.into_inner());
        let (candidates, unreadable) = self.candidates(strict)?;
        let mut report = ReloadReport::default();
        let mut loaded = Vec::new();
        let mut stamps = HashMap::new();
        {
            let state = self.read();
            for (name, candidate) in &candidates {
                let Some(stamp) = stamp(&candidate.path) else {
                    continue;
                };
                stamps.insert(candidate.path.clone(), stamp);
                let current = state.plugins.get(name);
                let same_file = current.is_some_and(|p| p.summary.path == candidate.path);
                if state.stamps.get(&candidate.path) == Some(&stamp)
                    && (same_file || state.failures.contains_key(name))
                {
                    continue;
                }
                match self.load(engine, cache, name, candidate, limits_for(name), current) {
                    Ok(Some(plugin)) => loaded.push((name.clone(), plugin)),
                    Ok(None) => {}
                    Err(reason) => report.failed.push((name.clone(), reason)),
                }
            }
        }
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let kept_dirs: Vec<&Path> = unreadable.iter().map(PathBuf::as_path).collect();
        let removed: Vec<String> = state
            .plugins
            .iter()
            .filter(|(name, p)| {
                !candidates.contains_key(*name)
                    && !kept_dirs.iter().any(|d| p.summary.path.starts_with(d))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in &removed {
            state.plugins.remove(name);
            tracing::info!(
                plugin = name.as_str(),
                "plugin file removed; plugin unloaded"
            );
        }
        for (name, plugin) in loaded {
            state.failures.remove(&name);
            state.plugins.insert(name.clone(), plugin);
            report.loaded.push(name);
        }
        for (name, reason) in &report.failed {
            state.failures.insert(name.clone(), reason.clone());
        }
        state
            .failures
            .retain(|name, _| candidates.contains_key(name));
        state.stamps = stamps;
        report.removed = removed;
        let in_use: Vec<String> = state
            .plugins
            .values()
            .map(|p| p.summary.digest.clone())
            .collect();
        cache.retain(&in_use);
        Ok(report)
    }

    /// `<name>.wasm` files by name, first directory wins; plus directories that could not be read.
    fn candidates(
        &self,
        strict: bool,
    ) -> Result<(BTreeMap<String, Candidate>, Vec<PathBuf>), TransformError> {
        let mut found: BTreeMap<String, Candidate> = BTreeMap::new();
        let mut unreadable = Vec::new();
        for dir in &self.dirs {
            let entries = match std::fs::read_dir(&dir.path) {
                Ok(entries) => entries,
                Err(source) if strict => {
                    return Err(TransformError::PluginDir {
                        path: dir.path.clone(),
                        source,
                    });
                }
                Err(e) => {
                    tracing::warn!(dir = %dir.path.display(), error = %e, "cannot read plugin directory; keeping its plugins");
                    unreadable.push(dir.path.clone());
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                if path.extension().and_then(|e| e.to_str()) != Some("wasm") {
                    continue;
                }
                let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned)
                else {
                    continue;
                };
                if !valid_name(&name) {
                    tracing::warn!(file = %path.display(), "ignoring plugin file: the name must be 1-64 characters of a-z, 0-9, `-`, `_`");
                    continue;
                }
                if let Some(first) = found.get(&name) {
                    tracing::warn!(file = %path.display(), used = %first.path.display(), "ignoring plugin file: an earlier directory has a plugin of that name");
                    continue;
                }
                found.insert(
                    name,
                    Candidate {
                        path,
                        builtin: dir.builtin,
                    },
                );
            }
        }
        Ok((found, unreadable))
    }

    /// Loads one candidate; `Ok(None)` when its bytes equal the plugin already loaded from it.
    fn load(
        &self,
        engine: &EngineHandle,
        cache: &CompileCache,
        name: &str,
        candidate: &Candidate,
        limits: Limits,
        current: Option<&Arc<LoadedPlugin>>,
    ) -> Result<Option<Arc<LoadedPlugin>>, String> {
        let fail = |reason: String| {
            let err = TransformError::Load {
                path: candidate.path.clone(),
                reason,
            };
            match current {
                Some(_) => {
                    tracing::error!(plugin = name, error = %err, "plugin reload failed; the previous version stays loaded")
                }
                None => tracing::error!(plugin = name, error = %err, "plugin failed to load"),
            }
            err.to_string()
        };
        let bytes =
            std::fs::read(&candidate.path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        if current.is_some_and(|p| {
            p.summary.path == candidate.path && p.summary.digest == sha256_hex(&bytes)
        }) {
            return Ok(None);
        }
        let source = Source {
            name,
            path: &candidate.path,
            builtin: candidate.builtin,
        };
        let plugin = LoadedPlugin::load(engine, cache, source, &bytes, limits).map_err(fail)?;
        let s = &plugin.summary;
        tracing::info!(
            plugin = name,
            version = s.version.as_str(),
            description = s.description.as_str(),
            digest = s.digest.as_str(),
            builtin = s.builtin,
            compiled = ?plugin.compile_source,
            "plugin loaded"
        );
        if plugin.info_name != name {
            tracing::warn!(
                plugin = name,
                info_name = plugin.info_name.as_str(),
                "plugin reports a different name than its file; it is referenced by the file name"
            );
        }
        Ok(Some(Arc::new(plugin)))
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp {
        len: meta.len(),
        mtime: meta.modified().ok(),
    })
}
