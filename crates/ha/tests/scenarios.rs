//! Redis Sentinel high availability on real `redis-server`/`redis-sentinel` processes started from
//! the configuration gatehouse renders (see `gatehouse_ha`). Each test starts its own group of
//! 3 data nodes and 3 Sentinels on free loopback ports; `down-after-milliseconds` is 2000 here.

mod common;

use std::time::{Duration, Instant};

use gatehouse_ha::measure::Failover;
use gatehouse_ha::resp::{Connection, Reply};
use gatehouse_ha::workload::Writer;
use gatehouse_ha::{
    Cluster, Hook, MAX_LOST_PER_FAILOVER, Role, TEST_PASSWORD, failover_bound, test_deployment,
};

const LIMIT: Duration = Duration::from_secs(2);

fn writer(cluster: &Cluster, key: &str) -> Writer {
    Writer::start(cluster.writer_config(key, Duration::from_secs(150)))
}

/// Kills the master under load and checks the bound.
async fn fail_over(cluster: &mut Cluster, writer: &Writer) -> Failover {
    let bound = failover_bound(cluster.down_after);
    let failover = cluster
        .kill_master(writer, bound + Duration::from_secs(20))
        .await
        .expect("writes resume on a new master");
    eprintln!("{failover:?}");
    assert_ne!(failover.new_master, failover.killed);
    assert!(
        failover.time <= bound,
        "failover took {:?}; the bound is down-after {:?} + margin = {bound:?}",
        failover.time,
        cluster.down_after
    );
    failover
}

/// Restarts a killed data node with the rendered start command and checks that it comes back as a
/// replica of `master`, never as a second master.
async fn rejoin(cluster: &mut Cluster, node: usize, master: usize) {
    cluster.start_pod(Role::Data, node).expect("restart");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Never two masters, not even while the node starts.
        let masters = cluster.masters().await;
        assert!(
            masters.len() <= 1,
            "split brain: {masters:?} are masters\n{}",
            cluster.log_tails()
        );
        if let Ok(m) = cluster.converged(2).await {
            assert_eq!(m, master, "the restarted node must not take over");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not rejoin as a replica\n{}",
            cluster.data[node].name,
            cluster.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config = std::fs::read_to_string(cluster.data[node].dir.join("config/redis.conf"))
        .expect("the start script wrote redis.conf");
    assert!(
        config.contains(&format!(
            "replicaof {} {}",
            cluster.data[master].host, cluster.data[master].port
        )),
        "the start script asked the Sentinels and chose replicaof the new master:\n{}",
        cluster.data[node].log()
    );
}

fn assert_no_loss(totals: &gatehouse_ha::measure::Totals, failovers: u64) {
    eprintln!("{totals:?}");
    assert!(totals.acked > 0, "the writer wrote nothing: {totals:?}");
    assert!(
        totals.lost <= MAX_LOST_PER_FAILOVER * failovers,
        "{} acknowledged increments lost, bound {} per failover: {totals:?}",
        totals.lost,
        MAX_LOST_PER_FAILOVER
    );
}

/// Scenario 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_master_is_replaced_within_the_bound() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let key = "ratelimit:scenario1";
    let w = writer(&cluster, key);
    let failover = fail_over(&mut cluster, &w).await;
    let master = cluster
        .wait_converged(1, Duration::from_secs(30))
        .await
        .expect("the remaining replica follows the new master");
    assert_eq!(master, failover.new_master);
    assert_eq!(cluster.masters().await, vec![master], "exactly one master");
    let after = Instant::now();
    cluster
        .wait_write_on(&w, master, after, Duration::from_secs(5))
        .await
        .expect("writes keep going");
    let log = w.snapshot();
    assert_eq!(
        log.failed, failover.failed_writes,
        "writes failed outside the failover window: {:?}",
        log.failure_reasons
    );
    let totals = cluster.totals(w, key).await.expect("counter readable");
    assert_no_loss(&totals, 1);
}

