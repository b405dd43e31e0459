//! Plugins written in Python (componentize-py) and JavaScript (componentize-js), mounted through gRPC against the
//! emulator and run with the CLI as a plugin author would. Built by `cargo xtask build-plugins --polyglot` (and by
//! `cargo xtask test`, which also precompiles them into the shared test cache).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{demo_seed, plugin_cache_dir, plugin_dir, workspace};
use provider::grpc::client;
use provider::grpc::v1alpha1::{MountRequest, MountResponse};
use tonic::Code;

const PY: &str = "py-db-ini";
const JS: &str = "js-spring-datasource";

/// The built components; failing loudly beats skipping silently.
fn polyglot_dir() -> PathBuf {
    let dir = std::env::var_os("PROVIDER_TEST_POLYGLOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/polyglot/plugins"));
    for name in [PY, JS] {
        assert!(
            dir.join(format!("{name}.wasm")).exists(),
            "no {name}.wasm in {}: run `cargo xtask build-plugins --polyglot` first (or `cargo xtask test`)",
            dir.display()
        );
    }
    dir
}

/// The `serve` process with the interpreter plugins in its plugin directories, as an operator ships them in the
/// image (team plugins in `--custom-plugin-dir` also need a namespace policy allowing custom plugins). It loads
/// them from the shared precompiled cache that `cargo xtask test` fills.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(providers: &Path, endpoint: &str) -> Serve {
    let dirs = format!("{},{}", plugin_dir().display(), polyglot_dir().display());
    let child = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .arg("serve")
        .arg("--providers-dir")
        .arg(providers)
        .args(["--healthz-port", "0", "--metrics-port", "0"])
        .args(["--region", "cn-hangzhou"])
        .args(["--kms-endpoint", endpoint, "--oos-endpoint", endpoint])
        .args(["--plugin-dir", &dirs])
        .arg("--plugin-cache-dir")
        .arg(plugin_cache_dir())
        // Debug builds run the interpreters about 10x slower than release (docs/plugins.md#measurements).
        .args(["--plugin-timeout-ms", "2000"])
        .env_clear()
        .env("ACCESS_KEY_ID", crate::common::DEMO_KEY_ID)
        .env("SECRET_ACCESS_KEY", crate::common::DEMO_KEY_SECRET)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wrapped at once, so a failed start still kills and reaps the process.
    let mut serve = Serve(child);
    let mut lines = BufReader::new(serve.0.stderr.take().unwrap()).lines();
    // Generous: without the precompiled cache (plain `cargo test`) the debug binary compiles both (~60 s).
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) if line.contains("serving the CSI provider API") => {
                // Keep draining stderr so the process never blocks on a full pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return serve;
            }
            Some(Ok(line)) => seen.push(line),
            _ => break,
        }
    }
    panic!("serve did not start:\n{}", seen.join("\n"));
}

async fn mount(socket: &Path, objects: &str) -> Result<MountResponse, tonic::Status> {
    let attrs: BTreeMap<&str, &str> = [
        ("objects", objects),
        ("region", "cn-hangzhou"),
        ("csi.storage.k8s.io/pod.name", "web-0"),
        ("csi.storage.k8s.io/pod.namespace", "default"),
        (
            "csi.storage.k8s.io/pod.uid",
            "5a1f0a2c-0000-4000-8000-000000000001",
        ),
        ("csi.storage.k8s.io/serviceAccount.name", "web"),
        ("secretProviderClass", "polyglot"),
    ]
    .into_iter()
    .collect();
    let mut client = client::connect(socket).await.unwrap();
    client
        .mount(MountRequest {
            attributes: serde_json::to_string(&attrs).unwrap(),
            secrets: String::new(),
            target_path: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/v/mount".into(),
            permission: "420".into(),
            current_object_version: vec![],
        })
        .await
        .map(|r| r.into_inner())
}

fn file(resp: &MountResponse, path: &str) -> (i32, String) {
    let f = resp
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path} in {:?}", paths(resp)));
    (f.mode, String::from_utf8(f.contents.clone()).unwrap())
}

fn paths(resp: &MountResponse) -> Vec<&str> {
    let mut p: Vec<&str> = resp.files.iter().map(|f| f.path.as_str()).collect();
    p.sort();
    p
}

