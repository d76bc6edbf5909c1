//! The command line of the `gatehouse` binary (also reached through `cargo xtask <command>`).
//!
//! Manners of kubectl and helm: Kubernetes objects on stdout, messages on stderr, `-f -` reads
//! stdin, `-o yaml|json`, colours only on a terminal and never with `NO_COLOR`, exit codes of
//! `kubectl diff` for `diff`.
//!
//! With the feature `cli-render` alone (what `cargo xtask` compiles) the cluster commands
//! ([`CLUSTER_COMMANDS`]) are left out, and with them kube and tokio; the feature `cli` (the
//! `gatehouse` binary) has every command.

mod chart_check;
#[cfg(feature = "cli")]
mod cluster;
mod config;
mod error;
mod fleet;
#[cfg(feature = "cli")]
mod fleet_deploy;
mod out_dir;
#[cfg(feature = "cli")]
mod progress;
mod render;
mod shown;

/// The commands that talk to a cluster: compiled only with the feature `cli` (kube, tokio).
pub const CLUSTER_COMMANDS: [&str; 4] = ["diff", "deploy", "destroy", "status"];

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

pub use error::CliError;

/// gatehouse: a Gravitee hybrid gateway with a highly available Redis (Sentinel) on Kubernetes.
#[derive(Parser, Debug)]
#[command(name = "gatehouse", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    globals: Globals,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render the Kubernetes objects (stdout, pipeable to `kubectl apply -f -`), the Helm values
    /// (`--values-only`), or both (`--all`); or write them as files (`--out DIR`).
    Render(render::RenderArgs),
    /// Check a config file and print every problem (exit 1 when it has errors).
    Validate(render::ValidateArgs),
    /// Print the JSON schema of the config file.
    Schema {
        /// Write it to this file instead of stdout (`-`: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    #[cfg(feature = "cli")]
    /// Show what deploy would change (exit 0: nothing, 1: changes, 2: error). Secret values
    /// are never shown and need not be set.
    Diff(cluster::DiffArgs),
    #[cfg(feature = "cli")]
    /// Apply to a cluster: server dry-run of everything, then server-side apply in order, wait,
    /// release the gateway.
    Deploy(cluster::DeployArgs),
    #[cfg(feature = "cli")]
    /// Delete the release and every object gatehouse deployed (asks unless --yes).
    Destroy(cluster::DestroyArgs),
    #[cfg(feature = "cli")]
    /// Readiness of the workloads, the Redis master each Sentinel reports, and drift (exit 0:
    /// healthy, 1: not, 2: error).
    Status(cluster::StatusArgs),
    /// Many clusters from one fleet file: render its GitOps directory (Flux or Argo CD), see what
    /// a change does per wave, deploy a wave directly.
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// Check a Helm values file against the graviteeio/apim chart contract (and render the chart).
    ChartCheck(chart_check::Args),
    /// Print a shell completion script (`gatehouse completions bash > /etc/bash_completion.d/gatehouse`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `-o`: the output format of render, validate and diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

impl Output {
    /// `value` as data in this format: pretty JSON with a final newline, or YAML (written from
    /// its JSON value).
    pub(crate) fn data(self, value: &impl serde::Serialize) -> String {
        let json = || serde_json::to_value(value).expect("output serializes");
        match self {
            Output::Json => {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(value).expect("output serializes")
                )
            }
            Output::Yaml => serde_saphyr::to_string(&json()).expect("output serializes as YAML"),
        }
    }
}

/// Global options every command may use.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Globals {
    /// kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context (default: its current-context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the deployment, overriding the config file's `namespace`.
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// Runs the command line with these arguments (the first is the program name) and returns the
/// exit code. Errors are printed once, on stderr.
pub fn main(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    main_named("gatehouse", args)
}

/// [`main`] with another program name in usage lines (`cargo xtask`).
pub fn main_named(
    name: &'static str,
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> ExitCode {
    let color = stream_color(std::io::stderr().is_terminal());
    let command = Cli::command().name(name).bin_name(name).color(if color {
        clap::ColorChoice::Auto
    } else {
        clap::ColorChoice::Never
    });
    let matches = command.get_matches_from(args);
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    install_report_hook();
    let error_code = match &cli.command {
        #[cfg(feature = "cli")]
        Command::Diff(_) | Command::Status(_) => 2,
        Command::Fleet(fleet::FleetCommand::Diff(_)) => 2,
        _ => 1,
    };
    match run(cli.command, &cli.globals, name) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{:?}", miette::Report::new(error));
            ExitCode::from(error_code)
        }
    }
}

fn run(command: Command, globals: &Globals, name: &str) -> Result<ExitCode, CliError> {
    match command {
        Command::Render(args) => render::render(args, globals),
        Command::Validate(args) => render::validate(args, globals),
        Command::Schema { out } => render::schema(out.as_deref()),
        #[cfg(feature = "cli")]
        Command::Diff(args) => cluster::diff(args, globals),
        #[cfg(feature = "cli")]
        Command::Deploy(args) => cluster::deploy(args, globals),
        #[cfg(feature = "cli")]
        Command::Destroy(args) => cluster::destroy(args, globals),
        #[cfg(feature = "cli")]
        Command::Status(args) => cluster::status(args, globals),
        Command::Fleet(command) => fleet::run(command, globals),
        Command::ChartCheck(args) => chart_check::run(args, globals),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Sets how errors are drawn (once per process; later calls keep the first): colours and unicode
/// only on a terminal, wrapped to its width there and one line per message in a log or a pipe,
/// so that a grep finds it whole.
fn install_report_hook() {
    let terminal = std::io::stderr().is_terminal();
    let color = stream_color(terminal);
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .unicode(color)
                .wrap_lines(terminal)
                .build(),
        )
    }));
}

/// Prints an error on stderr the way the `gatehouse` command does: the message, each problem with
/// its field and its fix, through miette; never a Rust debug structure. For programs built on the
/// library (see `examples/deploy.rs`).
pub fn print_error(error: impl Into<CliError>) {
    install_report_hook();
    eprintln!("{:?}", miette::Report::new(error.into()));
}

/// Whether to colour a stream: only a terminal, and never when `NO_COLOR` is set (non-empty).
pub(crate) fn stream_color(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[cfg(all(test, feature = "cli"))]
mod cluster_commands_tests {
    use clap::Parser;

    /// `cargo xtask` sends these to the whole command line: each must be one of its commands.
    #[test]
    fn every_cluster_command_is_a_command_of_the_whole_command_line() {
        for command in super::CLUSTER_COMMANDS {
            let error = super::Cli::try_parse_from(["gatehouse", command, "--help"])
                .expect_err("--help stops parsing");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp,
                "{command}: {error}"
            );
        }
    }
}
