//! `csi-provider-alibabacloud`: the Secrets Store CSI Driver provider for Alibaba Cloud.

mod cmd;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` prints the whole cause chain on one line; errors never carry secret values.
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
