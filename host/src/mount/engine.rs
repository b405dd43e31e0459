//! The mount pipeline: validate → authenticate → fetch (concurrently) → transform → check outputs.

use super::error::{FailureKind, MountError, ObjectFailure};
use super::policy_hook;
use super::{MountInput, MountOutput, MountedFile, Payload, VersionEntry};
use crate::auth::{
    AuthError, AuthSettings, Authenticator, Credentials, EnvCredentials, RoleRequest,
};
use crate::config::{self, MountSpec, ObjectKind, ObjectSpec};
use crate::fetch::{
    AlibabaBackend, Deduplicator, Endpoint, FetchConfig, FetchError, FetchRequest, Served, Service,
};
use crate::metrics::{BackendApi, Metrics};
use crate::policy::{CredentialMode, PolicyEnforcer};
use crate::transform::{
    File, RuntimeConfig, StepErrorKind, StepSpec, TransformError, TransformRuntime,
};
use futures::StreamExt;
use std::time::Instant;

/// Settings of the mount engine that are not per request.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Region when neither the SecretProviderClass nor the object names one (`--region`).
    pub default_region: Option<String>,
    /// Objects of one mount fetched at the same time.
    pub fetch_concurrency: usize,
}

/// Everything needed to build a [`Provider`]; `serve`, `mount` and the tests fill it from their own inputs.
pub struct ProviderSettings {
    /// Engine settings.
    pub config: ProviderConfig,
    /// How KMS and OOS are reached.
    pub fetch: FetchConfig,
    /// Plugin directories, cache and limits.
    pub transforms: RuntimeConfig,
    /// The provider's own credentials from its environment (read once at start-up).
    pub env_credentials: EnvCredentials,
    /// The provider's own identity (RRSA, AssumeRole, ECS metadata), STS endpoint and cache timing.
    pub auth: AuthSettings,
    /// Where mounts, backend calls and plugin runs are counted ([`Metrics::disabled`] records nothing).
    pub metrics: Metrics,
}

/// The mount engine shared by the gRPC server and the `mount` command.
pub struct Provider {
    cfg: ProviderConfig,
    auth: Authenticator,
    backend: AlibabaBackend,
    /// Coalesces identical backend calls in flight and holds the optional payload cache.
    dedup: Deduplicator,
    transforms: TransformRuntime,
    metrics: Metrics,
    /// The namespace plugin policy (built-in defaults unless [`Provider::with_policy`]).
    policy: PolicyEnforcer,
    /// The provider's own credential mode, for policy rules on credential modes.
    provider_mode: Option<CredentialMode>,
}

/// One object that was fetched, with what the driver records about it.
struct Fetched {
    data: Payload,
    version: String,
}

impl Provider {
    /// Builds the engine once at start-up: the HTTP client, the wasm engine and the loaded plugins.
    /// A broken environment credential (half a pair) is an error here, not at the first mount.
    pub fn build(settings: ProviderSettings) -> Result<Self, String> {
        if let Some(problem) = settings.env_credentials.problem() {
            return Err(format!("credentials in the environment: {problem}"));
        }
        let endpoint_type = settings.fetch.endpoint_type;
        let provider_mode = policy_hook::provider_mode(&settings.auth, &settings.env_credentials);
        let dedup = Deduplicator::new(settings.fetch.cache.clone()).map_err(|e| e.to_string())?;
        let backend = AlibabaBackend::new(settings.fetch).map_err(|e| e.to_string())?;
        let auth = Authenticator::new(
            settings.auth,
            settings.env_credentials,
            &backend,
            endpoint_type,
        )
        .map_err(|e| e.to_string())?
        .with_metrics(settings.metrics.clone());
        let transforms =
            TransformRuntime::new(settings.transforms).map_err(|e| format!("plugins: {e}"))?;
        Ok(Self {
            cfg: settings.config,
            auth,
            backend,
            dedup,
            transforms,
            policy: PolicyEnforcer::defaults(settings.metrics.clone()),
            metrics: settings.metrics,
            provider_mode,
        })
    }

