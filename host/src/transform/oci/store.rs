//! The local store of pulled artifacts, content-addressed: `blobs/sha256/<hex>` holds manifests,
//! wasm layers and signature payloads by digest; `pins.json` maps `registry/repo:tag` to the
//! manifest digest it was resolved to (so a tag stays pinned across restarts); `signatures/<hex>`
//! names the stored signature manifest of a plugin manifest.
//!
//! Every read re-checks the sha256 of the bytes against the name: a changed file is deleted and
//! pulled again, never used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::error::OciError;
use crate::transform::cache::sha256_hex;

pub(crate) struct Store {
    root: PathBuf,
    pins: Mutex<()>,
    _temp: Option<tempfile::TempDir>,
}

impl Store {
    /// A store in `dir`, or in a private temporary directory when `dir` is `None`.
    pub(crate) fn open(dir: Option<&Path>) -> Result<Self, OciError> {
        let (root, temp) = match dir {
            Some(d) => (d.to_owned(), None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("csi-provider-oci-")
                    .tempdir()
                    .map_err(|e| store_err(&std::env::temp_dir(), e))?;
                (t.path().to_owned(), Some(t))
            }
        };
        for sub in ["blobs/sha256", "signatures"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| store_err(&p, e))?;
        }
        Ok(Self {
            root,
            pins: Mutex::new(()),
            _temp: temp,
        })
    }

    pub(crate) fn blob_path(&self, digest: &str) -> PathBuf {
        self.root.join("blobs/sha256").join(digest)
    }

    /// The stored bytes of `digest`, if present and intact (a corrupt file is deleted).
    pub(crate) fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).ok()?;
        if sha256_hex(&bytes) == digest {
            return Some(bytes);
        }
        tracing::warn!(blob = %path.display(), "stored OCI blob does not match its digest; deleting it and pulling again");
        let _ = std::fs::remove_file(&path);
        None
    }

    /// Stores bytes the caller has already checked against `digest`.
    pub(crate) fn put(&self, digest: &str, bytes: &[u8]) -> Result<(), OciError> {
        write_atomically(&self.blob_path(digest), bytes)
    }

    /// The manifest digest `key` (`registry/repo:tag`) was pinned to.
    pub(crate) fn pin(&self, key: &str) -> Option<String> {
        let _g = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        self.read_pins().remove(key)
    }

    /// Records (or replaces) the pin of `key`.
    pub(crate) fn set_pin(&self, key: &str, digest: &str) -> Result<(), OciError> {
        let _g = self.pins.lock().unwrap_or_else(|p| p.into_inner());
        let mut pins = self.read_pins();
        pins.insert(key.to_owned(), digest.to_owned());
        let text = serde_json::to_string_pretty(&pins).unwrap_or_default();
        write_atomically(&self.root.join("pins.json"), text.as_bytes())
    }

    fn read_pins(&self) -> BTreeMap<String, String> {
        std::fs::read(self.root.join("pins.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Signatures belong to a repository (the same bytes elsewhere are signed, or not, there).
    fn signature_file(&self, repository: &str, digest: &str) -> PathBuf {
        let repo = &sha256_hex(repository.as_bytes())[..16];
        self.root
            .join("signatures")
            .join(format!("{repo}-{digest}"))
    }

    /// The stored signature manifest digest of plugin manifest `digest` in `repository`.
    pub(crate) fn signature_of(&self, repository: &str, digest: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.signature_file(repository, digest)).ok()?;
        let d = text.trim();
        (d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit())).then(|| d.to_owned())
    }

    pub(crate) fn set_signature_of(
        &self,
        repository: &str,
        digest: &str,
        sig_manifest: &str,
    ) -> Result<(), OciError> {
        write_atomically(
            &self.signature_file(repository, digest),
            sig_manifest.as_bytes(),
        )
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OciError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            store_err(path, e)
        })
}

fn store_err(path: &Path, e: std::io::Error) -> OciError {
    OciError::Store {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_blob_is_dropped_and_pins_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(Some(dir.path())).unwrap();
        let d = sha256_hex(b"wasm");
        store.put(&d, b"wasm").unwrap();
        assert_eq!(store.get(&d).as_deref(), Some(&b"wasm"[..]));
        std::fs::write(store.blob_path(&d), b"evil").unwrap();
        assert_eq!(store.get(&d), None);
        assert!(!store.blob_path(&d).exists());
        store.set_pin("r/p:v1", &d).unwrap();
        let reopened = Store::open(Some(dir.path())).unwrap();
        assert_eq!(reopened.pin("r/p:v1"), Some(d));
    }
}
