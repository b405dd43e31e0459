//! The namespace plugin policy end to end: gRPC mounts from different namespaces get different
//! outcomes, limits tightened by a rule fail a plugin that passes under the provider's limits,
//! credential-mode rules, label selectors, and the `policy` CLI run as a user runs it.

use crate::common::{DEMO_KEY_ID, DEMO_KEY_SECRET, demo_seed, plugin_cache_dir, plugin_dir, text};
use provider::auth::{AuthSettings, EnvCredentials};
use provider::fetch::FetchConfig;
use provider::grpc::server::{ProviderService, serve};
use provider::grpc::v1alpha1::{MountRequest, MountResponse};
use provider::grpc::{client, socket};
use provider::metrics::Metrics;
use provider::mount::{Provider, ProviderConfig, ProviderSettings};
use provider::policy::{NamespaceLabels, Policy, PolicyEnforcer, PolicyHandle};
use provider::transform::{Limits, PluginDir, RuntimeConfig};
use std::collections::{BTreeMap, HashMap};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tonic::Code;

const HEADER: &str = "apiVersion: secrets-store.alibabacloud.com/v1alpha1\nkind: PluginPolicy\n";

/// The provider with `policy` on a real socket, the emulator behind it (AccessKey from the environment).
struct Env {
    emulator: acs_emulator::Handle,
    _dir: tempfile::TempDir,
    socket: std::path::PathBuf,
    metrics: Metrics,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// Test limits: generous time (debug builds), the provider's default memory and output limits.
fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs(2),
        ..Limits::default()
    }
}

async fn start(policy_yaml: &str, labels: &[(&str, &[(&str, &str)])]) -> Env {
    start_with(policy_yaml, labels, None).await
}

