//! HTTP health endpoint (default `:8989/healthz`, as in the seed chart).
//!
//! It is healthy only when the gRPC server really answers `Version` on the unix socket within the timeout, so
//! kubelet restarts a provider whose socket is gone or whose server is stuck.

use crate::grpc::{API_VERSION, client};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// What the health handler checks.
#[derive(Clone, Debug)]
pub struct HealthConfig {
    /// The provider socket to call.
    pub socket: PathBuf,
    /// Budget for connecting and calling Version.
    pub timeout: Duration,
    /// The plugin policy: a rejected reload is reported as a detail (still healthy: the last good
    /// policy is enforced, and a restart would not fix the file).
    pub policy: Option<crate::policy::PolicyHandle>,
}

/// The health body's detail lines (a failed policy reload), empty when there is nothing to say.
pub fn details(cfg: &HealthConfig) -> String {
    let Some(f) = cfg.policy.as_ref().and_then(|p| p.failure()) else {
        return String::new();
    };
    let ago = f.at.elapsed().map(|d| d.as_secs()).unwrap_or(0);
    format!(
        "policy: the newest policy file was rejected {ago}s ago with {} error(s), the previous policy stays in force; first: {}\n",
        f.errors, f.first
    )
}

/// Checks the gRPC server through its socket.
pub async fn check(cfg: &HealthConfig) -> Result<(), String> {
    let call = async {
        let mut client = client::connect(&cfg.socket)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", cfg.socket.display()))?;
        client
            .version(crate::grpc::v1alpha1::VersionRequest {
                version: API_VERSION.into(),
            })
            .await
            .map_err(|e| format!("Version failed: {}", e.message()))?;
        Ok(())
    };
    match tokio::time::timeout(cfg.timeout, call).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "gRPC server did not answer within {:?}",
            cfg.timeout
        )),
    }
}

/// Binds the health server; returns the bound address (port 0 picks a free one) and the router to serve.
pub async fn bind(
    addr: SocketAddr,
    path: &str,
    cfg: HealthConfig,
) -> std::io::Result<(TcpListener, Router)> {
    let cfg = Arc::new(cfg);
    let router = Router::new().route(
        path,
        get(move || {
            let cfg = cfg.clone();
            async move {
                match check(&cfg).await {
                    Ok(()) => (StatusCode::OK, format!("ok\n{}", details(&cfg))),
                    Err(e) => {
                        tracing::warn!(error = %e, "health check failed");
                        (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {e}\n"))
                    }
                }
            }
        }),
    );
    let listener = TcpListener::bind(addr).await?;
    Ok((listener, router))
}
