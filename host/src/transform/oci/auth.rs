//! Registry credentials from a Kubernetes Secret of type `kubernetes.io/dockerconfigjson` mounted
//! as a file (`{"auths": {"registry": {"auth": base64("user:pass")} | {"username", "password"}}}`).
//!
//! Passwords and tokens are kept in [`secrecy::SecretString`] and never appear in `Debug` or errors.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::OciError;

/// One registry's credentials.
#[derive(Clone)]
pub struct RegistryCredentials {
    /// User name (not secret).
    pub username: String,
    password: SecretString,
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl RegistryCredentials {
    /// Credentials from a user name and password (or identity token).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    pub(crate) fn password(&self) -> &str {
        self.password.expose_secret()
    }
}

/// Credentials by registry host (`host[:port]`).
#[derive(Clone, Debug, Default)]
pub struct RegistryAuth {
    by_registry: BTreeMap<String, RegistryCredentials>,
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl RegistryAuth {
    /// Reads a `.dockerconfigjson` file. Every bad entry is reported (by registry key, never its value).
    pub fn from_file(path: &Path) -> Result<Self, OciError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            OciError::Config(format!(
                "--plugin-registry-auth-file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text).map_err(|why| {
            OciError::Config(format!(
                "--plugin-registry-auth-file {}: {why}",
                path.display()
            ))
        })
    }

    /// Parses dockerconfigjson text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: DockerConfig = serde_json::from_str(text).map_err(|e| {
            format!(
                "not a dockerconfigjson document (expected {{\"auths\": {{...}}}}): line {} column {}",
                e.line(),
                e.column()
            )
        })?;
        let mut by_registry = BTreeMap::new();
        let mut problems = Vec::new();
        for (key, entry) in config.auths {
            let registry = normalize(&key);
            let creds = match (entry.username, entry.password, entry.auth) {
                (Some(u), Some(p), _) => Some(RegistryCredentials::new(u, p)),
                (_, _, Some(auth)) => base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| {
                        s.split_once(':')
                            .map(|(u, p)| RegistryCredentials::new(u, p))
                    }),
                _ => None,
            };
            match creds {
                Some(c) => {
                    by_registry.insert(registry, c);
                }
                None => problems.push(format!(
                    "auths[{key:?}]: needs \"username\" and \"password\", or \"auth\" = base64(\"user:password\")"
                )),
            }
        }
        if problems.is_empty() {
            Ok(Self { by_registry })
        } else {
            Err(problems.join("; "))
        }
    }

    /// Credentials for `registry` (`host[:port]`), if configured.
    pub fn get(&self, registry: &str) -> Option<&RegistryCredentials> {
        self.by_registry.get(&registry.to_ascii_lowercase())
    }

    /// Adds credentials for one registry.
    pub fn insert(&mut self, registry: &str, creds: RegistryCredentials) {
        self.by_registry.insert(normalize(registry), creds);
    }
}

/// Keys may be URLs (`https://host/v1/`) as `docker login` writes them; the registry is the host.
fn normalize(key: &str) -> String {
    let key = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    // Host names are case-insensitive; references are lowercased the same way when parsed.
    key.split('/').next().unwrap_or(key).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_hides_passwords() {
        let auth = RegistryAuth::parse(
            r#"{"auths": {"https://reg.example.com/v1/": {"auth": "dXNlcjpzM2NyZXQ="},
                          "127.0.0.1:5000": {"username": "u2", "password": "p2"}}}"#,
        )
        .unwrap();
        let c = auth.get("reg.example.com").unwrap();
        assert_eq!((c.username.as_str(), c.password()), ("user", "s3cret"));
        assert_eq!(auth.get("127.0.0.1:5000").unwrap().password(), "p2");
        assert!(!format!("{auth:?}").contains("s3cret"));
    }

    #[test]
    fn bad_entries_are_named_without_values() {
        let err = RegistryAuth::parse(r#"{"auths": {"a": {"auth": "!!!"}, "b": {}}}"#).unwrap_err();
        assert!(
            err.contains("auths[\"a\"]") && err.contains("auths[\"b\"]"),
            "{err}"
        );
        assert!(!err.contains("!!!"));
    }
}
