//! The bad-config corpus of the model (`crates/model/tests/bad-configs`) through the command
//! line: `validate` and `render` must refuse each file (or warn, for the warning cases) naming the
//! field and the problem, and print no value marked secret (`GH-SECRET-…`).

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
            if !text.contains(&format!("{path}: ")) || !text.contains(&expect) {
                failures.push(format!("{label}: expected `{path}: …{expect}…`:\n{text}"));
            }
            if text.contains("GH-SECRET-") {
                failures.push(format!("{label}: printed a secret:\n{text}"));
            }
            let _ = std::fs::remove_dir_all(&target);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
