//! The corpus of bad config files (`tests/bad-configs/*.yaml`), read by the library loader.
//!
//! Each file starts with `# path: <field path>` and `# expect: <message fragment>` (and
//! `# severity: warning` when the file is valid but warned about). Values containing
//! `GH-SECRET-` stand for secrets and must never appear in any message. The same corpus runs
//! through the command line in `xtask/tests/bad_configs.rs`.

use std::path::PathBuf;

use gatehouse_model::{ConfigError, MAX_SHOWN, load_yaml_str};

/// One corpus file.
struct Case {
    file: String,
    yaml: String,
    path: String,
    expect: String,
    warning: bool,
}

fn corpus() -> Vec<Case> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/bad-configs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let yaml = std::fs::read_to_string(&file).unwrap();
            let header = |key: &str| {
                yaml.lines()
                    .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                    .map(str::to_string)
            };
            Case {
                file: file.file_name().unwrap().to_string_lossy().into_owned(),
                path: header("path").expect("# path: header"),
                expect: header("expect").unwrap_or_default(),
                warning: header("severity").as_deref() == Some("warning"),
                yaml,
            }
        })
        .collect()
}

/// The secret-marked values of a file.
fn secrets(yaml: &str) -> Vec<String> {
    yaml.split(|c: char| c.is_whitespace() || "{}:,\"'@?=[]".contains(c))
        .filter(|w| w.contains("GH-SECRET-"))
        .map(str::to_string)
        .chain(
            yaml.contains("GH-SECRET-")
                .then(|| "GH-SECRET-".to_string()),
        )
        .collect()
}

/// Every line a person would read for this file: the error, or the warnings.
fn report(case: &Case) -> (bool, String) {
    match load_yaml_str(&case.yaml, &case.file) {
        Ok(valid) => (
            true,
            valid
                .warnings()
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        Err(error) => (false, error.to_string()),
    }
}

#[test]
fn corpus_is_large_enough() {
    assert!(corpus().len() >= 60, "{} cases", corpus().len());
}

#[test]
fn every_bad_config_is_reported_at_its_field_with_its_message_and_no_secret() {
    let mut failures = Vec::new();
    for case in corpus() {
        let (ok, text) = report(&case);
        if ok != case.warning {
            failures.push(format!(
                "{}: expected {}, got:\n{text}",
                case.file,
                if case.warning {
                    "a warning"
                } else {
                    "an error"
                }
            ));
            continue;
        }
        if !text.contains(&format!("{}: ", case.path)) || !text.contains(&case.expect) {
            failures.push(format!(
                "{}: expected `{}: …{}…`, got:\n{text}",
                case.file, case.path, case.expect
            ));
        }
        for secret in secrets(&case.yaml) {
            if text.contains(&secret) {
                failures.push(format!(
                    "{}: shows the secret `{secret}`:\n{text}",
                    case.file
                ));
            }
        }
        for word in [
            "Option<",
            "u32",
            "u16",
            "serde",
            "from_str",
            "DuplicateKeyPolicy",
            "SecretSource",
            "struct ",
            "enum ",
        ] {
            if text.contains(word) {
                failures.push(format!("{}: speaks Rust (`{word}`):\n{text}", case.file));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn syntax_errors_give_the_location_once() {
    for case in corpus() {
        if let Err(ConfigError::Syntax { line, message, .. }) = load_yaml_str(&case.yaml, "f") {
            assert!(line > 0, "{}: no line", case.file);
            assert!(
                !message.contains("line ") || message.contains("(line "),
                "{}: {message}",
                case.file
            );
            assert!(!message.contains("column"), "{}: {message}", case.file);
        }
    }
}

#[test]
fn huge_values_are_never_echoed_whole() {
    let huge = "n".repeat(50_000_000);
    let large = "n".repeat(1_000_000);
    for yaml in [
        format!("namespace: {huge}\n"),
        format!("redis:\n  replicas: {large}\n"),
        format!("{large}: 1\n"),
        format!(
            "gateway:\n  podAnnotations:\n    a: {}\n",
            "x".repeat(300 * 1024)
        ),
    ] {
        let text = match load_yaml_str(&yaml, "f") {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        assert!(text.len() < 1000, "{} bytes: {}…", text.len(), &text[..200]);
        assert!(text.contains('…') || !text.contains("nnnn"), "{text}");
    }
    assert_eq!(gatehouse_model::shown(&huge).chars().count(), MAX_SHOWN);
}
