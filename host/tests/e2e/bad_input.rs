//! The bad input catalog (`tests/bad_input/cases.yaml`), table-driven: every case must fail with a clear error
//! naming the field, without a panic, and without writing a file. Mount-level cases go through the real Mount
//! path (gRPC over the unix socket); flag cases run the real binary. Failures are collected and reported together.

use crate::common::{self, Options, start};
use provider::grpc::v1alpha1::{MountRequest, VersionRequest};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    expect: Vec<String>,
    // grpc
    objects: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, String>,
    attributes_json: Option<String>,
    #[serde(default)]
    secrets: String,
    permission: Option<String>,
    pad_attribute: Option<usize>,
    repeat_objects: Option<usize>,
    code: Option<String>,
    // cli
    cli: Option<Vec<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    // cli_mount
    spc: Option<String>,
    secrets_file: Option<String>,
    // plugin_check
    plugin_check: Option<PluginFile>,
    // policy: a policy file for `policy check`, or for `{policy}` in `cli`
    policy: Option<String>,
    #[serde(default)]
    may_succeed: bool,
}

/// Exactly one of the three.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginFile {
    fixture: Option<String>,
    bytes: Option<String>,
    wat: Option<String>,
}

/// The hostile plugins must reach the sandbox, so this policy lets every namespace run custom plugins.
pub const ALLOW_CUSTOM: &str = "apiVersion: secrets-store.alibabacloud.com/v1alpha1\nkind: PluginPolicy\ndefault:\n  allowCustomPlugins: true\n";

