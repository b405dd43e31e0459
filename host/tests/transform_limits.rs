//! Per-plugin limit overrides and the input cap; how the timeout knobs interact.

mod transform_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use provider::transform::{
    File, Limits, PluginDir, RuntimeConfig, StepErrorKind, TransformRuntime,
};
use transform_support::*;

fn with_overrides(dir: &std::path::Path, overrides: &[(&str, Limits)]) -> TransformRuntime {
    TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom(dir)],
        plugin_limits: overrides
            .iter()
            .map(|(n, l)| (n.to_string(), l.clone()))
            .collect::<HashMap<_, _>>(),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_plugin_timeout_override_fires_at_its_own_budget() {
    let dir = plugin_dir(&["loop", "identity"]);
    let long = Limits {
        timeout: Duration::from_millis(600),
        ..Limits::default()
    };
    let rt = with_overrides(dir.path(), &[("loop", long)]);
    let started = Instant::now();
    let err = kind(rt.run_chain(&[step("loop", "{}")], secret_input()).await);
    let elapsed = started.elapsed();
    assert_eq!(
        err,
        StepErrorKind::Timeout {
            limit: Duration::from_millis(600)
        }
    );
    assert!(
        elapsed >= Duration::from_millis(600),
        "fired early: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "fired late: {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_timeout_fires_near_100ms() {
    let dir = plugin_dir(&["loop"]);
    let rt = runtime(dir.path(), Limits::default());
    let started = Instant::now();
    let err = kind(rt.run_chain(&[step("loop", "{}")], secret_input()).await);
    assert_eq!(
        err,
        StepErrorKind::Timeout {
            limit: Duration::from_millis(100)
        }
    );
    let elapsed = started.elapsed();
    assert!(
        (Duration::from_millis(100)..Duration::from_millis(1500)).contains(&elapsed),
        "{elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_plugin_output_override_lets_one_plugin_return_more() {
    let dir = plugin_dir(&["huge-output"]);
    let big = Limits {
        max_output_bytes: 4 << 20,
        ..Limits::default()
    };
    let rt = with_overrides(dir.path(), &[("huge-output", big)]);
    let out = rt
        .run_chain(&[step("huge-output", "{}")], secret_input())
        .await
        .unwrap();
    assert_eq!(
        (out[0].path.as_str(), out[0].contents.len()),
        ("big", 2 << 20)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_override_below_the_bomb_is_reported_with_its_value() {
    let dir = plugin_dir(&["huge-output", "identity"]);
    // huge-output needs 3 MiB; 2 MiB is not enough.
    let small = Limits {
        memory_bytes: 2 << 20,
        max_output_bytes: 4 << 20,
        ..Limits::default()
    };
    let rt = with_overrides(dir.path(), &[("huge-output", small)]);
    let err = rt
        .run_chain(
            &[step("identity", "{}"), step("huge-output", "{}")],
            secret_input(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 1 (plugin \"huge-output\"): memory limit of 2097152 bytes exceeded (limit `memory_bytes`)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_cap_is_checked_before_the_guest_runs() {
    let dir = plugin_dir(&["identity", "huge-output"]);
    let rt = runtime(
        dir.path(),
        Limits {
            max_input_bytes: 100,
            ..Limits::default()
        },
    );
    let input = vec![File::new("big", vec![b'x'; 200])];
    let err = rt
        .run_chain(&[step("identity", "{}")], input)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 0 (plugin \"identity\"): input of 203 bytes exceeds the limit of 100 bytes (limit `max_input_bytes`)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_of_one_step_is_the_input_of_the_next_and_capped_there() {
    let dir = plugin_dir(&["huge-output", "identity"]);
    let big_out = Limits {
        max_output_bytes: 4 << 20,
        ..Limits::default()
    };
    let rt = with_overrides(dir.path(), &[("huge-output", big_out)]);
    let err = kind(
        rt.run_chain(
            &[step("huge-output", "{}"), step("identity", "{}")],
            secret_input(),
        )
        .await,
    );
    assert_eq!(
        err,
        StepErrorKind::InputTooLarge {
            size: 3 + (2 << 20),
            limit: 1 << 20
        }
    );
}
