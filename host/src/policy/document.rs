//! The policy document: the checked model ([`Policy`], [`Rule`]) and the parser that reports every
//! problem at once with its rule, field and line.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

use super::error::{PolicyErrors, PolicyProblem};
use super::locate::Locator;
use super::select::{LabelSelector, NamePattern, Operator, Requirement};
use crate::transform::{LimitCaps, Limits};

/// The only `apiVersion` this provider reads.
pub const API_VERSION: &str = "secrets-store.alibabacloud.com/v1alpha1";
/// The only `kind`.
pub const KIND: &str = "PluginPolicy";

const DOC_FIELDS: &[&str] = &["apiVersion", "kind", "default", "rules"];
const RULE_FIELDS: &[&str] = &[
    "name",
    "namespaces",
    "namespaceSelector",
    "allowedPlugins",
    "allowCustomPlugins",
    "pluginLimits",
    "maxSteps",
    "credentialModes",
    "requireSignedPlugins",
];
/// `default` has the rule fields minus the selectors and the name.
const DEFAULT_FIELDS: &[&str] = &[
    "allowedPlugins",
    "allowCustomPlugins",
    "pluginLimits",
    "maxSteps",
    "credentialModes",
    "requireSignedPlugins",
];

/// Which identity a mount authenticates with: the auth chain's sources (`docs/auth.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CredentialMode {
    /// The pod's own service-account token exchanged for a RAM role (`usePodServiceAccountToken`).
    PodIdentity,
    /// The volume's `nodePublishSecretRef` AccessKey.
    NodePublishSecret,
    /// The provider's own RRSA role.
    ProviderRrsa,
    /// The provider's AccessKey from its environment (with or without AssumeRole).
    ProviderAccessKey,
    /// The node's ECS RAM role (instance metadata): shared by every pod on the node.
    NodeInstanceRole,
}

impl CredentialMode {
    /// Every mode, in chain order.
    pub const ALL: [CredentialMode; 5] = [
        Self::PodIdentity,
        Self::NodePublishSecret,
        Self::ProviderRrsa,
        Self::ProviderAccessKey,
        Self::NodeInstanceRole,
    ];

    /// The name used in policy files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PodIdentity => "podIdentity",
            Self::NodePublishSecret => "nodePublishSecret",
            Self::ProviderRrsa => "providerRRSA",
            Self::ProviderAccessKey => "providerAccessKey",
            Self::NodeInstanceRole => "nodeInstanceRole",
        }
    }

    /// The modes a policy name stands for (`providerIdentity` is the provider's three).
    pub fn parse_group(name: &str) -> Option<Vec<CredentialMode>> {
        if name == "providerIdentity" {
            return Some(vec![
                Self::ProviderRrsa,
                Self::ProviderAccessKey,
                Self::NodeInstanceRole,
            ]);
        }
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == name)
            .map(|m| vec![m])
    }
}

impl fmt::Display for CredentialMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `allowedPlugins` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginEntry {
    /// Plugin name, or `*` for any.
    pub name: String,
    /// A pin: only this sha256 (lowercase hex) is allowed.
    pub sha256: Option<String>,
}

/// A checked rule (or the default, `index: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Position in `rules`; `None` for `default`.
    pub index: Option<usize>,
    /// `name`, when given.
    pub name: Option<String>,
    /// Where the rule starts in the file.
    pub line: Option<usize>,
    /// `namespaces`: exact names and globs.
    pub namespaces: Vec<NamePattern>,
    /// `namespaceSelector`.
    pub selector: Option<LabelSelector>,
    /// `allowedPlugins`; `None` allows any name (custom ones still need `allow_custom`).
    pub plugins: Option<Vec<PluginEntry>>,
    /// `allowCustomPlugins` (default false).
    pub allow_custom: bool,
    /// `pluginLimits`: caps per plugin name, each at most the provider's limit.
    pub limits: BTreeMap<String, LimitCaps>,
    /// `maxSteps`: transform steps per object (the `jmesPath` shorthand counts as one).
    pub max_steps: Option<usize>,
    /// `credentialModes`; `None` allows every mode.
    pub credential_modes: Option<BTreeSet<CredentialMode>>,
    /// `requireSignedPlugins`: reserved for plugin signatures (#10); not enforced yet.
    pub require_signed: bool,
}

