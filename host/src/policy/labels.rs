//! Namespace labels for `namespaceSelector` rules: read through the Kubernetes API (the auth
//! module's lazily connected client) and cached for a short time, or a fixed map (tests, `explain`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::Cluster;

/// How long a namespace's labels are reused before they are read again.
pub const DEFAULT_LABEL_TTL: Duration = Duration::from_secs(30);

type Labels = BTreeMap<String, String>;

/// Where namespace labels come from.
pub enum NamespaceLabels {
    /// The Kubernetes API (needs `get` on `namespaces`), cached per namespace for `ttl`.
    Kubernetes {
        /// The client (connects on first use; boxed: it is much larger than the other variant).
        cluster: Box<Cluster>,
        /// Cache lifetime.
        ttl: Duration,
        /// namespace → (read at, labels).
        cache: Mutex<HashMap<String, (Instant, Labels)>>,
    },
    /// A fixed map; an unknown namespace has no labels.
    Static(HashMap<String, Labels>),
}

impl std::fmt::Debug for NamespaceLabels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kubernetes { cluster, ttl, .. } => f
                .debug_struct("Kubernetes")
                .field("cluster", cluster)
                .field("ttl", ttl)
                .finish(),
            Self::Static(m) => f.debug_tuple("Static").field(&m.len()).finish(),
        }
    }
}

impl NamespaceLabels {
    /// Labels from the API of `kubeconfig` (`None`: in-cluster / `KUBECONFIG`).
    pub fn kubernetes(kubeconfig: Option<std::path::PathBuf>, ttl: Duration) -> Self {
        Self::Kubernetes {
            cluster: Box::new(Cluster::new(kubeconfig, None)),
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The labels of `namespace`; an API failure is an error (the rule cannot be chosen safely).
    pub async fn get(&self, namespace: &str) -> Result<Labels, String> {
        match self {
            Self::Static(m) => Ok(m.get(namespace).cloned().unwrap_or_default()),
            Self::Kubernetes {
                cluster,
                ttl,
                cache,
            } => {
                let now = Instant::now();
                if let Some((at, l)) = lock(cache).get(namespace)
                    && now.duration_since(*at) < *ttl
                {
                    return Ok(l.clone());
                }
                let labels = cluster
                    .namespace_labels(namespace)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut c = lock(cache);
                c.retain(|_, (at, _)| now.duration_since(*at) < *ttl);
                c.insert(namespace.to_owned(), (now, labels.clone()));
                Ok(labels)
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::Path;
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fake API server on 127.0.0.1 answering Namespace reads, counting them.
    #[tokio::test]
    async fn reads_labels_from_the_api_and_caches_them() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let app = Router::new().route(
            "/api/v1/namespaces/{name}",
            get(move |Path(name): Path<String>| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    axum::Json(serde_json::json!({
                        "apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": name, "labels": {"tier": "tenant"}}
                    }))
                }
            }),
        );
        let (_dir, kubeconfig) = crate::auth::cluster_tests::serve_fake_api(app).await;
        let labels = NamespaceLabels::kubernetes(Some(kubeconfig), Duration::from_secs(60));
        for _ in 0..3 {
            let l = labels.get("shop").await.unwrap();
            assert_eq!(l.get("tier").map(String::as_str), Some("tenant"));
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "cached after the first read"
        );
        labels.get("other").await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unreachable_api_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let labels = NamespaceLabels::kubernetes(
            Some(dir.path().join("missing-kubeconfig")),
            DEFAULT_LABEL_TTL,
        );
        assert!(labels.get("shop").await.is_err());
    }
}
