//! Credential sources end to end: gRPC Mount over a unix socket, the provider's auth chain, and the
//! in-process emulator's STS, ECS metadata and KMS on 127.0.0.1.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use acs_emulator::{Fault, Seed};
use common::{Options, start, text};
use tonic::Code;

const ISSUER: &str = "https://oidc-ack.cn-hangzhou.aliyuncs.com/c1";
const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1";
const APP_ROLE: &str = "acs:ram::1234567890123456:role/app-role";
const PARTNER_ROLE: &str = "acs:ram::1234567890123456:role/partner-role";

const SEED: &str = r#"
accessKeys:
  - id: LTAI5tProvider
    secret: provider-secret-value
    permissions: []
kmsSecrets:
  - name: app/db
    versions: [{versionId: v1, data: app-db-value, stages: [ACSCurrent]}]
  - name: team-x
    versions: [{versionId: v1, data: team-value, stages: [ACSCurrent]}]
oidcProviders:
  - name: ack-rrsa-c1
    issuer: https://oidc-ack.cn-hangzhou.aliyuncs.com/c1
    audiences: [sts.aliyuncs.com]
roles:
  - name: app-role
    permissions: ["app/*"]
    trust:
      accessKeys: [LTAI5tProvider]
      oidcProviderArn: acs:ram::1234567890123456:oidc-provider/ack-rrsa-c1
      oidcSubjects: ["system:serviceaccount:default:web"]
  - name: partner-role
    externalId: partner-ext
    permissions: ["team-*"]
    trust:
      accessKeys: [LTAI5tProvider]
  - name: ecs-node-role
    permissions: ["app/*"]
"#;

fn seed(extra: &str) -> Seed {
    Seed::from_yaml_str(&format!("{SEED}{extra}"), "e2e auth").unwrap()
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The provider key itself may read nothing; only roles grant access.
const PROVIDER_AK: [(&str, &str); 3] = [
    ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI5tProvider"),
    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "provider-secret-value"),
    ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER),
];

fn pod_token(sub: &str, exp_in: i64) -> String {
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + exp_in;
    acs_emulator::jwt::mint(ISSUER, sub, "sts.aliyuncs.com", exp)
}

fn tokens(audience: &str, token: &str) -> String {
    serde_json::json!({ audience: { "token": token } }).to_string()
}

