//! Output file names. The driver writes every returned file under the pod's volume and rejects the whole mount on
//! a bad path (`fileutil.Validate`), so we check names up front with the same rules and name the culprit, and we
//! refuse two outputs that would land on the same file or on a file and a directory of the same name.

use std::collections::BTreeMap;
use std::fmt;

/// Longest single path segment the driver accepts, in bytes.
pub const MAX_SEGMENT_BYTES: usize = 255;
/// Longest whole path the driver accepts, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;

/// Checks one output path the way the driver's writer does, and a little stricter: non-empty, relative, clean
/// (no `.`/`..` or empty segment, no trailing `/`), no leading `..` (the writer's own `..data` lives there), no
/// control character, each segment at most 255 bytes and the whole at most 4096 bytes.
///
/// Returns what is wrong and what is allowed, without quoting the name (the caller names it).
pub fn validate_output_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("is empty; a file name is required".into());
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(format!(
            "is {} bytes long; at most {MAX_PATH_BYTES} bytes are allowed",
            path.len()
        ));
    }
    if path.chars().any(char::is_control) {
        return Err(
            "contains a control character (e.g. NUL or newline), which file names may not hold"
                .into(),
        );
    }
    if path.starts_with('/') {
        return Err("is absolute; it must be relative to the volume, e.g. \"db/password\"".into());
    }
    if path.starts_with("..") {
        return Err("starts with \"..\", which would escape the volume or clash with the driver's \"..data\"".into());
    }
    if path.ends_with('/') {
        return Err("ends with \"/\"; name a file, not a directory".into());
    }
    for segment in path.split('/') {
        match segment {
            "" => {
                return Err(
                    "contains an empty segment (\"//\"); use single \"/\" between directories"
                        .into(),
                );
            }
            "." => return Err("contains a \".\" segment; write the path without \"./\"".into()),
            ".." => return Err("contains a \"..\" segment, which would escape the volume".into()),
            s if s.len() > MAX_SEGMENT_BYTES => {
                return Err(format!(
                    "has a segment of {} bytes; each file or directory name may have at most {MAX_SEGMENT_BYTES} bytes",
                    s.len()
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// How `/` in object names becomes part of a file name (`pathTranslation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathTranslation {
    /// Replace every `/` with this character (default `_`).
    Replace(char),
    /// Keep `/`: a leading `/` is trimmed and inner ones create sub-directories.
    Off,
}

impl Default for PathTranslation {
    fn default() -> Self {
        Self::Replace('_')
    }
}

impl PathTranslation {
    /// The file name for an object name or alias.
    pub fn apply(self, name: &str) -> String {
        match self {
            Self::Replace(c) => name.replace('/', c.encode_utf8(&mut [0; 4])),
            Self::Off => name.trim_start_matches('/').to_string(),
        }
    }
}

/// Two outputs that cannot both be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    /// Who produces the earlier path (e.g. `objects[0] (kms "foo")`).
    pub first_owner: String,
    /// The earlier path.
    pub first_path: String,
    /// Who produces the later path.
    pub second_owner: String,
    /// The later path.
    pub second_path: String,
}

impl fmt::Display for Collision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first_path == self.second_path {
            write!(
                f,
                "{} and {} both write file {}",
                self.first_owner,
                self.second_owner,
                super::error::quote(&self.first_path)
            )
        } else {
            let (file_owner, file, dir_owner, dir_file) =
                if self.second_path.len() > self.first_path.len() {
                    (
                        &self.first_owner,
                        &self.first_path,
                        &self.second_owner,
                        &self.second_path,
                    )
                } else {
                    (
                        &self.second_owner,
                        &self.second_path,
                        &self.first_owner,
                        &self.first_path,
                    )
                };
            write!(
                f,
                "{} writes file {} but {} needs it as a directory for {}",
                file_owner,
                super::error::quote(file),
                dir_owner,
                super::error::quote(dir_file)
            )
        }
    }
}

/// Finds every pair of outputs that would write the same file, or where one file is a directory prefix of
/// another (`a` and `a/b`). Entries are `(owner, path)` in output order; each later entry is reported against the
/// first entry it clashes with. Run it on the final file list too, because transforms pick names at run time.
pub fn find_collisions<'a, I>(entries: I) -> Vec<Collision>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let entries: Vec<(&str, &str)> = entries.into_iter().collect();
    // path -> index of the first entry writing it
    let mut files: BTreeMap<&str, usize> = BTreeMap::new();
    // directory prefix -> index of the first entry needing it
    let mut dirs: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, &(owner, path)) in entries.iter().enumerate() {
        let clash = files
            .get(path)
            .or_else(|| dirs.get(path))
            .copied()
            .or_else(|| prefixes(path).find_map(|p| files.get(p).copied()));
        if let Some(j) = clash {
            let (first_owner, first_path) = entries[j];
            out.push(Collision {
                first_owner: first_owner.to_string(),
                first_path: first_path.to_string(),
                second_owner: owner.to_string(),
                second_path: path.to_string(),
            });
            continue;
        }
        files.insert(path, i);
        for p in prefixes(path) {
            dirs.entry(p).or_insert(i);
        }
    }
    out
}

