//! `fleet`: one base deployment on many clusters. `fleet render` writes the GitOps repository for
//! Flux or Argo CD, `fleet diff` says per wave what a change of the fleet file does to the
//! directory rendered before, `fleet deploy` (full CLI) deploys wave by wave through kubeconfig
//! contexts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use gatehouse_model::{Delivery, ValidFleet};
use gatehouse_render::fleet::diff::{FleetChange, fleet_change};

use super::config::Source;
use super::error::{CliError, io, read_file};
use super::{Globals, Output, out_dir};

/// `fleet` subcommands.
#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Write the fleet's GitOps directory: one directory per cluster, plus the engine's objects
    /// (Flux: GitRepository and Kustomizations; Argo CD: AppProject and ApplicationSet).
    Render(RenderArgs),
    /// Per wave and cluster, what rendering the fleet file would change in a directory rendered
    /// before (exit 0: nothing, 1: changes, 2: error), and which pods roll.
    Diff(DiffArgs),
    /// Check a fleet file for an engine and print every problem (exit 1 when it has errors).
    Validate(ValidateArgs),
    /// Print the JSON schema of the fleet file.
    Schema,
    #[cfg(feature = "cli")]
    /// Deploy the clusters of a wave (or every wave, in order) through their kubeconfig contexts,
    /// a few at a time; succeeds only when every one is healthy, and never starts the next wave
    /// otherwise.
    Deploy(super::fleet_deploy::DeployArgs),
}

/// The GitOps engine a fleet is rendered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// Flux (kustomize-controller and helm-controller).
    Flux,
    /// Argo CD (ApplicationSet controller with progressive syncs).
    Argocd,
}

impl Engine {
    fn delivery(self) -> Delivery {
        match self {
            Engine::Flux => Delivery::Flux,
            Engine::Argocd => Delivery::ArgoCd,
        }
    }
}

/// The fleet file.
#[derive(Args, Debug, Clone)]
pub struct FleetInput {
    /// Fleet file (YAML; `gatehouse fleet schema` prints its schema).
    #[arg(short = 'f', long = "fleet", value_name = "FILE")]
    pub file: PathBuf,
}

/// Arguments of `fleet render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    input: FleetInput,
    /// The directory to write (new, empty, or written by gatehouse before; its earlier files are
    /// replaced). Commit it at the fleet's `gitops.path` in `gitops.repository`.
    #[arg(long, value_name = "DIR")]
    gitops: PathBuf,
    /// The GitOps engine.
    #[arg(long, value_enum)]
    engine: Engine,
}

/// Arguments of `fleet diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    input: FleetInput,
    /// The directory rendered before (as committed).
    dir: PathBuf,
    /// The GitOps engine the directory was rendered for.
    #[arg(long, value_enum)]
    engine: Engine,
    /// Print the change as data instead of text.
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<Output>,
}

/// Arguments of `fleet validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    input: FleetInput,
    /// What the fleet is checked for: an engine, or `direct` for `fleet deploy`.
    #[arg(long, value_enum)]
    engine: Option<Engine>,
}

/// Reads and validates a fleet file for `delivery`, every problem located in the file.
pub(crate) fn load(
    input: &FleetInput,
    delivery: Delivery,
    globals: &Globals,
) -> Result<ValidFleet, CliError> {
    let text = read_file(&input.file)?;
    let source = Source::of_text(input.file.display().to_string(), text);
    let text = source.text().unwrap_or_default();
    let fleet = match gatehouse_model::fleet_from_yaml_str(text, source.origin()) {
        Ok(fleet) => fleet,
        Err(gatehouse_model::FleetConfigError::Syntax(error)) => {
            return Err(CliError::Config(source.unreadable(error).diagnostics()));
        }
        Err(other) => unreachable!("reading alone only fails on syntax: {other}"),
    };
    match fleet.validated(delivery) {
        Ok(valid) => {
            source.located(valid.warnings(), globals).warn_or_fail()?;
            Ok(valid)
        }
        Err(error) => {
            source.located(&error.problems, globals).warn_or_fail()?;
            unreachable!("a fleet with errors fails above")
        }
    }
}

