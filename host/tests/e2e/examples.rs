//! Every SecretProviderClass under `examples/` is parsed and validated with the provider's own parser, and every
//! transform step is validated by the real plugin, so the examples cannot rot.

use provider::config::{attributes_from_manifest, parse_mount_request};
use provider::transform::{PluginDir, RuntimeConfig, StepSpec, TransformRuntime};
use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn is_spc(text: &str) -> bool {
    text.lines()
        .any(|l| l.trim() == "kind: SecretProviderClass")
}

#[tokio::test]
async fn every_example_secret_provider_class_is_valid() {
    let mut files = Vec::new();
    yaml_files(&crate::common::workspace().join("examples"), &mut files);
    files.sort();
    let runtime = TransformRuntime::new(RuntimeConfig {
        plugin_dirs: vec![PluginDir::builtin(crate::common::plugin_dir())],
        cache_dir: Some(crate::common::plugin_cache_dir()),
        ..RuntimeConfig::default()
    })
    .unwrap();

    let mut checked = 0;
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if !is_spc(&text) {
            continue;
        }
        checked += 1;
        let name = file
            .strip_prefix(crate::common::workspace())
            .unwrap()
            .display()
            .to_string();
        let params = match attributes_from_manifest(&text) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        let spec =
            match parse_mount_request(&serde_json::to_string(&params).unwrap(), "", "420", "") {
                Ok(s) => s,
                Err(e) => {
                    problems.push(format!("{name}: {e}"));
                    continue;
                }
            };
        for object in &spec.objects {
            let steps: Vec<StepSpec> = object
                .transforms
                .iter()
                .map(|t| StepSpec {
                    plugin: t.plugin.name.clone(),
                    config_json: t.config.to_string(),
                })
                .collect();
            if let Err(errors) = runtime.validate_chain(&steps).await {
                for e in errors {
                    problems.push(format!("{name}: {}: {e}", object.describe()));
                }
            }
        }
    }
    assert!(
        checked >= 15,
        "expected the examples' SecretProviderClasses, found {checked}"
    );
    assert!(
        problems.is_empty(),
        "invalid examples:\n{}",
        problems.join("\n")
    );
}
