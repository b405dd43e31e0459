//! Plugins distributed as OCI artifacts: `oci://registry/repo:tag` or `…@sha256:<manifest digest>`.
//!
//! # Design decisions
//! - **Client**: `oci-client` 0.18 (it uses our reqwest 0.13; ~28 extra crates, mostly
//!   oci-spec's derive macros). Loopback registries and those in `--plugin-registry-insecure` are
//!   reached over plain HTTP, every other one over HTTPS only.
//! - **Artifact**: an OCI image manifest with exactly one layer of media type `application/wasm`
//!   (the CNCF wasm artifact layout; config `application/vnd.wasm.config.v0+json`), as
//!   `plugin push` writes it.
//! - **Pinning**: a tag is resolved to a manifest digest once; the digest is recorded in the store
//!   (`pins.json`) and in memory, and is what gets loaded, logged and reported. A running provider
//!   never follows a moved tag; `plugin pull` re-resolves and rewrites the pin for the next start.
//! - **Store**: manifests, layers and signatures by digest under `<plugin cache dir>/oci/`, so a
//!   restart needs no registry; every byte read back is checked against its digest. Compiled code
//!   goes through the same verified compile cache as local plugins.
//! - **Signatures**: cosign's key-based format (see [`signature`]); a configured key verifies any
//!   signature present (a bad one always fails), `require_signatures` makes one mandatory, and
//!   [`PluginSummary::oci`](super::PluginSummary) tells the namespace policy whether the loaded
//!   plugin was verified.

mod auth;
mod client;
mod error;
mod load;
mod reference;
mod signature;
mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use auth::{RegistryAuth, RegistryCredentials};
pub use error::OciError;
pub(crate) use load::shown_reference;
pub use reference::{OciReference, SCHEME};
pub use signature::{PrivateKey, PublicKey, payload as signature_payload, signature_tag};

use client::{Client, ClientSettings, OCI_MANIFEST};
use store::Store;

use crate::transform::cache::sha256_hex;

/// Layer media type of a wasm component.
pub const WASM_LAYER: &str = "application/wasm";
/// Config media type of a wasm artifact.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// Largest plugin layer accepted (interpreter-carrying components are tens of MB).
pub const MAX_LAYER_BYTES: u64 = 256 << 20;

/// How OCI plugins are pulled and verified.
#[derive(Clone, Debug)]
pub struct OciConfig {
    /// Registry credentials (dockerconfigjson).
    pub auth: RegistryAuth,
    /// Registries (`host[:port]`) reached over plain HTTP although not on loopback.
    pub insecure_registries: Vec<String>,
    /// Key that signatures are verified with.
    pub public_key: Option<PublicKey>,
    /// Refuse plugins without a valid signature by `public_key`.
    pub require_signatures: bool,
    /// Attempts per registry call (network errors, 5xx, 429 are retried).
    pub attempts: u32,
    /// Backoff before the first retry (doubled each time).
    pub backoff: Duration,
    /// Connect/read timeout of one registry request.
    pub request_timeout: Duration,
    /// Where pulled artifacts are stored; `None`: `<cache_dir>/oci`, or a private temporary
    /// directory without a cache dir.
    pub store_dir: Option<std::path::PathBuf>,
}

impl Default for OciConfig {
    fn default() -> Self {
        Self {
            auth: RegistryAuth::default(),
            insecure_registries: Vec::new(),
            public_key: None,
            require_signatures: false,
            attempts: 3,
            backoff: Duration::from_millis(200),
            request_timeout: Duration::from_secs(10),
            store_dir: None,
        }
    }
}

/// Where an OCI plugin came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciOrigin {
    /// `oci://registry/repo`, also the plugin's name.
    pub repository: String,
    /// The tag the reference named, if any.
    pub tag: Option<String>,
    /// The manifest digest loaded (lowercase hex), whatever the reference said.
    pub manifest_digest: String,
    /// Whether a signature by the configured key was verified.
    pub signature_verified: bool,
}

/// A pulled, checked artifact.
pub(crate) struct Artifact {
    pub(crate) origin: OciOrigin,
    pub(crate) wasm: Vec<u8>,
    pub(crate) wasm_path: std::path::PathBuf,
    /// `oci://registry/repo[:tag]@sha256:<digest>`, for messages.
    pub(crate) shown: String,
}

