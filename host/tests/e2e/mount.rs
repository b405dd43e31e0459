//! End to end through the provider's unix socket, with a gRPC client as the CSI driver, against the emulator.

use crate::common::{Options, files, start, text, versions};
use std::time::Duration;
use tonic::Code;

const KMS_AND_OOS: &str = r#"
- objectName: app/db
- objectName: app/db
  objectAlias: db-previous.json
  objectVersionLabel: ACSPrevious
  filePermission: "0600"
- objectName: app/db
  objectAlias: db-v1.json
  objectVersion: v1
- objectName: demo-secret-param
  objectType: oos
- objectName: demo-secret-param
  objectType: oos
  objectAlias: param-v1
  objectVersion: "1"
- objectName: app/tls-key
  objectAlias: tls.key
- objectName: acs:kms:cn-hangzhou:1234567890123456:secret/app/api-token
  objectAlias: api-token
"#;

#[tokio::test]
async fn mounts_kms_and_oos_objects_with_versions_stages_binary_and_modes() {
    let env = start(Options::default()).await;
    let resp = env
        .mount(&[("objects", KMS_AND_OOS), ("region", "cn-hangzhou")], "")
        .await
        .expect("mount succeeds");
    let got = files(&resp);
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        [
            "api-token",
            "app_db",
            "db-previous.json",
            "db-v1.json",
            "demo-secret-param",
            "param-v1",
            "tls.key"
        ]
    );
    assert!(
        text(&resp, "app_db").contains("demo-pass-v2"),
        "ACSCurrent by default"
    );
    assert!(text(&resp, "db-previous.json").contains("demo-pass-v1"));
    assert!(text(&resp, "db-v1.json").contains("demo-pass-v1"));
    assert_eq!(text(&resp, "demo-secret-param"), "demo-param-value-v2");
    assert_eq!(text(&resp, "param-v1"), "demo-param-value-v1");
    assert_eq!(text(&resp, "api-token"), "demo-api-token-0123456789");
    assert_eq!(
        got["tls.key"].1, b"\x00\x01\x02\xff\xfedemo",
        "binary is decoded"
    );
    assert_eq!(got["db-previous.json"].0, 0o600, "filePermission");
    assert_eq!(got["app_db"].0, 0o644, "the request's permission");

    let v = versions(&resp);
    assert_eq!(v["app_db"], "v2");
    assert_eq!(v["db-previous.json"], "v1");
    assert_eq!(
        v["demo-secret-param"], "2",
        "OOS reports its ParameterVersion"
    );
    assert_eq!(v["param-v1"], "1");
    assert_eq!(v.len(), 7, "one version per object");
    env.stop().await;
}

#[tokio::test]
async fn rotation_remount_with_unchanged_versions_returns_the_same_result() {
    let env = start(Options::default()).await;
    let params = [("objects", KMS_AND_OOS), ("region", "cn-hangzhou")];
    let first = env.mount(&params, "").await.unwrap();
    let second = env.mount(&params, "").await.unwrap();
    assert_eq!(files(&first), files(&second));
    assert_eq!(versions(&first), versions(&second));
    env.stop().await;
}

#[tokio::test]
async fn jmes_path_keeps_the_file_and_writes_one_file_per_path() {
    let env = start(Options::default()).await;
    let objects = r#"
- objectName: app/db
  objectAlias: db.json
  filePermission: "0640"
  jmesPath:
    - path: username
      objectAlias: db-user
    - path: port
      objectAlias: db-port
      filePermission: "0600"
"#;
    let resp = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .unwrap();
    let got = files(&resp);
    assert!(
        text(&resp, "db.json").contains("\"username\""),
        "original kept"
    );
    assert_eq!(text(&resp, "db-user"), "app", "strings raw");
    assert_eq!(
        text(&resp, "db-port"),
        "5432",
        "numbers as JSON, not dropped"
    );
    assert_eq!(
        got["db-user"].0, 0o640,
        "jmesPath files inherit the object's mode"
    );
    assert_eq!(got["db-port"].0, 0o600);
    assert_eq!(versions(&resp).len(), 1);
    env.stop().await;
}

#[tokio::test]
async fn all_or_nothing_reports_every_failed_object() {
    let env = start(Options::default()).await;
    let objects = r#"
- objectName: app/db
- objectName: does-not-exist
- objectName: no-such-param
  objectType: oos
"#;
    let err = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .expect_err("a missing object fails the whole mount");
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    let msg = err.message();
    assert!(
        msg.contains("does-not-exist") && msg.contains("Forbidden.ResourceNotFound"),
        "{msg}"
    );
    assert!(
        msg.contains("no-such-param") && msg.contains("EntityNotExists.Parameter"),
        "{msg}"
    );
    assert!(msg.contains("2 of 3"), "{msg}");
    assert!(
        !msg.contains("demo-pass"),
        "no secret value in errors: {msg}"
    );
    env.stop().await;
}

#[tokio::test]
async fn invalid_spc_is_rejected_before_any_backend_call() {
    let env = start(Options::default()).await;
    let objects = r#"
- objectName: app/db
  objectAlias: ../escape
- objectNmae: typo
"#;
    let err = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let msg = err.message();
    assert!(
        msg.contains("objects[0]") && msg.contains("objects[1]"),
        "all errors at once: {msg}"
    );
    assert!(msg.contains("objectNmae"), "{msg}");
    assert_eq!(env.emulator.calls("GetSecretValue"), 0);
    env.stop().await;
}

#[tokio::test]
async fn per_volume_credentials_win_over_the_providers_own() {
    // The provider's env holds a key that may only read app/db; the volume's Secret holds the full demo key.
    let env = start(Options {
        env: [
            ("ACCESS_KEY_ID", "LTAI5tDemoReadDbOnly"),
            ("SECRET_ACCESS_KEY", "DemoReadDbOnly-change-me"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Options::default()
    })
    .await;
    let params = [
        ("objects", "- objectName: app/api-token"),
        ("region", "cn-hangzhou"),
    ];
    let denied = env.mount(&params, "").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("Forbidden.NoPermission"));

    let secrets = serde_json::json!({
        "access_key": crate::common::DEMO_KEY_ID,
        "Access_Secret": crate::common::DEMO_KEY_SECRET,
    })
    .to_string();
    let resp = env
        .mount(&params, &secrets)
        .await
        .expect("volume credential used");
    assert_eq!(text(&resp, "app_api-token"), "demo-api-token-0123456789");
    env.stop().await;
}

#[tokio::test]
async fn a_mount_past_its_deadline_fails_with_deadline_exceeded() {
    let env = start(Options {
        mount_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    env.emulator.set_latency(Duration::from_secs(2));
    let started = std::time::Instant::now();
    let err = env
        .mount(
            &[
                ("objects", "- objectName: app/db"),
                ("region", "cn-hangzhou"),
            ],
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    env.stop().await;
}

#[tokio::test]
async fn version_answers_v1alpha1() {
    let env = start(Options::default()).await;
    let v = env
        .client()
        .await
        .version(provider::grpc::v1alpha1::VersionRequest {
            version: "v1alpha1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.version, "v1alpha1");
    assert_eq!(v.runtime_name, "csi-provider-alibabacloud");
    assert!(!v.runtime_version.is_empty());
    env.stop().await;
}