#[tokio::test]
async fn per_pod_identity_reads_with_the_pods_role_and_never_falls_back() {
    let env = start(Options {
        seed: seed(""),
        env: env(&PROVIDER_AK),
        ..Options::default()
    })
    .await;
    let good = pod_token("system:serviceaccount:default:web", 600);
    let tokens_key = "csi.storage.k8s.io/serviceAccount.tokens";
    let ok_tokens = tokens("sts.aliyuncs.com", &good);
    let params = [
        ("objects", "- objectName: app/db"),
        ("usePodServiceAccountToken", "true"),
        ("roleArn", APP_ROLE),
        (tokens_key, ok_tokens.as_str()),
    ];
    let resp = env.mount(&params, "").await.expect("pod identity");
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    assert_eq!(env.emulator.calls("AssumeRoleWithOIDC"), 1);

    // No token at all: names the CSIDriver fix.
    let err = env.mount(&params[..3], "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(err.message().contains("tokenRequests"), "{}", err.message());

    // Token for another audience only.
    let other = tokens("api", &good);
    let mut p = params;
    p[3] = (tokens_key, other.as_str());
    let err = env.mount(&p, "").await.unwrap_err();
    assert!(
        err.message()
            .contains("no token for audience sts.aliyuncs.com"),
        "{}",
        err.message()
    );
    assert!(!err.message().contains(&good));

    // Expired token.
    let old = tokens(
        "sts.aliyuncs.com",
        &pod_token("system:serviceaccount:default:web", -60),
    );
    p[3] = (tokens_key, old.as_str());
    let err = env.mount(&p, "").await.unwrap_err();
    assert!(err.message().contains("expired"), "{}", err.message());

    // No role: no silent use of the provider's identity.
    let without_role = [params[0], params[1], params[3]];
    let err = env.mount(&without_role, "").await.unwrap_err();
    assert!(err.message().contains("roleArn"), "{}", err.message());
    assert_eq!(env.emulator.calls("AssumeRole"), 0);
    assert_eq!(env.emulator.calls("AssumeRoleWithOIDC"), 1);
    env.stop().await;
}

#[tokio::test]
async fn env_key_with_assume_role_makes_one_sts_call_for_many_mounts() {
    let mut vars = PROVIDER_AK.to_vec();
    vars.push(("ALICLOUD_ROLE_ARN", APP_ROLE));
    vars.retain(|(k, _)| *k != "ALIBABA_CLOUD_OIDC_PROVIDER_ARN");
    let env = start(Options {
        seed: seed(""),
        env: env(&vars),
        ..Options::default()
    })
    .await;
    let params = [("objects", "- objectName: app/db")];
    for _ in 0..20 {
        let resp = env.mount(&params, "").await.expect("assumed role reads");
        assert_eq!(text(&resp, "app_db"), "app-db-value");
    }
    assert_eq!(env.emulator.calls("AssumeRole"), 1);
    env.stop().await;
}

#[tokio::test]
async fn ecs_ram_role_is_the_last_source() {
    let env = start(Options {
        seed: seed("ecsMetadata: {roleName: ecs-node-role, instanceId: i-1, requireToken: true}\n"),
        env: BTreeMap::new(),
        ..Options::default()
    })
    .await;
    let resp = env
        .mount(&[("objects", "- objectName: app/db")], "")
        .await
        .expect("node role");
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    env.stop().await;
}

#[tokio::test]
async fn cross_account_objects_use_their_own_role() {
    let vars: Vec<_> = PROVIDER_AK[..2].to_vec();
    let env = start(Options {
        seed: seed(""),
        env: env(&vars),
        ..Options::default()
    })
    .await;
    let objects = format!(
        "- objectName: team-x\n  crossAccountRoleArn: {PARTNER_ROLE}\n  crossAccountExternalId: partner-ext\n"
    );
    let resp = env
        .mount(&[("objects", objects.as_str())], "")
        .await
        .expect("cross-account read");
    assert_eq!(text(&resp, "team-x"), "team-value");
    // Without the role the provider key reads nothing.
    let err = env
        .mount(&[("objects", "- objectName: team-x")], "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    env.stop().await;
}

#[tokio::test]
async fn failover_region_on_unavailable_but_not_on_not_found() {
    let env = start(Options {
        seed: seed(""),
        env: env(&[
            ("ALICLOUD_ROLE_ARN", APP_ROLE),
            PROVIDER_AK[0],
            PROVIDER_AK[1],
        ]),
        ..Options::default()
    })
    .await;
    // The primary region fails every retry (5 attempts); the failover call succeeds.
    env.emulator.inject_fault(Fault {
        action: Some("GetSecretValue".into()),
        status: 503,
        code: "ServiceUnavailableTemporary".into(),
        message: "primary down".into(),
        times: 5,
    });
    let params = [
        ("objects", "- objectName: app/db"),
        ("region", "cn-hangzhou"),
        ("failoverRegion", "cn-shanghai"),
    ];
    let resp = env.mount(&params, "").await.expect("failover");
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    assert_eq!(env.emulator.calls("GetSecretValue"), 6);

    env.emulator.reset_calls();
    let missing = [
        ("objects", "- objectName: app/missing"),
        ("region", "cn-hangzhou"),
        ("failoverRegion", "cn-shanghai"),
    ];
    let err = env.mount(&missing, "").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(
        env.emulator.calls("GetSecretValue"),
        1,
        "no failover on not-found"
    );
    env.stop().await;
}
