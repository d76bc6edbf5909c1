//! `cargo xtask failover-report`: runs every fault scenario of `gatehouse_ha::scenario` (the ones
//! the `gatehouse-ha` tests assert on) N times on real processes started from the rendered
//! configuration, and prints per scenario the failover times and the exact acknowledged writes
//! lost (tagged writes), as a Markdown table for README.

use std::time::Duration;

use gatehouse_ha::scenario::{Outcome, Scenario};

/// Arguments of `failover-report`.
#[derive(clap::Args)]
pub struct Args {
    /// Runs per scenario (each starts a fresh group of 3 data nodes and 3 Sentinels).
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// `down-after-milliseconds` of the measured group (the production default is 10000).
    #[arg(long, default_value_t = gatehouse_ha::TEST_DOWN_AFTER_MS)]
    down_after_ms: u32,
    /// Only the scenarios whose title contains this text (e.g. `killed`, `rolling`).
    #[arg(long)]
    only: Option<String>,
}

/// Runs the measurements and prints the report.
pub fn run(args: Args) -> Result<(), String> {
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let missing = gatehouse_ha::external::missing_binaries();
    if !missing.is_empty() {
        return Err(format!(
            "{} not found on PATH; {}",
            missing.join(", "),
            gatehouse_ha::INSTALL_HINT
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mut rows = Vec::new();
    for scenario in Scenario::ALL {
        if let Some(only) = &args.only
            && !scenario.title().contains(only.as_str())
        {
            continue;
        }
        if scenario.needs_partitions()
            && let Some(reason) = gatehouse_ha::partitions_unavailable()
        {
            println!("{}: skipped, {reason}", scenario.title());
            rows.push(format!("| {} | skipped: {reason} | | |", scenario.title()));
            continue;
        }
        for &variant in variants(scenario) {
            let title = format!("{}{}", scenario.title(), variant.suffix());
            let (outcomes, errors) = measure(&runtime, &args, scenario, variant, &title);
            rows.push(row(&title, &outcomes, &errors));
        }
    }
    println!();
    println!(
        "{} run(s) per scenario, 1 master + 2 replicas + 3 Sentinels (quorum 2), \
         down-after-milliseconds {}, every named ACL user on its minimal rules (the writer's \
         `default` unrestricted), one client writing tagged increments and finding the master \
         through Sentinel; rows marked TLS speak TLS on every link (openssl-made certificates, \
         client certificates optional)",
        args.runs, args.down_after_ms
    );
    println!();
    println!(
        "| scenario | failover (fault → first acknowledged write elsewhere) min / median / max \
         | acknowledged writes lost per run (of acknowledged) | bound |"
    );
    println!("|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    Ok(())
}

/// The transport a scenario is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Plain TCP, ACL users.
    Plain,
    /// TLS on every link, ACL users.
    Tls,
}

impl Variant {
    fn suffix(self) -> &'static str {
        match self {
            Variant::Plain => "",
            Variant::Tls => ", TLS + ACL",
        }
    }

    fn deployment(self) -> gatehouse_model::Deployment {
        match self {
            Variant::Plain => gatehouse_ha::test_deployment(),
            Variant::Tls => {
                gatehouse_ha::tls_test_deployment(gatehouse_model::TlsClientAuth::Optional)
            }
        }
    }
}

/// The SIGKILL failover is measured on both transports, so TLS's cost in failover time and
/// writes lost stands beside the plain figures; the other scenarios on plain TCP.
fn variants(scenario: Scenario) -> &'static [Variant] {
    if scenario == Scenario::KilledMaster {
        &[Variant::Plain, Variant::Tls]
    } else {
        &[Variant::Plain]
    }
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    args: &Args,
    scenario: Scenario,
    variant: Variant,
    title: &str,
) -> (Vec<Outcome>, Vec<String>) {
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut errors = Vec::new();
    for run in 1..=args.runs {
        let mut deployment = variant.deployment();
        deployment.redis.sentinel.down_after_milliseconds = args.down_after_ms;
        match runtime.block_on(scenario.run(deployment, gatehouse_ha::TEST_PASSWORD)) {
            Ok(outcome) => {
                let broken = outcome.broken_promises();
                println!(
                    "{} run {run}/{}: failovers {}, {} of {} acknowledged writes lost \
                         (bound {}), {} failed{}{}",
                    title,
                    args.runs,
                    seconds(&outcome.failovers),
                    outcome.totals.lost,
                    outcome.totals.acked,
                    outcome.loss_bound,
                    outcome.totals.failed,
                    if outcome.notes.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", outcome.notes.join(", "))
                    },
                    if broken.is_empty() {
                        String::new()
                    } else {
                        format!("; BROKEN: {}", broken.join("; "))
                    }
                );
                outcomes.push(outcome);
            }
            Err(e) => {
                let first_line = e.to_string().lines().next().unwrap_or_default().to_string();
                println!("{title} run {run}/{}: FAILED: {e}", args.runs);
                errors.push(first_line);
            }
        }
    }
    (outcomes, errors)
}

fn row(title: &str, outcomes: &[Outcome], errors: &[String]) -> String {
    // Each failover position (first, second) on its own.
    let positions = outcomes
        .iter()
        .map(|o| o.failovers.len())
        .max()
        .unwrap_or(0);
    let times: Vec<String> = (0..positions)
        .map(|k| {
            let values: Vec<Duration> = outcomes
                .iter()
                .filter_map(|o| o.failovers.get(k).copied())
                .collect();
            let (lo, mid, hi) = spread(&values);
            format!(
                "{:.2} / {:.2} / {:.2} s",
                lo.as_secs_f64(),
                mid.as_secs_f64(),
                hi.as_secs_f64()
            )
        })
        .collect();
    let lost: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{} of {}", o.totals.lost, o.totals.acked))
        .collect();
    let bound = outcomes
        .first()
        .map(|o| o.loss_bound.to_string())
        .unwrap_or_default();
    let mut failures = String::new();
    if !errors.is_empty() {
        failures = format!(
            "; {} of {} runs failed: {}",
            errors.len(),
            errors.len() + outcomes.len(),
            errors.join(" / ")
        );
    }
    let broken: Vec<String> = outcomes.iter().flat_map(|o| o.broken_promises()).collect();
    if !broken.is_empty() {
        failures.push_str(&format!("; broken: {}", broken.join(" / ")));
    }
    format!(
        "| {} | {} | {}{failures} | {bound} |",
        title,
        if times.is_empty() {
            "–".to_string()
        } else {
            times.join(", then ")
        },
        lost.join(", ")
    )
}

fn seconds(values: &[Duration]) -> String {
    let parts: Vec<String> = values
        .iter()
        .map(|d| format!("{:.2} s", d.as_secs_f64()))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// min, median (lower middle), max.
fn spread<T: Ord + Copy + Default>(values: &[T]) -> (T, T, T) {
    if values.is_empty() {
        return (T::default(), T::default(), T::default());
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    (
        sorted[0],
        sorted[(sorted.len() - 1) / 2],
        sorted[sorted.len() - 1],
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn spread_is_min_median_max() {
        assert_eq!(super::spread(&[5, 1, 3]), (1, 3, 5));
        assert_eq!(super::spread(&[2, 1]), (1, 1, 2));
        assert_eq!(super::spread(&[7]), (7, 7, 7));
        assert_eq!(super::spread::<u32>(&[]), (0, 0, 0));
    }
}
