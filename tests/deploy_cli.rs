//! `gatehouse deploy | diff | destroy | status | render --gitops` against the mock API server,
//! through a kubeconfig file and a fake `helm` on PATH, like a user would run them.

use std::path::Path;
use std::process::Output;

use gatehouse_apply_mock::MockApiServer;
use gatehouse_tests::{expect_exit, fake_helm, path_with, run, text};

const SECRET: &str = "cli-s3cr3t-value";

/// The server was asked (so the check below is not vacuous) and nothing was written.
fn assert_read_only(server: &MockApiServer) {
    let requests = server.requests();
    assert!(!requests.is_empty(), "no request reached the server");
    assert!(
        requests.iter().all(|r| !r.is_write()),
        "{:#?}",
        requests.iter().filter(|r| r.is_write()).collect::<Vec<_>>()
    );
}

/// Read-only, and a server-side dry run was among the requests.
fn assert_dry_run_only(server: &MockApiServer) {
    assert_read_only(server);
    assert!(
        server.requests().iter().any(|r| r.is_dry_run()),
        "no dry-run request"
    );
}

fn xtask(dir: &Path, kubeconfig: &Path, args: &[&str], stdin: &str) -> Output {
    let path = path_with(&fake_helm(dir));
    let mut args = args.to_vec();
    args.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
    run(
        &args,
        stdin,
        &[
            ("PATH", &path),
            ("GATEHOUSE_REDIS_PASSWORD", SECRET),
            ("GRAVITEE_LICENSE_KEY", SECRET),
            ("GRAVITEE_CLOUD_TOKEN", SECRET),
        ],
        None,
    )
}

