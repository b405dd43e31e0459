//! Local emulator of Alibaba Cloud KMS Secrets Manager, OOS parameters and STS that speaks
//! the real POP wire protocol (signature V1 and V3, JSON bodies and error shapes), plus the
//! ECS instance metadata server (RAM role credentials), so demos and tests run without a cloud. Compatibility is proven against the official Python
//! SDKs in `tests/sdk_compat/`.
//!
//! Run it in-process with [`start`] or as the `acs-emulator` binary.

mod auth;
mod clock;
mod delay;
mod error;
mod faults;
mod glob;
pub mod jwt;
mod metadata;
mod products;
pub mod registry;
mod request;
pub mod seed;
mod server;
mod stats;
mod store;
mod temp_keys;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultKind};
pub use seed::{Seed, SeedError};
pub use store::UpdateError;

/// How to run the emulator.
#[derive(Debug, Clone, Default)]
pub struct EmulatorConfig {
    /// Address to bind; `None` means `127.0.0.1:0` (a free port).
    pub listen: Option<SocketAddr>,
    /// The fake cloud's contents.
    pub seed: Seed,
    /// Delay added to every call (also adjustable later with [`Handle::set_latency`]).
    pub latency: Duration,
    /// Allow binding a non-loopback address; off so a demo never exposes fake creds by accident.
    pub allow_non_loopback: bool,
}

/// A running emulator. Dropping it stops the server, as [`Handle::shutdown`] does.
pub struct Handle {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Bind and serve in a background tokio task; returns once the socket is listening.
pub async fn start(config: EmulatorConfig) -> anyhow::Result<Handle> {
    let listen = config
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    if !listen.ip().is_loopback() && !config.allow_non_loopback {
        bail!(
            "refusing to listen on non-loopback address {listen}: the emulator accepts demo credentials; \
             use a 127.0.0.1/::1 address or pass --allow-non-loopback"
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot bind {listen}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let shared = Arc::new(server::Shared {
        store: std::sync::RwLock::new(store::Store::new(config.seed)),
        replay: auth::ReplayGuard::default(),
        stats: stats::Stats::default(),
        faults: faults::Faults::default(),
        latency_us: AtomicU64::new(0),
        metadata: metadata::MetadataState::default(),
    });
    shared.set_latency(config.latency);
    let (stop, stopped) = oneshot::channel::<()>();
    let app = server::router(shared.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                // Fires on shutdown() and when the Handle is dropped.
                let _ = stopped.await;
            })
            .await
    });
    Ok(Handle {
        addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

impl Handle {
    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen for `action` (authenticated or not) since start or the last reset.
    pub fn calls(&self, action: &str) -> usize {
        self.shared.stats.calls(action)
    }

    /// Requests for `action` naming `resource` (SecretName or Name exactly as sent).
    pub fn calls_for(&self, action: &str, resource: &str) -> usize {
        self.shared.stats.calls_for(action, resource)
    }

    /// Requests for `action` whose `RegionId` parameter was `region` (OOS calls carry it; KMS
    /// calls name their region only through the endpoint).
    pub fn calls_in_region(&self, action: &str, region: &str) -> usize {
        self.shared.stats.calls_in_region(action, region)
    }

    /// Resets the per-Action counters and [`Handle::metadata_calls`].
    pub fn reset_calls(&self) {
        self.shared.stats.reset();
        self.shared.metadata.reset_calls();
    }

    /// Requests to the ECS metadata server (`/latest/…`, any path, including failed ones).
    pub fn metadata_calls(&self) -> usize {
        self.shared.metadata.calls()
    }

    /// While `down`, every metadata request answers HTTP 500 (for stale-credential tests).
    pub fn set_metadata_down(&self, down: bool) {
        self.shared.metadata.set_down(down);
    }

    /// Delay every following call by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    /// Adds a fault rule: the next `fault.times` matching calls (per action / resource, at the
    /// rule's rate) fail the fault's way. The first matching rule decides.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.faults.push(fault);
    }

    /// Every temporary (STS / ECS metadata) key issued so far expires now, as if its lifetime ran
    /// out while the client still holds it.
    pub fn expire_issued_credentials(&self) {
        self.shared
            .store()
            .temp
            .expire_all(time::OffsetDateTime::now_utc());
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Rotate a KMS secret while running: a new text version becomes `ACSCurrent`, the old
    /// current one `ACSPrevious` (an unknown name creates a Generic secret).
    pub fn put_secret_value(
        &self,
        name: &str,
        version_id: &str,
        data: &str,
    ) -> Result<(), UpdateError> {
        self.shared
            .store_mut()
            .put_secret_value(name, version_id, data)
    }

    /// Append a new latest version to an OOS secret parameter; returns its ParameterVersion.
    pub fn put_secret_parameter(&self, name: &str, value: &str) -> Result<usize, UpdateError> {
        self.shared.store_mut().put_secret_parameter(name, value)
    }

    /// Stop accepting connections and wait for in-flight calls to finish.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .context("emulator task panicked")?
                .context("emulator server failed")?;
        }
        Ok(())
    }
}
