//! Read-only lookups over the seed: keys by id, secrets by name or ARN, OOS parameters.

use std::collections::HashMap;

use crate::seed::{AccessKeySeed, KmsSecretSeed, OosParameterSeed, OosPlainParameterSeed, Seed};

/// Indexed view of a validated [`Seed`].
pub struct Store {
    pub account_id: String,
    pub region: String,
    keys: HashMap<String, AccessKeySeed>,
    secrets: HashMap<String, KmsSecretSeed>,
    secret_params: HashMap<String, OosParameterSeed>,
    plain_params: HashMap<String, OosPlainParameterSeed>,
}

impl Store {
    pub fn new(seed: Seed) -> Self {
        Self {
            keys: by_name(seed.access_keys, |k| &k.id),
            secrets: by_name(seed.kms_secrets, |s| &s.name),
            secret_params: by_name(seed.oos_secret_parameters, |p| &p.name),
            plain_params: by_name(seed.oos_parameters, |p| &p.name),
            account_id: seed.account_id,
            region: seed.region,
        }
    }

    pub fn access_key(&self, id: &str) -> Option<&AccessKeySeed> {
        self.keys.get(id)
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

fn by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &String) -> HashMap<String, T> {
    items.into_iter().map(|i| (name(&i).clone(), i)).collect()
}
