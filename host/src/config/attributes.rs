//! `MountRequest.attributes`: the SecretProviderClass `spec.parameters` plus the driver's `csi.storage.k8s.io/*`
//! keys, as a JSON object of strings. Unknown keys are accepted (the driver and kubelet add keys over time);
//! the keys we read are checked strictly. The map carries service-account tokens, so it is never logged and
//! values are never quoted in errors unless they are plain configuration.

use super::error::{ConfigError, quote};
use super::path::PathTranslation;
use super::spec::{EndpointType, PodInfo};
use super::values;
use std::collections::BTreeMap;

/// Largest `attributes` accepted, in bytes.
pub const MAX_ATTRIBUTES_BYTES: usize = 1024 * 1024;

const SUBJECT: &str = "MountRequest.attributes";

/// Parameter names of the SecretProviderClass that this provider reads.
pub const PARAMETERS: &[&str] = &[
    "objects",
    "region",
    "failoverRegion",
    "pathTranslation",
    "usePodServiceAccountToken",
    "roleArn",
    "endpointType",
];

/// Keys the driver and kubelet add.
pub mod keys {
    /// Pod name.
    pub const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
    /// Pod namespace.
    pub const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
    /// Pod UID.
    pub const POD_UID: &str = "csi.storage.k8s.io/pod.uid";
    /// Pod service account.
    pub const SERVICE_ACCOUNT: &str = "csi.storage.k8s.io/serviceAccount.name";
    /// `"true"` for inline volumes.
    pub const EPHEMERAL: &str = "csi.storage.k8s.io/ephemeral";
    /// The SecretProviderClass name.
    pub const SECRET_PROVIDER_CLASS: &str = "secretProviderClass";
}

/// A short name for the kind of a JSON value, for messages.
pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// Decodes the attributes JSON into a map of strings. `None` (with errors) when it cannot be used at all.
/// Non-string values of keys we do not read are skipped; of keys we read, reported.
pub(crate) fn parse_map(
    text: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<BTreeMap<String, String>> {
    if text.len() > MAX_ATTRIBUTES_BYTES {
        errors.push(ConfigError::new(
            SUBJECT,
            format!(
                "is {} bytes; at most {MAX_ATTRIBUTES_BYTES} (1 MiB) are accepted",
                text.len()
            ),
        ));
        return None;
    }
    if text.trim().is_empty() {
        errors.push(ConfigError::new(
            SUBJECT,
            "is empty; expected a JSON object holding the SecretProviderClass parameters (at least \"objects\")",
        ));
        return None;
    }
    // Via Value: serde's typed errors would quote values, and values include tokens.
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            errors.push(ConfigError::new(
                SUBJECT,
                format!(
                    "is not valid JSON (line {} column {}); expected an object of strings",
                    e.line(),
                    e.column()
                ),
            ));
            return None;
        }
    };
    let serde_json::Value::Object(map) = value else {
        errors.push(ConfigError::new(
            SUBJECT,
            format!(
                "is a JSON {}; expected an object of strings",
                json_kind(&value)
            ),
        ));
        return None;
    };
    let mut out = BTreeMap::new();
    for (key, value) in map {
        match value {
            serde_json::Value::String(s) => {
                out.insert(key, s);
            }
            other if is_read(&key) => errors.push(ConfigError::new(
                subject_of(&key),
                format!(
                    "is a JSON {}; every parameter must be a string (quote it)",
                    json_kind(&other)
                ),
            )),
            _ => {}
        }
    }
    Some(out)
}

fn is_read(key: &str) -> bool {
    PARAMETERS.contains(&key)
        || key.starts_with("csi.storage.k8s.io/")
        || key == keys::SECRET_PROVIDER_CLASS
}

/// `parameter "region"` for SPC parameters, `attribute "csi.storage.k8s.io/pod.name"` for the driver's keys.
pub(crate) fn subject_of(key: &str) -> String {
    if PARAMETERS.contains(&key) {
        format!("parameter \"{key}\"")
    } else {
        format!("attribute \"{key}\"")
    }
}

/// The SPC-wide parameters other than `objects`.
#[derive(Debug, Default)]
pub(crate) struct Parameters {
    pub region: Option<String>,
    pub failover_region: Option<String>,
    pub translation: PathTranslation,
    pub use_pod_service_account_token: bool,
    pub role_arn: Option<String>,
    pub endpoint_type: Option<EndpointType>,
}

