//! What the provider reads from the Kubernetes API: a ServiceAccount's role annotation (per-pod
//! identity without `roleArn` in the SPC) and its own node's region.
//!
//! The client is built on first use from the standard kubeconfig / in-cluster config (or an
//! explicit kubeconfig file), so a provider that never needs the API never contacts it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{Namespace, Node, ServiceAccount};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use tokio::sync::OnceCell;

use super::AuthError;

/// The ServiceAccount annotation naming the pod's RAM role (ACK's RRSA convention).
pub const ROLE_ANNOTATION: &str = "ack.alibabacloud.com/role-arn";

const REGION_LABELS: [&str; 2] = [
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/region",
];

/// Lazily connected Kubernetes API reader; the node's region is looked up once.
pub struct Cluster {
    kubeconfig: Option<PathBuf>,
    node_name: Option<String>,
    client: OnceCell<Client>,
    node_region: OnceCell<Option<String>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("kubeconfig", &self.kubeconfig)
            .field("node_name", &self.node_name)
            .finish()
    }
}

impl Cluster {
    /// `kubeconfig: None` uses `KUBECONFIG` / `~/.kube/config` / the in-cluster service account.
    pub fn new(kubeconfig: Option<PathBuf>, node_name: Option<String>) -> Self {
        Self {
            kubeconfig,
            node_name,
            client: OnceCell::new(),
            node_region: OnceCell::new(),
        }
    }

    /// The node this provider runs on (`--node-name`), if known.
    pub fn node_name(&self) -> Option<&str> {
        self.node_name.as_deref()
    }

    async fn client(&self) -> Result<&Client, AuthError> {
        self.client
            .get_or_try_init(|| async {
                let config = match &self.kubeconfig {
                    Some(path) => {
                        let kc = Kubeconfig::read_from(path).map_err(|e| api_err(e.to_string()))?;
                        Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                            .await
                            .map_err(|e| api_err(e.to_string()))?
                    }
                    None => Config::infer().await.map_err(|e| api_err(e.to_string()))?,
                };
                Client::try_from(config).map_err(|e| api_err(e.to_string()))
            })
            .await
    }

    /// The `ack.alibabacloud.com/role-arn` annotation of ServiceAccount `namespace/name`.
    pub async fn service_account_role(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>, AuthError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client().await?.clone(), namespace);
        let sa = api
            .get_opt(name)
            .await
            .map_err(|e| api_err(format!("reading ServiceAccount {namespace}/{name}: {e}")))?;
        let Some(sa) = sa else {
            return Err(AuthError::PodIdentity(format!(
                "ServiceAccount {namespace}/{name} does not exist"
            )));
        };
        Ok(sa
            .metadata
            .annotations
            .and_then(|a| a.get(ROLE_ANNOTATION).cloned())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty()))
    }

    /// The labels of Namespace `name` (the plugin policy's `namespaceSelector`; cached by the caller).
    pub async fn namespace_labels(
        &self,
        name: &str,
    ) -> Result<BTreeMap<String, String>, AuthError> {
        let api: Api<Namespace> = Api::all(self.client().await?.clone());
        let ns = api
            .get(name)
            .await
            .map_err(|e| api_err(format!("reading Namespace {name}: {e}")))?;
        Ok(ns.metadata.labels.unwrap_or_default())
    }

    /// The region of this provider's node, looked up once; `None` without `--node-name`.
    pub async fn node_region(&self) -> Result<Option<String>, AuthError> {
        let Some(node) = &self.node_name else {
            return Ok(None);
        };
        self.node_region
            .get_or_try_init(|| async {
                let api: Api<Node> = Api::all(self.client().await?.clone());
                let n = api
                    .get(node)
                    .await
                    .map_err(|e| api_err(format!("reading Node {node}: {e}")))?;
                let labels = n.metadata.labels.unwrap_or_default();
                let provider_id = n.spec.and_then(|s| s.provider_id);
                Ok(region_of_node(&labels, provider_id.as_deref()))
            })
            .await
            .cloned()
    }
}

/// `topology.kubernetes.io/region`, then the beta label, then `spec.providerID`
/// (`[alicloud://]<region>.<instance>`).
pub fn region_of_node(
    labels: &BTreeMap<String, String>,
    provider_id: Option<&str>,
) -> Option<String> {
    for key in REGION_LABELS {
        if let Some(v) = labels.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            return Some(v.to_owned());
        }
    }
    let id = provider_id?.trim();
    let id = id.strip_prefix("alicloud://").unwrap_or(id);
    let (region, instance) = id.split_once('.')?;
    let ok = !region.is_empty()
        && !instance.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| region.to_owned())
}

fn api_err(detail: String) -> AuthError {
    AuthError::KubernetesApi(detail)
}
