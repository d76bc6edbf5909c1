//! Secret hygiene of the whole tool: every command and every error path reachable without a
//! cluster runs with distinctive secret values in the environment and in input files; none of
//! them may appear in stdout, stderr or any written file.
//!
//! `deploy`, `diff` and `destroy` run against the mock API server (with a fake `helm`), including a
//! secret that changed since the last deploy and the error paths without a cluster.

use std::path::{Path, PathBuf};

use gatehouse_tests::{fake_helm, gatehouse_bin};
use std::process::{Command, Output};

const REDIS: &str = "GH-REDIS-7f3a9c-SECRET";
const LICENSE: &str = "GH-LICENSE-e81b2d-SECRET";
const TOKEN: &str = "GH-TOKEN-c40f5e-SECRET";
const SECRETS: [&str; 3] = [REDIS, LICENSE, TOKEN];

fn gatehouse(args: &[&str]) -> Output {
    Command::new(gatehouse_bin())
        .args(args)
        .env("GATEHOUSE_REDIS_PASSWORD", REDIS)
        .env("GRAVITEE_LICENSE_KEY", LICENSE)
        .env("GRAVITEE_CLOUD_TOKEN", TOKEN)
        .output()
        .expect("gatehouse runs")
}

fn assert_clean(what: &str, out: &Output) {
    for stream in [&out.stdout, &out.stderr] {
        let text = String::from_utf8_lossy(stream);
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "{what}: a secret appeared in the output:\n{text}"
            );
        }
    }
}

fn assert_files_clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_files_clean(&path);
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            for secret in SECRETS {
                assert!(
                    !text.contains(secret),
                    "{}: contains a secret",
                    path.display()
                );
            }
        }
    }
}

fn fixture_chart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/chart/tests/fixtures/mini-apim")
}

/// Values as a careless user writes them: every secret inline.
fn leaky_values() -> String {
    format!(
        "license:\n  key: \"{LICENSE}\"\nratelimit:\n  type: redis\ngateway:\n  env:\n    - name: gravitee_cloud_token\n      value: \"{TOKEN}\"\n    - name: MY_API_TOKEN\n      value: \"{TOKEN}\"\n  ratelimit:\n    redis:\n      password: \"{REDIS}\"\n      sentinel:\n        password: \"{REDIS}\"\n        master: mymaster\n        nodes:\n          - host: s0\n            port: 26379\n  services:\n    core:\n      http:\n        authentication:\n          password: \"{REDIS}\"\n"
    )
}

