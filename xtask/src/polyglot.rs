//! Plugins written in Python (componentize-py) and JavaScript (componentize-js).
//!
//! The tools are pinned by `requirements.txt` / `package-lock.json` in each example and installed under
//! `target/polyglot/{py,js}` (never globally), so a fresh machine needs only python3 and node. The components go to
//! `target/polyglot/plugins/<name>.wasm`, apart from `target/plugins`: every test loading the built-ins would
//! otherwise compile two interpreters (tens of seconds each).
//!
//! Both builds stub out WASI at build time, so the components import only the plugin contract and the host's
//! import allow list stays as strict as for Rust plugins.

use anyhow::{Context, Result, bail};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::util::{run, target_dir, workspace_root};

/// Python examples: (directory under examples/plugins = plugin name, entry module).
const PYTHON: &[(&str, &str)] = &[("py-db-ini", "app")];
/// JavaScript examples: (directory under examples/plugins = plugin name, entry file).
const JAVASCRIPT: &[(&str, &str)] = &[("js-spring-datasource", "plugin.js")];

/// Where the components are written.
pub fn plugin_dir() -> PathBuf {
    target_dir().join("polyglot/plugins")
}

/// Installs the pinned tools (when their pins changed) and builds every example whose sources changed. The two
/// languages build side by side: each tool is mostly single-threaded, and on a cold 2-core machine this halves
/// the wall time.
pub fn build() -> Result<PathBuf> {
    let out = plugin_dir();
    std::fs::create_dir_all(&out)?;
    let started = Instant::now();
    let (py, js) = std::thread::scope(|s| {
        let py = s.spawn(|| build_python(&out));
        let js = s.spawn(|| build_javascript(&out));
        (join(py), join(js))
    });
    py.context("building the Python plugins")?;
    js.context("building the JavaScript plugins")?;
    eprintln!(
        "polyglot plugins in {} ({:.1} s)",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

fn join(handle: std::thread::ScopedJoinHandle<'_, Result<()>>) -> Result<()> {
    handle
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the build thread panicked")))
}

fn build_python(out: &Path) -> Result<()> {
    let py = python_tool()?;
    for (name, module) in PYTHON {
        let src = example(name);
        let wasm = out.join(format!("{name}.wasm"));
        rebuild_if_changed(&wasm, &src, &py, || {
            run(Command::new(&py.bin)
                .arg("-d")
                .arg(workspace_root().join("wit"))
                // Every WASI import becomes a trap: the component imports only the plugin contract.
                .args(["-w", "transform-plugin", "componentize", "--stub-wasi"])
                .arg("-p")
                .arg(&src)
                .arg(module)
                .arg("-o")
                .arg(&wasm))
        })?;
    }
    Ok(())
}

fn build_javascript(out: &Path) -> Result<()> {
    let js = javascript_tool()?;
    for (name, entry) in JAVASCRIPT {
        let src = example(name);
        let wasm = out.join(format!("{name}.wasm"));
        rebuild_if_changed(&wasm, &src, &js, || {
            run(Command::new("node")
                .arg(&js.bin)
                .arg("--wit")
                .arg(workspace_root().join("wit"))
                .args(["-n", "transform-plugin"])
                // Every engine feature off: no stdio, random, clocks or http imports, only the contract.
                .args(["-d", "stdio", "random", "clocks", "http", "fetch-event"])
                .arg("-o")
                .arg(&wasm)
                .arg(src.join(entry)))
        })?;
    }
    Ok(())
}

/// Each language's own tests of the example logic, with the plain interpreters (no wasm).
pub fn test_sources() -> Result<()> {
    for (name, _) in PYTHON {
        run(Command::new("python3")
            .args(["-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."])
            .current_dir(example(name)))?;
    }
    for (name, _) in JAVASCRIPT {
        run(Command::new("node")
            .args(["--test", "test/"])
            .current_dir(example(name)))?;
    }
    Ok(())
}

fn example(name: &str) -> PathBuf {
    workspace_root().join("examples/plugins").join(name)
}

/// An installed build tool and a fingerprint of its pins (part of each component's fingerprint).
struct Tool {
    bin: PathBuf,
    pins: u64,
}

/// componentize-py in a venv under target/polyglot/py, reinstalled when `requirements.txt` changes.
fn python_tool() -> Result<Tool> {
    let req = example(PYTHON[0].0).join("requirements.txt");
    let pins = fingerprint(&[&req])?;
    let venv = target_dir().join("polyglot/py");
    let bin = venv.join("bin/componentize-py");
    let stamp = venv.join(".pins");
    if !bin.exists() || read_stamp(&stamp) != Some(pins) {
        let started = Instant::now();
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .context("python3 with the venv module is needed to build Python plugins")?;
        run(Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&req))?;
        std::fs::write(&stamp, pins.to_string())?;
        eprintln!(
            "installed componentize-py in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Tool { bin, pins })
}

/// componentize-js from the example's lockfile (`npm ci`) under target/polyglot/js.
fn javascript_tool() -> Result<Tool> {
    let src = example(JAVASCRIPT[0].0);
    let (manifest, lock) = (src.join("package.json"), src.join("package-lock.json"));
    let pins = fingerprint(&[&manifest, &lock])?;
    let prefix = target_dir().join("polyglot/js");
    let bin = prefix.join("node_modules/@bytecodealliance/componentize-js/src/cli.js");
    let stamp = prefix.join(".pins");
    if !bin.exists() || read_stamp(&stamp) != Some(pins) {
        let started = Instant::now();
        std::fs::create_dir_all(&prefix)?;
        std::fs::copy(&manifest, prefix.join("package.json"))?;
        std::fs::copy(&lock, prefix.join("package-lock.json"))?;
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&prefix))
        .context("node and npm are needed to build JavaScript plugins")?;
        std::fs::write(&stamp, pins.to_string())?;
        eprintln!(
            "installed componentize-js in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    if !bin.exists() {
        bail!("npm ci did not install {}", bin.display());
    }
    Ok(Tool { bin, pins })
}

/// Runs `build` unless `wasm` was built from the same sources, WIT and tool pins (a componentize run takes 30-80 s).
fn rebuild_if_changed(
    wasm: &Path,
    src: &Path,
    tool: &Tool,
    build: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let mut inputs = sources(src)?;
    inputs.push(workspace_root().join("wit/transform.wit"));
    let inputs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let key = fingerprint(&inputs)? ^ tool.pins;
    let stamp = wasm.with_extension("wasm.inputs");
    if wasm.exists() && read_stamp(&stamp) == Some(key) {
        eprintln!("{} is up to date", wasm.display());
        return Ok(());
    }
    let started = Instant::now();
    build()?;
    std::fs::write(&stamp, key.to_string())?;
    eprintln!(
        "built {} ({} bytes) in {:.1} s",
        wasm.display(),
        std::fs::metadata(wasm)?.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The example's source files (`.py`/`.js`, tests excluded), sorted.
fn sources(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("py" | "js")))
        .collect();
    files.sort();
    Ok(files)
}

/// Content fingerprint of files (a rebuild stamp, not a security check).
fn fingerprint(files: &[&Path]) -> Result<u64> {
    let mut h = DefaultHasher::new();
    for f in files {
        f.file_name().hash(&mut h);
        std::fs::read(f)
            .with_context(|| format!("reading {}", f.display()))?
            .hash(&mut h);
    }
    Ok(h.finish())
}

fn read_stamp(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Compiles the interpreter components once into the tests' shared cache (`target/test-plugin-cache`, the
/// harness's `plugin_cache_dir`) with the debug provider binary, so the test binaries only load them instead of
/// each compiling tens of MB of wasm with a debug build of cranelift at the same time.
pub fn precompile_for_tests(dir: &Path) -> Result<()> {
    let started = Instant::now();
    run(
        Command::new(target_dir().join("debug/csi-provider-alibabacloud"))
            .args(["plugin", "precompile", "--plugin-dir"])
            .arg(dir)
            .arg("--plugin-cache-dir")
            .arg(target_dir().join("test-plugin-cache"))
            .env_remove("RUST_LOG"),
    )?;
    eprintln!(
        "precompiled the polyglot plugins in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
