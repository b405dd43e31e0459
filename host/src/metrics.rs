//! Prometheus metrics of the provider, served on `--metrics-port` (`GET /metrics`).
//!
//! Labels are bounded and never carry secret names or values: mount results are a fixed set, backend
//! calls are labelled by API and Alibaba error code, plugin calls by plugin name (as loaded).
//! A disabled [`Metrics`] (the `Default`, used by `mount` and most tests) records nothing.

use crate::fetch::Served;
use axum::Router;
use axum::http::header;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Content type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which backend API a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendApi {
    /// KMS `GetSecretValue`.
    KmsGetSecretValue,
    /// OOS `GetSecretParameter`.
    OosGetSecretParameter,
}

impl BackendApi {
    fn label(self) -> &'static str {
        match self {
            BackendApi::KmsGetSecretValue => "kms_get_secret_value",
            BackendApi::OosGetSecretParameter => "oos_get_secret_parameter",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    api: &'static str,
    code: String,
    region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailoverLabels {
    api: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabel {
    api: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiResultLabels {
    api: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginResultLabels {
    plugin: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabel {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefreshLabels {
    source: &'static str,
    result: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// 1 ms .. ~33 s: a mount is a few network round trips, bounded by the kubelet's 2 minutes.
fn mount_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// 10 µs .. ~0.3 s: a transform call is in-process wasm.
fn plugin_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 2.0, 16))
}

struct Inner {
    registry: Registry,
    mounts: Family<ResultLabel, Counter>,
    mount_duration: HistogramFamily<ResultLabel>,
    backend_calls: Family<BackendLabels, Counter>,
    failovers: Family<FailoverLabels, Counter>,
    plugin_calls: Family<PluginResultLabels, Counter>,
    plugin_duration: HistogramFamily<PluginLabel>,
    policy: crate::policy::PolicyMetrics,
    coalesced: Family<ApiLabel, Counter>,
    payload_cache: Family<ApiResultLabels, Counter>,
    credential_refreshes: Family<RefreshLabels, Counter>,
}

/// The metrics registry; cheap to clone (one `Arc`), shared by the mount engine and the HTTP endpoint.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl Metrics {
    /// An enabled registry with every metric of the provider, `provider_info` set to this build's version.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("provider");
        let mounts = Family::<ResultLabel, Counter>::default();
        registry.register(
            "mounts",
            "Mount requests by result (ok or the failure class that chose the gRPC code)",
            mounts.clone(),
        );
        let mount_duration: HistogramFamily<ResultLabel> =
            Family::new_with_constructor(mount_histogram);
        registry.register(
            "mount_duration_seconds",
            "Time of a mount request from parsing to the answer, by result",
            mount_duration.clone(),
        );
        let backend_calls = Family::<BackendLabels, Counter>::default();
        registry.register(
            "backend_calls",
            "HTTP attempts to KMS / OOS by API and outcome (OK, the Alibaba error code, network, retried)",
            backend_calls.clone(),
        );
        let failovers = Family::<FailoverLabels, Counter>::default();
        registry.register(
            "failovers",
            "Objects fetched from the SPC's failoverRegion after the primary region failed retryably, by API and result (ok, error)",
            failovers.clone(),
        );
        let plugin_calls = Family::<PluginResultLabels, Counter>::default();
        registry.register(
            "plugin_calls",
            "Transform chain runs by plugin (the chain's plugins joined by '>') and result",
            plugin_calls.clone(),
        );
        let plugin_duration: HistogramFamily<PluginLabel> =
            Family::new_with_constructor(plugin_histogram);
        registry.register(
            "plugin_duration_seconds",
            "Time of one transform chain run, by plugin (the chain's plugins joined by '>')",
            plugin_duration.clone(),
        );
        let coalesced = Family::<ApiLabel, Counter>::default();
        registry.register(
            "fetch_coalesced",
            "Object fetches answered by an identical backend call already in flight (same identity, object, version, region), by API",
            coalesced.clone(),
        );
        let payload_cache = Family::<ApiResultLabels, Counter>::default();
        registry.register(
            "fetch_cache",
            "Payload cache lookups (--cache-ttl) by API and result (hit, miss); absent while the cache is off",
            payload_cache.clone(),
        );
        let credential_refreshes = Family::<RefreshLabels, Counter>::default();
        registry.register(
            "credential_refreshes",
            "Credential fetches and refreshes (STS AssumeRole / AssumeRoleWithOIDC, ECS metadata) by source and result (ok, error, stale: a failed refresh answered with the still valid previous credential)",
            credential_refreshes.clone(),
        );
        let info = Family::<VersionLabel, Gauge>::default();
        info.get_or_create(&VersionLabel {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
        registry.register("info", "Build information of the provider", info);
        let policy = crate::policy::PolicyMetrics::register(&mut registry);
        Self {
            inner: Some(Arc::new(Inner {
                registry,
                mounts,
                mount_duration,
                backend_calls,
                failovers,
                plugin_calls,
                plugin_duration,
                policy,
                coalesced,
                payload_cache,
                credential_refreshes,
            })),
        }
    }

    /// Counts one credential fetch of the cache; `source` is the cache key's kind (`rrsa`, `assume`, `ecs`,
    /// `pod`, `cross`), never a key id or role.
    pub fn record_credential_refresh(&self, source: &str, result: &'static str) {
        if let Some(m) = &self.inner {
            let source = match source {
                "rrsa" => "rrsa",
                "assume" => "assume_role",
                "ecs" => "ecs_metadata",
                "pod" => "pod_identity",
                "cross" => "cross_account",
                _ => "other",
            };
            m.credential_refreshes
                .get_or_create(&RefreshLabels { source, result })
                .inc();
        }
    }

    /// A handle that records nothing (the `mount` command, tests that do not look at metrics).
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Whether this handle records anything.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Counts one finished mount; `result` is `ok` or a failure class (see [`crate::mount::MountError`]).
    pub fn record_mount(&self, result: &'static str, elapsed: Duration) {
        if let Some(m) = &self.inner {
            let l = ResultLabel { result };
            m.mounts.get_or_create(&l).inc();
            m.mount_duration
                .get_or_create(&l)
                .observe(elapsed.as_secs_f64());
        }
    }

    /// Counts `attempts` HTTP attempts to `api` that ended with `code` (`OK`, an Alibaba error code, ...).
    pub fn record_backend(&self, api: BackendApi, region: &str, code: &str, attempts: u32) {
        if attempts == 0 {
            return;
        }
        if let Some(m) = &self.inner {
            m.backend_calls
                .get_or_create(&BackendLabels {
                    api: api.label(),
                    code: bounded_code(code),
                    region: bounded_region(region),
                })
                .inc_by(u64::from(attempts));
        }
    }

    /// Counts one fetch sent to the failover region and whether it succeeded.
    pub fn record_failover(&self, api: BackendApi, ok: bool) {
        if let Some(m) = &self.inner {
            m.failovers
                .get_or_create(&FailoverLabels {
                    api: api.label(),
                    result: if ok { "ok" } else { "error" },
                })
                .inc();
        }
    }

    /// Counts where one object fetch was answered from: a shared in-flight call (`coalesced`), and, with
    /// the payload cache on, a cache `hit` or `miss`.
    pub fn record_fetch_served(&self, api: BackendApi, served: Served, cache_on: bool) {
        if let Some(m) = &self.inner {
            let api = api.label();
            if served == Served::Coalesced {
                m.coalesced.get_or_create(&ApiLabel { api }).inc();
            }
            if cache_on {
                let result = if served == Served::Cache {
                    "hit"
                } else {
                    "miss"
                };
                m.payload_cache
                    .get_or_create(&ApiResultLabels { api, result })
                    .inc();
            }
        }
    }

    /// Counts one plugin policy decision on `plugin` for a mount in `namespace`.
    pub fn record_policy_decision(&self, namespace: &str, plugin: &str, allowed: bool) {
        if let Some(m) = &self.inner {
            m.policy.decision(namespace, plugin, allowed);
        }
    }

    /// Counts one plugin policy decision on a mount's credential `mode`.
    pub fn record_policy_credential(&self, namespace: &str, mode: &'static str, allowed: bool) {
        if let Some(m) = &self.inner {
            m.policy.credential(namespace, mode, allowed);
        }
    }

    /// Counts one policy file reload (`ok: false` keeps the previous policy).
    pub fn record_policy_reload(&self, ok: bool) {
        if let Some(m) = &self.inner {
            m.policy.reload(ok);
        }
    }

    /// Counts one transform chain run of `plugin` (plugin names, never configs or data).
    pub fn record_plugin(&self, plugin: &str, ok: bool, elapsed: Duration) {
        if let Some(m) = &self.inner {
            m.plugin_calls
                .get_or_create(&PluginResultLabels {
                    plugin: plugin.to_owned(),
                    result: if ok { "ok" } else { "error" },
                })
                .inc();
            m.plugin_duration
                .get_or_create(&PluginLabel {
                    plugin: plugin.to_owned(),
                })
                .observe(elapsed.as_secs_f64());
        }
    }

    /// The OpenMetrics text of every metric (empty when disabled).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(m) = &self.inner {
            // Writing into a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut out, &m.registry);
        }
        out
    }

    /// The `GET /metrics` router.
    pub fn router(&self) -> Router {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()) }
            }),
        )
    }

    /// Binds the metrics server on `addr` (port 0 picks a free one); serve the router on the listener.
    pub async fn bind(&self, addr: SocketAddr) -> std::io::Result<(TcpListener, Router)> {
        let listener = TcpListener::bind(addr).await?;
        Ok((listener, self.router()))
    }
}

