//! Logging setup: text or JSON lines on stderr, verbosity like klog's `-v`.

use tracing_subscriber::EnvFilter;

/// Log line format (`--log-format`; the chart's `logFormatJSON: true` selects JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Maps klog-style verbosity (the chart's `logVerbosity`) to a level: 0 info, 1–4 debug, 5+ trace.
pub fn level_for(verbosity: u8) -> &'static str {
    match verbosity {
        0 => "info",
        1..=4 => "debug",
        _ => "trace",
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, overrides the verbosity.
pub fn init(format: LogFormat, verbosity: u8) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{},h2=info,hyper=info,tower=info,cranelift_codegen=warn,wasmtime=info",
            level_for(verbosity)
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
