//! Credential sources end to end: gRPC Mount over a unix socket, the provider's auth chain, and the
//! in-process emulator's STS, ECS metadata and KMS on 127.0.0.1.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use acs_emulator::{Fault, Seed};
use common::{Env, Options, start, text};
use futures::StreamExt;
use provider::fetch::RetryPolicy;
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
  - id: LTAI5tVolumeKey
    secret: volume-secret-value
    permissions: ["app/*"]
kmsSecrets:
  - name: app/db
    versions: [{versionId: v1, data: app-db-value, stages: [ACSCurrent]}]
  - name: team-x
    versions: [{versionId: v1, data: team-value, stages: [ACSCurrent]}]
oosSecretParameters:
  - name: app/param
    versions: [app-param-value]
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
      oidcSubjects: ["system:serviceaccount:default:web", "system:serviceaccount:kube-system:csi-provider"]
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
async fn a_thousand_grpc_mounts_of_one_identity_make_one_sts_call() {
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
    // 1,000 mounts, 50 in flight at a time (the first 50 all race for the credential).
    let results: Vec<_> = futures::stream::iter(0..1000)
        .map(|_| env.mount(&params, ""))
        .buffer_unordered(50)
        .collect()
        .await;
    for r in &results {
        let resp = r.as_ref().expect("assumed role reads");
        assert_eq!(text(resp, "app_db"), "app-db-value");
    }
    assert_eq!(env.emulator.calls("AssumeRole"), 1);
    // The provider counts the same one refresh on its /metrics.
    let metrics = env.metrics.render();
    assert!(
        metrics.contains(
            "provider_credential_refreshes_total{source=\"assume_role\",result=\"ok\"} 1"
        ),
        "{metrics}"
    );
    env.stop().await;
}

#[tokio::test]
async fn sts_credentials_are_refreshed_before_they_expire() {
    let env = start(Options {
        seed: seed("stsCredentialLifetimeSeconds: 4\n"),
        env: role_env(),
        ..Options::default()
    })
    .await;
    let params = [("objects", "- objectName: app/db")];
    env.mount(&params, "").await.expect("first mount");
    env.mount(&params, "").await.expect("cached");
    assert_eq!(env.emulator.calls("AssumeRole"), 1);
    // A 3-4 s credential (expirations are whole seconds) is refreshed when a quarter of its
    // lifetime is left, i.e. 2.25-3 s after it was issued.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    env.mount(&params, "").await.expect("refreshed");
    assert_eq!(env.emulator.calls("AssumeRole"), 2);
    assert_eq!(
        env.emulator.calls("GetSecretValue"),
        3,
        "no call was refused for an expired token"
    );
    env.stop().await;
}

#[tokio::test]
async fn ecs_credentials_are_served_stale_while_metadata_is_down_until_they_expire() {
    let env = start(Options {
        seed: seed(
            "ecsMetadata: {roleName: ecs-node-role, instanceId: i-1, requireToken: true, credentialLifetimeSeconds: 8}\n",
        ),
        env: BTreeMap::new(),
        ..Options::default()
    })
    .await;
    let params = [("objects", "- objectName: app/db")];
    env.mount(&params, "").await.expect("node role");
    let calls = env.emulator.metadata_calls();
    assert_eq!(calls, 3, "token, role, credential");
    // In the refresh window (a quarter of the 7-8 s lifetime left: from 5.25-6 s on) the
    // metadata server fails: the still valid credential is used (at least 1 s of margin).
    tokio::time::sleep(Duration::from_millis(6000)).await;
    env.emulator.set_metadata_down(true);
    let resp = env.mount(&params, "").await.expect("served stale");
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    assert!(env.emulator.metadata_calls() > calls, "a refresh was tried");
    assert!(
        env.metrics.render().contains(
            "provider_credential_refreshes_total{source=\"ecs_metadata\",result=\"stale\"}"
        ),
        "the stale answer is counted"
    );
    // Once it has expired nothing is served: a clear error naming the source.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let err = env.mount(&params, "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(
        err.message().contains("ECS RAM role") && err.message().contains("HTTP 500"),
        "{}",
        err.message()
    );
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
    // A volume that knows the provider's AccessKeyId but not its secret gets neither the cached role
    // credentials nor the payload: its own AssumeRole call is refused.
    let assume_calls = env.emulator.calls("AssumeRole");
    let forged =
        serde_json::json!({"access_key": PROVIDER_AK[0].1, "access_secret": "guessed"}).to_string();
    let err = env
        .mount(&[("objects", objects.as_str())], &forged)
        .await
        .expect_err("a forged secret must not reuse the owner's role credentials");
    assert!(
        format!("{err:?}").contains("SignatureDoesNotMatch"),
        "{err:?}"
    );
    assert_eq!(env.emulator.calls("AssumeRole"), assume_calls + 1);
    env.stop().await;
}

