//! End-to-end harness: the emulator (in-process, real HTTP on 127.0.0.1), the provider's gRPC server on a real
//! unix socket in a temp dir, and a gRPC client dialing it the way the CSI driver does.
#![allow(dead_code)]

pub mod leaks;

use acs_emulator::{EmulatorConfig, Handle, Seed};
use provider::auth::{AuthSettings, EnvCredentials};
use provider::fetch::FetchConfig;
use provider::grpc::server::{ProviderService, serve};
use provider::grpc::v1alpha1::csi_driver_provider_client::CsiDriverProviderClient;
use provider::grpc::v1alpha1::{MountRequest, MountResponse};
use provider::grpc::{client, socket};
use provider::mount::{Provider, ProviderConfig, ProviderSettings};
use provider::transform::{Limits, PluginDir, RuntimeConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;

pub const DEMO_KEY_ID: &str = "LTAI5tDemoAccessKey";
pub const DEMO_KEY_SECRET: &str = "DemoSecret-change-me";

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The built plugin components (`cargo xtask build-plugins`); failing loudly beats skipping silently.
pub fn plugin_dir() -> PathBuf {
    let dir = std::env::var_os("PROVIDER_TEST_PLUGIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/plugins"));
    assert!(
        dir.join("jmespath.wasm").exists(),
        "no plugins in {}: run `cargo xtask build-plugins` first (or `cargo xtask test`)",
        dir.display()
    );
    dir
}

/// Precompiled plugins shared by all tests (the runtime checks each entry's digest before trusting it), so
/// each test does not pay the cranelift compile again.
pub fn plugin_cache_dir() -> PathBuf {
    workspace().join("target/test-plugin-cache")
}

pub fn demo_seed() -> Seed {
    let path = workspace().join("examples/emulator/seed.yaml");
    Seed::from_yaml_str(&std::fs::read_to_string(&path).unwrap(), "seed.yaml").unwrap()
}

/// A running provider + emulator.
pub struct Env {
    pub emulator: Handle,
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    /// What the provider recorded (enabled, not served over HTTP).
    pub metrics: provider::metrics::Metrics,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// Options for [`start`].
pub struct Options {
    pub seed: Seed,
    /// Environment of the provider process (credentials), as the chart would set it.
    pub env: BTreeMap<String, String>,
    pub default_region: Option<String>,
    pub mount_timeout: Duration,
    /// Custom (team) plugin directories, searched after the built-in plugins.
    pub custom_plugin_dirs: Vec<PathBuf>,
    /// Per-call plugin limits (default: a 2 s timeout, as debug builds run wasm slowly).
    pub limits: Limits,
    /// Timeout of one backend HTTP attempt (fault tests shorten it).
    pub request_timeout: Duration,
    /// Backend retries (fault tests use short delays).
    pub retry: provider::fetch::RetryPolicy,
    /// Kubeconfig for the provider's Kubernetes API reads (a fake API server on loopback);
    /// `None` points at a file that does not exist, never the developer's cluster.
    pub kubeconfig: Option<PathBuf>,
    /// `--node-name`: whose region labels are the fallback region.
    pub node_name: Option<String>,
    /// The payload cache (`--cache-ttl`; off by default, like the binary).
    pub cache: provider::fetch::CacheConfig,
    /// How `oci://` plugins are pulled (tests give each provider its own `store_dir`).
    pub oci: provider::transform::oci::OciConfig,
    /// A plugin policy document (YAML) instead of the built-in defaults (which deny custom plugins).
    pub policy: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: demo_seed(),
            env: [
                ("ACCESS_KEY_ID", DEMO_KEY_ID),
                ("SECRET_ACCESS_KEY", DEMO_KEY_SECRET),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            default_region: Some("cn-hangzhou".into()),
            mount_timeout: Duration::from_secs(30),
            custom_plugin_dirs: Vec::new(),
            limits: Limits {
                // Debug builds of the host run slower; the sandbox limits are tested on their own.
                timeout: Duration::from_secs(2),
                ..Limits::default()
            },
            request_timeout: FetchConfig::default().request_timeout,
            retry: provider::fetch::RetryPolicy::default(),
            kubeconfig: None,
            node_name: None,
            cache: provider::fetch::CacheConfig::default(),
            oci: Default::default(),
            policy: None,
        }
    }
}

