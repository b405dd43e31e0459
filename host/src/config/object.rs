//! One entry of `objects`: the schema (strict, unlike upstream, which ignored typos such as `objectAlais`) and the
//! checks of every field. All problems of an entry are reported, not just the first.

use super::error::{ConfigError, quote};
use super::path::{PathTranslation, validate_output_path};
use super::permission::parse_file_permission;
use super::spec::{CrossAccount, ObjectKind, ObjectSpec};
use super::values;
use super::yaml;
use serde::Deserialize;
use serde_yaml_ng::Value;

/// Longest OOS parameter name (`GetSecretParameter` `Name`).
const MAX_OOS_NAME: usize = 180;
/// Longest object name or version we pass on (KMS names are far shorter; this only stops pasted blobs).
const MAX_NAME: usize = 1024;

/// The fields of an object. `deny_unknown_fields` is the backstop; [`OBJECT_FIELDS`] gives the message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawObject {
    object_name: Option<Value>,
    object_type: Option<Value>,
    object_alias: Option<Value>,
    object_version: Option<Value>,
    object_version_label: Option<Value>,
    jmes_path: Option<Value>,
    file_permission: Option<Value>,
    kms_endpoint: Option<Value>,
    oos_endpoint: Option<Value>,
    region: Option<Value>,
    cross_account_role_arn: Option<Value>,
    cross_account_external_id: Option<Value>,
    cross_account_role_session_name: Option<Value>,
    cross_account_role_duration: Option<Value>,
    transforms: Option<Value>,
}

/// The keys of [`RawObject`], in the order the docs list them.
pub const OBJECT_FIELDS: &[&str] = &[
    "objectName",
    "objectType",
    "objectAlias",
    "objectVersion",
    "objectVersionLabel",
    "jmesPath",
    "filePermission",
    "kmsEndpoint",
    "oosEndpoint",
    "region",
    "crossAccountRoleArn",
    "crossAccountExternalId",
    "crossAccountRoleSessionName",
    "crossAccountRoleDuration",
    "transforms",
];

/// Settings from the SecretProviderClass that shape every object.
pub(crate) struct Defaults<'a> {
    pub translation: PathTranslation,
    pub region: Option<&'a str>,
}

/// The result of checking one entry: the object if it is valid, and every output file name that could be
/// computed (even when other fields are wrong) so collisions are reported in the same pass.
pub(crate) struct Checked {
    pub spec: Option<ObjectSpec>,
    /// `(owner, path)` for the object's file and its jmesPath files.
    pub outputs: Vec<(String, String)>,
}

/// `objects[2] (objectName "db-pass")`, or `objects[2]` before the name is known.
pub(crate) fn subject(index: usize, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("objects[{index}] (objectName {})", quote(n)),
        None => format!("objects[{index}]"),
    }
}