    /// Enforces `policy` instead of the built-in defaults.
    pub fn with_policy(mut self, policy: PolicyEnforcer) -> Self {
        self.policy = policy;
        self
    }

    /// The plugin policy in force (its reload state feeds the health endpoint).
    pub fn policy(&self) -> &PolicyEnforcer {
        &self.policy
    }

    /// The transform runtime (for listing plugins at start-up).
    pub fn transforms(&self) -> &TransformRuntime {
        &self.transforms
    }

    /// The metrics this engine records into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Mounts, all or nothing, before `deadline`.
    pub async fn mount(
        &self,
        input: MountInput,
        deadline: Instant,
    ) -> Result<MountOutput, MountError> {
        let started = Instant::now();
        let spec = match config::parse_mount_request(
            &input.attributes,
            &input.secrets,
            &input.permission,
            &input.target_path,
        ) {
            Ok(spec) => spec,
            Err(e) => {
                let e = MountError::Config(e);
                self.metrics
                    .record_mount(result_label(&Err(&e)), started.elapsed());
                return Err(e);
            }
        };
        let pod = pod_label(&spec);
        let result = tokio::time::timeout_at(deadline.into(), self.mount_spec(&spec, deadline))
            .await
            .unwrap_or(Err(MountError::DeadlineExceeded));
        match &result {
            Ok(out) => tracing::info!(
                pod = %pod,
                objects = spec.objects.len(),
                files = out.files.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "mounted"
            ),
            Err(e) => tracing::warn!(pod = %pod, error = %e, "mount failed"),
        }
        self.metrics
            .record_mount(result_label(&result.as_ref()), started.elapsed());
        result
    }