/// Scenario 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_master_rejoins_as_a_replica() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let key = "ratelimit:scenario2";
    let w = writer(&cluster, key);
    let failover = fail_over(&mut cluster, &w).await;
    let before = w.snapshot().max_value;
    rejoin(&mut cluster, failover.killed, failover.new_master).await;
    assert_eq!(cluster.masters().await, vec![failover.new_master]);
    let info = cluster.replication(failover.killed).await.expect("INFO");
    assert_eq!(info.get("role").map(String::as_str), Some("slave"));
    cluster
        .wait_write_on(
            &w,
            failover.new_master,
            Instant::now(),
            Duration::from_secs(5),
        )
        .await
        .expect("writes keep going");
    let totals = cluster.totals(w, key).await.expect("counter readable");
    assert!(
        totals.final_value > before,
        "the counter kept increasing: {before} -> {}",
        totals.final_value
    );
    assert_no_loss(&totals, 1);
    // The rejoined node holds the counter too (it synced from the new master).
    let mut c = cluster.data_conn(failover.killed).await.expect("connect");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = match c.ok(&["GET", key]).await.expect("GET") {
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(&b).parse::<i64>().unwrap_or(0),
            _ => 0,
        };
        if value == totals.final_value {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replica has {value}, master {}",
            totals.final_value
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Scenario 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_sentinel_keeps_the_current_master_and_the_quorum_works() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let key = "ratelimit:scenario3";
    let w = writer(&cluster, key);
    let first = fail_over(&mut cluster, &w).await;
    // Kubernetes restarts the killed pod: with `min-replicas-to-write 1`, a master left without any
    // replica (two of three data nodes down) refuses writes.
    cluster
        .start_pod(Role::Data, first.killed)
        .expect("restart");
    cluster
        .wait_converged(2, Duration::from_secs(40))
        .await
        .expect("converged after the first failover");

    let id_before = sentinel_id(&cluster, 0).await;
    let saved = std::fs::read_to_string(cluster.sentinels[0].dir.join("config/sentinel.conf"))
        .expect("Sentinel state file");
    let monitor = format!(
        "sentinel monitor mymaster {} {}",
        cluster.data[first.new_master].host, cluster.data[first.new_master].port
    );
    assert!(
        saved.contains(&monitor),
        "Sentinel saved the new master:\n{saved}"
    );
    cluster.kill_pod(Role::Sentinel, 0).await.expect("kill");
    cluster.start_pod(Role::Sentinel, 0).expect("restart");
    // Ask it at once: it knows the master from its saved state, not from the others.
    let deadline = Instant::now() + Duration::from_secs(10);
    let port = loop {
        if let Ok(port) = cluster.sentinel_master_port(0).await {
            break port;
        }
        assert!(
            Instant::now() < deadline,
            "restarted Sentinel does not answer\n{}",
            cluster.sentinels[0].log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        port, cluster.data[first.new_master].port,
        "the restarted Sentinel reports the master after the failover"
    );
    assert!(
        cluster.sentinels[0]
            .log()
            .contains("the saved Sentinel state names master")
    );
    assert_eq!(
        sentinel_id(&cluster, 0).await,
        id_before,
        "same Sentinel ID"
    );
    let mut c = cluster.sentinel_conn(0).await.expect("connect");
    let ckquorum = c
        .ok(&["SENTINEL", "CKQUORUM", &cluster.master_name])
        .await
        .expect("CKQUORUM");
    assert!(
        ckquorum.as_text().unwrap_or_default().starts_with("OK"),
        "{ckquorum:?}"
    );
    // It can still authenticate to the master: with a broken `sentinel auth-pass` its PINGs get
    // NOAUTH and it would flag the master down after down-after.
    tokio::time::sleep(cluster.down_after + Duration::from_secs(1)).await;
    let flags = cluster
        .sentinel_master_field(0, "flags")
        .await
        .expect("SENTINEL MASTER");
    assert_eq!(flags, "master", "the restarted Sentinel sees the master up");

    // The quorum works with the restarted Sentinel: with Sentinel 1 gone, a failover needs the
    // votes of Sentinels 0 and 2.
    cluster.kill_pod(Role::Sentinel, 1).await.expect("kill");
    let second = fail_over(&mut cluster, &w).await;
    assert_eq!(second.killed, first.new_master);
    assert_eq!(cluster.masters().await, vec![second.new_master]);
    let totals = cluster.totals(w, key).await.expect("counter readable");
    assert_no_loss(&totals, 2);
}

async fn sentinel_id(cluster: &Cluster, i: usize) -> String {
    let mut c = cluster.sentinel_conn(i).await.expect("connect");
    c.ok(&["SENTINEL", "MYID"])
        .await
        .expect("MYID")
        .as_text()
        .unwrap_or_default()
}

/// Scenario 4.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_the_password_are_refused() {
    let Some(cluster) = common::start().await else {
        return;
    };
    for pod in &cluster.data {
        let mut anonymous = Connection::connect(&pod.addr(), LIMIT)
            .await
            .expect("connect");
        let reply = anonymous.command(&["INCR", "k"]).await.expect("reply");
        assert!(
            matches!(&reply, Reply::Error(e) if e.starts_with("NOAUTH")),
            "{}: {reply:?}",
            pod.name
        );
        let reply = anonymous
            .command(&["AUTH", "p@ss:w#rd"])
            .await
            .expect("reply");
        assert!(
            matches!(&reply, Reply::Error(e) if e.starts_with("WRONGPASS")),
            "{reply:?}"
        );
        let reply = anonymous
            .command(&["AUTH", TEST_PASSWORD])
            .await
            .expect("reply");
        assert_eq!(reply, Reply::Simple("OK".into()), "the full password works");
    }
    assert!(
        cluster.sentinel_auth,
        "the default model turns Sentinel auth on"
    );
    for pod in &cluster.sentinels {
        let mut anonymous = Connection::connect(&pod.addr(), LIMIT)
            .await
            .expect("connect");
        for command in [
            &["SENTINEL", "get-master-addr-by-name", "mymaster"][..],
            &["SENTINEL", "FAILOVER", "mymaster"][..],
        ] {
            let reply = anonymous.command(command).await.expect("reply");
            assert!(
                matches!(&reply, Reply::Error(e) if e.starts_with("NOAUTH")),
                "{}: {command:?}: {reply:?}",
                pod.name
            );
        }
    }
    // The password appears in no rendered file and in no plain env value of the pod spec.
    for (name, text) in &cluster.rendered().files {
        assert!(!text.contains(TEST_PASSWORD), "{name} holds the password");
    }
    // The runtime configs holding it are private to the Redis user.
    use std::os::unix::fs::PermissionsExt;
    let conf = cluster.data[0].dir.join("config/redis.conf");
    let mode = std::fs::metadata(&conf)
        .expect("config")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", conf.display());
}