/// Pulls and remembers OCI plugins for one runtime.
pub(crate) struct OciPlugins {
    client: Client,
    store: Store,
    public_key: Option<PublicKey>,
    require_signatures: bool,
    /// Tags resolved by this process.
    tags: Mutex<HashMap<String, String>>,
    /// One pull at a time per reference (concurrent mounts of the same plugin share it).
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(serde::Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(serde::Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

impl OciPlugins {
    pub(crate) fn new(
        cfg: &OciConfig,
        cache_dir: Option<&std::path::Path>,
    ) -> Result<Self, OciError> {
        if cfg.require_signatures && cfg.public_key.is_none() {
            return Err(OciError::Config(
                "--plugin-require-signatures needs --plugin-signature-public-key".into(),
            ));
        }
        Ok(Self {
            client: Client::new(ClientSettings {
                auth: cfg.auth.clone(),
                insecure: cfg.insecure_registries.clone(),
                attempts: cfg.attempts,
                backoff: cfg.backoff,
                timeout: cfg.request_timeout,
            }),
            store: Store::open(
                cfg.store_dir
                    .clone()
                    .or_else(|| cache_dir.map(|d| d.join("oci")))
                    .as_deref(),
            )?,
            public_key: cfg.public_key.clone(),
            require_signatures: cfg.require_signatures,
            tags: Mutex::default(),
            locks: Mutex::default(),
        })
    }

    /// The per-reference pull lock.
    pub(crate) fn lock_for(&self, reference: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reference.to_owned())
            .or_default()
            .clone()
    }

    /// The manifest digest `r` names: its own, the tag's pin, or the registry's answer (then pinned).
    pub(crate) async fn digest_of(&self, r: &OciReference) -> Result<String, OciError> {
        if let Some(d) = &r.digest {
            return Ok(d.clone());
        }
        let key = r.client_ref();
        if let Some(d) = self
            .tags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(d.clone());
        }
        let digest = match self.store.pin(&key) {
            Some(d) => d,
            None => {
                let (d, manifest) = self.client.resolve(r).await?;
                self.store.put(&d, &manifest)?;
                self.store.set_pin(&key, &d)?;
                tracing::info!(reference = %r, digest = %format!("sha256:{d}"), "OCI plugin tag resolved and pinned");
                d
            }
        };
        self.tags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, digest.clone());
        Ok(digest)
    }

    /// Re-resolves a tag at the registry and rewrites its pin (`plugin pull`).
    pub(crate) async fn repin(&self, r: &OciReference) -> Result<String, OciError> {
        let (d, manifest) = self.client.resolve(r).await?;
        self.store.put(&d, &manifest)?;
        self.store.set_pin(&r.client_ref(), &d)?;
        Ok(d)
    }

    /// Manifest, layer and signature of `r` at `digest`, from the store or the registry.
    pub(crate) async fn fetch(&self, r: &OciReference, digest: &str) -> Result<Artifact, OciError> {
        let at = OciReference {
            tag: r.tag.clone(),
            ..r.at_digest(digest)
        };
        let shown = at.to_string();
        let pinned = r.at_digest(digest);
        let manifest = match self.store.get(digest) {
            Some(m) => m,
            None => {
                let m = self
                    .client
                    .manifest_bytes(&pinned)
                    .await
                    .map_err(|e| rename(e, &shown))?;
                self.store.put(digest, &m)?;
                m
            }
        };
        let layer = wasm_layer(&manifest).map_err(|reason| OciError::BadArtifact {
            reference: shown.clone(),
            reason,
        })?;
        let wasm = match self.store.get(&layer) {
            Some(w) => w,
            None => {
                let w = self
                    .client
                    .blob(&pinned, &layer)
                    .await
                    .map_err(|e| rename(e, &shown))?;
                self.store.put(&layer, &w)?;
                w
            }
        };
        let signature_verified = self.check_signature(&pinned, &shown, digest).await?;
        Ok(Artifact {
            origin: OciOrigin {
                repository: r.name(),
                tag: r.tag.clone(),
                manifest_digest: digest.to_owned(),
                signature_verified,
            },
            wasm_path: self.store.blob_path(&layer),
            wasm,
            shown,
        })
    }

