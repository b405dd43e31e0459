//! The policy's Prometheus series, registered into the provider's registry by `crate::metrics`.
//! Labels: namespace, plugin name, credential mode, decision: names only, never payloads.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    namespace: String,
    plugin: String,
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CredentialLabels {
    namespace: String,
    mode: &'static str,
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabel {
    result: &'static str,
}

/// Counters of policy decisions and reloads.
#[derive(Debug)]
pub(crate) struct PolicyMetrics {
    decisions: Family<DecisionLabels, Counter>,
    credentials: Family<CredentialLabels, Counter>,
    reloads: Family<ReloadLabel, Counter>,
    reload_failing: Gauge,
}

fn decision(allowed: bool) -> &'static str {
    if allowed { "allow" } else { "deny" }
}

impl PolicyMetrics {
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let m = Self {
            decisions: Family::default(),
            credentials: Family::default(),
            reloads: Family::default(),
            reload_failing: Gauge::default(),
        };
        registry.register(
            "policy_decisions",
            "Plugin policy decisions per mount and plugin, by namespace, plugin and decision (allow, deny)",
            m.decisions.clone(),
        );
        registry.register(
            "policy_credential_decisions",
            "Plugin policy decisions on a mount's credential mode, by namespace, mode and decision (allow, deny)",
            m.credentials.clone(),
        );
        registry.register(
            "policy_reloads",
            "Policy file reloads by result (ok, error: the previous policy stays in force)",
            m.reloads.clone(),
        );
        registry.register(
            "policy_reload_failing",
            "1 while the newest policy file is invalid and an older policy is enforced, else 0",
            m.reload_failing.clone(),
        );
        m
    }

    pub(crate) fn decision(&self, namespace: &str, plugin: &str, allowed: bool) {
        self.decisions
            .get_or_create(&DecisionLabels {
                namespace: namespace.to_owned(),
                plugin: plugin.to_owned(),
                decision: decision(allowed),
            })
            .inc();
    }

    pub(crate) fn credential(&self, namespace: &str, mode: &'static str, allowed: bool) {
        self.credentials
            .get_or_create(&CredentialLabels {
                namespace: namespace.to_owned(),
                mode,
                decision: decision(allowed),
            })
            .inc();
    }

    pub(crate) fn reload(&self, ok: bool) {
        self.reloads
            .get_or_create(&ReloadLabel {
                result: if ok { "ok" } else { "error" },
            })
            .inc();
        self.reload_failing.set(i64::from(!ok));
    }
}
