//! `cargo xtask`: developer commands of the gatehouse workspace (benchmarks, the failover report,
//! regenerating checked-in files, exactly what CI runs), plus every user command of the
//! `gatehouse` binary as an alias (`cargo xtask render` = `gatehouse render`).

mod bench;
mod failover_report;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatehouse_testkit::workspace_root;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "gatehouse developer commands",
    after_help = "Every command of the `gatehouse` binary also works here: cargo xtask render | validate | diff | deploy | destroy | status | chart-check | completions (see `cargo xtask render --help`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Time gatehouse against Helm, kustomize and cdk8s on the same objects, in one run.
    Bench(bench::Args),
    /// Measure Redis Sentinel failover on real processes from the rendered config, N runs.
    FailoverReport(failover_report::Args),
    /// Regenerate the checked-in files derived from the code (schema/gatehouse.schema.json);
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
}

/// The developer commands; everything else goes to the `gatehouse` command line.
const DEVELOPER_COMMANDS: [&str; 9] = [
    "bench",
    "failover-report",
    "codegen",
    "chart-import",
    "schema",
    "ci",
    "help",
    "--help",
    "-h",
];

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let first = args.get(1).and_then(|a| a.to_str());
    if first.is_some_and(|a| !DEVELOPER_COMMANDS.contains(&a)) {
        return gatehouse::cli::main_named("cargo xtask", args);
    }
    let cli = Cli::parse_from(args);
    let result = match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::FailoverReport(args) => failover_report::run(args),
        Command::Codegen => codegen(),
        Command::ChartImport { values, version } => chart_import(&values, &version),
        Command::Ci => ci(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the checked-in derived files; the tests fail while they are stale.
fn codegen() -> Result<(), String> {
    let out = workspace_root().join("schema/gatehouse.schema.json");
    std::fs::write(&out, gatehouse_model::json_schema())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    eprintln!("wrote {}", out.display());
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
