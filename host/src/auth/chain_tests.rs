//! The credential chain against the in-process emulator (STS, ECS metadata, KMS), loopback only.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use acs_emulator::{EmulatorConfig, Handle, Seed};
use futures::StreamExt;
use secrecy::SecretString;

use super::*;
use crate::config::ServiceAccountTokens;
use crate::fetch::{
    AlibabaBackend, Endpoint, EndpointType, FetchConfig, FetchRequest, ObjectKind, RetryPolicy,
    SecretBackend,
};

const ISSUER: &str = "https://oidc-ack.cn-hangzhou.aliyuncs.com/c1";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1";
const APP_ROLE: &str = "acs:ram::1234567890123456:role/app-role";
const PARTNER_ROLE: &str = "acs:ram::1234567890123456:role/partner-role";

fn seed(extra: &str) -> Seed {
    let text = format!(
        r#"
accessKeys:
  - id: LTAI5tProvider
    secret: provider-secret-value
  - id: LTAI5tStranger
    secret: stranger-secret
    permissions: []
kmsSecrets:
  - name: app/db
    versions: [{{versionId: v1, data: app-db-value, stages: [ACSCurrent]}}]
  - name: team-x
    versions: [{{versionId: v1, data: team-value, stages: [ACSCurrent]}}]
oidcProviders:
  - name: ack-rrsa-c1
    issuer: {ISSUER}
    audiences: [sts.aliyuncs.com]
roles:
  - name: app-role
    permissions: ["app/*"]
    trust:
      accessKeys: [LTAI5tProvider]
      oidcProviderArn: {PROVIDER}
      oidcSubjects: ["system:serviceaccount:default:app"]
  - name: partner-role
    externalId: partner-ext
    permissions: ["team-*"]
    trust:
      accessKeys: [LTAI5tProvider]
  - name: ecs-node-role
    permissions: ["app/*"]
{extra}
"#
    );
    Seed::from_yaml_str(&text, "auth test").unwrap()
}

async fn emulator(extra: &str) -> Handle {
    acs_emulator::start(EmulatorConfig {
        seed: seed(extra),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn backend(emu: &Handle) -> AlibabaBackend {
    AlibabaBackend::new(FetchConfig {
        kms_endpoint: Some(emu.base_url()),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        },
        ..FetchConfig::default()
    })
    .unwrap()
}

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn auth(emu: &Handle, env: &[(&str, &str)]) -> Authenticator {
    let vars = vars(env);
    let mut settings = AuthSettings::from_map(&vars).unwrap();
    settings.sts_endpoint = Some(emu.base_url());
    settings.ecs_endpoint = emu.base_url();
    Authenticator::new(
        settings,
        EnvCredentials::from_map(&vars),
        &backend(emu),
        EndpointType::Vpc,
    )
    .unwrap()
}

fn no_volume() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

const AK: [(&str, &str); 3] = [
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tProvider"),
    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "provider-secret-value"),
    ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
];

/// Reads `name` from KMS with `creds`: what a mount would see.
async fn read(emu: &Handle, creds: &Credentials, name: &str) -> Result<String, String> {
    let req = FetchRequest {
        kind: ObjectKind::Kms,
        name: name.into(),
        version_id: None,
        version_stage: None,
        region: "cn-hangzhou".into(),
        endpoint: None,
    };
    backend(emu)
        .fetch(&req, creds, deadline())
        .await
        .map(|f| String::from_utf8(f.data.into_bytes()).unwrap())
        .map_err(|e| e.to_string())
}

/// Tokens as kubelet sends them, parsed by the real config code.
fn tokens_from(json: &str) -> ServiceAccountTokens {
    let attrs = serde_json::json!({
        "objects": "- objectName: x",
        crate::config::TOKENS_KEY: json,
    })
    .to_string();
    crate::config::parse_mount_request(&attrs, "", "", "")
        .unwrap()
        .service_account_tokens
        .unwrap()
}

fn pod_tokens(token: &str) -> ServiceAccountTokens {
    tokens_from(&serde_json::json!({ STS_AUDIENCE: { "token": token } }).to_string())
}

#[tokio::test]
async fn env_access_key_alone_is_used_as_is() {
    let emu = emulator("").await;
    let a = auth(&emu, &AK);
    let c = a.resolve(&no_volume(), deadline()).await.unwrap();
    assert_eq!(c.access_key_id(), "LTAI5tProvider");
    assert_eq!(read(&emu, &c, "app/db").await.unwrap(), "app-db-value");
    assert_eq!(emu.calls("AssumeRole"), 0);
}

#[tokio::test]
async fn env_access_key_with_role_assumes_it_once_for_a_thousand_mounts() {
    let emu = emulator("").await;
    let mut env = AK.to_vec();
    env.push(("ALICLOUD_ROLE_ARN", APP_ROLE));
    let a = auth(&emu, &env);
    let vol = no_volume();
    let results: Vec<_> = futures::stream::iter(0..1000)
        .map(|_| a.resolve(&vol, deadline()))
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(emu.calls("AssumeRole"), 1, "one STS call for one identity");
    let first = results[0].as_ref().unwrap();
    assert!(first.has_security_token());
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().unwrap().access_key_id() == first.access_key_id())
    );
    // The role's permissions apply: app/* yes, team-* no.
    assert_eq!(read(&emu, first, "app/db").await.unwrap(), "app-db-value");
    assert!(read(&emu, first, "team-x").await.is_err());
}

