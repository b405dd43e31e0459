//! Flags shared by several commands, and how they become a [`Provider`].

use acs_sign::SignatureVersion;
use anyhow::{Context, Result};
use clap::Args;
use provider::auth::{AuthSettings, EnvCredentials};
use provider::fetch::{CacheConfig, EndpointType, FetchConfig, MAX_CACHE_TTL};
use provider::mount::{Provider, ProviderConfig, ProviderSettings};
use provider::policy::{NamespaceLabels, PolicyEnforcer, PolicyHandle};
use provider::transform::oci::{OciConfig, PublicKey, RegistryAuth};
use provider::transform::{Limits, PluginDir, RuntimeConfig, TransformRuntime};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

/// Settings of the mount engine, shared by `serve` and `mount` so both take the same code path.
#[derive(Args, Debug, Clone)]
pub struct ProviderArgs {
    /// Region used when neither the SecretProviderClass nor the object names one.
    #[arg(long, env = "ALIBABA_CLOUD_REGION_ID")]
    pub region: Option<String>,

    /// Default endpoint flavour: `vpc` (kms-vpc.<region>.aliyuncs.com, as upstream) or `public`.
    #[arg(long, env = "ENDPOINT_TYPE", default_value = "vpc", value_parser = ["vpc", "public"])]
    pub endpoint_type: String,

    /// KMS endpoint for every object without its own `kmsEndpoint` (https://host[:port]; http only for loopback).
    #[arg(long, env = "KMS_ENDPOINT")]
    pub kms_endpoint: Option<String>,

    /// OOS endpoint for every object without its own `oosEndpoint` (https://host[:port]; http only for loopback).
    #[arg(long, env = "OOS_ENDPOINT")]
    pub oos_endpoint: Option<String>,

    /// Request signature: `v3` (ACS3-HMAC-SHA256) or `v1` (HMAC-SHA1).
    #[arg(long, env = "SIGNATURE_VERSION", default_value = "v3", value_parser = ["v1", "v3"])]
    pub signature_version: String,

    /// Timeout of one backend HTTP call.
    #[arg(long, env = "BACKEND_CALL_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub backend_call_timeout: Duration,

    /// STS endpoint (https://host[:port]; http only for loopback). Default: sts-vpc.<region>.aliyuncs.com
    /// (or sts.<region>… with --endpoint-type public), sts.aliyuncs.com without --region.
    #[arg(long, env = "STS_ENDPOINT")]
    pub sts_endpoint: Option<String>,

