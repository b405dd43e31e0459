//! The `log` import: rate limit per call, level cap, truncation and escaping. Uses a global
//! tracing subscriber (guest calls run on blocking threads), so this binary has one test.

mod transform_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use provider::transform::Limits;
use transform_support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_logs_are_rate_limited_level_capped_truncated_and_escaped() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("plugin=trace,provider=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = plugin_dir(&["logger", "identity", "leaky"]);
    let rt = runtime(dir.path(), Limits::default());
    let out = rt
        .run_chain(&[step("logger", "{}")], secret_input())
        .await
        .unwrap();
    assert_eq!(out, secret_input());

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let plugin_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" plugin:") || l.contains("plugin: "))
        .collect();
    let spam = plugin_lines
        .iter()
        .filter(|l| l.contains(" plugin: spam plugin=\"logger\" step=0"))
        .count();
    // 32 messages per call: the long warn line plus 31 spam lines; the debug line is below Info.
    assert_eq!(spam, 31, "{text}");
    assert!(
        !text.contains("hidden-debug"),
        "debug line must be dropped at the default Info cap"
    );
    assert!(
        text.contains("dropped 969 log messages over the limit of 32 per call"),
        "{text}"
    );
    let long = plugin_lines
        .iter()
        .find(|l| l.contains("line1"))
        .expect("warn line");
    assert!(
        long.contains("line1\\nxx"),
        "newline must be escaped: {long}"
    );
    assert!(
        long.contains("x… [truncated 1976 bytes] plugin=\"logger\""),
        "{long}"
    );
    assert!(!text.contains("s3cr3t"));

    // A fresh call gets a fresh budget.
    captured.0.lock().unwrap().clear();
    rt.run_chain(&[step("logger", "{}")], secret_input())
        .await
        .unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(" plugin: spam "))
            .count(),
        31,
        "{text}"
    );

    // Identity logs at info, tagged with plugin and step.
    captured.0.lock().unwrap().clear();
    rt.run_chain(
        &[step("identity", "{}"), step("identity", "{}")],
        secret_input(),
    )
    .await
    .unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("step=1") && text.contains("identity: passing files through"),
        "{text}"
    );

    // A plugin that quotes its input in a log line and in its error: both reach operators (logs, pod
    // events), so the host scrubs the input from them.
    captured.0.lock().unwrap().clear();
    let err = rt
        .run_chain(&[step("leaky", "{}")], secret_input())
        .await
        .unwrap_err()
        .to_string();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(err.contains("<redacted>"), "{err}");
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
}
