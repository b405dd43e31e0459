//! Per-call store state and the `log` import plugins may call.
//!
//! The log import is the only capability a plugin gets. It is capped in level, count and
//! message length, and control characters are escaped so a plugin cannot forge host log lines.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use std::sync::Arc;

use super::bindings::{LogLevel, alibabacloud::secrets_transform};
use super::limits::{CallLimiter, Limits, PluginLogLevel};
use super::redact::Redactor;

/// Everything a single guest call owns; dropped with its store when the call ends.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    pub(crate) log: LogState,
}

impl HostState {
    /// `redactor` holds the call's secret fragments, which never reach the host log.
    pub(crate) fn new(
        plugin: &str,
        step: Option<usize>,
        limits: &Limits,
        redactor: Arc<Redactor>,
    ) -> Self {
        Self {
            wasi: empty_wasi_ctx(),
            table: ResourceTable::new(),
            limiter: CallLimiter::new(limits.memory_bytes),
            log: LogState {
                plugin: plugin.to_owned(),
                step,
                level: limits.log_level,
                max_messages: limits.max_log_messages,
                max_bytes: limits.max_log_message_bytes,
                emitted: 0,
                dropped: 0,
                redactor,
            },
        }
    }
}

/// No args, env, preopens, network or stdin; stdout/stderr go nowhere; clocks are frozen at the
/// Unix epoch so a plugin stays a pure function of its input.
fn empty_wasi_ctx() -> WasiCtx {
    wasmtime_wasi::WasiCtxBuilder::new()
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock)
        .build()
}

struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Log bookkeeping of one call.
pub(crate) struct LogState {
    plugin: String,
    step: Option<usize>,
    level: PluginLogLevel,
    max_messages: u32,
    max_bytes: usize,
    emitted: u32,
    pub(crate) dropped: u32,
    redactor: Arc<Redactor>,
}

impl LogState {
    fn accept(&mut self, level: LogLevel, message: &str) {
        if rank(level) < self.level {
            return;
        }
        if self.emitted >= self.max_messages {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        self.emitted += 1;
        let message = sanitize(&self.redactor.redact(message), self.max_bytes);
        let (plugin, step) = (self.plugin.as_str(), self.step);
        match level {
            LogLevel::Trace => tracing::trace!(target: "plugin", plugin, step, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "plugin", plugin, step, "{message}"),
            LogLevel::Info => tracing::info!(target: "plugin", plugin, step, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "plugin", plugin, step, "{message}"),
            LogLevel::Error => tracing::error!(target: "plugin", plugin, step, "{message}"),
        }
    }

    /// Reports how many messages the rate limit swallowed; called once when the call ends.
    pub(crate) fn finish(&self) {
        if self.dropped > 0 {
            tracing::warn!(
                target: "plugin",
                plugin = self.plugin.as_str(),
                step = self.step,
                "dropped {} log messages over the limit of {} per call",
                self.dropped,
                self.max_messages
            );
        }
    }
}

fn rank(level: LogLevel) -> PluginLogLevel {
    match level {
        LogLevel::Trace => PluginLogLevel::Trace,
        LogLevel::Debug => PluginLogLevel::Debug,
        LogLevel::Info => PluginLogLevel::Info,
        LogLevel::Warn => PluginLogLevel::Warn,
        LogLevel::Error => PluginLogLevel::Error,
    }
}

/// Truncates to `max_bytes` on a char boundary and escapes control characters (newlines
/// included) so one message stays one log line.
pub(crate) fn sanitize(message: &str, max_bytes: usize) -> String {
    let mut end = message.len().min(max_bytes);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = message[..end]
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if end < message.len() {
        out.push_str(&format!("… [truncated {} bytes]", message.len() - end));
    }
    out
}

impl secrets_transform::types::Host for HostState {}

impl secrets_transform::log::Host for HostState {
    fn log(&mut self, level: LogLevel, message: String) {
        self.log.accept(level, &message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_truncates_on_char_boundary_and_escapes_newlines() {
        assert_eq!(sanitize("a\nb", 10), "a\\nb");
        assert_eq!(sanitize("héllo", 2), "h… [truncated 5 bytes]");
    }

    #[test]
    fn log_state_caps_count_and_level() {
        let limits = Limits {
            max_log_messages: 2,
            log_level: PluginLogLevel::Info,
            ..Limits::default()
        };
        let mut state = HostState::new("p", Some(0), &limits, Default::default());
        state.log.accept(LogLevel::Debug, "below level");
        for _ in 0..5 {
            state.log.accept(LogLevel::Info, "x");
        }
        assert_eq!((state.log.emitted, state.log.dropped), (2, 3));
    }
}
