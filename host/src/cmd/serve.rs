//! `serve`: the DaemonSet's long-running command.

use super::args::{ProviderArgs, parse_duration};
use anyhow::{Context, Result};
use clap::Args;
use provider::grpc::{self, server::ProviderService, socket};
use provider::health::{self, HealthConfig};
use provider::logging::{self, LogFormat};
use provider::metrics::Metrics;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Directory the CSI driver looks for provider sockets in; the socket is <dir>/alibabacloud.sock.
    #[arg(
        long,
        env = "PROVIDERS_DIR",
        default_value = "/var/run/secrets-store-csi-providers",
        visible_alias = "provider-volume"
    )]
    providers_dir: PathBuf,

    /// Port of the HTTP health endpoint (0 picks a free port and logs it).
    #[arg(long, env = "HEALTHZ_PORT", default_value_t = 8989)]
    healthz_port: u16,

    /// Port of the Prometheus endpoint `GET /metrics` on all interfaces (0 disables it).
    #[arg(long, env = "METRICS_PORT", default_value_t = 8990)]
    metrics_port: u16,

    /// Path of the HTTP health endpoint.
    #[arg(long, env = "HEALTHZ_PATH", default_value = "/healthz")]
    healthz_path: String,

    /// How long the health check may take to call Version on the provider socket.
    #[arg(long, env = "HEALTHZ_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    healthz_timeout: Duration,

    /// Upper bound of one mount when the driver sends no deadline (kubelet allows NodePublish 2 minutes).
    #[arg(long, env = "MOUNT_TIMEOUT", default_value = "100s", value_parser = parse_duration)]
    mount_timeout: Duration,

    /// Log line format (the chart's logFormatJSON selects json).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,

    /// Verbosity like klog's -v (the chart's logVerbosity): 0 info, 1-4 debug, 5+ trace.
    #[arg(
        short = 'v',
        long = "verbosity",
        env = "LOG_VERBOSITY",
        default_value_t = 0
    )]
    verbosity: u8,

    #[command(flatten)]
    provider: ProviderArgs,
}

pub fn run(args: ServeArgs) -> Result<()> {
    logging::init(args.log_format, args.verbosity);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<()> {
    let metrics = if args.metrics_port == 0 {
        Metrics::disabled()
    } else {
        Metrics::new()
    };
    let provider = Arc::new(args.provider.build_with_metrics(true, metrics.clone())?);
    let (listener, socket_path) = socket::bind(&args.providers_dir).await?;
    tracing::info!(
        socket = %socket_path.display(),
        version = grpc::RUNTIME_VERSION,
        "serving the CSI provider API"
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let health_cfg = HealthConfig {
        socket: socket_path.clone(),
        timeout: args.healthz_timeout,
        policy: Some(provider.policy().handle().clone()),
    };
    let (health_listener, router) = health::bind(
        ([0, 0, 0, 0], args.healthz_port).into(),
        &args.healthz_path,
        health_cfg,
    )
    .await
    .with_context(|| format!("cannot listen on health port {}", args.healthz_port))?;
    tracing::info!(addr = %health_listener.local_addr()?, path = %args.healthz_path, "health endpoint");
    let mut health_stop = stop_rx.clone();
    let health = tokio::spawn(async move {
        axum::serve(health_listener, router)
            .with_graceful_shutdown(async move {
                let _ = health_stop.wait_for(|s| *s).await;
            })
            .await
    });

    let metrics_server = if metrics.is_enabled() {
        let (listener, router) = metrics
            .bind(([0, 0, 0, 0], args.metrics_port).into())
            .await
            .with_context(|| format!("cannot listen on metrics port {}", args.metrics_port))?;
        tracing::info!(addr = %listener.local_addr()?, path = "/metrics", "metrics endpoint");
        let mut stop = stop_rx.clone();
        Some(tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        }))
    } else {
        tracing::info!("metrics endpoint disabled (--metrics-port 0)");
        None
    };

    let service = ProviderService::new(provider, args.mount_timeout);
    let shutdown = async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing in-flight mounts");
        let _ = stop_tx.send(true);
    };
    let served = grpc::server::serve(listener, service, shutdown).await;
    let _ = std::fs::remove_file(&socket_path);
    served.context("gRPC server failed")?;
    health
        .await
        .context("health server task")?
        .context("health server failed")?;
    if let Some(m) = metrics_server {
        m.await
            .context("metrics server task")?
            .context("metrics server failed")?;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}
