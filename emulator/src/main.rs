//! `acs-emulator`: run the local Alibaba Cloud KMS/OOS/STS/ECS-metadata emulator.
//!
//! Prints exactly one line, `listening on http://ADDR`, to stdout once ready (scripts parse
//! it); everything else is tracing output on stderr.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use acs_emulator::{EmulatorConfig, Seed};
use anyhow::Context as _;
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "acs-emulator",
    version,
    about = "Local emulator of Alibaba Cloud KMS, OOS, STS (POP wire protocol) and ECS instance metadata"
)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "ACS_EMULATOR_LISTEN", default_value = "127.0.0.1:18080")]
    listen: SocketAddr,
    /// Seed YAML with access keys, KMS secrets and OOS parameters (see examples/emulator/seed.yaml).
    #[arg(long, env = "ACS_EMULATOR_SEED")]
    seed: Option<PathBuf>,
    /// Fixed delay added to every call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    allow_non_loopback: bool,
    /// Inject a fault (repeatable; the first matching rule decides): `KIND[,key=value]...` with KIND
    /// throttling, internal-failure, service-unavailable, slow, reset, malformed-json or
    /// expire-credentials and keys action, resource, region, times (default: never runs out),
    /// rate (0-1], retry-after-ms, delay-ms (slow). E.g. `throttling,action=GetSecretValue,rate=0.1`.
    #[arg(long = "fault", env = "ACS_EMULATOR_FAULTS", value_delimiter = ';', value_parser = parse_fault)]
    faults: Vec<acs_emulator::Fault>,
    /// Also serve a small OCI registry (plugin push/pull) on this loopback address; prints a second
    /// line `registry listening on http://ADDR`.
    #[arg(long, env = "ACS_EMULATOR_REGISTRY_LISTEN")]
    registry_listen: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let seed = match &cli.seed {
        Some(path) => Seed::from_file(path)?,
        None => Seed::default(),
    };
    tracing::info!(
        access_keys = seed.access_keys.len(),
        kms_secrets = seed.kms_secrets.len(),
        oos_secret_parameters = seed.oos_secret_parameters.len(),
        oos_parameters = seed.oos_parameters.len(),
        roles = seed.roles.len(),
        oidc_providers = seed.oidc_providers.len(),
        ecs_metadata = seed.ecs_metadata.is_some(),
        "seed loaded"
    );
    let handle = acs_emulator::start(EmulatorConfig {
        listen: Some(cli.listen),
        seed,
        latency: Duration::from_millis(cli.latency_ms),
        allow_non_loopback: cli.allow_non_loopback,
    })
    .await?;
    for fault in cli.faults {
        tracing::info!(?fault, "fault injected");
        handle.inject_fault(fault);
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", handle.base_url()).context("writing to stdout")?;
        out.flush().context("flushing stdout")?;
    }
    let registry = match cli.registry_listen {
        Some(addr) => {
            let r =
                acs_emulator::registry::start_registry(acs_emulator::registry::RegistryConfig {
                    listen: Some(addr),
                    ..Default::default()
                })
                .await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "registry listening on http://{}", r.host())
                .context("writing to stdout")?;
            out.flush().context("flushing stdout")?;
            Some(r)
        }
        None => None,
    };
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("shutting down");
    if let Some(r) = registry {
        r.shutdown().await;
    }
    handle.shutdown().await
}

fn parse_fault(spec: &str) -> Result<acs_emulator::Fault, String> {
    spec.parse()
}
