//! `gatehouse fleet render | diff | validate` on the example fleet file, as a user runs them.

use std::path::Path;

use gatehouse_tests::{expect_exit, run, text};

fn example() -> String {
    std::fs::read_to_string(gatehouse_testkit::workspace_root().join("examples/fleet.yaml"))
        .unwrap()
}

fn fleet_file(dir: &Path, text: &str) -> String {
    let path = dir.join("fleet.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn render_then_diff_says_per_wave_which_pods_roll() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = fleet_file(dir.path(), &example());
    let out_dir = dir.path().join("out");
    let out = out_dir.to_str().unwrap();
    for engine in ["flux", "argocd"] {
        let rendered = run(
            &[
                "fleet", "render", "-f", &fleet, "--engine", engine, "--gitops", out,
            ],
            "",
            &[],
            None,
        );
        expect_exit(&rendered, 0, &["for 3 clusters in 2 waves"]);
        assert!(out_dir.join(".gatehouse-files").is_file());
        assert!(
            out_dir
                .join(format!("{engine}/kustomization.yaml"))
                .is_file()
        );
        // Nothing changed yet.
        let same = run(
            &["fleet", "diff", "-f", &fleet, "--engine", engine, out],
            "",
            &[],
            None,
        );
        let said = expect_exit(&same, 0, &["wave 1: unchanged", "wave 2: unchanged"]);
        assert!(!said.contains("roll"), "{said}");
    }
    // A Sentinel setting on one wave-2 cluster: only its Sentinels roll.
    let changed = example().replace(
        "      gateway: {version: \"4.10.28\"}",
        "      gateway: {version: \"4.10.28\"}\n      redis: {sentinel: {parallelSyncs: 2}}",
    );
    assert_ne!(changed, example());
    let fleet = fleet_file(dir.path(), &changed);
    let diff = run(
        &["fleet", "diff", "-f", &fleet, "--engine", "argocd", out],
        "",
        &[],
        None,
    );
    let said = expect_exit(
        &diff,
        1,
        &[
            "wave 1: unchanged",
            "wave 2: 1 cluster, Sentinels roll",
            "  ap-south: ",
        ],
    );
    assert!(!said.contains("us-east"), "{said}");
    assert!(!said.contains("data nodes"), "{said}");
}

#[test]
fn fleet_file_problems_are_located_and_name_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let bad = example().replace("redis: {replicas: 3}", "redis: {replica: 3}");
    let fleet = fleet_file(dir.path(), &bad);
    let out = dir.path().join("out");
    let args = [
        "fleet",
        "render",
        "-f",
        &fleet,
        "--engine",
        "flux",
        "--gitops",
        out.to_str().unwrap(),
    ];
    let said = expect_exit(
        &run(&args, "", &[], None),
        1,
        &["clusters[1].overrides.redis.replica", "unknown field"],
    );
    assert!(said.contains("fleet.yaml:"), "{said}");
    assert!(!out.exists(), "nothing is written for a bad fleet");

    // A secret from the environment has no place in a GitOps fleet; direct delivery reads it.
    let env = example().replace(
        "      redis: {replicas: 3}",
        "      redis: {replicas: 3, password: {from: env, variable: US_REDIS_PASSWORD}}",
    );
    let fleet = fleet_file(dir.path(), &env);
    let args = [
        "fleet",
        "render",
        "-f",
        &fleet,
        "--engine",
        "argocd",
        "--gitops",
        out.to_str().unwrap(),
    ];
    expect_exit(
        &run(&args, "", &[], None),
        1,
        &[
            "clusters[1].overrides.redis.password",
            "cluster us-east",
            "from: existingSecret",
        ],
    );
    let out = run(&["fleet", "validate", "-f", &fleet], "", &[], None);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn fleet_deploy_stops_before_the_next_wave_and_names_the_cluster() {
    use gatehouse_apply_mock::MockApiServer;
    let (one, two) = (MockApiServer::start(), MockApiServer::start());
    let dir = tempfile::tempdir().unwrap();
    // One kubeconfig, a context per server.
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: one\nclusters:\n- {{name: one, cluster: {{server: '{}'}}}}\n- {{name: two, cluster: {{server: '{}'}}}}\ncontexts:\n- {{name: one, context: {{cluster: one, user: u}}}}\n- {{name: two, context: {{cluster: two, user: u}}}}\nusers:\n- {{name: u, user: {{token: t}}}}\n",
            one.url(),
            two.url()
        ),
    )
    .unwrap();
    let fleet = fleet_file(
        dir.path(),
        "clusters:\n  - {name: eu, wave: 1, context: one, overrides: {namespace: apim-eu}}\n  - {name: us, wave: 2, context: two, overrides: {namespace: apim-us}}\n",
    );
    let env = [
        ("GATEHOUSE_REDIS_PASSWORD", "fleet-s3cr3t"),
        ("GRAVITEE_LICENSE_KEY", "fleet-s3cr3t"),
        ("GRAVITEE_CLOUD_TOKEN", "fleet-s3cr3t"),
    ];
    let args = [
        "fleet",
        "deploy",
        "-f",
        &fleet,
        "--skip-release",
        "--timeout",
        "5s",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ];
    // The mock runs no pods: no Sentinel answers, so wave 1 is deployed but not healthy.
    let said = expect_exit(
        &run(&args, "", &env, None),
        1,
        &[
            "wave 1: cluster eu (context one): deployed, NOT healthy",
            "eu (wave 1) is not healthy; wave(s) 2 not started",
        ],
    );
    assert!(!said.contains("fleet-s3cr3t"), "{said}");
    assert!(one.request_count() > 0);
    assert_eq!(two.request_count(), 0, "wave 2 was never contacted");
    let wave = run(
        &["fleet", "deploy", "-f", &fleet, "--wave", "3"],
        "",
        &env,
        None,
    );
    expect_exit(&wave, 1, &["there is no wave 3"]);
}
