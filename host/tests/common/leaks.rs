//! Trace-level log capture for every in-process test: one global subscriber records every event of the
//! provider (the emulator, i.e. "the cloud", is left out) and checks each line against the values that must never
//! be logged: the seeded secret payloads, access key secrets, security tokens and any service-account token a test
//! registers with [`forbid`]. A hit is remembered and fails the test at [`assert_clean`] (called by `Env::stop`).
//!
//! The same subscriber can make a request panic on purpose: an event whose text holds [`PANIC_MARKER`] panics
//! inside whatever task logged it, which lets a test prove that a panic fails one request, not the server,
//! without any test hook in the product.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, RwLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// A pod name carrying this makes the request's own log events panic (see the module docs).
pub const PANIC_MARKER: &str = "inject-panic-7f3c";

static FORBIDDEN: RwLock<Vec<String>> = RwLock::new(Vec::new());
static HITS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static LINES: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

/// Installs the capture (once per test binary) and forbids the demo seed's secrets.
pub fn install() {
    INSTALL.call_once(|| {
        for value in seed_secrets(&super::workspace().join("examples/emulator/seed.yaml")) {
            forbid(&value);
        }
        forbid(super::DEMO_KEY_SECRET);
        let filter = EnvFilter::new(
            "trace,acs_emulator=off,axum=off,tower_http=off,h2=info,hyper=info,hyper_util=info,tower=info,\
             cranelift_codegen=warn,cranelift=warn,regalloc2=warn,wasmtime=info,wasmtime_cranelift=warn",
        );
        let _ = tracing_subscriber::registry()
            .with(Capture.with_filter(filter))
            .try_init();
    });
}

/// Adds a value that must never appear in a log line, status message or metrics output.
pub fn forbid(value: &str) {
    // Short values (ports, "app") would match by accident; every real secret here is longer.
    if value.len() >= 8 {
        let mut f = FORBIDDEN.write().unwrap_or_else(|e| e.into_inner());
        // Fields logged with `?` are Debug-escaped: a value with quotes, backslashes or newlines appears escaped.
        let escaped = format!("{value:?}");
        let escaped = &escaped[1..escaped.len() - 1];
        for v in [value, escaped] {
            if !f.iter().any(|x| x == v) {
                f.push(v.to_string());
            }
        }
    }
}

/// Which forbidden values `text` contains.
pub fn leaked_in(text: &str) -> Vec<String> {
    FORBIDDEN
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|v| text.contains(v.as_str()))
        .cloned()
        .collect()
}

/// Fails with every leak seen so far in any test of this binary.
pub fn assert_clean() {
    let hits = HITS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        hits.is_empty(),
        "secrets appeared in the provider's trace logs:\n{}",
        hits.join("\n")
    );
}

/// Log events captured so far (so a test can tell the capture is live).
pub fn lines() -> usize {
    LINES.load(Ordering::SeqCst)
}

/// The seed's secret material: access key secrets, security tokens, OOS secret parameter values, and each KMS
/// secret's data (the whole text, plus the string fields of JSON data whose key names a password/token/secret).
fn seed_secrets(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let seed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut out = Vec::new();
    let list = |key: &str| seed.get(key).and_then(|v| v.as_sequence()).cloned();
    for k in list("accessKeys").unwrap_or_default() {
        for field in ["secret", "securityToken"] {
            if let Some(s) = k.get(field).and_then(|v| v.as_str()) {
                out.push(s.to_string());
            }
        }
    }
    for p in list("oosSecretParameters").unwrap_or_default() {
        for v in p
            .get("versions")
            .and_then(|v| v.as_sequence())
            .into_iter()
            .flatten()
        {
            if let Some(s) = v.as_str() {
                out.push(s.to_string());
            }
        }
    }
    for s in list("kmsSecrets").unwrap_or_default() {
        for v in s
            .get("versions")
            .and_then(|v| v.as_sequence())
            .into_iter()
            .flatten()
        {
            let Some(data) = v.get("data").and_then(|d| d.as_str()) else {
                continue;
            };
            out.push(data.to_string());
            if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(data) {
                for (k, v) in map {
                    let k = k.to_ascii_lowercase();
                    if ["password", "token", "secret"]
                        .iter()
                        .any(|w| k.contains(w))
                        && let Some(s) = v.as_str()
                    {
                        out.push(s.to_string());
                    }
                }
            }
        }
    }
    out
}

struct Capture;

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut line = Line(format!(
            "{} {}",
            event.metadata().level(),
            event.metadata().target()
        ));
        event.record(&mut line);
        self.check(line.0);
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: Context<'_, S>,
    ) {
        let mut line = Line(format!("span {}", attrs.metadata().name()));
        attrs.record(&mut line);
        self.check(line.0);
    }

    // Fields recorded on a span after it was created (`span.record(...)`).
    fn on_record(
        &self,
        _id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: Context<'_, S>,
    ) {
        let mut line = Line("span record".to_string());
        values.record(&mut line);
        self.check(line.0);
    }
}

impl Capture {
    fn check(&self, line: String) {
        LINES.fetch_add(1, Ordering::SeqCst);
        let leaked = leaked_in(&line);
        if !leaked.is_empty() {
            HITS.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{leaked:?} in: {line}"));
        }
        // No lock is held here, so the panic poisons nothing.
        if line.contains(PANIC_MARKER) {
            panic!("injected panic in a request's task (test only: {PANIC_MARKER})");
        }
    }
}