    async fn mount_spec(
        &self,
        spec: &MountSpec,
        deadline: Instant,
    ) -> Result<MountOutput, MountError> {
        // 0. The namespace's plugin policy decides before any plugin runs or secret is fetched.
        let mut chains: Vec<Vec<StepSpec>> = spec.objects.iter().map(steps_for).collect();
        let caps = policy_hook::enforce(
            &self.policy,
            &self.transforms,
            spec,
            &mut chains,
            self.provider_mode,
        )
        .await?;

        // 1. Every plugin reference and config is checked before any secret is fetched.
        let mut invalid = Vec::new();
        for ((object, chain), caps) in spec.objects.iter().zip(&chains).zip(&caps) {
            if chain.is_empty() {
                continue;
            }
            if let Err(errors) = self.transforms.validate_chain_capped(chain, caps).await {
                invalid.extend(errors.into_iter().map(|e| ObjectFailure {
                    object: object.describe(),
                    reason: e.to_string(),
                    kind: FailureKind::Invalid,
                }));
            }
        }
        if !invalid.is_empty() {
            return Err(MountError::InvalidTransforms(invalid));
        }

        // 2. Credentials: per-pod identity when asked (never a fallback), else the volume's own
        // nodePublishSecretRef, else the provider's identity.
        let creds = self
            .credentials(spec, deadline)
            .await
            .map_err(MountError::Credentials)?;

        // Region fallback for objects without one: the node's region, else --region.
        let needs_region = spec.region.is_none() && spec.objects.iter().any(|o| o.region.is_none());
        let fallback_region = if needs_region {
            match self.auth.node_region().await {
                Ok(Some(r)) => Some(r),
                Ok(None) => self.cfg.default_region.clone(),
                Err(e) => {
                    tracing::warn!(error = %e, "node region lookup failed; using --region");
                    self.cfg.default_region.clone()
                }
            }
        } else {
            None
        };

        // 3. Fetch every object concurrently (bounded), keeping the SPC order.
        // (Collected first: a closure inside the stream type trips the compiler's Send check in tokio::spawn.)
        let fetches: Vec<_> = spec
            .objects
            .iter()
            .map(|o| self.fetch(spec, o, &creds, fallback_region.as_deref(), deadline))
            .collect();
        let results: Vec<Result<Fetched, ObjectFailure>> = futures::stream::iter(fetches)
            .buffered(self.cfg.fetch_concurrency.max(1))
            .collect()
            .await;
        let mut fetched = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        for r in results {
            match r {
                Ok(f) => fetched.push(f),
                Err(e) => failures.push(e),
            }
        }
        if !failures.is_empty() {
            return Err(MountError::Fetch {
                failed: failures,
                total: spec.objects.len(),
            });
        }

        // 4. Transform chains, then 5. the final file set is checked as a whole.
        let mut files = Vec::new();
        let mut versions = Vec::new();
        let mut failed = Vec::new();
        for (((object, chain), got), caps) in
            spec.objects.iter().zip(chains).zip(fetched).zip(&caps)
        {
            versions.push(VersionEntry {
                id: object.id(),
                version: got.version,
            });
            let default_mode = object.file_mode(spec.default_mode);
            let input = File::new(object.file_name.clone(), got.data.into_bytes());
            let outputs = if chain.is_empty() {
                vec![input]
            } else {
                let chain_started = Instant::now();
                let ran = self
                    .transforms
                    .run_chain_capped(&chain, vec![input], caps)
                    .await;
                self.metrics.record_plugin(
                    &chain_label(&chain),
                    ran.is_ok(),
                    chain_started.elapsed(),
                );
                match ran {
                    Ok(out) => out,
                    Err(e) => {
                        failed.push(ObjectFailure {
                            object: object.describe(),
                            kind: transform_kind(&e),
                            reason: e.to_string(),
                        });
                        continue;
                    }
                }
            };
            for f in outputs {
                if let Err(why) = config::validate_output_path(&f.path) {
                    failed.push(ObjectFailure {
                        object: object.describe(),
                        reason: format!("output file {:?}: {why}", f.path),
                        kind: FailureKind::Plugin,
                    });
                    continue;
                }
                files.push((
                    object.describe(),
                    MountedFile {
                        mode: f.mode.unwrap_or(default_mode),
                        path: f.path,
                        contents: Payload::new(f.contents),
                    },
                ));
            }
        }
        if !failed.is_empty() {
            return Err(MountError::Transform(failed));
        }
        let collisions = config::find_collisions(
            files
                .iter()
                .map(|(owner, f)| (owner.as_str(), f.path.as_str())),
        );
        if !collisions.is_empty() {
            return Err(MountError::OutputCollision(
                collisions.iter().map(|c| c.to_string()).collect(),
            ));
        }
        Ok(MountOutput {
            files: files.into_iter().map(|(_, f)| f).collect(),
            versions,
        })
    }

    async fn credentials(
        &self,
        spec: &MountSpec,
        deadline: Instant,
    ) -> Result<Credentials, AuthError> {
        if !spec.use_pod_service_account_token {
            return self
                .auth
                .resolve(&spec.node_publish_secrets, deadline)
                .await;
        }
        let role = self
            .auth
            .pod_role(
                spec.role_arn.as_deref(),
                spec.pod.namespace.as_deref(),
                spec.pod.service_account.as_deref(),
            )
            .await?;
        self.auth
            .pod_identity(spec.service_account_tokens.as_ref(), &role, deadline)
            .await
    }

    /// The object's credential: the mount's, or its cross-account role assumed with it.
    async fn object_credentials(
        &self,
        object: &ObjectSpec,
        creds: &Credentials,
        deadline: Instant,
    ) -> Result<Credentials, AuthError> {
        let Some(x) = &object.cross_account else {
            return Ok(creds.clone());
        };
        let mut role = RoleRequest::new(x.role_arn.clone());
        role.external_id = x.external_id.clone();
        role.duration_seconds = x.duration_seconds.map(u64::from);
        if let Some(n) = &x.session_name {
            role.session_name = n.clone();
        }
        self.auth.assume(creds, &role, deadline).await
    }