/// [`start`] with a directory of custom plugins after the built-in ones.
async fn start_with(
    policy_yaml: &str,
    labels: &[(&str, &[(&str, &str)])],
    custom: Option<&std::path::Path>,
) -> Env {
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: demo_seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let vars: HashMap<String, String> = [
        ("ACCESS_KEY_ID", DEMO_KEY_ID),
        ("SECRET_ACCESS_KEY", DEMO_KEY_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let metrics = Metrics::new();
    let settings = ProviderSettings {
        config: ProviderConfig {
            default_region: Some("cn-hangzhou".into()),
            fetch_concurrency: 4,
        },
        fetch: FetchConfig {
            kms_endpoint: Some(emulator.base_url()),
            oos_endpoint: Some(emulator.base_url()),
            ..FetchConfig::default()
        },
        transforms: RuntimeConfig {
            plugin_dirs: [PluginDir::builtin(plugin_dir())]
                .into_iter()
                .chain(custom.map(PluginDir::custom))
                .collect(),
            cache_dir: Some(plugin_cache_dir()),
            limits: limits(),
            ..RuntimeConfig::default()
        },
        env_credentials: EnvCredentials::from_map(&vars),
        auth: AuthSettings {
            sts_endpoint: Some(emulator.base_url()),
            ecs_endpoint: emulator.base_url(),
            kubeconfig: Some(dir.path().join("no-kubeconfig")),
            ..AuthSettings::from_map(&vars).unwrap()
        },
        metrics: metrics.clone(),
    };
    let policy = Policy::parse(
        &format!("{HEADER}{policy_yaml}"),
        "test-policy.yaml",
        &limits(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let labels = NamespaceLabels::Static(
        labels
            .iter()
            .map(|(ns, l)| {
                (
                    ns.to_string(),
                    l.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                )
            })
            .collect(),
    );
    let enforcer = PolicyEnforcer::new(
        PolicyHandle::fixed(policy, metrics.clone()),
        labels,
        metrics.clone(),
    );
    let provider = Arc::new(Provider::build(settings).unwrap().with_policy(enforcer));
    let (listener, socket) = socket::bind(dir.path()).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let service = ProviderService::new(provider, Duration::from_secs(30));
    tokio::spawn(async move {
        serve(listener, service, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Env {
        emulator,
        _dir: dir,
        socket,
        metrics,
        stop: tx,
    }
}

impl Env {
    /// Mounts `objects` for a pod in `namespace`, as the driver would.
    async fn mount(
        &self,
        namespace: &str,
        objects: &str,
        extra: &[(&str, &str)],
    ) -> Result<MountResponse, tonic::Status> {
        let mut attrs: BTreeMap<String, String> = [
            ("objects", objects),
            ("region", "cn-hangzhou"),
            ("csi.storage.k8s.io/pod.name", "web-0"),
            ("csi.storage.k8s.io/pod.namespace", namespace),
            (
                "csi.storage.k8s.io/pod.uid",
                "5a1f0a2c-0000-4000-8000-000000000001",
            ),
            ("csi.storage.k8s.io/serviceAccount.name", "web"),
            ("secretProviderClass", "test-spc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            attrs.insert(k.to_string(), v.to_string());
        }
        let mut c = client::connect(&self.socket).await.unwrap();
        c.mount(MountRequest {
            attributes: serde_json::to_string(&attrs).unwrap(),
            secrets: String::new(),
            target_path: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/v/mount".into(),
            permission: "420".into(),
            current_object_version: vec![],
        })
        .await
        .map(|r| r.into_inner())
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.emulator.shutdown().await.unwrap();
    }
}

const JMES: &str = r#"
- objectName: app/db
  objectAlias: db.json
  jmesPath:
    - path: username
      objectAlias: db-user
"#;

const FORMAT: &str = r#"
- objectName: app/db
  objectAlias: db.json
  transforms:
    - plugin: format
      config: {op: json-to-dotenv, output: app.env}
"#;

fn digest(plugin: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        std::fs::read(plugin_dir().join(format!("{plugin}.wasm"))).unwrap(),
    ))
}

#[tokio::test]
async fn two_namespaces_get_different_outcomes_before_any_fetch() {
    let env = start(
        "rules:\n  - name: payments\n    namespaces: [payments]\n    allowedPlugins: [jmespath]\n  - name: tenants\n    namespaces: [\"tenant-*\"]\n    allowedPlugins: [format]\n",
        &[],
    )
    .await;
    let ok = env.mount("payments", JMES, &[]).await.unwrap();
    assert_eq!(text(&ok, "db-user"), "app");
    let fetched = env.emulator.calls("GetSecretValue");
    assert_eq!(fetched, 1);

    let denied = env.mount("tenant-a", JMES, &[]).await.unwrap_err();
    assert_eq!(
        denied.code(),
        Code::PermissionDenied,
        "{}",
        denied.message()
    );
    let msg = denied.message();
    let jmespath = digest("jmespath");
    for want in [
        "denied by the plugin policy for namespace \"tenant-a\"",
        "rules[1] \"tenants\" (line 7), namespace glob \"tenant-*\"",
        "objects[0]",
        &format!("plugin \"jmespath\" (sha256:{jmespath}) is not in allowedPlugins"),
        "(allowed: format)",
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg}");
    }
    assert_eq!(
        env.emulator.calls("GetSecretValue"),
        fetched,
        "a denied mount fetches nothing"
    );
    let metrics = env.metrics.render();
    for want in [
        "provider_policy_decisions_total{namespace=\"payments\",plugin=\"jmespath\",decision=\"allow\"} 1",
        "provider_policy_decisions_total{namespace=\"tenant-a\",plugin=\"jmespath\",decision=\"deny\"} 1",
        "provider_mounts_total{result=\"permission_denied\"} 1",
    ] {
        assert!(metrics.contains(want), "{want} not in\n{metrics}");
    }
    // A denied name that is no plugin of this node is counted as "unknown": tenants cannot mint series.
    let made_up = FORMAT.replace("plugin: format", "plugin: made-up-plugin-7");
    assert!(env.mount("tenant-a", &made_up, &[]).await.is_err());
    let metrics = env.metrics.render();
    assert!(
        metrics.contains("provider_policy_decisions_total{namespace=\"tenant-a\",plugin=\"unknown\",decision=\"deny\"} 1")
            && !metrics.contains("made-up-plugin-7"),
        "{metrics}"
    );
    // A namespace no rule selects gets the default: built-ins allowed.
    assert!(env.mount("other", FORMAT, &[]).await.is_ok());
    env.stop().await;
}

#[tokio::test]
async fn a_pinned_digest_rejects_any_other_build() {
    let good = digest("jmespath");
    let wrong = "0".repeat(64);
    let env = start(
        &format!("rules:\n  - name: pinned\n    namespaces: [pinned]\n    allowedPlugins: [\"jmespath@sha256:{good}\"]\n  - name: stale-pin\n    namespaces: [stale]\n    allowedPlugins: [\"jmespath@sha256:{wrong}\"]\n"),
        &[],
    )
    .await;
    env.mount("pinned", JMES, &[]).await.unwrap();
    let e = env.mount("stale", JMES, &[]).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(
        e.message().contains(&format!(
            "plugin \"jmespath\" (sha256:{good}): the loaded digest is not the one rules[1] \"stale-pin\" (line 7) pins (sha256:{wrong})"
        )),
        "{}",
        e.message()
    );
    env.stop().await;
}

#[tokio::test]
async fn limits_tightened_by_a_rule_fail_a_plugin_that_passes_under_the_provider_limits() {
    // 4 KiB of JSON: fine under the provider's 1024 KiB output limit, not under the rule's 1 KiB.
    let big = format!("{{\"username\":\"app\",\"blob\":\"{}\"}}", "x".repeat(4096));
    let env = start(
        "rules:\n  - name: small\n    namespaces: [small]\n    pluginLimits:\n      jmespath: {maxOutputKiB: 1}\n  - name: tiny-memory\n    namespaces: [tiny]\n    pluginLimits:\n      jmespath: {memoryMiB: 1}\n",
        &[],
    )
    .await;
    env.emulator.put_secret_value("app/db", "v3", &big).unwrap();
    let ok = env.mount("roomy", JMES, &[]).await.unwrap();
    assert_eq!(text(&ok, "db.json").len(), big.len());

    let e = env.mount("small", JMES, &[]).await.unwrap_err();
    assert!(
        e.message().contains("transform failed") && e.message().contains("1024"),
        "output over the 1 KiB cap at run time: {}",
        e.message()
    );
    // The plugin itself fits in 1 MiB (192 KiB of memory at start); a 700 KiB secret does not.
    env.mount("tiny", JMES, &[]).await.unwrap();
    let huge = format!(
        "{{\"username\":\"app\",\"blob\":\"{}\"}}",
        "x".repeat(700 * 1024)
    );
    env.emulator
        .put_secret_value("app/db", "v4", &huge)
        .unwrap();
    let e = env.mount("tiny", JMES, &[]).await.unwrap_err();
    assert!(
        e.message().contains("memory") && e.message().contains("1048576"),
        "memory over the 1 MiB cap: {}",
        e.message()
    );
    env.stop().await;
}

#[tokio::test]
async fn credential_modes_and_label_selectors() {
    let env = start(
        "rules:\n  - name: shared-tenants\n    namespaceSelector:\n      matchLabels: {tenancy: shared}\n    credentialModes: [podIdentity]\n  - name: platform\n    namespaces: [\"platform-*\"]\n    credentialModes: [providerIdentity]\n",
        &[("acme", &[("tenancy", "shared")]), ("solo", &[("tenancy", "dedicated")])],
    )
    .await;
    // The provider authenticates with its environment AccessKey: providerAccessKey.
    env.mount("platform-mon", JMES, &[]).await.unwrap();
    env.mount("solo", JMES, &[]).await.unwrap();
    let e = env.mount("acme", JMES, &[]).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(
        e.message().contains("credential mode providerAccessKey is not allowed by rules[0] \"shared-tenants\" (line 4) (allowed: podIdentity)")
            && e.message().contains("namespaceSelector with 1 requirement(s)"),
        "{}",
        e.message()
    );
    assert_eq!(
        env.emulator.calls("GetSecretValue"),
        2,
        "the denied mount fetched nothing"
    );
    let metrics = env.metrics.render();
    assert!(
        metrics.contains("provider_policy_credential_decisions_total{namespace=\"acme\",mode=\"providerAccessKey\",decision=\"deny\"} 1"),
        "{metrics}"
    );
    env.stop().await;
}

fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"));
    cmd.env_clear();
    cmd
}

fn run(cmd: &mut Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn policy_check_summarises_a_valid_file_and_lists_every_error_of_a_bad_one() {
    let example = crate::common::workspace().join("examples/policy/policy.yaml");
    let (code, out) = run(cli().args(["policy", "check"]).arg(&example));
    assert_eq!(code, Some(0), "{out}");
    for want in [
        "valid (4 rule(s); provider limits: memory 64 MiB, timeout 100 ms, output 1024 KiB)",
        "rules[0] \"payments\"",
        "limits db-url: memory 16 MiB, timeout 50 ms, output 64 KiB",
        "credential modes: podIdentity",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
    // The same file against a provider started with a lower timeout: the rule would loosen it.
    let (code, out) = run(cli()
        .args(["policy", "check", "--plugin-timeout-ms", "40"])
        .arg(&example));
    assert_eq!(code, Some(1));
    assert!(
        out.contains("line 27: rules[0] \"payments\": pluginLimits.db-url.timeoutMs: is 50 ms, above the provider's limit of 40 ms (--plugin-timeout-ms)"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        format!("{HEADER}rules:\n  - name: x\n    namespaces: [a]\n    allowedPlugin: [jmespath]\n  - namespaces: [a]\n    credentialModes: [node]\n"),
    )
    .unwrap();
    let (code, out) = run(cli().args(["policy", "check"]).arg(&bad));
    assert_eq!(code, Some(1));
    for want in [
        "3 errors in",
        "line 6: rules[0] \"x\": allowedPlugin: unknown field; allowed fields are:",
        "line 7: rules[1]: namespaces[0]: \"a\" is also selected by rules[0]",
        "line 8: rules[1]: credentialModes[0]: \"node\" is not a credential mode",
    ] {
        assert!(out.contains(want), "{want:?} not in\n{out}");
    }
}

#[test]
fn policy_explain_prints_the_rule_and_the_decision() {
    let example = crate::common::workspace().join("examples/policy/policy.yaml");
    let explain = |args: &[&str]| run(cli().args(["policy", "explain"]).arg(&example).args(args));
    let (code, out) = explain(&[
        "--namespace",
        "acme",
        "--labels",
        "tenancy=shared",
        "--plugin",
        "template",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("rule:      rules[2] \"shared-tenants\" (line 38) (namespaceSelector with 1 requirement(s))"), "{out}");
    assert!(
        out.contains(
            "limits:    memory 8 MiB, timeout 20 ms, output 16 KiB (tightened by the rule)"
        ),
        "{out}"
    );
    assert!(out.contains("decision:  allow"), "{out}");

    let (code, out) = explain(&[
        "--namespace",
        "acme",
        "--labels",
        "tenancy=shared,lifecycle=offboarding",
        "--plugin",
        "template",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("rules[3] \"frozen\""), "{out}");
    assert!(out.contains("decision:  deny"), "{out}");

    let (code, out) = explain(&[
        "--namespace",
        "payments",
        "--plugin",
        &format!("db-url@sha256:{}", "1".repeat(64)),
        "--custom",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("is not the one rules[0] \"payments\" (line 19) pins"),
        "{out}"
    );

    let (code, out) = explain(&[
        "--namespace",
        "web",
        "--plugin",
        "jmespath",
        "--credential-mode",
        "nodeInstanceRole",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("rule:      default (line 10) (no rule selects the namespace)"),
        "{out}"
    );
    assert!(
        out.contains("credential mode nodeInstanceRole is not allowed by default (line 10)"),
        "{out}"
    );
    assert!(
        out.contains("note:      rules with namespaceSelector were not considered"),
        "{out}"
    );
}

#[test]
fn the_policy_in_the_kubernetes_example_is_valid() {
    let path = crate::common::workspace().join("examples/k8s/namespace-policy.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cm = text
        .split("\n---\n")
        .map(|d| serde_yaml_ng::from_str::<serde_yaml_ng::Value>(d).unwrap())
        .find(|d| d["kind"].as_str() == Some("ConfigMap"))
        .expect("a ConfigMap");
    let doc = cm["data"]["policy.yaml"].as_str().unwrap();
    let p = Policy::parse(doc, "namespace-policy.yaml", &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.select("payments", None).rule.name.as_deref(),
        Some("payments")
    );
}

#[tokio::test]
async fn custom_plugins_need_allow_custom_and_signatures_when_the_rule_requires_them() {
    let custom = tempfile::tempdir().unwrap();
    std::fs::copy(
        plugin_dir().join("jmespath.wasm"),
        custom.path().join("team-jp.wasm"),
    )
    .unwrap();
    let env = start_with(
        "rules:\n  - name: trusted\n    namespaces: [trusted]\n    allowCustomPlugins: true\n  - name: signed-only\n    namespaces: [signed]\n    allowCustomPlugins: true\n    requireSignedPlugins: true\n",
        &[],
        Some(custom.path()),
    )
    .await;
    let objects = r#"
- objectName: app/db
  objectAlias: db.json
  transforms:
    - plugin: team-jp
      config: {files: {db-user: username}}
"#;
    let ok = env.mount("trusted", objects, &[]).await.unwrap();
    assert_eq!(text(&ok, "db-user"), "app");
    let e = env.mount("elsewhere", objects, &[]).await.unwrap_err();
    assert!(
        e.message().contains("is a custom plugin and default (line")
            || e.message()
                .contains("is a custom plugin and the built-in default"),
        "{}",
        e.message()
    );
    let e = env.mount("signed", objects, &[]).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(
        e.message().contains("is a custom plugin file, which carries no signature, and the rule sets requireSignedPlugins"),
        "{}",
        e.message()
    );
    // Built-in plugins count as signed.
    env.mount("signed", JMES, &[]).await.unwrap();
    env.stop().await;
}

/// Lines of a child's stderr, waited for with a deadline.
fn wait_line(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(100))
            && line.contains(needle)
        {
            return line;
        }
    }
    panic!("no log line with {needle:?}");
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reloads_the_policy_file_and_keeps_the_last_good_one() {
    use std::io::BufRead;
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: demo_seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    let v1 = format!(
        "{HEADER}rules:\n  - name: tenants\n    namespaces: [\"tenant-*\"]\n    allowedPlugins: [format]\n"
    );
    std::fs::write(&policy, &v1).unwrap();
    // ConfigMap style: a new file renamed over the old one.
    let swap = |text: &str| {
        let tmp = dir.path().join("policy.new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &policy).unwrap();
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .arg("serve")
        .arg("--providers-dir")
        .arg(dir.path())
        .args([
            "--healthz-port",
            "0",
            "--metrics-port",
            "0",
            "--region",
            "cn-hangzhou",
        ])
        .args([
            "--kms-endpoint",
            &emulator.base_url(),
            "--oos-endpoint",
            &emulator.base_url(),
        ])
        .arg("--plugin-dir")
        .arg(plugin_dir())
        .arg("--plugin-cache-dir")
        .arg(plugin_cache_dir())
        .arg("--policy-file")
        .arg(&policy)
        .env_clear()
        .env("POLICY_RELOAD_INTERVAL", "100ms")
        .env("PLUGIN_TIMEOUT_MS", "2000")
        .env("ACCESS_KEY_ID", DEMO_KEY_ID)
        .env("SECRET_ACCESS_KEY", DEMO_KEY_SECRET)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _child = Child(child);
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    wait_line(&lines, "plugin policy loaded");
    wait_line(&lines, "serving the CSI provider API");
    let health = wait_line(&lines, "health endpoint");
    let port: u16 = health
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))
        .and_then(|a| a.rsplit(':').next())
        .unwrap()
        .parse()
        .unwrap();
    let env = Env {
        emulator,
        _dir: tempfile::tempdir().unwrap(),
        socket: dir.path().join("alibabacloud.sock"),
        metrics: Metrics::disabled(),
        stop: tokio::sync::oneshot::channel().0,
    };
    let e = env.mount("tenant-a", JMES, &[]).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied, "{}", e.message());

    // An invalid change: rejected with every error, the last good policy stays, /healthz says so.
    swap(&format!(
        "{HEADER}rules:\n  - name: tenants\n    namespaces: [\"tenant-*\"]\n    allowedPlugins: [format, jmespath]\n    maxSteps: many\n    colour: blue\n"
    ));
    let rejected = wait_line(&lines, "plugin policy reload rejected");
    assert!(
        rejected.contains("line 6") || rejected.contains("line 7"),
        "{rejected}"
    );
    wait_line(&lines, "plugin policy reload rejected");
    let body = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.starts_with("ok\n")
            && body.contains("policy: the newest policy file was rejected")
            && body.contains("with 2 error(s), the previous policy stays in force"),
        "{body}"
    );
    let e = env.mount("tenant-a", JMES, &[]).await.unwrap_err();
    assert_eq!(
        e.code(),
        Code::PermissionDenied,
        "still the last good policy"
    );

    // A valid change applies without a restart.
    swap(&format!(
        "{HEADER}rules:\n  - name: tenants\n    namespaces: [\"tenant-*\"]\n    allowedPlugins: [format, jmespath]\n"
    ));
    wait_line(&lines, "plugin policy reloaded");
    let ok = env.mount("tenant-a", JMES, &[]).await.unwrap();
    assert_eq!(text(&ok, "db-user"), "app");
    let body = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "ok\n");
    env.emulator.shutdown().await.unwrap();
}