    /// ECS instance metadata service, for the node's RAM role (the last credential source).
    #[arg(
        long,
        env = "ECS_METADATA_ENDPOINT",
        default_value = "http://100.100.100.200"
    )]
    pub ecs_metadata_endpoint: String,

    /// How long before expiry temporary credentials are refreshed (at most a quarter of their lifetime).
    #[arg(long, env = "CREDENTIAL_REFRESH_BEFORE", default_value = "15m", value_parser = parse_duration)]
    pub credential_refresh_before: Duration,

    /// This node's name (downward API `spec.nodeName`): its region labels are the region fallback.
    #[arg(long, env = "NODE_NAME")]
    pub node_name: Option<String>,

    /// Objects of one mount fetched at the same time.
    #[arg(long, env = "FETCH_CONCURRENCY", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub fetch_concurrency: u16,

    /// Directories of built-in plugins (`<name>.wasm`) shipped with the provider; comma-separated in the
    /// environment. The first directory holding a name wins.
    #[arg(
        long = "plugin-dir",
        env = "PLUGIN_DIRS",
        value_delimiter = ',',
        default_value = "/usr/lib/csi-provider-alibabacloud/plugins"
    )]
    pub plugin_dirs: Vec<PathBuf>,

    /// Directories of custom (team-written) plugins; searched after the built-in ones, so a custom plugin can
    /// never shadow a built-in name.
    #[arg(
        long = "custom-plugin-dir",
        env = "CUSTOM_PLUGIN_DIRS",
        value_delimiter = ','
    )]
    pub custom_plugin_dirs: Vec<PathBuf>,

    /// How often the plugin directories are rescanned for new or changed plugins (0 disables).
    #[arg(long, env = "PLUGIN_RELOAD_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    pub plugin_reload_interval: Duration,

    /// Where precompiled plugins are cached (keyed by digest); plugins are compiled in memory when unset.
    #[arg(long, env = "PLUGIN_CACHE_DIR")]
    pub plugin_cache_dir: Option<PathBuf>,

    /// Linear-memory limit of one plugin call.
    #[arg(long, env = "PLUGIN_MEMORY_MIB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub plugin_memory_mib: u32,

    /// Wall-clock limit of one plugin call.
    #[arg(long, env = "PLUGIN_TIMEOUT_MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub plugin_timeout_ms: u64,

    /// Limit on the total size of one plugin call's output files.
    #[arg(long, env = "PLUGIN_MAX_OUTPUT_KIB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub plugin_max_output_kib: u32,

    /// Limits of one plugin that differ from the ones above, e.g. for interpreter plugins (Python, JavaScript)
    /// that need more time or memory: `NAME=memory:128,timeout:500,output:2048` (MiB, ms, KiB; any subset).
    /// Repeat the flag per plugin; in the env var, separate plugins with `;`.
    #[arg(long = "plugin-limits", env = "PLUGIN_LIMITS", value_delimiter = ';', value_parser = parse_plugin_limits)]
    pub plugin_limit_overrides: Vec<PluginLimitOverride>,

    /// Namespace plugin policy file (YAML, kind PluginPolicy; docs/policy.md). Without one, built-in plugins
    /// are allowed, custom plugins denied and every credential mode allowed.
    #[arg(long, env = "POLICY_FILE")]
    pub policy_file: Option<PathBuf>,

    /// How often the policy file is re-read (compared by content) and, when valid, swapped in (0 disables).
    #[arg(long, env = "POLICY_RELOAD_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub policy_reload_interval: Duration,

    /// How long namespace labels read for the policy's namespaceSelector rules are reused.
    #[arg(long, env = "POLICY_LABEL_CACHE_TTL", default_value = "30s", value_parser = parse_duration)]
    pub policy_label_cache_ttl: Duration,

    /// Registry credentials for `oci://` plugins: a `.dockerconfigjson` file (a mounted Secret of type
    /// kubernetes.io/dockerconfigjson). Basic auth and the bearer-token flow are used as the registry asks.
    #[arg(long, env = "PLUGIN_REGISTRY_AUTH_FILE")]
    pub plugin_registry_auth_file: Option<PathBuf>,

    /// Registries (`host[:port]`, comma-separated) reached over plain HTTP; loopback ones always are, every
    /// other registry only over HTTPS.
    #[arg(long, env = "PLUGIN_REGISTRY_INSECURE", value_delimiter = ',')]
    pub plugin_registry_insecure: Vec<String>,

    /// PEM ECDSA P-256 public key (`cosign generate-key-pair` writes one) that `oci://` plugin signatures
    /// are verified with. A present but invalid signature always fails.
    #[arg(long, env = "PLUGIN_SIGNATURE_PUBLIC_KEY")]
    pub plugin_signature_public_key: Option<PathBuf>,

    /// Refuse `oci://` plugins without a valid signature by --plugin-signature-public-key.
    #[arg(long, env = "PLUGIN_REQUIRE_SIGNATURES", default_value_t = false, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub plugin_require_signatures: bool,

    /// Attempts per registry request when pulling `oci://` plugins (network errors, 5xx and 429 are retried).
    #[arg(long, env = "PLUGIN_PULL_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub plugin_pull_attempts: u32,

    /// Connect and read timeout of one registry request.
    #[arg(long, env = "PLUGIN_PULL_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub plugin_pull_timeout: Duration,

    /// Serve a fetched payload again for this long to mounts with the same identity, object, version and
    /// region (0 disables; at most 60s). Keep it at most half the driver's rotationPollInterval.
    /// Identical fetches in flight are always shared, with or without the cache.
    #[arg(long, env = "CACHE_TTL", default_value = "0s", value_parser = parse_cache_ttl)]
    pub cache_ttl: Duration,

    /// Most payloads the cache keeps (the oldest goes first).
    #[arg(long, env = "CACHE_MAX_ENTRIES", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub cache_max_entries: u32,

    /// Most payload bytes the cache keeps, in MiB.
    #[arg(long, env = "CACHE_MAX_MIB", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub cache_max_mib: u32,
}

