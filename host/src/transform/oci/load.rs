//! Resolving a step's plugin reference: `oci://` ones are pulled (once per digest), verified and
//! loaded through the same compile cache and checks as local plugins; the rest go to the
//! plugin directories.

use std::sync::Arc;

use super::{OciReference, SCHEME};
use crate::transform::TransformRuntime;
use crate::transform::error::{StepError, StepErrorKind, TransformError};
use crate::transform::plugin::{LoadedPlugin, PluginSummary, Source};

impl TransformRuntime {
    /// The plugin a step reference names, pulling an `oci://` one if this runtime has not yet.
    pub(in crate::transform) async fn resolve(
        &self,
        step: Option<usize>,
        reference: &str,
    ) -> Result<Arc<LoadedPlugin>, StepError> {
        if reference.starts_with(SCHEME) {
            self.resolve_oci(step, reference).await
        } else {
            self.inner.resolve(step, reference)
        }
    }

    /// The plugin a reference names, as the policy sees it: built-in or not, digest, and for
    /// `oci://` plugins the manifest digest and whether its signature was verified. Pulls and
    /// loads an OCI plugin on first use (errors name the reference and what was expected).
    pub async fn resolve_plugin(&self, reference: &str) -> Result<PluginSummary, TransformError> {
        Ok(self.resolve(None, reference).await?.summary.clone())
    }

    /// Pulls a plugin into the store and its pin without loading it (`plugin pull`); a tag is
    /// re-resolved at the registry. Returns `(manifest digest, summary)` after loading it once to check it.
    pub async fn pull_oci(&self, reference: &str) -> Result<PluginSummary, TransformError> {
        let r = OciReference::parse(reference)
            .map_err(|e| step_err(reference, StepErrorKind::BadReference(e)))?;
        if r.digest.is_none() {
            self.inner
                .oci
                .repin(&r)
                .await
                .map_err(|e| step_err(reference, StepErrorKind::Oci(e.to_string())))?;
        }
        self.resolve_plugin(reference).await
    }

    /// Pushes a component (checked first by the caller) to `reference`; returns the manifest digest.
    pub async fn push_oci(
        &self,
        reference: &str,
        wasm: &[u8],
        sign_with: Option<&super::PrivateKey>,
    ) -> Result<String, super::OciError> {
        let r = OciReference::parse(reference).map_err(super::OciError::Reference)?;
        let digest = self.inner.oci.push(&r, wasm).await?;
        if let Some(key) = sign_with {
            self.inner.oci.push_signature(&r, &digest, key).await?;
        }
        Ok(digest)
    }

    async fn resolve_oci(
        &self,
        step: Option<usize>,
        reference: &str,
    ) -> Result<Arc<LoadedPlugin>, StepError> {
        let err = |kind| StepError {
            step,
            plugin: reference.to_owned(),
            kind,
        };
        let r = OciReference::parse(reference).map_err(|e| err(StepErrorKind::BadReference(e)))?;
        let oci = &self.inner.oci;
        let lock = oci.lock_for(reference);
        let _one_pull = lock.lock().await;
        let digest = oci
            .digest_of(&r)
            .await
            .map_err(|e| err(StepErrorKind::Oci(e.to_string())))?;
        // Per repository: the same bytes in another repository have their own name and signature.
        let key = format!("{}@sha256:{digest}", r.name());
        if let Some(p) = self
            .inner
            .oci_loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(p.clone());
        }
        let artifact = oci
            .fetch(&r, &digest)
            .await
            .map_err(|e| err(StepErrorKind::Oci(e.to_string())))?;
        let inner = self.inner.clone();
        let shown = artifact.shown.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let name = artifact.origin.repository.clone();
            let source = Source {
                name: &name,
                path: &artifact.wasm_path,
                builtin: false,
            };
            LoadedPlugin::load(
                &inner.engine,
                &inner.cache,
                source,
                &artifact.wasm,
                inner.limits_for(&name),
            )
            .map(|mut p| {
                p.summary.oci = Some(artifact.origin);
                p
            })
        })
        .await
        .map_err(|e| {
            err(StepErrorKind::Host(format!(
                "the plugin load thread failed: {e}"
            )))
        })?
        .map_err(|why| {
            err(StepErrorKind::Oci(format!(
                "{shown}: cannot load it: {why}"
            )))
        })?;
        let s = &loaded.summary;
        tracing::info!(
            plugin = %shown,
            version = s.version.as_str(),
            wasm_digest = s.digest.as_str(),
            signature_verified = s.oci.as_ref().is_some_and(|o| o.signature_verified),
            compiled = ?loaded.compile_source,
            "OCI plugin loaded"
        );
        let loaded = Arc::new(loaded);
        self.inner
            .oci_loaded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, loaded.clone());
        Ok(loaded)
    }
}

fn step_err(reference: &str, kind: StepErrorKind) -> TransformError {
    StepError {
        step: None,
        plugin: reference.to_owned(),
        kind,
    }
    .into()
}

/// How a step's plugin is named in its errors: an `oci://` tag reference gets the digest it was
/// resolved to (`oci://reg/repo:v1@sha256:…`), so a report says exactly which code ran.
pub(crate) fn shown_reference(plugin: &LoadedPlugin, reference: &str) -> String {
    match &plugin.summary.oci {
        Some(o) if !reference.contains('@') => format!("{reference}@sha256:{}", o.manifest_digest),
        _ => reference.to_owned(),
    }
}
