//! Policy parsing (every error, with lines), precedence, decisions and reload.

use std::collections::BTreeMap;
use std::time::Duration;

use super::decide::{LoadedInfo, ObjectUse, StepUse, decide};
use super::document::{CredentialMode, Policy};
use super::reload::{PolicyHandle, ReloadOutcome};
use super::select::MatchKind;
use crate::metrics::Metrics;
use crate::transform::Limits;

const HEADER: &str = "apiVersion: secrets-store.alibabacloud.com/v1alpha1\nkind: PluginPolicy\n";

fn parse(body: &str) -> Policy {
    Policy::parse(&format!("{HEADER}{body}"), "test.yaml", &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn errors(body: &str) -> String {
    Policy::parse(&format!("{HEADER}{body}"), "test.yaml", &Limits::default())
        .unwrap_err()
        .to_string()
}

const PIN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn step(name: &str, digest: &str, builtin: bool) -> StepUse {
    StepUse {
        name: name.into(),
        requested_digest: None,
        loaded: Some(LoadedInfo {
            digest: Some(digest.into()),
            builtin,
        }),
    }
}

fn object(steps: Vec<StepUse>) -> Vec<ObjectUse> {
    vec![ObjectUse {
        object: "objects[0] (kms \"db\")".into(),
        steps,
    }]
}

#[test]
fn every_error_is_reported_with_rule_field_and_line() {
    let text = "\
apiVersion: v1
kind: PluginPolicy
rules:
  - name: payments
    namespaces: [payments]
    allowedPlugins: [jmespath, \"db-url@sha256:abc\"]
    pluginLimits:
      jmespath:
        memoryMiB: 128
        timeoutMS: 5
  - name: tenants
    namespaceSelector: {}
    credentialModes: [podIdentity, nodeRole]
    maxStep: 3
  - namespaces: [payments, \"Bad_NS\"]
default:
  namespaces: [x]
";
    let err = Policy::parse(text, "p.yaml", &Limits::default())
        .unwrap_err()
        .to_string();
    let want = [
        "line 1: document: apiVersion: is \"v1\"; expected secrets-store.alibabacloud.com/v1alpha1",
        "line 6: rules[0] \"payments\": allowedPlugins[1]: \"db-url@sha256:abc\": the pin must be @sha256: followed by 64 hex digits",
        "line 9: rules[0] \"payments\": pluginLimits.jmespath.memoryMiB: is 128 MiB, above the provider's limit of 64 MiB (--plugin-memory-mib); a policy can only tighten limits",
        "line 10: rules[0] \"payments\": pluginLimits.jmespath: timeoutMS: unknown field; allowed fields are: memoryMiB, timeoutMs, maxOutputKiB",
        "line 12: rules[1] \"tenants\": namespaceSelector: has no requirement",
        "line 13: rules[1] \"tenants\": credentialModes[1]: \"nodeRole\" is not a credential mode",
        "line 14: rules[1] \"tenants\": maxStep: unknown field; allowed fields are: name, namespaces",
        "line 15: rules[2]: namespaces[1]: \"Bad_NS\" is not a namespace name or glob",
        "line 15: rules[2]: namespaces[0]: \"payments\" is also selected by rules[0]",
        "line 17: default: namespaces: unknown field; allowed fields are: allowedPlugins",
    ];
    for w in want {
        assert!(err.contains(w), "missing {w:?} in:\n{err}");
    }
    assert!(err.starts_with("10 errors in p.yaml:"), "{err}");
}

#[test]
fn syntax_errors_have_a_line_and_wrong_kinds_are_named() {
    let e = errors("rules:\n  - name: a\n    namespaces: [a\n");
    assert!(e.contains("line 5") && e.contains("not valid YAML"), "{e}");
    let e = errors("rules: {}\n");
    assert!(
        e.contains("rules: is a map; expected a list of rules"),
        "{e}"
    );
    let e = errors("rules:\n  - name: a\n");
    assert!(e.contains("selects no namespace"), "{e}");
    let e =
        errors("rules:\n  - namespaces: [a]\n    namespaceSelector:\n      matchLabels: {x: y}\n");
    assert!(
        e.contains("sets both namespaces and namespaceSelector"),
        "{e}"
    );
    let e = errors(
        "rules:\n  - namespaces: [a]\n    allowedPlugins: [format]\n    pluginLimits:\n      db-url: {timeoutMs: 5}\n",
    );
    assert!(
        e.contains("pluginLimits.db-url: limits a plugin that allowedPlugins does not allow"),
        "{e}"
    );
    let e = errors(
        "rules:\n  - namespaceSelector:\n      matchExpressions:\n        - {key: tier, operator: Has}\n",
    );
    assert!(e.contains("\"Has\" is not an operator"), "{e}");
}

#[test]
fn most_specific_rule_wins_and_ties_go_to_file_order() {
    let p = parse(
        "\
rules:
  - name: any-glob
    namespaces: [\"*\"]
  - name: team-glob
    namespaces: [\"team-*\"]
  - name: team-a-glob
    namespaces: [\"team-a-*\"]
  - name: suffix-glob
    namespaces: [\"*-prod\"]
  - name: exact
    namespaces: [team-a-prod]
  - name: one-label
    namespaceSelector:
      matchLabels: {tier: tenant}
  - name: two-labels
    namespaceSelector:
      matchLabels: {tier: tenant}
      matchExpressions:
        - {key: pci, operator: Exists}
  - name: two-labels-later
    namespaceSelector:
      matchExpressions:
        - {key: tier, operator: In, values: [tenant]}
        - {key: pci, operator: Exists}
",
    );
    let pick = |ns: &str, labels: &[(&str, &str)]| {
        let l: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = p.select(ns, Some(&l));
        (s.rule.name.clone().unwrap_or_default(), s.matched)
    };
    // exact beats every glob
    assert_eq!(
        pick("team-a-prod", &[]),
        ("exact".into(), MatchKind::Exact("team-a-prod".into()))
    );
    // longest literal prefix: team-a-* (7) > team-* (5) > *-prod (0) = * (0)
    assert_eq!(pick("team-a-dev", &[]).0, "team-a-glob");
    assert_eq!(pick("team-b-prod", &[]).0, "team-glob");
    // equal prefixes (0): the first in the file
    assert_eq!(pick("shop-prod", &[]).0, "any-glob");
    // a name match wins over labels
    assert_eq!(pick("shop", &[("tier", "tenant")]).0, "any-glob");
    // no namespace at all: only the default rule, never a `*` glob or a label rule
    assert_eq!(
        pick("", &[("tier", "tenant")]),
        (String::new(), MatchKind::Default)
    );
    assert!(!p.needs_labels(""));
    let labels_only = parse(
        "\
rules:
  - name: one-label
    namespaceSelector:
      matchLabels: {tier: tenant}
  - name: two-labels
    namespaceSelector:
      matchLabels: {tier: tenant}
      matchExpressions:
        - {key: pci, operator: Exists}
  - name: two-labels-later
    namespaceSelector:
      matchExpressions:
        - {key: tier, operator: In, values: [tenant]}
        - {key: pci, operator: Exists}
",
    );
    let pick = |labels: &[(&str, &str)]| {
        let l: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let s = labels_only.select("shop", Some(&l));
        (s.rule.name.clone(), s.matched)
    };
    assert_eq!(pick(&[("tier", "tenant")]).0.as_deref(), Some("one-label"));
    // more requirements win; equal counts: first in file
    assert_eq!(
        pick(&[("tier", "tenant"), ("pci", "1")]),
        (Some("two-labels".into()), MatchKind::Labels(2))
    );
    assert_eq!(pick(&[("tier", "other")]), (None, MatchKind::Default));
    assert!(labels_only.needs_labels("shop"));
    // unknown labels: label rules cannot match
    assert_eq!(labels_only.select("shop", None).matched, MatchKind::Default);
}

#[test]
fn pinned_digests_reject_any_other_digest() {
    let p = parse(&format!(
        "rules:\n  - namespaces: [pay]\n    allowCustomPlugins: true\n    allowedPlugins: [jmespath, \"db-url@sha256:{PIN}\"]\n"
    ));
    let rule = p.select("pay", None).rule;
    let ok = decide(rule, &object(vec![step("db-url", PIN, false)]), None);
    assert!(ok.allowed(), "{:?}", ok.denials);
    assert_eq!(ok.pins[0][0].as_deref(), Some(PIN));
    let bad = decide(rule, &object(vec![step("db-url", OTHER, false)]), None);
    assert_eq!(bad.denials.len(), 1);
    assert!(
        bad.denials[0].contains(&format!("plugin \"db-url\" (sha256:{OTHER}): the loaded digest is not the one rules[0] (line 4) pins (sha256:{PIN})")),
        "{:?}",
        bad.denials
    );
    let unlisted = decide(rule, &object(vec![step("template", OTHER, true)]), None);
    assert!(
        unlisted.denials[0].contains("plugin \"template\" (sha256:bbbb"),
        "{:?}",
        unlisted.denials
    );
    assert!(
        unlisted.denials[0]
            .contains("is not in allowedPlugins of rules[0] (line 4) (allowed: jmespath, db-url)")
    );
    // The SPC's own pin must agree too.
    let mut asked = step("db-url", PIN, false);
    asked.requested_digest = Some(OTHER.into());
    assert!(!decide(rule, &object(vec![asked]), None).allowed());
}

#[test]
fn custom_plugins_need_allow_custom_and_defaults_deny_them() {
    let defaults = Policy::builtin_defaults();
    let d = decide(
        &defaults.default,
        &object(vec![
            step("jmespath", PIN, true),
            step("db-url", OTHER, false),
        ]),
        Some(CredentialMode::NodeInstanceRole),
    );
    assert_eq!(d.plugins.len(), 2);
    assert!(d.plugins[0].allowed && !d.plugins[1].allowed);
    assert_eq!(
        d.denials,
        vec![format!(
            "objects[0] (kms \"db\"): plugin \"db-url\" (sha256:{OTHER}) is a custom plugin and the built-in default (no policy file) does not allow custom plugins (allowCustomPlugins: false)"
        )]
    );
    let p = parse("default:\n  allowCustomPlugins: true\n");
    assert!(
        decide(
            &p.default,
            &object(vec![step("db-url", OTHER, false)]),
            None
        )
        .allowed()
    );
}

#[test]
fn credential_modes_and_step_counts() {
    let p = parse(
        "rules:\n  - name: tenants\n    namespaces: [\"tenant-*\"]\n    credentialModes: [podIdentity, nodePublishSecret]\n    maxSteps: 1\n  - name: platform\n    namespaces: [platform]\n    credentialModes: [providerIdentity]\n",
    );
    let tenants = p.select("tenant-a", None).rule;
    for (mode, ok) in [
        (CredentialMode::PodIdentity, true),
        (CredentialMode::NodePublishSecret, true),
        (CredentialMode::NodeInstanceRole, false),
        (CredentialMode::ProviderAccessKey, false),
    ] {
        let d = decide(tenants, &object(vec![]), Some(mode));
        assert_eq!(d.allowed(), ok, "{mode}");
        assert_eq!(d.credential, Some((mode, ok)));
    }
    let d = decide(
        tenants,
        &object(vec![]),
        Some(CredentialMode::NodeInstanceRole),
    );
    assert_eq!(
        d.denials,
        vec![
            "credential mode nodeInstanceRole is not allowed by rules[0] \"tenants\" (line 4) (allowed: podIdentity, nodePublishSecret)"
        ]
    );
    let platform = p.select("platform", None).rule;
    assert!(decide(platform, &[], Some(CredentialMode::ProviderRrsa)).allowed());
    assert!(!decide(platform, &[], Some(CredentialMode::PodIdentity)).allowed());
    let two = decide(
        tenants,
        &object(vec![step("jmespath", PIN, true), step("format", PIN, true)]),
        Some(CredentialMode::PodIdentity),
    );
    assert!(
        two.denials[0]
            .contains("has 2 transform steps; rules[0] \"tenants\" (line 4) allows at most 1")
    );
}

#[test]
fn limit_caps_are_per_plugin_and_at_most_the_provider_limits() {
    let p = parse(
        "default:\n  pluginLimits:\n    template: {memoryMiB: 8, timeoutMs: 20, maxOutputKiB: 4}\n",
    );
    let d = decide(
        &p.default,
        &object(vec![
            step("jmespath", PIN, true),
            step("template", PIN, true),
        ]),
        None,
    );
    assert!(d.caps[0][0].is_empty());
    let c = d.caps[0][1];
    assert_eq!(c.memory_bytes, Some(8 << 20));
    assert_eq!(c.timeout, Some(Duration::from_millis(20)));
    assert_eq!(c.max_output_bytes, Some(4 << 10));
    let applied = c.apply(&Limits::default());
    assert_eq!(applied.memory_bytes, 8 << 20);
    let tight = Limits {
        timeout: Duration::from_millis(10),
        ..Limits::default()
    };
    assert_eq!(
        c.apply(&tight).timeout,
        Duration::from_millis(10),
        "caps never raise"
    );
    let e = errors("default:\n  pluginLimits:\n    template: {timeoutMs: 101, maxOutputKiB: 0}\n");
    assert!(
        e.contains("timeoutMs: is 101 ms, above the provider's limit of 100 ms"),
        "{e}"
    );
    assert!(e.contains("maxOutputKiB: must be more than zero"), "{e}");
}

#[test]
fn reload_swaps_a_valid_policy_and_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    let v1 = format!("{HEADER}rules:\n  - name: one\n    namespaces: [a]\n");
    std::fs::write(&path, &v1).unwrap();
    let metrics = Metrics::new();
    let h = PolicyHandle::from_file(&path, Limits::default(), metrics.clone()).unwrap();
    assert_eq!(h.current().rules[0].name.as_deref(), Some("one"));
    assert!(matches!(h.reload(), ReloadOutcome::Unchanged));

    // ConfigMap style: the file is replaced through a rename, not rewritten in place.
    let swap = |text: &str| {
        let tmp = dir.path().join("new");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    };
    swap(&format!(
        "{HEADER}rules:\n  - name: two\n    namespaces: [a]\n"
    ));
    assert!(matches!(h.reload(), ReloadOutcome::Applied));
    assert_eq!(h.current().rules[0].name.as_deref(), Some("two"));
    assert!(h.failure().is_none());

    swap(&format!(
        "{HEADER}rules:\n  - name: three\n    namespaces: [a]\n    maxSteps: -1\n    bogus: 1\n"
    ));
    let ReloadOutcome::Rejected(errs) = h.reload() else {
        panic!("an invalid policy must be rejected")
    };
    assert_eq!(errs.problems.len(), 2, "{errs}");
    assert_eq!(
        h.current().rules[0].name.as_deref(),
        Some("two"),
        "last good stays"
    );
    let f = h.failure().unwrap();
    assert_eq!(f.errors, 2);
    assert!(
        matches!(h.reload(), ReloadOutcome::Unchanged),
        "reported once"
    );
    let text = metrics.render();
    assert!(
        text.contains("provider_policy_reloads_total{result=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("provider_policy_reloads_total{result=\"error\"} 1"),
        "{text}"
    );
    assert!(text.contains("provider_policy_reload_failing 1"), "{text}");

    swap(&format!(
        "{HEADER}rules:\n  - name: four\n    namespaces: [a]\n"
    ));
    assert!(matches!(h.reload(), ReloadOutcome::Applied));
    assert!(h.failure().is_none());
    assert!(
        metrics
            .render()
            .contains("provider_policy_reload_failing 0")
    );
}

#[test]
fn the_watcher_picks_up_a_new_file_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    std::fs::write(
        &path,
        format!("{HEADER}rules:\n  - name: one\n    namespaces: [a]\n"),
    )
    .unwrap();
    let h = PolicyHandle::from_file(&path, Limits::default(), Metrics::disabled()).unwrap();
    h.spawn_watcher(Duration::from_millis(20)).unwrap();
    std::fs::write(
        &path,
        format!("{HEADER}rules:\n  - name: two\n    namespaces: [a]\n"),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while h.current().rules[0].name.as_deref() != Some("two") {
        assert!(
            std::time::Instant::now() < deadline,
            "not reloaded within 5s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_shipped_example_is_valid() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/policy/policy.yaml"
    );
    let p = Policy::load(std::path::Path::new(path), &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(p.rules.len() >= 3);
}

#[test]
fn oci_plugins_are_named_without_tag_and_may_be_pinned() {
    let p = parse(&format!(
        "default:\n  allowCustomPlugins: true\n  allowedPlugins: [\"oci://registry.example.com/team/db-url@sha256:{PIN}\", \"oci://127.0.0.1:5000/x\"]\n  pluginLimits:\n    oci://127.0.0.1:5000/x: {{memoryMiB: 8}}\n"
    ));
    let list = p.default.plugins.as_ref().unwrap();
    assert_eq!(list[0].name, "oci://registry.example.com/team/db-url");
    assert_eq!(list[0].sha256.as_deref(), Some(PIN));
    assert!(p.default.limits.contains_key("oci://127.0.0.1:5000/x"));
    let e = errors("default:\n  allowedPlugins: [\"oci://registry.example.com/team/db-url:v1\"]\n");
    assert!(
        e.contains("name an oci:// plugin without a tag: oci://registry.example.com/team/db-url"),
        "{e}"
    );
}

#[test]
fn a_file_unreadable_for_a_moment_recovers_without_a_content_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.yaml");
    let text = format!("{HEADER}rules:\n  - name: one\n    namespaces: [a]\n");
    std::fs::write(&path, &text).unwrap();
    let h = PolicyHandle::from_file(&path, Limits::default(), Metrics::disabled()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(h.reload(), ReloadOutcome::Rejected(_)));
    assert!(h.failure().is_some());
    assert_eq!(h.current().rules[0].name.as_deref(), Some("one"));
    std::fs::write(&path, &text).unwrap();
    assert!(matches!(h.reload(), ReloadOutcome::Unchanged));
    assert!(h.failure().is_none(), "the same good file is back");
}
