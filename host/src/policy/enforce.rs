//! Enforcement at Mount: pick the namespace's rule (reading labels only when a label rule could
//! decide), decide, count, and write one audit line. No payload, config or credential is looked at.

use std::fmt::Write as _;

use super::decide::{Decision, ObjectUse, decide};
use super::document::CredentialMode;
use super::error::PolicyError;
use super::labels::NamespaceLabels;
use super::reload::PolicyHandle;
use crate::metrics::Metrics;

/// The policy in force plus where namespace labels come from.
#[derive(Debug)]
pub struct PolicyEnforcer {
    handle: PolicyHandle,
    labels: NamespaceLabels,
    metrics: Metrics,
}

impl PolicyEnforcer {
    /// Enforces `handle`'s policy, reading labels from `labels` and counting into `metrics`.
    pub fn new(handle: PolicyHandle, labels: NamespaceLabels, metrics: Metrics) -> Self {
        Self {
            handle,
            labels,
            metrics,
        }
    }

    /// The built-in defaults (no policy file): built-in plugins allowed, custom plugins denied.
    /// (The CLI logs once which policy is in force.)
    pub fn defaults(metrics: Metrics) -> Self {
        Self::new(
            PolicyHandle::defaults(metrics.clone()),
            NamespaceLabels::Static(Default::default()),
            metrics,
        )
    }

    /// The policy handle (reload state for health, the file path).
    pub fn handle(&self) -> &PolicyHandle {
        &self.handle
    }

    /// Decides a mount of `objects` in `namespace` using `mode`; `Err` when it is refused.
    pub async fn check(
        &self,
        namespace: &str,
        pod: &str,
        objects: &[ObjectUse],
        mode: Option<CredentialMode>,
    ) -> Result<Decision, PolicyError> {
        let policy = self.handle.current();
        let labels = if policy.needs_labels(namespace) {
            match self.labels.get(namespace).await {
                Ok(l) => Some(l),
                Err(reason) => {
                    tracing::warn!(target: "audit", namespace, pod, decision = "deny", reason = %reason, "plugin policy decision: namespace labels unavailable");
                    return Err(PolicyError::Labels {
                        namespace: namespace.to_owned(),
                        reason,
                    });
                }
            }
        } else {
            None
        };
        let selection = policy.select(namespace, labels.as_ref());
        let rule = selection.rule;
        let mut decision = decide(rule, objects, mode);
        decision.rule = format!("{}, {}", rule.label(), selection.matched);
        let mut plugins = String::new();
        for v in &decision.plugins {
            // A denied name that is not a plugin of this node is tenant text: counting it under its own
            // label would let a tenant grow the number of series without bound (the audit line has it).
            let label = if v.allowed || v.digest.is_some() {
                v.plugin.as_str()
            } else {
                "unknown"
            };
            self.metrics
                .record_policy_decision(namespace, label, v.allowed);
            let _ = write!(
                plugins,
                "{}{}{}={}",
                if plugins.is_empty() { "" } else { "," },
                v.plugin,
                v.digest
                    .as_deref()
                    .map(|d| format!("@sha256:{d}"))
                    .unwrap_or_default(),
                if v.allowed { "allow" } else { "deny" }
            );
        }
        if let Some((m, ok)) = decision.credential {
            self.metrics
                .record_policy_credential(namespace, m.as_str(), ok);
        }
        let verdict = if decision.allowed() { "allow" } else { "deny" };
        let rule_label = rule.label();
        let mode_name = mode.map(CredentialMode::as_str).unwrap_or("unknown");
        if decision.allowed() {
            tracing::info!(target: "audit", namespace, pod, rule = %rule_label, matched = %selection.matched, plugins = %plugins, credential_mode = mode_name, decision = verdict, "plugin policy decision");
            Ok(decision)
        } else {
            tracing::warn!(target: "audit", namespace, pod, rule = %rule_label, matched = %selection.matched, plugins = %plugins, credential_mode = mode_name, decision = verdict, reasons = ?decision.denials, "plugin policy decision");
            Err(PolicyError::Denied {
                namespace: namespace.to_owned(),
                rule: decision.rule,
                reasons: decision.denials,
            })
        }
    }

    /// Refuses an allowed mount after all because of unsigned plugins (`requireSignedPlugins`):
    /// counts and audits each `(plugin, reason)` like any other denial.
    pub fn deny_unsigned(
        &self,
        namespace: &str,
        pod: &str,
        decision: &Decision,
        unsigned: Vec<(String, String)>,
    ) -> PolicyError {
        for (plugin, _) in &unsigned {
            self.metrics
                .record_policy_decision(namespace, plugin, false);
        }
        let reasons: Vec<String> = unsigned.into_iter().map(|(_, r)| r).collect();
        tracing::warn!(target: "audit", namespace, pod, rule = %decision.rule, decision = "deny", reasons = ?reasons, "plugin policy decision: unsigned plugins");
        PolicyError::Denied {
            namespace: namespace.to_owned(),
            rule: decision.rule.clone(),
            reasons,
        }
    }
}
