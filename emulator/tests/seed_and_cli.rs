//! Seed validation errors and the `acs-emulator` binary's contract with scripts.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use acs_emulator::{EmulatorConfig, Seed, SeedError};

fn invalid(yaml: &str) -> String {
    match Seed::from_yaml_str(yaml, "test.yaml") {
        Ok(_) => panic!("seed should be rejected:\n{yaml}"),
        Err(e) => {
            // Show the whole chain, as the binary does with anyhow.
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            msg
        }
    }
}

#[test]
fn demo_and_fixture_seeds_are_valid() {
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/emulator/seed.yaml"
    );
    let seed = Seed::from_file(std::path::Path::new(demo)).expect("demo seed is valid");
    assert!(
        seed.access_keys
            .iter()
            .any(|k| k.id == "LTAI5tDemoAccessKey" && k.secret == "DemoSecret-change-me")
    );
    common::fixture_seed();
}

#[test]
fn semantic_problems_are_all_reported_with_their_location() {
    let msg = invalid(
        r#"
accessKeys:
  - {id: AK1, secret: s}
  - {id: AK1, secret: ""}
kmsSecrets:
  - name: a
    versions:
      - {versionId: v1, data: x, stages: [ACSPrevious]}
  - name: b
    versions:
      - {versionId: v1, data: "not base64!", secretDataType: binary, stages: [ACSCurrent]}
      - {versionId: v1, data: y, stages: [ACSCurrent], createTime: yesterday}
  - name: a
    versions: []
oosSecretParameters:
  - {name: p, versions: []}
oosParameters:
  - {name: p, versions: [x]}
"#,
    );
    for expected in [
        "accessKeys[1] (id \"AK1\").id: duplicate access key id",
        "accessKeys[1] (id \"AK1\").secret: must not be empty",
        "kmsSecrets[0] (name \"a\").versions: no version has stage ACSCurrent",
        "kmsSecrets[1] (name \"b\").versions[0] (versionId \"v1\").data: secretDataType is binary, so data must be standard base64",
        "kmsSecrets[1] (name \"b\").versions[1] (versionId \"v1\").versionId: duplicate version id",
        "stage \"ACSCurrent\" is already on version \"v1\"",
        "createTime: \"yesterday\" is not a UTC timestamp",
        "kmsSecrets[2] (name \"a\").name: duplicate secret name",
        "kmsSecrets[2] (name \"a\").versions: at least one version is required",
        "oosSecretParameters[0] (name \"p\").versions: must list 1 to 100 values",
        "oosParameters[0] (name \"p\").name: duplicate parameter name",
    ] {
        assert!(msg.contains(expected), "missing {expected:?} in:\n{msg}");
    }
    assert!(msg.starts_with("seed test.yaml has 11 error(s)"), "{msg}");
}

