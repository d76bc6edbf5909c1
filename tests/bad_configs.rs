//! The bad-config corpus of the model (`crates/model/tests/bad-configs`) through the command
//! line: `validate` and `render` must refuse each file (or warn, for the warning cases) naming the
//! field (and, in `-o json`, the problem's exact words), and print no value marked secret
//! (`GH-SECRET-…`).

use std::path::PathBuf;
use std::process::{Command, Output};

/// The command-line binary under test.
fn cli() -> PathBuf {
    gatehouse_testkit::gatehouse_bin()
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/model/tests/bad-configs")
}

fn header(yaml: &str, key: &str) -> Option<String> {
    yaml.lines()
        .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
        .map(str::to_string)
}

fn run(args: &[&str]) -> Output {
    Command::new(cli())
        .args(args)
        .env("GATEHOUSE_REDIS_PASSWORD", "GH-SECRET-env-redis")
        .env("GRAVITEE_LICENSE_KEY", "GH-SECRET-env-license")
        .env("GRAVITEE_CLOUD_TOKEN", "GH-SECRET-env-token")
        .output()
        .expect("the command line runs")
}

#[test]
fn validate_and_render_report_every_bad_config_without_secrets() {
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 60, "{} cases", files.len());
    let out_dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for file in &files {
        let yaml = std::fs::read_to_string(file).unwrap();
        let path = header(&yaml, "path").expect("# path: header");
        let expect = header(&yaml, "expect").unwrap_or_default();
        let warning = header(&yaml, "severity").as_deref() == Some("warning");
        let config = file.to_str().unwrap();
        let target = out_dir.path().join("out");
        for args in [
            vec!["validate", "--config", config],
            vec![
                "render",
                "--config",
                config,
                "--out",
                target.to_str().unwrap(),
            ],
        ] {
            let out = run(&args);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let label = format!(
                "{} {}",
                args[0],
                file.file_name().unwrap().to_string_lossy()
            );
            if out.status.success() != warning {
                failures.push(format!(
                    "{label}: exit status {:?}:\n{text}",
                    out.status.code()
                ));
            }
            // A person's report wraps long messages at the terminal width: it must name the field;
            // the message itself is checked word for word in the machine-readable report below.
            if !text.contains(path.as_str()) {
                failures.push(format!("{label}: expected `{path}`:\n{text}"));
            }
            if text.contains("GH-SECRET-") {
                failures.push(format!("{label}: printed a secret:\n{text}"));
            }
            let _ = std::fs::remove_dir_all(&target);
        }
        let out = run(&["validate", "--config", config, "-o", "json"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let label = format!("validate -o json {}", file.display());
        match serde_json::from_str::<serde_json::Value>(&stdout) {
            Ok(report) => {
                let severity = if warning { "warning" } else { "error" };
                let found = report["problems"].as_array().is_some_and(|problems| {
                    problems.iter().any(|p| {
                        p["severity"] == severity
                            && p["path"] == path.as_str()
                            && p["message"].as_str().is_some_and(|m| m.contains(&expect))
                    })
                });
                if !found {
                    failures.push(format!(
                        "{label}: expected a{} {severity} at `{path}` saying `{expect}`:\n{stdout}",
                        if warning { "" } else { "n" }
                    ));
                }
            }
            Err(error) => failures.push(format!("{label}: not JSON ({error}):\n{stdout}")),
        }
        if stdout.contains("GH-SECRET-")
            || String::from_utf8_lossy(&out.stderr).contains("GH-SECRET-")
        {
            failures.push(format!("{label}: printed a secret"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