#[test]
fn deploy_diff_destroy_round_trip() {
    let server = MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());

    // diff before anything: changes, exit 1.
    let out = xtask(dir.path(), &kubeconfig, &["diff"], "");
    expect_exit(&out, 1, &["+++ merged/StatefulSet"]);

    // dry-run: nothing written.
    let out = xtask(dir.path(), &kubeconfig, &["deploy", "--dry-run=server"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert_dry_run_only(&server);

    // deploy: objects written, helm called with values on stdin.
    let out = xtask(dir.path(), &kubeconfig, &["deploy", "--timeout", "30s"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("created"), "{}", text(&out));
    assert!(!text(&out).contains(SECRET));
    let argv = std::fs::read_to_string(dir.path().join("helm-argv")).unwrap();
    assert!(
        argv.contains("upgrade\n--install\n") && argv.contains("--dry-run=server"),
        "{argv}"
    );
    let stdin = std::fs::read_to_string(dir.path().join("helm-stdin")).unwrap();
    assert!(stdin.contains("secretKeyRef") && !stdin.contains(SECRET));

    // diff after deploy: nothing, exit 0.
    let out = xtask(dir.path(), &kubeconfig, &["diff"], "");
    expect_exit(&out, 0, &[]);

    // destroy asks; anything but `yes` aborts without deleting.
    server.clear_requests();
    let out = xtask(dir.path(), &kubeconfig, &["destroy"], "no\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("aborted"));
    assert!(server.requests().is_empty());
    let out = xtask(dir.path(), &kubeconfig, &["destroy", "--yes"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server.paths(),
        vec!["/api/v1/namespaces/gravitee-apim".to_string()]
    );
}

#[test]
fn diff_exits_2_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = xtask(
        dir.path(),
        &dir.path().join("missing-kubeconfig"),
        &["diff"],
        "",
    );
    expect_exit(&out, 2, &["missing-kubeconfig"]);
}

#[test]
fn render_gitops_writes_flux_objects_and_kustomization() {
    let dir = tempfile::tempdir().unwrap();
    let gitops = dir.path().join("gitops");
    let out = run(
        &["render", "--gitops", gitops.to_str().unwrap()],
        "",
        &[],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let k = std::fs::read_to_string(dir.path().join("gitops/kustomization.yaml")).unwrap();
    assert!(k.contains("helmrelease"), "{k}");
    let release = std::fs::read_dir(dir.path().join("gitops"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().contains("helmrelease"))
        .unwrap();
    let text = std::fs::read_to_string(release.path()).unwrap();
    assert!(
        text.contains("helm.toolkit.fluxcd.io/v2") && text.contains("secretKeyRef"),
        "{text}"
    );
}

#[test]
fn diff_needs_no_secret_values_and_status_reports_what_it_can_see() {
    let server = MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let kubeconfig = kubeconfig.to_str().unwrap();
    // No secret variable in the environment at all.
    let env = [
        ("GATEHOUSE_REDIS_PASSWORD", ""),
        ("GRAVITEE_LICENSE_KEY", ""),
        ("GRAVITEE_CLOUD_TOKEN", ""),
    ];
    let out = run(&["diff", "--kubeconfig", kubeconfig], "", &env, None);
    expect_exit(&out, 1, &["would be created from GATEHOUSE_REDIS_PASSWORD"]);
    let out = run(
        &["diff", "-o", "json", "--kubeconfig", kubeconfig],
        "",
        &env,
        None,
    );
    expect_exit(&out, 1, &[]);
    let data: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(data["changes"], true);
    assert_eq!(data["secretsNotCompared"].as_array().unwrap().len(), 3);

    // Deploy (with the values), then status: workloads ready, no drift; the mock runs no pods,
    // so no Sentinel can be asked and the status is not healthy (exit 1).
    let out = xtask(
        dir.path(),
        Path::new(kubeconfig),
        &["deploy", "--skip-release"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = xtask(
        dir.path(),
        Path::new(kubeconfig),
        &["status", "--skip-release"],
        "",
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(": ready (") && !shown.contains("NOT READY"),
        "{shown}"
    );
    assert!(
        shown.contains("no Sentinel pods found") && shown.contains("drift: none"),
        "{shown}"
    );
}

/// Runs `gatehouse` with the secret values set, `extra` added, and no `helm` on PATH.
fn without_helm(args: &[&str], kubeconfig: &Path, dir: &Path) -> Output {
    let mut args = args.to_vec();
    args.extend(["--kubeconfig", kubeconfig.to_str().unwrap()]);
    run(
        &args,
        "",
        &[
            ("PATH", "/usr/bin:/bin"),
            ("GATEHOUSE_REDIS_PASSWORD", SECRET),
            ("GRAVITEE_LICENSE_KEY", SECRET),
            ("GRAVITEE_CLOUD_TOKEN", SECRET),
        ],
        Some(dir),
    )
}

#[test]
fn deploy_says_what_happened_needs_helm_only_to_release_and_refuses_another_deployments_objects() {
    let server = MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    std::fs::write(dir.path().join("one.yaml"), "namespace: day2\nname: one\n").unwrap();
    std::fs::write(
        dir.path().join("two.yaml"),
        "namespace: day2\nname: two\nredis:\n  sentinel:\n    serviceName: one-redis-headless\n",
    )
    .unwrap();

    // A server dry-run needs no helm: one line per object, consistent with what the server
    // checked, and a line saying the release was not validated.
    let out = without_helm(
        &["deploy", "-f", "one.yaml", "--dry-run=server"],
        &kubeconfig,
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (release, objects): (Vec<&str>, Vec<&str>) =
        stdout.lines().partition(|l| l.starts_with("Helm release"));
    assert!(objects.len() > 1, "{stdout}");
    assert!(objects[0].ends_with("created (server dry run)"), "{stdout}");
    assert!(
        objects[1..].iter().all(|l| l
            .ends_with("(dry run; not checked by the server: namespace day2 does not exist yet)")),
        "{stdout}"
    );
    assert!(
        release.len() == 1
            && release[0].contains("not validated")
            && release[0].contains("--skip-release"),
        "{stdout}"
    );
    assert_dry_run_only(&server);

    // A real deploy needs helm for the release: refused before the first write, with all three
    // ways out, printed once.
    let out = without_helm(&["deploy", "-f", "one.yaml"], &kubeconfig, dir.path());
    let shown = expect_exit(&out, 1, &[]);
    for way_out in ["https://helm.sh", "--flux", "--skip-release"] {
        assert_eq!(shown.matches(way_out).count(), 1, "{way_out}: {shown}");
    }
    assert_read_only(&server);

    // Objects only: one line per object in kubectl's words.
    let out = without_helm(
        &[
            "deploy",
            "-f",
            "one.yaml",
            "--skip-release",
            "--timeout",
            "30s",
        ],
        &kubeconfig,
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.lines().all(|l| l.ends_with(" created")), "{stdout}");
    assert!(
        stdout.contains("Service day2/one-redis-headless created"),
        "{stdout}"
    );

    // The second deployment would take over the first one's Sentinel Service: refused (deploy,
    // its dry-run and diff alike), naming the Service, the first deployment's ApplySet and the fix.
    let service = "/api/v1/namespaces/day2/services/one-redis-headless";
    let before = server.get(service).unwrap();
    server.clear_requests();
    for args in [
        &["deploy", "-f", "two.yaml", "--skip-release"][..],
        &[
            "deploy",
            "-f",
            "two.yaml",
            "--skip-release",
            "--dry-run=server",
        ][..],
    ] {
        let out = without_helm(args, &kubeconfig, dir.path());
        let shown = expect_exit(&out, 1, &[]);
        assert!(
            shown.contains("Service day2/one-redis-headless belongs to another ApplySet (parent Secret day2/one-applyset)")
                && shown.contains("--adopt"),
            "{shown}"
        );
    }
    let out = without_helm(
        &["diff", "-f", "two.yaml", "--skip-release"],
        &kubeconfig,
        dir.path(),
    );
    expect_exit(&out, 1, &["deploy would refuse it"]);
    // diff --force previews the takeover: the selector changes to the second deployment's pods.
    let out = without_helm(
        &["diff", "-f", "two.yaml", "--skip-release", "--force"],
        &kubeconfig,
        dir.path(),
    );
    let shown = expect_exit(&out, 1, &["deploy would take it over"]);
    assert!(
        shown.contains("+++ merged/Service day2/one-redis-headless")
            && shown.contains("+    app.kubernetes.io/instance: two"),
        "{shown}"
    );
    assert_read_only(&server);
    assert_eq!(server.get(service).unwrap(), before);
}

#[test]
fn a_failed_wait_says_what_was_written_and_prints_the_timeout_once() {
    let server = MockApiServer::start();
    server.set_readiness(gatehouse_apply_mock::Readiness::Never);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    std::fs::write(dir.path().join("one.yaml"), "namespace: day2\nname: one\n").unwrap();
    let out = without_helm(
        &[
            "deploy",
            "-f",
            "one.yaml",
            "--skip-release",
            "--timeout",
            "1s",
        ],
        &kubeconfig,
        dir.path(),
    );
    let shown = expect_exit(&out, 1, &["changed before the failure"]);
    assert!(
        shown.contains("StatefulSet day2/one-redis created"),
        "{shown}"
    );
    assert_eq!(shown.matches("not ready after 1s").count(), 1, "{shown}");
}

#[test]
fn deploy_rotate_starts_a_generated_password_and_refuses_what_it_cannot_rotate() {
    let server = MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    server.clear_requests();
    // The built-in example: redis.password from env, every named user generated, no metrics.
    let out = xtask(
        dir.path(),
        &kubeconfig,
        &[
            "deploy",
            "--rotate",
            "nobody",
            "--rotate",
            "default",
            "--rotate",
            "gatehouse-exporter",
        ],
        "",
    );
    let shown = expect_exit(
        &out,
        1,
        &[
            "--rotate: 3 problem(s); nothing was written",
            "nobody: no Redis user of this deployment has that name; name one of default, gatehouse-replication",
            "default: its password (redis.password) is not generated by gatehouse but `from: env`; set GATEHOUSE_REDIS_PASSWORD to the new password",
            "gatehouse-exporter: no Redis user of this deployment has that name",
        ],
    );
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        server.requests().is_empty(),
        "refused before contacting the cluster"
    );

    let out = xtask(dir.path(), &kubeconfig, &["deploy"], "");
    assert!(out.status.success(), "{}", text(&out));
    let secret =
        "/api/v1/namespaces/gravitee-apim/secrets/gravitee-apim-redis-sentinel-peer-password";
    let created = server.get(secret).expect("the generated Secret");
    for (n, args) in [
        &["deploy", "--rotate", "gatehouse-sentinel-peer"][..],
        &["deploy"],
        &["deploy"],
    ]
    .into_iter()
    .enumerate()
    {
        let out = xtask(dir.path(), &kubeconfig, args, "");
        let shown = expect_exit(
            &out,
            0,
            &[&format!(
                "Secret gravitee-apim/gravitee-apim-redis-sentinel-peer-password: password rotation step {} of 3",
                n + 1
            )],
        );
        let now = server.get(secret).unwrap();
        for value in now["data"].as_object().unwrap().values() {
            assert!(!shown.contains(value.as_str().unwrap()), "{shown}");
        }
    }
    let done = server.get(secret).unwrap();
    assert_eq!(
        done["data"].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["password"]
    );
    assert_ne!(done["data"]["password"], created["data"]["password"]);
}
