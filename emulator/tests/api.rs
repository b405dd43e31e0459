//! KMS and OOS behaviour as a client sees it: versions, stages, ARNs, binary data,
//! permissions, error codes, plus call counting, latency and fault injection.

mod common;

use std::time::{Duration, Instant};

use acs_emulator::Fault;
use common::*;

#[tokio::test]
async fn get_secret_value_returns_acscurrent_with_the_sdk_field_names() {
    let emu = emulator().await;
    let r = send_v1(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "app/db-password")]),
    )
    .await;
    let b = r.ok();
    assert_eq!(r.content_type, "application/json;charset=utf-8");
    assert_eq!(b["SecretName"], "app/db-password");
    assert_eq!(b["SecretType"], "Generic");
    assert_eq!(b["SecretDataType"], "text");
    assert_eq!(b["VersionId"], "v2");
    assert_eq!(
        b["VersionStages"],
        serde_json::json!({"VersionStage": ["ACSCurrent"]})
    );
    assert_eq!(b["CreateTime"], "2024-06-01T10:00:00Z");
    let data: serde_json::Value = serde_json::from_str(b["SecretData"].as_str().unwrap()).unwrap();
    assert_eq!(data["password"], "s3cr3t-v2");
    assert_eq!(data["port"], 5432);
    assert_eq!(b["RequestId"].as_str().unwrap().len(), 36);
    assert!(b.get("ExtendedConfig").is_none() && b.get("AutomaticRotation").is_none());
}

#[tokio::test]
async fn stages_and_version_ids_select_versions() {
    let emu = emulator().await;
    let get = |p: &'static [(&'static str, &'static str)]| {
        let emu = &emu;
        async move { send_v3(emu, &ADMIN, &Req::kms(p)).await }
    };
    let prev = get(&[
        ("SecretName", "app/db-password"),
        ("VersionStage", "ACSPrevious"),
    ])
    .await;
    assert_eq!(prev.ok()["VersionId"], "v1");
    assert_eq!(prev.ok()["VersionStages"]["VersionStage"][0], "ACSPrevious");
    // An explicit VersionId without a stage reaches versions that carry no stage at all.
    let old = get(&[("SecretName", "app/db-password"), ("VersionId", "v0")]).await;
    assert_eq!(old.ok()["SecretData"], "retired-value");
    assert_eq!(
        old.ok()["VersionStages"]["VersionStage"],
        serde_json::json!([])
    );
    let both = get(&[
        ("SecretName", "app/db-password"),
        ("VersionId", "v1"),
        ("VersionStage", "ACSPrevious"),
    ])
    .await;
    assert_eq!(both.ok()["VersionId"], "v1");
    get(&[
        ("SecretName", "app/db-password"),
        ("VersionId", "v1"),
        ("VersionStage", "ACSCurrent"),
    ])
    .await
    .err(404, "Forbidden.ResourceNotFound");
    get(&[
        ("SecretName", "app/db-password"),
        ("VersionStage", "ACSPending"),
    ])
    .await
    .err(404, "Forbidden.ResourceNotFound");
    get(&[("SecretName", "no/such-secret")])
        .await
        .err(404, "Forbidden.ResourceNotFound");
    let missing = get(&[("VersionStage", "ACSCurrent")]).await;
    missing.err(400, "MissingParameter");
    assert!(missing.message().contains("SecretName"));
}

#[tokio::test]
async fn arns_resolve_only_for_the_seeded_account_and_region() {
    let emu = emulator().await;
    let arn = format!("acs:kms:cn-hangzhou:{ACCOUNT}:secret/app/db-password");
    let r = send_v1(&emu, &ADMIN, &Req::kms(&[("SecretName", &arn)])).await;
    assert_eq!(r.ok()["SecretName"], "app/db-password");
    assert_eq!(r.ok()["VersionId"], "v2");
    for wrong in [
        "acs:kms:cn-hangzhou:999:secret/app/db-password".to_owned(),
        format!("acs:kms:cn-beijing:{ACCOUNT}:secret/app/db-password"),
        format!("acs:kms:cn-hangzhou:{ACCOUNT}:key/app/db-password"),
    ] {
        send_v1(&emu, &ADMIN, &Req::kms(&[("SecretName", &wrong)]))
            .await
            .err(404, "Forbidden.ResourceNotFound");
    }
}

