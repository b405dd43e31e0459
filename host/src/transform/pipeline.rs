//! Plugin references, input/output checks and one synchronous step of a chain.

use std::collections::HashSet;

use super::engine::EngineHandle;
use super::error::StepErrorKind;
use super::file::File;
use super::limits::Limits;
use super::plugin::LoadedPlugin;

/// One step of a chain as declared in a SecretProviderClass object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepSpec {
    /// `name` or `name@sha256:<64 hex digits>`.
    pub plugin: String,
    /// The step's `config`, as JSON text.
    pub config_json: String,
}

/// A parsed plugin reference.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PluginRef<'a> {
    pub(crate) name: &'a str,
    /// Lowercase hex.
    pub(crate) digest: Option<String>,
}

/// Parses `name` or `name@sha256:<64 hex digits>`.
pub(crate) fn parse_ref(reference: &str) -> Result<PluginRef<'_>, StepErrorKind> {
    let bad = |why: &str| {
        StepErrorKind::BadReference(format!(
            "{why}; expected `<name>` or `<name>@sha256:<64 hex digits>`"
        ))
    };
    let (name, digest) = match reference.split_once('@') {
        None => (reference, None),
        Some((name, pin)) => {
            let hex = pin
                .strip_prefix("sha256:")
                .ok_or_else(|| bad("the pin does not start with `sha256:`"))?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("the sha256 digest is not 64 hex digits"));
            }
            (name, Some(hex.to_ascii_lowercase()))
        }
    };
    if !valid_name(name) {
        return Err(bad(
            "the name must be 1-64 characters of a-z, 0-9, `-` or `_`, starting with a letter or digit",
        ));
    }
    Ok(PluginRef { name, digest })
}

/// Plugin names: the file stem of `<name>.wasm`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Total bytes of paths and contents.
pub(crate) fn total_size(files: &[File]) -> usize {
    files.iter().map(|f| f.path.len() + f.contents.len()).sum()
}

/// Validates a step's input against the plugin's limits before any guest code runs.
pub(crate) fn check_input(files: &[File], limits: &Limits) -> Result<(), StepErrorKind> {
    let size = total_size(files);
    if size > limits.max_input_bytes {
        return Err(StepErrorKind::InputTooLarge {
            size,
            limit: limits.max_input_bytes,
        });
    }
    Ok(())
}

/// Validates what a step returned: count, size, then every path and mode (all problems listed).
pub(crate) fn check_output(files: &[File], limits: &Limits) -> Result<(), StepErrorKind> {
    if files.len() > limits.max_output_files {
        return Err(StepErrorKind::TooManyFiles {
            count: files.len(),
            limit: limits.max_output_files,
        });
    }
    let size = total_size(files);
    if size > limits.max_output_bytes {
        return Err(StepErrorKind::OutputTooLarge {
            size,
            limit: limits.max_output_bytes,
        });
    }
    let mut problems = Vec::new();
    if files.is_empty() {
        problems.push("no files returned".to_owned());
    }
    let mut seen = HashSet::new();
    for file in files {
        let shown = file.path.escape_debug();
        if let Some(why) = path_problem(&file.path) {
            problems.push(format!("path \"{shown}\" {why}"));
        } else if !seen.insert(file.path.as_str()) {
            problems.push(format!("path \"{shown}\" is returned more than once"));
        }
        if let Some(mode) = file.mode.filter(|m| *m > 0o777) {
            problems.push(format!(
                "path \"{shown}\" has mode {mode:#o}; allowed are 0o000-0o777"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StepErrorKind::BadOutput(problems))
    }
}

/// Why a path cannot be mounted, if it cannot. Paths must be relative, `/`-separated, without
/// empty, `.` or `..` components, NUL or backslashes, and at most 4096 bytes.
fn path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        Some("is empty")
    } else if path.len() > 4096 {
        Some("is longer than 4096 bytes")
    } else if path.contains('\0') {
        Some("contains a NUL byte")
    } else if path.starts_with('/') {
        Some("is absolute; paths must be relative to the mount")
    } else if path.contains('\\') {
        Some("contains a backslash")
    } else if path.split('/').any(|c| c == "..") {
        Some("contains `..`")
    } else if path.split('/').any(|c| c.is_empty() || c == ".") {
        Some("has an empty or `.` component")
    } else {
        None
    }
}

/// Runs one step synchronously (on a blocking thread) under `limits`: input check, guest call, output check.
pub(crate) fn run_step(
    engine: &EngineHandle,
    plugin: &LoadedPlugin,
    step: Option<usize>,
    config_json: &str,
    input: Vec<File>,
    limits: &Limits,
) -> Result<Vec<File>, StepErrorKind> {
    check_input(&input, limits)?;
    let output = plugin.transform(engine, step, config_json, input, limits)?;
    check_output(&output, limits)?;
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pinned_and_plain_references() {
        assert_eq!(
            parse_ref("jmespath").unwrap(),
            PluginRef {
                name: "jmespath",
                digest: None
            }
        );
        let pinned = format!("db-url@sha256:{}", "AB".repeat(32));
        assert_eq!(parse_ref(&pinned).unwrap().digest.unwrap(), "ab".repeat(32));
        for bad in ["", "Upper", "x@sha1:00", "x@sha256:abc", "../x", "-x"] {
            assert!(
                matches!(parse_ref(bad), Err(StepErrorKind::BadReference(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn output_problems_are_all_listed() {
        let files = vec![
            File::new("../etc/passwd", "x"),
            File::new("/abs", "x"),
            File::new("ok", "x"),
            File::new("ok", "y"),
            File {
                path: "m".into(),
                contents: vec![],
                mode: Some(0o4755),
            },
            File::new("nul\0", "x"),
        ];
        let Err(StepErrorKind::BadOutput(problems)) = check_output(&files, &Limits::default())
        else {
            panic!("expected bad output");
        };
        let text = problems.join("\n");
        for needle in [
            "contains `..`",
            "is absolute",
            "more than once",
            "mode 0o4755",
            "NUL",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }

    #[test]
    fn output_limits_use_count_then_size() {
        let limits = Limits {
            max_output_files: 2,
            max_output_bytes: 10,
            ..Limits::default()
        };
        let many = vec![File::new("a", ""), File::new("b", ""), File::new("c", "")];
        assert!(matches!(
            check_output(&many, &limits),
            Err(StepErrorKind::TooManyFiles { count: 3, limit: 2 })
        ));
        let big = vec![File::new("a", vec![0u8; 20])];
        assert!(matches!(
            check_output(&big, &limits),
            Err(StepErrorKind::OutputTooLarge {
                size: 21,
                limit: 10
            })
        ));
    }
}
