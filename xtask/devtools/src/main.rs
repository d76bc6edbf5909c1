//! The heavy developer commands of the gatehouse workspace: `cargo xtask bench` and
//! `cargo xtask failover-report` run this binary (`cargo run -p xtask-devtools -- <command>`).
//! They live apart from `xtask` so that `cargo xtask render`, a user's first command, compiles
//! neither criterion, the Redis harness, the mock API server nor kube.

mod bench;
mod failover_report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "gatehouse developer commands (heavy ones)"
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
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Bench(args) => bench::run(args),
        Command::FailoverReport(args) => failover_report::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// `cargo xtask bench` and `cargo xtask failover-report` run this binary with these words.
    #[test]
    fn the_commands_xtask_forwards_are_commands_here() {
        for command in ["bench", "failover-report"] {
            let error = super::Cli::try_parse_from(["xtask-devtools", command, "--help"])
                .err()
                .expect("--help stops parsing");
            assert_eq!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp,
                "{command}: {error}"
            );
        }
    }
}
