//! `gatehouse status`'s replication lag and last-failover date, from the very scripts it runs in
//! the pods (`gatehouse_apply::REPLICATION_SCRIPT`, `SENTINEL_FACTS_SCRIPT`), run here with each
//! pod's own environment against the real group, before and after a SIGKILL failover.

mod common;

use std::time::{Duration, Instant};

use gatehouse_apply::{
    REPLICATION_SCRIPT, ReplicaLag, SENTINEL_FACTS_SCRIPT, SentinelFacts, parse_replication,
    parse_sentinel_facts,
};
use gatehouse_ha::process::{Launch, run_to_end};
use gatehouse_ha::{Cluster, Role};

async fn run(env: &[(String, String)], script: &str, log: std::path::PathBuf) -> String {
    let launch = Launch {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: env.to_vec(),
        log,
        as_nobody: false,
    };
    let (status, output) = run_to_end(&launch, Duration::from_secs(10))
        .await
        .expect("the status query runs");
    assert!(status.success(), "{output}");
    output
}

async fn replicas_of(cluster: &Cluster, master: usize, when: &str) -> Vec<ReplicaLag> {
    let pod = &cluster.data[master];
    let log = pod.dir.join(format!("status-{when}.log"));
    let output = run(pod.env(), REPLICATION_SCRIPT, log).await;
    parse_replication(&output).unwrap_or_else(|e| panic!("{}: {e}: {output}", pod.name))
}

/// Each running Sentinel's facts; `when` names the run's log file (the log holds the output).
async fn sentinel_facts(cluster: &Cluster, when: &str) -> Vec<(String, SentinelFacts)> {
    let mut facts = Vec::new();
    for sentinel in cluster.sentinels.iter().filter(|s| s.is_running()) {
        let output = run(
            sentinel.env(),
            SENTINEL_FACTS_SCRIPT,
            sentinel.dir.join(format!("status-{when}.log")),
        )
        .await;
        let found = parse_sentinel_facts(&output)
            .unwrap_or_else(|e| panic!("{}: {e}: {output}", sentinel.name));
        facts.push((sentinel.name.clone(), found));
    }
    facts
}

#[tokio::test(flavor = "multi_thread")]
async fn status_reads_replica_lag_and_dates_the_last_failover() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let limit = Duration::from_secs(60);
    let master = cluster.wait_converged(2, limit).await.expect("converged");

    let replicas = replicas_of(&cluster, master, "before").await;
    let mut expected: Vec<String> = (0..cluster.data.len())
        .filter(|i| *i != master)
        .map(|i| cluster.data[i].addr())
        .collect();
    expected.sort();
    let mut seen: Vec<String> = replicas.iter().map(|r| r.replica.clone()).collect();
    seen.sort();
    assert_eq!(seen, expected, "{replicas:?}");
    assert!(
        replicas
            .iter()
            .all(|r| r.state == "online" && r.seconds_since_ack <= 2),
        "{replicas:?}"
    );

    let before = gatehouse_apply::last_failover(&sentinel_facts(&cluster, "before").await)
        .expect("the Sentinels answered");
    assert_eq!(
        (before.seconds_ago, before.config_epoch),
        (None, 0),
        "{before:?}"
    );

    let killed = Instant::now();
    cluster
        .kill_pod(Role::Data, master)
        .await
        .expect("SIGKILL the master");
    let promoted = cluster.wait_converged(1, limit).await.expect("failed over");
    assert_ne!(promoted, master);
    let facts = sentinel_facts(&cluster, "after").await;
    let after = gatehouse_apply::last_failover(&facts).expect("the Sentinels answered");
    let ago = after
        .seconds_ago
        .unwrap_or_else(|| panic!("no running Sentinel saw the failover: {facts:?}"));
    assert!(
        ago <= killed.elapsed().as_secs() + 1,
        "dated {ago} s ago, killed {:?} ago",
        killed.elapsed()
    );
    assert!(after.config_epoch >= 1, "{after:?}");
    let replicas = replicas_of(&cluster, promoted, "after").await;
    assert_eq!(replicas.len(), 1, "{replicas:?}");
    assert!(replicas[0].replica != cluster.data[master].addr());
}