/// Short retries and call timeouts, so failover tests take a second, not the production minutes.
fn fast(mut opts: Options) -> Options {
    opts.request_timeout = Duration::from_millis(300);
    opts.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
    };
    opts
}

/// The provider key may read nothing; AssumeRole into app-role gives it `app/*`.
fn role_env() -> BTreeMap<String, String> {
    env(&[
        ("ALICLOUD_ROLE_ARN", APP_ROLE),
        PROVIDER_AK[0],
        PROVIDER_AK[1],
    ])
}

fn failovers(env: &Env, api: &str, result: &str) -> Option<String> {
    let text = env.metrics.render();
    let prefix = format!("provider_failovers_total{{api=\"{api}\",result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_owned))
}

#[tokio::test]
async fn failover_region_on_503_serves_from_the_failover_region_and_is_counted() {
    let env = start(fast(Options {
        seed: seed(""),
        env: role_env(),
        ..Options::default()
    }))
    .await;
    // OOS calls name their region (RegionId), so the emulator can fail only the primary one.
    env.emulator.inject_fault(
        Fault::service_unavailable(Some("GetSecretParameter"), usize::MAX)
            .for_region("cn-hangzhou"),
    );
    let params = [
        ("objects", "- objectName: app/param\n  objectType: oos\n"),
        ("region", "cn-hangzhou"),
        ("failoverRegion", "cn-shanghai"),
    ];
    let resp = env.mount(&params, "").await.expect("failover");
    assert_eq!(text(&resp, "app_param"), "app-param-value");
    assert_eq!(
        env.emulator
            .calls_in_region("GetSecretParameter", "cn-hangzhou"),
        3,
        "every retry in the primary region"
    );
    assert_eq!(
        env.emulator
            .calls_in_region("GetSecretParameter", "cn-shanghai"),
        1
    );
    assert_eq!(
        failovers(&env, "oos_get_secret_parameter", "ok").as_deref(),
        Some("1")
    );

    // Without failoverRegion the same fault is a clear error naming the object and the code.
    let err = env.mount(&params[..2], "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(
        err.message().contains("app/param")
            && err.message().contains("ServiceUnavailableTemporary"),
        "{}",
        err.message()
    );
    env.stop().await;
}

/// A loopback port that accepts connections and never answers: every call to it times out.
async fn black_hole() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held.push(conn);
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn failover_region_when_the_primary_endpoint_times_out() {
    let env = start(fast(Options {
        seed: seed(""),
        env: role_env(),
        ..Options::default()
    }))
    .await;
    let (hole, accepted) = black_hole().await;
    // The object's own endpoint is its primary region's; the failover region is reached at the
    // provider's endpoint (here the emulator).
    let objects = format!("- objectName: app/db\n  kmsEndpoint: http://{hole}\n");
    let params = [
        ("objects", objects.as_str()),
        ("region", "cn-hangzhou"),
        ("failoverRegion", "cn-shanghai"),
    ];
    let started = std::time::Instant::now();
    let resp = env
        .mount(&params, "")
        .await
        .expect("failover after timeouts");
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        accepted.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the primary endpoint was tried"
    );
    assert_eq!(env.emulator.calls("GetSecretValue"), 1);
    assert_eq!(
        failovers(&env, "kms_get_secret_value", "ok").as_deref(),
        Some("1")
    );
    let metrics = env.metrics.render();
    assert!(
        metrics.contains(
            "provider_backend_calls_total{api=\"kms_get_secret_value\",code=\"network\",region=\"cn-hangzhou\"} 3"
        ),
        "{metrics}"
    );
    // Backend calls are counted per region: the one success came from the failover region.
    assert!(
        metrics.contains(
            "provider_backend_calls_total{api=\"kms_get_secret_value\",code=\"OK\",region=\"cn-shanghai\"} 1"
        ),
        "{metrics}"
    );
    env.stop().await;
}

#[tokio::test]
async fn a_primary_that_only_times_out_leaves_the_failover_region_half_the_deadline() {
    // One primary attempt alone (2 s) would outlast what the 3 s mount deadline leaves after it;
    // the primary region gets half (1.5 s), the failover region the rest.
    let env = start(Options {
        seed: seed(""),
        env: role_env(),
        mount_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(2),
        retry: RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
        },
        ..Options::default()
    })
    .await;
    let (hole, _) = black_hole().await;
    let objects = format!("- objectName: app/db\n  kmsEndpoint: http://{hole}\n");
    let params = [
        ("objects", objects.as_str()),
        ("region", "cn-hangzhou"),
        ("failoverRegion", "cn-shanghai"),
    ];
    let started = std::time::Instant::now();
    let resp = env
        .mount(&params, "")
        .await
        .expect("failover within the deadline");
    let took = started.elapsed();
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(
        failovers(&env, "kms_get_secret_value", "ok").as_deref(),
        Some("1")
    );
    env.stop().await;
}

