//! The model's bad-config corpus (`crates/model/tests/bad-configs`) through the build-script path:
//! each file must fail the build (or compile with a warning, for the warning cases) with a cargo
//! directive naming the field and the problem; no value marked secret (`GH-SECRET-…`) may reach a
//! directive, and a refused file writes nothing.

use std::path::Path;

use gatehouse_build::Builder;
use gatehouse_testkit::{SECRET_MARK, bad_config_corpus};

/// Every byte written under `dir`, as text.
fn written(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push_str(&written(&path));
        } else {
            out.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn every_bad_config_fails_the_build_at_its_field_without_a_secret() {
    let corpus = bad_config_corpus();
    assert!(corpus.len() >= 60, "{} corpus files", corpus.len());
    let mut failures = Vec::new();
    for case in corpus {
        let (file, name, path, expect, warning) = (
            &case.file,
            &case.name,
            &case.path,
            &case.expect,
            case.warning,
        );

        let out = tempfile::tempdir().unwrap();
        let result = Builder::new()
            .deployment(file)
            .out_dir(out.path())
            .emit_cargo_directives(false)
            .compile();
        let (level, directives) = match &result {
            Ok(compiled) => (
                "warning",
                compiled
                    .warnings
                    .iter()
                    .map(|d| d.cargo_directive())
                    .collect::<Vec<_>>(),
            ),
            Err(error) => ("error", error.cargo_directives()),
        };
        let text = directives.join("\n");
        if result.is_ok() != warning {
            failures.push(format!(
                "{name}: expected a {level} the other way round:\n{text}"
            ));
            continue;
        }
        let located = directives.iter().any(|d| {
            d.starts_with(&format!("cargo::{level}="))
                && d.contains(&format!("{path}: "))
                && d.contains(expect.as_str())
        });
        if !located {
            failures.push(format!(
                "{name}: expected a `cargo::{level}=` naming `{path}` and `{expect}`, got:\n{text}"
            ));
        }
        let output = written(out.path());
        if result.is_err() && !output.is_empty() {
            failures.push(format!("{name}: a refused config wrote output"));
        }
        if text.contains(SECRET_MARK) {
            failures.push(format!(
                "{name}: a diagnostic shows a secret-marked value:\n{text}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
