//! The release before ACL users (one password, everything as `default`) runs in the harness from
//! its own rendered files (`tests/fixtures/pre-acl-guide-example.json`, the ConfigMap and
//! StatefulSets gatehouse rendered for the guide's example at commit 205c6d9): the base of the
//! upgrade proof (issue 23), which `Cluster::upgrade` then rolls to the current release.

mod common;

use std::time::Duration;

use gatehouse_ha::cluster::{Cluster, Role, TEST_PASSWORD, test_deployment};
use gatehouse_ha::pods::RenderedRedis;
use gatehouse_ha::workload::Writer;
use gatehouse_render::Names;

const PRE_ACL: &str = include_str!("fixtures/pre-acl-guide-example.json");

/// What one Sentinel says about its peers.
#[derive(Debug)]
struct SentinelState {
    sentinel: usize,
    rolled: bool,
    /// `SENTINEL SENTINELS`: each peer's port and flags (`sentinel`, `s_down,sentinel`, ...).
    peers: Vec<(String, String)>,
    /// `SENTINEL CKQUORUM`'s answer (`OK 3 usable Sentinels...` or `NOQUORUM ...`).
    ckquorum: String,
    /// Failed logins its `ACL LOG` recorded since the last reset, and `user@address` of each.
    failed_logins: (u64, Vec<String>),
}

async fn reset_acl_logs(cluster: &Cluster) {
    for i in 0..cluster.sentinels.len() {
        let mut c = cluster
            .sentinel_conn(i)
            .await
            .expect("a Sentinel connection");
        c.command(&["ACL", "LOG", "RESET"])
            .await
            .expect("ACL LOG RESET");
    }
}

/// Every Sentinel's view of its peers, its quorum check and the failed logins it recorded since
/// the last reset (then reset).
async fn sentinel_states(cluster: &Cluster, rolled: &[bool]) -> Vec<SentinelState> {
    use gatehouse_ha::resp::Reply;
    use gatehouse_ha::rotation::failed_logins;
    let mut states = Vec::new();
    for (i, &rolled) in rolled.iter().enumerate() {
        let mut c = cluster
            .sentinel_conn(i)
            .await
            .expect("a Sentinel connection");
        let peers = match c
            .command(&["SENTINEL", "SENTINELS", &cluster.master_name])
            .await
        {
            Ok(Reply::Array(Some(peers))) => peers
                .iter()
                .filter_map(|p| match p {
                    Reply::Array(Some(fields)) => {
                        let field = |name: &str| {
                            fields
                                .chunks(2)
                                .find(|kv| kv[0].as_text().as_deref() == Some(name))
                                .and_then(|kv| kv.get(1)?.as_text())
                                .unwrap_or_default()
                        };
                        Some((field("port"), field("flags")))
                    }
                    _ => None,
                })
                .collect(),
            other => panic!("SENTINEL SENTINELS on {i}: {other:?}"),
        };
        let ckquorum = match c
            .command(&["SENTINEL", "CKQUORUM", &cluster.master_name])
            .await
        {
            Ok(Reply::Simple(text)) => text,
            Ok(Reply::Error(text)) => text,
            other => panic!("SENTINEL CKQUORUM on {i}: {other:?}"),
        };
        let failed_logins = match c.command(&["ACL", "LOG"]).await {
            Ok(Reply::Array(Some(entries))) => failed_logins(&entries),
            other => panic!("ACL LOG on {i}: {other:?}"),
        };
        c.command(&["ACL", "LOG", "RESET"])
            .await
            .expect("ACL LOG RESET");
        states.push(SentinelState {
            sentinel: i,
            rolled,
            peers,
            ckquorum,
            failed_logins,
        });
    }
    states
}