/// Both languages in one mount over gRPC against the emulator, then a bad config (refused before any fetch,
/// every field named) and a secret without the needed fields (named, values never shown). One process for all
/// three: starting it loads both interpreters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_and_javascript_plugins_mount_through_grpc() {
    let emulator = acs_emulator::start(acs_emulator::EmulatorConfig {
        seed: demo_seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let _serve = serve(dir.path(), &emulator.base_url());
    let socket = dir.path().join("alibabacloud.sock");

    let objects = r#"
- objectName: app/db
  objectAlias: db
  transforms:
    - plugin: py-db-ini
      config: {output: my.cnf, settings: {ssl-mode: REQUIRED}, mode: 384}
- objectName: app/db
  objectAlias: spring
  transforms:
    - plugin: js-spring-datasource
      config: {database: orders, params: {sslmode: require}, keepInput: true}
- objectName: demo-rds
  transforms:
    - plugin: py-db-ini
      config: {output: rds.ini, section: mysql, keys: {user: AccountName, password: AccountPassword}, quote: false}
"#;
    let resp = mount(&socket, objects)
        .await
        .expect("mount with Python and JavaScript plugins");
    assert_eq!(
        paths(&resp),
        ["application.yaml", "my.cnf", "rds.ini", "spring"]
    );
    assert_eq!(
        file(&resp, "my.cnf"),
        (
            0o600,
            "[client]\nuser = \"app\"\npassword = \"demo-pass-v2\"\nhost = \"db.demo.internal\"\n\
             port = \"5432\"\nssl-mode = REQUIRED\n"
                .to_string()
        ),
        "the INI text and the plugin's mode"
    );
    assert_eq!(
        file(&resp, "application.yaml").1,
        "spring:\n  datasource:\n    url: \"jdbc:postgresql://db.demo.internal:5432/orders?sslmode=require\"\n    \
         username: \"app\"\n    password: \"demo-pass-v2\"\n"
    );
    assert!(
        file(&resp, "spring").1.starts_with("{\"username\":\"app\""),
        "keepInput passes the secret on"
    );
    assert_eq!(
        file(&resp, "rds.ini").1,
        "[mysql]\npassword = demo-rds-pass\nuser = demo\n",
        "config maps reach the plugin as JSON with sorted keys"
    );

    let fetched = emulator.calls("GetSecretValue");
    let bad_config = r#"
- objectName: app/db
  transforms:
    - plugin: py-db-ini
      config: {section: "a]b", mode: 1000, colour: blue}
- objectName: app/api-token
  transforms:
    - plugin: js-spring-datasource
      config: {vendor: oracle, port: 0}
"#;
    let err = mount(&socket, bad_config)
        .await
        .expect_err("invalid configs");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    for part in [
        "plugin \"py-db-ini\"",
        "`colour`: unknown field",
        "`section`:",
        "`mode`: must be an integer from 0 to 511",
        "plugin \"js-spring-datasource\"",
        "`vendor`: must be one of postgresql, mysql, sqlserver",
        "`port`: must be an integer from 1 to 65535",
    ] {
        assert!(
            err.message().contains(part),
            "{part:?} missing in: {}",
            err.message()
        );
    }
    assert_eq!(
        emulator.calls("GetSecretValue"),
        fetched,
        "nothing is fetched for a bad config"
    );

    // The RDS secret has no host and no database name.
    let bad_input = "- objectName: demo-rds\n  transforms:\n    - plugin: js-spring-datasource\n";
    let err = mount(&socket, bad_input)
        .await
        .expect_err("the secret lacks fields");
    let msg = err.message();
    // The host's redaction also hides `demo` (the secret's user name) inside the file name `demo-rds`.
    assert!(
        msg.contains("invalid input")
            && msg.contains("none of the fields `host` is in `")
            && msg.contains("none of the fields `dbname`, `database` is in `"),
        "{msg}"
    );
    assert!(!msg.contains("demo-rds-pass"), "{msg}");
}

/// `plugin list` and `plugin run` as a plugin author runs them. By name from the plugin directories rather than by
/// file, so the debug binary loads the shared precompiled cache instead of compiling each interpreter (about 30 s).
#[test]
fn plugin_list_and_run_work_for_each_language() {
    let dir = polyglot_dir();
    let input = tempfile::tempdir().unwrap();
    let secret = input.path().join("db-credentials");
    std::fs::write(
        &secret,
        r#"{"username":"app","password":"p@ss","host":"db","port":3306,"dbname":"shop"}"#,
    )
    .unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
            .env_clear()
            .args(args)
            .arg("--plugin-dir")
            .arg(&dir)
            .arg("--plugin-cache-dir")
            .arg(plugin_cache_dir())
            .args(["--plugin-timeout-ms", "2000"])
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
        stdout + &stderr
    };
    let listed = cli(&["plugin", "list"]);
    for name in [PY, JS] {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(name) && l.contains("0.1.0")),
            "{listed}"
        );
    }
    for (name, config, file, expected) in [
        (
            PY,
            "{section: mysql, quote: false}",
            "db.ini",
            "[mysql]\nuser = app\npassword = p@ss\nhost = db\nport = 3306\n",
        ),
        (
            JS,
            "{vendor: mysql}",
            "application.yaml",
            "spring:\n  datasource:\n    url: \"jdbc:mysql://db:3306/shop\"\n    username: \"app\"\n    password: \"p@ss\"\n",
        ),
    ] {
        let out = input.path().join(name);
        let ran = cli(&[
            "plugin",
            "run",
            name,
            "--config",
            config,
            "--input",
            secret.to_str().unwrap(),
            "--output-dir",
            out.to_str().unwrap(),
        ]);
        assert!(
            ran.contains("wrote"),
            "the log import reaches the host log: {ran}"
        );
        assert_eq!(
            std::fs::read_to_string(out.join(file)).unwrap(),
            expected,
            "{name}"
        );
    }
}
