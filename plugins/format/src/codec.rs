//! Whole-file conversions: JSON <-> YAML, base64 both ways, and `select`.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde_json::{Map, Value};
use transform_sdk::{Error, File};

use crate::config::{Base64, OnMissing, Select, YamlToJson};
use crate::flatten::object;

/// JSON to YAML (block style).
pub fn json_to_yaml(input: &File) -> Result<Vec<u8>, Error> {
    let value: Value = input.json()?;
    serde_yaml_ng::to_string(&value)
        .map(String::into_bytes)
        .map_err(|_| {
            Error::failed(format!(
                "file `{}` could not be written as YAML",
                input.path
            ))
        })
}

/// YAML to JSON. The YAML library's messages may quote the document, so only the position is kept.
pub fn yaml_to_json(config: &YamlToJson, input: &File) -> Result<Vec<u8>, Error> {
    let value: Value = serde_yaml_ng::from_slice(&input.contents).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" (at line {} column {})", l.line(), l.column()))
            .unwrap_or_default();
        Error::invalid_input(format!(
            "file `{}` is not a single YAML document representable as JSON (mapping keys must be strings){at}",
            input.path
        ))
    })?;
    let out = if config.pretty {
        serde_json::to_vec_pretty(&value)
    } else {
        serde_json::to_vec(&value)
    };
    out.map_err(|_| {
        Error::failed(format!(
            "file `{}` could not be written as JSON",
            input.path
        ))
    })
}

fn engine(url_safe: bool) -> GeneralPurpose {
    let alphabet = if url_safe {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// Decodes base64 text; ASCII whitespace (line wrapping) is ignored, padding is optional.
pub fn base64_decode(config: &Base64, input: &File) -> Result<Vec<u8>, Error> {
    let compact: Vec<u8> = input
        .contents
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    engine(config.url_safe).decode(&compact).map_err(|e| {
        use base64::DecodeError::*;
        let detail = match e {
            InvalidByte(offset, _) => {
                format!("an invalid character at offset {offset} (whitespace removed)")
            }
            InvalidLength(_) => "a length that is not valid base64".to_string(),
            InvalidLastSymbol(offset, _) => format!("an invalid last character at offset {offset}"),
            InvalidPadding => "invalid padding".to_string(),
        };
        let alphabet = if config.url_safe {
            "URL-safe"
        } else {
            "standard"
        };
        Error::invalid_input(format!(
            "file `{}` is not valid base64 ({alphabet} alphabet): {detail}",
            input.path
        ))
    })
}

/// Encodes bytes as padded base64 on one line.
pub fn base64_encode(config: &Base64, input: &File) -> Vec<u8> {
    let engine = if config.url_safe {
        general_purpose::URL_SAFE
    } else {
        general_purpose::STANDARD
    };
    engine.encode(&input.contents).into_bytes()
}

/// Picks and renames top-level keys of a JSON object.
pub fn select(config: &Select, input: &File) -> Result<Vec<u8>, Error> {
    let mut source = object(input)?;
    let mut out = Map::new();
    let mut missing = Vec::new();
    for (new, old) in &config.keys {
        // The same source key may feed several outputs, so clone rather than move.
        match source.get(old) {
            Some(v) => {
                out.insert(new.clone(), v.clone());
            }
            None if config.on_missing == OnMissing::Skip => {}
            None => missing.push(format!("`{old}`")),
        }
    }
    if !missing.is_empty() {
        let mut have: Vec<String> = source.keys().map(|k| format!("`{k}`")).collect();
        have.truncate(20);
        return Err(Error::invalid_input(format!(
            "file `{}` has no key {} (keys present: {}); set `onMissing: skip` to leave them out",
            input.path,
            missing.join(", "),
            have.join(", ")
        )));
    }
    source.clear();
    serde_json::to_vec(&Value::Object(out))
        .map_err(|_| Error::failed("the selection could not be written as JSON"))
}
