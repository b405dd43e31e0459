//! Prometheus metrics: what the mount engine records over the real gRPC socket, and the `serve` process's
//! `/metrics` endpoint. Everything talks to 127.0.0.1 only.

mod common;

use common::{DEMO_KEY_ID, DEMO_KEY_SECRET, Options, start};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tonic::Code;

/// Every secret value of the demo seed, and its access key secrets and token.
const SEED_SECRETS: &[&str] = &[
    DEMO_KEY_SECRET,
    "DemoStsSecret-change-me",
    "DemoReadDbOnly-change-me",
    "CAIS-demo-security-token",
    "demo-pass-v2",
    "demo-pass-v1",
    "demo-api-token-0123456789",
    "demo-rds-pass",
    "demo-param-value-v1",
    "demo-param-value-v2",
];

/// The value of the sample line starting with `series ` (exact labels), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn mount_results_backend_calls_and_plugin_runs_are_counted_without_secrets() {
    let env = start(Options::default()).await;
    let ok_objects = r#"
- objectName: app/db
  jmesPath:
    - path: password
      objectAlias: db-password
- objectName: app/api-token
- objectName: demo-secret-param
  objectType: oos
"#;
    env.mount(&[("objects", ok_objects), ("region", "cn-hangzhou")], "")
        .await
        .expect("the demo objects mount");
    let err = env
        .mount(
            &[
                ("objects", "- objectName: does-not-exist"),
                ("region", "cn-hangzhou"),
            ],
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let invalid = env
        .mount(&[("objects", "- objectType: kms")], "")
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);

    let text = env.metrics.render();
    assert_eq!(
        sample(&text, r#"provider_mounts_total{result="ok"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"provider_mounts_total{result="not_found"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"provider_mounts_total{result="invalid"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"provider_mount_duration_seconds_count{result="ok"}"#
        ),
        Some(1.0),
        "{text}"
    );
    // Backend calls agree with what the emulator really served.
    let kms_ok = sample(
        &text,
        r#"provider_backend_calls_total{api="kms_get_secret_value",code="OK",region="cn-hangzhou"}"#,
    );
    let kms_missing = text
        .lines()
        .filter(|l| {
            l.starts_with(r#"provider_backend_calls_total{api="kms_get_secret_value",code=""#)
                && !l.contains(r#"code="OK""#)
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum::<f64>();
    assert_eq!(kms_ok, Some(2.0), "{text}");
    assert_eq!(kms_missing, 1.0, "{text}");
    assert!(
        text.contains("NotFound"),
        "the Alibaba code labels the failure: {text}"
    );
    assert_eq!(
        env.emulator.calls("GetSecretValue") as f64,
        kms_ok.unwrap() + kms_missing
    );
    assert_eq!(
        sample(
            &text,
            r#"provider_backend_calls_total{api="oos_get_secret_parameter",code="OK",region="cn-hangzhou"}"#
        ),
        Some(env.emulator.calls("GetSecretParameter") as f64),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"provider_plugin_calls_total{plugin="jmespath",result="ok"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains(r#"provider_info{version=""#), "{text}");

    for secret in SEED_SECRETS {
        assert!(!text.contains(secret), "metrics leak {secret:?}");
    }
    assert!(!text.contains("app/db") && !text.contains("does-not-exist"));
    env.stop().await;
}

struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(providers: &std::path::Path, endpoint: &str, metrics_port: u16) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
            .arg("serve")
            .arg("--providers-dir")
            .arg(providers)
            .args(["--healthz-port", "0", "--region", "cn-hangzhou"])
            .args(["--metrics-port", &metrics_port.to_string()])
            .args(["--kms-endpoint", endpoint, "--oos-endpoint", endpoint])
            .arg("--plugin-dir")
            .arg(common::plugin_dir())
            .env_clear()
            .env("ACCESS_KEY_ID", DEMO_KEY_ID)
            .env("SECRET_ACCESS_KEY", DEMO_KEY_SECRET)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    fn wait_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200))
                && line.contains(needle)
            {
                return line;
            }
        }
        panic!("no log line with {needle:?}");
    }
}

fn port_of(line: &str) -> u16 {
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))
        .unwrap_or_else(|| panic!("no addr= in {line:?}"));
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn serve_exposes_metrics_on_its_port_and_port_zero_disables_them() {
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: common::demo_seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Serve::start(dir.path(), &emulator.base_url(), port);
    server.wait_line("serving the CSI provider API");
    assert_eq!(port_of(&server.wait_line("metrics endpoint")), port);

    let socket = dir.path().join("alibabacloud.sock");
    let mut client = provider::grpc::client::connect(&socket).await.unwrap();
    let attrs = serde_json::json!({
        "objects": "- objectName: app/db",
        "csi.storage.k8s.io/pod.namespace": "default",
        "csi.storage.k8s.io/pod.name": "web-0",
    });
    client
        .mount(provider::grpc::v1alpha1::MountRequest {
            attributes: attrs.to_string(),
            secrets: String::new(),
            target_path: "/tmp/x".into(),
            permission: "420".into(),
            current_object_version: vec![],
        })
        .await
        .unwrap();

    let resp = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = resp.text().await.unwrap();
    assert_eq!(
        sample(&text, r#"provider_mounts_total{result="ok"}"#),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains("demo-pass-v2") && !text.contains(DEMO_KEY_SECRET));
    drop(server);

    // Port 0 turns the endpoint off (the chart's metrics.port: 0).
    let dir = tempfile::tempdir().unwrap();
    let server = Serve::start(dir.path(), &emulator.base_url(), 0);
    server.wait_line("metrics endpoint disabled");
}
