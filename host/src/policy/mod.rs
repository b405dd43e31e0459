//! Per-namespace plugin policy (`docs/policy.md`): which wasm plugins a namespace may run (names,
//! sha256 pins, custom or not), with which tighter limits and how many steps, and which credential
//! modes its mounts may use. Enforced at Mount before any plugin runs or secret is fetched.
//!
//! - [`document`]: the `PluginPolicy` model and a parser that reports every error with its line.
//! - [`select`]: which rule applies to a namespace (most specific wins; ties documented there).
//! - [`decide`]: what a rule says about one mount (pure, shared with `policy explain`).
//! - [`labels`]: namespace labels from the Kubernetes API, cached.
//! - [`reload`]: the policy in force, hot-reloaded from its file by content.
//! - [`enforce`]: the Mount hook: decision, metrics and an audit line.

pub mod decide;
pub mod document;
pub mod enforce;
pub mod error;
pub mod labels;
mod locate;
mod metrics;
pub mod reload;
pub mod select;

pub use decide::{Decision, LoadedInfo, ObjectUse, StepUse};
pub use document::{API_VERSION, CredentialMode, KIND, Policy, Rule};
pub use enforce::PolicyEnforcer;
pub use error::{PolicyError, PolicyErrors, PolicyProblem};
pub use labels::{DEFAULT_LABEL_TTL, NamespaceLabels};
pub(crate) use metrics::PolicyMetrics;
pub use reload::{PolicyHandle, ReloadFailure, ReloadOutcome};

#[cfg(test)]
mod tests;
