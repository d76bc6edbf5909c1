//! `gatehouse deploy | diff | destroy | status | render --gitops` against the mock API server,
//! through a kubeconfig file and a fake `helm` on PATH, like a user would run them.

use std::path::Path;
use std::process::Output;

use gatehouse_apply_mock::MockApiServer;
use gatehouse_tests::{fake_helm, path_with, run, text};

const SECRET: &str = "cli-s3cr3t-value";

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
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("+++ merged/StatefulSet"),
        "{}",
        text(&out)
    );

    // dry-run: nothing written.
    let out = xtask(dir.path(), &kubeconfig, &["deploy", "--dry-run=server"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(server.requests().iter().all(|r| !r.is_write()));

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
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

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
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("missing-kubeconfig"), "{}", text(&out));
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
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("would be created from GATEHOUSE_REDIS_PASSWORD"),
        "{}",
        text(&out)
    );
    let out = run(
        &["diff", "-o", "json", "--kubeconfig", kubeconfig],
        "",
        &env,
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
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
