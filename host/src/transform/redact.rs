//! Keeps secret payloads out of what a plugin says: its log lines and its error messages both reach
//! operators (logs, pod events), and a buggy or hostile plugin could quote its input there.
//!
//! The needles are what a secret looks like to a reader: the whole input (when short), every JSON
//! string or number leaf of a JSON input, and every line of a text input. Occurrences of any needle
//! of at least [`MIN_NEEDLE`] bytes are replaced, longest first.

use super::file::File;

/// Shorter fragments would redact ordinary words ("true", "app") without protecting anything.
const MIN_NEEDLE: usize = 4;
/// Bounds the work per message for inputs with huge numbers of leaves.
const MAX_NEEDLES: usize = 4096;
/// What replaces a secret fragment.
pub(crate) const REDACTED: &str = "<redacted>";

/// The secret fragments of one call's input.
#[derive(Default)]
pub(crate) struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// Collects the needles of `input`.
    pub(crate) fn for_input(input: &[File]) -> Self {
        let mut needles = Vec::new();
        for file in input {
            let Ok(text) = std::str::from_utf8(&file.contents) else {
                continue;
            };
            needles.push(text.trim().to_owned());
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value) => leaves(&value, &mut needles),
                Err(_) => needles.extend(text.lines().map(|l| l.trim().to_owned())),
            }
        }
        needles.retain(|n| n.len() >= MIN_NEEDLE);
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        needles.truncate(MAX_NEEDLES);
        Self { needles }
    }

    /// `message` with every secret fragment replaced.
    pub(crate) fn redact(&self, message: &str) -> String {
        let mut out = message.to_owned();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }
}

fn leaves(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| leaves(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| leaves(v, out)),
        serde_json::Value::Bool(_) | serde_json::Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_leaves_lines_and_whole_inputs_are_redacted() {
        let r = Redactor::for_input(&[
            File::new("db", r#"{"user":"app","password":"s3cr3t-pw","port":5432}"#),
            File::new("txt", "line-one-secret\nline-two-secret\n"),
        ]);
        let msg = r.redact("pw=s3cr3t-pw port=5432 user=app a=line-two-secret");
        assert_eq!(
            msg, "pw=<redacted> port=<redacted> user=app a=<redacted>",
            "short values like `app` stay (too common to matter)"
        );
        assert_eq!(r.redact("nothing secret here"), "nothing secret here");
    }

    #[test]
    fn binary_input_is_ignored_and_the_whole_text_is_a_needle() {
        let r = Redactor::for_input(&[
            File::new("bin", vec![0xff, 0xfe, 0x00]),
            File::new("t", "  whole-token-value  "),
        ]);
        assert_eq!(r.redact("got whole-token-value!"), "got <redacted>!");
    }
}