#[test]
fn sts_and_ecs_seed_problems_are_all_reported() {
    let msg = invalid(
        r#"
accessKeys: [{id: AK1, secret: s}]
stsCredentialLifetimeSeconds: 0
oidcProviders:
  - {name: "bad/name", issuer: "", audiences: []}
  - {name: ok, issuer: https://issuer, audiences: [sts.aliyuncs.com]}
roles:
  - name: r1
    maxSessionDuration: 100
    externalId: x
    permissions: [""]
    trust:
      accessKeys: [AK1, NOPE]
      oidcProviderArn: acs:ram::1234567890123456:oidc-provider/missing
      oidcSubjects: ["system:serviceaccount:ns:sa"]
  - name: r1
    trust: {oidcProviderArn: "acs:ram::1234567890123456:oidc-provider/ok"}
  - name: r3
    trust: {oidcSubjects: [x]}
ecsMetadata: {roleName: ghost, instanceId: "", credentialLifetimeSeconds: 0, region: "a:b"}
"#,
    );
    for expected in [
        "stsCredentialLifetimeSeconds: 0 is out of range; allowed 1 to 43200",
        "oidcProviders[0] (name \"bad/name\").name: must be 1 to 64 characters",
        "oidcProviders[0] (name \"bad/name\").issuer: must not be empty",
        "oidcProviders[0] (name \"bad/name\").audiences: list at least one",
        "roles[0] (name \"r1\").maxSessionDuration: 100 is out of range; allowed 3600 to 43200",
        "roles[0] (name \"r1\").externalId: must be 2 to 1224 characters",
        "roles[0] (name \"r1\").permissions[0]: empty pattern",
        "roles[0] (name \"r1\").trust.accessKeys[1]: \"NOPE\" is not one of accessKeys[].id",
        "roles[0] (name \"r1\").trust.oidcProviderArn: \"acs:ram::1234567890123456:oidc-provider/missing\" does not name a provider",
        "roles[1] (name \"r1\").name: duplicate role name",
        "roles[1] (name \"r1\").trust.oidcSubjects: list the subjects",
        "roles[2] (name \"r3\").trust.oidcProviderArn: required when oidcSubjects is set",
        "ecsMetadata.roleName: \"ghost\" is not one of roles[].name",
        "ecsMetadata.instanceId: must not be empty",
        "ecsMetadata.credentialLifetimeSeconds: 0 is out of range",
        "ecsMetadata.region: \"a:b\" is not allowed",
    ] {
        assert!(msg.contains(expected), "missing {expected:?} in:\n{msg}");
    }
    assert!(msg.starts_with("seed test.yaml has 16 error(s)"), "{msg}");
}

#[test]
fn unknown_fields_and_bad_enums_name_the_field_and_the_allowed_values() {
    let msg = invalid("kmsSecrets:\n  - name: a\n    versions: []\n    secretTyp: Rds\n");
    assert!(msg.contains("unknown field `secretTyp`"), "{msg}");
    assert!(msg.contains("secretType"), "allowed fields listed: {msg}");
    assert!(msg.contains("line 4"), "{msg}");

    let msg = invalid("kmsSecrets:\n  - name: a\n    secretType: Mysql\n    versions: []\n");
    assert!(msg.contains("unknown variant `Mysql`"), "{msg}");
    assert!(
        msg.contains("Generic") && msg.contains("RAMCredentials"),
        "{msg}"
    );

    let msg = invalid(
        "kmsSecrets:\n  - name: a\n    versions:\n      - {versionId: v, data: x, secretDataType: hex}\n",
    );
    assert!(
        msg.contains("unknown variant `hex`") && msg.contains("binary"),
        "{msg}"
    );

    let msg = invalid("accessKeys:\n  - id: only-id\n");
    assert!(msg.contains("missing field `secret`"), "{msg}");
}

#[test]
fn missing_seed_file_is_named() {
    let err = Seed::from_file(std::path::Path::new("/nonexistent/seed.yaml")).unwrap_err();
    assert!(matches!(err, SeedError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/seed.yaml"));
}

#[test]
fn debug_output_never_shows_secret_values_or_key_secrets() {
    let dbg = format!("{:?}", common::fixture_seed());
    for secret in [
        "TestSecret123",
        "StsSecret",
        "CAIS/token",
        "s3cr3t-v2",
        "param-value-v1",
        "plain-v1",
    ] {
        assert!(!dbg.contains(secret), "{secret} leaked into Debug: {dbg}");
    }
    assert!(dbg.contains("LTAI5tTestKeyId") && dbg.contains("app/db-password"));
}

#[tokio::test]
async fn start_refuses_non_loopback_addresses_unless_allowed() {
    let err = acs_emulator::start(EmulatorConfig {
        listen: Some("0.0.0.0:0".parse().unwrap()),
        ..Default::default()
    })
    .await
    .err()
    .expect("non-loopback refused");
    assert!(err.to_string().contains("non-loopback"), "{err}");
}

#[test]
fn binary_prints_one_listening_line_serves_the_seed_and_logs_no_secrets() {
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/emulator/seed.yaml"
    );
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_acs-emulator"))
        .args(["--listen", "127.0.0.1:0", "--seed", seed])
        // Fires on the fourth GetSecretValue only (every fourth call, once).
        .args([
            "--fault",
            "throttling,action=GetSecretValue,rate=0.25,times=1",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let host = line
        .trim_end()
        .strip_prefix("listening on http://")
        .filter(|h| {
            h.strip_prefix("127.0.0.1:")
                .is_some_and(|p| p.parse::<u16>().is_ok_and(|p| p != 0))
        })
        .map(str::to_owned);
    let results = host.as_ref().map(|host| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let mut out = Vec::new();
            for (secret, token) in [("DemoSecret-change-me", None), ("wrong-secret", None)] {
                out.push(signed_get_secret(host, "LTAI5tDemoAccessKey", secret, token).await);
            }
            out.push(
                signed_get_secret(
                    host,
                    "STS.DemoStsAccessKey",
                    "DemoStsSecret-change-me",
                    Some("CAIS-demo-security-token"),
                )
                .await,
            );
            for _ in 0..2 {
                out.push(
                    signed_get_secret(host, "LTAI5tDemoAccessKey", "DemoSecret-change-me", None)
                        .await,
                );
            }
            out
        })
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();

    assert!(host.is_some(), "unexpected first line {line:?}");
    assert!(
        rest.is_empty(),
        "stdout must hold only the listening line, also got {rest:?}"
    );
    let results = results.unwrap();
    assert_eq!(results[0].0, 200, "{}", results[0].1);
    assert!(results[0].1.contains("demo-pass-v2"));
    assert_eq!(results[1].0, 400);
    assert_eq!(results[2].0, 200, "{}", results[2].1);
    assert_eq!(results[3].0, 400, "{}", results[3].1);
    assert!(
        results[3].1.contains("Rejected.Throttling"),
        "{}",
        results[3].1
    );
    assert_eq!(
        results[4].0, 200,
        "the --fault rule was used up: {}",
        results[4].1
    );
    assert!(
        logs.contains("GetSecretValue") && logs.contains("SignatureDoesNotMatch"),
        "{logs}"
    );
    for secret in [
        "DemoSecret-change-me",
        "DemoStsSecret-change-me",
        "CAIS-demo-security-token",
        "demo-pass",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret} leaked into the logs:\n{logs}"
        );
    }
}

/// GetSecretValue for the demo db secret, signed V1 by the shared client signer.
async fn signed_get_secret(
    host: &str,
    id: &str,
    secret: &str,
    token: Option<&str>,
) -> (u16, String) {
    let rpc = acs_sign::RpcRequest {
        method: "POST".into(),
        host: host.into(),
        action: "GetSecretValue".into(),
        version: "2016-01-20".into(),
        params: vec![("SecretName".into(), "app/db".into())],
        timestamp: common::now_ts(time::Duration::ZERO),
        nonce: uuid::Uuid::new_v4().to_string(),
    };
    let cred = acs_sign::Credential {
        access_key_id: id,
        access_key_secret: secret,
        security_token: token,
    };
    let signed = acs_sign::sign(acs_sign::SignatureVersion::V1, &rpc, Some(&cred));
    let r = reqwest::Client::new()
        .post(format!("http://{host}/?{}", signed.query_string()))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[test]
fn binary_refuses_non_loopback_and_reports_bad_seeds() {
    let out = Command::new(env!("CARGO_BIN_EXE_acs-emulator"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-non-loopback"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "kmsSecrets:\n  - name: x\n    versions: []\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_acs-emulator"))
        .args(["--listen", "127.0.0.1:0", "--seed"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kmsSecrets[0] (name \"x\").versions: at least one version is required"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_acs-emulator"))
        .args(["--listen", "127.0.0.1:0", "--fault", "slow,rate=3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--fault") && err.contains("rate=\"3\"") && err.contains("delay-ms"),
        "{err}"
    );
}

#[test]
fn binary_logs_no_sts_or_metadata_credentials_or_oidc_tokens() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/seed.yaml");
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_acs-emulator"))
        .args(["--listen", "127.0.0.1:0", "--seed", seed])
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let host = line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let token = acs_emulator::jwt::mint(
        "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/c1234567890",
        "system:serviceaccount:default:app",
        "sts.aliyuncs.com",
        time::OffsetDateTime::now_utc().unix_timestamp() + 600,
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bodies: Vec<serde_json::Value> = rt.block_on(async {
        let http = reqwest::Client::new();
        let rpc = acs_sign::RpcRequest {
            method: "POST".into(),
            host: host.clone(),
            action: "AssumeRole".into(),
            version: "2015-04-01".into(),
            params: vec![
                (
                    "RoleArn".into(),
                    "acs:ram::1234567890123456:role/app-role".into(),
                ),
                ("RoleSessionName".into(), "log-check".into()),
            ],
            timestamp: common::now_ts(time::Duration::ZERO),
            nonce: uuid::Uuid::new_v4().to_string(),
        };
        let cred = acs_sign::Credential {
            access_key_id: "LTAI5tTestKeyId",
            access_key_secret: "TestSecret123",
            security_token: None,
        };
        let signed = acs_sign::sign(acs_sign::SignatureVersion::V1, &rpc, Some(&cred));
        let oidc_query = [
            ("Action", "AssumeRoleWithOIDC"),
            ("Version", "2015-04-01"),
            ("RoleArn", "acs:ram::1234567890123456:role/app-role"),
            (
                "OIDCProviderArn",
                "acs:ram::1234567890123456:oidc-provider/ack-rrsa",
            ),
            ("OIDCToken", token.as_str()),
            ("RoleSessionName", "log-check"),
        ];
        let urls = [
            http.post(format!("http://{host}/?{}", signed.query_string())),
            http.get(format!(
                "http://{host}/?{}",
                oidc_query
                    .iter()
                    .map(|(k, v)| format!("{k}={}", acs_sign::percent_encode(v)))
                    .collect::<Vec<_>>()
                    .join("&")
            )),
            http.get(format!(
                "http://{host}/latest/meta-data/ram/security-credentials/ecs-node-role"
            )),
        ];
        let mut out = Vec::new();
        for rb in urls {
            let r = rb.send().await.unwrap();
            assert_eq!(r.status(), 200);
            out.push(serde_json::from_slice(&r.bytes().await.unwrap()).unwrap());
        }
        out
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("AssumeRoleWithOIDC") && logs.contains("metadata call"),
        "{logs}"
    );
    let mut secrets = vec![token];
    for b in &bodies {
        let c = if b["Credentials"].is_object() {
            &b["Credentials"]
        } else {
            b
        };
        for k in ["AccessKeySecret", "SecurityToken"] {
            secrets.push(c[k].as_str().unwrap().to_owned());
        }
    }
    for s in secrets {
        assert!(
            !logs.contains(&s),
            "a credential or token leaked into the logs:\n{logs}"
        );
    }
}
