//! The real built-in and example plugins, loaded through the same path as any custom plugin.
//! Needs `cargo xtask build-plugins` (or `PROVIDER_TEST_PLUGIN_DIR`); fails, never skips, without.

mod transform_support;

use std::path::PathBuf;

use provider::transform::{
    File, Limits, PluginDir, RuntimeConfig, StepErrorKind, TransformRuntime, check_component,
};
use transform_support::step;

const PLUGINS: &[&str] = &["jmespath", "format", "template", "db-url"];

fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("PROVIDER_TEST_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"));
    let missing: Vec<&str> = PLUGINS
        .iter()
        .copied()
        .filter(|p| !dir.join(format!("{p}.wasm")).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "plugins {missing:?} are missing from {}: run `cargo xtask build-plugins` first \
         (or point PROVIDER_TEST_PLUGIN_DIR at a directory of <name>.wasm files)",
        dir.display()
    );
    dir
}

fn runtime() -> TransformRuntime {
    TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::builtin(plugin_dir())],
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[test]
fn every_real_plugin_passes_the_load_checks() {
    let dir = plugin_dir();
    for name in PLUGINS {
        let report = check_component(&dir.join(format!("{name}.wasm")), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !report.version.is_empty(),
            "{name}: empty version\n{report}"
        );
        assert!(
            report
                .imports
                .iter()
                .all(|i| !i.starts_with("wasi:sockets")),
            "{report}"
        );
    }
    let loaded: Vec<(String, bool)> = runtime()
        .plugins()
        .into_iter()
        .map(|p| (p.name, p.builtin))
        .collect();
    for name in PLUGINS {
        assert!(
            loaded.contains(&(name.to_string(), true)),
            "{name} not loaded as built-in: {loaded:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jmespath_extracts_a_field_into_its_own_file() {
    let rt = runtime();
    let config = r#"{"files": {"username": {"expression": "username", "mode": 288}}}"#;
    rt.validate_step("jmespath", config).await.unwrap();
    let input = vec![File::new(
        "db",
        br#"{"username": "admin", "password": "pw"}"#.to_vec(),
    )];
    let out = rt
        .run_chain(&[step("jmespath", config)], input)
        .await
        .unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        (out[0].path.as_str(), out[0].mode),
        ("username", Some(0o440))
    );
    assert_eq!(
        String::from_utf8_lossy(&out[0].contents).trim_matches('"'),
        "admin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jmespath_rejects_a_bad_expression_as_invalid_config() {
    let rt = runtime();
    let err = rt
        .validate_step("jmespath", r#"{"files": {"x": {"expression": "[[["}}}"#)
        .await
        .unwrap_err();
    let kind = &err.step().unwrap().kind;
    assert!(matches!(kind, StepErrorKind::InvalidConfig(_)), "{err}");
}

/// The plugins are linked with a 128 KiB stack (their `build.rs`): the deepest JSON serde_json accepts
/// (127 levels) and an expression as deep still fit, through jmespath and a format conversion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compact_plugin_stack_holds_the_deepest_json_accepted() {
    let rt = runtime();
    let depth = 126;
    let json = format!("{}\"leaf\"{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let expression = vec!["a"; depth].join(".");
    let config = serde_json::json!({"files": {"deep": expression}}).to_string();
    let out = rt
        .run_chain(
            &[step("jmespath", &config)],
            vec![File::new("doc.json", json.clone())],
        )
        .await
        .unwrap();
    assert_eq!(out[0].contents, b"leaf");
    let yaml = rt
        .run_chain(
            &[step(
                "format",
                r#"{"op": "json-to-yaml", "output": "doc.yaml"}"#,
            )],
            vec![File::new("doc.json", json)],
        )
        .await
        .unwrap();
    let text = String::from_utf8(yaml[0].contents.clone()).unwrap();
    assert!(text.trim_end().ends_with("a: leaf"), "{text}");
}
