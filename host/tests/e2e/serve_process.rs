//! The real `serve` process: health endpoint, socket ownership and graceful shutdown on SIGTERM.

use provider::grpc::client;
use provider::grpc::v1alpha1::MountRequest;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line received so far (waiting consumes the channel).
    seen: std::cell::RefCell<Vec<String>>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(providers: &Path, endpoint: &str) -> Serve {
    serve_with(providers, endpoint, &[])
}

fn serve_with(providers: &Path, endpoint: &str, extra: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .arg("serve")
        .args(extra)
        .arg("--providers-dir")
        .arg(providers)
        .args([
            "--healthz-port",
            "0",
            "--metrics-port",
            "0",
            "--region",
            "cn-hangzhou",
        ])
        .args(["--kms-endpoint", endpoint, "--oos-endpoint", endpoint])
        .arg("--plugin-dir")
        .arg(crate::common::plugin_dir())
        .env_clear()
        .env("ACCESS_KEY_ID", crate::common::DEMO_KEY_ID)
        .env("SECRET_ACCESS_KEY", crate::common::DEMO_KEY_SECRET)
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
    Serve {
        child,
        lines,
        seen: Default::default(),
    }
}

impl Serve {
    /// Waits for a log line containing `needle` and returns it.
    fn wait_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.borrow_mut().push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        panic!("no log line with {needle:?}");
    }
}

fn health_port(line: &str) -> u16 {
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))
        .unwrap();
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

async fn get_health(port: u16) -> (u16, String) {
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn health_follows_the_grpc_server_and_sigterm_drains_in_flight_mounts() {
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: crate::common::demo_seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &emulator.base_url());
    server.wait_line("serving the CSI provider API");
    let port = health_port(&server.wait_line("health endpoint"));
    let socket = dir.path().join("alibabacloud.sock");

    assert_eq!(get_health(port).await.0, 200);

    // A second provider must not steal the live socket.
    let second = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .arg("serve")
        .arg("--providers-dir")
        .arg(dir.path())
        .args(["--healthz-port", "0", "--metrics-port", "0"])
        .arg("--plugin-dir")
        .arg(crate::common::plugin_dir())
        .env_clear()
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("another provider is serving"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // A slow mount is in flight when SIGTERM arrives: it still completes.
    emulator.set_latency(Duration::from_millis(1500));
    let mut client = client::connect(&socket).await.unwrap();
    let attrs = serde_json::json!({
        "objects": "- objectName: app/db",
        "csi.storage.k8s.io/pod.namespace": "default",
        "csi.storage.k8s.io/pod.name": "web-0",
    })
    .to_string();
    let mount = tokio::spawn(async move {
        client
            .mount(MountRequest {
                attributes: attrs,
                secrets: String::new(),
                target_path: "/tmp/x".into(),
                permission: "420".into(),
                current_object_version: vec![],
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let resp = mount.await.unwrap().expect("the in-flight mount completes");
    assert_eq!(resp.into_inner().files.len(), 1);
    server.wait_line("stopped");
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert!(!socket.exists(), "the socket is removed on shutdown");
}

#[tokio::test]
async fn health_is_unhealthy_when_the_socket_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), "http://127.0.0.1:9");
    server.wait_line("serving the CSI provider API");
    let port = health_port(&server.wait_line("health endpoint"));
    assert_eq!(get_health(port).await.0, 200);
    std::fs::remove_file(dir.path().join("alibabacloud.sock")).unwrap();
    let (status, body) = get_health(port).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("alibabacloud.sock"), "{body}");
}

/// Values from the demo seed and the request that must never appear in logs, at any verbosity.
const NEVER_LOGGED: &[&str] = &[
    "demo-pass-v2",
    "demo-pass-v1",
    "demo-api-token-0123456789",
    "demo-param-value",
    "DemoSecret-change-me",
    "DemoReadDbOnly-change-me",
    "eyJhbGciOiJSUzI1NiJ9.pod-sa-token-must-not-leak",
    "wrong-secret-must-not-leak",
];

#[tokio::test]
async fn trace_logs_never_contain_secrets_tokens_or_keys() {
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: crate::common::demo_seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve_with(dir.path(), &emulator.base_url(), &["-v", "9"]);
    server.wait_line("serving the CSI provider API");
    let socket = dir.path().join("alibabacloud.sock");
    let mut client = client::connect(&socket).await.unwrap();

    let tokens = serde_json::json!({
        "sts.aliyuncs.com": {
            "token": "eyJhbGciOiJSUzI1NiJ9.pod-sa-token-must-not-leak",
            "expirationTimestamp": "2030-01-01T00:00:00Z"
        }
    })
    .to_string();
    let objects = r#"
- objectName: app/db
  jmesPath: [{path: password, objectAlias: pw}]
  transforms:
    - plugin: template
      config: {template: "{{ password }}", output: rendered, input: app_db}
- objectName: demo-secret-param
  objectType: oos
"#;
    let mount = |secrets: &str, objects: &str| MountRequest {
        attributes: serde_json::json!({
            "objects": objects,
            "csi.storage.k8s.io/pod.namespace": "default",
            "csi.storage.k8s.io/pod.name": "web-0",
            "csi.storage.k8s.io/serviceAccount.tokens": tokens,
        })
        .to_string(),
        secrets: secrets.to_string(),
        target_path: "/tmp/x".into(),
        permission: "420".into(),
        current_object_version: vec![],
    };
    // Success (with plugins), a wrong per-volume secret (signature mismatch), and a missing object.
    let ok = client.mount(mount("", objects)).await.unwrap().into_inner();
    assert!(ok.files.iter().any(|f| f.contents == b"demo-pass-v2"));
    let wrong = serde_json::json!({"access_key": crate::common::DEMO_KEY_ID, "access_secret": "wrong-secret-must-not-leak"}).to_string();
    let denied = client.mount(mount(&wrong, objects)).await.unwrap_err();
    let missing = client
        .mount(mount("", "- objectName: nope"))
        .await
        .unwrap_err();
    for status in [&denied, &missing] {
        for secret in NEVER_LOGGED {
            assert!(
                !status.message().contains(secret),
                "{secret} in {}",
                status.message()
            );
        }
    }

    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    server.wait_line("stopped");
    server.child.wait().unwrap();
    let mut logs = server.seen.borrow().clone();
    logs.extend(server.lines.try_iter());
    let logs = logs.join("\n");
    assert!(logs.contains("mount failed"), "trace logs were captured");
    for secret in NEVER_LOGGED {
        assert!(
            !logs.contains(secret),
            "{secret} appears in the provider's logs"
        );
    }
}
