//! Plugin directories, digest pins, the compiled-code cache, reloads and per-call isolation.

mod transform_support;

use std::time::Duration;

use provider::transform::{
    CompileSource, File, Limits, PluginDir, RuntimeConfig, StepErrorKind, TransformRuntime,
    check_component, run_file,
};
use sha2::{Digest, Sha256};
use transform_support::*;

fn digest(name: &str) -> String {
    hex::encode(Sha256::digest(fixture(name)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_pin_matches_or_fails_showing_both_digests() {
    let dir = plugin_dir(&["identity"]);
    let rt = runtime(dir.path(), Limits::default());
    let good = format!("identity@sha256:{}", digest("identity"));
    assert_eq!(
        rt.run_chain(&[step(&good, "{}")], secret_input())
            .await
            .unwrap(),
        secret_input()
    );

    let wrong = "0".repeat(64);
    let err = rt
        .run_chain(
            &[step(&format!("identity@sha256:{wrong}"), "{}")],
            secret_input(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "step 0 (plugin \"identity@sha256:{wrong}\"): digest mismatch: expected sha256:{wrong}, loaded plugin has sha256:{}",
            digest("identity")
        )
    );
    let bad = rt
        .validate_step("identity@md5:00", "{}")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        bad.starts_with("plugin \"identity@md5:00\": invalid plugin reference"),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_config_errors_are_reported_as_invalid_config() {
    let dir = plugin_dir(&["identity"]);
    let rt = runtime(dir.path(), Limits::default());
    rt.validate_step("identity", "{}").await.unwrap();
    let err = rt
        .validate_step("identity", r#"{"unexpected": true}"#)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin \"identity\": invalid config: identity takes no config; use {}"
    );
    let errs = rt
        .validate_chain(&[
            step("identity", "{}"),
            step("missing", "{}"),
            step("identity", "[1,2,3]"),
        ])
        .await
        .unwrap_err();
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].starts_with(
            "step 1 (plugin \"missing\"): no such plugin is loaded (loaded: identity)"
        ),
        "{shown:?}"
    );
    assert!(
        shown[1].starts_with("step 2 (plugin \"identity\"): invalid config:"),
        "{shown:?}"
    );
    let input_err = kind(rt.run_chain(&[step("identity", "{}")], vec![]).await);
    assert_eq!(
        input_err,
        StepErrorKind::InvalidInput("no input files".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_keep_state_between_calls() {
    let dir = plugin_dir(&["counter", "identity"]);
    let rt = runtime(dir.path(), Limits::default());
    for _ in 0..3 {
        let out = rt
            .run_chain(
                &[step("identity", "{}"), step("counter", "{}")],
                secret_input(),
            )
            .await
            .unwrap();
        assert_eq!(out, vec![File::new("count", b"1".to_vec())]);
    }
    // Within one chain each step gets its own store as well.
    let out = rt
        .run_chain(
            &[step("counter", "{}"), step("counter", "{}")],
            secret_input(),
        )
        .await
        .unwrap();
    assert_eq!(out[0].contents, b"1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_chain_returns_input() {
    let dir = plugin_dir(&[]);
    let rt = runtime(dir.path(), Limits::default());
    assert_eq!(
        rt.run_chain(&[], secret_input()).await.unwrap(),
        secret_input()
    );
}

#[test]
fn builtin_flag_and_first_directory_wins() {
    let builtin = plugin_dir(&["identity"]);
    let custom = tempfile::tempdir().unwrap();
    // A custom plugin trying to shadow the built-in name, plus one of its own.
    std::fs::write(custom.path().join("identity.wasm"), fixture("counter")).unwrap();
    install(custom.path(), &["counter"]);
    std::fs::write(custom.path().join("Bad Name.wasm"), fixture("trap")).unwrap();
    let rt = TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![
            PluginDir::builtin(builtin.path()),
            PluginDir::custom(custom.path()),
        ],
        ..RuntimeConfig::default()
    })
    .unwrap();
    let plugins = rt.plugins();
    let summary: Vec<(&str, bool, &str)> = plugins
        .iter()
        .map(|p| (p.name.as_str(), p.builtin, p.version.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("counter", false, "0.1.0"), ("identity", true, "0.1.0")]
    );
    assert_eq!(plugins[1].digest, digest("identity"));
    assert_eq!(plugins[1].description, "returns its input unchanged");
}

#[test]
fn missing_plugin_directory_is_a_startup_error() {
    let err = TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom("/nonexistent/plugins")],
        ..RuntimeConfig::default()
    })
    .err()
    .expect("must fail")
    .to_string();
    assert!(
        err.starts_with("cannot read plugin directory /nonexistent/plugins:"),
        "{err}"
    );
}

#[test]
fn zero_limits_are_a_config_error() {
    let dir = plugin_dir(&[]);
    let err = TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom(dir.path())],
        limits: Limits {
            max_output_files: 0,
            timeout: Duration::ZERO,
            ..Limits::default()
        },
        ..RuntimeConfig::default()
    })
    .err()
    .expect("must fail")
    .to_string();
    assert_eq!(
        err,
        "invalid transform runtime configuration: limits: max_output_files, timeout must be more than zero"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_picks_up_new_changed_and_removed_files_and_keeps_the_old_version_on_error() {
    let dir = plugin_dir(&["identity"]);
    let rt = runtime(dir.path(), Limits::default());

    install(dir.path(), &["counter"]);
    let report = rt.reload().unwrap();
    assert_eq!(report.loaded, ["counter"]);
    assert_eq!(
        rt.reload().unwrap(),
        Default::default(),
        "an unchanged directory reloads nothing"
    );

    // A broken replacement: logged, and the previous identity keeps serving.
    std::fs::write(dir.path().join("identity.wasm"), b"not wasm at all").unwrap();
    let report = rt.reload().unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(
        report.failed[0].1.contains("not a valid wasm component"),
        "{report:?}"
    );
    assert_eq!(
        rt.run_chain(&[step("identity", "{}")], secret_input())
            .await
            .unwrap(),
        secret_input()
    );
    assert_eq!(
        rt.plugins()
            .iter()
            .find(|p| p.name == "identity")
            .unwrap()
            .digest,
        digest("identity")
    );

    // A valid replacement takes over (different digest).
    std::fs::write(dir.path().join("identity.wasm"), fixture("counter")).unwrap();
    assert_eq!(rt.reload().unwrap().loaded, ["identity"]);
    let out = rt
        .run_chain(&[step("identity", "{}")], secret_input())
        .await
        .unwrap();
    assert_eq!(out[0].path, "count");

    std::fs::remove_file(dir.path().join("counter.wasm")).unwrap();
    assert_eq!(rt.reload().unwrap().removed, ["counter"]);
    assert!(matches!(
        kind(rt.run_chain(&[step("counter", "{}")], secret_input()).await),
        StepErrorKind::NotFound { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reload_thread_polls_the_directory() {
    let dir = plugin_dir(&["identity"]);
    let rt = TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom(dir.path())],
        reload_interval: Some(Duration::from_millis(50)),
        ..RuntimeConfig::default()
    })
    .unwrap();
    install(dir.path(), &["counter"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !rt.plugins().iter().any(|p| p.name == "counter") {
        assert!(
            std::time::Instant::now() < deadline,
            "counter.wasm was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        rt.run_chain(&[step("counter", "{}")], secret_input())
            .await
            .unwrap()[0]
            .contents,
        b"1"
    );
}

fn cached_runtime(plugins: &std::path::Path, cache: &std::path::Path) -> TransformRuntime {
    TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::custom(plugins)],
        cache_dir: Some(cache.to_owned()),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

fn cache_entries(cache: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for compiler in std::fs::read_dir(cache.join("wasmtime/modules"))
        .unwrap()
        .flatten()
    {
        for entry in std::fs::read_dir(compiler.path()).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.contains(".stats") && !name.contains(".wip") {
                out.push(entry.path());
            }
        }
    }
    out
}

#[test]
fn disk_cache_hits_and_a_corrupted_entry_is_recompiled() {
    let plugins = plugin_dir(&["identity"]);
    let cache = tempfile::tempdir().unwrap();
    let report = |dir: &std::path::Path| {
        check_component(&dir.join("identity.wasm"), &Limits::default()).unwrap()
    };
    assert_eq!(
        report(plugins.path()).compile_source,
        CompileSource::Compiled,
        "check_component never uses the disk cache"
    );

    let first = cached_runtime(plugins.path(), cache.path());
    assert_eq!(first.plugins()[0].compiled, CompileSource::Compiled);
    drop(first);
    let entries = cache_entries(cache.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let manifest = std::fs::read_to_string(cache.path().join("integrity.sha256")).unwrap();
    assert!(
        manifest.contains(&hex::encode(Sha256::digest(
            std::fs::read(&entries[0]).unwrap()
        ))),
        "{manifest}"
    );

    // Second start: served from the cache, no compile.
    let rt = cached_runtime(plugins.path(), cache.path());
    assert_eq!(rt.plugins()[0].compiled, CompileSource::DiskCache);
    drop(rt);

    // Flip one byte in the middle of the entry: the integrity check must catch it.
    let mut bytes = std::fs::read(&entries[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&entries[0], &bytes).unwrap();
    let rt = cached_runtime(plugins.path(), cache.path());
    assert_eq!(
        rt.plugins()[0].compiled,
        CompileSource::Compiled,
        "a corrupted entry must be recompiled"
    );
    let fresh = std::fs::read(&entries[0]).unwrap();
    assert_ne!(fresh, bytes, "the corrupted entry must have been replaced");
    let manifest = std::fs::read_to_string(cache.path().join("integrity.sha256")).unwrap();
    assert!(
        manifest.contains(&hex::encode(Sha256::digest(&fresh))),
        "{manifest}"
    );
    let out = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(rt.run_chain(&[step("identity", "{}")], secret_input()))
        .unwrap();
    assert_eq!(out, secret_input());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_run_file_report_without_contents() {
    let dir = plugin_dir(&["identity"]);
    let path = dir.path().join("identity.wasm");
    let report = check_component(&path, &Limits::default()).unwrap();
    assert_eq!(
        (report.name.as_str(), report.info_name.as_str()),
        ("identity", "identity")
    );
    assert_eq!(report.digest, digest("identity"));
    assert!(
        report
            .imports
            .contains(&"alibabacloud:secrets-transform/log@0.1.0".to_string()),
        "{:?}",
        report.imports
    );
    let shown = report.to_string();
    assert!(
        shown.contains(&format!(
            "reference:   identity@sha256:{}",
            digest("identity")
        )),
        "{shown}"
    );

    let run = run_file(&path, "{}", secret_input(), &Limits::default())
        .await
        .unwrap();
    assert_eq!(run.files, secret_input());
    let shown = run.to_string();
    assert!(
        shown.contains("db-password  12 bytes  mode default") && !shown.contains("s3cr3t"),
        "{shown}"
    );
    let err = run_file(&path, "{\"x\": 1}", secret_input(), &Limits::default())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 0 (plugin \"identity\"): invalid config: identity takes no config; use {}"
    );
}
