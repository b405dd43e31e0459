//! Golden tests of mount-request validation: `tests/ui/<case>.yaml` holds a request, `<case>.err` the exact
//! error text users would see, or `<case>.ok` a summary of the accepted MountSpec (no Debug, no secrets).
//! `UPDATE_GOLDEN=1 cargo test -p csi-provider-alibabacloud --test ui` rewrites the expected files.
//!
//! Case format: `attributes` (a map of strings, turned into the JSON the driver sends) or `attributes_json`
//! (the raw string, for malformed input), plus optional `secrets`, `permission` and `target_path` strings.

use anyhow::{Context, Result, bail};
use provider::config::{MountSpec, parse_mount_request};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    attributes: Option<BTreeMap<String, String>>,
    attributes_json: Option<String>,
    #[serde(default)]
    secrets: String,
    #[serde(default)]
    permission: String,
    #[serde(default)]
    target_path: String,
}

fn run_case(path: &Path) -> Result<(bool, String)> {
    let text = std::fs::read_to_string(path)?;
    let case: Case =
        serde_yaml_ng::from_str(&text).with_context(|| format!("{}", path.display()))?;
    let attributes = match (case.attributes, case.attributes_json) {
        (Some(map), None) => serde_json::to_string(&map)?,
        (None, Some(raw)) => raw,
        _ => bail!(
            "{}: give exactly one of attributes / attributes_json",
            path.display()
        ),
    };
    Ok(
        match parse_mount_request(
            &attributes,
            &case.secrets,
            &case.permission,
            &case.target_path,
        ) {
            Ok(spec) => (true, summary(&spec)),
            Err(errors) => (false, format!("{errors}\n")),
        },
    )
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

fn mode(m: Option<u32>) -> String {
    m.map_or("-".into(), |m| format!("{m:04o}"))
}

/// What a user would check in an accepted request; credentials appear as key names only.
fn summary(spec: &MountSpec) -> String {
    let mut s = String::new();
    let p = &spec.pod;
    writeln!(s, "region: {}", opt(&spec.region)).unwrap();
    writeln!(s, "failover_region: {}", opt(&spec.failover_region)).unwrap();
    writeln!(s, "endpoint_type: {:?}", spec.endpoint_type).unwrap();
    writeln!(s, "default_mode: {:04o}", spec.default_mode).unwrap();
    writeln!(
        s,
        "use_pod_service_account_token: {}",
        spec.use_pod_service_account_token
    )
    .unwrap();
    writeln!(s, "role_arn: {}", opt(&spec.role_arn)).unwrap();
    writeln!(
        s,
        "pod: name={} namespace={} uid={} service_account={} ephemeral={} spc={}",
        opt(&p.name),
        opt(&p.namespace),
        opt(&p.uid),
        opt(&p.service_account),
        p.ephemeral,
        opt(&p.secret_provider_class)
    )
    .unwrap();
    let keys: Vec<&str> = spec.node_publish_secrets.keys().collect();
    writeln!(s, "node_publish_secret_keys: {keys:?}").unwrap();
    match &spec.service_account_tokens {
        None => writeln!(s, "service_account_tokens: -").unwrap(),
        Some(t) => {
            for aud in t.audiences() {
                let exp = t
                    .get(aud)
                    .and_then(|t| t.expiration)
                    .map_or("-".into(), |e| {
                        e.format(&time::format_description::well_known::Rfc3339)
                            .unwrap()
                    });
                writeln!(s, "service_account_token: audience={aud:?} expires={exp}").unwrap();
            }
        }
    }
    writeln!(s, "target_path: {:?}", spec.target_path).unwrap();
    for o in &spec.objects {
        writeln!(
            s,
            "{}: file={:?} id={:?} version={} label={} mode={} endpoint={} region={}",
            o.describe(),
            o.file_name,
            o.id(),
            opt(&o.version),
            opt(&o.version_label),
            mode(o.mode),
            opt(&o.endpoint),
            opt(&o.region)
        )
        .unwrap();
        for j in &o.jmes_path {
            writeln!(
                s,
                "  jmesPath {:?} -> {:?} mode={}",
                j.path,
                j.alias,
                mode(j.mode)
            )
            .unwrap();
        }
        if let Some(c) = &o.cross_account {
            writeln!(
                s,
                "  cross_account role={} external_id={} session={} duration={:?}",
                c.role_arn,
                opt(&c.external_id),
                opt(&c.session_name),
                c.duration_seconds
            )
            .unwrap();
        }
        for t in &o.transforms {
            writeln!(s, "  transform {} config={}", t.plugin, t.config).unwrap();
        }
    }
    s
}

fn cases() -> Result<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    cases.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    cases.sort();
    Ok(cases)
}

#[test]
fn golden_cases() -> Result<()> {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases = cases()?;
    assert!(
        cases.len() >= 30,
        "expected at least 30 cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let (ok, actual) = run_case(case)?;
        let (want, other) = if ok { ("ok", "err") } else { ("err", "ok") };
        let golden = case.with_extension(want);
        let stale = case.with_extension(other);
        if update {
            std::fs::write(&golden, &actual)?;
            if stale.exists() {
                std::fs::remove_file(&stale)?;
            }
            continue;
        }
        let name = case.file_stem().unwrap().to_string_lossy();
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}: output differs\n--- expected ({want})\n{expected}--- actual\n{actual}"
            )),
            Err(_) => failures.push(format!(
                "{name}: request was {} but there is no {name}.{want}; actual:\n{actual}",
                if ok { "accepted" } else { "rejected" }
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed (UPDATE_GOLDEN=1 rewrites):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}

/// Every SecretProviderClass shipped in `examples/` passes validation, so the examples and the parser agree.
#[test]
fn example_secret_provider_classes_are_valid() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)?;
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = serde_yaml_ng::Value::deserialize(doc)?;
            if value.get("kind").and_then(|k| k.as_str()) != Some("SecretProviderClass") {
                continue;
            }
            let name = value
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(|n| n.as_str())
                .unwrap_or("?")
                .to_string();
            let at = format!("{} ({name})", file.display());
            checked += 1;
            let result =
                provider::config::attributes_from_manifest(&serde_yaml_ng::to_string(&value)?)
                    .and_then(|mut attrs| {
                        attrs.insert("csi.storage.k8s.io/pod.name".into(), "web-0".into());
                        attrs.insert("csi.storage.k8s.io/pod.namespace".into(), "default".into());
                        attrs.insert("secretProviderClass".into(), name.clone());
                        parse_mount_request(&serde_json::to_string(&attrs).unwrap(), "", "420", "")
                    });
            if let Err(e) = result {
                failures.push(format!("{at}:\n{e}"));
            }
        }
    }
    assert!(checked > 0, "no SecretProviderClass found under examples/");
    assert!(
        failures.is_empty(),
        "{} of {checked} examples rejected:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(())
}
