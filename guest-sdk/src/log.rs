//! Logging through the host's `log` import.
//!
//! The host rate-limits these messages and drops those below its level. Like errors, log messages
//! must never contain secret payload bytes. When the SDK is compiled natively (unit tests), messages
//! are captured in memory instead; read them with [`crate::testing::take_logs`].

/// Severity of a log message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that did not fail the step.
    Warn,
    /// A failure.
    Error,
}

/// Sends one message to the host at `level`.
pub fn log(level: Level, message: &str) {
    sink::emit(level, message);
}

/// Logs at trace level.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(Level::Error, message);
}

#[cfg(target_arch = "wasm32")]
mod sink {
    use super::Level;
    use crate::wit::alibabacloud::secrets_transform::log::{LogLevel, log};

    pub(super) fn emit(level: Level, message: &str) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        log(level, message);
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod sink {
    //! Native stand-in for the host import: a per-thread buffer (tests run on many threads).
    use super::Level;
    use std::cell::RefCell;

    thread_local! {
        static CAPTURED: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn emit(level: Level, message: &str) {
        CAPTURED.with(|c| c.borrow_mut().push((level, message.to_string())));
    }

    pub(crate) fn take() -> Vec<(Level, String)> {
        CAPTURED.with(|c| std::mem::take(&mut *c.borrow_mut()))
    }
}