    async fn fetch(
        &self,
        spec: &MountSpec,
        object: &ObjectSpec,
        creds: &Credentials,
        fallback_region: Option<&str>,
        deadline: Instant,
    ) -> Result<Fetched, ObjectFailure> {
        let fail = |reason: String, kind: FailureKind| ObjectFailure {
            object: object.describe(),
            reason,
            kind,
        };
        let region = object
            .region
            .clone()
            .or_else(|| spec.region.clone())
            .or_else(|| fallback_region.map(str::to_owned))
            .ok_or_else(|| {
                fail(
                    "no region: set spec.parameters.region, the object's region, or the provider's --node-name (node region labels) or --region"
                        .into(),
                    FailureKind::Invalid,
                )
            })?;
        let service = match object.kind {
            ObjectKind::Kms => Service::Kms,
            ObjectKind::Oos => Service::Oos,
        };
        // The SPC's endpointType picks the regional flavour unless an explicit endpoint is configured.
        let configured = match object.kind {
            ObjectKind::Kms => self.backend.config().kms_endpoint.is_some(),
            ObjectKind::Oos => self.backend.config().oos_endpoint.is_some(),
        };
        let endpoint = match (&object.endpoint, spec.endpoint_type) {
            (Some(e), _) => Some(e.clone()),
            (None, Some(kind)) if !configured => {
                let kind = match kind {
                    config::EndpointType::Vpc => crate::fetch::EndpointType::Vpc,
                    config::EndpointType::Public => crate::fetch::EndpointType::Public,
                };
                let e = Endpoint::regional(service, &region, kind)
                    .map_err(|e| fail(e.to_string(), FailureKind::Invalid))?;
                Some(e.base_url())
            }
            _ => None,
        };
        let request = FetchRequest {
            kind: match object.kind {
                ObjectKind::Kms => crate::fetch::ObjectKind::Kms,
                ObjectKind::Oos => crate::fetch::ObjectKind::Oos,
            },
            name: object.name.clone(),
            version_id: object.version.clone(),
            version_stage: object.version_label.clone(),
            region,
            endpoint,
        };
        let api = match object.kind {
            ObjectKind::Kms => BackendApi::KmsGetSecretValue,
            ObjectKind::Oos => BackendApi::OosGetSecretParameter,
        };
        let base = creds;
        let mut creds = self
            .object_credentials(object, base, deadline)
            .await
            .map_err(|e| fail(e.to_string(), FailureKind::Unauthenticated))?;
        let record = |got: &Result<crate::fetch::Fetched, FetchError>, region: &str| match got {
            Ok(g) => {
                self.metrics.record_backend(api, region, "OK", 1);
                // Attempts before the success failed retryably; their codes are in the debug log.
                self.metrics
                    .record_backend(api, region, "retried", g.attempts.saturating_sub(1));
            }
            Err(e) => self
                .metrics
                .record_backend(api, region, &backend_code(e), e.attempts()),
        };
        // Results shared by coalescing or the cache made no backend call of this mount's own.
        let record =
            |got: &Result<crate::fetch::Fetched, FetchError>, served: Served, region: &str| {
                if served == Served::Backend {
                    record(got, region);
                }
            };
        let mut region_used = request.region.clone();
        // With a failover region the primary region gets half of the time left, so a primary
        // that only times out still leaves the failover region time to answer.
        let primary_deadline = match &spec.failover_region {
            Some(_) => {
                let now = Instant::now();
                now + deadline.saturating_duration_since(now) / 2
            }
            None => deadline,
        };
        let (mut got, mut served) = self
            .fetch_shared(api, &request, &creds, primary_deadline)
            .await;
        // An expired security token (a session ended early, or clocks disagree): drop the cached
        // credential, get a fresh one and send the call once more. Only once: a static token
        // (ALIBABA_CLOUD_SECURITY_TOKEN) stays expired and is reported as such.
        if let Err(e) = &got
            && e.api_error().is_some_and(|a| a.is_credential_expired())
            && Instant::now() < primary_deadline
        {
            record(&got, served, &region_used);
            tracing::warn!(object = %object.describe(), origin = creds.origin(), error = %e, "security token expired; refreshing the credential and retrying once");
            self.auth.invalidate(&creds);
            self.auth.invalidate(base);
            let fresh = match self.credentials(spec, deadline).await {
                Ok(b) => self.object_credentials(object, &b, deadline).await,
                Err(e) => Err(e),
            };
            creds = fresh.map_err(|e| fail(e.to_string(), FailureKind::Unauthenticated))?;
            (got, served) = self
                .fetch_shared(api, &request, &creds, primary_deadline)
                .await;
        }
        // failoverRegion: only trouble reaching the primary region fails over, never a
        // not-found or permission answer. The failover region is reached at its own endpoint: the
        // provider's --kms-endpoint/--oos-endpoint if set, else the regional one; an object's
        // explicit endpoint belongs to its primary region and is not reused.
        if let (Err(e), Some(failover)) = (&got, &spec.failover_region)
            && e.is_retryable()
            && Instant::now() < deadline
        {
            record(&got, served, &region_used);
            tracing::warn!(object = %object.describe(), primary = %request.region, failover = %failover, error = %e, "primary region failed; fetching from the failover region");
            let mut again = request.clone();
            again.region = failover.clone();
            again.endpoint = match spec.endpoint_type {
                Some(kind) if !configured => {
                    let kind = match kind {
                        config::EndpointType::Vpc => crate::fetch::EndpointType::Vpc,
                        config::EndpointType::Public => crate::fetch::EndpointType::Public,
                    };
                    let e = Endpoint::regional(service, failover, kind)
                        .map_err(|e| fail(e.to_string(), FailureKind::Invalid))?;
                    Some(e.base_url())
                }
                _ => None,
            };
            (got, served) = self.fetch_shared(api, &again, &creds, deadline).await;
            self.metrics.record_failover(api, got.is_ok());
            region_used = failover.clone();
        }
        record(&got, served, &region_used);
        let got = got.map_err(|e| {
            // The backend bounds its attempts by the deadline; name the real cause when it ran out.
            if Instant::now() >= deadline {
                fail(
                    format!("{e}; the mount deadline passed"),
                    FailureKind::DeadlineExceeded,
                )
            } else {
                fail(e.to_string(), fetch_kind(&e))
            }
        })?;
        Ok(Fetched {
            data: Payload::new(got.data.into_bytes()),
            version: got.version,
        })
    }
}

