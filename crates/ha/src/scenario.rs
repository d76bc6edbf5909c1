//! The fault scenarios of issues 15 and 16, each one run on a fresh group from the rendered
//! configuration: the tests (`tests/faults.rs`, `tests/rollout.rs`) assert their bounds on the
//! [`Outcome`], and `cargo xtask failover-report` prints the same outcomes over several runs, so
//! the figures in README come from the code the tests check.
//!
//! Every write is tagged (`MULTI; INCR; SADD id; EXEC`, [`crate::workload`]) and loss is exact: the
//! acknowledged ids the final master does not hold. A failover time is, as the client sees it, the
//! time from the fault to its first acknowledged write on another node.

use std::time::{Duration, Instant};

use gatehouse_model::Deployment;

use crate::HarnessError;
use crate::cluster::{Cluster, Role};
use crate::full_restart::{Late, late_sentinels, lost_sentinel_state};
use crate::measure::{MAX_LOST_PER_FAILOVER, Totals, failover_bound};
use crate::resp::Reply;
use crate::workload::{WRITE_PACE, WriteLog, Writer};

/// A scenario of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The master is SIGKILLed under load.
    KilledMaster,
    /// The master is frozen (SIGSTOP) 3 × down-after, then woken; the client has a 60 s timeout.
    FrozenMaster,
    /// The master is cut off from Sentinels and replicas for 4 × down-after; clients reach it.
    PartitionedMaster,
    /// The master is killed, restarted, and the new master killed as soon as it takes writes.
    TwoFailovers,
    /// The master is killed and restarted at once with an empty data directory.
    EmptyRestart,
    /// After a failover (node 0 left stale) everything restarts, the Sentinels 15 s late.
    LateSentinels,
    /// After a failover (node 0 left stale) everything restarts at once with the Sentinels' saved
    /// state lost (ephemeral Sentinel volumes).
    LostSentinelState,
    /// The same, with the Sentinels (state lost) started 15 s after the data nodes.
    LostSentinelStateLate,
    /// The same, with the node holding the newest data started 20 s after every other pod.
    LostSentinelStateNewestLate,
    /// A Redis and a Sentinel setting change; both StatefulSets roll, highest ordinal first, with
    /// the pre-stop hook before each stop.
    RollingRestart,
}

impl Scenario {
    /// Every scenario, in report order.
    pub const ALL: [Scenario; 10] = [
        Scenario::KilledMaster,
        Scenario::FrozenMaster,
        Scenario::PartitionedMaster,
        Scenario::TwoFailovers,
        Scenario::EmptyRestart,
        Scenario::LateSentinels,
        Scenario::LostSentinelState,
        Scenario::LostSentinelStateLate,
        Scenario::LostSentinelStateNewestLate,
        Scenario::RollingRestart,
    ];

    /// One line saying what the scenario does.
    pub fn title(self) -> &'static str {
        match self {
            Scenario::KilledMaster => "master killed (SIGKILL)",
            Scenario::FrozenMaster => "master frozen 3 × down-after, then woken (60 s client)",
            Scenario::PartitionedMaster => "master partitioned 4 × down-after, clients reach it",
            Scenario::TwoFailovers => "master killed, then the new master killed",
            Scenario::EmptyRestart => "master restarted at once with an empty data dir",
            Scenario::LateSentinels => "failover, then full restart with Sentinels 15 s late",
            Scenario::LostSentinelState => "failover, then full restart, Sentinel state lost",
            Scenario::LostSentinelStateLate => {
                "failover, then full restart, Sentinel state lost, Sentinels 15 s late"
            }
            Scenario::LostSentinelStateNewestLate => {
                "failover, then full restart, Sentinel state lost, newest node 20 s late"
            }
            Scenario::RollingRestart => "rolling restart for a Redis + a Sentinel setting",
        }
    }

    /// Whether it needs root and iptables.
    pub fn needs_partitions(self) -> bool {
        self == Scenario::PartitionedMaster
    }

    /// Runs the scenario on a fresh group of `deployment`.
    pub async fn run(
        self,
        deployment: Deployment,
        password: &str,
    ) -> Result<Outcome, HarnessError> {
        let mut cluster = Cluster::start(deployment.clone(), password).await?;
        match self {
            Scenario::KilledMaster => killed_master(&mut cluster).await,
            Scenario::FrozenMaster => frozen_master(&mut cluster).await,
            Scenario::PartitionedMaster => partitioned_master(&mut cluster).await,
            Scenario::TwoFailovers => two_failovers(&mut cluster).await,
            Scenario::EmptyRestart => empty_restart(&mut cluster).await,
            Scenario::LateSentinels => late_sentinels(&mut cluster).await,
            Scenario::LostSentinelState => lost_sentinel_state(&mut cluster, Late::Nothing).await,
            Scenario::LostSentinelStateLate => {
                lost_sentinel_state(&mut cluster, Late::Sentinels(Duration::from_secs(15))).await
            }
            Scenario::LostSentinelStateNewestLate => {
                lost_sentinel_state(&mut cluster, Late::Newest(Duration::from_secs(20))).await
            }
            Scenario::RollingRestart => rolling_restart(&mut cluster, deployment).await,
        }
    }
}