impl Rule {
    /// The rule applied when no file is configured: built-ins allowed, custom plugins denied.
    pub fn builtin_default() -> Self {
        Self {
            index: None,
            name: None,
            line: None,
            namespaces: Vec::new(),
            selector: None,
            plugins: None,
            allow_custom: false,
            limits: BTreeMap::new(),
            max_steps: None,
            credential_modes: None,
            require_signed: false,
        }
    }

    /// How messages name the rule: `rules[2] "tenants" (line 14)`, `default (line 30)`.
    pub fn label(&self) -> String {
        let mut s = match (self.index, &self.name) {
            (Some(i), Some(n)) => format!("rules[{i}] {n:?}"),
            (Some(i), None) => format!("rules[{i}]"),
            (None, _) if self.line.is_none() => "the built-in default (no policy file)".into(),
            (None, _) => "default".into(),
        };
        if let Some(l) = self.line {
            s.push_str(&format!(" (line {l})"));
        }
        s
    }

    /// The entry for `name`: its own, else `*`.
    pub fn entry(&self, name: &str) -> Option<&PluginEntry> {
        let list = self.plugins.as_ref()?;
        list.iter()
            .find(|e| e.name == name)
            .or_else(|| list.iter().find(|e| e.name == "*"))
    }
}

/// A checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The file it came from (or `built-in defaults`).
    pub source: String,
    /// Rules in file order.
    pub rules: Vec<Rule>,
    /// Applies to namespaces no rule selects.
    pub default: Rule,
}

impl Policy {
    /// The policy without a file: every namespace gets [`Rule::builtin_default`].
    pub fn builtin_defaults() -> Self {
        Self {
            source: "built-in defaults".into(),
            rules: Vec::new(),
            default: Rule::builtin_default(),
        }
    }

    /// Whether any rule selects namespaces by label (the Kubernetes API is needed).
    pub fn uses_labels(&self) -> bool {
        self.rules.iter().any(|r| r.selector.is_some())
    }