    /// `Ok(true)` when a signature by the key verifies; `Ok(false)` when none is configured or
    /// the artifact is unsigned and signatures are optional; an error for a bad signature or a
    /// missing required one.
    async fn check_signature(
        &self,
        pinned: &OciReference,
        shown: &str,
        digest: &str,
    ) -> Result<bool, OciError> {
        let Some(key) = &self.public_key else {
            return Ok(false);
        };
        let fail = |reason: String| OciError::Signature {
            reference: shown.to_owned(),
            reason,
        };
        let tag = signature_tag(digest);
        let sig_manifest = match self.stored_signature(&pinned.name(), digest) {
            Some(m) => m,
            None => {
                let sig_ref = OciReference {
                    tag: Some(tag.clone()),
                    digest: None,
                    ..pinned.clone()
                };
                match self.client.manifest_bytes(&sig_ref).await {
                    Ok(m) => m,
                    Err(OciError::NotFound { .. }) if !self.require_signatures => {
                        tracing::info!(reference = %shown, "OCI plugin is not signed (signatures are optional)");
                        return Ok(false);
                    }
                    Err(OciError::NotFound { .. }) => {
                        return Err(fail(format!(
                            "signatures are required and there is none: expected a cosign signature at tag {tag} \
                             signed by the key of --plugin-signature-public-key"
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let parsed: Manifest = serde_json::from_slice(&sig_manifest).map_err(|e| {
            fail(format!(
                "the signature manifest at tag {tag} is not JSON: {e}"
            ))
        })?;
        let mut problems = Vec::new();
        for layer in parsed
            .layers
            .iter()
            .filter(|l| l.media_type == signature::SIMPLESIGNING_MEDIA_TYPE)
        {
            let Some(sig) = layer.annotations.get(signature::SIGNATURE_ANNOTATION) else {
                problems.push(format!(
                    "a layer has no {} annotation",
                    signature::SIGNATURE_ANNOTATION
                ));
                continue;
            };
            let Some(payload_digest) = hex_digest(&layer.digest) else {
                problems.push(format!("a layer digest {:?} is not sha256", layer.digest));
                continue;
            };
            let payload = match self.store.get(&payload_digest) {
                Some(p) => p,
                None => self.client.blob(pinned, &payload_digest).await?,
            };
            match signature::verify(key, &payload, sig, digest) {
                Ok(()) => {
                    let sig_digest = sha256_hex(&sig_manifest);
                    self.store.put(&payload_digest, &payload)?;
                    self.store.put(&sig_digest, &sig_manifest)?;
                    self.store
                        .set_signature_of(&pinned.name(), digest, &sig_digest)?;
                    return Ok(true);
                }
                Err(why) => problems.push(why),
            }
        }
        if problems.is_empty() {
            problems.push(format!(
                "the manifest at tag {tag} has no layer of media type {}",
                signature::SIMPLESIGNING_MEDIA_TYPE
            ));
        }
        Err(fail(problems.join("; ")))
    }

    fn stored_signature(&self, repository: &str, digest: &str) -> Option<Vec<u8>> {
        self.store
            .signature_of(repository, digest)
            .and_then(|d| self.store.get(&d))
    }

    /// Pushes a component as a one-layer wasm artifact; returns the manifest digest.
    pub(crate) async fn push(&self, r: &OciReference, wasm: &[u8]) -> Result<String, OciError> {
        let layer_digest = sha256_hex(wasm);
        let config = serde_json::json!({
            "architecture": "wasm",
            "os": "wasip2",
            "layerDigests": [format!("sha256:{layer_digest}")],
        })
        .to_string()
        .into_bytes();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": WASM_CONFIG, "digest": format!("sha256:{}", sha256_hex(&config)), "size": config.len()},
            "layers": [{"mediaType": WASM_LAYER, "digest": format!("sha256:{layer_digest}"), "size": wasm.len()}],
        })
        .to_string()
        .into_bytes();
        self.client.push(r, &[&config, wasm], &manifest).await
    }

    /// Pushes a cosign-style signature of manifest `digest` signed with `key`.
    pub(crate) async fn push_signature(
        &self,
        r: &OciReference,
        digest: &str,
        key: &PrivateKey,
    ) -> Result<String, OciError> {
        let payload = signature_payload(&format!("{}/{}", r.registry, r.repository), digest);
        let sig = key.sign(&payload);
        let config = b"{}".to_vec();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{}", sha256_hex(&config)), "size": config.len()},
            "layers": [{
                "mediaType": signature::SIMPLESIGNING_MEDIA_TYPE,
                "digest": format!("sha256:{}", sha256_hex(&payload)),
                "size": payload.len(),
                "annotations": {signature::SIGNATURE_ANNOTATION: sig},
            }],
        })
        .to_string()
        .into_bytes();
        let sig_ref = OciReference {
            tag: Some(signature_tag(digest)),
            digest: None,
            ..r.clone()
        };
        self.client
            .push(&sig_ref, &[&config, &payload], &manifest)
            .await
    }
}

/// The single wasm layer's digest (hex) of a plugin manifest.
fn wasm_layer(manifest: &[u8]) -> Result<String, String> {
    let m: Manifest = serde_json::from_slice(manifest)
        .map_err(|e| format!("the manifest is not an OCI image manifest: {e}"))?;
    let wasm: Vec<&Descriptor> = m
        .layers
        .iter()
        .filter(|l| {
            l.media_type == WASM_LAYER
                || l.media_type == "application/vnd.wasm.content.layer.v1+wasm"
        })
        .collect();
    let [layer] = wasm.as_slice() else {
        let types: Vec<&str> = m.layers.iter().map(|l| l.media_type.as_str()).collect();
        return Err(format!(
            "expected exactly one layer of media type {WASM_LAYER}, found layers [{}] (push plugins with `plugin push`)",
            types.join(", ")
        ));
    };
    if layer.size > MAX_LAYER_BYTES {
        return Err(format!(
            "the wasm layer is {} bytes; at most {MAX_LAYER_BYTES} are accepted",
            layer.size
        ));
    }
    hex_digest(&layer.digest).ok_or_else(|| {
        format!(
            "the wasm layer digest {:?} is not sha256:<64 hex>",
            layer.digest
        )
    })
}

fn hex_digest(d: &str) -> Option<String> {
    let hex = d.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Errors from a call made with the pinned reference name the reference as the user wrote it plus the digest.
fn rename(e: OciError, shown: &str) -> OciError {
    match e {
        OciError::Pull {
            attempts, reason, ..
        } => OciError::Pull {
            reference: shown.to_owned(),
            attempts,
            reason,
        },
        OciError::Unauthorized { reason, .. } => OciError::Unauthorized {
            reference: shown.to_owned(),
            reason,
        },
        OciError::NotFound { .. } => OciError::NotFound {
            reference: shown.to_owned(),
        },
        other => other,
    }
}
