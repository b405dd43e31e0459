//! Shared helpers: workspace paths, running cargo, building plugins, the test command.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Plugins shipped with the provider (built-in) and the example custom plugin: (package, plugin name).
pub const PLUGINS: &[(&str, &str)] = &[
    ("plugin-jmespath", "jmespath"),
    ("plugin-format", "format"),
    ("plugin-template", "template"),
    ("plugin-db-url", "db-url"),
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// `rustup target add wasm32-wasip2` (a no-op when present): RUSTUP_AUTO_INSTALL=0 machines do not install
/// targets listed in rust-toolchain files by themselves.
pub fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32-wasip2 target")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-wasip2"]))
}

/// Builds every plugin component in release mode and copies it to `target/plugins/<name>.wasm`.
pub fn build_plugins() -> Result<PathBuf> {
    ensure_wasm_target()?;
    let mut cmd = cargo();
    cmd.args(["build", "--release", "--target", "wasm32-wasip2"]);
    for (pkg, _) in PLUGINS {
        cmd.args(["-p", pkg]);
    }
    run(&mut cmd)?;
    let out = target_dir().join("plugins");
    std::fs::create_dir_all(&out)?;
    for (pkg, name) in PLUGINS {
        let built = target_dir()
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", pkg.replace('-', "_")));
        let dest = out.join(format!("{name}.wasm"));
        std::fs::copy(&built, &dest)
            .with_context(|| format!("copying {} to {}", built.display(), dest.display()))?;
    }
    eprintln!("plugins in {}", out.display());
    Ok(out)
}

/// Builds the provider and emulator binaries (debug).
///
/// `--workspace` on purpose: cargo unifies dependency features over the packages it is asked for, and
/// `cargo test --workspace` asks for all of them (the jmespath crate turns on `serde/rc`, for one). Building the
/// binaries with a narrower `-p` selection would compile serde and everything above it a second time.
pub fn build_binaries() -> Result<()> {
    run(cargo().args(["build", "--workspace", "--bins"]))
}

/// The README's test command.
pub fn test(helm: bool, sdk: bool) -> Result<()> {
    let plugins = build_plugins()?;
    let polyglot = crate::polyglot::build()?;
    // The binaries the SDK check and the chart smoke test start as separate processes.
    build_binaries()?;
    crate::polyglot::test_sources()?;
    crate::polyglot::precompile_for_tests(&polyglot)?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--no-fail-fast"])
        .env("PROVIDER_TEST_PLUGIN_DIR", &plugins)
        .env("PROVIDER_TEST_POLYGLOT_DIR", &polyglot);
    run(&mut cmd)?;
    if sdk {
        run(Command::new("bash")
            .arg(workspace_root().join("emulator/tests/sdk_compat/run.sh"))
            .current_dir(workspace_root())
            .env("ACS_EMULATOR_BIN", target_dir().join("debug/acs-emulator")))?;
    }
    if helm {
        run(Command::new("bash")
            .arg(workspace_root().join(".ci/helm.sh"))
            .current_dir(workspace_root()))?;
    }
    Ok(())
}
