//! `probe`: play the CSI driver against a provider socket (a live one on a node, or the demo's).

use super::args::{PodArgs, parse_duration};
use super::report::{self, Row};
use anyhow::{Context, Result, anyhow};
use clap::Args;
use provider::grpc::v1alpha1::{MountRequest, VersionRequest};
use provider::grpc::{API_VERSION, client};
use provider::mount::{MountedFile, Payload};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The provider socket, e.g. /var/run/secrets-store-csi-providers/alibabacloud.sock.
    #[arg(long)]
    socket: PathBuf,
    /// A SecretProviderClass manifest, or a YAML map of its parameters.
    #[arg(long)]
    spc: PathBuf,
    #[command(flatten)]
    pod: PodArgs,
    /// Write the returned files atomically into this directory, as the driver does.
    #[arg(long)]
    target_path: Option<PathBuf>,
    /// Deadline sent with the Mount call.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print file contents too (for demo data only: they are secrets).
    #[arg(long)]
    show_contents: bool,
}

pub fn run(args: ProbeArgs) -> Result<()> {
    let (attributes, secrets, permission) = args.pod.request_fields(&args.spc)?;
    let target = args
        .target_path
        .clone()
        .unwrap_or_else(|| PathBuf::from("/tmp/probe-target"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = rt.block_on(async {
        let mut client = client::connect(&args.socket)
            .await
            .with_context(|| format!("cannot connect to {}", args.socket.display()))?;
        let version = client
            .version(VersionRequest {
                version: API_VERSION.into(),
            })
            .await
            .map_err(|s| anyhow!("Version failed: {}", s.message()))?
            .into_inner();
        println!(
            "provider {} {} (API {})",
            version.runtime_name, version.runtime_version, version.version
        );
        let mut request = tonic::Request::new(MountRequest {
            attributes,
            secrets,
            target_path: target.display().to_string(),
            permission,
            current_object_version: vec![],
        });
        request.set_timeout(args.timeout);
        client
            .mount(request)
            .await
            .map(|r| r.into_inner())
            .map_err(|s| anyhow!("Mount failed ({:?}): {}", s.code(), s.message()))
    })?;
    if let Some(err) = response.error.as_ref().filter(|e| !e.code.is_empty()) {
        return Err(anyhow!("Mount returned error code {}", err.code));
    }
    let rows: Vec<Row<'_>> = response
        .files
        .iter()
        .map(|f| Row {
            path: &f.path,
            mode: f.mode as u32,
            contents: &f.contents,
        })
        .collect();
    let versions: Vec<(String, String)> = response
        .object_version
        .iter()
        .map(|v| (v.id.clone(), v.version.clone()))
        .collect();
    report::print(&rows, &versions, args.show_contents);
    if let Some(dir) = &args.target_path {
        let files: Vec<MountedFile> = response
            .files
            .into_iter()
            .map(|f| MountedFile {
                path: f.path,
                mode: f.mode as u32,
                contents: Payload::new(f.contents),
            })
            .collect();
        provider::output::write_atomically(dir, &files)
            .with_context(|| format!("writing into {}", dir.display()))?;
        println!("written to {}", dir.display());
    }
    Ok(())
}