/// Scenario 4, the other side: with Sentinel auth off, Sentinel answers anyone (which is why the
/// model turns it on by default) while the data nodes still refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_auth_off_answers_anyone() {
    let mut d = test_deployment();
    d.redis.sentinel.auth = false;
    let Some(cluster) = common::start_deployment(d).await else {
        return;
    };
    let mut anonymous = Connection::connect(&cluster.sentinels[0].addr(), LIMIT)
        .await
        .expect("connect");
    let reply = anonymous
        .ok(&["SENTINEL", "get-master-addr-by-name", "mymaster"])
        .await
        .expect("answered without a password");
    assert!(gatehouse_ha::cluster::parse_master_addr(&reply).is_some());
    let mut data = Connection::connect(&cluster.data[0].addr(), LIMIT)
        .await
        .expect("connect");
    let reply = data.command(&["PING"]).await.expect("reply");
    assert!(
        matches!(&reply, Reply::Error(e) if e.starts_with("NOAUTH")),
        "{reply:?}"
    );
}

/// Scenario 6.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_failovers_in_a_row_without_split_brain() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let key = "ratelimit:scenario6";
    let w = writer(&cluster, key);
    let mut masters = vec![cluster.agreed_master().await.expect("a master")];
    for round in 1..=3 {
        let failover = fail_over(&mut cluster, &w).await;
        eprintln!("round {round}: {failover:?}");
        rejoin(&mut cluster, failover.killed, failover.new_master).await;
        assert_eq!(
            cluster.masters().await,
            vec![failover.new_master],
            "round {round}: exactly one master"
        );
        masters.push(failover.new_master);
    }
    let totals = cluster.totals(w, key).await.expect("counter readable");
    assert_no_loss(&totals, 3);
    eprintln!("masters in turn: {masters:?}");
}

