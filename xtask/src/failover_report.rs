//! `cargo xtask failover-report`: measures Redis Sentinel failover on real processes started from
//! the rendered configuration (see the `gatehouse-ha` crate), N times, and prints the spread.

use std::time::Duration;

use gatehouse_ha::measure::{Failover, Totals};

/// Arguments of `failover-report`.
#[derive(clap::Args)]
pub struct Args {
    /// Number of runs (each starts a fresh group of 3 data nodes and 3 Sentinels).
    #[arg(long, default_value_t = 5)]
    runs: u32,
    /// `down-after-milliseconds` of the measured group (the production default is 10000).
    #[arg(long, default_value_t = gatehouse_ha::TEST_DOWN_AFTER_MS)]
    down_after_ms: u32,
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
    let mut results: Vec<(Failover, Totals)> = Vec::new();
    for run in 1..=args.runs {
        let mut deployment = gatehouse_ha::test_deployment();
        deployment.redis.sentinel.down_after_milliseconds = args.down_after_ms;
        let (failover, totals) = runtime
            .block_on(gatehouse_ha::measure_failover(
                deployment,
                gatehouse_ha::TEST_PASSWORD,
            ))
            .map_err(|e| format!("run {run}: {e}"))?;
        println!(
            "run {run}/{}: failover {:.2} s (data node {} -> {}), {} failed writes, {} of {} \
             acknowledged increments lost",
            args.runs,
            failover.time.as_secs_f64(),
            failover.killed,
            failover.new_master,
            failover.failed_writes,
            totals.lost,
            totals.acked
        );
        results.push((failover, totals));
    }
    let times: Vec<Duration> = results.iter().map(|(f, _)| f.time).collect();
    let failed: Vec<u64> = results.iter().map(|(f, _)| f.failed_writes).collect();
    let lost: Vec<u64> = results.iter().map(|(_, t)| t.lost).collect();
    let acked: u64 = results.iter().map(|(_, t)| t.acked).sum();
    let bound = gatehouse_ha::failover_bound(Duration::from_millis(args.down_after_ms.into()));
    println!();
    println!(
        "{} runs, 1 master + 2 replicas + 3 Sentinels (quorum 2), down-after-milliseconds {}, \
         one INCR client finding the master through Sentinel; master killed with SIGKILL",
        args.runs, args.down_after_ms
    );
    let (lo, mid, hi) = spread(&times);
    println!(
        "failover time (kill -> first acknowledged write on the new master): min {:.2} s, \
         median {:.2} s, max {:.2} s (bound {:.0} s)",
        lo.as_secs_f64(),
        mid.as_secs_f64(),
        hi.as_secs_f64(),
        bound.as_secs_f64()
    );
    let (lo, mid, hi) = spread(&failed);
    println!("failed writes per failover: min {lo}, median {mid}, max {hi}");
    let (lo, mid, hi) = spread(&lost);
    println!(
        "lost acknowledged increments per run: min {lo}, median {mid}, max {hi} \
         ({} of {acked} in total)",
        lost.iter().sum::<u64>()
    );
    Ok(())
}

/// min, median (lower middle), max.
fn spread<T: Ord + Copy>(values: &[T]) -> (T, T, T) {
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
    }
}