/// What one run of a scenario gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Each failover as the client saw it: fault → first acknowledged write on another node.
    pub failovers: Vec<Duration>,
    /// The limit each failover must meet.
    pub failover_limit: Duration,
    /// Writes and exact loss.
    pub totals: Totals,
    /// Acknowledged writes the design may lose in this scenario (the reason is in the scenario's
    /// code).
    pub loss_bound: u64,
    /// The data node that is master at the end.
    pub final_master: usize,
    /// The data node the scenario requires as master at the end, when it requires one.
    pub expected_master: Option<usize>,
    /// The data node that must not be master at the end (the faulty or stale one), if any.
    pub not_master: Option<usize>,
    /// What else happened, for the report and failure messages.
    pub notes: Vec<String>,
}

impl Outcome {
    /// Every bound the scenario promises, as a list of broken promises (empty: all kept).
    pub fn broken_promises(&self) -> Vec<String> {
        let mut broken = Vec::new();
        if self.totals.acked == 0 {
            broken.push("the writer wrote nothing".to_string());
        }
        if self.totals.lost > self.loss_bound {
            broken.push(format!(
                "{} acknowledged writes lost, bound {} (first lost ids {:?})",
                self.totals.lost, self.loss_bound, self.totals.lost_sample
            ));
        }
        for (i, f) in self.failovers.iter().enumerate() {
            if *f > self.failover_limit {
                broken.push(format!(
                    "failover {} took {f:?}, limit {:?}",
                    i + 1,
                    self.failover_limit
                ));
            }
        }
        if let Some(expected) = self.expected_master
            && expected != self.final_master
        {
            broken.push(format!(
                "data node {} is master at the end, expected {expected}",
                self.final_master
            ));
        }
        if self.not_master == Some(self.final_master) {
            broken.push(format!(
                "data node {} (faulty or stale) is master at the end",
                self.final_master
            ));
        }
        broken
    }
}

pub(crate) fn writer(cluster: &Cluster, key: &str, command_limit: Option<Duration>) -> Writer {
    let mut config = cluster.writer_config(key, Duration::from_secs(300));
    if let Some(limit) = command_limit {
        config.command_limit = limit;
    }
    Writer::start(config)
}

/// Waits until writes flow to the agreed master, plus a second so there is something to lose.
async fn warm_up(cluster: &Cluster, w: &Writer) -> Result<usize, HarnessError> {
    let master = cluster.wait_agreed_master(Duration::from_secs(10)).await?;
    cluster
        .wait_write_on(w, master, Instant::now(), Duration::from_secs(10))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(master)
}

/// Waits for the Sentinels to agree on a master other than `old`.
async fn wait_new_master(
    cluster: &Cluster,
    old: usize,
    limit: Duration,
) -> Result<usize, HarnessError> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(m) = cluster.agreed_master().await
            && m != old
        {
            return Ok(m);
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::NotConverged {
                limit,
                last: format!("no master other than data node {old}"),
                logs: cluster.log_tails(),
            });
        }
        tokio::time::sleep(crate::cluster::POLL).await;
    }
}