/// `a/b/c` -> `a`, `a/b`.
fn prefixes(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Component, Path};

    #[test]
    fn accepts_plain_and_nested_names() {
        for ok in ["a", "db-pass", "a/b/c", ".hidden", "a..b", "x/.y", "a b"] {
            assert_eq!(validate_output_path(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_unclean_or_escaping_names() {
        let seg = "x".repeat(256);
        let long = format!("{}/", "abc/".repeat(1100));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a/..",
            "..data",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            "a\0b",
            "a\nb",
            seg.as_str(),
            long.as_str(),
        ] {
            assert!(
                validate_output_path(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn translation_replaces_or_trims() {
        assert_eq!(
            PathTranslation::default().apply("My/Path/Secret"),
            "My_Path_Secret"
        );
        assert_eq!(PathTranslation::Replace('-').apply("a/b"), "a-b");
        assert_eq!(PathTranslation::Off.apply("/a/b"), "a/b");
        assert_eq!(PathTranslation::Off.apply("a/b"), "a/b");
    }

    #[test]
    fn collisions_same_file_and_directory_prefix() {
        let found = find_collisions([
            ("A", "x"),
            ("B", "y/z"),
            ("C", "x"),
            ("D", "y"),
            ("E", "x/q"),
            ("F", "w"),
        ]);
        let pairs: Vec<(&str, &str)> = found
            .iter()
            .map(|c| (c.first_owner.as_str(), c.second_owner.as_str()))
            .collect();
        assert_eq!(pairs, [("A", "C"), ("B", "D"), ("A", "E")]);
        assert_eq!(found[0].to_string(), "A and C both write file \"x\"");
        assert_eq!(
            found[1].to_string(),
            "D writes file \"y\" but B needs it as a directory for \"y/z\""
        );
    }

    #[test]
    fn no_collision_between_siblings() {
        assert!(find_collisions([("A", "a/b"), ("B", "a/c"), ("C", "ab")]).is_empty());
    }

    proptest! {
        /// Anything accepted stays inside the target directory once joined to it.
        #[test]
        fn accepted_paths_stay_inside(path in "[a-z./\\x00\n]{0,12}") {
            if validate_output_path(&path).is_ok() {
                let joined = Path::new("/target").join(&path);
                prop_assert!(joined.starts_with("/target"));
                prop_assert!(Path::new(&path).components().all(|c| matches!(c, Component::Normal(_))));
                prop_assert_eq!(Path::new(&path).components().count(), path.split('/').count());
            }
        }

        #[test]
        fn accepted_arbitrary_paths_are_normal(path in any::<String>()) {
            if validate_output_path(&path).is_ok() {
                prop_assert!(Path::new(&path).components().all(|c| matches!(c, Component::Normal(_))));
                prop_assert!(Path::new("/target").join(&path).starts_with("/target"));
            }
        }
    }
}
