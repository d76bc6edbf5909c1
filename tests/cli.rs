//! The `gatehouse` command line as a user runs it: each kubectl/helm manner of issue 12 on the
//! built binary, in a temporary directory.

use std::collections::BTreeSet;
use std::path::Path;

use gatehouse_apply_mock::MockApiServer;
use gatehouse_tests::{expect_exit, run, text};

fn ok(args: &[&str]) -> String {
    let out = run(args, "", &[], None);
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

fn documents(yaml: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple(yaml).expect("stdout is YAML")
}

fn files_under(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn render_prints_only_kubernetes_objects_by_default() {
    let docs = documents(&ok(&["render"]));
    assert!(docs.len() >= 8, "{}", docs.len());
    for doc in &docs {
        assert!(
            doc["apiVersion"].is_string() && doc["kind"].is_string(),
            "not a Kubernetes object: {doc}"
        );
    }
    let values = documents(&ok(&["render", "--values-only"]));
    assert_eq!(values.len(), 1);
    assert!(values[0]["kind"].is_null() && values[0]["gateway"].is_object());
    let all = documents(&ok(&["render", "--all"]));
    assert_eq!(all.len(), docs.len() + 1);
    assert_eq!(all.last(), values.first());
}

/// kubectl needs API discovery even for `--dry-run=client` (it maps each kind to a resource),
/// so it is pointed at the mock API server; `--validate=false` because the mock serves no
/// OpenAPI document. What this proves: kubectl parses every document of `gatehouse render`
/// (YAML and JSON), recognizes every kind, and would apply each object.
#[test]
fn render_pipes_into_kubectl_apply() {
    let Some(kubectl) = gatehouse_testkit::external_tool("kubectl", "install kubectl") else {
        return;
    };
    let server = MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    for format in ["yaml", "json"] {
        let rendered = ok(&["render", "-o", format]);
        let objects = if format == "yaml" {
            documents(&rendered).len()
        } else {
            serde_json::from_str::<serde_json::Value>(&rendered).unwrap()["items"]
                .as_array()
                .unwrap()
                .len()
        };
        let out = gatehouse_testkit::output_with_stdin(
            std::process::Command::new(&kubectl)
                .args(["apply", "--dry-run=client", "--validate=false", "-f", "-"])
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .stderr(std::process::Stdio::piped()),
            &rendered,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{format}: {}", text(&out));
        assert_eq!(
            stdout.lines().filter(|l| l.ends_with("(dry run)")).count(),
            objects,
            "{format}: {stdout}"
        );
    }
}

#[test]
fn render_out_replaces_its_own_files_and_leaves_no_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("other.yaml");
    std::fs::write(&config, "name: other\n").unwrap();
    let fresh = dir.path().join("fresh");

    ok(&["render", "--out", out.to_str().unwrap()]);
    let first = files_under(&out);
    ok(&[
        "render",
        "-f",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&[
        "render",
        "-f",
        config.to_str().unwrap(),
        "--out",
        fresh.to_str().unwrap(),
    ]);
    let second = files_under(&out);
    // Exactly what a render into a new directory writes: no file of the first render is left.
    assert_eq!(second, files_under(&fresh));
    assert!(
        first.difference(&second).next().is_some(),
        "the two renders must differ for the test to mean anything"
    );
}

#[test]
fn render_out_refuses_a_foreign_directory_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let out = run(
        &["render", "--out", dir.path().to_str().unwrap()],
        "",
        &[],
        None,
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not empty") && stderr.contains("help"),
        "{stderr}"
    );
    assert_eq!(
        files_under(dir.path()),
        BTreeSet::from(["notes.txt".to_string()])
    );
}

#[test]
fn render_out_honours_output_json() {
    let dir = tempfile::tempdir().unwrap();
    ok(&[
        "render",
        "-o",
        "json",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    let files = files_under(dir.path());
    let data: Vec<&String> = files.iter().filter(|f| !f.starts_with('.')).collect();
    assert!(data.len() > 5);
    for file in data {
        assert!(file.ends_with(".json"), "{file}");
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn config_from_stdin_and_namespace_override() {
    let out = run(&["render", "-f", "-"], "namespace: from-stdin\n", &[], None);
    assert!(out.status.success(), "{}", text(&out));
    let docs = documents(&String::from_utf8_lossy(&out.stdout));
    assert!(
        docs.iter()
            .any(|d| d["metadata"]["name"] == "from-stdin" && d["kind"] == "Namespace")
    );

    let docs = documents(&ok(&["render", "-n", "elsewhere"]));
    for doc in docs.iter().filter(|d| d["kind"] != "Namespace") {
        assert_eq!(doc["metadata"]["namespace"], "elsewhere", "{doc}");
    }
}

#[test]
fn validate_reports_problems_as_data_and_as_located_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "redis:\n  replicas: 0\n  sentinel:\n    count: 2\n    quorum: 3\n",
    )
    .unwrap();

    let out = run(
        &["validate", "-o", "json", "-f", bad.to_str().unwrap()],
        "",
        &[],
        None,
    );
    expect_exit(&out, 1, &[]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let replicas = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "redis.replicas")
        .expect("the replicas problem");
    assert_eq!(
        (
            &replicas["severity"],
            &replicas["line"],
            &replicas["column"]
        ),
        (&"error".into(), &2.into(), &3.into())
    );
    assert!(
        replicas["fix"]
            .as_str()
            .unwrap()
            .contains("at least 1 replica")
    );

    let out = run(
        &["validate", "-f", bad.to_str().unwrap()],
        "",
        &[("NO_COLOR", "1")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Source snippet with the label at the line and column, the fix as help, printed once.
    assert!(stderr.contains("bad.yaml:2:3"), "{stderr}");
    assert!(stderr.contains("2 |   replicas: 0"), "{stderr}");
    assert!(stderr.contains("help: use at least 1 replica"), "{stderr}");
    assert_eq!(
        stderr.matches("0 replicas: a master").count(),
        1,
        "{stderr}"
    );

    let yaml = run(
        &["validate", "-o", "yaml", "-f", bad.to_str().unwrap()],
        "",
        &[],
        None,
    );
    let parsed: serde_json::Value = serde_saphyr::from_slice(&yaml.stdout).unwrap();
    assert_eq!(parsed, report);

    let good = ok(&["validate", "-o", "json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&good).unwrap()["valid"],
        true
    );
}

#[test]
fn schema_goes_to_stdout_and_never_to_a_file_named_dash() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["schema"][..], &["schema", "--out", "-"][..]] {
        let out = run(args, "", &[], Some(dir.path()));
        assert!(out.status.success(), "{}", text(&out));
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(schema["properties"]["redis"].is_object());
    }
    assert!(files_under(dir.path()).is_empty());
}

/// Colours only on a terminal (a pseudo-terminal from util-linux `script`), never with NO_COLOR
/// and never when piped.
#[test]
fn colours_only_on_a_terminal_and_not_with_no_color() {
    let Some(script) = gatehouse_testkit::external_tool("script", "apt-get install bsdutils")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "redis:\n  replicas: 0\n").unwrap();
    let command = format!(
        "{} validate -f {}",
        gatehouse_tests::gatehouse_bin().display(),
        bad.display()
    );
    let on_tty = |no_color: bool| {
        let mut c = std::process::Command::new(&script);
        c.args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR");
        if no_color {
            c.env("NO_COLOR", "1");
        }
        let out = c.output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert!(on_tty(false).contains("\u{1b}["), "a terminal gets colours");
    let plain = on_tty(true);
    assert!(
        plain.contains("replicas") && !plain.contains("\u{1b}["),
        "{plain}"
    );
    let piped = run(&["validate", "-f", bad.to_str().unwrap()], "", &[], None);
    assert!(!text(&piped).contains('\u{1b}'), "{}", text(&piped));
}

#[test]
fn bash_completions() {
    let script = ok(&["completions", "bash"]);
    assert!(
        script.contains("complete -F") && script.contains("gatehouse"),
        "{script}"
    );
    for command in [
        "render",
        "validate",
        "diff",
        "deploy",
        "destroy",
        "status",
        "chart-check",
    ] {
        assert!(script.contains(command), "{command} missing");
    }
}

#[test]
fn unknown_context_and_kubeconfig_errors_name_the_fix() {
    let server = MockApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path());
    let out = run(
        &[
            "diff",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--context",
            "nope",
        ],
        "",
        &[],
        None,
    );
    // The unknown context, the ones there are, and the fix.
    let fix = "pass --kubeconfig FILE or --context NAME, or set KUBECONFIG";
    expect_exit(
        &out,
        2,
        &[
            "context `nope` is not in the kubeconfig; available contexts: mock",
            fix,
        ],
    );
    // A kubeconfig that is not there: the file named, and the fix.
    let missing = dir.path().join("no-such-kubeconfig");
    let missing = missing.to_str().unwrap();
    let out = run(&["diff", "--kubeconfig", missing], "", &[], None);
    expect_exit(&out, 2, &[&format!("kubeconfig {missing}: "), fix]);
    // No kubeconfig anywhere: where it was looked for, and how to give one.
    let home = tempfile::tempdir().unwrap();
    let out = run(
        &["status"],
        "",
        &[("KUBECONFIG", ""), ("HOME", home.path().to_str().unwrap())],
        None,
    );
    expect_exit(
        &out,
        2,
        &["no kubeconfig found", "set KUBECONFIG, pass --kubeconfig"],
    );
}

#[test]
fn a_problem_in_a_flow_mapping_has_one_place_in_json_and_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("flow.yaml");
    // A hidden string value (shown as `…`) before the faulty key on the same line.
    std::fs::write(
        &bad,
        "redis: {sentinel: {serviceName: my-sentinel-svc, count: 3, quorum: 4}}\n",
    )
    .unwrap();
    let path = bad.to_str().unwrap();
    let out = run(&["validate", "-o", "json", "-f", path], "", &[], None);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let quorum = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "redis.sentinel.quorum")
        .expect("the quorum problem");
    let column = quorum["column"].as_u64().unwrap();
    assert_eq!(
        column,
        1 + std::fs::read_to_string(&bad)
            .unwrap()
            .find("quorum")
            .unwrap() as u64
    );

    let out = run(&["validate", "-f", path], "", &[("NO_COLOR", "1")], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("flow.yaml:1:{column}]")),
        "{stderr}"
    );
    assert!(!stderr.contains("my-sentinel-svc"), "{stderr}");
    // The label's caret sits under the key in the shown line.
    let lines: Vec<&str> = stderr.lines().collect();
    let shown = lines.iter().position(|l| l.starts_with(" 1 | ")).unwrap();
    let chars_before = |line: &str, at: usize| line[..at].chars().count();
    let key_at = chars_before(lines[shown], lines[shown].find("quorum").unwrap());
    let caret_at = chars_before(lines[shown + 1], lines[shown + 1].find('^').unwrap());
    assert_eq!(caret_at, key_at, "{stderr}");
}

#[test]
fn chart_check_prints_the_values_schema_of_a_supported_chart_line_only() {
    let schema: serde_json::Value =
        serde_json::from_str(&ok(&["chart-check", "--schema", "4.12"])).expect("JSON schema");
    let ratelimit = &schema["properties"]["gateway"]["properties"]["ratelimit"];
    assert_eq!(ratelimit["additionalProperties"], false);
    assert!(ratelimit["properties"]["redis"]["properties"]["sentinel"].is_object());
    assert!(ratelimit["properties"].get("type").is_none());
    let out = run(&["chart-check", "--schema", "4.8"], "", &[], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("4.9, 4.10, 4.11, 4.12"),
        "{}",
        text(&out)
    );
}

/// However large the input (a 200,000-character line, thousands of problems, a huge key), an
/// error report stays a few kilobytes: long lines are cut around the problem's column, only the
/// first problems are shown, and `-o json` is bounded the same way.
#[test]
fn errors_stay_small_whatever_the_size_of_the_input() {
    const LIMIT: usize = 8 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    // One line of 200,000 characters with the faulty key near its end (spaces, which the snippet
    // shows as written).
    let long_line = format!(
        "redis: {{{}sentinel: {{quorum: 9}}}}\n",
        " ".repeat(200_000)
    );
    // A key repeated 15,000 times on one line (each occurrence once named the line).
    let duplicates = format!(
        "redis: {{{}sentinel: {{quorum: 9}}}}\n",
        "replicas: 2, ".repeat(200_000 / 13)
    );
    // Thousands of problems, one per line.
    let many: String = "gateway:\n  env:\n".to_string()
        + &(0..5_000)
            .map(|i| format!("    - {{name: \"bad name {i}\", value: v}}\n"))
            .collect::<String>();
    // A key of 100,000 characters that the schema does not know.
    let long_key = format!("redis:\n  {}: 1\n", "k".repeat(100_000));
    // A syntax error on a long line.
    let broken = format!("namespace: [{}\n", "1, ".repeat(70_000));
    for (name, text, words) in [
        (
            "long-line.yaml",
            long_line,
            &["redis.sentinel.quorum", "…"][..],
        ),
        (
            "duplicates.yaml",
            duplicates,
            &["duplicate key `replicas` (written 15384 times"][..],
        ),
        (
            "many.yaml",
            many,
            &["5000 error(s)", "more after fixing them"][..],
        ),
        ("long-key.yaml", long_key, &["long-key.yaml:2:3"][..]),
        ("broken.yaml", broken, &["broken.yaml"][..]),
    ] {
        let path = write(name, &text);
        let out = run(&["validate", "-f", &path], "", &[], None);
        let shown = expect_exit(&out, 1, words);
        assert!(
            shown.len() < LIMIT,
            "{name}: {} bytes of report:\n{}",
            shown.len(),
            &shown[..2_000.min(shown.len())]
        );
        let longest = shown.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(longest < 400, "{name}: a line of {longest} characters");
        let out = run(&["validate", "-o", "json", "-f", &path], "", &[], None);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(
            out.stdout.len() < LIMIT,
            "{name}: {} bytes of JSON",
            out.stdout.len()
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let problems = report["problems"].as_array().unwrap();
        assert!(!problems.is_empty() && problems.len() <= 20, "{name}");
        if name == "many.yaml" {
            assert_eq!(report["notShown"], 5_000 - 20);
        }
    }
}
