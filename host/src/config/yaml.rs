//! Helpers for reading a YAML entry strictly: every unknown key is reported with the list of allowed keys (serde's
//! `deny_unknown_fields` stops at the first one), and scalar fields get messages that say what was expected.

use super::error::{ConfigError, quote};
use serde_yaml_ng::{Mapping, Value};

/// A short name for the kind of a YAML value, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Sequence(_) => "list",
        Value::Mapping(_) => "map",
        Value::Tagged(_) => "tagged value",
    }
}

/// Reports keys of `map` that are not in `allowed` (all of them at once, each with the allowed list and a
/// case-insensitive "did you mean"), and returns the map without them so the rest can still be checked.
pub fn known_keys(
    map: Mapping,
    allowed: &[&str],
    subject: &str,
    field_prefix: &str,
    errors: &mut Vec<ConfigError>,
) -> Mapping {
    let mut out = Mapping::new();
    for (key, value) in map {
        let name = match &key {
            Value::String(s) => s.as_str(),
            other => {
                errors.push(ConfigError::new(
                    subject,
                    format!(
                        "has a {} as a key; keys must be field names such as {}",
                        kind(other),
                        quote(allowed[0])
                    ),
                ));
                continue;
            }
        };
        if allowed.contains(&name) {
            out.insert(key, value);
            continue;
        }
        let hint = suggest(name, allowed)
            .map(|a| format!(" (did you mean {}?)", quote(a)))
            .unwrap_or_default();
        let list = allowed
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        errors.push(ConfigError::field(
            subject,
            format!("{field_prefix}{name}"),
            format!("unknown field{hint}; allowed fields are: {list}"),
        ));
    }
    out
}

/// The allowed key closest to a misspelt one: same letters ignoring case, or at most two edits away.
fn suggest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    if let Some(a) = allowed.iter().find(|a| a.eq_ignore_ascii_case(name)) {
        return Some(a);
    }
    let lower = name.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (edit_distance(&lower, &a.to_ascii_lowercase()), *a))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

/// Levenshtein distance, counting an adjacent swap as one edit (the usual typo).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// A string field: `None` when absent, null or empty (as upstream treats empty strings); an error for other kinds.
pub fn string(
    value: Option<Value>,
    subject: &str,
    field: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => {
            if s.chars().any(char::is_control) {
                errors.push(ConfigError::field(
                    subject,
                    field,
                    format!("{} contains a control character", quote(&s)),
                ));
                None
            } else {
                Some(s)
            }
        }
        other => {
            errors.push(ConfigError::field(
                subject,
                field,
                format!("is a {}; expected a string (quote it)", kind(&other)),
            ));
            None
        }
    }
}

/// A scalar that may be written as a string or an integer (versions, durations), as text.
pub fn string_or_integer(
    value: Option<Value>,
    subject: &str,
    field: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    match value {
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        other => string(other, subject, field, errors),
    }
}

/// A list field: `None` when absent or null; an error for other kinds.
pub fn list(
    value: Option<Value>,
    subject: &str,
    field: &str,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<Value>> {
    match value? {
        Value::Null => None,
        Value::Sequence(items) => Some(items),
        other => {
            errors.push(ConfigError::field(
                subject,
                field,
                format!(
                    "is a {}; expected a list (entries starting with \"- \")",
                    kind(&other)
                ),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_typos() {
        let allowed = ["objectName", "objectAlias", "jmesPath"];
        assert_eq!(suggest("objectAlais", &allowed), Some("objectAlias"));
        assert_eq!(suggest("objectname", &allowed), Some("objectName"));
        assert_eq!(suggest("jmespath", &allowed), Some("jmesPath"));
        assert_eq!(suggest("failoverObject", &allowed), None);
    }
}
