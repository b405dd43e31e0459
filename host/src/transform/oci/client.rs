//! The distribution-API calls, on `oci-client` (whose reqwest is ours): manifests and blobs by
//! digest (every byte checked against its digest), tag resolution, pushes; bounded retries of
//! network errors, 5xx and 429; auth from [`RegistryAuth`] (basic, or bearer tokens obtained with
//! the basic credentials from the registry's `WWW-Authenticate` realm).

use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth as ClientAuth;
use oci_client::{Reference, RegistryOperation};

use super::auth::RegistryAuth;
use super::error::OciError;
use super::reference::OciReference;
use crate::transform::cache::sha256_hex;

/// Manifest media types accepted when pulling.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// Media type of the manifests this tool writes.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// How the distribution client behaves.
#[derive(Clone, Debug)]
pub(crate) struct ClientSettings {
    pub(crate) auth: RegistryAuth,
    /// Registries (`host[:port]`) reached over plain HTTP besides loopback ones.
    pub(crate) insecure: Vec<String>,
    /// Attempts per call (at least 1).
    pub(crate) attempts: u32,
    /// First backoff; doubled per retry.
    pub(crate) backoff: Duration,
    /// Connect and read timeout of one HTTP request.
    pub(crate) timeout: Duration,
}

pub(crate) struct Client {
    https: oci_client::Client,
    http: oci_client::Client,
    settings: ClientSettings,
}

enum Failure {
    Retry(String),
    Fatal(OciError),
}

impl Client {
    pub(crate) fn new(settings: ClientSettings) -> Self {
        let make = |protocol| {
            oci_client::Client::new(ClientConfig {
                protocol,
                connect_timeout: Some(settings.timeout),
                read_timeout: Some(settings.timeout),
                user_agent: "csi-provider-alibabacloud",
                ..ClientConfig::default()
            })
        };
        Self {
            https: make(ClientProtocol::Https),
            http: make(ClientProtocol::Http),
            settings,
        }
    }

    fn pick(&self, r: &OciReference) -> &oci_client::Client {
        if r.is_loopback() || self.settings.insecure.contains(&r.registry) {
            &self.http
        } else {
            &self.https
        }
    }

    fn auth_for(&self, r: &OciReference) -> ClientAuth {
        match self.settings.auth.get(&r.registry) {
            Some(c) => ClientAuth::Basic(c.username.clone(), c.password().to_owned()),
            None => ClientAuth::Anonymous,
        }
    }

    fn client_ref(r: &OciReference) -> Result<Reference, OciError> {
        r.client_ref()
            .parse()
            .map_err(|e| OciError::Reference(format!("{r}: {e}")))
    }

    /// Runs `op` up to `attempts` times while it fails with a retryable error.
    async fn retrying<T, F, Fut>(&self, shown: &str, mut op: F) -> Result<T, OciError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure>>,
    {
        let attempts = self.settings.attempts.max(1);
        let mut delay = self.settings.backoff;
        let mut last = String::new();
        for attempt in 1..=attempts {
            match op().await {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Retry(why)) => {
                    tracing::debug!(reference = shown, attempt, error = %why, "registry call failed; retrying");
                    last = why;
                    if attempt < attempts {
                        tokio::time::sleep(delay).await;
                        delay = delay.saturating_mul(2);
                    }
                }
            }
        }
        Err(OciError::Pull {
            reference: shown.to_owned(),
            attempts,
            reason: last,
        })
    }

    /// Resolves `r` (a tag) to its manifest digest; returns the digest and the manifest bytes.
    pub(crate) async fn resolve(&self, r: &OciReference) -> Result<(String, Vec<u8>), OciError> {
        let bytes = self.manifest_bytes(r).await?;
        Ok((sha256_hex(&bytes), bytes))
    }

    /// The manifest `r` names; with a digest, the bytes are checked against it.
    pub(crate) async fn manifest_bytes(&self, r: &OciReference) -> Result<Vec<u8>, OciError> {
        let reference = Self::client_ref(r)?;
        let (client, auth, shown) = (self.pick(r), self.auth_for(r), r.to_string());
        let bytes = self
            .retrying(&shown, || async {
                client
                    .pull_manifest_raw(&reference, &auth, MANIFEST_TYPES)
                    .await
                    .map(|(b, _)| b.to_vec())
                    .map_err(|e| classify(&shown, e))
            })
            .await?;
        if let Some(d) = &r.digest
            && sha256_hex(&bytes) != *d
        {
            return Err(OciError::BadArtifact {
                reference: shown,
                reason: format!(
                    "the registry returned a manifest whose sha256 is {}, not the requested digest",
                    sha256_hex(&bytes)
                ),
            });
        }
        Ok(bytes)
    }

    /// Blob `digest` (hex) of `r`'s repository, checked against the digest.
    pub(crate) async fn blob(&self, r: &OciReference, digest: &str) -> Result<Vec<u8>, OciError> {
        let reference = Self::client_ref(r)?;
        let (client, auth, shown) = (self.pick(r), self.auth_for(r), r.to_string());
        let full = format!("sha256:{digest}");
        let bytes = self
            .retrying(&shown, || async {
                // Pulling a blob uses the auth stored by a manifest pull; store it for blob-only calls.
                client
                    .store_auth_if_needed(reference.resolve_registry(), &auth)
                    .await;
                // Bounded while it streams: the manifest's declared size is checked before, but a hostile
                // registry could send more than it declared.
                let mut out = Bounded {
                    buf: Vec::new(),
                    limit: super::MAX_LAYER_BYTES as usize,
                };
                client
                    .pull_blob(&reference, full.as_str(), &mut out)
                    .await
                    .map(|()| out.buf)
                    .map_err(|e| classify(&shown, e))
            })
            .await?;
        if sha256_hex(&bytes) != digest {
            return Err(OciError::BadArtifact {
                reference: shown,
                reason: format!("blob sha256:{digest} arrived with different bytes"),
            });
        }
        Ok(bytes)
    }

    /// Pushes blobs then `manifest` under `r` (tag or digest). Returns the manifest digest.
    pub(crate) async fn push(
        &self,
        r: &OciReference,
        blobs: &[&[u8]],
        manifest: &[u8],
    ) -> Result<String, OciError> {
        let reference = Self::client_ref(r)?;
        let (client, auth) = (self.pick(r), self.auth_for(r));
        let push_err = |e: OciDistributionError| OciError::Push {
            reference: r.to_string(),
            reason: e.to_string(),
        };
        client
            .auth(&reference, &auth, RegistryOperation::Push)
            .await
            .map_err(push_err)?;
        for blob in blobs {
            let digest = format!("sha256:{}", sha256_hex(blob));
            client
                .push_blob(&reference, blob.to_vec(), &digest)
                .await
                .map_err(push_err)?;
        }
        client
            .push_manifest_raw(
                &reference,
                manifest.to_vec(),
                http::HeaderValue::from_static(OCI_MANIFEST),
            )
            .await
            .map_err(push_err)?;
        Ok(sha256_hex(manifest))
    }
}