/// The pod a mount is for, as the driver would describe it in `csi.storage.k8s.io/*` attributes.
#[derive(Args, Debug, Clone)]
pub struct PodArgs {
    /// Pod namespace (`csi.storage.k8s.io/pod.namespace`).
    #[arg(long, default_value = "default")]
    pub pod_namespace: String,
    /// Pod name (`csi.storage.k8s.io/pod.name`).
    #[arg(long, default_value = "local")]
    pub pod_name: String,
    /// Pod UID (`csi.storage.k8s.io/pod.uid`).
    #[arg(long, default_value = "00000000-0000-0000-0000-000000000000")]
    pub pod_uid: String,
    /// Service account name (`csi.storage.k8s.io/serviceAccount.name`).
    #[arg(long, default_value = "default")]
    pub service_account: String,
    /// nodePublishSecretRef data: a YAML or JSON map of strings (e.g. access_key / access_secret).
    #[arg(long)]
    pub secrets: Option<PathBuf>,
    /// Default file mode, octal.
    #[arg(long, default_value = "0644", value_parser = parse_mode)]
    pub permission: u32,
}

impl PodArgs {
    /// Builds the MountRequest `attributes`, `secrets` and `permission` strings the driver would send for `spc`.
    pub fn request_fields(&self, spc: &std::path::Path) -> Result<(String, String, String)> {
        let text = std::fs::read_to_string(spc)
            .with_context(|| format!("cannot read {}", spc.display()))?;
        let mut attrs = provider::config::attributes_from_manifest(&text)
            .map_err(|e| anyhow::anyhow!("{}:\n{e}", spc.display()))?;
        let spc_name = spc_name(&text).unwrap_or_else(|| "local".to_string());
        for (k, v) in [
            ("csi.storage.k8s.io/pod.name", self.pod_name.as_str()),
            (
                "csi.storage.k8s.io/pod.namespace",
                self.pod_namespace.as_str(),
            ),
            ("csi.storage.k8s.io/pod.uid", self.pod_uid.as_str()),
            (
                "csi.storage.k8s.io/serviceAccount.name",
                self.service_account.as_str(),
            ),
            ("csi.storage.k8s.io/ephemeral", "true"),
            ("secretProviderClass", spc_name.as_str()),
        ] {
            attrs.insert(k.to_string(), v.to_string());
        }
        let secrets = match &self.secrets {
            None => String::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let map: BTreeMap<String, String> = serde_yaml_ng::from_str(&text)
                    .with_context(|| format!("{}: expected a map of strings", path.display()))?;
                serde_json::to_string(&map)?
            }
        };
        Ok((
            serde_json::to_string(&attrs)?,
            secrets,
            self.permission.to_string(),
        ))
    }
}

/// `metadata.name` of a manifest, if it is one.
fn spc_name(text: &str) -> Option<String> {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).ok()?;
    v.get("metadata")?.get("name")?.as_str().map(str::to_string)
}

/// Parses `500ms`, `5s`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 500ms, 5s, 2m, 1h"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => {
            return Err(format!(
                "invalid duration unit in {s:?}: allowed ms, s, m, h"
            ));
        }
    })
}