#[tokio::test]
async fn rrsa_exchanges_the_token_file_and_rereads_it_on_refresh() {
    let emu = emulator("stsCredentialLifetimeSeconds: 4").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    std::fs::write(
        &file,
        acs_emulator::jwt::mint(
            ISSUER,
            "system:serviceaccount:default:app",
            STS_AUDIENCE,
            exp,
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap().to_owned();
    let a = auth(
        &emu,
        &[
            ("ALICLOUD_ROLE_ARN", APP_ROLE),
            ("ALICLOUD_ACCOUNT_ID", "1234567890123456"),
            ("ALICLOUD_CLUSTER_ID", "c1"),
            ("ALICLOUD_OIDC_TOKEN_FILE", &path),
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
        ],
    );
    let c = a.resolve(&no_volume(), deadline()).await.unwrap();
    assert_eq!(c.origin(), "RRSA");
    assert_eq!(read(&emu, &c, "app/db").await.unwrap(), "app-db-value");
    assert_eq!(emu.calls("AssumeRoleWithOIDC"), 1);
    // A token for a subject the role does not trust, then past the refresh point: re-read, refused.
    std::fs::write(
        &file,
        acs_emulator::jwt::mint(
            ISSUER,
            "system:serviceaccount:default:other",
            STS_AUDIENCE,
            exp,
        ),
    )
    .unwrap();
    // Expirations are whole seconds, so the refresh point is 2.25-3 s after issue.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let err = a
        .resolve(&no_volume(), deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("AuthenticationFail.NoPermission"), "{err}");
    assert!(err.contains("trust policy"), "{err}");
    assert_eq!(emu.calls("AssumeRoleWithOIDC"), 2);
}

#[tokio::test]
async fn rrsa_missing_token_file_names_the_path() {
    let emu = emulator("").await;
    let a = auth(
        &emu,
        &[
            ("ALIBABA_CLOUD_ROLE_ARN", APP_ROLE),
            ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/nonexistent/token"),
        ],
    );
    let err = a
        .resolve(&no_volume(), deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/token"), "{err}");
    assert_eq!(emu.calls("AssumeRoleWithOIDC"), 0);
}

#[tokio::test]
async fn ecs_role_in_hardened_mode_is_cached_and_served_stale_while_metadata_is_down() {
    let emu = emulator(
        "ecsMetadata: {roleName: ecs-node-role, instanceId: i-1, requireToken: true, credentialLifetimeSeconds: 8}",
    )
    .await;
    let a = auth(&emu, &[]);
    let c = a.resolve(&no_volume(), deadline()).await.unwrap();
    assert_eq!(c.origin(), "ECS RAM role");
    assert_eq!(read(&emu, &c, "app/db").await.unwrap(), "app-db-value");
    let calls = emu.metadata_calls();
    assert_eq!(calls, 3, "token, role discovery, credential");
    for _ in 0..50 {
        a.resolve(&no_volume(), deadline()).await.unwrap();
    }
    assert_eq!(emu.metadata_calls(), calls, "cached");
    // Within the last quarter of the lifetime the refresh fails: the valid credential is kept.
    tokio::time::sleep(Duration::from_millis(6400)).await;
    emu.set_metadata_down(true);
    let stale = a.resolve(&no_volume(), deadline()).await.unwrap();
    assert_eq!(stale.access_key_id(), c.access_key_id());
    assert!(emu.metadata_calls() > calls, "a refresh was attempted");
    // Once it has expired there is nothing to serve: a clear error.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let err = a
        .resolve(&no_volume(), deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ECS RAM role via instance metadata"), "{err}");
    assert!(err.contains("HTTP 500"), "{err}");
}

#[tokio::test]
async fn ecs_disabled_and_no_other_source_lists_what_was_tried() {
    let emu = emulator("").await;
    let a = auth(&emu, &[("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")]);
    let err = a
        .resolve(&no_volume(), deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("nodePublishSecretRef"), "{err}");
    assert!(err.contains("RRSA"), "{err}");
    assert!(
        err.contains("disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED"),
        "{err}"
    );
    assert_eq!(emu.metadata_calls(), 0);
}

#[tokio::test]
async fn volume_secret_wins_over_provider_identities() {
    let emu = emulator("").await;
    let mut env = AK.to_vec();
    env.push(("ALICLOUD_ROLE_ARN", APP_ROLE));
    let a = auth(&emu, &env);
    let vol = BTreeMap::from([
        ("access_key".to_owned(), "LTAI5tStranger".to_owned()),
        ("access_secret".to_owned(), "stranger-secret".to_owned()),
    ]);
    let c = a.resolve(&vol, deadline()).await.unwrap();
    assert_eq!(c.access_key_id(), "LTAI5tStranger");
    assert_eq!(emu.calls("AssumeRole"), 0);
}

#[tokio::test]
async fn refresh_happens_before_expiry() {
    let emu = emulator("stsCredentialLifetimeSeconds: 8").await;
    let mut env = AK.to_vec();
    env.push(("ALICLOUD_ROLE_ARN", APP_ROLE));
    let a = auth(&emu, &env);
    let first = a.resolve(&no_volume(), deadline()).await.unwrap();
    a.resolve(&no_volume(), deadline()).await.unwrap();
    assert_eq!(emu.calls("AssumeRole"), 1);
    // Lifetime 8 s (7-8 s as expirations are whole seconds): refreshed once less than a quarter
    // is left, i.e. 5.25-6 s after issue, while the old one is still valid.
    tokio::time::sleep(Duration::from_millis(6300)).await;
    let second = a.resolve(&no_volume(), deadline()).await.unwrap();
    assert_eq!(emu.calls("AssumeRole"), 2);
    assert_ne!(first.access_key_id(), second.access_key_id());
    assert!(
        first.expiration().unwrap() > time::OffsetDateTime::now_utc(),
        "refreshed while the old one was still valid"
    );
}

#[tokio::test]
async fn per_pod_identity_success_and_every_missing_piece_is_an_error_without_fallback() {
    let emu = emulator("").await;
    let mut env = AK.to_vec();
    env.push(("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER));
    env.push(("ALICLOUD_ROLE_ARN", APP_ROLE));
    let a = auth(&emu, &env);
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    let token = acs_emulator::jwt::mint(
        ISSUER,
        "system:serviceaccount:default:app",
        STS_AUDIENCE,
        exp,
    );
    let c = a
        .pod_identity(Some(&pod_tokens(&token)), APP_ROLE, deadline())
        .await
        .unwrap();
    assert_eq!(c.origin(), "per-pod identity");
    assert_eq!(read(&emu, &c, "app/db").await.unwrap(), "app-db-value");

    let err = a
        .pod_identity(None, APP_ROLE, deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tokenRequests") && err.contains("sts.aliyuncs.com"),
        "{err}"
    );

    let other = serde_json::json!({ "api": { "token": token } }).to_string();
    let err = a
        .pod_identity(Some(&tokens_from(&other)), APP_ROLE, deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no token for audience sts.aliyuncs.com") && err.contains("api"),
        "{err}"
    );
    assert!(!err.contains(&token), "{err}");

    let expired = acs_emulator::jwt::mint(
        ISSUER,
        "system:serviceaccount:default:app",
        STS_AUDIENCE,
        exp - 1200,
    );
    let err = a
        .pod_identity(Some(&pod_tokens(&expired)), APP_ROLE, deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("expired"), "{err}");

    let untrusted = acs_emulator::jwt::mint(
        ISSUER,
        "system:serviceaccount:default:intruder",
        STS_AUDIENCE,
        exp,
    );
    let err = a
        .pod_identity(Some(&pod_tokens(&untrusted)), APP_ROLE, deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("NoPermission"), "{err}");
    assert!(!err.contains(&untrusted), "{err}");
    assert_eq!(
        emu.calls("AssumeRoleWithOIDC"),
        2,
        "the success and the untrusted subject"
    );
    assert_eq!(emu.calls("AssumeRole"), 0, "never the provider's identity");
}

#[tokio::test]
async fn cross_account_role_needs_the_external_id_and_is_cached() {
    let emu = emulator("").await;
    let a = auth(&emu, &AK);
    let base = a.resolve(&no_volume(), deadline()).await.unwrap();
    let mut role = RoleRequest::new(PARTNER_ROLE);
    let err = a
        .assume(&base, &role, deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("NoPermission") && err.contains("ExternalId"),
        "{err}"
    );
    role.external_id = Some("partner-ext".into());
    let c = a.assume(&base, &role, deadline()).await.unwrap();
    a.assume(&base, &role, deadline()).await.unwrap();
    assert_eq!(
        emu.calls("AssumeRole"),
        2,
        "the refused call and one success"
    );
    assert_eq!(read(&emu, &c, "team-x").await.unwrap(), "team-value");
    assert!(read(&emu, &c, "app/db").await.is_err());
}

#[tokio::test]
async fn unknown_role_is_a_clear_error() {
    let emu = emulator("").await;
    let a = auth(&emu, &AK);
    let base = a.resolve(&no_volume(), deadline()).await.unwrap();
    let role = RoleRequest::new("acs:ram::1234567890123456:role/ghost");
    let err = a
        .assume(&base, &role, deadline())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("EntityNotExist.Role") && err.contains("check roleArn"),
        "{err}"
    );
}

#[tokio::test]
async fn debug_and_errors_never_show_secrets() {
    let emu = emulator("").await;
    let mut env = AK.to_vec();
    env.push(("ALICLOUD_ROLE_ARN", APP_ROLE));
    let a = auth(&emu, &env);
    let c = a.resolve(&no_volume(), deadline()).await.unwrap();
    let shown = format!("{c:?} {a:?}");
    assert!(!shown.contains("provider-secret-value"), "{shown}");
    let token = SecretString::from("eyJhbGciOi.secret-token-body.sig");
    let err = StsClient::new(backend(&emu), Endpoint::parse(&emu.base_url()).unwrap())
        .assume_role_with_oidc(
            PROVIDER,
            &token,
            &RoleRequest::new(APP_ROLE),
            "t",
            deadline(),
        )
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("AuthenticationFail.OIDCToken"), "{text}");
    assert!(!text.contains("secret-token-body"), "{text}");
}

#[test]
fn settings_report_every_problem_at_once() {
    let err = AuthSettings::from_map(&vars(&[
        ("ALICLOUD_ROLE_SESSION_EXPIRATION", "ten"),
        ("ALICLOUD_ROLE_SESSION_NAME", "bad name!"),
        ("ALICLOUD_ACCOUNT_ID", "123"),
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "yes"),
    ]))
    .unwrap_err()
    .to_string();
    for want in [
        "ALICLOUD_ROLE_SESSION_EXPIRATION \"ten\" must be a whole number of seconds from 900 to 43200",
        "ALICLOUD_ROLE_SESSION_NAME",
        "ALICLOUD_CLUSTER_ID is missing",
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED \"yes\" must be true or false",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    let s = AuthSettings::from_map(&vars(&[
        ("ALICLOUD_ROLE_ARN", APP_ROLE),
        ("ALICLOUD_ACCOUNT_ID", "1234567890123456"),
        ("ALICLOUD_CLUSTER_ID", "c1"),
        ("ALICLOUD_ROLE_SESSION_EXPIRATION", "1800"),
    ]))
    .unwrap();
    let rrsa = s.rrsa.unwrap();
    assert_eq!(rrsa.provider_arn, PROVIDER);
    assert_eq!(rrsa.token_file.to_str().unwrap(), DEFAULT_OIDC_TOKEN_FILE);
    assert_eq!(s.session_expiration, Some(1800));
    assert_eq!(s.session_name, DEFAULT_SESSION_NAME);
}

#[test]
fn sts_endpoints_follow_region_and_type() {
    let h = |e: Result<Endpoint, _>| e.unwrap().host().to_owned();
    assert_eq!(
        h(sts_endpoint(None, Some("cn-beijing"), EndpointType::Vpc)),
        "sts-vpc.cn-beijing.aliyuncs.com"
    );
    assert_eq!(
        h(sts_endpoint(None, Some("cn-beijing"), EndpointType::Public)),
        "sts.cn-beijing.aliyuncs.com"
    );
    assert_eq!(
        h(sts_endpoint(None, None, EndpointType::Vpc)),
        "sts.aliyuncs.com"
    );
    assert!(sts_endpoint(Some("http://sts.example.com"), None, EndpointType::Vpc).is_err());
    assert!(sts_endpoint(None, Some("CN_X"), EndpointType::Vpc).is_err());
}
