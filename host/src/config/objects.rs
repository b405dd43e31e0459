//! The `objects` parameter: YAML text holding a list of objects. Checks the list as a whole (syntax with line and
//! column, emptiness, size) and the output files of all objects together (no two write the same file).

use super::error::{ConfigError, quote};
use super::object::{self, Defaults};
use super::path::find_collisions;
use super::spec::ObjectSpec;
use serde_yaml_ng::Value;

/// Most objects one SecretProviderClass may name.
pub const MAX_OBJECTS: usize = 100;

const SUBJECT: &str = "parameter \"objects\"";

/// Parses and checks `objects`. Returns the valid objects; problems go to `errors` (the result is only
/// meaningful when none were added).
pub(crate) fn parse(
    text: &str,
    defaults: &Defaults<'_>,
    errors: &mut Vec<ConfigError>,
) -> Vec<ObjectSpec> {
    let Some(items) = parse_list(text, errors) else {
        return Vec::new();
    };
    if items.len() > MAX_OBJECTS {
        errors.push(ConfigError::new(
            SUBJECT,
            format!(
                "has {} objects; at most {MAX_OBJECTS} are allowed in one SecretProviderClass (split it into several)",
                items.len()
            ),
        ));
    }
    let mut specs = Vec::new();
    let mut outputs = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let checked = object::check(index, item, defaults, errors);
        specs.extend(checked.spec);
        outputs.extend(checked.outputs);
    }
    for c in find_collisions(outputs.iter().map(|(o, p)| (o.as_str(), p.as_str()))) {
        errors.push(ConfigError::new(
            "output files",
            format!("{c}; give one of them a different objectAlias"),
        ));
    }
    specs
}

/// The YAML list, or `None` after reporting why there is none.
fn parse_list(text: &str, errors: &mut Vec<ConfigError>) -> Option<Vec<Value>> {
    let empty = || {
        ConfigError::new(
            SUBJECT,
            "lists no objects; a SecretProviderClass must name at least one, e.g. \"- objectName: my-secret\"",
        )
    };
    if text.trim().is_empty() {
        errors.push(empty());
        return None;
    }
    let mut value: Value = match serde_yaml_ng::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let at = e
                .location()
                .map(|l| {
                    format!(
                        " at line {} column {} of the objects text",
                        l.line(),
                        l.column()
                    )
                })
                .unwrap_or_default();
            errors.push(ConfigError::new(
                SUBJECT,
                format!("is not valid YAML{at}: {}", strip_location(&e.to_string())),
            ));
            return None;
        }
    };
    // YAML merge keys (`<<: *defaults`) are a common way to share fields between objects.
    if let Err(e) = value.apply_merge() {
        errors.push(ConfigError::new(
            SUBJECT,
            format!("has a bad YAML merge key (\"<<\"): {e}"),
        ));
        return None;
    }
    match value {
        Value::Sequence(items) if items.is_empty() => {
            errors.push(empty());
            None
        }
        Value::Sequence(items) => Some(items),
        Value::Null => {
            errors.push(empty());
            None
        }
        Value::Mapping(m) if m.contains_key("array") => {
            errors.push(ConfigError::new(
                SUBJECT,
                "uses the \"array:\" form of other providers; write a YAML list of objects instead, e.g. \"- objectName: my-secret\"",
            ));
            None
        }
        Value::Mapping(_) => {
            errors.push(ConfigError::new(
                SUBJECT,
                "is a single map; expected a YAML list, so start each object with \"- \", e.g. \"- objectName: my-secret\"",
            ));
            None
        }
        other => {
            let shown = match &other {
                Value::String(s) => format!(" {}", quote(s)),
                _ => String::new(),
            };
            errors.push(ConfigError::new(
                SUBJECT,
                format!(
                    "is a {}{shown}; expected a YAML list of objects, e.g. \"- objectName: my-secret\"",
                    super::yaml::kind(&other)
                ),
            ));
            None
        }
    }
}

