//! Cosign-compatible signatures with a public key (no keyless/sigstore transparency log).
//!
//! A signature of manifest `sha256:D` in `registry/repo` is an OCI manifest tagged
//! `sha256-D.sig` in the same repository. Each layer is a "simple signing" JSON payload
//! (media type [`SIMPLESIGNING_MEDIA_TYPE`]) whose `critical.image.docker-manifest-digest` is
//! `sha256:D`; the layer annotation [`SIGNATURE_ANNOTATION`] holds base64 of an ASN.1 DER
//! ECDSA P-256/SHA-256 signature over the payload bytes. This is what
//! `cosign sign --key cosign.key` writes for a P-256 key, so either tool can sign.

use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use serde_json::json;

use super::error::OciError;

/// Layer media type of a cosign signature payload.
pub const SIMPLESIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation carrying the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const PAYLOAD_TYPE: &str = "cosign container image signature";

/// The tag cosign stores the signature of manifest `sha256:<digest>` under.
pub fn signature_tag(digest_hex: &str) -> String {
    format!("sha256-{digest_hex}.sig")
}

/// A public key plugins are verified with (PEM `PUBLIC KEY`, P-256).
#[derive(Clone, Debug)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses PEM text (`-----BEGIN PUBLIC KEY-----`, an ECDSA P-256 key as cosign writes it).
    pub fn from_pem(text: &str) -> Result<Self, String> {
        VerifyingKey::from_public_key_pem(text.trim())
            .map(Self)
            .map_err(|e| {
                format!("not a PEM ECDSA P-256 public key (\"-----BEGIN PUBLIC KEY-----\"): {e}")
            })
    }

    /// Reads the key file of `--plugin-signature-public-key`.
    pub fn from_file(path: &std::path::Path) -> Result<Self, OciError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            OciError::Config(format!(
                "--plugin-signature-public-key {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        Self::from_pem(&text).map_err(|why| {
            OciError::Config(format!(
                "--plugin-signature-public-key {}: {why}",
                path.display()
            ))
        })
    }

    /// PEM text of the key.
    pub fn to_pem(&self) -> String {
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }
}

/// A private key for `plugin push --sign-key` and tests (PEM PKCS#8 `PRIVATE KEY`, P-256).
pub struct PrivateKey(SigningKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

impl PrivateKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                return Self(key);
            }
        }
    }

    /// Parses PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`). Encrypted cosign keys are not read:
    /// sign those with `cosign sign --key`.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        SigningKey::from_pkcs8_pem(text.trim()).map(Self).map_err(|_| {
            "not an unencrypted PEM PKCS#8 ECDSA P-256 private key (\"-----BEGIN PRIVATE KEY-----\")"
                .to_owned()
        })
    }

    /// PEM PKCS#8 text of the key.
    pub fn to_pem(&self) -> String {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map(|p| p.to_string())
            .unwrap_or_default()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// base64 of the DER signature over `payload`.
    pub fn sign(&self, payload: &[u8]) -> String {
        let sig: Signature = self.0.sign(payload);
        base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
    }
}

/// The simple-signing payload for manifest `sha256:<digest_hex>` of `registry/repo`.
pub fn payload(docker_reference: &str, digest_hex: &str) -> Vec<u8> {
    json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": format!("sha256:{digest_hex}")},
            "type": PAYLOAD_TYPE,
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// Checks one signature layer: the signature is valid for `key` and the payload names `digest_hex`.
/// The error says what was expected and what was found.
pub(crate) fn verify(
    key: &PublicKey,
    payload: &[u8],
    signature_b64: &str,
    digest_hex: &str,
) -> Result<(), String> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(signature_b64.trim())
        .map_err(|_| format!("annotation {SIGNATURE_ANNOTATION} is not base64"))?;
    let sig = DerSignature::from_bytes(&der)
        .map_err(|_| "the signature is not an ASN.1 DER ECDSA signature".to_owned())?;
    key.0
        .verify(payload, &sig)
        .map_err(|_| "the signature does not verify with the configured public key".to_owned())?;
    let doc: serde_json::Value =
        serde_json::from_slice(payload).map_err(|_| "the signed payload is not JSON".to_owned())?;
    let critical = &doc["critical"];
    if critical["type"] != PAYLOAD_TYPE {
        return Err(format!(
            "the signed payload's critical.type is {}, expected {PAYLOAD_TYPE:?}",
            critical["type"]
        ));
    }
    let signed = critical["image"]["docker-manifest-digest"]
        .as_str()
        .unwrap_or("<none>");
    let expected = format!("sha256:{digest_hex}");
    if signed != expected {
        return Err(format!(
            "the signature is for {signed}, expected {expected}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_mismatches() {
        let key = PrivateKey::generate();
        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        let again = PrivateKey::from_pem(&key.to_pem()).unwrap();
        let d = "ab".repeat(32);
        let p = payload("127.0.0.1:5000/team/p", &d);
        let sig = again.sign(&p);
        verify(&public, &p, &sig, &d).unwrap();
        let other = "cd".repeat(32);
        let err = verify(&public, &p, &sig, &other).unwrap_err();
        assert!(err.contains(&format!("expected sha256:{other}")), "{err}");
        let stranger = PrivateKey::generate().public_key();
        assert!(
            verify(&stranger, &p, &sig, &d)
                .unwrap_err()
                .contains("does not verify")
        );
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }
}
