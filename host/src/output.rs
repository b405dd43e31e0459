//! Atomic writing of a mount into a directory, the way the driver (kubelet's AtomicWriter) does it.
//!
//! Files go into a fresh hidden directory `..<timestamp>`; the `..data` symlink is then swapped to it with one
//! `rename`, and the user-visible top-level names are symlinks through `..data`. A reader sees the old set of
//! files or the new one, never a mix, and a failed write leaves the previous content untouched. Used by the
//! `mount` and `probe` commands; in a cluster the driver writes the files the provider returns.

use crate::mount::MountedFile;
use std::collections::BTreeSet;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt, symlink};
use std::path::{Component, Path, PathBuf};

const DATA_LINK: &str = "..data";

/// Errors while writing a mount.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("refusing to write {0:?}: not a clean relative path inside the target directory")]
    BadPath(String),
    #[error("cannot write into {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A relative path with only normal components.
fn is_clean_relative(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && !p.ends_with('/')
        && !p.contains("//")
}

/// Writes `files` atomically into `target` (created if missing).
pub fn write_atomically(target: &Path, files: &[MountedFile]) -> Result<(), WriteError> {
    for f in files {
        if !is_clean_relative(&f.path) || f.path.starts_with("..") {
            return Err(WriteError::BadPath(f.path.clone()));
        }
    }
    std::fs::create_dir_all(target).map_err(io_err(target))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
    let ts_name = format!("..{stamp}");
    let ts_dir = target.join(&ts_name);
    if let Err(e) = write_payload(&ts_dir, files) {
        let _ = std::fs::remove_dir_all(&ts_dir);
        return Err(e);
    }

    // Swap ..data to the new directory in one rename.
    let old = std::fs::read_link(target.join(DATA_LINK)).ok();
    let tmp_link = target.join(format!("..data_tmp{stamp}"));
    let swap = symlink(&ts_name, &tmp_link)
        .and_then(|_| std::fs::rename(&tmp_link, target.join(DATA_LINK)));
    if let Err(source) = swap {
        let _ = std::fs::remove_file(&tmp_link);
        let _ = std::fs::remove_dir_all(&ts_dir);
        return Err(WriteError::Io {
            path: target.to_path_buf(),
            source,
        });
    }

    // User-visible names: one symlink per top-level entry, through ..data.
    let wanted: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.path.split('/').next().map(str::to_string))
        .collect();
    for name in &wanted {
        let link = target.join(name);
        if std::fs::read_link(&link).is_err() {
            if link.symlink_metadata().is_ok() {
                // A real file from an earlier, non-atomic writer: replace it.
                remove_any(&link).map_err(io_err(&link))?;
            }
            symlink(Path::new(DATA_LINK).join(name), &link).map_err(io_err(&link))?;
        }
    }
    // Drop names that are no longer part of the volume, and the previous payload.
    for entry in std::fs::read_dir(target).map_err(io_err(target))? {
        let entry = entry.map_err(io_err(target))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("..") {
            continue;
        }
        if !wanted.contains(&name) && std::fs::read_link(entry.path()).is_ok() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Some(old) = old
        && old != Path::new(&ts_name)
    {
        let _ = std::fs::remove_dir_all(target.join(old));
    }
    Ok(())
}

fn write_payload(dir: &Path, files: &[MountedFile]) -> Result<(), WriteError> {
    std::fs::create_dir(dir).map_err(io_err(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(io_err(dir))?;
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        file.write_all(f.contents.as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(io_err(&path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(f.mode & 0o777))
            .map_err(io_err(&path))?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mount::Payload;

    fn file(path: &str, body: &str, mode: u32) -> MountedFile {
        MountedFile {
            path: path.into(),
            mode,
            contents: Payload::new(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn writes_then_swaps_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path();
        write_atomically(t, &[file("a", "1", 0o644), file("sub/b", "2", 0o600)]).unwrap();
        assert_eq!(std::fs::read_to_string(t.join("a")).unwrap(), "1");
        assert_eq!(std::fs::read_to_string(t.join("sub/b")).unwrap(), "2");
        let mode = std::fs::metadata(t.join("sub/b"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);

        write_atomically(t, &[file("a", "3", 0o400)]).unwrap();
        assert_eq!(std::fs::read_to_string(t.join("a")).unwrap(), "3");
        assert!(
            !t.join("sub").exists(),
            "names no longer mounted are removed"
        );
        let dirs: Vec<_> = std::fs::read_dir(t)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("..1"))
            .collect();
        assert_eq!(dirs.len(), 1, "the previous payload directory is removed");
    }

    #[test]
    fn bad_paths_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("m");
        for bad in ["../x", "/etc/passwd", "a/../../b", "", "a//b"] {
            let err = write_atomically(&t, &[file("ok", "1", 0o644), file(bad, "2", 0o644)]);
            assert!(matches!(err, Err(WriteError::BadPath(_))), "{bad:?}");
        }
        assert!(!t.exists(), "nothing is created for a rejected mount");
    }
}