#[tokio::test]
async fn binary_secrets_come_back_base64_as_seeded() {
    let emu = emulator().await;
    let r = send_v3(&emu, &ADMIN, &Req::kms(&[("SecretName", "bin/cert")])).await;
    assert_eq!(r.ok()["SecretDataType"], "binary");
    assert_eq!(r.ok()["SecretData"], "AAEC//5kZW1v");
}

#[tokio::test]
async fn extended_config_and_rotation_fields_for_managed_secrets() {
    let emu = emulator().await;
    let r = send_v3(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "rds/creds"), ("FetchExtendedConfig", "True")]),
    )
    .await;
    let b = r.ok();
    assert_eq!(b["SecretType"], "Rds");
    assert_eq!(b["AutomaticRotation"], "Enabled");
    assert_eq!(b["RotationInterval"], "604800s");
    let cfg: serde_json::Value =
        serde_json::from_str(b["ExtendedConfig"].as_str().unwrap()).unwrap();
    assert_eq!(cfg["DBInstanceId"], "rm-test");
    let plain = send_v3(&emu, &ADMIN, &Req::kms(&[("SecretName", "rds/creds")])).await;
    assert!(plain.ok().get("ExtendedConfig").is_none());
    let bad = send_v3(
        &emu,
        &ADMIN,
        &Req::kms(&[
            ("SecretName", "rds/creds"),
            ("FetchExtendedConfig", "maybe"),
        ]),
    )
    .await;
    bad.err(400, "InvalidParameter");
    assert!(bad.message().contains("FetchExtendedConfig"));
}

#[tokio::test]
async fn dry_run_validates_without_returning_data() {
    let emu = emulator().await;
    let r = send_v1(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "app/db-password"), ("DryRun", "true")]),
    )
    .await;
    r.err(400, "DryRunOperationError");
    assert!(!r.body.to_string().contains("s3cr3t"));
    send_v1(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "nope"), ("DryRun", "true")]),
    )
    .await
    .err(404, "Forbidden.ResourceNotFound");
}

#[tokio::test]
async fn permission_lists_limit_what_a_key_reads() {
    let emu = emulator().await;
    send_v1(
        &emu,
        &LIMITED,
        &Req::kms(&[("SecretName", "app/db-password")]),
    )
    .await
    .ok();
    let arn = format!("acs:kms:cn-hangzhou:{ACCOUNT}:secret/app/db-password");
    send_v1(&emu, &LIMITED, &Req::kms(&[("SecretName", &arn)]))
        .await
        .ok();
    send_v3(&emu, &LIMITED, &Req::kms(&[("SecretName", "team-a/token")]))
        .await
        .ok();
    let denied = send_v3(&emu, &LIMITED, &Req::kms(&[("SecretName", "bin/cert")])).await;
    denied.err(403, "Forbidden.NoPermission");
    assert_eq!(
        denied.message(),
        "This operation is forbidden by permission system."
    );
    // Denied even when the secret does not exist: no existence oracle.
    send_v3(&emu, &LIMITED, &Req::kms(&[("SecretName", "zzz")]))
        .await
        .err(403, "Forbidden.NoPermission");
    let p = |n: &'static str| {
        Req::oos(
            "GetSecretParameter",
            &[("Name", n), ("WithDecryption", "true")],
        )
    };
    send_v1(&emu, &LIMITED, &p("team-param")).await.ok();
    send_v1(&emu, &LIMITED, &p("my-secret-param"))
        .await
        .err(403, "Forbidden.NoPermission");
}

