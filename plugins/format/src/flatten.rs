//! Flattening nested JSON objects into `key = text` pairs for dotenv and properties.

use serde_json::{Map, Value};
use transform_sdk::Error;

/// How arrays are treated while flattening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrays {
    /// Fail naming the key (dotenv has no notion of lists).
    Reject,
    /// `key[0]`, `key[1]`, ... (the Spring convention for properties).
    Index,
}

/// Flattens `object`: nested object keys are joined with `separator`; strings are kept as they
/// are, numbers and booleans written as JSON, `null` as an empty string.
pub fn flatten(
    object: &Map<String, Value>,
    separator: &str,
    arrays: Arrays,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for (k, v) in object {
        walk(k.clone(), v, separator, arrays, &mut out)?;
    }
    Ok(out)
}

fn walk(
    key: String,
    value: &Value,
    sep: &str,
    arrays: Arrays,
    out: &mut Vec<(String, String)>,
) -> Result<(), Error> {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                walk(format!("{key}{sep}{k}"), v, sep, arrays, out)?;
            }
        }
        Value::Array(items) => match arrays {
            Arrays::Reject => {
                return Err(Error::invalid_input(format!(
                    "key `{key}` holds an array, which this format cannot represent; pick single \
                     elements with a jmespath step first"
                )));
            }
            Arrays::Index => {
                for (i, v) in items.iter().enumerate() {
                    walk(format!("{key}[{i}]"), v, sep, arrays, out)?;
                }
            }
        },
        Value::String(s) => out.push((key, s.clone())),
        Value::Null => out.push((key, String::new())),
        Value::Bool(b) => out.push((key, b.to_string())),
        Value::Number(n) => out.push((key, n.to_string())),
    }
    Ok(())
}

/// Parses the input as a JSON object, naming the file when it is another JSON type.
pub fn object(file: &transform_sdk::File) -> Result<Map<String, Value>, Error> {
    match file.json::<Value>()? {
        Value::Object(map) => Ok(map),
        other => Err(Error::invalid_input(format!(
            "file `{}` must hold a JSON object, but holds {}",
            file.path,
            kind(&other)
        ))),
    }
}

/// The JSON type name of a value, for messages that must not show the value.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_objects_join_keys_and_scalars_render() {
        let v = json!({"a": {"b": 1, "c": {"d": true}}, "e": null, "f": "x y"});
        let got = flatten(v.as_object().unwrap(), "_", Arrays::Reject).unwrap();
        let want = [("a_b", "1"), ("a_c_d", "true"), ("e", ""), ("f", "x y")];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn arrays_rejected_or_indexed() {
        let v = json!({"hosts": ["a", {"b": 2}]});
        let e = flatten(v.as_object().unwrap(), "_", Arrays::Reject).unwrap_err();
        assert!(e.message().starts_with("key `hosts` holds an array"), "{e}");
        let got = flatten(v.as_object().unwrap(), ".", Arrays::Index).unwrap();
        assert_eq!(
            got,
            [
                ("hosts[0]".to_string(), "a".to_string()),
                ("hosts[1].b".to_string(), "2".to_string())
            ]
        );
    }
}
