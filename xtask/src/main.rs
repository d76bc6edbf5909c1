//! `cargo xtask`: developer commands of the gatehouse workspace (benchmarks, the failover report,
//! regenerating checked-in files, exactly what CI runs, build times), plus every user command of
//! the `gatehouse` binary as an alias (`cargo xtask render` = `gatehouse render`).
//!
//! This package stays light: `cargo xtask render` is a user's first command, so it compiles only
//! what rendering needs. Commands that need more run another package with `cargo run` ([`route`]):
//! the cluster commands (and `completions`, which must list them) run the whole `gatehouse`
//! command line, `bench` and `failover-report` run `xtask-devtools` (criterion, the Redis harness,
//! the mock API server). Their exit status is passed through.

mod build_times;
#[cfg(test)]
mod test_files;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse_testkit::workspace_root;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "gatehouse developer commands",
    after_help = "Every command of the `gatehouse` binary also works here: cargo xtask render | validate | diff | deploy | destroy | status | chart-check | completions (see `cargo xtask render --help`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time gatehouse against Helm, kustomize and cdk8s on the same objects, in one run
    /// (runs `xtask-devtools`; `cargo xtask bench --help` for its options).
    Bench {
        /// Its options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Measure Redis Sentinel failover on real processes from the rendered config, N runs
    /// (runs `xtask-devtools`; `cargo xtask failover-report --help` for its options).
    FailoverReport {
        /// Its options.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Regenerate the checked-in files derived from the code (schema/gatehouse.schema.json, schema/gatehouse-fleet.schema.json);
    /// `cargo xtask schema` is the same (`gatehouse schema` prints the schema instead).
    #[command(alias = "schema")]
    Codegen,
    /// Write crates/chart-contract/contract/apim-<MAJOR.MINOR>.yaml from an upstream chart
    /// values.yaml: the key paths it declares (commented-out examples included) and their types,
    /// never upstream text. Build afterwards: the build names every emitted key the chart dropped.
    ChartImport {
        /// The chart's values.yaml.
        values: PathBuf,
        /// The exact chart version the file comes from (MAJOR.MINOR.PATCH, e.g. 4.12.17).
        #[arg(long)]
        version: String,
    },
    /// Run exactly what CI runs (`bash .ci/run`: installs, fmt, clippy, tests).
    Ci,
    /// Time README's first command and test command (and `.ci/run` with --ci) from a fresh clone
    /// of HEAD with an empty target directory, and print README's build-time rows.
    BuildTimes(build_times::Args),
}

/// The developer commands this package parses itself (the help flags show its help).
const DEVELOPER_COMMANDS: [&str; 9] = [
    "codegen",
    "chart-import",
    "schema",
    "ci",
    "build-times",
    "help",
    "--help",
    "-h",
    // With no command at all clap prints the usage.
    "",
];

/// The developer commands of `xtask-devtools`.
const DEVTOOLS_COMMANDS: [&str; 2] = ["bench", "failover-report"];

/// Where a command line goes.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// This package's own commands.
    Developer,
    /// The render-only `gatehouse` command line, in this process.
    RenderCli,
    /// `cargo run --package <package> -- <the arguments>`.
    Cargo(&'static str),
}

/// Chooses where the arguments (without the program name) go, by their first word.
fn route(first: Option<&OsStr>) -> Route {
    let first = first.map(|a| a.to_str().unwrap_or("?")).unwrap_or("");
    if DEVELOPER_COMMANDS.contains(&first) {
        Route::Developer
    } else if DEVTOOLS_COMMANDS.contains(&first) {
        Route::Cargo("xtask-devtools")
    } else if gatehouse::cli::CLUSTER_COMMANDS.contains(&first) || first == "completions" {
        // `completions` of the whole command line: the script must offer the cluster commands.
        Route::Cargo("gatehouse")
    } else {
        Route::RenderCli
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    match route(args.get(1).map(OsString::as_os_str)) {
        Route::RenderCli => gatehouse::cli::main_named("cargo xtask", args),
        Route::Cargo(package) => cargo_run(package, &args[1..]),
        Route::Developer => {
            let result = match Cli::parse_from(args).command {
                // Routed to xtask-devtools before parsing; listed in the help.
                Command::Bench { args } => return devtools("bench", args),
                Command::FailoverReport { args } => return devtools("failover-report", args),
                Command::Codegen => codegen(),
                Command::ChartImport { values, version } => chart_import(&values, &version),
                Command::Ci => ci(),
                Command::BuildTimes(args) => build_times::run(args),
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("{message}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `cargo run --package <package> -- <args>` in this workspace, from the current directory (so
/// relative paths in the arguments keep their meaning); returns its exit status. Quiet once the
/// binary exists; the first build shows cargo's progress (it compiles kube, tokio, ...).
fn cargo_run(package: &str, args: &[OsString]) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut command = std::process::Command::new(&cargo);
    command.arg("run");
    if target.join("debug").join(package).exists() {
        command.arg("--quiet");
    }
    command
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .args(["--package", package, "--bin", package, "--"])
        .args(args);
    match command.status() {
        Ok(status) => match status.code() {
            Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            // Killed by a signal: the shell's convention.
            None => ExitCode::from(128 + signal(&status).unwrap_or(0)),
        },
        Err(e) => {
            eprintln!(
                "cannot run `{} run --package {package}`: {e}",
                Path::new(&cargo).display()
            );
            ExitCode::FAILURE
        }
    }
}

fn devtools(command: &str, args: Vec<OsString>) -> ExitCode {
    let mut all = vec![OsString::from(command)];
    all.extend(args);
    cargo_run("xtask-devtools", &all)
}

fn signal(status: &std::process::ExitStatus) -> Option<u8> {
    use std::os::unix::process::ExitStatusExt;
    status.signal().and_then(|s| u8::try_from(s).ok())
}

/// Writes the checked-in derived files; the tests fail while they are stale.
fn codegen() -> Result<(), String> {
    for (file, schema) in [
        (
            "schema/gatehouse.schema.json",
            gatehouse_model::json_schema(),
        ),
        (
            "schema/gatehouse-fleet.schema.json",
            gatehouse_model::fleet_json_schema(),
        ),
    ] {
        let out = workspace_root().join(file);
        std::fs::write(&out, schema).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// `cargo xtask chart-import`.
fn chart_import(values: &Path, version: &str) -> Result<(), String> {
    use gatehouse_chart_contract::import;
    let text = std::fs::read_to_string(values)
        .map_err(|e| format!("cannot read {}: {e}", values.display()))?;
    let declared = import::declared_from_values_yaml(&text, version)
        .map_err(|e| format!("{}: {e}", values.display()))?;
    let out = import::contract_file(&declared.version);
    std::fs::write(&out, import::to_yaml(&declared))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!(
        "wrote {} ({} paths); list the line in contract/emitted.yaml `versions` if it is new",
        out.display(),
        declared.paths.len()
    );
    Ok(())
}

/// `bash .ci/run` in the workspace root, with its exit status.
fn ci() -> Result<(), String> {
    let status = std::process::Command::new("bash")
        .arg(".ci/run")
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot run bash .ci/run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(".ci/run failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(first: &str) -> Route {
        route(Some(OsStr::new(first)))
    }

    #[test]
    fn every_command_goes_to_the_program_that_has_it() {
        for command in [
            "render",
            "validate",
            "chart-check",
            "--version",
            "-V",
            "nonsense",
        ] {
            assert_eq!(routed(command), Route::RenderCli, "{command}");
        }
        for command in ["diff", "deploy", "destroy", "status", "completions"] {
            assert_eq!(routed(command), Route::Cargo("gatehouse"), "{command}");
        }
        for command in ["bench", "failover-report"] {
            assert_eq!(routed(command), Route::Cargo("xtask-devtools"), "{command}");
        }
        for command in [
            "codegen",
            "schema",
            "chart-import",
            "ci",
            "build-times",
            "--help",
        ] {
            assert_eq!(routed(command), Route::Developer, "{command}");
        }
        assert_eq!(route(None), Route::Developer);
    }

    #[test]
    fn the_developer_commands_parse_here() {
        for command in DEVELOPER_COMMANDS.iter().filter(|c| !c.starts_with('-')) {
            if command.is_empty() || *command == "help" {
                continue;
            }
            let parsed = Cli::try_parse_from(["cargo xtask", command, "--help"]);
            let error = parsed.err().expect("--help stops parsing");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp,
                "{command}: {error}"
            );
        }
    }
}
