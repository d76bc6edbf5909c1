//! The Redis group under hard faults (issue 16), on real processes started from the rendered
//! configuration and scripts: a killed, frozen or partitioned master, two failovers in a row, a
//! master restarted with an empty data directory, and a full restart with the Sentinels coming up
//! late. The scenarios live in `gatehouse_ha::scenario` (so `cargo xtask failover-report` measures
//! the same thing); each states its loss bound and why. `down-after-milliseconds` is 2000 here.

mod common;

use gatehouse_ha::scenario::{Outcome, Scenario};
use gatehouse_ha::{TEST_PASSWORD, test_deployment};

/// Runs `scenario` (or skips without the Redis binaries, or partitions when it needs them) and
/// fails with every broken promise.
pub async fn check(scenario: Scenario) -> Option<Outcome> {
    if !common::redis_available()
        || (scenario.needs_partitions() && !common::partitions_available())
    {
        return None;
    }
    let outcome = scenario
        .run(test_deployment(), TEST_PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", scenario.title()));
    eprintln!("{}: {outcome:?}", scenario.title());
    let broken = outcome.broken_promises();
    assert!(
        broken.is_empty(),
        "{}: {}\n{outcome:?}",
        scenario.title(),
        broken.join("; ")
    );
    Some(outcome)
}

/// A SIGKILLed master is replaced within down-after + margin, losing at most the write in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_master_loses_at_most_the_write_in_flight() {
    check(Scenario::KilledMaster).await;
}

/// A master frozen (SIGSTOP) for 3 × down-after is failed over while it sleeps; when it wakes it
/// must not acknowledge writes the new master never sees, even to a client with a 60 s timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_master_does_not_acknowledge_writes_after_it_wakes() {
    check(Scenario::FrozenMaster).await;
}

/// A master cut off from the Sentinels and replicas (iptables) while its clients still reach it
/// stops acknowledging writes within `min-replicas-max-lag`; the clients find the new master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_master_stops_acknowledging_writes() {
    check(Scenario::PartitionedMaster).await;
}

/// The master is killed and restarted, and the new master killed as soon as it takes writes: the
/// second failover comes within 2 minutes + down-after + margin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_failover_in_a_row_succeeds() {
    check(Scenario::TwoFailovers).await;
}

/// A master restarted at once with an empty data directory does not come back as the master of
/// nothing (which would make its replicas flush); it asks for a failover and rejoins as a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_restarted_empty_does_not_wipe_the_group() {
    check(Scenario::EmptyRestart).await;
}

/// After a failover, a full restart with the Sentinels 15 s late: no data node falls back to the
/// stale bootstrap node; the node the Sentinels saved as master (the newest data) stays master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restart_with_late_sentinels_keeps_the_newest_data() {
    check(Scenario::LateSentinels).await;
}

/// After a failover, a full restart with every Sentinel's saved state lost (ephemeral Sentinel
/// volumes): the data nodes elect the newest among themselves; the stale bootstrap node is never
/// master and no acknowledged write after the failover is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restart_with_sentinel_state_lost_keeps_the_newest_data() {
    check(Scenario::LostSentinelState).await;
}

/// The same, with the data nodes back 15 s before the Sentinels (state lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restart_with_sentinel_state_lost_and_late_sentinels_keeps_the_newest_data() {
    check(Scenario::LostSentinelStateLate).await;
}

/// The same, with the node holding the newest data back 20 s after every other pod: the others
/// wait for it (no master at all meanwhile), then elect it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restart_with_sentinel_state_lost_waits_for_the_newest_node() {
    check(Scenario::LostSentinelStateNewestLate).await;
}
