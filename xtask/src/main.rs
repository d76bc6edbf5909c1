//! `cargo xtask`: the gatehouse command line.

mod bench;
mod chart_check;
mod deploy;
mod failover_report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use gatehouse_model::Deployment;
use gatehouse_render::Format;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "gatehouse: a Gravitee hybrid gateway with Redis Sentinel"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render the deployment: Kubernetes objects in apply order, then the Helm values.
    Render {
        /// Config file (YAML); the built-in example when absent.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write `manifests/*.yaml` and `values.yaml` into this directory instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output format on stdout.
        #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
        output: OutputFormat,
        /// Write the objects plus a Flux HelmRepository/HelmRelease and a kustomization.yaml into
        /// this directory (a GitOps repository; no Secrets).
        #[arg(long, conflicts_with = "out")]
        gitops: Option<PathBuf>,
    },
    /// Write the JSON schema of the config file to schema/gatehouse.schema.json.
    Schema {
        /// Where to write it (default: schema/gatehouse.schema.json in the workspace).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Time gatehouse against Helm, kustomize and cdk8s on the same objects, in one run.
    Bench(bench::Args),
    /// Check a Helm values file against the graviteeio/apim chart contract (and render the chart).
    ChartCheck(chart_check::Args),
    /// Apply to a cluster: server dry-run of everything, then server-side apply in order, wait, release.
    Deploy(deploy::DeployArgs),
    /// Show what deploy would change (exit 0: nothing, 1: changes, 2: error).
    Diff(deploy::DiffArgs),
    /// Delete the release and every object gatehouse deployed (asks unless --yes).
    Destroy(deploy::DestroyArgs),
    /// Measure Redis Sentinel failover on real processes from the rendered config, N runs.
    FailoverReport(failover_report::Args),
    /// Check a config file and print every problem.
    Validate {
        /// Config file (YAML); the built-in example when absent.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Yaml,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Render {
            config,
            out,
            output,
            gitops,
        } => {
            let valid = load(config.as_deref())?;
            let rendered = gatehouse_render::render(&valid);
            if let Some(dir) = gitops {
                return deploy::write_gitops(&rendered, &dir);
            }
            match out {
                Some(dir) => {
                    let written = write_files(&dir, &rendered.files())?;
                    eprintln!("wrote {written} files to {}", dir.display());
                }
                None => {
                    let format = match output {
                        OutputFormat::Yaml => Format::Yaml,
                        OutputFormat::Json => Format::Json,
                    };
                    print!("{}", rendered.to_text(format));
                }
            }
            Ok(())
        }
        Command::Schema { out } => {
            let out = out.unwrap_or_else(|| workspace_root().join("schema/gatehouse.schema.json"));
            std::fs::write(&out, gatehouse_model::json_schema())
                .map_err(|e| format!("{}: {e}", out.display()))?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::Bench(args) => bench::run(args),
        Command::ChartCheck(args) => chart_check::run(args),
        Command::FailoverReport(args) => failover_report::run(args),
        Command::Deploy(args) => deploy::deploy(args),
        Command::Diff(args) => std::process::exit(deploy::diff(args)),
        Command::Destroy(args) => deploy::destroy(args),
        Command::Validate { config } => {
            let valid = load(config.as_deref())?;
            eprintln!("valid ({} warning(s))", valid.warnings().len());
            Ok(())
        }
    }
}

/// Writes `relative path → content` files under `dir`, creating directories; returns how many.
fn write_files(
    dir: &Path,
    files: &std::collections::BTreeMap<String, String>,
) -> Result<usize, String> {
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(files.len())
}

/// The workspace root (the parent of the xtask crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Reads and validates a config file (or the built-in example), printing warnings.
fn load(config: Option<&Path>) -> Result<gatehouse_model::ValidDeployment, String> {
    let valid = match config {
        None => Deployment::guide_example()
            .validated()
            .map_err(|e| e.to_string())?,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            gatehouse_model::load_yaml_str(&text, &path.display().to_string())
                .map_err(|e| e.to_string())?
        }
    };
    for warning in valid.warnings() {
        eprintln!("{warning}");
    }
    Ok(valid)
}
