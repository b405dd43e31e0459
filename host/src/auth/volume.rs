//! The per-volume credential: the `nodePublishSecretRef` Secret (keys `access_key` / `access_secret`).

use secrecy::SecretString;

use super::{AuthError, CredentialSource, Credentials};
use crate::config::NodePublishSecrets;

const ID_KEY: &str = "access_key";
const SECRET_KEY: &str = "access_secret";
const ORIGIN: &str = "nodePublishSecretRef";

/// Read access to the per-volume Secret data, so the auth code does not depend on how it was parsed.
pub trait VolumeSecrets {
    /// The value of `key`, matching the name case-insensitively (upstream accepts `Access_Key`).
    fn get_case_insensitive(&self, key: &str) -> Option<&str>;
    /// Names of all keys (for error messages; never values).
    fn key_names(&self) -> Vec<String>;
}

impl VolumeSecrets for NodePublishSecrets {
    fn get_case_insensitive(&self, key: &str) -> Option<&str> {
        NodePublishSecrets::get_case_insensitive(self, key)
    }
    fn key_names(&self) -> Vec<String> {
        self.keys().map(str::to_owned).collect()
    }
}

impl VolumeSecrets for std::collections::BTreeMap<String, String> {
    fn get_case_insensitive(&self, key: &str) -> Option<&str> {
        self.get(key)
            .or_else(|| {
                self.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }
    fn key_names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// The nodePublishSecretRef credential of one volume, as a [`CredentialSource`].
pub struct VolumeCredentials(Option<Credentials>);

impl VolumeCredentials {
    /// Source description used in "tried" lists.
    pub const DESCRIPTION: &'static str = "nodePublishSecretRef (keys access_key/access_secret)";

    /// Reads the pair. `Ok(None)` when the volume has no Secret data at all. Values are trimmed
    /// (a Secret made with `--from-file` often ends in a newline).
    pub fn from_secrets(secrets: &impl VolumeSecrets) -> Result<Option<Credentials>, AuthError> {
        let get = |k| {
            secrets
                .get_case_insensitive(k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        match (get(ID_KEY), get(SECRET_KEY)) {
            (Some(id), Some(secret)) => Ok(Some(Credentials::new(
                id,
                SecretString::from(secret.to_owned()),
                ORIGIN,
            ))),
            (Some(_), None) => Err(AuthError::IncompletePair {
                source_name: ORIGIN,
                present: ID_KEY,
                missing: SECRET_KEY,
            }),
            (None, Some(_)) => Err(AuthError::IncompletePair {
                source_name: ORIGIN,
                present: SECRET_KEY,
                missing: ID_KEY,
            }),
            (None, None) => {
                let keys = secrets.key_names();
                if keys.is_empty() {
                    Ok(None)
                } else {
                    Err(AuthError::UnrecognisedVolumeSecret { keys })
                }
            }
        }
    }

    /// Wraps an already-read result as a source.
    pub fn new(secrets: &impl VolumeSecrets) -> Result<Self, AuthError> {
        Ok(Self(Self::from_secrets(secrets)?))
    }
}

impl CredentialSource for VolumeCredentials {
    fn describe(&self) -> &'static str {
        Self::DESCRIPTION
    }
    async fn get(&self) -> Result<Option<Credentials>, AuthError> {
        Ok(self.0.clone())
    }
}