    /// Parses and checks `text`; `global` are the provider's plugin limits, which rules may only tighten.
    pub fn parse(text: &str, source: &str, global: &Limits) -> Result<Self, PolicyErrors> {
        let mut p = Parser {
            loc: Locator::new(text),
            problems: Vec::new(),
        };
        let policy = p.document(text, global);
        let mut problems = p.problems;
        if problems.is_empty() {
            let mut policy = policy.expect("a document without problems is parsed");
            policy.source = source.to_owned();
            return Ok(policy);
        }
        problems.sort_by_key(|p| p.line.unwrap_or(0));
        Err(PolicyErrors {
            source_name: source.to_owned(),
            problems,
        })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &std::path::Path, global: &Limits) -> Result<Self, PolicyErrors> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyErrors {
            source_name: shown.clone(),
            problems: vec![PolicyProblem {
                line: None,
                subject: "file".into(),
                field: String::new(),
                message: format!("cannot be read: {e}"),
            }],
        })?;
        Self::parse(&text, &shown, global)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    #[serde(default, rename = "matchLabels")]
    match_labels: BTreeMap<String, String>,
    #[serde(default, rename = "matchExpressions")]
    match_expressions: Vec<RawExpression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpression {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

/// `pluginLimits.<plugin>`; keys are checked one by one so every problem is reported.
#[derive(Default)]
struct RawLimits {
    memory_mib: Option<u64>,
    timeout_ms: Option<u64>,
    max_output_kib: Option<u64>,
}

const LIMIT_FIELDS: &[&str] = &["memoryMiB", "timeoutMs", "maxOutputKiB"];

struct Parser {
    loc: Locator,
    problems: Vec<PolicyProblem>,
}

impl Parser {
    fn problem(&mut self, path: &str, subject: &str, field: &str, message: impl Into<String>) {
        self.problems.push(PolicyProblem {
            line: self.loc.line(path),
            subject: subject.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// A typed field; a serde error becomes a problem (an unknown nested key points at its own line).
    fn typed<T: serde::de::DeserializeOwned>(
        &mut self,
        value: Value,
        path: &str,
        subject: &str,
        field: &str,
    ) -> Option<T> {
        match serde_yaml_ng::from_value::<T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let msg = e.to_string();
                let at = match msg.split('`').nth(1) {
                    Some(k) if msg.starts_with("unknown field") => format!("{path}.{k}"),
                    _ => path.to_owned(),
                };
                self.problems.push(PolicyProblem {
                    line: self.loc.line(&at),
                    subject: subject.to_owned(),
                    field: field.to_owned(),
                    message: msg,
                });
                None
            }
        }
    }

    fn document(&mut self, text: &str, global: &Limits) -> Option<Policy> {
        let root: Value = match serde_yaml_ng::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.problems.push(PolicyProblem {
                    line: e.location().map(|l| l.line()),
                    subject: "document".into(),
                    field: String::new(),
                    message: format!("is not valid YAML: {e}"),
                });
                return None;
            }
        };
        let Value::Mapping(map) = root else {
            self.problem(
                "",
                "document",
                "",
                format!(
                    "is a {}; expected a map with apiVersion: {API_VERSION}, kind: {KIND}, default and rules",
                    kind(&root)
                ),
            );
            return None;
        };
        let map = self.known(map, DOC_FIELDS, "", "document");
        let api = map.get("apiVersion").and_then(Value::as_str);
        if api != Some(API_VERSION) {
            self.problem(
                "apiVersion",
                "document",
                "apiVersion",
                format!(
                    "is {}; expected {API_VERSION}",
                    shown(map.get("apiVersion"))
                ),
            );
        }
        if map.get("kind").and_then(Value::as_str) != Some(KIND) {
            self.problem(
                "kind",
                "document",
                "kind",
                format!("is {}; expected {KIND}", shown(map.get("kind"))),
            );
        }
        let default = match map.get("default") {
            None | Some(Value::Null) => Rule::builtin_default(),
            Some(Value::Mapping(m)) => {
                let mut r = self.rule(m.clone(), None, global);
                r.line = self.loc.line("default");
                r
            }
            Some(other) => {
                self.problem(
                    "default",
                    "default",
                    "",
                    format!("is a {}; expected a map", kind(other)),
                );
                Rule::builtin_default()
            }
        };
        let mut rules = Vec::new();
        match map.get("rules") {
            None | Some(Value::Null) => {}
            Some(Value::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::Mapping(m) => rules.push(self.rule(m.clone(), Some(i), global)),
                        other => self.problem(
                            &format!("rules[{i}]"),
                            &format!("rules[{i}]"),
                            "",
                            format!("is a {}; expected a map", kind(other)),
                        ),
                    }
                }
            }
            Some(other) => self.problem(
                "rules",
                "document",
                "rules",
                format!("is a {}; expected a list of rules", kind(other)),
            ),
        }
        self.across_rules(&rules);
        Some(Policy {
            source: String::new(),
            rules,
            default,
        })
    }

    /// Keeps the allowed keys; every other key is a problem listing what is allowed.
    fn known(
        &mut self,
        map: Mapping,
        allowed: &[&str],
        prefix: &str,
        subject: &str,
    ) -> HashMap<String, Value> {
        let mut out = HashMap::new();
        for (k, v) in map {
            let Value::String(key) = k else {
                self.problem(
                    prefix,
                    subject,
                    "",
                    format!("has a {} as a key; keys are field names", kind(&k)),
                );
                continue;
            };
            if allowed.contains(&key.as_str()) {
                out.insert(key, v);
            } else {
                let path = join(prefix, &key);
                self.problem(
                    &path,
                    subject,
                    &key,
                    format!("unknown field; allowed fields are: {}", allowed.join(", ")),
                );
            }
        }
        out
    }

    fn rule(&mut self, map: Mapping, index: Option<usize>, global: &Limits) -> Rule {
        let prefix = match index {
            Some(i) => format!("rules[{i}]"),
            None => "default".to_owned(),
        };
        let name = match (index, map.get("name")) {
            (Some(_), Some(Value::String(n))) => Some(n.clone()),
            _ => None,
        };
        let subject = match (index, &name) {
            (Some(i), Some(n)) => format!("rules[{i}] {n:?}"),
            (Some(i), None) => format!("rules[{i}]"),
            (None, _) => "default".to_owned(),
        };
        let allowed = if index.is_some() {
            RULE_FIELDS
        } else {
            DEFAULT_FIELDS
        };
        let mut f = self.known(map, allowed, &prefix, &subject);
        let path = |field: &str| format!("{prefix}.{field}");
        let mut rule = Rule::builtin_default();
        rule.index = index;
        rule.line = self.loc.line(&prefix);
        if let Some(v) = f.remove("name") {
            match v {
                Value::String(n) if valid_rule_name(&n) => rule.name = Some(n),
                other => self.problem(
                    &path("name"),
                    &subject,
                    "name",
                    format!(
                        "is {}; expected 1-63 characters of a-z, 0-9, `-`, `.`",
                        shown(Some(&other))
                    ),
                ),
            }
        }
        let selector_given = f.contains_key("namespaceSelector");
        let names_given = f.contains_key("namespaces");
        if let Some(v) = f.remove("namespaces")
            && let Some(list) =
                self.typed::<Vec<String>>(v, &path("namespaces"), &subject, "namespaces")
        {
            if list.is_empty() {
                self.problem(
                    &path("namespaces"),
                    &subject,
                    "namespaces",
                    "is empty; list namespace names or globs such as team-*",
                );
            }
            for (i, n) in list.iter().enumerate() {
                match NamePattern::parse(n) {
                    Ok(p) => rule.namespaces.push(p),
                    Err(why) => self.problem(
                        &format!("{}[{i}]", path("namespaces")),
                        &subject,
                        &format!("namespaces[{i}]"),
                        why,
                    ),
                }
            }
        }
        if let Some(v) = f.remove("namespaceSelector")
            && let Some(raw) = self.typed::<RawSelector>(
                v,
                &path("namespaceSelector"),
                &subject,
                "namespaceSelector",
            )
        {
            rule.selector = self.selector(raw, &path("namespaceSelector"), &subject);
        }
        // (An invalid selector or name list is reported on its own; do not add "selects no namespace".)
        if index.is_some() && names_given == selector_given {
            let both = selector_given;
            self.problem(
                &prefix,
                &subject,
                "",
                if both {
                    "sets both namespaces and namespaceSelector; use one per rule (write two rules)"
                } else {
                    "selects no namespace: set namespaces (names or globs) or namespaceSelector"
                },
            );
        }
        if let Some(v) = f.remove("allowedPlugins")
            && let Some(list) =
                self.typed::<Vec<String>>(v, &path("allowedPlugins"), &subject, "allowedPlugins")
        {
            let mut entries: Vec<PluginEntry> = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let at = format!("{}[{i}]", path("allowedPlugins"));
                let field = format!("allowedPlugins[{i}]");
                match parse_entry(s) {
                    Err(why) => self.problem(&at, &subject, &field, why),
                    Ok(e) if entries.iter().any(|x| x.name == e.name) => self.problem(
                        &at,
                        &subject,
                        &field,
                        format!("{:?} is listed twice", e.name),
                    ),
                    Ok(e) => entries.push(e),
                }
            }
            rule.plugins = Some(entries);
        }
        if let Some(v) = f.remove("allowCustomPlugins") {
            rule.allow_custom = self
                .typed(
                    v,
                    &path("allowCustomPlugins"),
                    &subject,
                    "allowCustomPlugins",
                )
                .unwrap_or(false);
        }
        if let Some(v) = f.remove("requireSignedPlugins") {
            rule.require_signed = self
                .typed(
                    v,
                    &path("requireSignedPlugins"),
                    &subject,
                    "requireSignedPlugins",
                )
                .unwrap_or(false);
        }
        if let Some(v) = f.remove("maxSteps") {
            rule.max_steps = self
                .typed::<u32>(v, &path("maxSteps"), &subject, "maxSteps")
                .map(|n| n as usize);
        }
        if let Some(v) = f.remove("credentialModes")
            && let Some(list) =
                self.typed::<Vec<String>>(v, &path("credentialModes"), &subject, "credentialModes")
        {
            let mut modes = BTreeSet::new();
            if list.is_empty() {
                self.problem(
                    &path("credentialModes"),
                    &subject,
                    "credentialModes",
                    "is empty: no mount could authenticate; omit it to allow every mode",
                );
            }
            for (i, m) in list.iter().enumerate() {
                match CredentialMode::parse_group(m) {
                    Some(g) => modes.extend(g),
                    None => self.problem(
                        &format!("{}[{i}]", path("credentialModes")),
                        &subject,
                        &format!("credentialModes[{i}]"),
                        format!(
                            "{m:?} is not a credential mode; allowed: {}, providerIdentity (= providerRRSA, providerAccessKey, nodeInstanceRole)",
                            CredentialMode::ALL.map(|m| m.as_str()).join(", ")
                        ),
                    ),
                }
            }
            rule.credential_modes = Some(modes);
        }
        if let Some(v) = f.remove("pluginLimits") {
            match v {
                Value::Mapping(m) => {
                    for (k, v) in m {
                        let Value::String(plugin) = k else {
                            self.problem(&path("pluginLimits"), &subject, "pluginLimits", "keys must be plugin names");
                            continue;
                        };
                        let at = format!("{}.{plugin}", path("pluginLimits"));
                        let field = format!("pluginLimits.{plugin}");
                        if !valid_limit_key(&plugin) {
                            self.problem(&at, &subject, &field, "is not a plugin name (1-64 characters of a-z, 0-9, `-`, `_`)");
                        } else if rule.plugins.as_ref().is_some_and(|l| !l.iter().any(|e| e.name == plugin || e.name == "*")) {
                            self.problem(&at, &subject, &field, "limits a plugin that allowedPlugins does not allow; add it there or remove these limits");
                        }
                        if let Some(raw) = self.raw_limits(v, &at, &subject, &field) {
                            let caps = self.caps(raw, &at, &subject, &field, global);
                            rule.limits.insert(plugin, caps);
                        }
                    }
                }
                other => self.problem(
                    &path("pluginLimits"),
                    &subject,
                    "pluginLimits",
                    format!("is a {}; expected a map of plugin name to {{memoryMiB, timeoutMs, maxOutputKiB}}", kind(&other)),
                ),
            }
        }
        rule
    }

    fn selector(&mut self, raw: RawSelector, at: &str, subject: &str) -> Option<LabelSelector> {
        let mut reqs = Vec::new();
        for (k, v) in raw.match_labels {
            if let Err(why) = check_label_key(&k) {
                self.problem(
                    &format!("{at}.matchLabels.{k}"),
                    subject,
                    &format!("namespaceSelector.matchLabels.{k}"),
                    why,
                );
            }
            reqs.push(Requirement {
                key: k,
                operator: Operator::In,
                values: vec![v],
            });
        }
        for (i, e) in raw.match_expressions.into_iter().enumerate() {
            let here = format!("{at}.matchExpressions[{i}]");
            let field = format!("namespaceSelector.matchExpressions[{i}]");
            if let Err(why) = check_label_key(&e.key) {
                self.problem(&here, subject, &format!("{field}.key"), why);
            }
            let op = match e.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    self.problem(
                        &here,
                        subject,
                        &format!("{field}.operator"),
                        format!(
                            "{other:?} is not an operator; allowed: In, NotIn, Exists, DoesNotExist"
                        ),
                    );
                    continue;
                }
            };
            let needs_values = matches!(op, Operator::In | Operator::NotIn);
            if needs_values && e.values.is_empty() {
                self.problem(
                    &here,
                    subject,
                    &format!("{field}.values"),
                    format!("is empty; {} needs at least one value", e.operator),
                );
            } else if !needs_values && !e.values.is_empty() {
                self.problem(
                    &here,
                    subject,
                    &format!("{field}.values"),
                    format!("must be empty for {}", e.operator),
                );
            }
            reqs.push(Requirement {
                key: e.key,
                operator: op,
                values: e.values,
            });
        }
        if reqs.is_empty() {
            self.problem(at, subject, "namespaceSelector", "has no requirement and would select every namespace; use namespaces: [\"*\"] for that");
            return None;
        }
        Some(LabelSelector { requirements: reqs })
    }

    fn raw_limits(&mut self, v: Value, at: &str, subject: &str, field: &str) -> Option<RawLimits> {
        let Value::Mapping(m) = v else {
            self.problem(
                at,
                subject,
                field,
                format!(
                    "is a {}; expected a map with memoryMiB, timeoutMs, maxOutputKiB",
                    kind(&v)
                ),
            );
            return None;
        };
        let mut f = self.known(m, LIMIT_FIELDS, at, &format!("{subject}: {field}"));
        let mut raw = RawLimits::default();
        for (key, slot) in [
            ("memoryMiB", &mut raw.memory_mib),
            ("timeoutMs", &mut raw.timeout_ms),
            ("maxOutputKiB", &mut raw.max_output_kib),
        ] {
            if let Some(v) = f.remove(key) {
                *slot = self.typed::<u64>(
                    v,
                    &format!("{at}.{key}"),
                    subject,
                    &format!("{field}.{key}"),
                );
            }
        }
        Some(raw)
    }

    fn caps(
        &mut self,
        raw: RawLimits,
        at: &str,
        subject: &str,
        field: &str,
        global: &Limits,
    ) -> LimitCaps {
        let mut caps = LimitCaps::default();
        let check = |p: &mut Self,
                     name: &str,
                     value: Option<u64>,
                     max: u64,
                     unit: &str,
                     flag: &str|
         -> Option<u64> {
            let v = value?;
            if v == 0 {
                p.problem(
                    &format!("{at}.{name}"),
                    subject,
                    &format!("{field}.{name}"),
                    "must be more than zero",
                );
                None
            } else if v > max {
                p.problem(
                    &format!("{at}.{name}"),
                    subject,
                    &format!("{field}.{name}"),
                    format!("is {v} {unit}, above the provider's limit of {max} {unit} ({flag}); a policy can only tighten limits"),
                );
                None
            } else {
                Some(v)
            }
        };
        caps.memory_bytes = check(
            self,
            "memoryMiB",
            raw.memory_mib,
            (global.memory_bytes >> 20) as u64,
            "MiB",
            "--plugin-memory-mib",
        )
        .map(|v| (v as usize) << 20);
        caps.timeout = check(
            self,
            "timeoutMs",
            raw.timeout_ms,
            global.timeout.as_millis() as u64,
            "ms",
            "--plugin-timeout-ms",
        )
        .map(Duration::from_millis);
        caps.max_output_bytes = check(
            self,
            "maxOutputKiB",
            raw.max_output_kib,
            (global.max_output_bytes >> 10) as u64,
            "KiB",
            "--plugin-max-output-kib",
        )
        .map(|v| (v as usize) << 10);
        if caps.is_empty()
            && raw.memory_mib.is_none()
            && raw.timeout_ms.is_none()
            && raw.max_output_kib.is_none()
        {
            self.problem(
                at,
                subject,
                field,
                "sets no limit; use memoryMiB, timeoutMs or maxOutputKiB",
            );
        }
        caps
    }

    /// Problems only visible across rules: duplicate names, the same exact namespace or glob twice.
    fn across_rules(&mut self, rules: &[Rule]) {
        let mut names: HashMap<&str, usize> = HashMap::new();
        let mut patterns: HashMap<String, usize> = HashMap::new();
        for r in rules {
            let i = r.index.unwrap_or(0);
            if let Some(n) = &r.name
                && let Some(first) = names.insert(n, i)
            {
                self.problem(
                    &format!("rules[{i}].name"),
                    &r.label_plain(),
                    "name",
                    format!("{n:?} is also the name of rules[{first}]; names must be unique"),
                );
            }
            for (j, p) in r.namespaces.iter().enumerate() {
                if let Some(first) = patterns.insert(p.as_str().to_owned(), i)
                    && first != i
                {
                    self.problem(
                        &format!("rules[{i}].namespaces[{j}]"),
                        &r.label_plain(),
                        &format!("namespaces[{j}]"),
                        format!("{:?} is also selected by rules[{first}]; a namespace name or glob may appear in one rule only", p.as_str()),
                    );
                }
            }
        }
    }
}