/// Retry network errors, 5xx and 429; everything else is final.
fn classify(shown: &str, e: OciDistributionError) -> Failure {
    use OciDistributionError as E;
    // reqwest's message hides the cause ("error sending request"); name it (refused, timed out, TLS...).
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text = format!("{text}: {c}");
        }
        source = cause.source();
    }
    match e {
        E::RequestError(_) | E::IoError(_) => Failure::Retry(text),
        E::ServerError { code, .. } if code >= 500 || code == 429 => Failure::Retry(text),
        E::UnauthorizedError { .. } | E::AuthenticationFailure(_) => {
            Failure::Fatal(OciError::Unauthorized {
                reference: shown.to_owned(),
                reason: text,
            })
        }
        E::RegistryError { ref envelope, .. }
            if envelope.errors.iter().any(|c| {
                matches!(
                    c.code,
                    oci_client::errors::OciErrorCode::Unauthorized
                        | oci_client::errors::OciErrorCode::Denied
                )
            }) =>
        {
            Failure::Fatal(OciError::Unauthorized {
                reference: shown.to_owned(),
                reason: text,
            })
        }
        E::ImageManifestNotFoundError(_) | E::ServerError { code: 404, .. } => {
            Failure::Fatal(OciError::NotFound {
                reference: shown.to_owned(),
            })
        }
        E::RegistryError { ref envelope, .. }
            if envelope.errors.iter().any(|c| {
                matches!(
                    c.code,
                    oci_client::errors::OciErrorCode::ManifestUnknown
                        | oci_client::errors::OciErrorCode::BlobUnknown
                        | oci_client::errors::OciErrorCode::NameUnknown
                        | oci_client::errors::OciErrorCode::NotFound
                )
            }) =>
        {
            Failure::Fatal(OciError::NotFound {
                reference: shown.to_owned(),
            })
        }
        E::RegistryError { ref envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|c| c.code == oci_client::errors::OciErrorCode::Toomanyrequests) =>
        {
            Failure::Retry(text)
        }
        _ => Failure::Fatal(OciError::Pull {
            reference: shown.to_owned(),
            attempts: 1,
            reason: text,
        }),
    }
}

/// A `Vec` sink that refuses bytes past `limit`, so a registry cannot make a pull exhaust memory.
struct Bounded {
    buf: Vec<u8>,
    limit: usize,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.buf.len() + data.len() > self.limit {
            let limit = self.limit;
            return std::task::Poll::Ready(Err(std::io::Error::other(format!(
                "the blob is larger than the {limit} bytes accepted"
            ))));
        }
        self.buf.extend_from_slice(data);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod bounded_tests {
    use super::Bounded;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_sink_refuses_bytes_past_its_limit() {
        let mut b = Bounded {
            buf: Vec::new(),
            limit: 8,
        };
        b.write_all(b"12345").await.unwrap();
        let err = b.write_all(b"6789").await.unwrap_err();
        assert!(err.to_string().contains("larger than the 8 bytes"), "{err}");
        assert_eq!(b.buf, b"12345");
    }
}