/// A `--cache-ttl`: a duration of at most [`MAX_CACHE_TTL`].
pub fn parse_cache_ttl(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d > MAX_CACHE_TTL {
        return Err(format!(
            "cache TTL {s:?} is longer than the maximum {}s; keep it at most half the driver's rotationPollInterval",
            MAX_CACHE_TTL.as_secs()
        ));
    }
    Ok(d)
}

/// Parses an octal mode such as `0644` or `600`.
/// One `--plugin-limits` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimitOverride {
    pub plugin: String,
    pub memory_mib: Option<u32>,
    pub timeout_ms: Option<u64>,
    pub max_output_kib: Option<u32>,
}

/// Parses `NAME=memory:128,timeout:500,output:2048`, with the same ranges as the global flags.
pub fn parse_plugin_limits(s: &str) -> Result<PluginLimitOverride, String> {
    const FORM: &str = "expected NAME=KEY:VALUE[,KEY:VALUE...] with keys memory (MiB, 1-4096), \
                        timeout (ms, 1-60000) and output (KiB, 1-65536)";
    let (plugin, list) = s
        .trim()
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: no '=' after the plugin name; {FORM}"))?;
    let plugin = plugin.trim();
    if plugin.is_empty() {
        return Err(format!("{s:?}: the plugin name is empty; {FORM}"));
    }
    let mut o = PluginLimitOverride {
        plugin: plugin.to_string(),
        memory_mib: None,
        timeout_ms: None,
        max_output_kib: None,
    };
    let mut errors = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((key, value)) = item.split_once(':') else {
            errors.push(format!("{item:?} has no ':' between key and value"));
            continue;
        };
        let number = |max: u64| match value.trim().parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{key}: {value:?} is not a whole number from 1 to {max}"
            )),
        };
        let duplicate = match key.trim() {
            "memory" => number(4096).map(|n| o.memory_mib.replace(n as u32).is_some()),
            "timeout" => number(60_000).map(|n| o.timeout_ms.replace(n).is_some()),
            "output" => number(65_536).map(|n| o.max_output_kib.replace(n as u32).is_some()),
            other => Err(format!("unknown key {other:?}")),
        };
        match duplicate {
            Ok(true) => errors.push(format!("{} is given twice", key.trim())),
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    if o.memory_mib.is_none()
        && o.timeout_ms.is_none()
        && o.max_output_kib.is_none()
        && errors.is_empty()
    {
        errors.push("no limit given".into());
    }
    if errors.is_empty() {
        Ok(o)
    } else {
        Err(format!("plugin {plugin:?}: {}; {FORM}", errors.join("; ")))
    }
}

pub fn parse_mode(s: &str) -> Result<u32, String> {
    let m = u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .map_err(|_| format!("invalid mode {s:?}: expected octal digits, e.g. 0644"))?;
    if m > 0o777 {
        return Err(format!("invalid mode {s:?}: at most 0777"));
    }
    Ok(m)
}

impl ProviderArgs {
    /// Builds the mount engine these flags describe; `reload` watches the plugin directories.
    pub fn build(&self, reload: bool) -> Result<provider::mount::Provider> {
        self.build_with_metrics(reload, provider::metrics::Metrics::disabled())
    }

