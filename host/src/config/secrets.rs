//! `MountRequest.secrets`: the nodePublishSecretRef data. It carries access keys, so values are kept in
//! `SecretString` and `Debug` shows key names only.

use super::error::{ConfigError, ConfigErrors};
use super::tokens::TOKENS_KEY;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;

const SUBJECT: &str = "MountRequest.secrets";

/// The nodePublishSecretRef Secret's data (e.g. `access_key`, `access_secret`), without the service-account
/// tokens key, which is parsed into [`super::ServiceAccountTokens`].
#[derive(Default, Clone)]
pub struct NodePublishSecrets(BTreeMap<String, SecretString>);

impl NodePublishSecrets {
    /// The value of `key`, matching key names case-insensitively like the upstream provider (`Access_Key` works).
    /// An exact match wins over a case-insensitive one.
    pub fn get_case_insensitive(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(|v| v.expose_secret())
    }

    /// Key names present (not values).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether no nodePublishSecretRef data was sent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for NodePublishSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// Parses `secrets`. `""`, `null` and `{}` all mean "none" (the driver sends each of them). Returns the secrets and
/// the raw tokens value if the driver put it here (`serviceAccountTokenInSecrets`).
pub(crate) fn parse(
    text: &str,
) -> Result<(NodePublishSecrets, Option<SecretString>), ConfigErrors> {
    if text.trim().is_empty() {
        return Ok((NodePublishSecrets::default(), None));
    }
    // Parse into a Value first: serde's type errors would quote the (secret) values.
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ConfigError::new(
            SUBJECT,
            format!(
                "is not valid JSON (line {} column {}); expected \"\", null or an object of strings",
                e.line(),
                e.column()
            ),
        )
    })?;
    let map = match value {
        serde_json::Value::Null => return Ok((NodePublishSecrets::default(), None)),
        serde_json::Value::Object(map) => map,
        other => {
            return Err(ConfigError::new(
                SUBJECT,
                format!(
                    "is a JSON {}; expected \"\", null or an object of strings",
                    super::attributes::json_kind(&other)
                ),
            )
            .into());
        }
    };
    let mut errors = Vec::new();
    let mut out = BTreeMap::new();
    let mut tokens = None;
    for (key, value) in map {
        match value {
            serde_json::Value::String(s) if key == TOKENS_KEY => {
                tokens = Some(SecretString::from(s))
            }
            serde_json::Value::String(s) => {
                out.insert(key, SecretString::from(s));
            }
            other => errors.push(ConfigError::new(
                SUBJECT,
                format!(
                    "key {} holds a JSON {}; every value must be a string",
                    super::error::quote(&key),
                    super::attributes::json_kind(&other)
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok((NodePublishSecrets(out), tokens))
    } else {
        Err(ConfigErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_null_and_empty_object_mean_none() {
        for text in ["", "  ", "null", "{}"] {
            let (s, t) = parse(text).unwrap();
            assert!(s.is_empty(), "{text:?}");
            assert!(t.is_none());
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_debug_redacts() {
        let (s, _) = parse(r#"{"Access_Key":"AKID-visible","access_secret":"sk-hidden"}"#).unwrap();
        assert_eq!(s.get_case_insensitive("access_key"), Some("AKID-visible"));
        assert_eq!(s.get_case_insensitive("ACCESS_SECRET"), Some("sk-hidden"));
        assert_eq!(s.get_case_insensitive("missing"), None);
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("sk-hidden") && !dbg.contains("AKID-visible"),
            "{dbg}"
        );
        assert!(dbg.contains("access_secret"));
    }

    #[test]
    fn non_string_values_are_named_without_values() {
        let err = parse(r#"{"a":1,"b":{"x":"topsecret"}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"a\"") && err.contains("\"b\""), "{err}");
        assert!(!err.contains("topsecret"));
    }

    #[test]
    fn bad_json_does_not_echo_input() {
        let err = parse("{\"k\": \"sk-123").unwrap_err().to_string();
        assert!(!err.contains("sk-123"), "{err}");
        assert!(err.contains("line 1"));
    }

    #[test]
    fn tokens_key_is_split_off() {
        let (s, t) = parse(&format!(r#"{{"{TOKENS_KEY}":"{{}}","k":"v"}}"#)).unwrap();
        assert!(t.is_some());
        assert_eq!(s.keys().collect::<Vec<_>>(), ["k"]);
    }
}
