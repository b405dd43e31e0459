//! `cargo xtask bench [--smoke]`: release builds, then the provider benchmark (`host/benches/provider.rs`).
//!
//! The benchmark starts the release emulator and provider as separate processes on loopback, drives the
//! provider through its unix socket and writes `target/bench/results.json`; see docs/benchmarks.md.

use crate::util::{build_plugins, cargo, run as exec, target_dir};
use anyhow::Result;

pub fn run(smoke: bool) -> Result<()> {
    let plugins = build_plugins()?;
    exec(cargo().args([
        "build",
        "--release",
        "-p",
        "csi-provider-alibabacloud",
        "-p",
        "acs-emulator",
    ]))?;
    let target = target_dir();
    let out = target.join("bench").join("results.json");
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "-p",
        "csi-provider-alibabacloud",
        "--bench",
        "provider",
        "--",
    ])
    .arg("--bin-dir")
    .arg(target.join("release"))
    .arg("--plugins")
    .arg(&plugins)
    .arg("--out")
    .arg(&out);
    if smoke {
        cmd.arg("--smoke");
    }
    exec(&mut cmd)
}
