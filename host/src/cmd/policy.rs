//! `policy`: check a plugin policy file and explain its decisions before rolling it out.

use super::args::ProviderArgs;
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use provider::policy::decide::decide;
use provider::policy::{CredentialMode, LoadedInfo, ObjectUse, Policy, Rule, StepUse};
use provider::transform::{LimitCaps, Limits};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Validate a policy file: print every error with its line (exit 1), or a summary of its rules.
    Check {
        /// The policy file (the chart mounts it at /etc/csi-provider-alibabacloud/policy/policy.yaml).
        file: PathBuf,
        /// The provider's limits (--plugin-memory-mib, ...) that rules may only tighten.
        #[command(flatten)]
        provider: ProviderArgs,
    },
    /// Print the rule that decides for a namespace and plugin, and its decision (exit 1 when denied).
    Explain(ExplainArgs),
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The policy file.
    file: PathBuf,
    /// The pod's namespace.
    #[arg(long)]
    namespace: String,
    /// The namespace's labels, for namespaceSelector rules: k=v,k2=v2.
    #[arg(long, value_delimiter = ',')]
    labels: Vec<String>,
    /// The plugin as a SecretProviderClass step names it: name or name@sha256:<64 hex> (the file's digest).
    #[arg(long)]
    plugin: String,
    /// The plugin is a custom (team) plugin, not a built-in one.
    #[arg(long)]
    custom: bool,
    /// The mount's credential mode: podIdentity, nodePublishSecret, providerRRSA, providerAccessKey,
    /// nodeInstanceRole.
    #[arg(long)]
    credential_mode: Option<String>,
    /// Transform steps of the object (the jmesPath shorthand counts as one).
    #[arg(long, default_value_t = 1)]
    steps: usize,
    #[command(flatten)]
    provider: ProviderArgs,
}

pub fn run(cmd: PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Check { file, provider } => check(&file, &provider.plugin_limits()),
        PolicyCommand::Explain(a) => explain(a),
    }
}

fn load(file: &std::path::Path, global: &Limits) -> Result<Policy> {
    Policy::load(file, global).map_err(|e| anyhow::anyhow!("{e}"))
}

fn check(file: &std::path::Path, global: &Limits) -> Result<()> {
    let policy = load(file, global)?;
    println!(
        "{}: valid ({} rule(s); provider limits: memory {} MiB, timeout {} ms, output {} KiB)",
        file.display(),
        policy.rules.len(),
        global.memory_bytes >> 20,
        global.timeout.as_millis(),
        global.max_output_bytes >> 10
    );
    for r in policy.rules.iter().chain([&policy.default]) {
        println!("  {}", r.label());
        if !r.namespaces.is_empty() {
            let n: Vec<&str> = r.namespaces.iter().map(|p| p.as_str()).collect();
            println!("    namespaces:       {}", n.join(", "));
        }
        if let Some(s) = &r.selector {
            println!(
                "    namespaceSelector: {} requirement(s)",
                s.requirements.len()
            );
        }
        println!("    {}", describe(r).join("\n    "));
        if r.require_signed {
            println!(
                "    signatures:       required (built-in plugins, or oci:// plugins whose signature verifies)"
            );
        }
    }
    Ok(())
}

