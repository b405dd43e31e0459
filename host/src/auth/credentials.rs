//! The credential value handed to the fetch layer.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

/// An AccessKey pair, optionally with an STS security token and its expiry.
///
/// The secret and the token live in [`SecretString`] (zeroised on drop); `Debug` shows only a masked
/// AccessKeyId and where the credential came from.
#[derive(Clone)]
pub struct Credentials {
    access_key_id: String,
    access_key_secret: SecretString,
    security_token: Option<SecretString>,
    expiration: Option<OffsetDateTime>,
    origin: &'static str,
}

impl Credentials {
    /// A long-lived AccessKey pair. `origin` names the source for logs, e.g. `"nodePublishSecretRef"`.
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: SecretString,
        origin: &'static str,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            access_key_secret,
            security_token: None,
            expiration: None,
            origin,
        }
    }

    /// Adds an STS security token.
    pub fn with_security_token(mut self, token: SecretString) -> Self {
        self.security_token = Some(token);
        self
    }

    /// Adds the time after which the credential is no longer valid (STS).
    pub fn with_expiration(mut self, at: OffsetDateTime) -> Self {
        self.expiration = Some(at);
        self
    }

    /// The AccessKeyId (not secret, but avoid logging it unmasked).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// Whether an STS security token is attached.
    pub fn has_security_token(&self) -> bool {
        self.security_token.is_some()
    }

    /// When the credential expires, if it does.
    pub fn expiration(&self) -> Option<OffsetDateTime> {
        self.expiration
    }

    /// Which source produced the credential (for logs and error messages).
    pub fn origin(&self) -> &'static str {
        self.origin
    }

    /// The borrowed view the request signer needs.
    pub fn signing(&self) -> acs_sign::Credential<'_> {
        acs_sign::Credential {
            access_key_id: &self.access_key_id,
            access_key_secret: self.access_key_secret.expose_secret(),
            security_token: self.security_token.as_ref().map(|t| t.expose_secret()),
        }
    }

    /// The AccessKeyId with all but its first four characters hidden, e.g. `LTAI****`.
    pub fn masked_access_key_id(&self) -> String {
        let shown: String = self.access_key_id.chars().take(4).collect();
        format!("{shown}****")
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.masked_access_key_id())
            .field("access_key_secret", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expiration", &self.expiration)
            .field("origin", &self.origin)
            .finish()
    }
}
