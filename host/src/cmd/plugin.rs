//! `plugin`: check, run, list and precompile transform plugins with the provider's own runtime and limits.

use super::args::ProviderArgs;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use provider::transform::{File, StepSpec, check_component, run_file};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Validate a component against the plugin world; print its info, imports, size, digest and compile time.
    Check {
        /// The component, e.g. target/wasm32-wasip2/release/my_plugin.wasm.
        file: PathBuf,
        #[command(flatten)]
        provider: ProviderArgs,
    },
    /// Run a plugin (a loaded name or a .wasm file) exactly as a mount would, with the same limits.
    Run(RunArgs),
    /// List the plugins of the plugin directories with version and digest.
    List {
        #[command(flatten)]
        provider: ProviderArgs,
    },
    /// Compile every plugin of the plugin directories into the cache directory (used when building the image).
    Precompile {
        #[command(flatten)]
        provider: ProviderArgs,
    },
    /// Publish a component to an OCI registry (checked against the plugin world first); prints the digest to pin.
    Push(PushArgs),
    /// Pull an `oci://` plugin (a tag is resolved again), verify it and check it loads; with --plugin-cache-dir
    /// it is stored there and pinned for the provider.
    Pull(PullArgs),
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The component, e.g. target/wasm32-wasip2/release/my_plugin.wasm.
    file: PathBuf,
    /// Where to: oci://registry/repository:tag.
    reference: String,
    /// Also push a cosign-compatible signature made with this PEM PKCS#8 P-256 private key
    /// (or sign afterwards with `cosign sign --key cosign.key registry/repo@sha256:<digest>`).
    #[arg(long)]
    sign_key: Option<PathBuf>,
    #[command(flatten)]
    provider: ProviderArgs,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// oci://registry/repository:tag or oci://registry/repository@sha256:<digest>.
    reference: String,
    /// Also write the component here.
    #[arg(long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    provider: ProviderArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Plugin name (looked up in the plugin directories, `name@sha256:<hex>` pins) or a path to a .wasm file.
    plugin: String,
    /// The step's config: a YAML/JSON file, or inline YAML such as '{op: base64-decode}'.
    #[arg(long, default_value = "{}")]
    config: String,
    /// Input files; each becomes a file named after its base name.
    #[arg(long = "input", required = true)]
    inputs: Vec<PathBuf>,
    /// Write the output files here (atomically); otherwise only list them.
    #[arg(long)]
    output_dir: Option<PathBuf>,
    #[command(flatten)]
    provider: ProviderArgs,
}

pub fn run(cmd: PluginCommand) -> Result<()> {
    provider::logging::init(provider::logging::LogFormat::Text, 0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cmd {
            PluginCommand::Check { file, provider } => {
                let report = check_component(&file, &provider.plugin_limits())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                print!("{report}");
                Ok(())
            }
            PluginCommand::List { provider } | PluginCommand::Precompile { provider } => {
                let runtime = provider.transform_runtime(false)?;
                for p in runtime.plugins() {
                    println!(
                        "{:<16} {:<10} sha256:{}  {}{}",
                        p.name,
                        p.version,
                        p.digest,
                        if p.builtin { "[built-in] " } else { "" },
                        p.description
                    );
                }
                Ok(())
            }
            PluginCommand::Run(args) => run_one(args).await,
            PluginCommand::Push(args) => push(args).await,
            PluginCommand::Pull(args) => pull(args).await,
        }
    })
}

