//! All or nothing: a failed, timed-out or cancelled mount returns no files and leaves an existing volume as it
//! was; concurrent mounts and remounts while the secret rotates never mix versions within one answer.

use crate::common::{self, Options, start, text, versions};
use provider::grpc::v1alpha1::MountRequest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tonic::Code;

/// One object read three ways (raw, two jmesPath files, a template over both), so a mix of versions inside one
/// answer would show as files disagreeing with each other or with the reported version.
const OBJECTS: &str = r#"
- objectName: app/db
  jmesPath:
    - {path: username, objectAlias: user}
    - {path: password, objectAlias: pw}
  transforms:
    - plugin: template
      config: {template: "{{ username }}:{{ password }}", output: dsn, keepInput: true, input: app_db}
- objectName: app/api-token
"#;

fn rotation(n: usize) -> String {
    serde_json::json!({"username": format!("user-{n}"), "password": format!("rotated-password-{n}")})
        .to_string()
}

/// The version number an answer comes from, or a description of the mix.
fn single_version(resp: &provider::grpc::v1alpha1::MountResponse) -> Result<usize, String> {
    let reported = versions(resp)
        .get("app_db")
        .cloned()
        .ok_or("no version for app_db")?;
    let n: usize = reported
        .strip_prefix("rot-")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("unexpected version {reported}"))?;
    let seen = [
        text(resp, "app_db").contains(&format!("\"rotated-password-{n}\"")),
        text(resp, "pw") == format!("rotated-password-{n}"),
        text(resp, "user") == format!("user-{n}"),
        text(resp, "dsn") == format!("user-{n}:rotated-password-{n}"),
    ];
    if seen.iter().all(|s| *s) {
        Ok(n)
    } else {
        Err(format!(
            "version {reported} but files app_db={:?} pw={:?} user={:?} dsn={:?}",
            text(resp, "app_db"),
            text(resp, "pw"),
            text(resp, "user"),
            text(resp, "dsn")
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_mounts_during_rotation_never_mix_versions() {
    let env = Arc::new(start(Options::default()).await);
    env.emulator
        .put_secret_value("app/db", "rot-0", &rotation(0))
        .unwrap();
    let params = [("objects", OBJECTS), ("region", "cn-hangzhou")];

    // Rotate continuously while mounts run.
    let stop = Arc::new(AtomicBool::new(false));
    let rotations = Arc::new(AtomicUsize::new(0));
    let rotator = {
        let (env, stop, rotations) = (env.clone(), stop.clone(), rotations.clone());
        tokio::spawn(async move {
            let mut n = 1;
            while !stop.load(Ordering::SeqCst) && n < 10_000 {
                env.emulator
                    .put_secret_value("app/db", &format!("rot-{n}"), &rotation(n))
                    .unwrap();
                rotations.store(n, Ordering::SeqCst);
                n += 1;
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for _ in 0..48 {
        let env = env.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            // Remounts of the same volume: the same request again, as the driver's rotation reconciler sends it.
            for _ in 0..2 {
                let resp = env.mount(&params, "").await.expect("mount succeeds");
                seen.push(single_version(&resp));
            }
            seen
        }));
    }
    let mut versions_seen = BTreeSet::new();
    let mut mixed = Vec::new();
    for t in tasks {
        for r in t.await.unwrap() {
            match r {
                Ok(n) => {
                    versions_seen.insert(n);
                }
                Err(e) => mixed.push(e),
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    rotator.await.unwrap();
    assert!(
        mixed.is_empty(),
        "answers mixing versions:\n{}",
        mixed.join("\n")
    );
    assert!(
        versions_seen.len() >= 2,
        "the secret rotated {} times but every answer saw the same version {versions_seen:?}; the test proves nothing",
        rotations.load(Ordering::SeqCst)
    );
    eprintln!(
        "96 mounts, {} rotations, {} distinct versions seen, none mixed",
        rotations.load(Ordering::SeqCst),
        versions_seen.len()
    );
    Arc::into_inner(env).unwrap().stop().await;
}

#[tokio::test]
async fn a_mount_failing_on_one_object_returns_no_files() {
    let env = start(Options::default()).await;
    let objects = "- objectName: app/db\n- objectName: app/api-token\n- objectName: app/missing\n";
    let err = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(err.message().contains("app/missing"), "{}", err.message());
    // Two objects were fetched, but none of them reaches the driver: no partial volume.
    assert!(env.emulator.calls("GetSecretValue") >= 3);
    assert!(!err.message().contains("demo-pass"), "{}", err.message());
    env.stop().await;
}

#[tokio::test]
async fn a_cancelled_mount_is_abandoned_and_the_server_carries_on() {
    let env = start(Options::default()).await;
    env.emulator.set_latency(Duration::from_millis(1500));
    let attrs = serde_json::json!({
        "objects": "- objectName: app/db",
        "region": "cn-hangzhou",
        "csi.storage.k8s.io/pod.namespace": "default",
        "csi.storage.k8s.io/pod.name": "web-0",
    })
    .to_string();
    let request = || MountRequest {
        attributes: attrs.clone(),
        secrets: String::new(),
        target_path: "/tmp/x".into(),
        permission: "420".into(),
        current_object_version: vec![],
    };
    // The driver's deadline (grpc-timeout) passes first.
    let mut client = env.client().await;
    let mut req = tonic::Request::new(request());
    req.set_timeout(Duration::from_millis(300));
    let err = client.mount(req).await.unwrap_err();
    assert!(
        matches!(err.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{err:?}"
    );
    // The driver drops the call (its context is cancelled) while the fetch is in flight.
    let mut client = env.client().await;
    let dropped = tokio::time::timeout(Duration::from_millis(300), client.mount(request())).await;
    assert!(dropped.is_err(), "the mount cannot have finished yet");
    // Neither left anything behind that blocks the next mount of the same volume.
    env.emulator.set_latency(Duration::ZERO);
    let resp = env
        .mount(
            &[
                ("objects", "- objectName: app/db"),
                ("region", "cn-hangzhou"),
            ],
            "",
        )
        .await
        .expect("the server still mounts");
    assert_eq!(resp.files.len(), 1);
    env.stop().await;
}

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            let meta = p.symlink_metadata().unwrap();
            if meta.is_symlink() {
                out.insert(
                    rel,
                    std::fs::read_link(&p)
                        .unwrap()
                        .display()
                        .to_string()
                        .into_bytes(),
                );
            } else if meta.is_dir() {
                stack.push(p);
                out.insert(rel, Vec::new());
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn cli_mount(env: &common::Env, spc: &Path, target: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .arg("mount")
        .arg("--spc")
        .arg(spc)
        .arg("--target")
        .arg(target)
        .args(["--kms-endpoint", &env.emulator.base_url()])
        .args(["--oos-endpoint", &env.emulator.base_url()])
        .arg("--plugin-dir")
        .arg(common::plugin_dir())
        .arg("--plugin-cache-dir")
        .arg(common::plugin_cache_dir())
        .args(["--plugin-timeout-ms", "2000"])
        .args(["--ecs-metadata-endpoint", "http://127.0.0.1:9"])
        .args(extra)
        .env_clear()
        .env("ACCESS_KEY_ID", common::DEMO_KEY_ID)
        .env("SECRET_ACCESS_KEY", common::DEMO_KEY_SECRET)
        .output()
        .unwrap()
}

/// The `mount` command over an existing volume: a failure, a timeout or a kill leaves it exactly as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_timed_out_remount_leaves_the_volume_as_it_was() {
    let env = start(Options::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("volume");
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "region: cn-hangzhou\nobjects: |\n  - objectName: app/db\n    jmesPath: [{path: password, objectAlias: pw}]\n",
    )
    .unwrap();
    let out = cli_mount(&env, &good, &target, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(target.join("pw")).unwrap(),
        "demo-pass-v2"
    );
    let before = snapshot(&target);

    // The secret rotates, but the remount fails on a second object: the old version stays, whole.
    env.emulator
        .put_secret_value("app/db", "rot-1", &rotation(1))
        .unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "region: cn-hangzhou\nobjects: |\n  - objectName: app/db\n    jmesPath: [{path: password, objectAlias: pw}]\n  - objectName: app/missing\n",
    )
    .unwrap();
    let out = cli_mount(&env, &bad, &target, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("app/missing"));
    assert_eq!(
        snapshot(&target),
        before,
        "a failed remount changed the volume"
    );

    // The remount runs out of time while fetching.
    env.emulator.set_latency(Duration::from_millis(2000));
    let out = cli_mount(&env, &good, &target, &["--timeout", "300ms"]);
    assert!(!out.status.success());
    assert_eq!(
        snapshot(&target),
        before,
        "a timed-out remount changed the volume"
    );

    // The remount is killed mid-flight.
    let mut child = Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .arg("mount")
        .arg("--spc")
        .arg(&good)
        .arg("--target")
        .arg(&target)
        .args(["--kms-endpoint", &env.emulator.base_url()])
        .arg("--plugin-dir")
        .arg(common::plugin_dir())
        .args(["--ecs-metadata-endpoint", "http://127.0.0.1:9"])
        .env_clear()
        .env("ACCESS_KEY_ID", common::DEMO_KEY_ID)
        .env("SECRET_ACCESS_KEY", common::DEMO_KEY_SECRET)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        snapshot(&target),
        before,
        "a killed remount changed the volume"
    );

    // A successful remount then moves the whole volume to the new version at once.
    env.emulator.set_latency(Duration::ZERO);
    let out = cli_mount(&env, &good, &target, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(target.join("pw")).unwrap(),
        "rotated-password-1"
    );
    assert!(
        std::fs::read_to_string(target.join("app_db"))
            .unwrap()
            .contains("user-1")
    );
    env.stop().await;
}
