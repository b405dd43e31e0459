//! Read-only lookups over the seed: keys by id, secrets by name or ARN, OOS parameters.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::seed::{
    AccessKeySeed, EcsMetadataSeed, KmsSecretSeed, KmsVersionSeed, OidcProviderSeed,
    OosParameterSeed, OosPlainParameterSeed, RoleSeed, SecretDataType, SecretType, Seed,
};
use crate::temp_keys::TempKeys;

/// Why a runtime update (rotation in a test) was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UpdateError {
    #[error("secret {secret:?} already has a version {version_id:?}; version ids must be new")]
    DuplicateVersion { secret: String, version_id: String },
    #[error("version id must not be empty")]
    EmptyVersionId,
    #[error("OOS secret parameter {0:?} already has the maximum of 100 versions")]
    TooManyVersions(String),
}

/// Indexed view of a validated [`Seed`].
pub struct Store {
    pub account_id: String,
    pub region: String,
    keys: HashMap<String, AccessKeySeed>,
    secrets: HashMap<String, KmsSecretSeed>,
    secret_params: HashMap<String, OosParameterSeed>,
    plain_params: HashMap<String, OosPlainParameterSeed>,
    roles: HashMap<String, RoleSeed>,
    oidc_providers: HashMap<String, OidcProviderSeed>,
    pub ecs: Option<EcsMetadataSeed>,
    /// Emulator knob: fixed lifetime of STS credentials (see the seed docs).
    pub sts_lifetime: Option<u64>,
    /// Keys issued at run time (interior mutability: issuing needs only a read lock).
    pub temp: TempKeys,
}

/// An access key found by id: seeded keys never expire, issued ones do.
pub struct KeyEntry {
    pub key: AccessKeySeed,
    pub expires: Option<OffsetDateTime>,
}

impl Store {
    pub fn new(seed: Seed) -> Self {
        Self {
            keys: by_name(seed.access_keys, |k| &k.id),
            secrets: by_name(seed.kms_secrets, |s| &s.name),
            secret_params: by_name(seed.oos_secret_parameters, |p| &p.name),
            plain_params: by_name(seed.oos_parameters, |p| &p.name),
            roles: by_name(seed.roles, |r| &r.name),
            oidc_providers: by_name(seed.oidc_providers, |p| &p.name),
            ecs: seed.ecs_metadata,
            sts_lifetime: seed.sts_credential_lifetime_seconds,
            temp: TempKeys::default(),
            account_id: seed.account_id,
            region: seed.region,
        }
    }

    pub fn access_key(&self, id: &str) -> Option<KeyEntry> {
        match self.keys.get(id) {
            Some(key) => Some(KeyEntry {
                key: key.clone(),
                expires: None,
            }),
            None => self.temp.get(id).map(|(key, exp)| KeyEntry {
                key,
                expires: Some(exp),
            }),
        }
    }

    /// A role by ARN `acs:ram::<this account>:role/<name>`.
    pub fn role_by_arn(&self, arn: &str) -> Option<&RoleSeed> {
        let name = arn.strip_prefix(&format!("acs:ram::{}:role/", self.account_id))?;
        self.roles.get(name)
    }

    pub fn role(&self, name: &str) -> Option<&RoleSeed> {
        self.roles.get(name)
    }

    /// An OIDC provider by ARN `acs:ram::<this account>:oidc-provider/<name>`.
    pub fn oidc_provider_by_arn(&self, arn: &str) -> Option<&OidcProviderSeed> {
        let name = arn.strip_prefix(&format!("acs:ram::{}:oidc-provider/", self.account_id))?;
        self.oidc_providers.get(name)
    }

    /// Turn a `SecretName` (plain name or `acs:kms:<region>:<account>:secret/<name>`) into a
    /// plain name. An ARN for another region/account yields `None` (it cannot exist here).
    pub fn secret_name<'a>(&self, name_or_arn: &'a str) -> Option<&'a str> {
        match name_or_arn.strip_prefix("acs:kms:") {
            None => Some(name_or_arn),
            Some(rest) => {
                let mut parts = rest.splitn(3, ':');
                let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
                let name = resource.strip_prefix("secret/")?;
                (region == self.region && account == self.account_id && !name.is_empty())
                    .then_some(name)
            }
        }
    }

    pub fn secret(&self, name: &str) -> Option<&KmsSecretSeed> {
        self.secrets.get(name)
    }

    pub fn secret_parameter(&self, name: &str) -> Option<&OosParameterSeed> {
        self.secret_params.get(name)
    }

    pub fn plain_parameter(&self, name: &str) -> Option<&OosPlainParameterSeed> {
        self.plain_params.get(name)
    }
}

impl Store {
    /// Add a text version that becomes `ACSCurrent`, moving the old current version to
    /// `ACSPrevious` (and dropping the old `ACSPrevious` label), as KMS rotation does.
    /// An unknown name creates a Generic secret.
    pub fn put_secret_value(
        &mut self,
        name: &str,
        version_id: &str,
        data: &str,
    ) -> Result<(), UpdateError> {
        if version_id.is_empty() {
            return Err(UpdateError::EmptyVersionId);
        }
        let secret = self
            .secrets
            .entry(name.to_owned())
            .or_insert_with(|| KmsSecretSeed {
                name: name.to_owned(),
                secret_type: SecretType::Generic,
                versions: Vec::new(),
                extended_config: None,
                rotation: None,
            });
        if secret.versions.iter().any(|v| v.version_id == version_id) {
            return Err(UpdateError::DuplicateVersion {
                secret: name.to_owned(),
                version_id: version_id.to_owned(),
            });
        }
        for v in &mut secret.versions {
            v.stages.retain(|s| s != "ACSPrevious");
            for s in &mut v.stages {
                if s == "ACSCurrent" {
                    *s = "ACSPrevious".to_owned();
                }
            }
        }
        secret.versions.push(KmsVersionSeed {
            version_id: version_id.to_owned(),
            data: data.to_owned(),
            stages: vec!["ACSCurrent".to_owned()],
            secret_data_type: SecretDataType::Text,
            create_time: None,
        });
        Ok(())
    }

    /// Append a new latest version of an OOS secret parameter (created if unknown);
    /// returns its ParameterVersion.
    pub fn put_secret_parameter(&mut self, name: &str, value: &str) -> Result<usize, UpdateError> {
        let param = self
            .secret_params
            .entry(name.to_owned())
            .or_insert_with(|| OosParameterSeed {
                name: name.to_owned(),
                versions: Vec::new(),
                description: String::new(),
                key_id: None,
            });
        if param.versions.len() >= 100 {
            return Err(UpdateError::TooManyVersions(name.to_owned()));
        }
        param.versions.push(value.to_owned());
        Ok(param.versions.len())
    }
}

fn by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &String) -> HashMap<String, T> {
    items.into_iter().map(|i| (name(&i).clone(), i)).collect()
}
