//! `cargo xtask demo`: a real mount through the provider's gRPC API against the local emulator.
//!
//! Two separate processes are started (emulator, provider `serve`), then the provider's own `probe` command plays
//! the CSI driver: it calls Version and Mount on the unix socket and writes the returned files like the driver does.

use crate::util::{build_binaries, build_plugins, run as exec, target_dir, workspace_root};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child when dropped, so a failing demo never leaves processes behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run() -> Result<()> {
    let plugins = build_plugins()?;
    build_binaries()?;
    let bin = target_dir().join("debug");
    let root = workspace_root();
    let work = tempdir()?;

    // 1. The emulator, seeded with the example secrets.
    let mut emulator = Guard(
        Command::new(bin.join("acs-emulator"))
            .args(["--listen", "127.0.0.1:0", "--seed"])
            .arg(root.join("examples/emulator/seed.yaml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting acs-emulator")?,
    );
    let stdout = emulator.0.stdout.take().context("emulator stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .with_context(|| format!("unexpected emulator output {line:?}"))?
        .to_string();
    eprintln!("emulator: {url}");

    // 2. The provider, with the demo AccessKey in its environment as the chart's envVarsFromSecret would set it.
    let providers = work.join("providers");
    std::fs::create_dir_all(&providers)?;
    let mut provider = Guard(
        Command::new(bin.join("csi-provider-alibabacloud"))
            .arg("serve")
            .arg("--providers-dir")
            .arg(&providers)
            .args(["--healthz-port", "0", "--metrics-port", "0"])
            .args(["--region", "cn-hangzhou"])
            .args(["--kms-endpoint", &url, "--oos-endpoint", &url])
            .arg("--plugin-dir")
            .arg(&plugins)
            .arg("--plugin-cache-dir")
            .arg(work.join("plugin-cache"))
            .env("ACCESS_KEY_ID", "LTAI5tDemoAccessKey")
            .env("SECRET_ACCESS_KEY", "DemoSecret-change-me")
            .stdin(Stdio::null())
            .spawn()
            .context("starting the provider")?,
    );
    let socket = providers.join("alibabacloud.sock");
    wait_for(&socket, &mut provider.0, Duration::from_secs(60))?;

    // 3. The driver's side: Version + Mount over the socket, files written into a target directory.
    let target = work.join("mount");
    exec(
        Command::new(bin.join("csi-provider-alibabacloud"))
            .arg("probe")
            .arg("--socket")
            .arg(&socket)
            .arg("--spc")
            .arg(root.join("examples/demo/secretproviderclass.yaml"))
            .args([
                "--pod-namespace",
                "demo",
                "--pod-name",
                "demo-app",
                "--service-account",
                "demo-app",
            ])
            .arg("--target-path")
            .arg(&target)
            .arg("--show-contents"),
    )?;
    eprintln!("demo: files written under {}", target.display());
    Ok(())
}

/// Waits for the provider's socket; fails at once if the provider exits.
fn wait_for(path: &Path, child: &mut Child, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while !path.exists() {
        if let Some(status) = child.try_wait()? {
            bail!("the provider exited ({status}) before serving");
        }
        if start.elapsed() > timeout {
            bail!("the provider did not create {} in time", path.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn tempdir() -> Result<std::path::PathBuf> {
    let dir = target_dir()
        .join("demo")
        .join(std::process::id().to_string());
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