pub async fn start(opts: Options) -> Env {
    leaks::install();
    let emulator = acs_emulator::start(EmulatorConfig {
        seed: opts.seed,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env_vars: std::collections::HashMap<String, String> = opts.env.into_iter().collect();
    let settings = ProviderSettings {
        config: ProviderConfig {
            default_region: opts.default_region,
            fetch_concurrency: 8,
        },
        fetch: FetchConfig {
            kms_endpoint: Some(emulator.base_url()),
            oos_endpoint: Some(emulator.base_url()),
            request_timeout: opts.request_timeout,
            retry: opts.retry,
            cache: opts.cache,
            ..FetchConfig::default()
        },
        transforms: RuntimeConfig {
            plugin_dirs: std::iter::once(PluginDir::builtin(plugin_dir()))
                .chain(opts.custom_plugin_dirs.iter().map(PluginDir::custom))
                .collect(),
            cache_dir: Some(plugin_cache_dir()),
            limits: opts.limits.clone(),
            oci: opts.oci,
            ..RuntimeConfig::default()
        },
        env_credentials: EnvCredentials::from_map(&env_vars),
        auth: AuthSettings {
            sts_endpoint: Some(emulator.base_url()),
            ecs_endpoint: emulator.base_url(),
            // Never the developer's ~/.kube/config: tests talk to loopback only.
            kubeconfig: Some(
                opts.kubeconfig
                    .unwrap_or_else(|| dir.path().join("no-kubeconfig")),
            ),
            node_name: opts.node_name,
            ..AuthSettings::from_map(&env_vars).unwrap()
        },
        metrics: provider::metrics::Metrics::new(),
    };
    let mut provider = Provider::build(settings).unwrap();
    if let Some(text) = &opts.policy {
        use provider::policy::{NamespaceLabels, Policy, PolicyEnforcer, PolicyHandle};
        let metrics = provider.metrics().clone();
        let policy = Policy::parse(text, "test policy", &opts.limits).unwrap();
        provider = provider.with_policy(PolicyEnforcer::new(
            PolicyHandle::fixed(policy, metrics.clone()),
            NamespaceLabels::Static(Default::default()),
            metrics,
        ));
    }
    let provider = Arc::new(provider);
    let metrics = provider.metrics().clone();
    let (listener, socket) = socket::bind(dir.path()).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let service = ProviderService::new(provider, opts.mount_timeout);
    let server = tokio::spawn(async move {
        serve(listener, service, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Env {
        emulator,
        dir,
        socket,
        metrics,
        stop: Some(tx),
        server: Some(server),
    }
}

impl Env {
    pub async fn client(&self) -> CsiDriverProviderClient<Channel> {
        client::connect(&self.socket).await.unwrap()
    }

    /// Mounts an SPC's `parameters` for a pod, as the driver would send it.
    pub async fn mount(
        &self,
        params: &[(&str, &str)],
        secrets: &str,
    ) -> Result<MountResponse, tonic::Status> {
        let mut attrs: BTreeMap<String, String> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in [
            ("csi.storage.k8s.io/pod.name", "web-0"),
            ("csi.storage.k8s.io/pod.namespace", "default"),
            (
                "csi.storage.k8s.io/pod.uid",
                "5a1f0a2c-0000-4000-8000-000000000001",
            ),
            ("csi.storage.k8s.io/serviceAccount.name", "web"),
            ("csi.storage.k8s.io/ephemeral", "true"),
            ("secretProviderClass", "test-spc"),
        ] {
            attrs.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        let mut client = self.client().await;
        let result = client
            .mount(MountRequest {
                attributes: serde_json::to_string(&attrs).unwrap(),
                secrets: secrets.to_string(),
                target_path: "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/v/mount".into(),
                permission: "420".into(),
                current_object_version: vec![],
            })
            .await
            .map(|r| r.into_inner());
        if let Err(status) = &result {
            let leaked = leaks::leaked_in(status.message());
            assert!(leaked.is_empty(), "{leaked:?} in the status message");
        }
        result
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.await.unwrap();
        }
        let rendered = self.metrics.render();
        let leaked = leaks::leaked_in(&rendered);
        assert!(leaked.is_empty(), "{leaked:?} in the metrics output");
        leaks::assert_clean();
    }
}

/// Files of a response as path -> (mode, contents).
pub fn files(resp: &MountResponse) -> BTreeMap<String, (i32, Vec<u8>)> {
    resp.files
        .iter()
        .map(|f| (f.path.clone(), (f.mode, f.contents.clone())))
        .collect()
}

pub fn text(resp: &MountResponse, path: &str) -> String {
    let f = resp
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no file {path} in {:?}", files(resp).keys()));
    String::from_utf8(f.contents.clone()).unwrap()
}

pub fn versions(resp: &MountResponse) -> BTreeMap<String, String> {
    resp.object_version
        .iter()
        .map(|v| (v.id.clone(), v.version.clone()))
        .collect()
}
