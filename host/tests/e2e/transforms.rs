//! Transform chains end to end: gRPC Mount → emulator → wasm plugins → files.

use crate::common::{Options, files, plugin_dir, start, text};
use sha2::{Digest, Sha256};
use tonic::Code;

fn digest_of(plugin: &str) -> String {
    hex::encode(Sha256::digest(
        std::fs::read(plugin_dir().join(format!("{plugin}.wasm"))).unwrap(),
    ))
}

#[tokio::test]
async fn chained_transforms_shape_a_json_secret() {
    let env = start(Options::default()).await;
    let objects = r#"
- objectName: app/db
  objectAlias: db
  transforms:
    - plugin: jmespath
      config:
        files:
          conn.json: "{user: username, host: host, port: port}"
    - plugin: format
      config:
        op: json-to-dotenv
        output: db.env
"#;
    let resp = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .expect("mount with a chain");
    let got = files(&resp);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        ["db.env"],
        "the last step's output is mounted"
    );
    let env_file = text(&resp, "db.env");
    assert!(
        env_file.contains("user=app") || env_file.contains("USER=app"),
        "{env_file}"
    );
    assert!(env_file.contains("5432"), "{env_file}");
    assert!(
        !env_file.contains("demo-pass"),
        "the password was not selected"
    );
    env.stop().await;
}

#[tokio::test]
async fn template_plugin_builds_a_connection_string() {
    let env = start(Options::default()).await;
    let objects = r#"
- objectName: app/db
  objectAlias: database-url
  transforms:
    - plugin: template
      config:
        template: "postgresql://{{ username }}:{{ password | urlencode }}@{{ host }}:{{ port }}/app"
        output: database-url
"#;
    let resp = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .unwrap();
    assert_eq!(
        text(&resp, "database-url"),
        "postgresql://app:demo-pass-v2@db.demo.internal:5432/app"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_pinned_digest_must_match_the_loaded_plugin() {
    let env = start(Options::default()).await;
    let good = digest_of("template");
    let spc = |digest: &str| {
        format!(
            r#"
- objectName: app/db
  objectAlias: url
  transforms:
    - plugin: template@sha256:{digest}
      config: {{template: "{{{{ host }}}}", output: url}}
"#
        )
    };
    let ok = env
        .mount(&[("objects", &spc(&good)), ("region", "cn-hangzhou")], "")
        .await
        .expect("matching digest");
    assert_eq!(text(&ok, "url"), "db.demo.internal");

    let wrong = "0".repeat(64);
    let err = env
        .mount(&[("objects", &spc(&wrong)), ("region", "cn-hangzhou")], "")
        .await
        .expect_err("mismatching digest");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains(&wrong) && err.message().contains(&good),
        "{}",
        err.message()
    );
    assert_eq!(
        env.emulator.calls("GetSecretValue"),
        1,
        "the failed mount fetched nothing"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_bad_plugin_config_fails_before_fetching() {
    let env = start(Options::default()).await;
    let objects = r#"
- objectName: app/db
  jmesPath:
    - path: "username[["
      objectAlias: user
"#;
    let err = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(
        err.message().contains("objects[0]") && err.message().contains("jmespath"),
        "{}",
        err.message()
    );
    assert_eq!(env.emulator.calls("GetSecretValue"), 0);
    env.stop().await;
}

#[tokio::test]
async fn a_missing_jmes_path_fails_the_mount_and_names_the_expression() {
    let env = start(Options::default()).await;
    let objects = r#"
- objectName: app/db
  jmesPath:
    - path: no_such_key
      objectAlias: nothing
"#;
    let err = env
        .mount(&[("objects", objects), ("region", "cn-hangzhou")], "")
        .await
        .unwrap_err();
    assert!(err.message().contains("no_such_key"), "{}", err.message());
    assert!(!err.message().contains("demo-pass"), "{}", err.message());
    env.stop().await;
}
