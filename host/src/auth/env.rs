//! Cluster-wide static credentials from the provider's environment, read once at start-up.

use std::collections::HashMap;

use secrecy::SecretString;

use super::{AuthError, CredentialSource, Credentials};

const ALIBABA_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
const ALIBABA_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
const ALIBABA_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
const CHART_ID: &str = "ACCESS_KEY_ID";
const CHART_SECRET: &str = "SECRET_ACCESS_KEY";

/// The environment's credential, captured once (tests build it from a map; nothing calls `set_var`).
///
/// Order: `ALIBABA_CLOUD_ACCESS_KEY_ID`/`_SECRET` (+ optional `ALIBABA_CLOUD_SECURITY_TOKEN`), the
/// official SDK names, then `ACCESS_KEY_ID`/`SECRET_ACCESS_KEY` (the chart's `envVarsFromSecret`).
/// A half-set pair is kept as an error and reported when the environment is consulted, so a
/// per-volume credential still works while the provider is misconfigured.
#[derive(Clone)]
pub struct EnvCredentials(Result<Option<Credentials>, EnvProblem>);

/// A half-configured pair, stored without values.
#[derive(Clone, Copy)]
struct EnvProblem {
    present: &'static str,
    missing: &'static str,
}

impl EnvCredentials {
    /// Source descriptions used in "tried" lists.
    pub const DESCRIPTIONS: &'static [&'static str] = &[
        "environment ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "environment ACCESS_KEY_ID/SECRET_ACCESS_KEY",
    ];

    /// Reads the process environment (once, at start-up).
    pub fn from_env() -> Self {
        // `vars_os`: a non-UTF-8 variable elsewhere in the environment must not panic the provider.
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Self::from_map(&vars)
    }

    /// Builds from an explicit variable map (tests, or a pre-read environment).
    pub fn from_map(vars: &HashMap<String, String>) -> Self {
        Self(read(vars))
    }

    /// No environment credential (e.g. for tests of other sources).
    pub fn none() -> Self {
        Self(Ok(None))
    }

    /// The credential, `Ok(None)` if the environment holds none, or the half-pair error.
    pub fn credentials(&self) -> Result<Option<Credentials>, AuthError> {
        self.0.clone().map_err(|p| AuthError::IncompletePair {
            source_name: "environment",
            present: p.present,
            missing: p.missing,
        })
    }

    /// A start-up warning for a half-configured environment, if any.
    pub fn problem(&self) -> Option<AuthError> {
        self.credentials().err()
    }
}

impl std::fmt::Debug for EnvCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Ok(c) => f.debug_tuple("EnvCredentials").field(c).finish(),
            Err(p) => write!(f, "EnvCredentials(<{} without {}>)", p.present, p.missing),
        }
    }
}

impl CredentialSource for EnvCredentials {
    fn describe(&self) -> &'static str {
        "environment"
    }
    async fn get(&self) -> Result<Option<Credentials>, AuthError> {
        self.credentials()
    }
}

fn read(vars: &HashMap<String, String>) -> Result<Option<Credentials>, EnvProblem> {
    let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let pairs = [
        (ALIBABA_ID, ALIBABA_SECRET, "environment ALIBABA_CLOUD_*"),
        (CHART_ID, CHART_SECRET, "environment ACCESS_KEY_ID"),
    ];
    for (id_key, secret_key, origin) in pairs {
        match (get(id_key), get(secret_key)) {
            (Some(id), Some(secret)) => {
                let mut c = Credentials::new(id, SecretString::from(secret.to_owned()), origin);
                if id_key == ALIBABA_ID
                    && let Some(token) = get(ALIBABA_TOKEN)
                {
                    c = c.with_security_token(SecretString::from(token.to_owned()));
                }
                return Ok(Some(c));
            }
            (Some(_), None) => {
                return Err(EnvProblem {
                    present: id_key,
                    missing: secret_key,
                });
            }
            (None, Some(_)) => {
                return Err(EnvProblem {
                    present: secret_key,
                    missing: id_key,
                });
            }
            (None, None) => {}
        }
    }
    if get(ALIBABA_TOKEN).is_some() {
        return Err(EnvProblem {
            present: ALIBABA_TOKEN,
            missing: "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        });
    }
    Ok(None)
}
