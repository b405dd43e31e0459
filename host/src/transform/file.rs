//! The file type that flows between pipeline steps.

use std::fmt;

/// One file of a mount: a relative path, its bytes and an optional Unix mode.
///
/// `contents` usually holds secret material, so `Debug` prints only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path inside the mount (no `..`, not absolute, no NUL).
    pub path: String,
    /// The bytes of the file; never logged.
    pub contents: Vec<u8>,
    /// Unix permission bits (at most 0o777); `None` keeps the mount's default mode.
    pub mode: Option<u32>,
}

impl File {
    /// A file with the default mode.
    pub fn new(path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.into(),
            contents: contents.into(),
            mode: None,
        }
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field(
                "contents",
                &format_args!("<{} bytes redacted>", self.contents.len()),
            )
            .field("mode", &self.mode.map(|m| format!("{m:#o}")))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_contents() {
        let file = File {
            path: "db/password".into(),
            contents: b"hunter2".to_vec(),
            mode: Some(0o400),
        };
        let shown = format!("{file:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("7 bytes redacted") && shown.contains("0o400"),
            "{shown}"
        );
    }
}
