//! Every hostile fixture fails only its own call, with an error naming step, plugin and limit,
//! while a well-behaved call running at the same time succeeds.

mod transform_support;

use std::time::{Duration, Instant};

use provider::transform::{Limits, StepErrorKind, check_component};
use transform_support::*;

const HOSTILE: &[&str] = &[
    "loop",
    "memory-bomb",
    "trap",
    "huge-output",
    "bad-output",
    "counter",
    "identity",
];

/// Runs `hostile` (config `config`) while identity runs 20 times; returns the hostile error.
async fn contained(hostile: &str, config: &str) -> StepErrorKind {
    let dir = plugin_dir(HOSTILE);
    let rt = runtime(
        dir.path(),
        Limits {
            timeout: Duration::from_millis(400),
            ..Limits::default()
        },
    );
    let bad = {
        let rt = rt.clone();
        let config = config.to_owned();
        let hostile = hostile.to_owned();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = rt
                .run_chain(&[step(&hostile, &config)], secret_input())
                .await;
            (result, started.elapsed())
        })
    };
    let started = Instant::now();
    for _ in 0..20 {
        let out = rt
            .run_chain(&[step("identity", "{}")], secret_input())
            .await
            .expect("identity must succeed");
        assert_eq!(out, secret_input());
    }
    let good_elapsed = started.elapsed();
    let (result, bad_elapsed) = bad.await.unwrap();
    if hostile == "loop" {
        assert!(
            good_elapsed < bad_elapsed,
            "identity ({good_elapsed:?}) must not wait for the loop ({bad_elapsed:?})"
        );
    }
    let err = result.expect_err("hostile plugin must fail");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("step 0 (plugin \"{hostile}\"): ")),
        "{shown}"
    );
    assert!(!shown.contains("s3cr3t"), "secret leaked: {shown}");
    err.step().unwrap().kind.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_times_out() {
    let kind = contained("loop", "{}").await;
    assert_eq!(
        kind,
        StepErrorKind::Timeout {
            limit: Duration::from_millis(400)
        }
    );
    assert_eq!(kind.to_string(), "timed out after 400 ms (limit `timeout`)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_hits_the_memory_limit() {
    let kind = contained("memory-bomb", "{}").await;
    assert_eq!(kind, StepErrorKind::MemoryLimit { limit: 64 << 20 });
    assert!(kind.to_string().contains("limit `memory_bytes`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_is_reported_as_a_crash_not_a_guest_error() {
    let kind = contained("trap", "{}").await;
    let StepErrorKind::Trap(message) = &kind else {
        panic!("expected a trap, got {kind:?}")
    };
    assert!(message.contains("unreachable"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_output_hits_the_output_limit() {
    let kind = contained("huge-output", "{}").await;
    assert_eq!(
        kind,
        StepErrorKind::OutputTooLarge {
            size: 3 + (2 << 20),
            limit: 1 << 20
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_output_files() {
    assert_eq!(
        contained("bad-output", "4").await,
        StepErrorKind::TooManyFiles {
            count: 100,
            limit: 64
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmountable_paths_and_modes_are_rejected() {
    let cases = [
        ("1", "path \"../escape\" contains `..`"),
        ("2", "path \"dup\" is returned more than once"),
        (
            "3",
            "path \"setuid\" has mode 0o4755; allowed are 0o000-0o777",
        ),
        ("6", "path \"/etc/passwd\" is absolute"),
    ];
    for (config, expected) in cases {
        let kind = contained("bad-output", config).await;
        let StepErrorKind::BadOutput(problems) = &kind else {
            panic!("{config}: expected bad output, got {kind:?}")
        };
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{config}: {problems:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_guest_data_is_a_crash() {
    let kind = contained("bad-output", "5").await;
    let StepErrorKind::Trap(message) = &kind else {
        panic!("expected a crash, got {kind:?}")
    };
    assert!(message.to_lowercase().contains("utf-8"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_config_is_bounded_too() {
    let dir = plugin_dir(&["loop"]);
    let rt = runtime(dir.path(), Limits::default());
    let err = rt.validate_step("loop", "{}").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin \"loop\": timed out after 100 ms (limit `timeout`)"
    );
}

#[test]
fn network_imports_are_rejected_at_load_listing_each_import() {
    let dir = plugin_dir(&["sockets"]);
    let err = check_component(&dir.path().join("sockets.wasm"), &Limits::default()).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("wasi:sockets/tcp@0.2.0")
            && shown.contains("wasi:http/outgoing-handler@0.2.0"),
        "{shown}"
    );
    assert!(
        shown.contains("which plugins may not use (allowed:"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_plugins_are_not_loaded_and_say_why_when_referenced() {
    let dir = plugin_dir(&["sockets", "wrong-world", "identity"]);
    let rt = runtime(dir.path(), Limits::default());
    let names: Vec<String> = rt.plugins().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["identity"]);
    let err = rt
        .run_chain(&[step("sockets", "{}")], secret_input())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("step 0 (plugin \"sockets\"): no such plugin is loaded (loaded: identity); its file failed to load:"), "{err}");
    assert!(err.contains("wasi:sockets/tcp@0.2.0"), "{err}");
}

#[test]
fn wrong_world_is_rejected_at_load() {
    let dir = plugin_dir(&["wrong-world"]);
    let err = check_component(&dir.path().join("wrong-world.wasm"), &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not export `alibabacloud:secrets-transform/transformer@0.1.0`"),
        "{err}"
    );
}

#[test]
fn a_core_module_or_garbage_is_rejected_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.wasm");
    std::fs::write(&path, b"\0asm\x01\0\0\0").unwrap();
    let err = check_component(&path, &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "cannot load plugin {}: not a valid wasm component",
            path.display()
        )),
        "{err}"
    );
}
