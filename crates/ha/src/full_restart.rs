//! The full-restart scenarios (issue 16, "the node with the newest replication offset becomes
//! master"): with the Sentinels late, and with their saved state lost (ephemeral Sentinel volumes,
//! or Sentinel PVCs a user deleted), when no Sentinel remembers the master and the data nodes must
//! find the newest data among themselves (`start-redis.sh`, "Election").

use std::time::{Duration, Instant};

use crate::HarnessError;
use crate::cluster::{Cluster, Role};
use crate::measure::{Failover, MAX_LOST_PER_FAILOVER, failover_bound};
use crate::scenario::{Outcome, wait_healed, writer};
use crate::workload::WriteLog;

/// After a failover (data node 0, the bootstrap master, down and stale), everything restarts and
/// the Sentinels come up 15 s after the data nodes: no data node may fall back to the bootstrap
/// master; the node the Sentinels saved as master (the newest data) stays master. The failover time
/// reported is from the Sentinels' start to the first write on the healed group. Bound: the write
/// in flight at the first kill.
pub(crate) async fn late_sentinels(cluster: &mut Cluster) -> Result<Outcome, HarnessError> {
    let key = "ratelimit:late";
    let (first, log) = failover_with_writes(cluster, key, Duration::from_secs(2)).await?;
    kill_everything(cluster, false).await?;
    for i in 0..cluster.data.len() {
        cluster.start_pod(Role::Data, i)?;
    }
    let late = Instant::now() + Duration::from_secs(15);
    while Instant::now() < late {
        cluster.restart_exited()?;
        if cluster.masters().await.contains(&first.killed) {
            return Err(HarnessError::State {
                message: format!(
                    "the stale bootstrap node became master before the Sentinels were back\n{}",
                    cluster.log_tails()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let t0 = Instant::now();
    for i in 0..cluster.sentinels.len() {
        cluster.start_pod(Role::Sentinel, i)?;
    }
    let healed = wait_healed(cluster, Duration::from_secs(90)).await?;
    let back = t0.elapsed();
    let totals = cluster.totals_on(healed, &log, key).await?;
    Ok(Outcome {
        failovers: vec![first.time, back],
        failover_limit: Duration::from_secs(90),
        totals,
        loss_bound: MAX_LOST_PER_FAILOVER,
        final_master: healed,
        expected_master: Some(first.new_master),
        not_master: Some(first.killed),
        notes: vec!["second time: Sentinels started → group whole again".into()],
    })
}

/// Which pods of the full restart start late, and by how much.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Late {
    /// Everything starts at once.
    Nothing,
    /// The Sentinels start this long after the data nodes.
    Sentinels(Duration),
    /// The node with the newest data starts this long after every other pod.
    Newest(Duration),
}

/// After a failover (data node 0, the bootstrap master, killed and left down: its data is the
/// oldest), tagged writes go to the new master; then every pod stops, the Sentinels' state
/// directories are emptied, and every pod starts again ([`Late`] says which late). No data node may
/// be master while stale, nor while the newest node is still down (a replica syncing from it would
/// flush the newer data); the node that was master at the stop (the newest data: its replica holds
/// the same offset, and a master is never behind its replica) must be master at the end, and the
/// acknowledged writes lost are at most the one in flight at the first kill. The second time
/// reported is from the first pods' start to the group being whole again.
pub(crate) async fn lost_sentinel_state(
    cluster: &mut Cluster,
    late: Late,
) -> Result<Outcome, HarnessError> {
    let key = "ratelimit:lost-state";
    let (first, log) = failover_with_writes(cluster, key, Duration::from_secs(3)).await?;
    // The election works from the records the start scripts keep on the data volumes.
    for pod in cluster.data.iter().filter(|p| p.is_running()) {
        let record = pod.dir.join("data/.gatehouse-replication");
        if !record.exists() {
            return Err(HarnessError::State {
                message: format!("{} keeps no replication record", pod.name),
            });
        }
    }
    kill_everything(cluster, true).await?;
    let newest = first.new_master;
    let (sentinel_delay, newest_delay) = match late {
        Late::Nothing => (Duration::ZERO, Duration::ZERO),
        Late::Sentinels(d) => (d, Duration::ZERO),
        Late::Newest(d) => (Duration::ZERO, d),
    };
    let t0 = Instant::now();
    let limit = sentinel_delay + newest_delay + Duration::from_secs(120);
    let mut pending: Vec<(Instant, Role, usize)> = Vec::new();
    for i in 0..cluster.data.len() {
        let delay = if i == newest {
            newest_delay
        } else {
            Duration::ZERO
        };
        pending.push((t0 + delay, Role::Data, i));
    }
    for i in 0..cluster.sentinels.len() {
        pending.push((t0 + sentinel_delay, Role::Sentinel, i));
    }
    let mut last = String::new();
    let healed = loop {
        let now = Instant::now();
        for (_, role, i) in pending.iter().filter(|(at, _, _)| *at <= now) {
            cluster.start_pod(*role, *i)?;
        }
        pending.retain(|(at, _, _)| *at > now);
        cluster.restart_exited()?;
        let masters = cluster.masters().await;
        let newest_down = !cluster.data[newest].is_running();
        if masters.contains(&first.killed) || (newest_down && !masters.is_empty()) {
            return Err(HarnessError::State {
                message: format!(
                    "data nodes {masters:?} are masters while node {} is stale and node {newest} \
                     (the newest data) is {}\n{}",
                    first.killed,
                    if newest_down { "down" } else { "up" },
                    cluster.log_tails()
                ),
            });
        }
        if pending.is_empty() {
            match cluster.converged(cluster.data.len() - 1).await {
                Ok(m) if masters == vec![m] => break m,
                Ok(m) => last = format!("Sentinels agree on {m} but masters are {masters:?}"),
                Err(reason) => last = reason,
            }
        }
        if t0.elapsed() >= limit {
            return Err(HarnessError::NotConverged {
                limit,
                last,
                logs: cluster.log_tails(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let back = t0.elapsed();
    let totals = cluster.totals_on(healed, &log, key).await?;
    let mut notes = vec!["second time: first pods started → group whole again".to_string()];
    notes.extend(elections(cluster));
    Ok(Outcome {
        failovers: vec![first.time, back],
        failover_limit: limit,
        totals,
        loss_bound: MAX_LOST_PER_FAILOVER,
        final_master: healed,
        expected_master: Some(newest),
        not_master: Some(first.killed),
        notes,
    })
}

/// What each data node's start script elected ("<pod> elected <pod>"), from the current logs.
fn elections(cluster: &Cluster) -> Vec<String> {
    let name_of = |addr: &str| {
        cluster
            .data
            .iter()
            .find(|p| p.addr() == addr)
            .map_or(addr.to_string(), |p| p.name.clone())
    };
    cluster
        .data
        .iter()
        .flat_map(|pod| {
            pod.log()
                .lines()
                .filter_map(|l| l.strip_suffix(" has the newest data"))
                .filter_map(|l| l.rsplit(' ').next())
                .map(|winner| format!("{} elected {}", pod.name, name_of(winner)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Kills the master under tagged writes and lets the writer go on for `settle` against the new
/// master (writes that only the new history holds), then stops it: node 0, the bootstrap master,
/// is now down and stale.
async fn failover_with_writes(
    cluster: &mut Cluster,
    key: &str,
    settle: Duration,
) -> Result<(Failover, WriteLog), HarnessError> {
    let w = writer(cluster, key, None);
    let bound = failover_bound(cluster.down_after);
    let first = cluster
        .kill_master(&w, bound + Duration::from_secs(20))
        .await?;
    cluster.wait_converged(1, Duration::from_secs(30)).await?;
    tokio::time::sleep(settle).await;
    Ok((first, w.stop().await))
}

/// Kills every pod still running (a full restart's first half); `wipe_sentinels` also empties the
/// Sentinels' state directories (ephemeral Sentinel volumes).
async fn kill_everything(cluster: &mut Cluster, wipe_sentinels: bool) -> Result<(), HarnessError> {
    for i in 0..cluster.data.len() {
        if cluster.data[i].is_running() {
            cluster.kill_pod(Role::Data, i).await?;
        }
    }
    for i in 0..cluster.sentinels.len() {
        cluster.kill_pod(Role::Sentinel, i).await?;
        if wipe_sentinels {
            cluster.wipe_sentinel_state(i)?;
        }
    }
    Ok(())
}