#[tokio::test]
async fn oos_secret_parameters_versions_and_decryption() {
    let emu = emulator().await;
    let get = |p: &'static [(&'static str, &'static str)]| {
        let emu = &emu;
        async move { send_v3(emu, &ADMIN, &Req::oos("GetSecretParameter", p)).await }
    };
    let latest = get(&[("Name", "my-secret-param"), ("WithDecryption", "True")]).await;
    let p = &latest.ok()["Parameter"];
    assert_eq!(p["Name"], "my-secret-param");
    assert_eq!(p["Type"], "Secret");
    assert_eq!(p["Value"], "param-value-v2");
    assert_eq!(p["ParameterVersion"], 2);
    assert!(p["Id"].as_str().unwrap().starts_with("p-"));
    assert!(p["KeyId"].is_string());
    let v1 = get(&[
        ("Name", "my-secret-param"),
        ("ParameterVersion", "1"),
        ("WithDecryption", "true"),
    ])
    .await;
    assert_eq!(v1.ok()["Parameter"]["Value"], "param-value-v1");
    assert_eq!(v1.ok()["Parameter"]["ParameterVersion"], 1);
    let sealed = get(&[("Name", "my-secret-param")]).await;
    assert_eq!(sealed.ok()["Parameter"]["Value"], "");
    get(&[("Name", "my-secret-param"), ("ParameterVersion", "3")])
        .await
        .err(404, "EntityNotExists.Parameter");
    get(&[("Name", "my-secret-param"), ("ParameterVersion", "one")])
        .await
        .err(400, "InvalidParameter");
    get(&[("Name", "no-such-param")])
        .await
        .err(404, "EntityNotExists.Parameter");
    get(&[("Name", "plain-param")])
        .await
        .err(404, "EntityNotExists.Parameter");
    get(&[]).await.err(400, "MissingParameter");
}

#[tokio::test]
async fn oos_plain_parameters() {
    let emu = emulator().await;
    let r = send_v1(
        &emu,
        &ADMIN,
        &Req::oos("GetParameter", &[("Name", "plain-param")]),
    )
    .await;
    assert_eq!(r.ok()["Parameter"]["Value"], "plain-v2");
    assert_eq!(r.ok()["Parameter"]["Type"], "String");
    assert!(r.ok()["Parameter"].get("KeyId").is_none());
    let v1 = send_v1(
        &emu,
        &ADMIN,
        &Req::oos(
            "GetParameter",
            &[("Name", "plain-param"), ("ParameterVersion", "1")],
        ),
    )
    .await;
    assert_eq!(v1.ok()["Parameter"]["Value"], "plain-v1");
    let list = send_v1(
        &emu,
        &ADMIN,
        &Req::oos("GetParameter", &[("Name", "list-param")]),
    )
    .await;
    assert_eq!(list.ok()["Parameter"]["Type"], "StringList");
    assert_eq!(list.ok()["Parameter"]["Value"], "a,b,c");
    send_v1(
        &emu,
        &ADMIN,
        &Req::oos("GetParameter", &[("Name", "my-secret-param")]),
    )
    .await
    .err(404, "EntityNotExists.Parameter");
}

#[tokio::test]
async fn unknown_actions_and_versions_are_named() {
    let emu = emulator().await;
    let r = send_v1(&emu, &ADMIN, &Req::new("CreateSecret", "2016-01-20", &[])).await;
    r.err(404, "InvalidAction.NotFound");
    assert!(r.message().contains("CreateSecret"));
    let r = send_v1(&emu, &ADMIN, &Req::new("GetSecretValue", "2099-01-01", &[])).await;
    r.err(400, "InvalidVersion");
    assert!(r.message().contains("2099-01-01"));
}

#[tokio::test]
async fn calls_are_counted_per_action_and_name_and_can_be_reset() {
    let emu = emulator().await;
    for _ in 0..3 {
        send_v3(
            &emu,
            &ADMIN,
            &Req::kms(&[("SecretName", "app/db-password")]),
        )
        .await
        .ok();
    }
    send_v3(&emu, &ADMIN, &Req::kms(&[("SecretName", "bin/cert")]))
        .await
        .ok();
    send_v1(
        &emu,
        &ADMIN,
        &Req::oos("GetParameter", &[("Name", "plain-param")]),
    )
    .await
    .ok();
    assert_eq!(emu.calls("GetSecretValue"), 4);
    assert_eq!(emu.calls_for("GetSecretValue", "app/db-password"), 3);
    assert_eq!(emu.calls_for("GetSecretValue", "bin/cert"), 1);
    assert_eq!(emu.calls("GetParameter"), 1);
    assert_eq!(emu.calls("GetSecretParameter"), 0);
    emu.reset_calls();
    assert_eq!(emu.calls("GetSecretValue"), 0);
}

