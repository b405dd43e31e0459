//! Seed file: the fake cloud's contents (access keys, KMS secrets, OOS parameters).
//!
//! The YAML is strict (`deny_unknown_fields`, camelCase keys) so a typo in a demo seed
//! fails loudly instead of silently serving a different cloud. Structural errors come
//! from serde with line/column; semantic ones are collected by [`validate`] and reported
//! all at once.

mod validate;

use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// Why a seed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("cannot read seed file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not match the seed schema (serde names the field and position).
    #[error("seed {origin} is not valid YAML for the emulator seed schema")]
    Parse {
        origin: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// The YAML parsed but its contents are inconsistent; every problem is listed.
    #[error("seed {origin} has {} error(s):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid {
        origin: String,
        problems: Vec<String>,
    },
}

/// Default account id used in ARNs when the seed gives none.
pub const DEFAULT_ACCOUNT_ID: &str = "1234567890123456";
/// Default region used in ARNs and `HostId` when the seed gives none.
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// The whole seed document.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Seed {
    /// Account id used in ARNs (`acs:kms:<region>:<accountId>:secret/<name>`).
    #[serde(default = "default_account")]
    pub account_id: String,
    /// Region used in ARNs and error `HostId`s.
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default)]
    pub access_keys: Vec<AccessKeySeed>,
    #[serde(default)]
    pub kms_secrets: Vec<KmsSecretSeed>,
    /// OOS encrypted (`Secret`) parameters, served by `GetSecretParameter`.
    #[serde(default)]
    pub oos_secret_parameters: Vec<OosParameterSeed>,
    /// OOS plain (`String`/`StringList`) parameters, served by `GetParameter`.
    #[serde(default)]
    pub oos_parameters: Vec<OosPlainParameterSeed>,
    /// RAM roles that STS `AssumeRole`/`AssumeRoleWithOIDC` and the ECS metadata server hand out.
    #[serde(default)]
    pub roles: Vec<RoleSeed>,
    /// OIDC identity providers (ACK RRSA) that `AssumeRoleWithOIDC` accepts tokens from.
    #[serde(default)]
    pub oidc_providers: Vec<OidcProviderSeed>,
    /// ECS instance metadata served under `/latest/`; absent means every metadata path is 404.
    #[serde(default)]
    pub ecs_metadata: Option<EcsMetadataSeed>,
    /// Emulator-only knob: lifetime of every STS credential, overriding `DurationSeconds`
    /// and its 900 s minimum, so refresh/expiry tests take seconds instead of 15 minutes.
    #[serde(default)]
    pub sts_credential_lifetime_seconds: Option<u64>,
}

/// A RAM role; its ARN is `acs:ram::<accountId>:role/<name>`.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleSeed {
    pub name: String,
    /// Longest session `DurationSeconds` may ask for (3600–43200, default 3600).
    #[serde(default = "default_max_session")]
    pub max_session_duration: u64,
    /// Secrets/parameters the role's temporary credentials may read, like an access key's
    /// `permissions` (absent = all, `[]` = none).
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    /// Who may assume the role.
    #[serde(default)]
    pub trust: TrustSeed,
    /// When set, `AssumeRole` must send exactly this `ExternalId`.
    #[serde(default)]
    pub external_id: Option<String>,
}

fn default_max_session() -> u64 {
    3600
}

/// A role's trust policy, reduced to what the emulator checks.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrustSeed {
    /// Access key ids allowed to call `AssumeRole` for this role.
    #[serde(default)]
    pub access_keys: Vec<String>,
    /// `acs:ram::<accountId>:oidc-provider/<name>` whose tokens may assume the role.
    #[serde(default)]
    pub oidc_provider_arn: Option<String>,
    /// Token subjects (`system:serviceaccount:<ns>:<sa>`; `*`/`?` globs allowed).
    #[serde(default)]
    pub oidc_subjects: Vec<String>,
}

/// An OIDC provider; its ARN is `acs:ram::<accountId>:oidc-provider/<name>`.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OidcProviderSeed {
    pub name: String,
    /// Required `iss` claim.
    pub issuer: String,
    /// Accepted `aud` values (client ids), e.g. `sts.aliyuncs.com`.
    pub audiences: Vec<String>,
}

/// What the ECS metadata server reports about "this instance".
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EcsMetadataSeed {
    /// The instance's RAM role; must be one of `roles` (its permissions apply).
    pub role_name: String,
    /// `region-id`; defaults to the seed's `region`.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default = "default_instance_id")]
    pub instance_id: String,
    /// Lifetime of the role credentials handed out (default 21600 s, as ECS does).
    #[serde(default = "default_ecs_lifetime")]
    pub credential_lifetime_seconds: u64,
    /// Hardened mode: every GET must carry a token from `PUT /latest/api/token`.
    #[serde(default)]
    pub require_token: bool,
}

fn default_instance_id() -> String {
    "i-emulator0000000001".to_owned()
}
fn default_ecs_lifetime() -> u64 {
    21600
}

impl Seed {
    /// `acs:ram::<account>:role/<name>`.
    pub fn role_arn(&self, name: &str) -> String {
        format!("acs:ram::{}:role/{name}", self.account_id)
    }

    /// `acs:ram::<account>:oidc-provider/<name>`.
    pub fn oidc_provider_arn(&self, name: &str) -> String {
        format!("acs:ram::{}:oidc-provider/{name}", self.account_id)
    }
}

