//! Semantic checks of a parsed seed. Every problem names the object and field, says
//! what is wrong and what is allowed, and all of them are returned together.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;

use super::{SecretDataType, Seed};

/// OOS limits a parameter name to 180 characters.
const MAX_OOS_NAME: usize = 180;
/// OOS keeps at most 100 versions of a parameter (ParameterVersion 1–100).
const MAX_OOS_VERSIONS: usize = 100;

/// All problems found in `seed`; empty when the seed is usable.
pub(super) fn problems(seed: &Seed) -> Vec<String> {
    let mut out = Vec::new();
    check_arn_part(&mut out, "accountId", &seed.account_id);
    check_arn_part(&mut out, "region", &seed.region);
    access_keys(seed, &mut out);
    kms_secrets(seed, &mut out);
    oos_parameters(seed, &mut out);
    out
}

fn check_arn_part(out: &mut Vec<String>, field: &str, value: &str) {
    if value.is_empty() || value.contains(':') || value.contains('/') {
        out.push(format!(
            "{field}: {value:?} is not allowed; it must be non-empty and contain no ':' or '/' (it is part of ARNs)"
        ));
    }
}

fn access_keys(seed: &Seed, out: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for (i, key) in seed.access_keys.iter().enumerate() {
        let at = format!("accessKeys[{i}] (id {:?})", key.id);
        if key.id.trim().is_empty() {
            out.push(format!("{at}.id: must not be empty"));
        } else if !seen.insert(key.id.as_str()) {
            out.push(format!(
                "{at}.id: duplicate access key id; each id may appear once"
            ));
        }
        if key.secret.is_empty() {
            out.push(format!("{at}.secret: must not be empty"));
        }
        if key.security_token.as_deref() == Some("") {
            out.push(format!(
                "{at}.securityToken: must not be empty; omit it for a plain (non-STS) key"
            ));
        }
        for (j, p) in key.permissions.iter().flatten().enumerate() {
            if p.is_empty() {
                out.push(format!(
                    "{at}.permissions[{j}]: empty pattern; use an exact name or a glob with '*'/'?'"
                ));
            }
        }
    }
}

fn kms_secrets(seed: &Seed, out: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for (i, secret) in seed.kms_secrets.iter().enumerate() {
        let at = format!("kmsSecrets[{i}] (name {:?})", secret.name);
        if secret.name.is_empty() {
            out.push(format!("{at}.name: must not be empty"));
        } else if !seen.insert(secret.name.as_str()) {
            out.push(format!("{at}.name: duplicate secret name"));
        }
        if secret.versions.is_empty() {
            out.push(format!(
                "{at}.versions: at least one version is required (one must carry stage ACSCurrent)"
            ));
        }
        if let Some(cfg) = &secret.extended_config
            && !cfg.is_object()
        {
            out.push(format!(
                "{at}.extendedConfig: must be a mapping (it is returned as a JSON object string)"
            ));
        }
        let mut ids = HashSet::new();
        let mut stage_owner: HashMap<&str, &str> = HashMap::new();
        for (j, v) in secret.versions.iter().enumerate() {
            let vat = format!("{at}.versions[{j}] (versionId {:?})", v.version_id);
            if v.version_id.is_empty() {
                out.push(format!("{vat}.versionId: must not be empty"));
            } else if !ids.insert(v.version_id.as_str()) {
                out.push(format!(
                    "{vat}.versionId: duplicate version id within the secret"
                ));
            }
            for stage in &v.stages {
                if stage.is_empty() {
                    out.push(format!("{vat}.stages: empty stage name"));
                } else if let Some(prev) = stage_owner.insert(stage, &v.version_id) {
                    out.push(format!(
                        "{vat}.stages: stage {stage:?} is already on version {prev:?}; a stage labels at most one version"
                    ));
                }
            }
            if v.secret_data_type == SecretDataType::Binary
                && base64::engine::general_purpose::STANDARD
                    .decode(&v.data)
                    .is_err()
            {
                out.push(format!(
                    "{vat}.data: secretDataType is binary, so data must be standard base64 (A-Z a-z 0-9 + / with = padding)"
                ));
            }
            if let Some(t) = &v.create_time
                && crate::clock::parse_timestamp(t).is_none()
            {
                out.push(format!(
                    "{vat}.createTime: {t:?} is not a UTC timestamp like 2024-05-06T07:08:09Z"
                ));
            }
        }
        if !secret.versions.is_empty() && !stage_owner.contains_key("ACSCurrent") {
            out.push(format!(
                "{at}.versions: no version has stage ACSCurrent; exactly one must (it is what a plain GetSecretValue returns)"
            ));
        }
    }
}

fn oos_parameters(seed: &Seed, out: &mut Vec<String>) {
    let mut seen = HashSet::new();
    let secret = seed
        .oos_secret_parameters
        .iter()
        .map(|p| ("oosSecretParameters", &p.name, p.versions.len()));
    let plain = seed
        .oos_parameters
        .iter()
        .map(|p| ("oosParameters", &p.name, p.versions.len()));
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (list, name, versions) in secret.chain(plain) {
        let i = index.entry(list).or_default();
        let at = format!("{list}[{i}] (name {name:?})");
        *i += 1;
        if name.is_empty() || name.chars().count() > MAX_OOS_NAME {
            out.push(format!("{at}.name: must be 1 to {MAX_OOS_NAME} characters"));
        } else if !seen.insert(name.as_str()) {
            out.push(format!(
                "{at}.name: duplicate parameter name (names are unique across oosSecretParameters and oosParameters)"
            ));
        }
        if versions == 0 || versions > MAX_OOS_VERSIONS {
            out.push(format!(
                "{at}.versions: must list 1 to {MAX_OOS_VERSIONS} values (the first is ParameterVersion 1, the last is the default)"
            ));
        }
    }
}