/// Runs a `fleet` subcommand.
pub fn run(command: FleetCommand, globals: &Globals) -> Result<ExitCode, CliError> {
    match command {
        FleetCommand::Render(args) => render(args, globals),
        FleetCommand::Diff(args) => diff(args, globals),
        FleetCommand::Validate(args) => {
            let delivery = args.engine.map_or(Delivery::Direct, Engine::delivery);
            let valid = load(&args.input, delivery, globals)?;
            eprintln!(
                "valid: {} clusters in {} waves ({} warning(s))",
                valid.clusters().len(),
                valid.last_wave(),
                valid.warnings().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        #[cfg(feature = "cli")]
        FleetCommand::Deploy(args) => super::fleet_deploy::deploy(args, globals),
        FleetCommand::Schema => {
            super::render::stdout_write(&gatehouse_model::fleet_json_schema())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn render(args: RenderArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let valid = load(&args.input, args.engine.delivery(), globals)?;
    let files = gatehouse_render::fleet::fleet_files(&valid);
    let written = out_dir::write_files(&args.gitops, &files)?;
    eprintln!(
        "wrote {written} files for {} clusters in {} waves to {}",
        valid.clusters().len(),
        valid.last_wave(),
        args.gitops.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Every file under `dir` that gatehouse wrote there (listed in its marker), by relative path.
fn written_files(dir: &Path) -> Result<BTreeMap<String, String>, CliError> {
    let marker = dir.join(out_dir::MARKER);
    let list = read_file(&marker)?;
    let mut files = BTreeMap::new();
    for name in list.lines().map(str::trim) {
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                files.insert(name.to_string(), text);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("read", &path)(e)),
        }
    }
    Ok(files)
}

fn diff(args: DiffArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let valid = load(&args.input, args.engine.delivery(), globals)?;
    let new = gatehouse_render::fleet::fleet_files(&valid);
    let old = written_files(&args.dir)?;
    let change = fleet_change(&valid, &new, &old);
    let text = match args.output {
        Some(format) => format.data(&change),
        None => describe(&change, valid.last_wave()),
    };
    super::render::stdout_write(&text)?;
    Ok(ExitCode::from(u8::from(!change.is_empty())))
}

/// The change in words: a line per wave, then a line per changed cluster.
pub(crate) fn describe(change: &FleetChange, last_wave: u32) -> String {
    let mut text = String::new();
    for wave in 1..=last_wave {
        let changed: Vec<_> = change.wave(wave).filter(|c| !c.files.is_empty()).collect();
        if changed.is_empty() {
            text.push_str(&format!("wave {wave}: unchanged\n"));
            continue;
        }
        let rolls: std::collections::BTreeSet<_> = changed
            .iter()
            .flat_map(|c| c.rolls.iter().copied())
            .collect();
        let rolls = if rolls.is_empty() {
            "no pods roll".to_string()
        } else {
            let words: Vec<&str> = rolls.iter().map(|r| r.as_str()).collect();
            format!("{} roll", words.join(", "))
        };
        let n = changed.len();
        let noun = if n == 1 { "cluster" } else { "clusters" };
        text.push_str(&format!("wave {wave}: {n} {noun}, {rolls}\n"));
        for c in changed {
            let what = if c.new {
                "new".to_string()
            } else if c.rolls.is_empty() {
                format!("{} file(s) change, no pods roll", c.files.len())
            } else {
                let words: Vec<&str> = c.rolls.iter().map(|r| r.as_str()).collect();
                format!(
                    "{} file(s) change, {} roll",
                    c.files.len(),
                    words.join(", ")
                )
            };
            text.push_str(&format!("  {}: {what}\n", c.cluster));
        }
    }
    for removed in &change.removed {
        text.push_str(&format!(
            "removed: {removed} (its objects are pruned when the engine reconciles)\n"
        ));
    }
    if !change.engine_files.is_empty() {
        text.push_str(&format!(
            "engine files: {}\n",
            change.engine_files.join(", ")
        ));
    }
    text
}
