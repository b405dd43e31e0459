//! Per-call limits of a plugin and the store limiter that enforces the memory cap.

use std::time::Duration;

/// The most verbose plugin log level the host passes on to its own log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PluginLogLevel {
    /// Everything.
    Trace,
    /// Debug and above.
    Debug,
    /// Info and above (default).
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
}

/// Limits applied to every call into a plugin (`info`, `validate-config`, `transform`).
///
/// Each call gets a fresh store, so the limits are per call, not per plugin or per pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory (all memories of the instance together), in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of one guest call, enforced by epoch interruption. The same budget
    /// applies to `validate-config` and to the `info` call made at load time.
    pub timeout: Duration,
    /// Maximum total size of the files passed into a step (paths and contents).
    pub max_input_bytes: usize,
    /// Maximum total size of the files a step returns (paths and contents).
    pub max_output_bytes: usize,
    /// Maximum number of files a step returns.
    pub max_output_files: usize,
    /// Log messages a plugin may emit per call; the rest are counted and dropped.
    pub max_log_messages: u32,
    /// Longer log messages are truncated to this many bytes.
    pub max_log_message_bytes: usize,
    /// Plugin log messages less severe than this are dropped.
    pub log_level: PluginLogLevel,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            timeout: Duration::from_millis(100),
            max_input_bytes: 1 << 20,
            max_output_bytes: 1 << 20,
            max_output_files: 64,
            max_log_messages: 32,
            max_log_message_bytes: 1024,
            log_level: PluginLogLevel::Info,
        }
    }
}

/// Per-call caps tighter than a plugin's own limits (a namespace policy's per-plugin overrides).
/// `None` keeps the plugin's value; a cap can only lower a limit, never raise it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LimitCaps {
    /// At most this much linear memory.
    pub memory_bytes: Option<usize>,
    /// At most this wall-clock budget per guest call.
    pub timeout: Option<Duration>,
    /// At most this many output bytes per step.
    pub max_output_bytes: Option<usize>,
}

impl LimitCaps {
    /// Whether no limit is capped.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `base` with each capped limit lowered to the cap (never raised).
    pub fn apply(&self, base: &Limits) -> Limits {
        let mut out = base.clone();
        if let Some(m) = self.memory_bytes {
            out.memory_bytes = out.memory_bytes.min(m);
        }
        if let Some(t) = self.timeout {
            out.timeout = out.timeout.min(t);
        }
        if let Some(o) = self.max_output_bytes {
            out.max_output_bytes = out.max_output_bytes.min(o);
        }
        out
    }
}

/// Store limiter: caps memory and table growth and remembers whether the cap was hit, so the
/// resulting trap can be reported as a memory limit rather than a generic trap.
pub(crate) struct CallLimiter {
    memory_bytes: usize,
    /// Sum of all linear memories of the instance, so several memories cannot each use the cap.
    memory_total: usize,
    pub(crate) memory_hit: bool,
}

impl CallLimiter {
    /// Tables hold function references, not data; a fixed cap is enough.
    const MAX_TABLE_ELEMENTS: usize = 100_000;

    pub(crate) fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes,
            memory_total: 0,
            memory_hit: false,
        }
    }
}

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_add(desired.saturating_sub(current));
        if total > self.memory_bytes {
            self.memory_hit = true;
            // An error (not `Ok(false)`) traps at once: a guest ignoring a failed
            // `memory.grow` would otherwise keep running until the deadline.
            return Err(wasmtime::Error::msg("memory limit reached"));
        }
        self.memory_total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= Self::MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        // A component instantiates a handful of core instances (main module, shims, fixups).
        64
    }

    fn memories(&self) -> usize {
        8
    }

    fn tables(&self) -> usize {
        64
    }
}
