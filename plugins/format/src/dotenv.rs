//! `json-to-dotenv`: one `KEY=value` line per (flattened) key.
//!
//! Quoting: values made only of `A-Za-z0-9_-.,:/@%+` are written bare; anything else (spaces,
//! quotes, `$`, `#`, newlines, non-ASCII, ...) is double-quoted with `\\`, `\"`, `\$`, `` \` ``,
//! `\n` and `\r` escaped, the convention of godotenv, python-dotenv and shell-style parsers, so `$`
//! is never interpolated and `#` never starts a comment. The empty value is written as `""`.

use transform_sdk::Error;

use crate::config::Dotenv;
use crate::flatten::{Arrays, flatten, object};

/// Renders the input object as a `.env` file.
pub fn render(config: &Dotenv, file: &transform_sdk::File) -> Result<Vec<u8>, Error> {
    let pairs = flatten(&object(file)?, &config.separator, Arrays::Reject)?;
    let mut bad = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = String::new();
    for (key, value) in pairs {
        let mut key = format!("{}{key}", config.prefix);
        if config.uppercase {
            key = key.to_uppercase();
        }
        if !valid_key(&key) {
            bad.push(format!("`{key}`"));
            continue;
        }
        if !seen.insert(key.clone()) {
            return Err(Error::invalid_input(format!(
                "two input keys both become `{key}` after flattening{}",
                if config.uppercase {
                    " and upper-casing"
                } else {
                    ""
                }
            )));
        }
        out.push_str(&key);
        out.push('=');
        out.push_str(&quote(&value));
        out.push('\n');
    }
    if !bad.is_empty() {
        return Err(Error::invalid_input(format!(
            "these keys are not valid variable names (allowed: a letter or `_`, then letters, digits or `_`): {}; \
             rename them with a `select` step",
            bad.join(", ")
        )));
    }
    Ok(out.into_bytes())
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Writes `value` bare when that is unambiguous, double-quoted and escaped otherwise.
pub fn quote(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,:/@%+".contains(c));
    if bare {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            '`' => out.push_str("\\`"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_cases() {
        let cases = [
            ("plain", "plain"),
            ("postgres://u@h:5432/db", "postgres://u@h:5432/db"),
            ("", r#""""#),
            ("two words", r#""two words""#),
            (r#"say "hi""#, r#""say \"hi\"""#),
            ("it's", r#""it's""#),
            ("$HOME and ${X}", r#""\$HOME and \${X}""#),
            ("a#b", r#""a#b""#),
            ("line1\nline2\r\n", r#""line1\nline2\r\n""#),
            (r"back\slash", r#""back\\slash""#),
            ("`cmd`", r#""\`cmd\`""#),
            ("pässwörd", r#""pässwörd""#),
        ];
        for (value, want) in cases {
            assert_eq!(quote(value), want, "{value:?}");
        }
    }

    #[test]
    fn keys() {
        for ok in ["A", "_x", "DB_HOST_2", "lower"] {
            assert!(valid_key(ok), "{ok}");
        }
        for bad in ["", "2X", "api-key", "a.b", "ü", "A B"] {
            assert!(!valid_key(bad), "{bad}");
        }
    }
}
