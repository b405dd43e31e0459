//! The provider's unix socket: `<providers-dir>/alibabacloud.sock`.
//!
//! The driver discovers providers by socket file name, so the name must equal the SecretProviderClass
//! `spec.provider` value. A socket left behind by a crashed provider is removed; a socket that still answers
//! belongs to a live provider and is never stolen.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tokio::net::UnixListener;

/// `spec.provider` of the SecretProviderClasses this provider serves.
pub const PROVIDER_NAME: &str = "alibabacloud";

/// Errors while claiming the socket.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error(
        "another provider is serving on {0}; refusing to start (stop it first, or use another --providers-dir)"
    )]
    InUse(PathBuf),
    #[error("providers directory {dir} does not exist or is not a directory")]
    NoDir { dir: PathBuf },
    #[error("cannot remove stale socket {path}: {source}")]
    RemoveStale {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot listen on {path}: {source}")]
    Bind {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The socket path inside a providers directory.
pub fn socket_path(providers_dir: &Path) -> PathBuf {
    providers_dir.join(format!("{PROVIDER_NAME}.sock"))
}

/// Binds the socket, removing a stale one first. The socket is made accessible to its owner only (the driver
/// runs as root): the interface is secured by filesystem permissions alone.
pub async fn bind(providers_dir: &Path) -> Result<(UnixListener, PathBuf), SocketError> {
    if !providers_dir.is_dir() {
        return Err(SocketError::NoDir {
            dir: providers_dir.to_path_buf(),
        });
    }
    let path = socket_path(providers_dir);
    if path.exists() || path.symlink_metadata().is_ok() {
        if tokio::net::UnixStream::connect(&path).await.is_ok() {
            return Err(SocketError::InUse(path));
        }
        std::fs::remove_file(&path).map_err(|source| SocketError::RemoveStale {
            path: path.clone(),
            source,
        })?;
        tracing::info!(socket = %path.display(), "removed stale socket");
    }
    let listener = UnixListener::bind(&path).map_err(|source| SocketError::Bind {
        path: path.clone(),
        source,
    })?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        SocketError::Bind {
            path: path.clone(),
            source,
        }
    })?;
    Ok((listener, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stale_socket_is_replaced_and_live_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // A stale socket: bound once, listener dropped, file left behind.
        {
            let _l = std::os::unix::net::UnixListener::bind(socket_path(dir.path())).unwrap();
        }
        assert!(socket_path(dir.path()).exists());
        let (live, path) = bind(dir.path()).await.expect("stale socket is replaced");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // While `live` listens, a second provider must not steal the socket.
        let err = bind(dir.path()).await.unwrap_err();
        assert!(matches!(err, SocketError::InUse(_)), "{err}");
        drop(live);
    }

    #[tokio::test]
    async fn missing_directory_is_a_clear_error() {
        let err = bind(Path::new("/nonexistent/providers")).await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/providers"), "{err}");
    }
}