impl Rule {
    fn label_plain(&self) -> String {
        match (self.index, &self.name) {
            (Some(i), Some(n)) => format!("rules[{i}] {n:?}"),
            (Some(i), None) => format!("rules[{i}]"),
            (None, _) => "default".into(),
        }
    }
}

/// `name`, `name@sha256:<64 hex>` or `*`.
fn parse_entry(s: &str) -> Result<PluginEntry, String> {
    if s == "*" {
        return Ok(PluginEntry {
            name: "*".into(),
            sha256: None,
        });
    }
    if s.starts_with(crate::transform::oci::SCHEME) {
        let (name, sha256) = oci_name(s)?;
        return Ok(PluginEntry { name, sha256 });
    }
    let (name, pin) = match s.split_once('@') {
        None => (s, None),
        Some((n, d)) => {
            let hex = d
                .strip_prefix("sha256:")
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
            match hex {
                Some(h) => (n, Some(h.to_ascii_lowercase())),
                None => {
                    return Err(format!(
                        "{s:?}: the pin must be @sha256: followed by 64 hex digits (sha256sum of the .wasm file)"
                    ));
                }
            }
        }
    };
    if !crate::transform::valid_plugin_name(name) {
        return Err(format!(
            "{s:?}: expected a plugin name (1-64 characters of a-z, 0-9, `-`, `_`), name@sha256:<64 hex>, or *"
        ));
    }
    Ok(PluginEntry {
        name: name.to_owned(),
        sha256: pin,
    })
}

