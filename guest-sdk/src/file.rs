//! Typed files: what a step receives and returns.

use std::fmt;

use serde::de::DeserializeOwned;

use crate::Error;
use crate::wit::alibabacloud::secrets_transform::types::File as WitFile;

/// Largest permission value a file may carry (`0o777`).
pub const MAX_MODE: u32 = 0o777;

/// One file of the mount: a relative path, its bytes and an optional Unix mode.
///
/// `Debug` prints the path, size and mode but never the contents.
#[derive(Clone, PartialEq, Eq)]
pub struct File {
    /// Relative path inside the mount (`a` or `dir/a`; no `..`, not absolute).
    pub path: String,
    /// The bytes of the file (usually secret).
    pub contents: Vec<u8>,
    /// Permission bits (`0o000`-`0o777`); `None` keeps the mode the host would use anyway.
    pub mode: Option<u32>,
}

impl File {
    /// A file with the host's default mode.
    pub fn new(path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        Self {
            path: path.into(),
            contents: contents.into(),
            mode: None,
        }
    }

    /// Sets (or clears) the permission bits.
    #[must_use]
    pub fn with_mode(mut self, mode: Option<u32>) -> Self {
        self.mode = mode;
        self
    }

    /// The contents as UTF-8 text, or an `invalid-input` error naming the file (not the bytes).
    pub fn text(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.contents).map_err(|e| {
            Error::invalid_input(format!(
                "file `{}` is not valid UTF-8 text (first bad byte at offset {})",
                self.path,
                e.valid_up_to()
            ))
        })
    }

    /// Parses the contents as JSON into `T`.
    ///
    /// Errors name the file, the line and column and, for shape mismatches, the JSON path, but
    /// never the values found there.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let de = &mut serde_json::Deserializer::from_slice(&self.contents);
        let parsed: Result<T, _> = serde_path_to_error::deserialize(de);
        let value = parsed.map_err(|e| {
            let path = e.path().to_string();
            Error::invalid_input(format!(
                "file `{}` {}",
                self.path,
                describe_json_error(&path, e.inner())
            ))
        })?;
        Ok(value)
    }
}

/// Describes a payload JSON error without quoting the payload.
fn describe_json_error(path: &str, e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            format!("is not valid JSON (syntax error at {at})")
        }
        Category::Data => {
            let msg = e.to_string();
            // These serde messages only quote field names, never values.
            let safe = ["missing field `", "unknown field `", "duplicate field `"];
            if safe.iter().any(|p| msg.starts_with(p)) {
                let head = msg.split(" at line ").next().unwrap_or(&msg);
                format!("does not have the expected shape at `{path}`: {head} ({at})")
            } else {
                format!(
                    "does not have the expected shape: the value at `{path}` has the wrong type ({at})"
                )
            }
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

impl From<WitFile> for File {
    fn from(f: WitFile) -> Self {
        Self {
            path: f.path,
            contents: f.contents,
            mode: f.mode,
        }
    }
}

impl From<File> for WitFile {
    fn from(f: File) -> Self {
        Self {
            path: f.path,
            contents: f.contents,
            mode: f.mode,
        }
    }
}

/// Checks that `path` is a clean relative file path the host will accept.
///
/// Rejected: empty, absolute (`/x`), empty segments (`a//b`, `a/`), `.` or `..` segments, segments
/// starting with `..` (reserved by the kubelet's atomic writer), backslashes, control characters.
/// Returns the reason on failure.
pub fn validate_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("the path is empty");
    }
    if path.starts_with('/') {
        return Err("the path is absolute; use a relative path such as `dir/name`");
    }
    if path.contains('\\') {
        return Err("the path contains a backslash; separate directories with `/`");
    }
    if path.chars().any(char::is_control) {
        return Err("the path contains a control character");
    }
    for segment in path.split('/') {
        if segment.is_empty() {
            return Err("the path has an empty segment (`//` or a trailing `/`)");
        }
        if segment == "." || segment.starts_with("..") {
            return Err("the path has a `.`, `..` or `..`-prefixed segment");
        }
    }
    Ok(())
}

/// Checks a permission value from a config field: `0` to `0o777` (511).
pub fn validate_mode(mode: u32) -> Result<(), String> {
    if mode > MAX_MODE {
        Err(format!(
            "{mode} is not a valid file mode; allowed are 0 to 511 (octal 0o000 to 0o777, e.g. 384 = 0o600)"
        ))
    } else {
        Ok(())
    }
}

/// The ordered files of one step: lookups by path, with clear errors when a file is missing.
///
/// `Debug` never shows contents.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Files {
    files: Vec<File>,
}