#[tokio::test]
async fn no_failover_on_not_found_or_permission_denied() {
    let env = start(fast(Options {
        seed: seed(""),
        env: role_env(),
        ..Options::default()
    }))
    .await;
    // app-role may read app/* only: a 403 in the primary region.
    let forbidden = [
        ("objects", "- objectName: team-x"),
        ("region", "cn-hangzhou"),
        ("failoverRegion", "cn-shanghai"),
    ];
    let err = env.mount(&forbidden, "").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(
        err.message().contains("Forbidden.NoPermission"),
        "{}",
        err.message()
    );
    assert_eq!(
        env.emulator.calls("GetSecretValue"),
        1,
        "no retry, no failover on 403"
    );

    env.emulator.reset_calls();
    let missing = [
        ("objects", "- objectName: app/missing\n  objectType: oos\n"),
        ("region", "cn-hangzhou"),
        ("failoverRegion", "cn-shanghai"),
    ];
    let err = env.mount(&missing, "").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert_eq!(
        env.emulator.calls("GetSecretParameter"),
        1,
        "no failover on not-found"
    );
    assert_eq!(
        env.emulator
            .calls_in_region("GetSecretParameter", "cn-shanghai"),
        0
    );
    assert!(!env.metrics.render().contains("provider_failovers_total{"));
    env.stop().await;
}

