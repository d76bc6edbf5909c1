//! A changed setting reaches every running process through a rolling restart of the rendered pods
//! (issue 15, "Changes roll out"), and the roll hands the master over before it stops it, so no
//! acknowledged write is lost. The scenario is `gatehouse_ha::scenario::Scenario::RollingRestart`:
//! a Redis setting (repl-backlog-size) and a Sentinel setting (down-after) change; the StatefulSets
//! whose pod template changed (it must be both) roll one pod at a time from the highest ordinal,
//! pre-stop hook first; afterwards every data node runs the new repl-backlog-size (CONFIG GET),
//! every Sentinel the new down-after (SENTINEL MASTER), the master was handed over before its pod
//! stopped, there is exactly one master, and no acknowledged write is lost.

mod common;

use gatehouse_ha::scenario::Scenario;
use gatehouse_ha::{TEST_PASSWORD, test_deployment};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_applies_changed_settings_without_losing_writes() {
    if !common::redis_available() {
        return;
    }
    let outcome = Scenario::RollingRestart
        .run(test_deployment(), TEST_PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("rolling restart: {e}"));
    eprintln!("{outcome:?}");
    let broken = outcome.broken_promises();
    assert!(broken.is_empty(), "{}\n{outcome:?}", broken.join("; "));
    assert_eq!(outcome.totals.lost, 0);
    assert_eq!(
        outcome.failovers.len(),
        1,
        "exactly one handover (the master's pod): {outcome:?}"
    );
}