impl Provider {
    /// One backend request through coalescing and the payload cache; counts shared results.
    async fn fetch_shared(
        &self,
        api: BackendApi,
        request: &FetchRequest,
        creds: &Credentials,
        deadline: Instant,
    ) -> (Result<crate::fetch::Fetched, FetchError>, Served) {
        let (got, served) = self
            .dedup
            .fetch(&self.backend, request, creds, deadline)
            .await;
        self.metrics
            .record_fetch_served(api, served, self.dedup.caches());
        (got, served)
    }
}

/// The transform chain of an object: the seed's `jmesPath` sugar first (the jmespath plugin keeping the
/// original file), then the object's own `transforms`.
fn steps_for(object: &ObjectSpec) -> Vec<StepSpec> {
    let mut steps = Vec::new();
    if !object.jmes_path.is_empty() {
        let files: serde_json::Map<String, serde_json::Value> = object
            .jmes_path
            .iter()
            .map(|e| {
                let value = match e.mode {
                    Some(mode) => serde_json::json!({ "expression": e.path, "mode": mode }),
                    None => serde_json::Value::String(e.path.clone()),
                };
                (e.alias.clone(), value)
            })
            .collect();
        steps.push(StepSpec {
            plugin: "jmespath".into(),
            config_json: serde_json::json!({ "files": files, "keepInput": true }).to_string(),
        });
    }
    for t in &object.transforms {
        steps.push(StepSpec {
            plugin: match &t.plugin.digest {
                Some(d) => format!("{}@sha256:{d}", t.plugin.name),
                None => t.plugin.name.clone(),
            },
            config_json: t.config.to_string(),
        });
    }
    steps
}

