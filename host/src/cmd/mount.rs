//! `mount`: debug a SecretProviderClass without a cluster, through the same code path as a gRPC Mount.

use super::args::{PodArgs, ProviderArgs, parse_duration};
use super::report::{self, Row};
use anyhow::{Context, Result};
use clap::Args;
use provider::logging::{self, LogFormat};
use provider::mount::MountInput;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
pub struct MountArgs {
    /// A SecretProviderClass manifest, or a YAML map of its parameters.
    #[arg(long)]
    spc: PathBuf,
    /// Directory to write the files into, atomically (created if missing).
    #[arg(long)]
    target: PathBuf,
    #[command(flatten)]
    pod: PodArgs,
    /// Upper bound for the whole mount.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print file contents too (for demo data only: they are secrets).
    #[arg(long)]
    show_contents: bool,
    /// Verbosity: 0 info, 1-4 debug, 5+ trace.
    #[arg(short = 'v', long = "verbosity", default_value_t = 0)]
    verbosity: u8,
    #[command(flatten)]
    provider: ProviderArgs,
}

pub fn run(args: MountArgs) -> Result<()> {
    logging::init(LogFormat::Text, args.verbosity);
    let (attributes, secrets, permission) = args.pod.request_fields(&args.spc)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let output = rt.block_on(async {
        let provider = args.provider.build(false)?;
        let input = MountInput {
            attributes,
            secrets,
            permission,
            target_path: args.target.display().to_string(),
        };
        provider
            .mount(input, Instant::now() + args.timeout)
            .await
            .map_err(anyhow::Error::from)
    })?;
    provider::output::write_atomically(&args.target, &output.files)
        .with_context(|| format!("writing into {}", args.target.display()))?;
    let rows: Vec<Row<'_>> = output
        .files
        .iter()
        .map(|f| Row {
            path: &f.path,
            mode: f.mode,
            contents: f.contents.as_bytes(),
        })
        .collect();
    let versions: Vec<(String, String)> = output
        .versions
        .iter()
        .map(|v| (v.id.clone(), v.version.clone()))
        .collect();
    report::print(&rows, &versions, args.show_contents);
    println!("written to {}", args.target.display());
    Ok(())
}