#[test]
fn no_command_prints_or_writes_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let mut runs: Vec<(String, Output, bool)> = Vec::new();
    let mut run = |label: &str, args: &[&str], should_succeed: bool| {
        runs.push((label.to_string(), gatehouse(args), should_succeed));
    };
    run("render yaml", &["render"], true);
    run("render json", &["render", "-o", "json"], true);
    run("render --all", &["render", "--all"], true);
    run(
        "render --all json",
        &["render", "--all", "-o", "json"],
        true,
    );
    run("render --values-only", &["render", "--values-only"], true);
    run(
        "render --out",
        &["render", "--out", out_dir.to_str().unwrap()],
        true,
    );
    run("validate", &["validate"], true);
    let values = out_dir.join("values.yaml");
    run(
        "chart-check rendered values",
        &["chart-check", "--values", values.to_str().unwrap()],
        true,
    );

    let leaky = dir.path().join("leaky.yaml");
    std::fs::write(&leaky, leaky_values()).unwrap();
    run(
        "chart-check leaky values",
        &["chart-check", "--values", leaky.to_str().unwrap()],
        false,
    );
    let chart = fixture_chart();
    run(
        "chart-check leaky values with a chart",
        &[
            "chart-check",
            "--values",
            leaky.to_str().unwrap(),
            "--chart",
            chart.to_str().unwrap(),
        ],
        false,
    );
    // A render failure of the chart (top-level redis without the connection: nil pointer), with
    // a secret elsewhere in the values.
    let failing = dir.path().join("failing.yaml");
    std::fs::write(
        &failing,
        format!("license:\n  key: \"{LICENSE}\"\nratelimit:\n  type: redis\ngateway:\n  env: []\n"),
    )
    .unwrap();
    run(
        "chart-check chart render failure",
        &[
            "chart-check",
            "--values",
            failing.to_str().unwrap(),
            "--chart",
            chart.to_str().unwrap(),
        ],
        false,
    );
    // Broken YAML around a secret: the parser's message would quote the line.
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        format!("gateway:\n  ratelimit:\n    redis:\n      password: \"{REDIS}\n  : [\n"),
    )
    .unwrap();
    run(
        "chart-check broken yaml",
        &["chart-check", "--values", broken.to_str().unwrap()],
        false,
    );
    run(
        "chart-check missing file",
        &["chart-check", "--values", "/nonexistent/values.yaml"],
        false,
    );
    // Invalid configs: unknown field, bad values, unreadable file.
    let bad_config = dir.path().join("bad.yaml");
    std::fs::write(
        &bad_config,
        "redis:\n  replicas: 0\n  password:\n    from: env\n    variable: GATEHOUSE_REDIS_PASSWORD\ngateway:\n  plugins:\n    - url: http://x/y;rm -rf.zip\n      sha256: nothex\n",
    )
    .unwrap();
    run(
        "validate invalid config",
        &["validate", "--config", bad_config.to_str().unwrap()],
        false,
    );
    run(
        "validate -o json invalid config",
        &["validate", "-o", "json", "-f", bad_config.to_str().unwrap()],
        false,
    );
    run(
        "render invalid config",
        &["render", "--config", bad_config.to_str().unwrap()],
        false,
    );
    let unknown = dir.path().join("unknown.yaml");
    std::fs::write(&unknown, format!("redis:\n  passwd: \"{REDIS}\"\n")).unwrap();
    run(
        "validate unknown field",
        &["validate", "--config", unknown.to_str().unwrap()],
        false,
    );
    run(
        "validate missing file",
        &["validate", "--config", "/nonexistent/gatehouse.yaml"],
        false,
    );

    for (label, out, should_succeed) in &runs {
        assert_eq!(
            out.status.success(),
            *should_succeed,
            "{label}: unexpected exit status\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_clean(label, out);
    }
    // The written directory is not empty (an empty one would pass the file check vacuously).
    assert!(
        std::fs::read_dir(out_dir.join("manifests"))
            .unwrap()
            .count()
            > 0,
        "render --out wrote no manifests"
    );
    assert_files_clean(&out_dir);
    // The tool really read the secrets it keeps quiet about: chart-check names each leaked field.
    let (_, leaky_run, _) = runs
        .iter()
        .find(|(label, _, _)| label == "chart-check leaky values")
        .unwrap();
    let leaky_report = String::from_utf8_lossy(&leaky_run.stderr);
    for field in ["license.key", "gateway.ratelimit.redis.password"] {
        assert!(
            leaky_report.contains(field),
            "chart-check did not report {field}:\n{leaky_report}"
        );
    }
    // And the checks catch a secret: the leaky file itself, and output that prints it.
    let leaked = dir.path().join("leaked");
    std::fs::create_dir(&leaked).unwrap();
    std::fs::write(leaked.join("values.yaml"), leaky_values()).unwrap();
    assert!(std::panic::catch_unwind(|| assert_files_clean(&leaked)).is_err());
    let printing = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(0),
        stdout: Vec::new(),
        stderr: leaky_values().into_bytes(),
    };
    assert!(std::panic::catch_unwind(|| assert_clean("leaky", &printing)).is_err());
}