/// Waits until the group is whole again (one master, every data node its synced replica),
/// restarting pods that exited as the kubelet would.
pub async fn wait_healed(cluster: &mut Cluster, limit: Duration) -> Result<usize, HarnessError> {
    let deadline = Instant::now() + limit;
    let mut last;
    loop {
        cluster.restart_exited()?;
        let masters = cluster.masters().await;
        match cluster.converged(cluster.data.len() - 1).await {
            Ok(m) if masters == vec![m] => return Ok(m),
            Ok(m) => last = format!("Sentinels agree on {m} but masters are {masters:?}"),
            Err(reason) => last = reason,
        }
        if Instant::now() >= deadline {
            return Err(HarnessError::NotConverged {
                limit,
                last,
                logs: cluster.log_tails(),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The time from `t0` to the first write acknowledged by another node than `old`.
fn failover_after(cluster: &Cluster, log: &WriteLog, t0: Instant, old: usize) -> Option<Duration> {
    log.first_success_after(t0, cluster.data[old].port)
        .map(|(t, _)| t - t0)
}

/// A setting of the rendered config file `file`: the words after `key` on its line.
fn rendered_setting(cluster: &Cluster, file: &str, key: &str) -> Option<String> {
    cluster.rendered().files.get(file)?.lines().find_map(|l| {
        l.strip_prefix(key)
            .filter(|rest| rest.starts_with(' '))
            .map(|rest| rest.trim().to_string())
    })
}

/// The most writes per second the writer can do (one at a time, [`WRITE_PACE`] apart).
fn max_write_rate() -> f64 {
    1.0 / WRITE_PACE.as_secs_f64()
}

async fn finish(
    cluster: &Cluster,
    w: Writer,
    key: &str,
    master: usize,
) -> Result<Totals, HarnessError> {
    let log = w.stop().await;
    cluster.totals_on(master, &log, key).await
}

/// Bound: one write in flight when the master dies ([`MAX_LOST_PER_FAILOVER`]).
async fn killed_master(cluster: &mut Cluster) -> Result<Outcome, HarnessError> {
    let key = "ratelimit:killed";
    let w = writer(cluster, key, None);
    let limit = failover_bound(cluster.down_after);
    let failover = cluster
        .kill_master(&w, limit + Duration::from_secs(20))
        .await?;
    cluster.start_pod(Role::Data, failover.killed)?;
    let master = wait_healed(cluster, Duration::from_secs(40)).await?;
    let totals = finish(cluster, w, key, master).await?;
    Ok(Outcome {
        failovers: vec![failover.time],
        failover_limit: limit,
        totals,
        loss_bound: MAX_LOST_PER_FAILOVER,
        final_master: master,
        expected_master: Some(failover.new_master),
        not_master: None,
        notes: vec![format!("{} failed writes", failover.failed_writes)],
    })
}

/// Bound: with `min-replicas-to-write 1` and `min-replicas-max-lag` ≤ down-after, the woken master
/// counts no good replica and refuses writes with NOREPLICAS; only the write in flight while it was
/// frozen, and one more before Redis refreshes that count (once a second), can be applied: 2.
async fn frozen_master(cluster: &mut Cluster) -> Result<Outcome, HarnessError> {
    let key = "ratelimit:frozen";
    let w = writer(cluster, key, Some(Duration::from_secs(60)));
    let master = warm_up(cluster, &w).await?;
    let t0 = Instant::now();
    cluster.freeze(Role::Data, master)?;
    tokio::time::sleep(cluster.down_after * 3).await;
    let new_master = wait_new_master(cluster, master, failover_bound(cluster.down_after)).await?;
    cluster.thaw(Role::Data, master)?;
    let woke = Instant::now();
    cluster
        .wait_write_on(&w, new_master, woke, Duration::from_secs(30))
        .await?;
    let healed = wait_healed(cluster, Duration::from_secs(40)).await?;
    let log = w.snapshot();
    let on_old = log
        .successes
        .iter()
        .filter(|(t, p)| *t > woke && *p == cluster.data[master].port)
        .count();
    let failover = failover_after(cluster, &log, t0, master);
    let totals = finish(cluster, w, key, healed).await?;
    Ok(Outcome {
        // The client waits on the frozen master for its 60 s timeout or until it wakes.
        failovers: failover.into_iter().collect(),
        failover_limit: cluster.down_after * 3 + Duration::from_secs(40),
        totals,
        loss_bound: 2,
        final_master: healed,
        expected_master: Some(new_master),
        not_master: Some(master),
        notes: vec![format!(
            "{on_old} writes acknowledged by the woken old master"
        )],
    })
}

/// Bound: writes are acknowledged only while the master still counts a good replica, i.e. for at
/// most `min-replicas-max-lag` + 1 s (replicas acknowledge once a second) + 1 s (the count is
/// refreshed once a second) after the cut, at the writer's highest rate; without
/// min-replicas-to-write nothing bounds it (0 is then the promise the test cannot keep).
async fn partitioned_master(cluster: &mut Cluster) -> Result<Outcome, HarnessError> {
    let key = "ratelimit:partition";
    let w = writer(cluster, key, None);
    let master = warm_up(cluster, &w).await?;
    let cut = cluster.isolate(Role::Data, master)?;
    let t0 = Instant::now();
    let limit = failover_bound(cluster.down_after);
    let new_master = wait_new_master(cluster, master, limit).await?;
    cluster.wait_write_on(&w, new_master, t0, limit).await?;
    let failover = failover_after(cluster, &w.snapshot(), t0, master);
    tokio::time::sleep((cluster.down_after * 4).saturating_sub(t0.elapsed())).await;
    cut.heal();
    let healed = wait_healed(cluster, Duration::from_secs(40)).await?;
    let lag: u64 = rendered_setting(cluster, "redis.conf", "min-replicas-max-lag")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let totals = finish(cluster, w, key, healed).await?;
    Ok(Outcome {
        failovers: failover.into_iter().collect(),
        failover_limit: limit,
        totals,
        loss_bound: if lag == 0 {
            0
        } else {
            ((lag + 2) as f64 * max_write_rate()) as u64
        },
        final_master: healed,
        expected_master: Some(new_master),
        not_master: Some(master),
        notes: vec![format!("min-replicas-max-lag {lag} s")],
    })
}

/// Bound: after a failed leader election a Sentinel waits 2 × failover-timeout before it tries
/// again, so the second failover comes within 2 minutes + down-after + margin when
/// failover-timeout is at most 60 s; one write in flight per failover.
async fn two_failovers(cluster: &mut Cluster) -> Result<Outcome, HarnessError> {
    let key = "ratelimit:cascade";
    let w = writer(cluster, key, None);
    let bound = failover_bound(cluster.down_after);
    let first = cluster
        .kill_master(&w, bound + Duration::from_secs(20))
        .await?;
    cluster.start_pod(Role::Data, first.killed)?;
    let second_limit = Duration::from_secs(120) + bound;
    let second = cluster.kill_master(&w, second_limit).await?;
    cluster.start_pod(Role::Data, second.killed)?;
    let healed = wait_healed(cluster, Duration::from_secs(40)).await?;
    let totals = finish(cluster, w, key, healed).await?;
    Ok(Outcome {
        failovers: vec![first.time, second.time],
        failover_limit: second_limit,
        totals,
        loss_bound: 2 * MAX_LOST_PER_FAILOVER,
        final_master: healed,
        expected_master: None,
        not_master: None,
        notes: vec![format!(
            "failover-timeout {}",
            rendered_setting(cluster, "sentinel.conf", "sentinel failover-timeout")
                .unwrap_or_default()
        )],
    })
}

/// Bound: the empty node asks for a failover instead of starting as master, so only the write in
/// flight at the kill can be lost.
async fn empty_restart(cluster: &mut Cluster) -> Result<Outcome, HarnessError> {
    let key = "ratelimit:empty";
    let w = writer(cluster, key, None);
    let master = warm_up(cluster, &w).await?;
    let t0 = Instant::now();
    cluster.kill_pod(Role::Data, master).await?;
    cluster.wipe_data(master)?;
    cluster.start_pod(Role::Data, master)?;
    let healed = wait_healed(cluster, Duration::from_secs(60)).await?;
    cluster
        .wait_write_on(&w, healed, t0, Duration::from_secs(10))
        .await?;
    let failover = failover_after(cluster, &w.snapshot(), t0, master);
    let totals = finish(cluster, w, key, healed).await?;
    Ok(Outcome {
        failovers: failover.into_iter().collect(),
        failover_limit: Duration::from_secs(60),
        totals,
        loss_bound: MAX_LOST_PER_FAILOVER,
        final_master: healed,
        expected_master: None,
        not_master: Some(master),
        notes: Vec::new(),
    })
}

/// `repl-backlog-size` one megabyte up and `down-after-milliseconds` one second up, applied the
/// way Kubernetes applies them: the StatefulSets whose pod template changed roll, in apply order
/// (data, then Sentinels), one pod at a time from the highest ordinal, pre-stop hook first. Then
/// every data node must run the new repl-backlog-size (CONFIG GET), every Sentinel the new
/// down-after (SENTINEL MASTER), the master must have been handed over before its pod stopped, and
/// nothing acknowledged may be lost (bound 0: the pre-stop hook pauses writes, fails over and waits
/// for the new master before the process stops).
async fn rolling_restart(
    cluster: &mut Cluster,
    before: Deployment,
) -> Result<Outcome, HarnessError> {
    let mut after = before;
    after.redis.sentinel.down_after_milliseconds += 1_000;
    after.redis.repl_backlog_megabytes += 1;
    let new_down_after = after.redis.sentinel.down_after_milliseconds.to_string();
    let new_backlog = (u64::from(after.redis.repl_backlog_megabytes) * 1024 * 1024).to_string();
    let key = "ratelimit:rollout";
    let w = writer(cluster, key, None);
    warm_up(cluster, &w).await?;
    let changed = cluster.update_config(after)?;
    if changed != vec![Role::Data, Role::Sentinel] {
        return Err(HarnessError::State {
            message: format!(
                "a Redis and a Sentinel setting changed, but only the pod templates of {changed:?} \
                 did: Kubernetes would not restart the others"
            ),
        });
    }
    let data = cluster.roll(Role::Data).await?;
    let sentinels = cluster.roll(Role::Sentinel).await?;
    let mut notes = Vec::new();
    let mut failovers = Vec::new();
    for pod in &data {
        if pod.was_master {
            let index = cluster
                .data
                .iter()
                .position(|p| p.name == pod.name)
                .unwrap_or(usize::MAX);
            if pod.master_at_stop.is_none_or(|m| m == index) {
                return Err(HarnessError::State {
                    message: format!(
                        "the master {} was stopped before it was handed over; pre-stop said: {}",
                        pod.name,
                        pod.pre_stop_output.trim()
                    ),
                });
            }
            // As the client sees it: pre-stop start → first write acknowledged by another node.
            if let Some(seen) = failover_after(cluster, &w.snapshot(), pod.started, index) {
                failovers.push(seen);
            }
            if let Some(handover) = pod.handover {
                notes.push(format!(
                    "pre-stop handed {} over in {:.2} s",
                    pod.name,
                    handover.as_secs_f64()
                ));
            }
        }
    }
    for pod in data.iter().chain(&sentinels) {
        notes.push(format!(
            "{} rolled in {:.1} s",
            pod.name,
            pod.took.as_secs_f64()
        ));
    }
    let master = wait_healed(cluster, Duration::from_secs(60)).await?;
    let mut stale = Vec::new();
    for i in 0..cluster.data.len() {
        let mut c = cluster.data_conn(i).await?;
        let value = match c.ok(&["CONFIG", "GET", "repl-backlog-size"]).await? {
            Reply::Array(Some(items)) => items.get(1).and_then(Reply::as_text),
            _ => None,
        };
        if value.as_deref() != Some(new_backlog.as_str()) {
            stale.push(format!(
                "{} runs repl-backlog-size {value:?}, not {new_backlog}",
                cluster.data[i].name
            ));
        }
    }
    for i in 0..cluster.sentinels.len() {
        let value = cluster
            .sentinel_master_field(i, "down-after-milliseconds")
            .await?;
        if value != new_down_after {
            stale.push(format!(
                "{} runs down-after-milliseconds {value}, not {new_down_after}",
                cluster.sentinels[i].name
            ));
        }
    }
    if !stale.is_empty() {
        return Err(HarnessError::State {
            message: format!("after the roll: {}", stale.join("; ")),
        });
    }
    cluster
        .wait_write_on(&w, master, Instant::now(), Duration::from_secs(20))
        .await?;
    let totals = finish(cluster, w, key, master).await?;
    Ok(Outcome {
        failovers,
        failover_limit: failover_bound(cluster.down_after),
        totals,
        loss_bound: 0,
        final_master: master,
        expected_master: None,
        not_master: None,
        notes,
    })
}