/// A plugin name, or an `oci://registry/repo` name (no tag or digest).
fn valid_limit_key(k: &str) -> bool {
    if k.starts_with(crate::transform::oci::SCHEME) {
        return oci_name(k).is_ok_and(|(_, d)| d.is_none());
    }
    crate::transform::valid_plugin_name(k)
}

/// `oci://registry/repo` (any digest) or `oci://registry/repo@sha256:<manifest digest>` (a pin):
/// the plugin's name as the runtime reports it, and the pin. A tag is refused: it can move.
fn oci_name(s: &str) -> Result<(String, Option<String>), String> {
    use crate::transform::oci::OciReference;
    let tagless = |r: OciReference| match r.tag {
        Some(_) => Err(format!(
            "{s:?}: name an oci:// plugin without a tag: {} (any digest) or {}@sha256:<manifest digest>",
            r.name(),
            r.name()
        )),
        None => Ok((r.name(), r.digest)),
    };
    match OciReference::parse(s) {
        Ok(r) => tagless(r),
        // A bare repository is a valid policy name (the runtime's references need a tag or digest).
        Err(e) => match OciReference::parse(&format!("{s}:policy")) {
            Ok(r) if r.digest.is_none() => Ok((r.name(), None)),
            _ => Err(format!("{s:?}: {e}")),
        },
    }
}

fn valid_rule_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// Kubernetes label keys: `[prefix/]name`, name up to 63 characters of alphanumerics, `-`, `_`, `.`.
fn check_label_key(k: &str) -> Result<(), String> {
    let name = k.rsplit_once('/').map_or(k, |(_, n)| n);
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{k:?} is not a label key ([prefix/]name, name up to 63 characters of a-z, A-Z, 0-9, -, _, .)"
        ))
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "map",
        Value::Tagged(_) => "tagged value",
    }
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None => "missing".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => format!("a {}", kind(other)),
    }
}
