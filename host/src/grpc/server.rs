//! The `CSIDriverProvider` service: Version and Mount.
//!
//! Mount runs in its own task so a panic fails only that request (the driver sees `Internal`), and is aborted
//! when the driver gives up on the call. The attributes carry service-account tokens, so requests are never logged
//! as-is.

use super::status::to_status;
use super::v1alpha1::csi_driver_provider_server::{CsiDriverProvider, CsiDriverProviderServer};
use super::v1alpha1::{
    File, MountRequest, MountResponse, ObjectVersion, VersionRequest, VersionResponse,
};
use super::{API_VERSION, RUNTIME_NAME, RUNTIME_VERSION};
use crate::mount::{MountInput, Provider};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::UnixListener;
use tokio::sync::Notify;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};

/// The gRPC face of a [`Provider`].
#[derive(Clone)]
pub struct ProviderService {
    provider: Arc<Provider>,
    max_mount_time: Duration,
    in_flight: InFlight,
}

/// Counts mounts in progress, so shutdown waits for them and only them (the driver keeps its connection
/// open between calls; waiting for connections to close would hang until the kubelet kills the pod).
#[derive(Clone, Default)]
pub struct InFlight(Arc<(AtomicUsize, Notify)>);

struct InFlightGuard(InFlight);

impl InFlight {
    fn enter(&self) -> InFlightGuard {
        self.0.0.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    /// Mounts in progress now.
    pub fn count(&self) -> usize {
        self.0.0.load(Ordering::SeqCst)
    }

    /// Returns once no mount is in progress.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.0.1.notified();
            if self.count() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.0.0.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.0.1.notify_waiters();
        }
    }
}

impl ProviderService {
    /// `max_mount_time` bounds a mount when the driver sends no deadline (kubelet gives NodePublish 2 minutes).
    pub fn new(provider: Arc<Provider>, max_mount_time: Duration) -> Self {
        Self {
            provider,
            max_mount_time,
            in_flight: InFlight::default(),
        }
    }

    /// The tracker of mounts in progress (for shutdown).
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }

    /// The tonic service, ready to be added to a server.
    pub fn into_server(self) -> CsiDriverProviderServer<Self> {
        CsiDriverProviderServer::new(self)
            .max_decoding_message_size(8 * 1024 * 1024)
            .max_encoding_message_size(64 * 1024 * 1024)
    }
}

/// Aborts the mount task when the request future is dropped (driver cancelled or deadline passed).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[tonic::async_trait]
impl CsiDriverProvider for ProviderService {
    async fn version(
        &self,
        _request: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        Ok(Response::new(VersionResponse {
            version: API_VERSION.to_string(),
            runtime_name: RUNTIME_NAME.to_string(),
            runtime_version: RUNTIME_VERSION.to_string(),
        }))
    }

    async fn mount(
        &self,
        request: Request<MountRequest>,
    ) -> Result<Response<MountResponse>, Status> {
        let budget = grpc_timeout(request.metadata())
            .map(|t| t.min(self.max_mount_time))
            .unwrap_or(self.max_mount_time);
        let deadline = Instant::now() + budget;
        let req = request.into_inner();
        let input = MountInput {
            attributes: req.attributes,
            secrets: req.secrets,
            permission: req.permission,
            target_path: req.target_path,
        };
        let provider = self.provider.clone();
        let _in_flight = self.in_flight.enter();
        let task = tokio::spawn(async move { provider.mount(input, deadline).await });
        let _abort = AbortOnDrop(task.abort_handle());
        let output = match task.await {
            Ok(Ok(output)) => output,
            Ok(Err(err)) => return Err(to_status(&err)),
            Err(join) => {
                tracing::error!(panicked = join.is_panic(), "mount task failed");
                return Err(Status::internal(
                    "internal error in the provider while mounting; see the provider logs",
                ));
            }
        };
        Ok(Response::new(MountResponse {
            object_version: output
                .versions
                .into_iter()
                .map(|v| ObjectVersion {
                    id: v.id,
                    version: v.version,
                })
                .collect(),
            error: None,
            files: output
                .files
                .into_iter()
                .map(|f| File {
                    path: f.path,
                    mode: f.mode as i32,
                    contents: f.contents.into_bytes(),
                })
                .collect(),
        }))
    }
}

/// Parses the `grpc-timeout` header (`<digits><unit>`, unit one of H M S m u n).
pub fn grpc_timeout(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    if value.len() < 2 || value.len() > 9 {
        return None;
    }
    let (digits, unit) = value.split_at(value.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Serves the provider on `listener` until `shutdown` completes. Then it stops taking calls, lets the mounts in
/// progress finish (each is bounded by its own deadline) and returns without waiting for idle driver connections.
pub async fn serve(
    listener: UnixListener,
    service: ProviderService,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let in_flight = service.in_flight();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), async {
            let _ = stop_rx.await;
        });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result,
        _ = shutdown => {}
    }
    let _ = stop_tx.send(());
    if in_flight.count() > 0 {
        tracing::info!(mounts = in_flight.count(), "waiting for mounts in progress");
    }
    in_flight.wait_idle().await;
    match tokio::time::timeout(Duration::from_secs(1), &mut server).await {
        Ok(result) => result,
        Err(_) => Ok(()), // only idle connections are left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(v: &str) -> tonic::metadata::MetadataMap {
        let mut m = tonic::metadata::MetadataMap::new();
        m.insert("grpc-timeout", v.parse().unwrap());
        m
    }

    #[test]
    fn parses_grpc_timeouts() {
        assert_eq!(grpc_timeout(&md("5S")), Some(Duration::from_secs(5)));
        assert_eq!(grpc_timeout(&md("120000m")), Some(Duration::from_secs(120)));
        assert_eq!(grpc_timeout(&md("2M")), Some(Duration::from_secs(120)));
        assert_eq!(grpc_timeout(&md("7x")), None);
        assert_eq!(grpc_timeout(&tonic::metadata::MetadataMap::new()), None);
    }
}
