//! For the `mount` CLI: turn a SecretProviderClass manifest (or a bare parameters map) into the parameters the
//! driver would put into `attributes`, refusing what a cluster would refuse (wrong kind or provider, non-string
//! parameters).

use super::error::{ConfigError, ConfigErrors, quote};
use serde::Deserialize;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

const SUBJECT: &str = "manifest";
const API_VERSIONS: &[&str] = &[
    "secrets-store.csi.x-k8s.io/v1",
    "secrets-store.csi.x-k8s.io/v1alpha1",
];
const KIND: &str = "SecretProviderClass";
/// `spec.provider` of SecretProviderClasses served by this provider.
pub const PROVIDER_NAME: &str = "alibabacloud";

/// Returns `spec.parameters` of the one SecretProviderClass in `yaml` (other documents, e.g. a Pod, are
/// skipped), or the map itself when `yaml` is a bare map of parameters.
pub fn attributes_from_manifest(yaml: &str) -> Result<BTreeMap<String, String>, ConfigErrors> {
    let docs = documents(yaml)?;
    let is_manifest = |v: &Value| {
        ["apiVersion", "kind", "spec"]
            .iter()
            .any(|k| v.get(k).is_some())
    };
    if docs.iter().any(is_manifest) {
        let spcs: Vec<&Value> = docs
            .iter()
            .filter(|d| d.get("kind").and_then(Value::as_str) == Some(KIND))
            .collect();
        return match spcs.as_slice() {
            [one] => from_spc(one),
            [] => Err(ConfigError::new(
                SUBJECT,
                format!("has no document of kind {KIND} (found {})", kinds(&docs)),
            )
            .into()),
            many => Err(ConfigError::new(
                SUBJECT,
                format!(
                    "has {} {KIND} documents; pass a file with exactly one",
                    many.len()
                ),
            )
            .into()),
        };
    }
    match docs.as_slice() {
        [Value::Mapping(_)] => string_map(&docs[0], "parameters"),
        [other] => Err(ConfigError::new(
            SUBJECT,
            format!(
                "is a {}; expected a SecretProviderClass manifest or a map of its parameters",
                super::yaml::kind(other)
            ),
        )
        .into()),
        _ => Err(ConfigError::new(
            SUBJECT,
            "has several documents but none is a SecretProviderClass",
        )
        .into()),
    }
}

/// All non-empty YAML documents.
fn documents(yaml: &str) -> Result<Vec<Value>, ConfigErrors> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(yaml) {
        let value = Value::deserialize(doc).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" at line {} column {}", l.line(), l.column()))
                .unwrap_or_default();
            let msg = e.to_string();
            let msg = msg
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string();
            ConfigError::new(SUBJECT, format!("is not valid YAML{at}: {msg}"))
        })?;
        if !value.is_null() {
            out.push(value);
        }
    }
    if out.is_empty() {
        return Err(ConfigError::new(
            SUBJECT,
            "is empty; expected a SecretProviderClass manifest or a map of its parameters",
        )
        .into());
    }
    Ok(out)
}

fn kinds(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| {
            d.get("kind")
                .and_then(Value::as_str)
                .map_or("no kind".to_string(), quote)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn from_spc(doc: &Value) -> Result<BTreeMap<String, String>, ConfigErrors> {
    let mut errors = Vec::new();
    match doc.get("apiVersion").and_then(Value::as_str) {
        Some(v) if API_VERSIONS.contains(&v) => {}
        other => errors.push(ConfigError::field(
            SUBJECT,
            "apiVersion",
            format!(
                "is {}; expected \"secrets-store.csi.x-k8s.io/v1\" (or v1alpha1)",
                other.map_or("missing".to_string(), quote)
            ),
        )),
    }
    match doc.get("spec").and_then(|s| s.get("provider")).and_then(Value::as_str) {
        Some(PROVIDER_NAME) => {}
        other => errors.push(ConfigError::field(
            SUBJECT,
            "spec.provider",
            format!(
                "is {}; this provider serves SecretProviderClasses with provider \"{PROVIDER_NAME}\"",
                other.map_or("missing".to_string(), quote)
            ),
        )),
    }
    let params = doc.get("spec").and_then(|s| s.get("parameters"));
    let result = match params {
        None | Some(Value::Null) => {
            errors.push(ConfigError::field(
                SUBJECT,
                "spec.parameters",
                "is missing; it must hold at least \"objects\"",
            ));
            None
        }
        Some(p) => match string_map(p, "spec.parameters") {
            Ok(m) => Some(m),
            Err(e) => {
                errors.extend(e.0);
                None
            }
        },
    };
    match (errors.is_empty(), result) {
        (true, Some(m)) => Ok(m),
        _ => Err(ConfigErrors(errors)),
    }
}

/// A YAML map whose keys and values are all strings (Kubernetes' `map[string]string`).
fn string_map(value: &Value, field: &str) -> Result<BTreeMap<String, String>, ConfigErrors> {
    let Value::Mapping(map) = value else {
        return Err(ConfigError::field(
            SUBJECT,
            field,
            format!(
                "is a {}; expected a map of strings",
                super::yaml::kind(value)
            ),
        )
        .into());
    };
    let mut errors = Vec::new();
    let mut out = BTreeMap::new();
    for (k, v) in map {
        match (k, v) {
            (Value::String(k), Value::String(v)) => {
                out.insert(k.clone(), v.clone());
            }
            (Value::String(k), other) => errors.push(ConfigError::field(
                SUBJECT,
                format!("{field}.{k}"),
                format!(
                    "is a {}; parameters must be strings, so quote it (e.g. \"true\")",
                    super::yaml::kind(other)
                ),
            )),
            (other, _) => errors.push(ConfigError::field(
                SUBJECT,
                field,
                format!(
                    "has a {} key; keys must be strings",
                    super::yaml::kind(other)
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPC: &str = "apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: test
spec:
  provider: alibabacloud
  parameters:
    region: cn-hangzhou
    objects: |
      - objectName: test
";

    #[test]
    fn reads_parameters_of_a_manifest() {
        let p = attributes_from_manifest(SPC).unwrap();
        assert_eq!(p["region"], "cn-hangzhou");
        assert_eq!(p["objects"], "- objectName: test\n");
    }

    #[test]
    fn picks_the_spc_among_documents() {
        let text = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\n---\n{SPC}");
        assert_eq!(attributes_from_manifest(&text).unwrap().len(), 2);
    }

    #[test]
    fn bare_map_is_parameters() {
        let p =
            attributes_from_manifest("objects: '- objectName: a'\nregion: cn-beijing\n").unwrap();
        assert_eq!(p["region"], "cn-beijing");
    }

    #[test]
    fn wrong_provider_version_and_types_are_all_reported() {
        let text = "apiVersion: v2\nkind: SecretProviderClass\nspec:\n  provider: aws\n";
        let err = attributes_from_manifest(text).unwrap_err();
        assert_eq!(err.len(), 3, "{err}");
        let err =
            attributes_from_manifest("objects: x\nusePodServiceAccountToken: true\n").unwrap_err();
        assert!(
            err.to_string().contains("usePodServiceAccountToken"),
            "{err}"
        );
        let err = attributes_from_manifest("apiVersion: v1\nkind: Pod\n").unwrap_err();
        assert!(err.to_string().contains("\"Pod\""), "{err}");
        assert!(attributes_from_manifest("").is_err());
        assert!(
            attributes_from_manifest("a: [")
                .unwrap_err()
                .to_string()
                .contains("line")
        );
    }
}
