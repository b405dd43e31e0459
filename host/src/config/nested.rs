//! The nested lists of an object: `jmesPath` entries and `transforms` steps, each checked as strictly as the
//! object itself.

use super::error::quote;
use super::object::Fields;
use super::path::validate_output_path;
use super::spec::{JmesPathEntry, TransformStep};
use super::values;
use super::yaml;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// Most transform steps one object may have.
pub const MAX_TRANSFORM_STEPS: usize = 64;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawJmes {
    path: Option<Value>,
    object_alias: Option<Value>,
    file_permission: Option<Value>,
}

const JMES_FIELDS: &[&str] = &["path", "objectAlias", "filePermission"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    plugin: Option<Value>,
    config: Option<Value>,
}

const STEP_FIELDS: &[&str] = &["plugin", "config"];

impl Fields<'_> {
    pub(super) fn jmes(&mut self, v: Option<Value>) -> Vec<JmesPathEntry> {
        let Some(items) = yaml::list(v, self.subj, "jmesPath", self.errors) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (j, item) in items.into_iter().enumerate() {
            let at = format!("jmesPath[{j}]");
            let map = match item {
                Value::Mapping(m) => m,
                Value::Null => {
                    self.fail(
                        &at,
                        "is empty; expected a map with \"path\" and \"objectAlias\"",
                    );
                    continue;
                }
                other => {
                    self.fail(
                        &at,
                        format!(
                            "is a {}; expected a map with \"path\" and \"objectAlias\"",
                            yaml::kind(&other)
                        ),
                    );
                    continue;
                }
            };
            let before = self.errors.len();
            let map = yaml::known_keys(map, JMES_FIELDS, self.subj, &format!("{at}."), self.errors);
            let Ok(raw) = serde_yaml_ng::from_value::<RawJmes>(Value::Mapping(map)) else {
                self.fail(&at, "cannot be read");
                continue;
            };
            let path = self.string(raw.path, &format!("{at}.path"));
            let alias = self.string(raw.object_alias, &format!("{at}.objectAlias"));
            let mode = self.mode(raw.file_permission, &format!("{at}.filePermission"));
            if path.is_none() {
                self.fail(
                    &format!("{at}.path"),
                    "is missing; give the JMESPath expression to extract, e.g. \"username\"",
                );
            }
            match &alias {
                None => self.fail(
                    &format!("{at}.objectAlias"),
                    "is missing; give the file name for the extracted value",
                ),
                Some(a) => {
                    if let Err(e) = validate_output_path(a) {
                        self.fail(&format!("{at}.objectAlias"), format!("{} {e}", quote(a)));
                    }
                }
            }
            if let (true, Some(path), Some(alias)) = (self.errors.len() == before, path, alias) {
                out.push(JmesPathEntry { path, alias, mode });
            }
        }
        out
    }

    pub(super) fn transforms(&mut self, v: Option<Value>) -> Vec<TransformStep> {
        let Some(items) = yaml::list(v, self.subj, "transforms", self.errors) else {
            return Vec::new();
        };
        if items.len() > MAX_TRANSFORM_STEPS {
            self.fail(
                "transforms",
                format!(
                    "has {} steps; at most {MAX_TRANSFORM_STEPS} are allowed per object",
                    items.len()
                ),
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        for (j, item) in items.into_iter().enumerate() {
            let at = format!("transforms[{j}]");
            let map = match item {
                Value::Mapping(m) => m,
                other => {
                    self.fail(
                        &at,
                        format!(
                            "is a {}; expected a map such as {{plugin: jmespath, config: {{...}}}}",
                            yaml::kind(&other)
                        ),
                    );
                    continue;
                }
            };
            let map = yaml::known_keys(map, STEP_FIELDS, self.subj, &format!("{at}."), self.errors);
            let Ok(raw) = serde_yaml_ng::from_value::<RawStep>(Value::Mapping(map)) else {
                self.fail(&at, "cannot be read");
                continue;
            };
            let plugin = match self.string(raw.plugin, &format!("{at}.plugin")) {
                None => {
                    self.fail(&format!("{at}.plugin"), "is missing; name the plugin, e.g. \"jmespath\" or \"name@sha256:<digest>\"");
                    None
                }
                Some(p) => values::parse_plugin_ref(&p)
                    .map_err(|e| self.fail(&format!("{at}.plugin"), e))
                    .ok(),
            };
            let config = match raw.config {
                None | Some(Value::Null) => Some(serde_json::Value::Object(Default::default())),
                Some(v) => serde_json::to_value(&v)
                    .map_err(|e| {
                        self.fail(
                            &format!("{at}.config"),
                            format!("cannot be expressed as JSON: {e}"),
                        )
                    })
                    .ok(),
            };
            if let (Some(plugin), Some(config)) = (plugin, config) {
                out.push(TransformStep { plugin, config });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_lists_match_the_schemas() {
        assert!(
            serde_yaml_ng::from_str::<RawJmes>("path: a\nobjectAlias: b\nfilePermission: '0600'")
                .is_ok()
        );
        let err = serde_yaml_ng::from_str::<RawJmes>("x: 1")
            .err()
            .unwrap()
            .to_string();
        assert!(JMES_FIELDS.iter().all(|f| err.contains(f)), "{err}");
        assert!(serde_yaml_ng::from_str::<RawStep>("plugin: a\nconfig: {}").is_ok());
        let err = serde_yaml_ng::from_str::<RawStep>("x: 1")
            .err()
            .unwrap()
            .to_string();
        assert!(STEP_FIELDS.iter().all(|f| err.contains(f)), "{err}");
    }
}
