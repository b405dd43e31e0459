//! Errors of the policy boundary: an invalid policy document (every problem, with lines) and the
//! reasons a mount is refused.

use std::fmt;

/// One problem of a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Which rule (`rules[1] "tenants"`, `default`) or `document`.
    pub subject: String,
    /// The field path inside the subject, e.g. `pluginLimits.db-url.memoryMiB`; empty for the whole subject.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        write!(f, "{}", self.subject)?;
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// An invalid policy document: every problem found, in document order.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} in {source_name}:\n{}", count(.problems.len()), .problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors {
    /// The file (or `<inline>`).
    pub source_name: String,
    /// Sorted by line.
    pub problems: Vec<PolicyProblem>,
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 error".into()
    } else {
        format!("{n} errors")
    }
}

/// Why a mount may not proceed under the policy.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    /// The policy refused the mount; every refusal is listed.
    #[error("denied by the plugin policy for namespace {namespace:?} ({rule}):\n{}", .reasons.iter().map(|r| format!("  {r}")).collect::<Vec<_>>().join("\n"))]
    Denied {
        /// The pod's namespace.
        namespace: String,
        /// The rule that decided, e.g. `rules[2] "tenants" (line 14)`.
        rule: String,
        /// One line per refused plugin / step count / credential mode.
        reasons: Vec<String>,
    },
    /// A rule selects namespaces by label and the namespace's labels could not be read.
    #[error(
        "plugin policy: the labels of namespace {namespace:?} are needed to pick a rule and could not be read: {reason}"
    )]
    Labels {
        /// The pod's namespace.
        namespace: String,
        /// Why (Kubernetes API error).
        reason: String,
    },
}