/// serde_yaml_ng appends " at line L column C" to messages (we say it ourselves, relative to the objects text)
/// and may prefix a path like `.[0]: `, which we spell `objects[0]: `.
fn strip_location(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    match message.strip_prefix('.') {
        Some(rest) if rest.starts_with('[') => format!("objects{rest}"),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::path::PathTranslation;
    use proptest::prelude::*;

    fn run(text: &str) -> (Vec<ObjectSpec>, Vec<String>) {
        let defaults = Defaults {
            translation: PathTranslation::default(),
            region: None,
        };
        let mut errors = Vec::new();
        let specs = parse(text, &defaults, &mut errors);
        (specs, errors.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn minimal_object_gets_defaults() {
        let (specs, errors) = run("- objectName: app/db");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].file_name, "app_db");
        assert_eq!(specs[0].kind.as_str(), "kms");
        assert_eq!(specs[0].id(), "app_db");
        assert_eq!(specs[0].describe(), "objects[0] (kms \"app/db\")");
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let (_, errors) = run("- objectName: a\n  objectAlias: [b\n- objectName: c");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("line "), "{errors:?}");
    }

    #[test]
    fn reports_every_bad_entry() {
        let (specs, errors) = run(
            "- objectName: ok\n-\n- 42\n- objectType: kms\n- objectName: x\n  objectType: ssm\n",
        );
        assert_eq!(specs.len(), 1);
        assert_eq!(errors.len(), 4, "{errors:#?}");
    }

    #[test]
    fn too_many_objects() {
        let text: String = (0..101).map(|i| format!("- objectName: s{i}\n")).collect();
        let (_, errors) = run(&text);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("at most 100"));
    }

    #[test]
    fn transform_config_becomes_json() {
        let (specs, errors) = run(
            "- objectName: a\n  transforms:\n  - plugin: format\n    config: {to: env, keys: [a, b], n: 3}\n  - plugin: base64\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let t = &specs[0].transforms;
        assert_eq!(
            t[0].config,
            serde_json::json!({"to": "env", "keys": ["a", "b"], "n": 3})
        );
        assert_eq!(t[1].config, serde_json::json!({}));
    }

    #[test]
    fn merge_keys_share_fields() {
        let (specs, errors) = run(
            "- &base\n  objectName: a\n  objectType: oos\n  objectVersion: 2\n- <<: *base\n  objectName: b\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(specs[1].kind.as_str(), "oos");
        assert_eq!(specs[1].version.as_deref(), Some("2"));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused_quickly() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!("l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let started = std::time::Instant::now();
        let (_, errors) = run(&bomb);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (_, errors) = run(&format!("{}x{}", "[".repeat(10_000), "]".repeat(10_000)));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn duplicate_keys_are_a_yaml_error() {
        let (_, errors) = run("- objectName: a\n  objectName: b\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].ends_with("objects[0]: duplicate entry with key \"objectName\""),
            "{errors:?}"
        );
    }

    /// Arbitrary YAML trees whose keys are mostly real field names, so deep paths get exercised.
    fn yaml_tree() -> impl Strategy<Value = Value> {
        let words = prop::sample::select(vec![
            "kms",
            "oos",
            "0600",
            "600",
            "../x",
            "a/b",
            "a",
            "",
            "acs:kms:cn-hangzhou:1:secret/x",
            "jmespath@sha256:00",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<f64>().prop_map(|n| Value::Number(n.into())),
            "[a-z0-9/._ -]{0,8}".prop_map(Value::String),
            words.prop_map(|w| Value::String(w.to_string())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let mut keys: Vec<&str> = crate::config::OBJECT_FIELDS.to_vec();
            keys.extend([
                "path",
                "objectAlias",
                "plugin",
                "config",
                "filePermission",
                "other",
            ]);
            let key = prop::sample::select(keys).prop_map(|k| Value::String(k.to_string()));
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Sequence),
                prop::collection::vec((key, inner), 0..6)
                    .prop_map(|kv| Value::Mapping(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Structured input: no panic, and whatever is accepted has valid, distinct output files.
        #[test]
        fn accepted_trees_have_valid_distinct_outputs(items in prop::collection::vec(yaml_tree(), 0..6)) {
            let text = serde_yaml_ng::to_string(&Value::Sequence(items)).unwrap();
            let (specs, errors) = run(&text);
            if errors.is_empty() {
                let mut outputs = Vec::new();
                for s in &specs {
                    outputs.push(s.file_name.as_str());
                    outputs.extend(s.jmes_path.iter().map(|j| j.alias.as_str()));
                }
                for o in &outputs {
                    prop_assert!(crate::config::validate_output_path(o).is_ok(), "{o:?}");
                }
                prop_assert!(find_collisions(outputs.iter().map(|o| ("x", *o))).is_empty());
            }
        }

        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = run(&text);
        }

        #[test]
        fn never_panics_on_yaml_like_text(text in "([-:\\[\\]{}\"'!&*|>#\n ]|objectName|jmesPath|transforms|path|objectAlias|kms|oos|[a-z0-9/.]){0,60}") {
            let (specs, errors) = run(&text);
            if errors.is_empty() {
                prop_assert!(!specs.is_empty());
            }
            for s in &specs {
                prop_assert!(crate::config::path::validate_output_path(&s.file_name).is_ok());
            }
        }
    }
}