/// The rendered readiness/liveness probes on real processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_follow_the_replication_state() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let master = cluster.agreed_master().await.expect("master");
    let replica = (0..3).find(|&i| i != master).expect("a replica");
    for i in 0..3 {
        for hook in [Hook::Readiness, Hook::Liveness] {
            let (ok, out) = cluster
                .run_hook(Role::Data, i, hook, Duration::from_secs(15))
                .await
                .expect("probe runs");
            assert!(ok, "data {i} {hook:?} fails on a healthy group: {out}");
        }
    }
    for i in 0..3 {
        for hook in [Hook::Readiness, Hook::Liveness] {
            let (ok, out) = cluster
                .run_hook(Role::Sentinel, i, hook, Duration::from_secs(15))
                .await
                .expect("probe runs");
            assert!(ok, "sentinel {i} {hook:?} fails on a healthy group: {out}");
        }
    }
    // A replica whose master is gone is alive but not ready.
    cluster.kill_pod(Role::Data, master).await.expect("kill");
    let (ready, out) = cluster
        .run_hook(
            Role::Data,
            replica,
            Hook::Readiness,
            Duration::from_secs(15),
        )
        .await
        .expect("probe runs");
    assert!(
        !ready,
        "readiness must fail while the master link is down: {out}"
    );
    assert!(out.contains("master link is down"), "{out}");
    let (alive, out) = cluster
        .run_hook(Role::Data, replica, Hook::Liveness, Duration::from_secs(15))
        .await
        .expect("probe runs");
    assert!(alive, "liveness must tolerate a lost master: {out}");
    // A stopped node is neither ready nor alive.
    let (alive, out) = cluster
        .run_hook(Role::Data, master, Hook::Liveness, Duration::from_secs(15))
        .await
        .expect("probe runs");
    assert!(!alive, "liveness of a dead node: {out}");

    // An orphaned replica (following a node that is not the master the Sentinels report, with
    // its link down) fails liveness, so the kubelet restarts it and the start script rejoins it.
    let new_master = cluster
        .wait_converged(1, Duration::from_secs(30))
        .await
        .expect("failover");
    let orphan = (0..3)
        .find(|&i| i != master && i != new_master)
        .expect("replica");
    let dead_port = cluster.data[master].port.to_string();
    let dead_host = cluster.data[master].host.to_string();
    let mut c = cluster.data_conn(orphan).await.expect("connect");
    c.ok(&["REPLICAOF", &dead_host, &dead_port])
        .await
        .expect("REPLICAOF");
    let (alive, out) = cluster
        .run_hook(Role::Data, orphan, Hook::Liveness, Duration::from_secs(15))
        .await
        .expect("probe runs");
    assert!(!alive, "an orphaned replica must fail liveness: {out}");
    assert!(out.contains("replica follows"), "{out}");
    cluster.kill_pod(Role::Data, orphan).await.expect("kill");
    cluster.start_pod(Role::Data, orphan).expect("restart");
    let healed = cluster
        .wait_converged(1, Duration::from_secs(30))
        .await
        .expect("the restarted replica follows the master again");
    assert_eq!(healed, new_master);
    let (alive, out) = cluster
        .run_hook(Role::Data, orphan, Hook::Liveness, Duration::from_secs(15))
        .await
        .expect("probe runs");
    assert!(alive, "{out}");
}

/// The rendered preStop hook hands the master role over before the pod stops (measured: about
/// 2 s, a couple of failed writes, nothing lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prestop_on_the_master_hands_over_to_a_replica() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let key = "ratelimit:prestop";
    let w = writer(&cluster, key);
    let master = cluster.agreed_master().await.expect("master");
    cluster
        .wait_write_on(&w, master, Instant::now(), Duration::from_secs(10))
        .await
        .expect("writes flow");
    let t0 = Instant::now();
    let (ok, out) = cluster
        .run_hook(Role::Data, master, Hook::PreStop, Duration::from_secs(40))
        .await
        .expect("preStop runs");
    eprintln!("preStop took {:?}: {out}", t0.elapsed());
    assert!(ok, "{out}");
    assert!(out.contains("master handed over"), "{out}");
    let new_master = cluster
        .wait_agreed_master(Duration::from_secs(10))
        .await
        .expect("agreed master");
    assert_ne!(new_master, master, "the Sentinels moved the master");
    cluster
        .wait_write_on(&w, new_master, t0, Duration::from_secs(10))
        .await
        .expect("writes continue on the new master");
    // Then the kubelet stops the container; the group carries on with the new master.
    cluster.kill_pod(Role::Data, master).await.expect("stop");
    let converged = cluster
        .wait_converged(1, Duration::from_secs(30))
        .await
        .expect("the other replica follows the new master");
    assert_eq!(converged, new_master);
    let totals = cluster.totals(w, key).await.expect("counter");
    assert_no_loss(&totals, 1);
}
