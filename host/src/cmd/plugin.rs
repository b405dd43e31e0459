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