    /// Like [`Self::build`], recording mounts, backend calls and plugin runs into `metrics`.
    pub fn build_with_metrics(
        &self,
        reload: bool,
        metrics: provider::metrics::Metrics,
    ) -> Result<provider::mount::Provider> {
        let fetch = FetchConfig {
            kms_endpoint: self.kms_endpoint.clone(),
            oos_endpoint: self.oos_endpoint.clone(),
            endpoint_type: match self.endpoint_type.as_str() {
                "public" => EndpointType::Public,
                _ => EndpointType::Vpc,
            },
            signature_version: match self.signature_version.as_str() {
                "v1" => SignatureVersion::V1,
                _ => SignatureVersion::V3,
            },
            request_timeout: self.backend_call_timeout,
            cache: CacheConfig {
                ttl: self.cache_ttl,
                max_entries: self.cache_max_entries as usize,
                max_bytes: (self.cache_max_mib as usize) << 20,
            },
            ..FetchConfig::default()
        };
        let mut auth = AuthSettings::from_env().map_err(|e| anyhow::anyhow!(e))?;
        auth.sts_endpoint = self.sts_endpoint.clone();
        auth.sts_region = self.region.clone();
        auth.ecs_endpoint = self.ecs_metadata_endpoint.clone();
        auth.refresh_before = self.credential_refresh_before;
        auth.node_name = self.node_name.clone();
        let kubeconfig = auth.kubeconfig.clone();
        let settings = ProviderSettings {
            config: ProviderConfig {
                default_region: self.region.clone(),
                fetch_concurrency: self.fetch_concurrency as usize,
            },
            fetch,
            transforms: self.runtime_config(reload)?,
            env_credentials: EnvCredentials::from_env(),
            auth,
            metrics,
        };
        let mut provider = Provider::build(settings).map_err(|e| anyhow::anyhow!(e))?;
        if let Some(path) = &self.policy_file {
            let policy = self.policy(path, kubeconfig, reload, &provider)?;
            provider = provider.with_policy(policy);
        } else {
            tracing::info!(
                "no plugin policy file (--policy-file): built-in plugins are allowed, custom plugins are denied, every credential mode is allowed"
            );
        }
        for p in provider.transforms().plugins() {
            tracing::info!(
                plugin = %p.name,
                version = %p.version,
                digest = %p.digest,
                builtin = p.builtin,
                "plugin loaded"
            );
        }
        Ok(provider)
    }

    /// The policy of `--policy-file`, checked against the plugin limits; `reload` starts its watcher.
    fn policy(
        &self,
        path: &std::path::Path,
        kubeconfig: Option<PathBuf>,
        reload: bool,
        provider: &Provider,
    ) -> Result<PolicyEnforcer> {
        let metrics = provider.metrics().clone();
        let handle = PolicyHandle::from_file(path, self.plugin_limits(), metrics.clone())
            .map_err(|e| anyhow::anyhow!("--policy-file: {e}"))?;
        let policy = handle.current();
        tracing::info!(file = %path.display(), rules = policy.rules.len(), "plugin policy loaded");
        if reload {
            handle
                .spawn_watcher(self.policy_reload_interval)
                .context("cannot start the policy reload thread")?;
        }
        let labels = NamespaceLabels::kubernetes(kubeconfig, self.policy_label_cache_ttl);
        Ok(PolicyEnforcer::new(handle, labels, metrics))
    }

    /// Per-call plugin limits from the flags.
    pub fn plugin_limits(&self) -> Limits {
        Limits {
            memory_bytes: (self.plugin_memory_mib as usize) << 20,
            timeout: Duration::from_millis(self.plugin_timeout_ms),
            max_output_bytes: (self.plugin_max_output_kib as usize) << 10,
            ..Limits::default()
        }
    }

    /// `--plugin-limits`: each plugin's limits are the global ones with the overridden fields replaced.
    pub fn per_plugin_limits(&self) -> Result<HashMap<String, Limits>> {
        let mut out = HashMap::new();
        for o in &self.plugin_limit_overrides {
            let mut limits = self.plugin_limits();
            if let Some(mib) = o.memory_mib {
                limits.memory_bytes = (mib as usize) << 20;
            }
            if let Some(ms) = o.timeout_ms {
                limits.timeout = Duration::from_millis(ms);
            }
            if let Some(kib) = o.max_output_kib {
                limits.max_output_bytes = (kib as usize) << 10;
            }
            if out.insert(o.plugin.clone(), limits).is_some() {
                anyhow::bail!(
                    "--plugin-limits: plugin {:?} is given twice; give each plugin once with all its limits",
                    o.plugin
                );
            }
        }
        Ok(out)
    }