/// Classifies a fetch failure by the Alibaba error code (alibaba-api.md §3), else by transport.
fn fetch_kind(e: &FetchError) -> FailureKind {
    if let Some(api) = e.api_error() {
        if api.is_retryable() {
            return FailureKind::Unavailable;
        }
        let code = api.code.as_deref().unwrap_or("");
        return match code {
            c if c.contains("NotFound") && !c.starts_with("InvalidAccessKeyId") => {
                FailureKind::NotFound
            }
            c if c.starts_with("EntityNotExist") || c == "ParameterNotFound" => {
                FailureKind::NotFound
            }
            c if c.starts_with("Forbidden") || c.contains("NoPermission") => {
                FailureKind::PermissionDenied
            }
            c if c.starts_with("InvalidAccessKey")
                || c.starts_with("InvalidSecurityToken")
                || c.starts_with("Signature")
                || c.starts_with("IncompleteSignature")
                || c.starts_with("InvalidTimeStamp") =>
            {
                FailureKind::Unauthenticated
            }
            c if c.starts_with("InvalidParameter") || c.starts_with("MissingParameter") => {
                FailureKind::Invalid
            }
            _ => match api.status {
                404 => FailureKind::NotFound,
                403 => FailureKind::PermissionDenied,
                401 => FailureKind::Unauthenticated,
                _ => FailureKind::Other,
            },
        };
    }
    match e {
        FetchError::DeadlineExceeded { .. } => FailureKind::DeadlineExceeded,
        FetchError::Network { .. } => FailureKind::Unavailable,
        FetchError::Endpoint(_) | FetchError::InvalidRequest(_) | FetchError::TooLarge { .. } => {
            FailureKind::Invalid
        }
        _ => FailureKind::Other,
    }
}

/// Classifies a transform run failure: reference problems are the user's config, the rest is the plugin.
fn transform_kind(e: &TransformError) -> FailureKind {
    match e.step().map(|s| &s.kind) {
        Some(
            StepErrorKind::BadReference(_)
            | StepErrorKind::NotFound { .. }
            | StepErrorKind::DigestMismatch { .. }
            | StepErrorKind::InvalidConfig(_),
        ) => FailureKind::Invalid,
        _ => FailureKind::Plugin,
    }
}

/// The `result` label of a finished mount.
fn result_label(result: &Result<&MountOutput, &MountError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => match e.kind() {
            FailureKind::NotFound => "not_found",
            FailureKind::PermissionDenied => "permission_denied",
            FailureKind::Unauthenticated => "unauthenticated",
            FailureKind::Unavailable => "unavailable",
            FailureKind::DeadlineExceeded => "deadline_exceeded",
            FailureKind::Invalid => "invalid",
            FailureKind::Plugin => "plugin",
            FailureKind::Other => "internal",
        },
    }
}

/// The `code` label of a failed backend call: the Alibaba error code, else the transport class.
fn backend_code(e: &FetchError) -> String {
    if let Some(api) = e.api_error() {
        return api
            .code
            .clone()
            .unwrap_or_else(|| format!("http_{}", api.status));
    }
    match e {
        FetchError::Network { .. } => "network".into(),
        FetchError::InvalidResponse { .. } => "invalid_response".into(),
        FetchError::TooLarge { .. } => "too_large".into(),
        _ => "other".into(),
    }
}

/// The `plugin` label of a chain: its plugin names (digest pins dropped) joined by `>`.
fn chain_label(chain: &[StepSpec]) -> String {
    chain
        .iter()
        .map(|s| s.plugin.split('@').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(">")
}

/// `namespace/name` of the pod, for log lines (never the attributes themselves).
fn pod_label(spec: &MountSpec) -> String {
    format!(
        "{}/{}",
        spec.pod.namespace.as_deref().unwrap_or("?"),
        spec.pod.name.as_deref().unwrap_or("?")
    )
}
