//! Command-line interface. Every `serve` setting is a flag with an environment fallback shown by `--help`.

mod args;
mod mount;
mod plugin;
mod policy;
mod probe;
mod report;
mod serve;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Secrets Store CSI Driver provider for Alibaba Cloud KMS Secrets Manager and OOS, with wasm transforms.
#[derive(Parser)]
#[command(name = "csi-provider-alibabacloud", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the CSI driver's provider API on <providers-dir>/alibabacloud.sock (the DaemonSet's command).
    Serve(serve::ServeArgs),
    /// Mount a SecretProviderClass into a local directory through the same code path as a gRPC Mount.
    Mount(mount::MountArgs),
    /// Act as the CSI driver: call Version and Mount on a provider socket and print (or write) the result.
    Probe(probe::ProbeArgs),
    /// Check, run, list and precompile wasm transform plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Check a namespace plugin policy file and explain its decisions.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

/// Runs one command to completion.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Mount(a) => mount::run(a),
        Command::Probe(a) => probe::run(a),
        Command::Plugin(c) => plugin::run(c),
        Command::Policy(c) => policy::run(c),
    }
}