/// A fake Kubernetes API server on loopback: ServiceAccounts `default/web` (annotated with the app
/// role) and `default/plain` (no annotation), nodes `labelled` (region label `cn-beijing`) and
/// `bare` (no label, no providerID). Returns the kubeconfig path (in `dir`).
async fn fake_kube_api(dir: &std::path::Path) -> std::path::PathBuf {
    use axum::extract::Path;
    use axum::response::IntoResponse;
    use serde_json::json;
    let app = axum::Router::new()
        .route(
            "/api/v1/namespaces/{ns}/serviceaccounts/{sa}",
            axum::routing::get(|Path((ns, sa)): Path<(String, String)>| async move {
                let annotations = match (ns.as_str(), sa.as_str()) {
                    ("default", "web") => json!({"ack.alibabacloud.com/role-arn": APP_ROLE}),
                    ("default", "plain") => json!({}),
                    _ => {
                        return (
                            axum::http::StatusCode::NOT_FOUND,
                            axum::Json(json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"})),
                        )
                            .into_response();
                    }
                };
                axum::Json(json!({
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": sa, "namespace": ns, "annotations": annotations}
                }))
                .into_response()
            }),
        )
        .route(
            "/api/v1/nodes/{name}",
            axum::routing::get(|Path(name): Path<String>| async move {
                let labels = match name.as_str() {
                    "labelled" => json!({"topology.kubernetes.io/region": "cn-beijing"}),
                    _ => json!({}),
                };
                axum::Json(json!({
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels},
                    "spec": {}
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    kubeconfig
}

#[tokio::test]
async fn region_order_object_then_spc_then_node_label_then_flag() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake_kube_api(dir.path()).await;
    let in_region = |env: &Env, r: &str| env.emulator.calls_in_region("GetSecretParameter", r);
    let oos = "- objectName: app/param\n  objectType: oos\n";
    let oos_in_shenzhen = "- objectName: app/param\n  objectType: oos\n  region: cn-shenzhen\n";

    // Node `labelled` is in cn-beijing; --region is cn-hangzhou.
    let env = start(Options {
        seed: seed(""),
        env: role_env(),
        kubeconfig: Some(kubeconfig.clone()),
        node_name: Some("labelled".into()),
        ..Options::default()
    })
    .await;
    // The object's region beats the SPC's.
    env.mount(
        &[("objects", oos_in_shenzhen), ("region", "cn-shanghai")],
        "",
    )
    .await
    .expect("object region");
    assert_eq!(in_region(&env, "cn-shenzhen"), 1);
    // The SPC's region beats the node's.
    env.mount(&[("objects", oos), ("region", "cn-shanghai")], "")
        .await
        .expect("SPC region");
    assert_eq!(in_region(&env, "cn-shanghai"), 1);
    // Neither: the node's region label beats --region.
    env.mount(&[("objects", oos)], "")
        .await
        .expect("node region");
    assert_eq!(in_region(&env, "cn-beijing"), 1);
    assert_eq!(in_region(&env, "cn-hangzhou"), 0);
    env.stop().await;

    // A node without region label or providerID: --region.
    let env = start(Options {
        seed: seed(""),
        env: role_env(),
        kubeconfig: Some(kubeconfig.clone()),
        node_name: Some("bare".into()),
        ..Options::default()
    })
    .await;
    env.mount(&[("objects", oos)], "").await.expect("--region");
    assert_eq!(in_region(&env, "cn-hangzhou"), 1);
    env.stop().await;

    // Nothing at all: a clear error naming every way to set one; nothing is fetched.
    let env = start(Options {
        seed: seed(""),
        env: role_env(),
        default_region: None,
        ..Options::default()
    })
    .await;
    let err = env.mount(&[("objects", oos)], "").await.unwrap_err();
    let m = err.message();
    assert!(
        m.contains("app/param") && m.contains("no region") && m.contains("--region"),
        "{m}"
    );
    assert_eq!(env.emulator.calls("GetSecretParameter"), 0);
    env.stop().await;
}

#[tokio::test]
async fn per_pod_role_comes_from_the_service_account_annotation() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = fake_kube_api(dir.path()).await;
    let env = start(Options {
        seed: seed(""),
        env: env(&PROVIDER_AK),
        kubeconfig: Some(kubeconfig),
        ..Options::default()
    })
    .await;
    let good = pod_token("system:serviceaccount:default:web", 600);
    let toks = tokens("sts.aliyuncs.com", &good);
    // No roleArn in the SPC: the role is read from ServiceAccount default/web.
    let params = [
        ("objects", "- objectName: app/db"),
        ("usePodServiceAccountToken", "true"),
        ("csi.storage.k8s.io/serviceAccount.tokens", toks.as_str()),
    ];
    let resp = env.mount(&params, "").await.expect("role from annotation");
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    assert_eq!(env.emulator.calls("AssumeRoleWithOIDC"), 1);

    // ServiceAccount default/plain has no annotation: the error says how to fix it; no STS call.
    let plain_toks = tokens(
        "sts.aliyuncs.com",
        &pod_token("system:serviceaccount:default:plain", 600),
    );
    let plain = [
        params[0],
        params[1],
        (
            "csi.storage.k8s.io/serviceAccount.tokens",
            plain_toks.as_str(),
        ),
        ("csi.storage.k8s.io/serviceAccount.name", "plain"),
    ];
    let err = env.mount(&plain, "").await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    let m = err.message();
    assert!(
        m.contains("ack.alibabacloud.com/role-arn") && m.contains("default/plain"),
        "{m}"
    );
    assert_eq!(env.emulator.calls("AssumeRoleWithOIDC"), 1);
    env.stop().await;
}

#[test]
fn a_bad_session_expiration_stops_serve_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_csi-provider-alibabacloud"))
        .env_clear()
        .env("ALICLOUD_ROLE_SESSION_EXPIRATION", "ten")
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .args(["serve", "--providers-dir"])
        .arg(dir.path())
        .args(["--metrics-port", "0", "--healthz-port", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded wait: a provider that ignored the value would serve until killed.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("serve kept running with ALICLOUD_ROLE_SESSION_EXPIRATION=ten");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("ALICLOUD_ROLE_SESSION_EXPIRATION \"ten\"")
            && stderr.contains("900 to 43200"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("alibabacloud.sock").exists(),
        "no socket was created"
    );
}

#[tokio::test]
async fn provider_rrsa_exchanges_its_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(
        &token_file,
        pod_token("system:serviceaccount:kube-system:csi-provider", 600),
    )
    .unwrap();
    let env = start(Options {
        seed: seed(""),
        env: env(&[
            ("ALIBABA_CLOUD_ROLE_ARN", APP_ROLE),
            ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER),
            (
                "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
        ]),
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        let resp = env
            .mount(&[("objects", "- objectName: app/db")], "")
            .await
            .expect("RRSA");
        assert_eq!(text(&resp, "app_db"), "app-db-value");
    }
    assert_eq!(env.emulator.calls("AssumeRoleWithOIDC"), 1, "cached");
    assert_eq!(env.emulator.calls("AssumeRole"), 0);
    env.stop().await;
}

#[tokio::test]
async fn the_volumes_node_publish_secret_wins_over_the_providers_identity() {
    // The provider's own key may read nothing; the volume's key may read app/*.
    let env = start(Options {
        seed: seed(""),
        env: env(&PROVIDER_AK[..2]),
        ..Options::default()
    })
    .await;
    let params = [("objects", "- objectName: app/db")];
    let volume =
        serde_json::json!({"access_key": "LTAI5tVolumeKey", "access_secret": "volume-secret-value"})
            .to_string();
    let resp = env.mount(&params, &volume).await.expect("volume key");
    assert_eq!(text(&resp, "app_db"), "app-db-value");
    let err = env.mount(&params, "").await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    env.stop().await;
}
