//! What a rule says about one mount: every plugin step, step count and the credential mode.
//! Pure (no I/O), so `policy explain` and the mount engine decide the same way.

use super::document::{CredentialMode, Rule};
use crate::transform::LimitCaps;

/// A loaded plugin as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedInfo {
    /// sha256 of the `.wasm`, lowercase hex (`None`: not known, as in `policy explain` without a digest).
    pub digest: Option<String>,
    /// From a built-in plugin directory.
    pub builtin: bool,
}

/// One transform step of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUse {
    /// Plugin name.
    pub name: String,
    /// The digest the SecretProviderClass pinned (`name@sha256:…`), if any.
    pub requested_digest: Option<String>,
    /// The plugin currently loaded under that name; `None` when it is not loaded (the mount then
    /// fails its plugin validation, which names the plugins that exist).
    pub loaded: Option<LoadedInfo>,
}

/// One object of the mount and its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUse {
    /// As messages name it, e.g. `objects[0] (kms "db")`.
    pub object: String,
    /// The chain in order.
    pub steps: Vec<StepUse>,
}

/// The verdict on one plugin of the mount (a plugin used by several steps gets one verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginVerdict {
    /// Plugin name.
    pub plugin: String,
    /// Its loaded digest, if loaded.
    pub digest: Option<String>,
    /// Allowed?
    pub allowed: bool,
}

/// The decision of one rule on one mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// One per distinct plugin, in first-use order.
    pub plugins: Vec<PluginVerdict>,
    /// The mode and whether it is allowed (`None`: not known, nothing to check).
    pub credential: Option<(CredentialMode, bool)>,
    /// Every reason the mount is refused; empty when it may proceed.
    pub denials: Vec<String>,
    /// Per object, per step: the rule's limit caps for that step's plugin.
    pub caps: Vec<Vec<LimitCaps>>,
    /// Per object, per step: the digest the rule pins for that plugin (the run enforces it again,
    /// so a plugin file swapped after this decision is not run).
    pub pins: Vec<Vec<Option<String>>>,
    /// The rule's `requireSignedPlugins`: the caller checks signatures (pulling `oci://` plugins)
    /// only after everything else allowed the mount.
    pub require_signed: bool,
    /// The deciding rule as messages name it (set by the enforcer).
    pub rule: String,
}

impl Decision {
    /// Whether the mount may proceed.
    pub fn allowed(&self) -> bool {
        self.denials.is_empty()
    }
}

/// Why `rule` refuses this plugin step, if it does.
pub fn plugin_denial(rule: &Rule, step: &StepUse) -> Option<String> {
    let name = step.name.as_str();
    let digest = step.loaded.as_ref().and_then(|l| l.digest.as_deref());
    let shown = match digest.or(step.requested_digest.as_deref()) {
        Some(d) => format!("plugin {name:?} (sha256:{d})"),
        None => format!("plugin {name:?}"),
    };
    let entry = rule.entry(name);
    if rule.plugins.is_some() && entry.is_none() {
        let listed: Vec<&str> = rule
            .plugins
            .iter()
            .flatten()
            .map(|e| e.name.as_str())
            .collect();
        return Some(format!(
            "{shown} is not in allowedPlugins of {} (allowed: {})",
            rule.label(),
            if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            }
        ));
    }
    if let Some(pin) = entry.and_then(|e| e.sha256.as_deref()) {
        for (what, d) in [
            ("loaded", digest),
            ("requested", step.requested_digest.as_deref()),
        ] {
            if let Some(d) = d
                && d != pin
            {
                return Some(format!(
                    "{shown}: the {what} digest is not the one {} pins (sha256:{pin})",
                    rule.label()
                ));
            }
        }
    }
    if step.loaded.as_ref().is_some_and(|l| !l.builtin) && !rule.allow_custom {
        return Some(format!(
            "{shown} is a custom plugin and {} does not allow custom plugins (allowCustomPlugins: false)",
            rule.label()
        ));
    }
    None
}

/// Applies `rule` to a mount of `objects` authenticating with `mode`.
pub fn decide(rule: &Rule, objects: &[ObjectUse], mode: Option<CredentialMode>) -> Decision {
    let mut d = Decision {
        plugins: Vec::new(),
        credential: None,
        denials: Vec::new(),
        caps: Vec::new(),
        pins: Vec::new(),
        require_signed: rule.require_signed,
        rule: rule.label(),
    };
    if let Some(m) = mode {
        let ok = rule
            .credential_modes
            .as_ref()
            .is_none_or(|s| s.contains(&m));
        d.credential = Some((m, ok));
        if !ok {
            let allowed: Vec<&str> = rule
                .credential_modes
                .iter()
                .flatten()
                .map(|m| m.as_str())
                .collect();
            d.denials.push(format!(
                "credential mode {m} is not allowed by {} (allowed: {})",
                rule.label(),
                allowed.join(", ")
            ));
        }
    }
    for o in objects {
        if let Some(max) = rule.max_steps
            && o.steps.len() > max
        {
            d.denials.push(format!(
                "{} has {} transform steps; {} allows at most {max} (maxSteps; a jmesPath list counts as one)",
                o.object,
                o.steps.len(),
                rule.label()
            ));
        }
        let mut caps = Vec::new();
        let mut pins = Vec::new();
        for s in &o.steps {
            let denial = plugin_denial(rule, s);
            let allowed = denial.is_none();
            match d.plugins.iter_mut().find(|v| v.plugin == s.name) {
                Some(v) => v.allowed &= allowed,
                None => d.plugins.push(PluginVerdict {
                    plugin: s.name.clone(),
                    digest: s.loaded.as_ref().and_then(|l| l.digest.clone()),
                    allowed,
                }),
            }
            if let Some(why) = denial {
                let line = format!("{}: {why}", o.object);
                if !d.denials.contains(&line) {
                    d.denials.push(line);
                }
            }
            caps.push(rule.limits.get(&s.name).copied().unwrap_or_default());
            pins.push(rule.entry(&s.name).and_then(|e| e.sha256.clone()));
        }
        d.caps.push(caps);
        d.pins.push(pins);
    }
    d
}
