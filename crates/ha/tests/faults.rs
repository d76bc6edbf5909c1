//! The Redis group under hard faults (issue 16), on real processes started from the rendered
//! configuration and scripts: a frozen master, a partitioned master, two failovers in a row, a master
//! restarted with an empty data directory, and a full restart with the Sentinels coming up late.
//! Every write is tagged (`MULTI; INCR; SADD id; EXEC`) and loss is the acknowledged ids the final
//! master does not hold. `down-after-milliseconds` is 2000 here.

use std::time::{Duration, Instant};

use gatehouse_ha::measure::Totals;
use gatehouse_ha::workload::{WRITE_PACE, Writer};
use gatehouse_ha::{
    Cluster, MAX_LOST_PER_FAILOVER, Role, TEST_PASSWORD, failover_bound, partitions_available,
    redis_available, test_deployment,
};

async fn start(test: &str) -> Option<Cluster> {
    if !redis_available(test) {
        return None;
    }
    Some(
        Cluster::start(test_deployment(), TEST_PASSWORD)
            .await
            .expect("the group starts from the rendered configuration"),
    )
}

fn writer(cluster: &Cluster, key: &str, command_limit: Option<Duration>) -> Writer {
    let mut config = cluster.writer_config(key, Duration::from_secs(240));
    if let Some(limit) = command_limit {
        config.command_limit = limit;
    }
    Writer::start(config)
}

/// The most writes per second the writer can do (one at a time, [`WRITE_PACE`] apart).
fn max_write_rate() -> f64 {
    1.0 / WRITE_PACE.as_secs_f64()
}

