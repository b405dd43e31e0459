//! Kubernetes API reads against a tiny fake API server on 127.0.0.1 (kubeconfig in a temp dir).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::*;

/// Serves `app` on 127.0.0.1 as a Kubernetes API server and writes a kubeconfig pointing at it (kept
/// alive by the returned directory). Shared by the tests that read the API (auth and policy labels).
pub(crate) async fn serve_fake_api(app: Router) -> (tempfile::TempDir, std::path::PathBuf) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"
        ),
    )
    .unwrap();
    (dir, kubeconfig)
}

struct FakeApi {
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
    node_calls: Arc<AtomicUsize>,
}

async fn fake_api() -> FakeApi {
    let node_calls = Arc::new(AtomicUsize::new(0));
    let counter = node_calls.clone();
    let app = Router::new()
        .route(
            "/api/v1/namespaces/{ns}/serviceaccounts/{sa}",
            get(|Path((ns, sa)): Path<(String, String)>| async move {
                let annotations = match (ns.as_str(), sa.as_str()) {
                    ("default", "web") => json!({ROLE_ANNOTATION: "acs:ram::1:role/app-role"}),
                    ("default", "plain") => json!({}),
                    _ => {
                        return (
                            StatusCode::NOT_FOUND,
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
            get(move |Path(name): Path<String>| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let (labels, provider_id) = match name.as_str() {
                        "labelled" => (json!({"topology.kubernetes.io/region": "cn-beijing", "failure-domain.beta.kubernetes.io/region": "cn-x"}), json!("cn-y.i-1")),
                        "beta" => (json!({"failure-domain.beta.kubernetes.io/region": "cn-shenzhen"}), json!(null)),
                        _ => (json!({}), json!("alicloud://cn-shanghai.i-abc")),
                    };
                    axum::Json(json!({
                        "apiVersion": "v1", "kind": "Node",
                        "metadata": {"name": name, "labels": labels},
                        "spec": {"providerID": provider_id}
                    }))
                }
            }),
        );
    let (dir, kubeconfig) = serve_fake_api(app).await;
    FakeApi {
        _dir: dir,
        kubeconfig,
        node_calls,
    }
}

#[test]
fn node_region_prefers_labels_then_provider_id() {
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    };
    assert_eq!(
        region_of_node(
            &labels(&[
                ("failure-domain.beta.kubernetes.io/region", "cn-b"),
                ("topology.kubernetes.io/region", "cn-a")
            ]),
            Some("cn-c.i-1")
        )
        .as_deref(),
        Some("cn-a")
    );
    assert_eq!(
        region_of_node(
            &labels(&[("failure-domain.beta.kubernetes.io/region", "cn-b")]),
            None
        )
        .as_deref(),
        Some("cn-b")
    );
    assert_eq!(
        region_of_node(&labels(&[]), Some("alicloud://cn-c.i-1")).as_deref(),
        Some("cn-c")
    );
    assert_eq!(
        region_of_node(&labels(&[]), Some("cn-d.i-2")).as_deref(),
        Some("cn-d")
    );
    assert_eq!(region_of_node(&labels(&[]), Some("kind://docker/x")), None);
    assert_eq!(region_of_node(&labels(&[]), None), None);
}

#[tokio::test]
async fn node_region_is_read_once_through_the_api() {
    let api = fake_api().await;
    for (node, want) in [
        ("labelled", "cn-beijing"),
        ("beta", "cn-shenzhen"),
        ("bare", "cn-shanghai"),
    ] {
        let c = Cluster::new(Some(api.kubeconfig.clone()), Some(node.into()));
        assert_eq!(c.node_region().await.unwrap().as_deref(), Some(want));
        assert_eq!(c.node_region().await.unwrap().as_deref(), Some(want));
    }
    assert_eq!(
        api.node_calls.load(Ordering::SeqCst),
        3,
        "cached per provider"
    );
    let none = Cluster::new(Some(api.kubeconfig.clone()), None);
    assert_eq!(none.node_region().await.unwrap(), None);
}

#[tokio::test]
async fn service_account_annotation_gives_the_role_or_a_clear_error() {
    let api = fake_api().await;
    let c = Cluster::new(Some(api.kubeconfig.clone()), None);
    assert_eq!(
        c.service_account_role("default", "web")
            .await
            .unwrap()
            .as_deref(),
        Some("acs:ram::1:role/app-role")
    );
    assert_eq!(
        c.service_account_role("default", "plain").await.unwrap(),
        None
    );
    let err = c
        .service_account_role("default", "ghost")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("default/ghost") && err.contains("does not exist"),
        "{err}"
    );

    let settings = AuthSettings {
        kubeconfig: Some(api.kubeconfig.clone()),
        ecs_disabled: true,
        ..AuthSettings::default()
    };
    let backend = crate::fetch::AlibabaBackend::new(Default::default()).unwrap();
    let a = Authenticator::new(
        settings,
        EnvCredentials::none(),
        &backend,
        crate::fetch::EndpointType::Vpc,
    )
    .unwrap();
    assert_eq!(
        a.pod_role(None, Some("default"), Some("web"))
            .await
            .unwrap(),
        "acs:ram::1:role/app-role"
    );
    assert_eq!(
        a.pod_role(Some("acs:ram::1:role/spc"), Some("default"), Some("web"))
            .await
            .unwrap(),
        "acs:ram::1:role/spc"
    );
    let err = a
        .pod_role(None, Some("default"), Some("plain"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("roleArn") && err.contains(ROLE_ANNOTATION) && err.contains("default/plain"),
        "{err}"
    );
}