/// SIGKILLs the agreed master's pod, waits until the Sentinels agree on another master, then
/// starts the killed pod again (the kubelet's restart) and waits until the group converges.
/// Returns the old and the new master and how long the failover took.
async fn sigkill_failover(cluster: &mut Cluster) -> (usize, usize, Duration) {
    let old = cluster
        .wait_agreed_master(Duration::from_secs(10))
        .await
        .expect("an agreed master before the kill");
    let t0 = std::time::Instant::now();
    cluster.kill_pod(Role::Data, old).await.expect("SIGKILL");
    let new = loop {
        match cluster.agreed_master().await {
            Ok(m) if m != old => break m,
            _ => assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no failover within 60 s:\n{}",
                cluster.log_tails()
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = t0.elapsed();
    cluster.start_pod(Role::Data, old).expect("restart");
    cluster
        .wait_converged(cluster.data.len() - 1, Duration::from_secs(60))
        .await
        .expect("the old master rejoins");
    (old, new, took)
}

/// Starts every pod of a prepared group of the release before ACL users and waits until it
/// converges.
async fn start_pre_acl(cluster: &mut Cluster) {
    cluster.start_all().expect("start every pod");
    cluster
        .wait_converged(cluster.data.len() - 1, Duration::from_secs(60))
        .await
        .expect("the release before ACL users converges");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_before_acl_users_runs_from_its_rendered_files() {
    if !common::redis_available() {
        return;
    }
    let d = test_deployment();
    let release = RenderedRedis::from_json_text(Names::of(&d), PRE_ACL).expect("the fixture");
    assert!(
        !release.files.contains_key("acl-users")
            && release.files["redis.conf"].contains("No password is ever written"),
        "the fixture is the release before ACL users"
    );
    let mut cluster = Cluster::prepare_release(d, TEST_PASSWORD, Some(release)).expect("prepare");
    start_pre_acl(&mut cluster).await;
    // Its pods know no ACL user: the file its start script wrote has a requirepass, no aclfile.
    let config = std::fs::read_to_string(cluster.data[0].dir.join("config/redis.conf"))
        .expect("the start script wrote redis.conf");
    assert!(
        config.lines().any(|l| l.starts_with("requirepass "))
            && !config.lines().any(|l| l.starts_with("aclfile ")),
        "{config}"
    );
    let writer = Writer::start(cluster.writer_config("pre-acl", Duration::from_secs(30)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let totals = cluster.totals(writer, "pre-acl").await.expect("totals");
    assert!(totals.acked > 0 && totals.lost == 0, "{totals:?}");
}

/// The upgrade to ACL users under load: the release before ACL users, rolled to this one with the
/// gateway's user `unrestricted` (the old Sentinels and replicas log in to rolled pods as
/// `default` until they are rolled themselves), data pods first (the master handed over by its
/// pre-stop hook, which the old pod runs from the new ConfigMap with its old environment), then
/// the Sentinels, one at a time: in each state where rolled and not-rolled Sentinels run side by
/// side, the not-rolled ones refuse the rolled ones' peer user (their `ACL LOG`), the rolled ones
/// refuse nothing, a majority can still authorise a failover (`SENTINEL CKQUORUM`), and a SIGKILL
/// of the master is failed over. Every pod becomes ready, no acknowledged write is lost, the
/// gateway-shaped client keeps counting, and afterwards every replica replicates as the
/// replication user and no Sentinel refuses a login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_before_acl_users_upgrades_under_load_without_losing_a_write() {
    use gatehouse_ha::gateway_client::{GatewayClient, GatewayClientConfig};
    use gatehouse_ha::resp::Reply;
    if !common::redis_available() {
        return;
    }
    let d = test_deployment();
    let release = RenderedRedis::from_json_text(Names::of(&d), PRE_ACL).expect("the fixture");
    let mut cluster =
        Cluster::prepare_release(d.clone(), TEST_PASSWORD, Some(release)).expect("prepare");
    start_pre_acl(&mut cluster).await;
    let writer = Writer::start(cluster.writer_config("upgrade", Duration::from_secs(300)));
    let mut gateway = GatewayClient::new(GatewayClientConfig::of(&cluster, Duration::from_secs(2)));
    let first = gateway
        .hit("ratelimit:upgrade")
        .await
        .expect("rate limit before");

    cluster.upgrade(d).expect("upgrade");
    let data = cluster
        .roll(Role::Data)
        .await
        .unwrap_or_else(|e| panic!("the data pods' roll: {e}"));
    assert!(
        data.iter().any(|p| p.was_master),
        "the roll met no master: {data:?}"
    );
    for pod in data.iter().filter(|p| p.was_master) {
        assert!(
            pod.pre_stop_output.contains("master handed over"),
            "{pod:?}"
        );
    }
    // The first rolled replicas found an old master and replicated as `default`, then switched
    // (read before the failovers below restart pods and start their logs anew).
    let fell_back = cluster
        .data
        .iter()
        .filter(|n| {
            let log = n.log();
            log.contains("replicating as default until it does")
                && log.contains("now; replicating as it from the next link")
        })
        .count();
    assert!(
        fell_back >= 1,
        "no replica went through the fallback:\n{}",
        cluster.log_tails()
    );
    // The Sentinels one at a time (highest ordinal first, as the controller rolls them), each
    // state held for a few down-after periods and measured; in both states where rolled and
    // not-rolled Sentinels run side by side, the master is SIGKILLed and must be failed over.
    let count = cluster.sentinels.len();
    let mut rolled = vec![false; count];
    reset_acl_logs(&cluster).await;
    for i in (0..count).rev() {
        cluster
            .roll_pod(Role::Sentinel, i)
            .await
            .unwrap_or_else(|e| panic!("the Sentinels' roll, pod {i}: {e}"));
        rolled[i] = true;
        tokio::time::sleep(cluster.down_after * 2).await;
        let states = sentinel_states(&cluster, &rolled).await;
        for state in &states {
            eprintln!("rolled {rolled:?}: {state:?}");
        }
        // Measured, and what README's upgrade section says: a rolled Sentinel logs in to the
        // others as the peer user, which a Sentinel not rolled yet does not know (its ACL LOG
        // records the refusal); a Sentinel not rolled logs in to rolled ones as `default`
        // (unrestricted for this deploy), which they accept.
        for state in &states {
            let peer_refused = state
                .failed_logins
                .1
                .iter()
                .any(|who| who.starts_with(gatehouse_model::acl::SENTINEL_PEER_USER));
            let mixed = rolled.iter().any(|r| *r) && rolled.iter().any(|r| !r);
            if state.rolled {
                assert_eq!(
                    state.failed_logins.0, 0,
                    "rolled {rolled:?}: Sentinel {} refused a login: {state:?}",
                    state.sentinel
                );
            } else if mixed {
                assert!(
                    peer_refused,
                    "rolled {rolled:?}: Sentinel {} did not refuse the peer user: {state:?}",
                    state.sentinel
                );
            }
        }
        let authorising = states
            .iter()
            .filter(|s| s.ckquorum.starts_with("OK"))
            .count();
        assert!(
            authorising * 2 > count,
            "rolled {rolled:?}: only {authorising} Sentinel(s) can authorise a failover: {states:#?}"
        );
        if rolled.iter().any(|r| !r) {
            let (old, new, took) = sigkill_failover(&mut cluster).await;
            eprintln!(
                "rolled {rolled:?}: SIGKILL of {} failed over to {} in {took:?}",
                cluster.data[old].name, cluster.data[new].name
            );
        }
    }
    cluster
        .wait_converged(cluster.data.len() - 1, Duration::from_secs(30))
        .await
        .expect("converged after the upgrade");
    // Rolled: no Sentinel refuses a login any more, and each sees its two peers up.
    reset_acl_logs(&cluster).await;
    tokio::time::sleep(cluster.down_after * 2).await;
    for state in sentinel_states(&cluster, &rolled).await {
        assert_eq!(state.failed_logins.0, 0, "{state:?}");
        assert!(
            state.peers.len() == count - 1
                && state.peers.iter().all(|(_, flags)| flags == "sentinel"),
            "{state:?}"
        );
        assert!(state.ckquorum.starts_with("OK 3 usable"), "{state:?}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let last = loop {
        match gateway.hit("ratelimit:upgrade").await {
            Ok(count) => break count,
            Err(e) => assert!(std::time::Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        last > first,
        "the rate-limit counter went back: {first} -> {last}"
    );
    let totals = cluster.totals(writer, "upgrade").await.expect("totals");
    eprintln!("upgrade: {totals:?}");
    assert!(totals.acked > 0, "{totals:?}");
    assert_eq!(totals.lost, 0, "{totals:?}");
    // Every pod runs the new release, and replicas log in as the replication user.
    let master = cluster
        .wait_agreed_master(Duration::from_secs(10))
        .await
        .expect("one master");
    for (i, node) in cluster.data.iter().enumerate() {
        let config =
            std::fs::read_to_string(node.dir.join("config/redis.conf")).expect("redis.conf");
        assert!(
            config.lines().any(|l| l.starts_with("aclfile ")),
            "{}",
            node.name
        );
        if i == master {
            continue;
        }
        let mut c = cluster.data_conn(i).await.expect("a connection");
        let reply = c
            .command(&["CONFIG", "GET", "masteruser"])
            .await
            .expect("an answer");
        assert!(
            matches!(&reply, Reply::Array(Some(v)) if v.get(1).and_then(Reply::as_text).as_deref() == Some(gatehouse_model::acl::REPLICATION_USER)),
            "{}: masteruser {reply:?}\n{}",
            node.name,
            cluster.log_tails()
        );
    }
}
