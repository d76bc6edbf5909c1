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
    for i in 0..cluster.sentinels.len() {
        cluster
            .start_pod(Role::Sentinel, i)
            .expect("start sentinel");
    }
    for i in 0..cluster.data.len() {
        cluster.start_pod(Role::Data, i).expect("start data node");
    }
    cluster
        .wait_converged(cluster.data.len() - 1, Duration::from_secs(60))
        .await
        .expect("the release before ACL users converges");
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
