//! A fleet deployed wave by wave through two contexts of one kubeconfig, each a mock API server:
//! the waves keep their order, a wave that is not healthy everywhere stops the next one, and
//! nothing of one cluster's objects lands on the other.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use gatehouse_apply::fleet::{Checks, FleetOptions, FleetTarget, Outcome, deploy_waves};
use gatehouse_apply::{DeployOptions, Status};
use gatehouse_apply_mock::{Failure, MockApiServer};
use gatehouse_apply_testing::env;

/// One kubeconfig with a context per server (`one`, `two`), like a user's with two clusters.
fn kubeconfig(dir: &Path, servers: &[(&str, &MockApiServer)]) -> PathBuf {
    let mut text = String::from("apiVersion: v1\nkind: Config\ncurrent-context: one\nclusters:\n");
    for (name, server) in servers {
        text.push_str(&format!(
            "- name: {name}\n  cluster:\n    server: {}\n",
            server.url()
        ));
    }
    text.push_str("contexts:\n");
    for (name, _) in servers {
        text.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: {name}\n    user: u\n"
        ));
    }
    text.push_str("users:\n- name: u\n  user:\n    token: mock-token\n");
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// The guide's deployment in `namespace`, every password from the test environment.
fn target(name: &str, wave: u32, context: &str, namespace: &str) -> FleetTarget {
    let mut d = gatehouse_model::Deployment::guide_example().with_namespace(namespace);
    let acl = &mut d.redis.acl;
    for password in [
        &mut acl.replication.password,
        &mut acl.sentinel.password,
        &mut acl.sentinel_peer.password,
        &mut acl.operator.password,
    ] {
        *password = d.redis.password.clone();
    }
    FleetTarget {
        name: name.into(),
        wave,
        context: context.into(),
        rendered: gatehouse_render::render(&d.validated().unwrap()),
    }
}

fn options(kubeconfig: PathBuf) -> FleetOptions {
    FleetOptions {
        kubeconfig: Some(kubeconfig),
        at_once: 2,
        deploy: DeployOptions {
            timeout: Duration::from_secs(10),
            skip_release: true,
            ..Default::default()
        },
    }
}

/// The namespaces of every object a server holds.
fn namespaces(server: &MockApiServer) -> Vec<String> {
    let mut found: Vec<String> = server
        .paths()
        .iter()
        .filter_map(|p| p.split("/namespaces/").nth(1))
        .filter_map(|rest| rest.split('/').next())
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

/// Ready workloads are enough here: the mock runs no pods, so no Sentinel can answer `exec`.
fn workloads_ready(status: &Status) -> bool {
    !status.workloads.is_empty() && status.workloads.iter().all(|w| w.ready)
}

#[tokio::test]
async fn waves_keep_their_order_and_each_cluster_gets_only_its_objects() {
    let (one, two) = (MockApiServer::start(), MockApiServer::start());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(dir.path(), &[("one", &one), ("two", &two)]);
    let targets = [
        target("eu", 1, "one", "apim-eu"),
        target("us", 2, "two", "apim-us"),
    ];
    // When wave 1's health is judged, wave 2's cluster has seen no request at all.
    let requests_on_two_while_wave_one = Mutex::new(Vec::new());
    let healthy = |status: &Status| {
        if status
            .workloads
            .iter()
            .any(|w| w.object.contains("apim-eu/"))
        {
            requests_on_two_while_wave_one
                .lock()
                .unwrap()
                .push(two.request_count());
        }
        workloads_ready(status)
    };
    let report = deploy_waves(
        &targets,
        &[1, 2],
        &options(kubeconfig),
        &Checks {
            env: &env,
            healthy: &healthy,
        },
    )
    .await;
    assert!(report.succeeded(), "{report}");
    let order: Vec<(&str, u32)> = report
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.wave))
        .collect();
    assert_eq!(order, [("eu", 1), ("us", 2)]);
    assert_eq!(requests_on_two_while_wave_one.lock().unwrap()[0], 0);
    assert_eq!(namespaces(&one), ["apim-eu"]);
    assert_eq!(namespaces(&two), ["apim-us"]);
    assert!(
        report
            .to_string()
            .contains("wave 2: cluster us (context two): deployed, healthy"),
        "{report}"
    );
}

#[tokio::test]
async fn a_failure_in_wave_one_stops_wave_two_and_names_the_cluster() {
    let (one, two) = (MockApiServer::start(), MockApiServer::start());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(dir.path(), &[("one", &one), ("two", &two)]);
    one.fail(Failure::invalid(
        "/apis/apps/v1/namespaces/apim-eu/statefulsets/gravitee-apim-redis",
        "spec.replicas",
        "the test refuses it",
    ));
    let targets = [
        target("eu", 1, "one", "apim-eu"),
        target("eu-2", 1, "two", "apim-eu-2"),
        target("us", 2, "two", "apim-us"),
    ];
    let report = deploy_waves(
        &targets,
        &[1, 2],
        &options(kubeconfig),
        &Checks {
            env: &env,
            healthy: &workloads_ready,
        },
    )
    .await;
    assert!(!report.succeeded());
    assert_eq!(report.not_started, [2]);
    let eu = &report.clusters[0];
    assert!(matches!(eu.outcome, Outcome::Failed(_)), "{report}");
    // The other cluster of wave 1 is deployed; wave 2's namespace is on no server.
    assert!(
        matches!(report.clusters[1].outcome, Outcome::Healthy(..)),
        "{report}"
    );
    assert_eq!(report.clusters.len(), 2);
    assert_eq!(namespaces(&two), ["apim-eu-2"]);
    let text = report.to_string();
    for part in [
        "wave 1: cluster eu (context one): FAILED",
        "the test refuses it",
        "wave 2: not started",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

#[tokio::test]
async fn the_command_lines_health_rule_holds_a_wave_whose_sentinels_do_not_answer() {
    let (one, two) = (MockApiServer::start(), MockApiServer::start());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = kubeconfig(dir.path(), &[("one", &one), ("two", &two)]);
    let targets = [
        target("eu", 1, "one", "apim-eu"),
        target("us", 2, "two", "apim-us"),
    ];
    let report = deploy_waves(
        &targets,
        &[1, 2],
        &options(kubeconfig),
        &Checks {
            env: &env,
            healthy: &Status::healthy,
        },
    )
    .await;
    assert!(
        matches!(report.clusters[0].outcome, Outcome::Unhealthy(..)),
        "{report}"
    );
    assert_eq!(report.not_started, [2]);
    assert_eq!(two.request_count(), 0, "wave 2 was not contacted");
}