fn catalog() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input/cases.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Hostile and broken plugin files, as an operator could drop them into a custom plugin directory.
fn hostile_plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "wrong-world",
        "loop",
        "trap",
        "memory-bomb",
        "huge-output",
        "bad-output",
    ] {
        std::fs::write(dir.path().join(format!("{name}.wasm")), fixture(name)).unwrap();
    }
    std::fs::write(dir.path().join("not-wasm.wasm"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::write(dir.path().join("empty.wasm"), b"").unwrap();
    dir
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plugins")
        .join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The demo seed plus a KMS secret larger than any response the provider accepts.
fn seed_with_big_secret() -> acs_emulator::Seed {
    let path = common::workspace().join("examples/emulator/seed.yaml");
    let mut seed: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let big = serde_yaml_ng::to_value(serde_json::json!({
        "name": "big/blob",
        "versions": [{"versionId": "v1", "stages": ["ACSCurrent"], "data": "x".repeat(5 << 20)}],
    }))
    .unwrap();
    seed.get_mut("kmsSecrets")
        .unwrap()
        .as_sequence_mut()
        .unwrap()
        .push(big);
    acs_emulator::Seed::from_yaml_str(&serde_yaml_ng::to_string(&seed).unwrap(), "seed+big")
        .unwrap()
}

fn attributes(case: &Case) -> String {
    if let Some(raw) = &case.attributes_json {
        return raw.clone();
    }
    let mut attrs: BTreeMap<String, String> = [
        ("csi.storage.k8s.io/pod.name", "web-0"),
        ("csi.storage.k8s.io/pod.namespace", "default"),
        ("csi.storage.k8s.io/serviceAccount.name", "web"),
        ("secretProviderClass", "bad-input"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(o) = &case.objects {
        attrs.insert("objects".into(), o.clone());
    }
    if let Some(n) = case.repeat_objects {
        let objects: String = (0..n).map(|i| format!("- objectName: o{i}\n")).collect();
        attrs.insert("objects".into(), objects);
    }
    if let Some(n) = case.pad_attribute {
        attrs.insert("pad".into(), "x".repeat(n));
    }
    attrs.extend(case.params.clone());
    serde_json::to_string(&attrs).unwrap()
}

/// Checks one outcome; returns what is wrong with it, if anything.
fn judge(case: &Case, ok: bool, text: &str) -> Option<String> {
    if text.contains("panicked at") {
        return Some(format!("panicked:\n{text}"));
    }
    if ok && !case.may_succeed {
        return Some(format!("was accepted; output:\n{text}"));
    }
    let missing: Vec<&String> = case.expect.iter().filter(|e| !text.contains(*e)).collect();
    if !missing.is_empty() {
        return Some(format!("error lacks {missing:?}:\n{text}"));
    }
    let leaked = common::leaks::leaked_in(text);
    if !leaked.is_empty() {
        return Some(format!("error text leaks {leaked:?}"));
    }
    None
}

/// Runs the real binary with only the given environment, killing it after a bound (a case that starts serving
/// instead of failing is a failure, not a hang).
fn run_binary(args: &[String], env: &BTreeMap<String, String>, cwd: &Path) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            return (
                true,
                format!(
                    "still running after 15 s (killed); stderr:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.success(), text)
}

/// Lists a directory tree as relative paths with contents, to prove nothing changed.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
                out.insert(rel, Vec::new());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_a_clear_error_and_writes_nothing() {
    let cases = catalog();
    assert!(cases.len() >= 100, "only {} cases", cases.len());
    let plugins = hostile_plugin_dir();
    let env = start(Options {
        seed: seed_with_big_secret(),
        custom_plugin_dirs: vec![plugins.path().to_path_buf()],
        policy: Some(ALLOW_CUSTOM.into()),
        limits: provider::transform::Limits {
            timeout: Duration::from_millis(1500),
            ..provider::transform::Limits::default()
        },
        ..Options::default()
    })
    .await;
    let work = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();

    for case in &cases {
        let kind;
        let policy_path = work.path().join(format!("{}.policy.yaml", case.name));
        if let Some(text) = &case.policy {
            std::fs::write(&policy_path, text).unwrap();
        }
        let problem = if let (Some(_), None) = (&case.policy, &case.cli) {
            kind = "policy";
            let args: Vec<String> = vec![
                "policy".into(),
                "check".into(),
                policy_path.display().to_string(),
            ];
            let (ok, text) = run_binary(&args, &case.env, work.path());
            judge(case, ok, &text)
        } else if let Some(args) = &case.cli {
            kind = "cli";
            let mut args: Vec<String> = args
                .iter()
                .map(|a| a.replace("{policy}", &policy_path.display().to_string()))
                .collect();
            if args.first().is_some_and(|a| a == "serve") {
                // Should a case start serving, it does so in a temp dir, on loopback only, until killed.
                for a in [
                    "--providers-dir",
                    &work.path().join("providers").display().to_string(),
                    "--healthz-port",
                    "0",
                    "--metrics-port",
                    "0",
                    "--ecs-metadata-endpoint",
                    "http://127.0.0.1:9",
                    "--plugin-dir",
                    &common::plugin_dir().display().to_string(),
                ] {
                    args.push(a.to_string());
                }
            }
            let (ok, text) = run_binary(&args, &case.env, work.path());
            judge(case, ok, &text)
        } else if let Some(file) = &case.plugin_check {
            kind = "plugin_check";
            let (name, bytes) = match (&file.fixture, &file.bytes, &file.wat) {
                (Some(f), None, None) => (format!("{f}.wasm"), fixture(f)),
                (None, Some(b), None) => ("plugin.wasm".to_string(), b.as_bytes().to_vec()),
                (None, None, Some(w)) => ("plugin.wasm".to_string(), wat::parse_str(w).unwrap()),
                _ => panic!("{}: give one of fixture, bytes, wat", case.name),
            };
            let path = work.path().join(&name);
            std::fs::write(&path, bytes).unwrap();
            let args = vec![
                "plugin".to_string(),
                "check".to_string(),
                path.display().to_string(),
            ];
            let (ok, text) = run_binary(&args, &case.env, work.path());
            judge(case, ok, &text)
        } else if let Some(spc) = &case.spc {
            kind = "cli_mount";
            run_cli_mount(case, spc, &env, work.path())
        } else {
            kind = "grpc";
            run_grpc(case, &env).await
        };
        *counts.entry(kind).or_default() += 1;
        if let Some(p) = problem {
            failures.push(format!("{} ({kind}): {p}", case.name));
        }
    }

    // The server survived the whole catalog and still answers.
    let mut client = env.client().await;
    client
        .version(VersionRequest {
            version: "v1alpha1".into(),
        })
        .await
        .expect("the provider still serves after the catalog");
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed ({counts:?}):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    env.stop().await;
}

async fn run_grpc(case: &Case, env: &common::Env) -> Option<String> {
    let mut client = env.client().await;
    let started = Instant::now();
    let result = client
        .mount(MountRequest {
            attributes: attributes(case),
            secrets: case.secrets.clone(),
            target_path: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/v/mount".into(),
            permission: case.permission.clone().unwrap_or_else(|| "420".into()),
            current_object_version: vec![],
        })
        .await;
    match result {
        Ok(resp) => Some(format!(
            "was accepted with {} files",
            resp.into_inner().files.len()
        )),
        Err(status) => {
            let text = status.message().to_string();
            let want = case.code.as_deref().unwrap_or("InvalidArgument");
            let code = format!("{:?}", status.code());
            if matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown) && want != code
            {
                return Some(format!("{code} (a panic or unmapped error): {text}"));
            }
            if want != "*" && code != want {
                return Some(format!("code {code}, expected {want}: {text}"));
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Some(format!("took {:?}", started.elapsed()));
            }
            judge(case, false, &text)
        }
    }
}

fn run_cli_mount(case: &Case, spc: &str, env: &common::Env, work: &Path) -> Option<String> {
    let dir = tempfile::tempdir_in(work).unwrap();
    let spc_path = dir.path().join("spc.yaml");
    std::fs::write(&spc_path, spc).unwrap();
    let target = dir.path().join("target");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("sentinel"), b"before").unwrap();
    let before = snapshot(&target);
    let mut args: Vec<String> = vec![
        "mount".into(),
        "--spc".into(),
        spc_path.display().to_string(),
        "--target".into(),
        target.display().to_string(),
        "--kms-endpoint".into(),
        env.emulator.base_url(),
        "--oos-endpoint".into(),
        env.emulator.base_url(),
        "--plugin-dir".into(),
        common::plugin_dir().display().to_string(),
        "--plugin-cache-dir".into(),
        common::plugin_cache_dir().display().to_string(),
        "--plugin-timeout-ms".into(),
        "2000".into(),
        "--ecs-metadata-endpoint".into(),
        "http://127.0.0.1:9".into(),
    ];
    if let Some(s) = &case.secrets_file {
        let p = dir.path().join("secrets.yaml");
        std::fs::write(&p, s).unwrap();
        args.push("--secrets".into());
        args.push(p.display().to_string());
    }
    let mut vars = case.env.clone();
    vars.insert("ACCESS_KEY_ID".into(), common::DEMO_KEY_ID.into());
    vars.insert("SECRET_ACCESS_KEY".into(), common::DEMO_KEY_SECRET.into());
    let (ok, text) = run_binary(&args, &vars, work);
    if let Some(p) = judge(case, ok, &text) {
        return Some(p);
    }
    let after = snapshot(&target);
    (after != before).then(|| {
        format!(
            "the target directory changed: {:?} -> {:?}",
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>()
        )
    })
}
