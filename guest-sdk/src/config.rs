//! Parsing a step's JSON config into the plugin's typed config.

use serde::de::DeserializeOwned;

use crate::Error;

/// Parses `text` (the step's `config` as JSON) into `C`.
///
/// An empty text or `null` means "no config" and is read as `{}`, so configs whose fields all
/// have defaults need not be written. Errors are `invalid-config` and name the field path
/// (`files.user.mode: invalid type: ...`). Config is not secret, so serde's message is kept.
pub fn parse_config<C: DeserializeOwned>(text: &str) -> Result<C, Error> {
    let trimmed = text.trim();
    let text = if trimmed.is_empty() || trimmed == "null" {
        "{}"
    } else {
        trimmed
    };
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if !inner.is_data() {
            return Error::invalid_config(format!("the config is not valid JSON: {message}"));
        }
        // Line and column refer to the JSON the host generated from YAML; the field path is what
        // the user can act on.
        let message = match message.rfind(" at line ") {
            Some(i) if inner.line() > 0 => message[..i].to_string(),
            _ => message,
        };
        if path == "." || path == "?" || path.is_empty() {
            Error::invalid_config(message)
        } else {
            Error::invalid_config(format!("`{path}`: {message}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Debug, Default)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Cfg {
        #[serde(default)]
        keep_input: bool,
        #[serde(default)]
        files: BTreeMap<String, Entry>,
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Entry {
        mode: u32,
    }

    #[test]
    fn empty_and_null_mean_defaults() {
        for text in ["", "  ", "null", "{}"] {
            let c: Cfg = parse_config(text).unwrap();
            assert!(!c.keep_input && c.files.is_empty());
        }
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_config::<Cfg>(r#"{"files": {"user": {"mode": "x"}}}"#).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidConfig);
        assert_eq!(
            e.message(),
            "`files.user.mode`: invalid type: string \"x\", expected u32"
        );
        let e = parse_config::<Cfg>(r#"{"keepInputs": true}"#).unwrap_err();
        assert_eq!(
            e.message(),
            "`keepInputs`: unknown field `keepInputs`, expected `keepInput` or `files`"
        );
        let e = parse_config::<Cfg>("{").unwrap_err();
        assert_eq!(
            e.message(),
            "the config is not valid JSON: EOF while parsing an object at line 1 column 1"
        );
    }
}
