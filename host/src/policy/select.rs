//! Which rule applies to a namespace. The most specific selector wins:
//!
//! 1. an **exact** namespace name;
//! 2. a **glob** (`*` any run of characters, `?` one character): the one with the longest literal
//!    prefix before its first wildcard wins (`team-a-*` over `team-*` over `*`);
//! 3. a **namespaceSelector** (labels): the one with more requirements wins (`matchLabels` entries
//!    plus `matchExpressions`);
//! 4. otherwise `default`.
//!
//! Remaining ties (two globs with equally long prefixes, two selectors with as many requirements)
//! go to the rule that comes first in the file. The same exact name or glob in two rules is a
//! validation error, so exact matches never tie.

use std::collections::BTreeMap;
use std::fmt;

use super::document::{Policy, Rule};

/// One `namespaces` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamePattern {
    /// A namespace name.
    Exact(String),
    /// A pattern with `*` / `?`.
    Glob(String),
}

impl NamePattern {
    /// Parses a namespace name or glob (DNS-label characters plus `*` and `?`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'*' | b'?')
            });
        if !ok {
            return Err(format!(
                "{s:?} is not a namespace name or glob (1-63 characters of a-z, 0-9, `-`, with `*` and `?` as wildcards)"
            ));
        }
        Ok(if s.contains(['*', '?']) {
            Self::Glob(s.to_owned())
        } else {
            Self::Exact(s.to_owned())
        })
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Exact(s) | Self::Glob(s) => s,
        }
    }
}

/// A Kubernetes-style label selector (`matchLabels` become `In` requirements with one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector {
    /// Every requirement must hold.
    pub requirements: Vec<Requirement>,
}

/// One requirement of a [`LabelSelector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// How the label is compared.
    pub operator: Operator,
    /// Values for `In` / `NotIn`.
    pub values: Vec<String>,
}

/// `matchExpressions` operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// The label is set to one of the values.
    In,
    /// The label is unset or set to none of the values.
    NotIn,
    /// The label is set.
    Exists,
    /// The label is unset.
    DoesNotExist,
}

impl LabelSelector {
    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let v = labels.get(&r.key);
            match r.operator {
                Operator::In => v.is_some_and(|v| r.values.contains(v)),
                Operator::NotIn => v.is_none_or(|v| !r.values.contains(v)),
                Operator::Exists => v.is_some(),
                Operator::DoesNotExist => v.is_none(),
            }
        })
    }
}

/// `*` matches any run (also empty), `?` exactly one character.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// How the chosen rule matched, for messages and `policy explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchKind {
    /// `namespaces` lists the name.
    Exact(String),
    /// A glob of `namespaces` matched.
    Glob(String),
    /// `namespaceSelector` matched, with this many requirements.
    Labels(usize),
    /// No rule matched.
    Default,
}

impl fmt::Display for MatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(n) => write!(f, "exact namespace {n:?}"),
            Self::Glob(g) => write!(f, "namespace glob {g:?}"),
            Self::Labels(n) => write!(f, "namespaceSelector with {n} requirement(s)"),
            Self::Default => write!(f, "no rule selects the namespace"),
        }
    }
}

/// The rule for a namespace and why.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    /// The deciding rule.
    pub rule: &'a Rule,
    /// How it matched.
    pub matched: MatchKind,
}

impl Policy {
    /// The rule selected by name alone (exact, then glob), if any.
    pub fn select_by_name(&self, namespace: &str) -> Option<Selection<'_>> {
        // A request without a namespace (the `mount` command run by hand) gets the default rule only:
        // no `*` glob or label rule may speak for a namespace nobody named.
        if namespace.is_empty() {
            return None;
        }
        let mut best_glob: Option<(usize, &Rule, &str)> = None;
        for r in &self.rules {
            for p in &r.namespaces {
                match p {
                    NamePattern::Exact(n) if n == namespace => {
                        return Some(Selection {
                            rule: r,
                            matched: MatchKind::Exact(n.clone()),
                        });
                    }
                    NamePattern::Glob(g) if glob_matches(g, namespace) => {
                        let prefix = g.find(['*', '?']).unwrap_or(g.len());
                        if best_glob.is_none_or(|(b, _, _)| prefix > b) {
                            best_glob = Some((prefix, r, g));
                        }
                    }
                    _ => {}
                }
            }
        }
        best_glob.map(|(_, r, g)| Selection {
            rule: r,
            matched: MatchKind::Glob(g.to_owned()),
        })
    }

    /// Whether the namespace's labels are needed to pick its rule (no name matches, and a rule
    /// selects by label).
    pub fn needs_labels(&self, namespace: &str) -> bool {
        !namespace.is_empty() && self.uses_labels() && self.select_by_name(namespace).is_none()
    }

    /// The rule for `namespace` with `labels` (ignored when a name matches; `None` = unknown, in
    /// which case label rules cannot match).
    pub fn select(
        &self,
        namespace: &str,
        labels: Option<&BTreeMap<String, String>>,
    ) -> Selection<'_> {
        if let Some(s) = self.select_by_name(namespace) {
            return s;
        }
        let mut best: Option<(usize, &Rule)> = None;
        if let Some(labels) = labels.filter(|_| !namespace.is_empty()) {
            for r in &self.rules {
                if let Some(sel) = &r.selector
                    && sel.matches(labels)
                    && best.is_none_or(|(n, _)| sel.requirements.len() > n)
                {
                    best = Some((sel.requirements.len(), r));
                }
            }
        }
        match best {
            Some((n, r)) => Selection {
                rule: r,
                matched: MatchKind::Labels(n),
            },
            None => Selection {
                rule: &self.default,
                matched: MatchKind::Default,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, n, want) in [
            ("team-*", "team-a", true),
            ("team-*", "team-", true),
            ("team-*", "tea", false),
            ("*-prod", "pay-prod", true),
            ("*-prod", "pay-prod-x", false),
            ("t?am", "team", true),
            ("*a*b", "xxaxxb", true),
            ("*a*b", "xxaxxbc", false),
            ("*", "anything", true),
        ] {
            assert_eq!(glob_matches(p, n), want, "{p} {n}");
        }
    }

    #[test]
    fn selector_operators() {
        let labels: BTreeMap<String, String> = [("tier".to_string(), "tenant".to_string())]
            .into_iter()
            .collect();
        let req = |op, values: &[&str]| LabelSelector {
            requirements: vec![Requirement {
                key: "tier".into(),
                operator: op,
                values: values.iter().map(|s| s.to_string()).collect(),
            }],
        };
        assert!(req(Operator::In, &["tenant", "x"]).matches(&labels));
        assert!(!req(Operator::NotIn, &["tenant"]).matches(&labels));
        assert!(req(Operator::Exists, &[]).matches(&labels));
        assert!(!req(Operator::DoesNotExist, &[]).matches(&labels));
        assert!(req(Operator::NotIn, &["x"]).matches(&BTreeMap::new()));
    }
}