async fn run_one(args: RunArgs) -> Result<()> {
    let config_json = config_json(&args.config)?;
    let mut input = Vec::new();
    for path in &args.inputs {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: not a file name", path.display()))?;
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        input.push(File::new(name, bytes));
    }
    let files = if args.plugin.ends_with(".wasm") || Path::new(&args.plugin).exists() {
        let report = run_file(
            Path::new(&args.plugin),
            &config_json,
            input,
            &args.provider.plugin_limits(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        print!("{report}");
        report.files
    } else {
        let runtime = args.provider.transform_runtime(false)?;
        let step = StepSpec {
            plugin: args.plugin.clone(),
            config_json,
        };
        runtime
            .validate_chain(std::slice::from_ref(&step))
            .await
            .map_err(|errs| {
                anyhow::anyhow!(
                    "{}",
                    errs.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })?;
        let files = runtime
            .run_chain(&[step], input)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for f in &files {
            println!("  {}  {} bytes", f.path, f.contents.len());
        }
        files
    };
    if let Some(dir) = &args.output_dir {
        let default_mode = 0o644;
        let out: Vec<provider::mount::MountedFile> = files
            .into_iter()
            .map(|f| provider::mount::MountedFile {
                mode: f.mode.unwrap_or(default_mode),
                path: f.path,
                contents: provider::mount::Payload::new(f.contents),
            })
            .collect();
        provider::output::write_atomically(dir, &out)?;
        println!("written to {}", dir.display());
    }
    Ok(())
}

/// A runtime for registry work only: no plugin directories, the flags' cache, limits and OCI settings.
fn oci_runtime(provider: &ProviderArgs) -> Result<provider::transform::TransformRuntime> {
    provider::transform::TransformRuntime::new(provider::transform::RuntimeConfig {
        cache_dir: provider.plugin_cache_dir.clone(),
        limits: provider.plugin_limits(),
        oci: provider.oci_config()?,
        ..Default::default()
    })
    .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn push(args: PushArgs) -> Result<()> {
    let report = check_component(&args.file, &args.provider.plugin_limits())
        .map_err(|e| anyhow::anyhow!("{}: not pushed: {e}", args.file.display()))?;
    let key = match &args.sign_key {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--sign-key {}: cannot read it", path.display()))?;
            Some(
                provider::transform::oci::PrivateKey::from_pem(&text)
                    .map_err(|why| anyhow::anyhow!("--sign-key {}: {why}", path.display()))?,
            )
        }
        None => None,
    };
    let wasm = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let runtime = oci_runtime(&args.provider)?;
    let digest = runtime
        .push_oci(&args.reference, &wasm, key.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let repo = provider::transform::oci::OciReference::parse(&args.reference)
        .map_err(|e| anyhow::anyhow!(e))?
        .name();
    println!(
        "pushed {} ({} bytes; plugin {} {})",
        args.reference,
        wasm.len(),
        report.info_name,
        report.version
    );
    println!("digest: sha256:{digest}");
    if key.is_some() {
        println!("signed: tag sha256-{digest}.sig");
    }
    println!("pin it: plugin: \"{repo}@sha256:{digest}\"");
    Ok(())
}

async fn pull(args: PullArgs) -> Result<()> {
    let runtime = oci_runtime(&args.provider)?;
    let p = runtime
        .pull_oci(&args.reference)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let origin = p.oci.clone().context("not an OCI plugin")?;
    println!("pulled {}", args.reference);
    println!("  manifest digest  sha256:{}", origin.manifest_digest);
    println!("  wasm digest      sha256:{}", p.digest);
    println!(
        "  plugin           {} {}  {}",
        p.name, p.version, p.description
    );
    println!(
        "  signature        {}",
        if origin.signature_verified {
            "verified with --plugin-signature-public-key"
        } else if args.provider.plugin_signature_public_key.is_some() {
            "none (signatures are optional)"
        } else {
            "not checked (no --plugin-signature-public-key)"
        }
    );
    println!(
        "  pin it           plugin: \"{}@sha256:{}\"",
        origin.repository, origin.manifest_digest
    );
    if let Some(out) = &args.output {
        std::fs::copy(&p.path, out).with_context(|| format!("cannot write {}", out.display()))?;
        println!("  written to       {}", out.display());
    }
    Ok(())
}

/// A config given as a file or inline YAML, as JSON text.
fn config_json(arg: &str) -> Result<String> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("cannot read {arg}"))?
    } else {
        arg.to_string()
    };
    let value: serde_json::Value =
        serde_yaml_ng::from_str(&text).context("--config: not valid YAML or JSON")?;
    if !value.is_object() {
        bail!("--config must be a map (e.g. '{{op: base64-decode}}')");
    }
    Ok(value.to_string())
}
