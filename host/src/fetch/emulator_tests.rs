//! Interoperability with the project's emulator (`acs-emulator`, loopback only): both signature
//! versions, AK and STS credentials, KMS and OOS, and its injected faults.

use std::time::{Duration, Instant};

use acs_emulator::{EmulatorConfig, Fault, Seed};
use acs_sign::SignatureVersion;
use secrecy::SecretString;

use super::*;
use crate::auth::Credentials;

const SEED: &str = r#"
accessKeys:
  - id: LTAI5tInteropKey
    secret: interop-secret
  - id: STS.InteropKey
    secret: sts-interop-secret
    securityToken: CAIS/interop+token=
  - id: LTAI5tNoRights
    secret: no-rights-secret
    permissions: []
kmsSecrets:
  - name: app/db pass*~+é
    versions:
      - versionId: v1
        data: first
        stages: [ACSPrevious]
      - versionId: v2
        data: second
        stages: [ACSCurrent]
  - name: blob
    versions:
      - versionId: b1
        data: AAEC/w==
        secretDataType: binary
        stages: [ACSCurrent]
oosSecretParameters:
  - name: my-param
    versions: [p-one, p-two]
"#;

fn seed() -> Seed {
    Seed::from_yaml_str(SEED, "interop test").unwrap()
}

fn creds(which: &str) -> Credentials {
    match which {
        "ak" => Credentials::new(
            "LTAI5tInteropKey",
            SecretString::from("interop-secret"),
            "test",
        ),
        "sts" => Credentials::new(
            "STS.InteropKey",
            SecretString::from("sts-interop-secret"),
            "test",
        )
        .with_security_token(SecretString::from("CAIS/interop+token=")),
        _ => Credentials::new(
            "LTAI5tNoRights",
            SecretString::from("no-rights-secret"),
            "test",
        ),
    }
}

fn request(kind: ObjectKind, name: &str, base: &str) -> FetchRequest {
    FetchRequest {
        kind,
        name: name.into(),
        version_id: None,
        version_stage: None,
        region: "cn-hangzhou".into(),
        endpoint: Some(base.into()),
    }
}

fn backend(version: SignatureVersion) -> AlibabaBackend {
    AlibabaBackend::new(FetchConfig {
        signature_version: version,
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
        },
        ..FetchConfig::default()
    })
    .unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

#[tokio::test]
async fn both_signatures_and_both_credential_kinds_are_accepted() {
    let emu = acs_emulator::start(EmulatorConfig {
        seed: seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let base = emu.base_url();
    for version in [SignatureVersion::V1, SignatureVersion::V3] {
        for who in ["ak", "sts"] {
            let b = backend(version);
            let ctx = format!("{version:?} {who}");
            let got = b
                .fetch(
                    &request(ObjectKind::Kms, "app/db pass*~+é", &base),
                    &creds(who),
                    soon(),
                )
                .await;
            let got = got.unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(
                (got.data.as_bytes(), got.version.as_str()),
                (&b"second"[..], "v2"),
                "{ctx}"
            );

            let mut pinned = request(ObjectKind::Kms, "app/db pass*~+é", &base);
            pinned.version_stage = Some("ACSPrevious".into());
            let got = b.fetch(&pinned, &creds(who), soon()).await.unwrap();
            assert_eq!(got.data.as_bytes(), b"first", "{ctx}");

            let got = b
                .fetch(
                    &request(ObjectKind::Kms, "blob", &base),
                    &creds(who),
                    soon(),
                )
                .await
                .unwrap();
            assert_eq!(got.data.as_bytes(), [0u8, 1, 2, 255], "{ctx}");

            let mut param = request(ObjectKind::Oos, "my-param", &base);
            let got = b.fetch(&param, &creds(who), soon()).await.unwrap();
            assert_eq!(
                (got.data.as_bytes(), got.version.as_str()),
                (&b"p-two"[..], "2"),
                "{ctx}"
            );
            param.version_id = Some("1".into());
            let got = b.fetch(&param, &creds(who), soon()).await.unwrap();
            assert_eq!(
                (got.data.as_bytes(), got.version.as_str()),
                (&b"p-one"[..], "1"),
                "{ctx}"
            );
        }
    }
}

#[tokio::test]
async fn emulator_errors_map_to_typed_non_retryable_errors() {
    let emu = acs_emulator::start(EmulatorConfig {
        seed: seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    let base = emu.base_url();
    let b = backend(SignatureVersion::V3);

    let err = b
        .fetch(
            &request(ObjectKind::Kms, "nope", &base),
            &creds("ak"),
            soon(),
        )
        .await
        .unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(
        (api.code.as_deref(), api.status),
        (Some("Forbidden.ResourceNotFound"), 404)
    );
    assert!(api.request_id.is_some());
    assert_eq!(err.attempts(), 1);

    let err = b
        .fetch(
            &request(ObjectKind::Kms, "blob", &base),
            &creds("none"),
            soon(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.api_error().unwrap().status, 403, "{err}");
    assert!(!err.is_retryable());

    let wrong = Credentials::new(
        "LTAI5tInteropKey",
        SecretString::from("wrong-secret"),
        "test",
    );
    let err = b
        .fetch(&request(ObjectKind::Kms, "blob", &base), &wrong, soon())
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("SignatureDoesNotMatch") && !shown.contains("wrong-secret"),
        "{shown}"
    );
}

#[tokio::test]
async fn injected_throttling_and_internal_failures_are_retried() {
    let emu = acs_emulator::start(EmulatorConfig {
        seed: seed(),
        ..Default::default()
    })
    .await
    .unwrap();
    emu.inject_fault(Fault::throttling(Some("GetSecretValue"), 1));
    emu.inject_fault(Fault::internal_failure(Some("GetSecretValue"), 1));
    let b = backend(SignatureVersion::V3);
    let got = b
        .fetch(
            &request(ObjectKind::Kms, "blob", &emu.base_url()),
            &creds("ak"),
            soon(),
        )
        .await
        .unwrap();
    assert_eq!(got.attempts, 3);
    assert_eq!(emu.calls("GetSecretValue"), 3);
}
