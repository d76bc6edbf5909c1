//! The corpus of bad config files (`tests/bad-configs/*.yaml`), read by the library loader.
//!
//! Each file starts with `# path: <field path>` and `# expect: <message fragment>` (and
//! `# severity: warning` when the file is valid but warned about). Values containing
//! `GH-SECRET-` stand for secrets and must never appear in any message. The same corpus runs
//! through the command line in `tests/bad_configs.rs` and the build-script path in
//! `crates/build/tests/bad_configs.rs`; the files are read by `gatehouse_testkit::bad_config_corpus`.

use gatehouse_model::{ConfigError, MAX_SHOWN, load_yaml_str};
use gatehouse_testkit::{BadConfig as Case, RUST_WORDS, SECRET_MARK, bad_config_corpus as corpus};

/// The secret-marked values of a file.
fn secrets(yaml: &str) -> Vec<String> {
    yaml.split(|c: char| c.is_whitespace() || "{}:,\"'@?=[]".contains(c))
        .filter(|w| w.contains(SECRET_MARK))
        .map(str::to_string)
        .chain(yaml.contains(SECRET_MARK).then(|| SECRET_MARK.to_string()))
        .collect()
}

/// Every line a person would read for this file: the error, or the warnings.
fn report(case: &Case) -> (bool, String) {
    match load_yaml_str(&case.yaml, &case.name) {
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
                case.name,
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
                case.name, case.path, case.expect
            ));
        }
        for secret in secrets(&case.yaml) {
            if text.contains(&secret) {
                failures.push(format!(
                    "{}: shows the secret `{secret}`:\n{text}",
                    case.name
                ));
            }
        }
        for word in RUST_WORDS {
            if text.contains(word) {
                failures.push(format!("{}: speaks Rust (`{word}`):\n{text}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn syntax_errors_give_the_location_once() {
    for case in corpus() {
        if let Err(ConfigError::Syntax { line, message, .. }) = load_yaml_str(&case.yaml, "f") {
            assert!(line > 0, "{}: no line", case.name);
            assert!(
                !message.contains("line ") || message.contains("(line "),
                "{}: {message}",
                case.name
            );
            assert!(!message.contains("column"), "{}: {message}", case.name);
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
