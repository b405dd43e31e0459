//! `cargo xtask bench [--smoke]`: the provider benchmark (`host/benches/provider.rs`).
//!
//! The full run builds release binaries and the bench target in the bench profile; its figures go to
//! docs/benchmarks.md. `--smoke` is for CI: it uses the debug binaries CI already builds for the tests and
//! runs the bench target in the test profile with a few iterations. It checks that every measurement runs
//! end to end (processes start, mounts succeed, counters are read), not how fast: debug figures are
//! meaningless and labelled so.

use crate::util::{build_binaries, build_plugins, cargo, run as exec, target_dir};
use anyhow::Result;

pub fn run(smoke: bool) -> Result<()> {
    let plugins = build_plugins()?;
    if smoke {
        build_binaries()?;
    } else {
        exec(cargo().args([
            "build",
            "--release",
            "-p",
            "csi-provider-alibabacloud",
            "-p",
            "acs-emulator",
        ]))?;
    }
    let target = target_dir();
    let out = target
        .join("bench")
        .join(if smoke { "smoke.json" } else { "results.json" });
    let mut cmd = cargo();
    if smoke {
        // `--workspace` keeps the dependency features of `cargo test --workspace`: nothing is rebuilt.
        cmd.args(["test", "--workspace", "--bench", "provider", "--"])
            .arg("--bin-dir")
            .arg(target.join("debug"))
            .arg("--smoke");
    } else {
        cmd.args([
            "bench",
            "-p",
            "csi-provider-alibabacloud",
            "--bench",
            "provider",
            "--",
        ])
        .arg("--bin-dir")
        .arg(target.join("release"));
    }
    cmd.arg("--plugins").arg(&plugins).arg("--out").arg(&out);
    exec(&mut cmd)
}