/// `min-replicas-max-lag` in force, in seconds (0: off).
fn max_lag(cluster: &Cluster) -> u64 {
    let conf = cluster.rendered().files["redis.conf"].clone();
    conf.lines()
        .find_map(|l| l.strip_prefix("min-replicas-max-lag "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// `failover-timeout` in force.
fn failover_timeout(cluster: &Cluster) -> Duration {
    let conf = cluster.rendered().files["sentinel.conf"].clone();
    let ms = conf
        .lines()
        .find_map(|l| l.strip_prefix("sentinel failover-timeout "))
        .and_then(|v| v.split_whitespace().nth(1)?.parse().ok())
        .expect("sentinel.conf sets failover-timeout");
    Duration::from_millis(ms)
}

/// Waits for the Sentinels to agree on a master other than `old`.
async fn wait_new_master(cluster: &Cluster, old: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(m) = cluster.agreed_master().await
            && m != old
        {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no new master within {limit:?}\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the group is whole again (every data node a synced replica of one master), restarting
/// pods that exited as the kubelet would.
async fn wait_healed(cluster: &mut Cluster, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        cluster.restart_exited().expect("restart exited pods");
        let masters = cluster.masters().await;
        if let Ok(m) = cluster.converged(2).await
            && masters == vec![m]
        {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "the group did not heal within {limit:?}; masters {masters:?}\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report(name: &str, totals: &Totals, bound: u64) {
    eprintln!(
        "{name}: {} of {} acknowledged writes lost (bound {bound}), {} failed; first lost ids {:?}",
        totals.lost, totals.acked, totals.failed, totals.lost_sample
    );
    assert!(totals.acked > 0, "the writer wrote nothing: {totals:?}");
    assert!(
        totals.lost <= bound,
        "{name}: {} acknowledged writes lost, bound {bound}: {totals:?}",
        totals.lost
    );
}

/// A master frozen (SIGSTOP) for 3 × down-after is failed over while it sleeps; when it wakes it
/// must not acknowledge writes that the new master never sees, even to a client with a 60 s command
/// timeout that was waiting on it the whole time.
///
/// Bound: with `min-replicas-to-write 1` and `min-replicas-max-lag` ≤ down-after, the woken master
/// counts no good replica (its replicas' last acknowledgements are older than the lag), so it
/// refuses writes with NOREPLICAS; only the write the client had in flight while it was frozen can
/// be applied before Redis refreshes that count (at most once a second), so the bound is the
/// writes of that second: one write in flight, then one more per failed retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_master_does_not_acknowledge_writes_after_it_wakes() {
    let Some(mut cluster) = start("frozen_master_does_not_acknowledge_writes_after_it_wakes").await
    else {
        return;
    };
    let key = "ratelimit:frozen";
    let w = writer(&cluster, key, Some(Duration::from_secs(60)));
    let master = cluster
        .wait_agreed_master(Duration::from_secs(10))
        .await
        .expect("master");
    cluster
        .wait_write_on(&w, master, Instant::now(), Duration::from_secs(10))
        .await
        .expect("writes flow");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t0 = Instant::now();
    cluster.freeze(Role::Data, master).expect("SIGSTOP");
    tokio::time::sleep(cluster.down_after * 3).await;
    let new_master = wait_new_master(&cluster, master, failover_bound(cluster.down_after)).await;
    eprintln!(
        "promoted {new_master} while {master} was frozen ({:?})",
        t0.elapsed()
    );
    cluster.thaw(Role::Data, master).expect("SIGCONT");
    let woke = Instant::now();
    cluster
        .wait_write_on(&w, new_master, woke, Duration::from_secs(30))
        .await
        .expect("the client reaches the new master");
    let healed = wait_healed(&mut cluster, Duration::from_secs(40)).await;
    assert_eq!(healed, new_master);
    let log = w.stop().await;
    let on_old = log
        .successes
        .iter()
        .filter(|(t, p)| *t > woke && *p == cluster.data[master].port)
        .count();
    eprintln!("{on_old} writes acknowledged by the woken old master");
    let totals = cluster.totals_on(healed, &log, key).await.expect("totals");
    report("frozen master", &totals, 2);
}

/// A master cut off from the Sentinels and replicas (iptables) while its clients still reach it:
/// it must stop acknowledging writes within `min-replicas-max-lag`, and the Sentinels promote a
/// replica that the clients then find.
///
/// Bound: writes are acknowledged only while the master still counts a good replica, i.e. for at
/// most `min-replicas-max-lag` + 1 s (replicas acknowledge once a second) + 1 s (the count is
/// refreshed once a second) after the cut, at the writer's highest rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_master_stops_acknowledging_writes() {
    let name = "partitioned_master_stops_acknowledging_writes";
    if !partitions_available(name) {
        return;
    }
    let Some(mut cluster) = start(name).await else {
        return;
    };
    let key = "ratelimit:partition";
    let w = writer(&cluster, key, None);
    let master = cluster
        .wait_agreed_master(Duration::from_secs(10))
        .await
        .expect("master");
    cluster
        .wait_write_on(&w, master, Instant::now(), Duration::from_secs(10))
        .await
        .expect("writes flow");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cut = cluster.isolate(Role::Data, master).expect("partition");
    let t0 = Instant::now();
    let new_master = wait_new_master(&cluster, master, failover_bound(cluster.down_after)).await;
    cluster
        .wait_write_on(&w, new_master, t0, failover_bound(cluster.down_after))
        .await
        .expect("clients find the new master while the old one is cut off");
    let failover = w
        .snapshot()
        .first_success_after(t0, cluster.data[master].port)
        .map(|(t, _)| t - t0);
    eprintln!("writes on the new master {failover:?} after the cut");
    // The partition lasts 4 × down-after in all, then heals.
    tokio::time::sleep((cluster.down_after * 4).saturating_sub(t0.elapsed())).await;
    cut.heal();
    let healed = wait_healed(&mut cluster, Duration::from_secs(40)).await;
    assert_eq!(healed, new_master);
    let log = w.stop().await;
    let lag = max_lag(&cluster);
    let totals = cluster.totals_on(healed, &log, key).await.expect("totals");
    let bound = if lag == 0 {
        0
    } else {
        ((lag + 2) as f64 * max_write_rate()) as u64
    };
    report("partitioned master", &totals, bound);
}

/// The master is killed, the group fails over, the old master is restarted, and the new master is
/// killed as soon as it takes writes: the second failover must come within two minutes + down-after +
/// margin (after a failed leader election a Sentinel waits 2 × failover-timeout before it tries
/// again, so failover-timeout must be at most 60 s), and lose at most one write per failover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_failover_in_a_row_succeeds() {
    let Some(mut cluster) = start("second_failover_in_a_row_succeeds").await else {
        return;
    };
    let key = "ratelimit:cascade";
    let w = writer(&cluster, key, None);
    let bound = failover_bound(cluster.down_after);
    let first = cluster
        .kill_master(&w, bound + Duration::from_secs(20))
        .await
        .expect("first failover");
    // Kubernetes restarts the killed pod; the new master dies before the group has settled.
    cluster
        .start_pod(Role::Data, first.killed)
        .expect("restart");
    let second_bound = Duration::from_secs(120) + bound;
    eprintln!("failover-timeout {:?}", failover_timeout(&cluster));
    let second = cluster
        .kill_master(&w, second_bound)
        .await
        .expect("the second failover happens within 2 minutes + down-after + margin");
    eprintln!(
        "first failover {:?}, second {:?} (bound {second_bound:?})",
        first.time, second.time
    );
    cluster
        .start_pod(Role::Data, second.killed)
        .expect("restart");
    let healed = wait_healed(&mut cluster, Duration::from_secs(40)).await;
    let log = w.stop().await;
    let totals = cluster.totals_on(healed, &log, key).await.expect("totals");
    report("two failovers", &totals, 2 * MAX_LOST_PER_FAILOVER);
}

/// The master is killed and restarted at once with an empty data directory (a new volume): it
/// must not come back as the master of nothing and make its replicas flush their data; it asks for
/// a failover and rejoins as a replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_restarted_empty_does_not_wipe_the_group() {
    let Some(mut cluster) = start("master_restarted_empty_does_not_wipe_the_group").await else {
        return;
    };
    let key = "ratelimit:empty";
    let w = writer(&cluster, key, None);
    let master = cluster
        .wait_agreed_master(Duration::from_secs(10))
        .await
        .expect("master");
    cluster
        .wait_write_on(&w, master, Instant::now(), Duration::from_secs(10))
        .await
        .expect("writes flow");
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.kill_pod(Role::Data, master).await.expect("kill");
    cluster.wipe_data(master).expect("wipe");
    cluster.start_pod(Role::Data, master).expect("restart");
    let t0 = Instant::now();
    let healed = wait_healed(&mut cluster, Duration::from_secs(60)).await;
    assert_ne!(healed, master, "the empty node must not be the master");
    cluster
        .wait_write_on(&w, healed, t0, Duration::from_secs(10))
        .await
        .expect("writes go on");
    let log = w.stop().await;
    let totals = cluster.totals_on(healed, &log, key).await.expect("totals");
    report("master restarted empty", &totals, MAX_LOST_PER_FAILOVER);
}

/// After a failover (data node 0, the bootstrap master, is down and stale), the whole group is
/// restarted and the Sentinels come up 15 s after the data nodes: no data node may fall back to the
/// bootstrap master; the node the Sentinels know as master (the newest data) stays master.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_restart_with_late_sentinels_keeps_the_newest_data() {
    let Some(mut cluster) = start("full_restart_with_late_sentinels_keeps_the_newest_data").await
    else {
        return;
    };
    let key = "ratelimit:late";
    let w = writer(&cluster, key, None);
    let bound = failover_bound(cluster.down_after);
    let first = cluster
        .kill_master(&w, bound + Duration::from_secs(20))
        .await
        .expect("failover");
    // Writes go on while the old master (node 0) is down: it holds the oldest data.
    cluster
        .wait_converged(1, Duration::from_secs(30))
        .await
        .expect("converged with one replica");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = w.stop().await;
    // Everything goes down (the Sentinels have saved the new master in their state files).
    for i in 0..cluster.data.len() {
        if cluster.data[i].is_running() {
            cluster.kill_pod(Role::Data, i).await.expect("kill");
        }
    }
    for i in 0..cluster.sentinels.len() {
        cluster.kill_pod(Role::Sentinel, i).await.expect("kill");
    }
    for i in 0..cluster.data.len() {
        cluster.start_pod(Role::Data, i).expect("start data");
    }
    let late = Instant::now() + Duration::from_secs(15);
    while Instant::now() < late {
        cluster.restart_exited().expect("restart");
        assert!(
            cluster.masters().await.iter().all(|&m| m != first.killed),
            "the stale bootstrap node became master before the Sentinels were back\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for i in 0..cluster.sentinels.len() {
        cluster
            .start_pod(Role::Sentinel, i)
            .expect("start sentinel");
    }
    let healed = wait_healed(&mut cluster, Duration::from_secs(90)).await;
    assert_eq!(healed, first.new_master, "the newest data stays master");
    let totals = cluster.totals_on(healed, &log, key).await.expect("totals");
    report(
        "full restart, late Sentinels",
        &totals,
        MAX_LOST_PER_FAILOVER,
    );
}