fn default_account() -> String {
    DEFAULT_ACCOUNT_ID.to_owned()
}
fn default_region() -> String {
    DEFAULT_REGION.to_owned()
}

/// An access key the emulator accepts.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccessKeySeed {
    pub id: String,
    pub secret: String,
    /// When set the key is STS-style: every request must carry exactly this token.
    #[serde(default)]
    pub security_token: Option<String>,
    /// Glob (`*`, `?`) or exact names of secrets and parameters this key may read.
    /// Absent means "everything"; an empty list means "nothing".
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
}

/// A KMS Secrets Manager secret.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KmsSecretSeed {
    pub name: String,
    #[serde(default)]
    pub secret_type: SecretType,
    pub versions: Vec<KmsVersionSeed>,
    /// Returned as the `ExtendedConfig` JSON string when asked for and the type is not Generic.
    #[serde(default)]
    pub extended_config: Option<serde_json::Value>,
    /// Rotation fields, returned only when present (as the cloud does for rotating secrets).
    #[serde(default)]
    pub rotation: Option<RotationSeed>,
}

/// One version of a KMS secret.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KmsVersionSeed {
    pub version_id: String,
    /// Text, or base64 when `secretDataType: binary` (returned base64, as the cloud does).
    pub data: String,
    #[serde(default)]
    pub stages: Vec<String>,
    #[serde(default)]
    pub secret_data_type: SecretDataType,
    /// `CreateTime` in the response; defaults to a fixed demo timestamp.
    #[serde(default)]
    pub create_time: Option<String>,
}

/// Rotation metadata of a managed/rotating secret.
#[derive(Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RotationSeed {
    #[serde(default)]
    pub automatic_rotation: Option<String>,
    #[serde(default)]
    pub rotation_interval: Option<String>,
    #[serde(default)]
    pub last_rotation_date: Option<String>,
    #[serde(default)]
    pub next_rotation_date: Option<String>,
}

/// `SecretType` values KMS reports.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecretType {
    #[default]
    Generic,
    Rds,
    Redis,
    RAMCredentials,
    ECS,
    PolarDB,
}

impl SecretType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "Generic",
            Self::Rds => "Rds",
            Self::Redis => "Redis",
            Self::RAMCredentials => "RAMCredentials",
            Self::ECS => "ECS",
            Self::PolarDB => "PolarDB",
        }
    }
}

/// `SecretDataType`: text, or binary carried as base64.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SecretDataType {
    #[default]
    Text,
    Binary,
}

impl SecretDataType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Binary => "binary",
        }
    }
}

/// An OOS secret parameter; `versions[0]` is ParameterVersion 1, the last one is the default.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OosParameterSeed {
    pub name: String,
    pub versions: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// KMS key id reported as `KeyId`.
    #[serde(default)]
    pub key_id: Option<String>,
}

/// An OOS plain parameter; `versions[0]` is ParameterVersion 1, the last one is the default.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OosPlainParameterSeed {
    pub name: String,
    #[serde(rename = "type", default)]
    pub param_type: PlainParameterType,
    /// For StringList each value is the comma-separated list, as OOS returns it.
    pub versions: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// Types of plain OOS parameters.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlainParameterType {
    #[default]
    String,
    StringList,
}

impl PlainParameterType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::StringList => "StringList",
        }
    }
}

impl Seed {
    /// Parse and validate a seed from YAML text; `origin` names it in errors.
    pub fn from_yaml_str(yaml: &str, origin: &str) -> Result<Self, SeedError> {
        let seed: Seed = serde_yaml_ng::from_str(yaml).map_err(|source| SeedError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        let problems = validate::problems(&seed);
        if problems.is_empty() {
            Ok(seed)
        } else {
            Err(SeedError::Invalid {
                origin: origin.to_owned(),
                problems,
            })
        }
    }

    /// Read, parse and validate a seed file.
    pub fn from_file(path: &Path) -> Result<Self, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }
}

// Hand-written Debug impls: seeds hold secret values and access key secrets, which must
// never reach logs. Only names and counts are shown.
impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seed")
            .field("account_id", &self.account_id)
            .field("region", &self.region)
            .field("access_keys", &self.access_keys)
            .field("kms_secrets", &self.kms_secrets)
            .field("oos_secret_parameters", &self.oos_secret_parameters)
            .field("oos_parameters", &self.oos_parameters)
            .field("roles", &self.roles)
            .field("oidc_providers", &self.oidc_providers)
            .field("ecs_metadata", &self.ecs_metadata)
            .field(
                "sts_credential_lifetime_seconds",
                &self.sts_credential_lifetime_seconds,
            )
            .finish()
    }
}

impl fmt::Debug for AccessKeySeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeySeed")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("sts", &self.security_token.is_some())
            .field("permissions", &self.permissions)
            .finish()
    }
}

impl fmt::Debug for KmsSecretSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsSecretSeed")
            .field("name", &self.name)
            .field("secret_type", &self.secret_type)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for KmsVersionSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsVersionSeed")
            .field("version_id", &self.version_id)
            .field("data", &"<redacted>")
            .field("stages", &self.stages)
            .field("secret_data_type", &self.secret_data_type)
            .finish()
    }
}

impl fmt::Debug for OosParameterSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OosParameterSeed")
            .field("name", &self.name)
            .field("versions", &self.versions.len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OosPlainParameterSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OosPlainParameterSeed")
            .field("name", &self.name)
            .field("type", &self.param_type)
            .field("versions", &self.versions.len())
            .finish_non_exhaustive()
    }
}
