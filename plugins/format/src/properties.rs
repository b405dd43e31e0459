//! `json-to-properties`: `key=value` lines escaped as `java.util.Properties.store` does.
//!
//! Keys escape space, `=`, `:`, `#`, `!` and `\`; values escape the same except inner spaces
//! (only a leading space is escaped). Tab, newline, carriage return and form feed become `\t`,
//! `\n`, `\r`, `\f`; other control characters, and with `escapeUnicode` every non-ASCII character,
//! become `\uXXXX` (UTF-16 units). Nested objects are joined with `.` and arrays indexed `[i]`.

use transform_sdk::Error;

use crate::config::Properties;
use crate::flatten::{Arrays, flatten, object};

/// Renders the input object as a `.properties` file.
pub fn render(config: &Properties, file: &transform_sdk::File) -> Result<Vec<u8>, Error> {
    let pairs = flatten(&object(file)?, &config.separator, Arrays::Index)?;
    let mut out = String::new();
    for (key, value) in pairs {
        escape(&key, true, config.escape_unicode, &mut out);
        out.push('=');
        escape(&value, false, config.escape_unicode, &mut out);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// Appends `s` escaped as a key (`is_key`) or a value.
pub fn escape(s: &str, is_key: bool, escape_unicode: bool, out: &mut String) {
    for (i, c) in s.chars().enumerate() {
        match c {
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '\\' | '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || (escape_unicode && (c as u32) > 0x7e) => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str, key: bool, uni: bool) -> String {
        let mut out = String::new();
        escape(s, key, uni, &mut out);
        out
    }

    #[test]
    fn escapes_like_java_store() {
        assert_eq!(esc("a b", true, true), r"a\ b");
        assert_eq!(esc(" a b", false, true), r"\ a b");
        assert_eq!(esc("k=v:w#x!y\\z", true, true), r"k\=v\:w\#x\!y\\z");
        assert_eq!(esc("k=v:w#x!y\\z", false, true), r"k\=v\:w\#x\!y\\z");
        assert_eq!(esc("t\tn\nr\rf\u{c}", false, true), r"t\tn\nr\rf\f");
        assert_eq!(esc("é€", false, true), r"\u00E9\u20AC");
        assert_eq!(esc("😀", false, true), r"\uD83D\uDE00");
        assert_eq!(esc("é€", false, false), "é€");
        assert_eq!(esc("\u{1}", false, false), r"\u0001");
    }
}
