//! Property tests of the request parser through its public entry point (`parse_mount_request`, what every Mount
//! runs first) and of the policy parser. Short by default (64 cases each, well under a second); set
//! `PROPTEST_CASES` for a longer run. Failures print the minimal input.

use proptest::prelude::*;
use provider::config::parse_mount_request;
use std::path::{Component, Path};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn attributes(objects: &str, extra: &[(&str, &str)]) -> String {
    let mut map = serde_json::Map::new();
    map.insert("objects".into(), objects.into());
    map.insert("csi.storage.k8s.io/pod.namespace".into(), "default".into());
    for (k, v) in extra {
        map.insert((*k).into(), (*v).into());
    }
    serde_json::Value::Object(map).to_string()
}

/// A valid object as a user would write it.
#[derive(Debug, Clone)]
struct Obj {
    name: String,
    oos: bool,
    alias: Option<String>,
    label: Option<String>,
}

fn obj() -> impl Strategy<Value = Obj> {
    (
        "[a-z][a-z0-9-]{0,8}(/[a-z0-9][a-z0-9-]{0,8}){0,2}",
        any::<bool>(),
        proptest::option::of("[a-z][a-z0-9._-]{0,10}"),
        proptest::option::of("[A-Z][A-Za-z]{0,8}"),
    )
        .prop_map(|(name, oos, alias, label)| Obj {
            label: if oos { None } else { label },
            name,
            oos,
            alias,
        })
}

/// Prints objects as YAML the way a user writes them (block style, quoted where YAML needs it).
fn print(objs: &[Obj]) -> String {
    let list: Vec<serde_yaml_ng::Value> = objs
        .iter()
        .map(|o| {
            let mut m = serde_yaml_ng::Mapping::new();
            m.insert("objectName".into(), o.name.clone().into());
            if o.oos {
                m.insert("objectType".into(), "oos".into());
            }
            if let Some(a) = &o.alias {
                m.insert("objectAlias".into(), a.clone().into());
            }
            if let Some(l) = &o.label {
                m.insert("objectVersionLabel".into(), l.clone().into());
            }
            serde_yaml_ng::Value::Mapping(m)
        })
        .collect();
    serde_yaml_ng::to_string(&list).unwrap()
}

proptest! {
    #![proptest_config(config())]

    /// Printed objects are accepted and read back field by field: what the parser accepts round-trips.
    #[test]
    fn printed_objects_parse_back(objs in proptest::collection::vec(obj(), 1..6)) {
        // Distinct output files, else the (correct) collision check rejects the list.
        let mut files: Vec<String> = objs.iter().map(|o| o.alias.clone().unwrap_or_else(|| o.name.replace('/', "_"))).collect();
        files.sort();
        files.dedup();
        prop_assume!(files.len() == objs.len());
        let text = print(&objs);
        let spec = parse_mount_request(&attributes(&text, &[("region", "cn-hangzhou")]), "", "420", "")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(spec.objects.len(), objs.len());
        for (o, s) in objs.iter().zip(&spec.objects) {
            prop_assert_eq!(&s.name, &o.name);
            prop_assert_eq!(s.kind.as_str(), if o.oos { "oos" } else { "kms" });
            prop_assert_eq!(&s.version_label, &o.label);
            let want = o.alias.clone().unwrap_or_else(|| o.name.replace('/', "_"));
            prop_assert_eq!(&s.file_name, &want);
        }
    }

    /// Whatever names, aliases and pathTranslation a request carries, every file name it is allowed to produce
    /// stays inside the target directory: relative, only normal components, no NUL or separator tricks.
    #[test]
    fn accepted_file_names_never_escape(
        names in proptest::collection::vec("(\\.\\.|\\.|/|[a-z]|\\\\|\u{0}|\n| |~){1,12}", 1..4),
        aliases in proptest::collection::vec(proptest::option::of("(\\.\\.|\\.|/|[a-z]|\u{0}|%2e|~){1,12}"), 4),
        jmes in proptest::option::of("(\\.\\.|\\.|/|[a-z]){1,8}"),
        translation in prop_oneof![Just("False"), Just("_"), Just("-"), Just(".")],
    ) {
        let list: Vec<serde_json::Value> = names
            .iter()
            .zip(&aliases)
            .map(|(n, a)| {
                let mut o = serde_json::json!({"objectName": n});
                if let Some(a) = a {
                    o["objectAlias"] = a.clone().into();
                }
                if let Some(j) = &jmes {
                    o["jmesPath"] = serde_json::json!([{"path": "a", "objectAlias": j}]);
                }
                o
            })
            .collect();
        // JSON is valid YAML: the names reach the parser unchanged.
        let text = serde_json::Value::Array(list).to_string();
        if let Ok(spec) = parse_mount_request(&attributes(&text, &[("pathTranslation", translation)]), "", "420", "") {
            for s in &spec.objects {
                let outputs = std::iter::once(s.file_name.as_str()).chain(s.jmes_path.iter().map(|j| j.alias.as_str()));
                for f in outputs {
                    prop_assert!(!f.is_empty() && !f.chars().any(char::is_control), "{f:?}");
                    prop_assert!(Path::new(f).components().all(|c| matches!(c, Component::Normal(_))), "{f:?} from {text}");
                    prop_assert!(Path::new("/target").join(f).starts_with("/target"), "{f:?}");
                    prop_assert!(!f.starts_with(".."), "{f:?}");
                }
            }
        }
    }

    /// Any attributes/secrets/permission text: an answer (accepted or every problem listed), never a panic.
    #[test]
    fn parser_never_panics(attrs in any::<String>(), secrets in any::<String>(), permission in "[0-9a-z-]{0,5}") {
        let _ = parse_mount_request(&attrs, &secrets, &permission, "");
        let objects = attributes(&attrs, &[]);
        let _ = parse_mount_request(&objects, &secrets, &permission, "");
    }

    /// The policy parser answers any text, and YAML-shaped text made of its own words, without panicking.
    #[test]
    fn policy_parser_never_panics(
        text in any::<String>(),
        words in proptest::collection::vec(
            prop_oneof![
                Just("apiVersion: secrets-store.alibabacloud.com/v1alpha1\n"),
                Just("kind: PluginPolicy\n"),
                Just("default:\n"),
                Just("rules:\n"),
                Just("  - namespaces: [a, \"b*\"]\n"),
                Just("    allowCustomPlugins: true\n"),
                Just("  allowedPlugins: [jmespath, \"x@sha256:00\"]\n"),
                Just("    pluginLimits: {jmespath: {timeoutMs: 5, memoryMiB: 99999}}\n"),
                Just("    maxSteps: -1\n"),
                Just("  credentialModes: [podIdentity, nope]\n"),
                Just("    namespaceSelector: {matchLabels: {a: b}, matchExpressions: [{key: k, operator: In}]}\n"),
                Just("  - \n"),
                Just(": :\n"),
                Just("\t"),
            ],
            0..12,
        ),
    ) {
        let limits = provider::transform::Limits::default();
        let _ = provider::policy::Policy::parse(&text, "prop", &limits);
        let _ = provider::policy::Policy::parse(&words.concat(), "prop", &limits);
    }
}
