//! The bad-config corpus of the model (`crates/model/tests/bad-configs`) through the command
//! line: `validate` and `render` must refuse each file (or warn, for the warning cases) naming the
//! field (and, in `-o json`, the problem's exact words), and print no value marked secret
//! (`GH-SECRET-…`).

use std::path::PathBuf;
use std::process::{Command, Output};

use gatehouse_testkit::SECRET_MARK;

/// The command-line binary under test.
fn cli() -> PathBuf {
    gatehouse_testkit::gatehouse_bin()
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
    let corpus = gatehouse_testkit::bad_config_corpus();
    assert!(corpus.len() >= 60, "{} cases", corpus.len());
    let out_dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in &corpus {
        let (file, path, expect, warning) = (&case.file, &case.path, &case.expect, case.warning);
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
            let label = format!("{} {}", args[0], case.name);
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
            if text.contains(SECRET_MARK) {
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
                            && p["message"]
                                .as_str()
                                .is_some_and(|m| m.contains(expect.as_str()))
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
        if stdout.contains(SECRET_MARK)
            || String::from_utf8_lossy(&out.stderr).contains(SECRET_MARK)
        {
            failures.push(format!("{label}: printed a secret"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
