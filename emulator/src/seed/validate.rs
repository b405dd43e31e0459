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
    oidc_providers(seed, &mut out);
    roles(seed, &mut out);
    ecs_metadata(seed, &mut out);
    if let Some(n) = seed.sts_credential_lifetime_seconds
        && !(1..=MAX_SESSION).contains(&n)
    {
        out.push(format!(
            "stsCredentialLifetimeSeconds: {n} is out of range; allowed 1 to {MAX_SESSION} seconds"
        ));
    }
    out
}

/// Longest STS session RAM allows (12 h).
const MAX_SESSION: u64 = 43200;
/// Longest ECS metadata token / credential lifetime (6 h).
const MAX_ECS_LIFETIME: u64 = 21600;

/// RAM role and OIDC provider names: 1–64 of `A-Za-z0-9.-`.
fn ram_name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

fn oidc_providers(seed: &Seed, out: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for (i, p) in seed.oidc_providers.iter().enumerate() {
        let at = format!("oidcProviders[{i}] (name {:?})", p.name);
        if !ram_name_ok(&p.name) {
            out.push(format!(
                "{at}.name: must be 1 to 64 characters of A-Z a-z 0-9 . -"
            ));
        } else if !seen.insert(p.name.as_str()) {
            out.push(format!("{at}.name: duplicate OIDC provider name"));
        }
        if p.issuer.trim().is_empty() {
            out.push(format!(
                "{at}.issuer: must not be empty; it is compared with the token's iss claim"
            ));
        }
        if p.audiences.is_empty() || p.audiences.iter().any(|a| a.is_empty()) {
            out.push(format!(
                "{at}.audiences: list at least one non-empty audience (e.g. sts.aliyuncs.com)"
            ));
        }
    }
}

fn roles(seed: &Seed, out: &mut Vec<String>) {
    let mut seen = HashSet::new();
    let keys: HashSet<&str> = seed.access_keys.iter().map(|k| k.id.as_str()).collect();
    let providers: HashSet<String> = seed
        .oidc_providers
        .iter()
        .map(|p| seed.oidc_provider_arn(&p.name))
        .collect();
    for (i, role) in seed.roles.iter().enumerate() {
        let at = format!("roles[{i}] (name {:?})", role.name);
        if !ram_name_ok(&role.name) {
            out.push(format!(
                "{at}.name: must be 1 to 64 characters of A-Z a-z 0-9 . - (the ARN is acs:ram::<accountId>:role/<name>)"
            ));
        } else if !seen.insert(role.name.as_str()) {
            out.push(format!("{at}.name: duplicate role name"));
        }
        if !(3600..=MAX_SESSION).contains(&role.max_session_duration) {
            out.push(format!(
                "{at}.maxSessionDuration: {} is out of range; allowed 3600 to {MAX_SESSION} seconds",
                role.max_session_duration
            ));
        }
        for (j, p) in role.permissions.iter().flatten().enumerate() {
            if p.is_empty() {
                out.push(format!(
                    "{at}.permissions[{j}]: empty pattern; use an exact name or a glob with '*'/'?'"
                ));
            }
        }
        if let Some(e) = &role.external_id
            && !(2..=1224).contains(&e.chars().count())
        {
            out.push(format!("{at}.externalId: must be 2 to 1224 characters"));
        }
        let trust = &role.trust;
        for (j, k) in trust.access_keys.iter().enumerate() {
            if !keys.contains(k.as_str()) {
                out.push(format!(
                    "{at}.trust.accessKeys[{j}]: {k:?} is not one of accessKeys[].id"
                ));
            }
        }
        match &trust.oidc_provider_arn {
            Some(arn) if !providers.contains(arn) => out.push(format!(
                "{at}.trust.oidcProviderArn: {arn:?} does not name a provider in oidcProviders; expected acs:ram::{}:oidc-provider/<name>",
                seed.account_id
            )),
            Some(_) if trust.oidc_subjects.is_empty() => out.push(format!(
                "{at}.trust.oidcSubjects: list the subjects (system:serviceaccount:<ns>:<sa>) the provider's tokens may carry"
            )),
            None if !trust.oidc_subjects.is_empty() => out.push(format!(
                "{at}.trust.oidcProviderArn: required when oidcSubjects is set"
            )),
            _ => {}
        }
        for (j, s) in trust.oidc_subjects.iter().enumerate() {
            if s.is_empty() {
                out.push(format!("{at}.trust.oidcSubjects[{j}]: must not be empty"));
            }
        }
    }
}

fn ecs_metadata(seed: &Seed, out: &mut Vec<String>) {
    let Some(ecs) = &seed.ecs_metadata else {
        return;
    };
    if !seed.roles.iter().any(|r| r.name == ecs.role_name) {
        out.push(format!(
            "ecsMetadata.roleName: {:?} is not one of roles[].name (the instance role's permissions come from there)",
            ecs.role_name
        ));
    }
    if let Some(r) = &ecs.region {
        check_arn_part(out, "ecsMetadata.region", r);
    }
    if ecs.instance_id.trim().is_empty() {
        out.push("ecsMetadata.instanceId: must not be empty".to_owned());
    }
    if !(1..=MAX_ECS_LIFETIME).contains(&ecs.credential_lifetime_seconds) {
        out.push(format!(
            "ecsMetadata.credentialLifetimeSeconds: {} is out of range; allowed 1 to {MAX_ECS_LIFETIME} seconds",
            ecs.credential_lifetime_seconds
        ));
    }
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