/// Error codes come from the server: keep the label short and to a safe alphabet so a hostile
/// endpoint cannot blow up the label set or inject text.
/// Regions are validated by the SPC parser; this only keeps a label short and plain whatever the caller passes.
fn bounded_region(region: &str) -> String {
    let clean: String = region
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    if clean.is_empty() {
        "unknown".into()
    } else {
        clean
    }
}

fn bounded_code(code: &str) -> String {
    let clean: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    if clean.is_empty() {
        "unknown".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_labels() {
        let m = Metrics::new();
        m.record_mount("ok", Duration::from_millis(3));
        m.record_mount("not_found", Duration::from_millis(1));
        m.record_mount("ok", Duration::from_millis(5));
        m.record_backend(BackendApi::KmsGetSecretValue, "cn-hangzhou", "OK", 1);
        m.record_backend(
            BackendApi::OosGetSecretParameter,
            "cn-shanghai",
            "Throttling.User",
            3,
        );
        m.record_plugin("jmespath", true, Duration::from_micros(40));
        m.record_fetch_served(BackendApi::KmsGetSecretValue, Served::Coalesced, false);
        m.record_fetch_served(BackendApi::KmsGetSecretValue, Served::Cache, true);
        m.record_fetch_served(BackendApi::KmsGetSecretValue, Served::Backend, true);
        m.record_failover(BackendApi::KmsGetSecretValue, true);
        let text = m.render();
        assert!(
            text.contains("provider_failovers_total{api=\"kms_get_secret_value\",result=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("provider_mounts_total{result=\"ok\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("provider_mounts_total{result=\"not_found\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("provider_mount_duration_seconds_count{result=\"ok\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("provider_backend_calls_total{api=\"oos_get_secret_parameter\",code=\"Throttling.User\",region=\"cn-shanghai\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("provider_plugin_calls_total{plugin=\"jmespath\",result=\"ok\"} 1"),
            "{text}"
        );
        assert!(text.contains("provider_info{version=\""), "{text}");
        assert!(
            text.contains("provider_fetch_coalesced_total{api=\"kms_get_secret_value\"} 1"),
            "{text}"
        );
        for result in ["hit", "miss"] {
            assert!(
                text.contains(&format!(
                    "provider_fetch_cache_total{{api=\"kms_get_secret_value\",result=\"{result}\"}} 1"
                )),
                "{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn disabled_records_nothing() {
        let m = Metrics::disabled();
        m.record_mount("ok", Duration::from_millis(1));
        assert_eq!(m.render(), "");
        assert!(!m.is_enabled());
    }

    #[test]
    fn hostile_codes_are_bounded() {
        assert_eq!(bounded_code("Bad\"}\ncode"), "Badcode");
        assert_eq!(bounded_code(&"x".repeat(500)).len(), 64);
        assert_eq!(bounded_code("\"{}"), "unknown");
    }
}
