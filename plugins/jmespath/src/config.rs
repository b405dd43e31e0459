//! The jmespath step's config. The host builds exactly this shape for the SPC's `jmesPath:` sugar
//! (`{"files": {alias: path}, "keepInput": true}` plus per-entry `mode`), so keep it stable.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};

/// `{"files": {...}, "keepInput": false, "onMissing": "error", "input": null}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    /// Output file name -> expression, in config order.
    pub files: Outputs,
    /// Also pass the input file on to the next step (or the mount).
    #[serde(default)]
    pub keep_input: bool,
    /// What to do when an expression yields `null` (nothing matched).
    #[serde(default)]
    pub on_missing: OnMissing,
    /// Which input file to read; defaults to the only one.
    #[serde(default)]
    pub input: Option<String>,
}

/// Behaviour for an expression that yields `null`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnMissing {
    /// Fail the step, naming the expression.
    #[default]
    Error,
    /// Write no file for that entry.
    Skip,
}

/// One output: the expression and an optional mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The JMESPath expression.
    pub expression: String,
    /// Permission bits for the written file.
    pub mode: Option<u32>,
}

/// Output entries in the order the config lists them; duplicate names are rejected.
#[derive(Debug, Default)]
pub struct Outputs(pub Vec<(String, Output)>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputObject {
    expression: String,
    #[serde(default)]
    mode: Option<u32>,
}

impl<'de> Deserialize<'de> for Output {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Output;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"an expression string or {"expression": "...", "mode": 384}"#)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Output, E> {
                Ok(Output {
                    expression: s.to_string(),
                    mode: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Output, A::Error> {
                let o = OutputObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Output {
                    expression: o.expression,
                    mode: o.mode,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Outputs {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Outputs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from output file name to expression")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Outputs, A::Error> {
                let mut out: Vec<(String, Output)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if out.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format!(
                            "output file `{name}` is listed twice"
                        )));
                    }
                    let value = map.next_value::<Output>()?;
                    out.push((name, value));
                }
                Ok(Outputs(out))
            }
        }
        d.deserialize_map(V)
    }
}