/// The rule's effect, one line per aspect.
fn describe(r: &Rule) -> Vec<String> {
    let plugins = match &r.plugins {
        None => "any name".to_owned(),
        Some(l) if l.is_empty() => "none".to_owned(),
        Some(l) => l
            .iter()
            .map(|e| match &e.sha256 {
                Some(d) => format!("{}@sha256:{}…", e.name, &d[..12]),
                None => e.name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut out = vec![
        format!("plugins:          {plugins}"),
        format!(
            "custom plugins:   {}",
            if r.allow_custom { "allowed" } else { "denied" }
        ),
    ];
    for (name, caps) in &r.limits {
        out.push(format!("limits {name}: {}", caps_text(caps)));
    }
    if let Some(m) = r.max_steps {
        out.push(format!("maxSteps:         {m}"));
    }
    out.push(format!(
        "credential modes: {}",
        match &r.credential_modes {
            None => "any".to_owned(),
            Some(s) => s.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "),
        }
    ));
    out
}

fn caps_text(c: &LimitCaps) -> String {
    let mut parts = Vec::new();
    if let Some(m) = c.memory_bytes {
        parts.push(format!("memory {} MiB", m >> 20));
    }
    if let Some(t) = c.timeout {
        parts.push(format!("timeout {} ms", t.as_millis()));
    }
    if let Some(o) = c.max_output_bytes {
        parts.push(format!("output {} KiB", o >> 10));
    }
    parts.join(", ")
}

fn explain(a: ExplainArgs) -> Result<()> {
    let global = a.provider.plugin_limits();
    let policy = load(&a.file, &global)?;
    let mut labels = BTreeMap::new();
    for kv in a.labels.iter().filter(|s| !s.is_empty()) {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--labels: {kv:?} is not key=value");
        };
        labels.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    let mode = match &a.credential_mode {
        None => None,
        Some(m) => match CredentialMode::parse_group(m).as_deref() {
            Some([one]) => Some(*one),
            _ => bail!(
                "--credential-mode: {m:?} is not one mode; use podIdentity, nodePublishSecret, providerRRSA, providerAccessKey or nodeInstanceRole"
            ),
        },
    };
    let (name, digest) = match a.plugin.split_once('@') {
        Some((n, d)) => match d.strip_prefix("sha256:") {
            Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (n.to_owned(), Some(h.to_ascii_lowercase()))
            }
            _ => bail!(
                "--plugin: {:?}: the digest must be @sha256:<64 hex>",
                a.plugin
            ),
        },
        None => (a.plugin.clone(), None),
    };
    let known_labels = !a.labels.is_empty();
    let selection = policy.select(&a.namespace, known_labels.then_some(&labels));
    let rule = selection.rule;
    println!("namespace: {}", a.namespace);
    println!("rule:      {} ({})", rule.label(), selection.matched);
    if !known_labels && policy.needs_labels(&a.namespace) {
        println!(
            "note:      rules with namespaceSelector were not considered: pass the namespace's --labels"
        );
    }
    let step = StepUse {
        name: name.clone(),
        requested_digest: digest.clone(),
        // As if loaded: the digest given stands for the file's, --custom for its directory.
        loaded: Some(LoadedInfo {
            digest: digest.clone(),
            builtin: !a.custom,
        }),
    };
    let objects = [ObjectUse {
        object: "the object".into(),
        steps: vec![step.clone(); a.steps.max(1)],
    }];
    let decision = decide(rule, &objects, mode);
    let shown = match &digest {
        Some(d) => format!("{name}@sha256:{d}"),
        None => name.clone(),
    };
    println!(
        "plugin:    {shown} ({})",
        if a.custom { "custom" } else { "built-in" }
    );
    if let Some(pin) = rule.entry(&name).and_then(|e| e.sha256.as_deref())
        && digest.is_none()
    {
        println!(
            "pin:       only sha256:{pin} is allowed (pass --plugin {name}@sha256:<digest> to check one)"
        );
    }
    if let Some(caps) = rule.limits.get(&name) {
        println!("limits:    {} (tightened by the rule)", caps_text(caps));
    }
    for line in describe(rule) {
        println!("  {line}");
    }
    if decision.allowed() {
        if rule.require_signed && a.custom {
            println!(
                "signature: required by the rule: allowed only as an oci:// plugin whose signature verifies"
            );
        }
        println!("decision:  allow");
        Ok(())
    } else {
        println!("decision:  deny");
        for d in &decision.denials {
            println!("  {d}");
        }
        std::process::exit(1);
    }
}