impl Files {
    /// No files.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The files in order.
    pub fn iter(&self) -> std::slice::Iter<'_, File> {
        self.files.iter()
    }

    /// The file with this exact path.
    pub fn get(&self, path: &str) -> Option<&File> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Removes and returns the file with this path.
    pub fn take(&mut self, path: &str) -> Option<File> {
        let i = self.files.iter().position(|f| f.path == path)?;
        Some(self.files.remove(i))
    }

    /// Adds a file at the end, or replaces the file with the same path in place.
    pub fn insert(&mut self, file: File) {
        match self.files.iter_mut().find(|f| f.path == file.path) {
            Some(slot) => *slot = file,
            None => self.files.push(file),
        }
    }

    /// The paths in order.
    pub fn paths(&self) -> Vec<&str> {
        self.files.iter().map(|f| f.path.as_str()).collect()
    }

    /// The only file, or an `invalid-input` error saying how many there were.
    pub fn single(&self) -> Result<&File, Error> {
        match self.files.as_slice() {
            [one] => Ok(one),
            [] => Err(Error::invalid_input(
                "expected exactly one input file, got none",
            )),
            many => Err(Error::invalid_input(format!(
                "expected exactly one input file, got {} ({}); set `input` in the config to pick one",
                many.len(),
                quote_list(many.iter().map(|f| f.path.as_str()))
            ))),
        }
    }

    /// The file named `name`, or the only file when `name` is `None`.
    ///
    /// This is the usual way to honour an optional `input` config field.
    pub fn input(&self, name: Option<&str>) -> Result<&File, Error> {
        match name {
            None => self.single(),
            Some(name) => self.get(name).ok_or_else(|| {
                Error::invalid_input(format!(
                    "there is no input file `{name}`; the input files are {}",
                    quote_list(self.files.iter().map(|f| f.path.as_str()))
                ))
            }),
        }
    }

    /// The files as a vector.
    pub fn into_vec(self) -> Vec<File> {
        self.files
    }
}

/// `` `a`, `b` `` or `(none)`.
fn quote_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if list.is_empty() {
        "(none)".to_string()
    } else {
        list.join(", ")
    }
}

impl From<Vec<File>> for Files {
    fn from(files: Vec<File>) -> Self {
        Self { files }
    }
}

impl FromIterator<File> for Files {
    fn from_iter<I: IntoIterator<Item = File>>(iter: I) -> Self {
        Self {
            files: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for Files {
    type Item = File;
    type IntoIter = std::vec::IntoIter<File>;

    fn into_iter(self) -> Self::IntoIter {
        self.files.into_iter()
    }
}

impl<'a> IntoIterator for &'a Files {
    type Item = &'a File;
    type IntoIter = std::slice::Iter<'a, File>;

    fn into_iter(self) -> Self::IntoIter {
        self.files.iter()
    }
}

impl Extend<File> for Files {
    fn extend<I: IntoIterator<Item = File>>(&mut self, iter: I) {
        for f in iter {
            self.insert(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_contents() {
        let f = File::new("db", b"hunter2".to_vec()).with_mode(Some(0o600));
        let s = format!("{f:?} {:?}", Files::from(vec![f.clone()]));
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("7 bytes redacted") && s.contains("0o600"), "{s}");
    }

    #[test]
    fn single_and_input_errors_name_the_files() {
        let files = Files::from(vec![File::new("a", "1"), File::new("b", "2")]);
        let e = files.single().unwrap_err();
        assert!(e.message().contains("got 2 (`a`, `b`)"), "{e}");
        assert_eq!(files.input(Some("b")).unwrap().contents, b"2");
        let e = files.input(Some("c")).unwrap_err();
        assert_eq!(
            e.message(),
            "there is no input file `c`; the input files are `a`, `b`"
        );
        assert!(
            Files::new()
                .single()
                .unwrap_err()
                .message()
                .contains("got none")
        );
    }

    #[test]
    fn insert_replaces_in_place() {
        let mut files = Files::from(vec![File::new("a", "1"), File::new("b", "2")]);
        files.insert(File::new("a", "3"));
        files.insert(File::new("c", "4"));
        assert_eq!(files.paths(), ["a", "b", "c"]);
        assert_eq!(files.get("a").unwrap().contents, b"3");
        assert_eq!(files.take("b").unwrap().contents, b"2");
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn json_errors_never_echo_values() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Db {
            port: u16,
            user: String,
        }
        let bad_syntax = File::new("s", "{\"user\": \"hunter2\" oops}");
        let e = bad_syntax.json::<Db>().unwrap_err();
        assert_eq!(
            e.message(),
            "file `s` is not valid JSON (syntax error at line 1 column 20)"
        );
        let wrong_type = File::new("s", "{\"port\": \"hunter2\", \"user\": \"x\"}");
        let e = wrong_type.json::<Db>().unwrap_err();
        assert!(!e.message().contains("hunter2"), "{e}");
        assert!(
            e.message().contains("value at `port` has the wrong type"),
            "{e}"
        );
        let missing = File::new("s", "{\"port\": 5}");
        let e = missing.json::<Db>().unwrap_err();
        assert!(e.message().contains("missing field `user`"), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    }

    #[test]
    fn text_reports_offset_not_bytes() {
        let f = File::new("bin", vec![b'o', b'k', 0xff]);
        assert_eq!(
            f.text().unwrap_err().message(),
            "file `bin` is not valid UTF-8 text (first bad byte at offset 2)"
        );
    }

    #[test]
    fn path_rules() {
        for ok in ["a", "dir/a.txt", ".env", "a..b", "tls.crt"] {
            assert_eq!(validate_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/",
            "./a",
            "..data",
            "a\\b",
            "a\nb",
        ] {
            assert!(validate_path(bad).is_err(), "{bad:?}");
        }
        assert!(validate_mode(0o777).is_ok());
        assert!(
            validate_mode(0o1000)
                .unwrap_err()
                .contains("allowed are 0 to 511")
        );
    }
}