    /// The transform runtime over the plugin directories; `reload` starts the directory watcher.
    pub fn transform_runtime(&self, reload: bool) -> Result<TransformRuntime> {
        TransformRuntime::new(self.runtime_config(reload)?)
            .map_err(|e| anyhow::anyhow!("plugins: {e}"))
    }

    /// How `oci://` plugins are pulled and verified, from the flags (files are read now).
    pub fn oci_config(&self) -> Result<OciConfig> {
        let auth = match &self.plugin_registry_auth_file {
            Some(path) => RegistryAuth::from_file(path)?,
            None => RegistryAuth::default(),
        };
        let public_key = match &self.plugin_signature_public_key {
            Some(path) => Some(PublicKey::from_file(path)?),
            None => None,
        };
        if self.plugin_require_signatures && public_key.is_none() {
            anyhow::bail!("--plugin-require-signatures needs --plugin-signature-public-key");
        }
        Ok(OciConfig {
            auth,
            insecure_registries: self.plugin_registry_insecure.clone(),
            public_key,
            require_signatures: self.plugin_require_signatures,
            attempts: self.plugin_pull_attempts,
            request_timeout: self.plugin_pull_timeout,
            ..OciConfig::default()
        })
    }

    fn runtime_config(&self, reload: bool) -> Result<RuntimeConfig> {
        let plugin_dirs = self
            .plugin_dirs
            .iter()
            .map(PluginDir::builtin)
            .chain(self.custom_plugin_dirs.iter().map(PluginDir::custom))
            .collect();
        Ok(RuntimeConfig {
            plugin_dirs,
            // wasmtime's cache wants an absolute path; a relative flag is taken from the working directory.
            cache_dir: self
                .plugin_cache_dir
                .as_deref()
                .map(std::path::absolute)
                .transpose()
                .context(
                    "--plugin-cache-dir: cannot resolve the path against the working directory",
                )?,
            limits: self.plugin_limits(),
            plugin_limits: self.per_plugin_limits()?,
            reload_interval: (reload && !self.plugin_reload_interval.is_zero())
                .then_some(self.plugin_reload_interval),
            oci: self.oci_config()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_limits_take_any_subset_of_keys() {
        let o = parse_plugin_limits("py-db-ini=memory:128, timeout:500").unwrap();
        assert_eq!(o.plugin, "py-db-ini");
        assert_eq!(o.memory_mib, Some(128));
        assert_eq!(o.timeout_ms, Some(500));
        assert_eq!(o.max_output_kib, None);
        assert_eq!(
            parse_plugin_limits("jmespath=output:2048")
                .unwrap()
                .max_output_kib,
            Some(2048)
        );
    }

    #[test]
    fn bad_plugin_limits_name_every_problem_and_the_allowed_form() {
        let e = parse_plugin_limits("py=memory:0,cpu:3,timeout:fast,memory:9999").unwrap_err();
        for part in [
            "plugin \"py\"",
            "memory: \"0\" is not a whole number from 1 to 4096",
            "unknown key \"cpu\"",
            "timeout: \"fast\"",
            "memory: \"9999\"",
            "keys memory (MiB, 1-4096)",
        ] {
            assert!(e.contains(part), "{part:?} missing from {e}");
        }
        assert!(
            parse_plugin_limits("memory:128")
                .unwrap_err()
                .contains("no '='")
        );
        assert!(
            parse_plugin_limits("=memory:1")
                .unwrap_err()
                .contains("name is empty")
        );
        assert!(
            parse_plugin_limits("py=")
                .unwrap_err()
                .contains("no limit given")
        );
        assert!(
            parse_plugin_limits("py=timeout:5,timeout:6")
                .unwrap_err()
                .contains("given twice")
        );
    }
}
