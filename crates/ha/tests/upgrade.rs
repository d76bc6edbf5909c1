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
/// the Sentinels. Every pod becomes ready, no acknowledged write is lost, the gateway-shaped client
/// keeps counting, and afterwards every replica replicates as the replication user.
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
    cluster
        .roll(Role::Sentinel)
        .await
        .unwrap_or_else(|e| panic!("the Sentinels' roll: {e}"));
    cluster
        .wait_converged(cluster.data.len() - 1, Duration::from_secs(30))
        .await
        .expect("converged after the upgrade");
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
    // The first rolled replicas found an old master and replicated as `default`, then switched.
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