#[test]
fn cluster_commands_never_print_or_send_a_secret_outside_secrets() {
    let server = gatehouse_apply_mock::MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let path = format!(
        "{}:{}",
        fake_helm(dir.path()).display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str], redis: &str| {
        Command::new(gatehouse_bin())
            .args(args)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .env("PATH", &path)
            .env("GATEHOUSE_REDIS_PASSWORD", redis)
            .env("GRAVITEE_LICENSE_KEY", LICENSE)
            .env("GRAVITEE_CLOUD_TOKEN", TOKEN)
            .output()
            .expect("gatehouse runs")
    };
    let rotated = "GH-ROTATED-93bd11-SECRET";
    // Each step with the exit code it must end with (diff: 1 when there are changes): a step that
    // failed early would send nothing, and the checks below would pass vacuously.
    let steps: [(&str, &[&str], &str, i32); 7] = [
        ("diff before deploy", &["diff"], REDIS, 1),
        (
            "diff -o json before deploy",
            &["diff", "-o", "json"],
            REDIS,
            1,
        ),
        ("deploy", &["deploy", "--timeout", "30s"], REDIS, 0),
        ("diff after a password change", &["diff"], rotated, 1),
        (
            "deploy dry-run after a password change",
            &["deploy", "--dry-run=server"],
            rotated,
            0,
        ),
        // The mock runs no Sentinel to ask, so the status is not healthy (1), not an error (2).
        ("status", &["status"], REDIS, 1),
        ("destroy", &["destroy", "--yes"], REDIS, 0),
    ];
    for (label, args, redis, code) in steps {
        let out = run(args, redis);
        assert_clean(label, &out);
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{label}:\n{text}");
        assert!(
            !text.contains(rotated),
            "{label}: the new password appeared:\n{text}"
        );
        if label == "diff after a password change" {
            assert!(
                text.contains("***"),
                "{label}: Secret data is shown masked:\n{text}"
            );
        }
    }
    // The deploy wrote the objects and the Secret holding the password (so the bodies checked
    // below are the real traffic), and destroy deleted them.
    let requests = server.requests();
    let written = |kind: &str| {
        requests
            .iter()
            .filter(|r| r.is_write() && r.method != "DELETE" && r.path.contains(kind))
            .count()
    };
    assert!(written("/statefulsets/") >= 2, "{:?}", server.paths());
    assert!(written("/configmaps/") >= 1, "{:?}", server.paths());
    assert!(written("/secrets/") >= 1, "{:?}", server.paths());
    assert!(
        requests
            .iter()
            .any(|r| r.method == "DELETE" && r.path.contains("/statefulsets/")),
        "destroy deleted nothing: {:?}",
        server.paths()
    );
    // Secret values travel only inside Secret objects: no other request body carries one.
    for request in requests {
        if request.path.contains("/secrets") {
            continue;
        }
        let body = request
            .body
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_default();
        for secret in SECRETS.iter().chain([&rotated]) {
            assert!(
                !body.contains(secret),
                "{} {} carries a secret",
                request.method,
                request.path
            );
        }
    }
    assert_files_clean(dir.path());
}

/// Config files with secrets where they do not belong (issue 17): the refusal never quotes them.
#[test]
fn refused_configs_never_quote_the_secret_they_contain() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "h".repeat(5_000_000);
    let cases = [
        (
            "password literal",
            format!("redis:\n  password: \"{REDIS}\"\n"),
        ),
        (
            "token literal in flow map",
            format!("gateway: {{cloudToken: {TOKEN}}}\n"),
        ),
        (
            "source with an unknown field",
            format!("gateway:\n  licenseKey: {{from: env, variable: X, {LICENSE}: 1}}\n"),
        ),
        (
            "source kind is the secret",
            format!("redis:\n  password: {{from: {REDIS}}}\n"),
        ),
        (
            "env variable name is the secret",
            format!("gateway:\n  licenseKey: {{from: env, variable: \"{LICENSE} x\"}}\n"),
        ),
        (
            "plugin URL with a token",
            format!("gateway:\n  plugins:\n    - url: https://x.example.com/a.zip?token={TOKEN}\n"),
        ),
        (
            "plugin URL with credentials",
            format!("gateway:\n  plugins:\n    - url: https://user:{REDIS}@x.example.com/a.zip\n"),
        ),
        (
            "secret-looking env",
            format!("gateway:\n  env:\n    - {{name: REDIS_PASSWORD, value: \"{REDIS}\"}}\n"),
        ),
        (
            "env value beside another error",
            format!(
                "namespace: Bad\ngateway:\n  env:\n    - {{name: JAVA_OPTS, value: \"{TOKEN}\"}}\n"
            ),
        ),
        ("huge value", format!("namespace: {huge}\n")),
    ];
    for (label, yaml) in cases {
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, &yaml).unwrap();
        for command in ["validate", "render"] {
            let out = gatehouse(&[command, "--config", config.to_str().unwrap()]);
            assert!(!out.status.success(), "{label}: {command} accepted it");
            assert_clean(&format!("{command}: {label}"), &out);
            assert!(
                out.stderr.len() + out.stdout.len() < 4000,
                "{command}: {label}: {} bytes of output",
                out.stderr.len() + out.stdout.len()
            );
        }
    }
}