#[tokio::test]
async fn latency_delays_every_call() {
    let emu = emulator().await;
    emu.set_latency(Duration::from_millis(1000));
    let start = Instant::now();
    send_v3(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "app/db-password")]),
    )
    .await
    .ok();
    assert!(start.elapsed() >= Duration::from_millis(1000));
    emu.set_latency(Duration::ZERO);
    let start = Instant::now();
    send_v3(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "app/db-password")]),
    )
    .await
    .ok();
    assert!(start.elapsed() < Duration::from_millis(1000));
}

#[tokio::test]
async fn injected_faults_fail_the_next_calls_then_clear() {
    let emu = emulator().await;
    emu.inject_fault(Fault::throttling(Some("GetSecretValue"), 2));
    let req = || Req::kms(&[("SecretName", "app/db-password")]);
    send_v3(&emu, &ADMIN, &req())
        .await
        .err(400, "Rejected.Throttling");
    send_v1(
        &emu,
        &ADMIN,
        &Req::oos("GetParameter", &[("Name", "plain-param")]),
    )
    .await
    .ok();
    send_v3(&emu, &ADMIN, &req())
        .await
        .err(400, "Rejected.Throttling");
    send_v3(&emu, &ADMIN, &req()).await.ok();
    emu.inject_fault(Fault::internal_failure(None, 5));
    send_v3(&emu, &ADMIN, &req())
        .await
        .err(500, "InternalFailure");
    emu.clear_faults();
    send_v3(&emu, &ADMIN, &req()).await.ok();
    assert_eq!(emu.calls("GetSecretValue"), 5);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let emu = emulator().await;
    let url = emu.base_url();
    emu.shutdown().await.unwrap();
    assert!(
        reqwest::Client::new()
            .post(format!("{url}/"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn secrets_and_parameters_can_be_rotated_while_running() {
    let emu = emulator().await;
    let get = |stage: &'static str| {
        let emu = &emu;
        async move {
            send_v3(
                emu,
                &ADMIN,
                &Req::kms(&[("SecretName", "app/db-password"), ("VersionStage", stage)]),
            )
            .await
        }
    };
    emu.put_secret_value("app/db-password", "v3", "rotated")
        .unwrap();
    let current = get("ACSCurrent").await;
    assert_eq!(
        (
            current.ok()["VersionId"].as_str(),
            current.ok()["SecretData"].as_str()
        ),
        (Some("v3"), Some("rotated"))
    );
    assert_eq!(get("ACSPrevious").await.ok()["VersionId"], "v2");
    // v1 lost its ACSPrevious label but stays reachable by id.
    let v1 = send_v3(
        &emu,
        &ADMIN,
        &Req::kms(&[("SecretName", "app/db-password"), ("VersionId", "v1")]),
    )
    .await;
    assert_eq!(
        v1.ok()["VersionStages"]["VersionStage"],
        serde_json::json!([])
    );
    assert_eq!(
        emu.put_secret_value("app/db-password", "v3", "again"),
        Err(acs_emulator::UpdateError::DuplicateVersion {
            secret: "app/db-password".into(),
            version_id: "v3".into()
        })
    );
    emu.put_secret_value("brand/new", "n1", "fresh").unwrap();
    let new = send_v1(&emu, &ADMIN, &Req::kms(&[("SecretName", "brand/new")])).await;
    assert_eq!(new.ok()["SecretData"], "fresh");

    assert_eq!(
        emu.put_secret_parameter("my-secret-param", "param-value-v3"),
        Ok(3)
    );
    let p = send_v3(
        &emu,
        &ADMIN,
        &Req::oos(
            "GetSecretParameter",
            &[("Name", "my-secret-param"), ("WithDecryption", "true")],
        ),
    )
    .await;
    assert_eq!(p.ok()["Parameter"]["ParameterVersion"], 3);
    assert_eq!(p.ok()["Parameter"]["Value"], "param-value-v3");
}