/// Checks entry `index` of `objects`.
pub(crate) fn check(
    index: usize,
    entry: Value,
    defaults: &Defaults<'_>,
    errors: &mut Vec<ConfigError>,
) -> Checked {
    let nothing = Checked {
        spec: None,
        outputs: Vec::new(),
    };
    let map = match entry {
        Value::Mapping(map) => map,
        Value::Null => {
            errors.push(ConfigError::new(
                subject(index, None),
                "is empty (a \"-\" with nothing after it); each entry must be a map with at least objectName",
            ));
            return nothing;
        }
        other => {
            errors.push(ConfigError::new(
                subject(index, None),
                format!(
                    "is a {}; expected a map such as {{objectName: my-secret}}",
                    yaml::kind(&other)
                ),
            ));
            return nothing;
        }
    };
    let name_hint = match map.get("objectName") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let subj = subject(index, name_hint.as_deref());
    let before = errors.len();
    let map = yaml::known_keys(map, OBJECT_FIELDS, &subj, "", errors);
    let raw: RawObject = match serde_yaml_ng::from_value(Value::Mapping(map)) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(ConfigError::new(&subj, format!("cannot be read: {e}")));
            return nothing;
        }
    };
    let mut c = Fields {
        subj: &subj,
        errors,
    };

    let kind = match c.string(raw.object_type, "objectType").as_deref() {
        None | Some("kms") => Some(ObjectKind::Kms),
        Some("oos") => Some(ObjectKind::Oos),
        Some(other) => {
            c.fail(
                "objectType",
                format!(
                    "{} is not supported; allowed: \"kms\" (the default) or \"oos\"",
                    quote(other)
                ),
            );
            None
        }
    };
    let name_given = raw
        .object_name
        .as_ref()
        .is_some_and(|v| !matches!(v, Value::Null) && v.as_str() != Some(""));
    let name = c.string(raw.object_name, "objectName");
    let mut arn_region = None;
    match (&name, kind) {
        (None, _) if name_given => {} // already reported as the wrong type
        (None, _) => c.fail("objectName", "is missing; every object needs the name (or KMS ARN) of a secret"),
        (Some(n), _) if n.len() > MAX_NAME => c.fail("objectName", format!("is {} bytes; at most {MAX_NAME}", n.len())),
        (Some(n), Some(ObjectKind::Kms)) if n.starts_with("acs:") => match values::parse_kms_arn(n) {
            Ok(arn) => arn_region = Some(arn.region),
            Err(e) => c.fail("objectName", e),
        },
        (Some(n), Some(ObjectKind::Oos)) if n.starts_with("acs:") => c.fail(
            "objectName",
            format!("{} is an ARN; OOS parameters are named by their parameter name, e.g. \"my-secret-param\"", quote(n)),
        ),
        (Some(n), Some(ObjectKind::Oos)) if n.len() > MAX_OOS_NAME => c.fail(
            "objectName",
            format!("is {} bytes; OOS parameter names have at most {MAX_OOS_NAME}", n.len()),
        ),
        _ => {}
    }

    let alias = c.string(raw.object_alias, "objectAlias");
    let version = c.string_or_integer(raw.object_version, "objectVersion");
    let version_label = c.string(raw.object_version_label, "objectVersionLabel");
    if kind == Some(ObjectKind::Oos) {
        if let Some(v) = &version
            && (!matches!(v.parse::<u8>(), Ok(1..=100)) || !v.bytes().all(|b| b.is_ascii_digit()))
        {
            c.fail(
                "objectVersion",
                format!(
                    "{} is not an OOS parameter version; expected an integer from 1 to 100",
                    quote(v)
                ),
            );
        }
        if version_label.is_some() {
            c.fail(
                "objectVersionLabel",
                "applies to KMS secrets only (VersionStage); OOS parameters are pinned with objectVersion (1-100)",
            );
        }
    } else if let Some(v) = &version
        && v.len() > MAX_NAME
    {
        c.fail(
            "objectVersion",
            format!("is {} bytes; at most {MAX_NAME}", v.len()),
        );
    }

    let mode = c.mode(raw.file_permission, "filePermission");
    let kms_endpoint = c.endpoint(raw.kms_endpoint, "kmsEndpoint");
    let oos_endpoint = c.endpoint(raw.oos_endpoint, "oosEndpoint");
    let endpoint = match kind {
        Some(ObjectKind::Kms) => {
            if oos_endpoint.is_some() {
                c.fail(
                    "oosEndpoint",
                    "applies to objectType oos only; this object is kms, use kmsEndpoint",
                );
            }
            kms_endpoint
        }
        Some(ObjectKind::Oos) => {
            if kms_endpoint.is_some() {
                c.fail(
                    "kmsEndpoint",
                    "applies to objectType kms only; this object is oos, use oosEndpoint",
                );
            }
            oos_endpoint
        }
        None => None,
    };

    let mut region = c.string(raw.region, "region");
    if let Some(r) = &region
        && let Err(e) = values::check_region(r)
    {
        c.fail("region", e);
    }
    if let Some(arn_region) = arn_region {
        match region.as_deref().or(defaults.region) {
            Some(r) if r != arn_region => c.fail(
                "objectName",
                format!(
                    "the ARN is in region {} but the object is fetched from region {}; make them match or drop the region",
                    quote(&arn_region),
                    quote(r)
                ),
            ),
            _ => {}
        }
        region.get_or_insert(arn_region);
    }

    let cross_account = c.cross_account(CrossFields {
        role_arn: raw.cross_account_role_arn,
        external_id: raw.cross_account_external_id,
        session_name: raw.cross_account_role_session_name,
        duration: raw.cross_account_role_duration,
    });
    let jmes_path = c.jmes(raw.jmes_path);
    let transforms = c.transforms(raw.transforms);

    // The object's own file.
    let mut outputs = Vec::new();
    let mut file_name = None;
    if let Some(source) = alias.as_deref().or(name.as_deref()) {
        let field = if alias.is_some() {
            "objectAlias"
        } else {
            "objectName"
        };
        let candidate = defaults.translation.apply(source);
        match validate_output_path(&candidate) {
            Ok(()) => {
                outputs.push((subj.clone(), candidate.clone()));
                file_name = Some(candidate);
            }
            Err(e) => c.fail(
                field,
                format!("gives file name {}, which {e}", quote(&candidate)),
            ),
        }
    }
    for (j, entry) in jmes_path.iter().enumerate() {
        outputs.push((format!("{subj} jmesPath[{j}]"), entry.alias.clone()));
    }

    let valid = c.errors.len() == before;
    let spec = match (valid, name, kind, file_name) {
        (true, Some(name), Some(kind), Some(file_name)) => Some(ObjectSpec {
            index,
            name,
            kind,
            file_name,
            version,
            version_label,
            mode,
            jmes_path,
            endpoint,
            region,
            cross_account,
            transforms,
        }),
        _ => None,
    };
    Checked { spec, outputs }
}