/// Reads and checks the SPC-wide parameters.
pub(crate) fn parameters(
    attrs: &BTreeMap<String, String>,
    errors: &mut Vec<ConfigError>,
) -> Parameters {
    let get = |key: &str| attrs.get(key).map(String::as_str).filter(|s| !s.is_empty());
    let mut fail =
        |key: &str, message: String| errors.push(ConfigError::new(subject_of(key), message));
    let mut p = Parameters::default();

    for (key, slot) in [
        ("region", &mut p.region),
        ("failoverRegion", &mut p.failover_region),
    ] {
        if let Some(r) = get(key) {
            match values::check_region(r) {
                Ok(()) => *slot = Some(r.to_string()),
                Err(e) => fail(key, e),
            }
        }
    }
    if let (Some(r), Some(f)) = (&p.region, &p.failover_region)
        && r == f
    {
        fail(
            "failoverRegion",
            format!(
                "{} is the same as region; name a different region to fail over to, or remove it",
                quote(f)
            ),
        );
        p.failover_region = None;
    }
    if let Some(t) = get("pathTranslation") {
        p.translation = match t {
            "False" | "false" => PathTranslation::Off,
            _ => {
                let mut chars = t.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if c != '/' && !c.is_control() => PathTranslation::Replace(c),
                    _ => {
                        fail(
                            "pathTranslation",
                            format!(
                                "{} is not allowed; use \"False\" to keep \"/\" as sub-directories, or exactly one character (not \"/\") to replace \"/\" in file names (default \"_\")",
                                quote(t)
                            ),
                        );
                        PathTranslation::default()
                    }
                }
            }
        };
    }
    if let Some(v) = get("usePodServiceAccountToken") {
        match values::parse_flag(v) {
            Ok(b) => p.use_pod_service_account_token = b,
            Err(e) => fail("usePodServiceAccountToken", e),
        }
    }
    if let Some(arn) = get("roleArn") {
        match values::check_role_arn(arn) {
            Ok(()) => p.role_arn = Some(arn.to_string()),
            Err(e) => fail("roleArn", e),
        }
    }
    if let Some(t) = get("endpointType") {
        match t {
            "vpc" => p.endpoint_type = Some(EndpointType::Vpc),
            "public" => p.endpoint_type = Some(EndpointType::Public),
            other => fail(
                "endpointType",
                format!(
                    "{} is not supported; allowed: \"vpc\" or \"public\"",
                    quote(other)
                ),
            ),
        }
    }
    p
}

/// Reads the pod keys kubelet adds. Only `ephemeral` has a shape to check.
pub(crate) fn pod_info(attrs: &BTreeMap<String, String>, errors: &mut Vec<ConfigError>) -> PodInfo {
    let get = |key: &str| attrs.get(key).filter(|s| !s.is_empty()).cloned();
    let ephemeral = match attrs.get(keys::EPHEMERAL).map(String::as_str) {
        None | Some("") => false,
        Some(v) => values::parse_flag(v)
            .map_err(|e| errors.push(ConfigError::new(subject_of(keys::EPHEMERAL), e)))
            .unwrap_or(false),
    };
    PodInfo {
        name: get(keys::POD_NAME),
        namespace: get(keys::POD_NAMESPACE),
        uid: get(keys::POD_UID),
        service_account: get(keys::SERVICE_ACCOUNT),
        ephemeral,
        secret_provider_class: get(keys::SECRET_PROVIDER_CLASS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> (Parameters, Vec<String>) {
        let attrs = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut errors = Vec::new();
        let p = parameters(&attrs, &mut errors);
        (p, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn path_translation_values() {
        assert_eq!(params(&[]).0.translation, PathTranslation::Replace('_'));
        assert_eq!(
            params(&[("pathTranslation", "")]).0.translation,
            PathTranslation::Replace('_')
        );
        assert_eq!(
            params(&[("pathTranslation", "False")]).0.translation,
            PathTranslation::Off
        );
        assert_eq!(
            params(&[("pathTranslation", "false")]).0.translation,
            PathTranslation::Off
        );
        assert_eq!(
            params(&[("pathTranslation", "-")]).0.translation,
            PathTranslation::Replace('-')
        );
        for bad in ["FALSE", "ab", "/", "\n"] {
            assert_eq!(params(&[("pathTranslation", bad)]).1.len(), 1, "{bad:?}");
        }
    }

    #[test]
    fn pod_service_account_flag_accepts_both_spellings() {
        assert!(
            params(&[("usePodServiceAccountToken", "True")])
                .0
                .use_pod_service_account_token
        );
        assert!(
            params(&[("usePodServiceAccountToken", "true")])
                .0
                .use_pod_service_account_token
        );
        assert!(
            !params(&[("usePodServiceAccountToken", "False")])
                .0
                .use_pod_service_account_token
        );
        assert_eq!(params(&[("usePodServiceAccountToken", "yes")]).1.len(), 1);
    }

    #[test]
    fn non_string_values_of_unread_keys_are_ignored() {
        let mut errors = Vec::new();
        let map = parse_map(
            r#"{"objects":"- objectName: a","someFutureKey":{"x":1}}"#,
            &mut errors,
        )
        .unwrap();
        assert!(errors.is_empty());
        assert_eq!(map.len(), 1);
        parse_map(r#"{"region":5}"#, &mut errors);
        assert_eq!(errors.len(), 1);
    }
}
