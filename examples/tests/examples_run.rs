//! Every example builds and runs, and the config file describes the same deployment as the Rust
//! example and the production preset.

use std::process::Command;

use gatehouse_render::{Format, render};

const CONFIG: &str = include_str!("../hybrid-gateway.yaml");

fn run(bin: &str, args: &[&str]) -> String {
    let output = Command::new(bin)
        .args(args)
        .output()
        .expect("the example runs");
    assert!(
        output.status.success(),
        "{bin} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn config_file_is_the_production_preset() {
    let from_file = gatehouse_model::load_yaml_str(CONFIG, "hybrid-gateway.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    // The file turns metrics (they need the Prometheus Operator) and TLS on; the built-in example
    // keeps both off, so its rendering stays what the guide's users deploy.
    assert_eq!(
        from_file.deployment(),
        &gatehouse_model::presets::production()
    );
    assert!(
        from_file.warnings().is_empty(),
        "{:?}",
        from_file.warnings()
    );
}

#[test]
fn config_file_sets_every_field() {
    // Serializing the model lists every field; each must be written in the config file so that
    // the file documents the whole model.
    let full: serde_json::Value =
        serde_json::to_value(gatehouse_model::presets::production()).unwrap();
    let written: serde_json::Value = serde_saphyr::from_str(CONFIG).unwrap();
    fn missing(
        full: &serde_json::Value,
        written: &serde_json::Value,
        path: &str,
        out: &mut Vec<String>,
    ) {
        if let (Some(full), Some(written)) = (full.as_object(), written.as_object()) {
            for (key, value) in full {
                let child = format!("{path}{key}.");
                match written.get(key) {
                    None => out.push(child.trim_end_matches('.').to_string()),
                    Some(w) => missing(value, w, &child, out),
                }
            }
        }
    }
    let mut absent = Vec::new();
    missing(&full, &written, "", &mut absent);
    assert!(
        absent.is_empty(),
        "hybrid-gateway.yaml leaves out {absent:?}"
    );
}

#[test]
fn hybrid_gateway_example_prints_the_production_preset_rendering() {
    let printed = run(env!("CARGO_BIN_EXE_hybrid-gateway"), &[]);
    let built_in =
        render(&gatehouse_model::presets::production().validated().unwrap()).to_text(Format::Yaml);
    assert_eq!(printed, built_in);
}

#[test]
fn production_example_writes_manifests_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let printed = run(env!("CARGO_BIN_EXE_production"), &[out]);
    assert!(printed.starts_with("wrote "), "{printed}");
    let values = std::fs::read_to_string(dir.path().join("values.yaml")).unwrap();
    assert!(
        values.contains("name: redis-auth"),
        "the password Secret is referenced:\n{values}"
    );
    assert!(
        values.contains("name: redis-tls") && values.contains("_trustall"),
        "the gateway speaks TLS with the CA of the certificate Secret:\n{values}"
    );
    let manifests = std::fs::read_dir(dir.path().join("manifests"))
        .unwrap()
        .count();
    // The group's 10 objects, 2 PodMonitors, the gateway's technical Service and ServiceMonitor,
    // the PrometheusRule.
    assert_eq!(manifests, 15);
}

#[test]
fn fleet_example_gives_each_team_its_own_sentinels() {
    let printed = run(env!("CARGO_BIN_EXE_fleet"), &["payments", "search"]);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(
        lines[0].starts_with("payments: ")
            && lines[0].contains(".apim-payments.svc.cluster.local:26379")
    );
    assert!(
        lines[1].starts_with("search: ")
            && lines[1].contains(".apim-search.svc.cluster.local:26379")
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .arg("Bad_Team")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    // As the CLI prints it: the field, what is wrong and the fix; never a debug structure.
    for readable in [
        "Bad_Team:",
        "namespace: `apim-Bad_Team` is not a DNS-1123 label",
        "use lowercase letters, digits and `-`",
    ] {
        assert!(stderr.contains(readable), "no {readable:?} in:\n{stderr}");
    }
    assert_not_debug(&stderr);
}

/// A Rust debug structure (`Problem { severity: Error, .. }`, `PreflightFailed { errors: [..] }`)
/// is not what a user should read.
fn assert_not_debug(text: &str) {
    for debug in [
        "Problem {",
        "ValidationError",
        "PreflightFailed",
        "HelmMissing",
        " { ",
        ": [",
    ] {
        assert!(!text.contains(debug), "{debug:?} in:\n{text}");
    }
}

#[test]
fn deploy_example_prints_a_failed_deploy_as_the_cli_does() {
    let server = gatehouse_apply_mock::MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_deploy"))
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        // No helm on PATH: the preflight refuses the deploy before the first write.
        .env("PATH", empty.path())
        .env("GATEHOUSE_REDIS_PASSWORD", DEPLOY_SECRET)
        .env("GRAVITEE_LICENSE_KEY", DEPLOY_SECRET)
        .env("GRAVITEE_CLOUD_TOKEN", DEPLOY_SECRET)
        .output()
        .expect("the deploy example runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    for readable in [
        "1 problem(s) found before the first write; nothing was written",
        "`helm` was not found on PATH",
        "install Helm 3",
    ] {
        assert!(stderr.contains(readable), "no {readable:?} in:\n{stderr}");
    }
    assert_not_debug(&stderr);
    assert!(!stderr.contains(DEPLOY_SECRET));
}

const DEPLOY_SECRET: &str = "example-s3cr3t-value";

fn run_deploy(kubeconfig: Option<&std::path::Path>, dir: &std::path::Path) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deploy"));
    if let Some(kubeconfig) = kubeconfig {
        command.arg("--kubeconfig").arg(kubeconfig);
    }
    if kubeconfig.is_some() {
        // Against the mock: a fake helm records the release instead of installing it.
        command.env(
            "PATH",
            gatehouse_testkit::path_with(&gatehouse_testkit::fake_helm(dir)),
        );
    }
    command
        .env("GATEHOUSE_REDIS_PASSWORD", DEPLOY_SECRET)
        .env("GRAVITEE_LICENSE_KEY", DEPLOY_SECRET)
        .env("GRAVITEE_CLOUD_TOKEN", DEPLOY_SECRET)
        .output()
        .expect("the deploy example runs")
}

#[test]
fn deploy_example_deploys_through_the_facade() {
    let server = gatehouse_apply_mock::MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let out = run_deploy(Some(&kubeconfig), dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    // The report on stdout, the events the program chose to print on stderr.
    assert!(
        stdout.contains("StatefulSet gravitee-apim/") && stdout.contains("created"),
        "{stdout}"
    );
    assert!(
        stderr.contains("checking:") && stderr.contains(": ready"),
        "{stderr}"
    );
    assert!(!format!("{stdout}{stderr}").contains(DEPLOY_SECRET));
    // The objects are in the API server and the gateway went to helm.
    assert!(
        server.paths().iter().any(|p| p.contains("/statefulsets/")),
        "{:?}",
        server.paths()
    );
    let argv = std::fs::read_to_string(dir.path().join("helm-argv")).unwrap();
    assert!(argv.contains("upgrade\n--install\n"), "{argv}");
}

#[test]
fn deploy_example_against_a_real_cluster() {
    if std::env::var("GATEHOUSE_E2E").as_deref() != Ok("1") {
        eprintln!(
            "skipping: set GATEHOUSE_E2E=1 with KUBECONFIG pointing at a disposable cluster and helm on PATH to run it"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = run_deploy(None, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