/// The `crossAccount*` fields of one object, read together.
struct CrossFields {
    role_arn: Option<Value>,
    external_id: Option<Value>,
    session_name: Option<Value>,
    duration: Option<Value>,
}

/// Field readers bound to one object's subject and the shared error list.
pub(super) struct Fields<'a> {
    pub(super) subj: &'a str,
    pub(super) errors: &'a mut Vec<ConfigError>,
}

impl Fields<'_> {
    pub(super) fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .push(ConfigError::field(self.subj, field, message));
    }

    pub(super) fn string(&mut self, v: Option<Value>, field: &str) -> Option<String> {
        yaml::string(v, self.subj, field, self.errors)
    }

    pub(super) fn string_or_integer(&mut self, v: Option<Value>, field: &str) -> Option<String> {
        yaml::string_or_integer(v, self.subj, field, self.errors)
    }

    pub(super) fn mode(&mut self, v: Option<Value>, field: &str) -> Option<u32> {
        if let Some(Value::Number(n)) = &v {
            self.fail(
                field,
                format!("is the unquoted number {n}; write the octal mode as a quoted string such as \"0600\""),
            );
            return None;
        }
        let text = self.string(v, field)?;
        parse_file_permission(&text)
            .map_err(|e| self.fail(field, e))
            .ok()
    }

    fn endpoint(&mut self, v: Option<Value>, field: &str) -> Option<String> {
        let text = self.string(v, field)?;
        values::parse_endpoint(&text)
            .map_err(|e| self.fail(field, e))
            .ok()
    }

    fn cross_account(&mut self, f: CrossFields) -> Option<CrossAccount> {
        let role_arn = self.string(f.role_arn, "crossAccountRoleArn");
        let external_id = self.string(f.external_id, "crossAccountExternalId");
        let session_name = self.string(f.session_name, "crossAccountRoleSessionName");
        let duration = self.string_or_integer(f.duration, "crossAccountRoleDuration");
        if let Some(arn) = &role_arn
            && let Err(e) = values::check_role_arn(arn)
        {
            self.fail("crossAccountRoleArn", e);
        }
        if let Some(id) = &external_id
            && let Err(e) = values::check_external_id(id)
        {
            self.fail("crossAccountExternalId", e);
        }
        if let Some(s) = &session_name
            && let Err(e) = values::check_session_name(s)
        {
            self.fail("crossAccountRoleSessionName", e);
        }
        let duration_seconds = duration.and_then(|d| {
            values::parse_duration_seconds(&d)
                .map_err(|e| self.fail("crossAccountRoleDuration", e))
                .ok()
        });
        match role_arn {
            Some(role_arn) => Some(CrossAccount {
                role_arn,
                external_id,
                session_name,
                duration_seconds,
            }),
            None => {
                for (field, set) in [
                    ("crossAccountExternalId", external_id.is_some()),
                    ("crossAccountRoleSessionName", session_name.is_some()),
                    ("crossAccountRoleDuration", duration_seconds.is_some()),
                ] {
                    if set {
                        self.fail(
                            field,
                            "is set without crossAccountRoleArn; set the role to assume as well",
                        );
                    }
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_list_matches_the_schema() {
        for field in OBJECT_FIELDS {
            let yaml = format!("{field}: null");
            assert!(
                serde_yaml_ng::from_str::<RawObject>(&yaml).is_ok(),
                "{field} missing from RawObject"
            );
        }
        let err = serde_yaml_ng::from_str::<RawObject>("objectNam: x")
            .err()
            .unwrap()
            .to_string();
        for field in OBJECT_FIELDS {
            assert!(
                err.contains(field),
                "{field} missing from OBJECT_FIELDS: {err}"
            );
        }
    }
}
