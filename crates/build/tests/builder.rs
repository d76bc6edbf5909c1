//! The builder in-process: what it writes, what it refuses, and how it reports problems.

use std::collections::BTreeMap;
use std::path::Path;

use gatehouse_build::{Builder, Error};
use gatehouse_model::Severity;

const VALID: &str = "namespace: apim\nredis:\n  replicas: 2\n";
const INVALID: &str = "redis:\n  replicas: 0\n  sentinel:\n    count: 2\n    quorum: 3\n";

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn compile(config_dir: &Path, out_dir: &Path) -> Result<gatehouse_build::Compiled, Error> {
    Builder::new()
        .deployments_in(config_dir)
        .out_dir(out_dir)
        .emit_cargo_directives(false)
        .compile()
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let configs = tempfile::tempdir().unwrap();
    write(
        configs.path(),
        &[
            ("prod.yaml", VALID),
            ("eu/staging.yml", "namespace: eu-staging\n"),
            (
                "guide.yaml",
                include_str!("../../../examples/hybrid-gateway.yaml"),
            ),
        ],
    );
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let compiled = compile(configs.path(), first.path()).unwrap();
    compile(configs.path(), second.path()).unwrap();
    let (a, b) = (tree(first.path()), tree(second.path()));
    assert_eq!(a, b, "two runs on the same inputs differ");
    assert!(a.contains_key("gatehouse.rs"), "{:?}", a.keys());
    let names: Vec<&str> = compiled
        .deployments
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["eu_staging", "guide", "prod"]);
    let code = String::from_utf8(a["gatehouse.rs"].clone()).unwrap();
    assert!(code.contains("pub fn eu_staging()"), "{code}");
    assert!(
        !code.contains(&*first.path().to_string_lossy()),
        "the output directory leaks into the code"
    );
}

#[test]
fn a_removed_config_leaves_nothing_behind() {
    let (configs, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(configs.path(), &[("a.yaml", VALID), ("b.yaml", VALID)]);
    compile(configs.path(), out.path()).unwrap();
    assert!(out.path().join("gatehouse/b/rendered.yaml").exists());
    std::fs::remove_file(configs.path().join("b.yaml")).unwrap();
    compile(configs.path(), out.path()).unwrap();
    assert!(!out.path().join("gatehouse/b").exists());
    let code = std::fs::read_to_string(out.path().join("gatehouse.rs")).unwrap();
    assert!(
        code.contains("pub fn a()") && !code.contains("pub fn b()"),
        "{code}"
    );
}

#[test]
fn errors_are_located_in_the_file_and_nothing_is_written() {
    let (configs, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(
        configs.path(),
        &[("bad.yaml", INVALID), ("good.yaml", VALID)],
    );
    let error = compile(configs.path(), out.path()).unwrap_err();
    let bad = configs.path().join("bad.yaml").display().to_string();
    let lines: Vec<String> = error.diagnostics().iter().map(|d| d.to_string()).collect();
    assert!(
        lines.iter().any(|l| l
            .starts_with(&format!("{bad}:2:3: error: redis.replicas: 0 replicas"))
            && l.contains("use at least 1 replica")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{bad}:5:5: error: redis.sentinel.quorum: "))),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{bad}:4:5: warning: redis.sentinel.count: "))),
        "{lines:#?}"
    );
    let directives = error.cargo_directives();
    assert!(
        directives
            .iter()
            .any(|d| d.starts_with(&format!("cargo::error={bad}:2:3: "))),
        "{directives:#?}"
    );
    assert!(
        directives
            .iter()
            .any(|d| d.starts_with(&format!("cargo::warning={bad}:4:5: "))),
        "{directives:#?}"
    );
    assert!(
        tree(out.path()).is_empty(),
        "an invalid config must not half-write the output"
    );
}

#[test]
fn syntax_errors_name_line_column_and_field() {
    let (configs, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(
        configs.path(),
        &[("typo.yaml", "redis:\n  sentinel:\n    quorom: 2\n")],
    );
    let error = compile(configs.path(), out.path()).unwrap_err();
    let text = error.to_string();
    let typo = configs.path().join("typo.yaml").display().to_string();
    assert!(
        text.contains(&format!(
            "{typo}:3:5: error: redis.sentinel.quorom: unknown field"
        )),
        "{text}"
    );
    assert!(text.contains("schema"), "the fix names the schema: {text}");
}

#[test]
fn warnings_of_valid_configs_are_located() {
    let (configs, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(
        configs.path(),
        &[("two.yaml", "redis:\n  sentinel:\n    count: 2\n")],
    );
    let compiled = compile(configs.path(), out.path()).unwrap();
    let two = configs.path().join("two.yaml").display().to_string();
    assert!(
        compiled
            .warnings
            .iter()
            .any(|w| w.severity == Severity::Warning
                && w.to_string()
                    .starts_with(&format!("{two}:3:5: warning: redis.sentinel.count: "))),
        "{:#?}",
        compiled.warnings
    );
}

#[test]
fn two_files_with_the_same_rust_name_are_an_error_naming_both() {
    let (configs, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(
        configs.path(),
        &[("prod-eu.yaml", VALID), ("prod_eu.yml", VALID)],
    );
    let text = compile(configs.path(), out.path()).unwrap_err().to_string();
    let first = configs.path().join("prod-eu.yaml").display().to_string();
    let second = configs.path().join("prod_eu.yml").display().to_string();
    assert!(
        text.contains(&format!(
            "{first} and {second} both become the Rust name `prod_eu`"
        )),
        "{text}"
    );
    assert!(text.contains("rename one of the two files"), "{text}");
}

#[test]
fn watches_each_config_and_each_directory() {
    let (configs, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(
        configs.path(),
        &[("a.yaml", VALID), ("notes.txt", "not a config")],
    );
    let single = tempfile::tempdir().unwrap();
    write(single.path(), &[("one.yaml", VALID)]);
    let compiled = Builder::new()
        .deployments_in(configs.path())
        .deployment(single.path().join("one.yaml"))
        .out_dir(out.path())
        .emit_cargo_directives(false)
        .compile()
        .unwrap();
    assert_eq!(
        compiled.watched,
        [
            configs.path().to_path_buf(),
            configs.path().join("a.yaml"),
            single.path().join("one.yaml"),
        ]
    );
}

#[test]
fn without_out_dir_outside_cargo_the_error_says_what_to_do() {
    // This crate has no build script, so cargo sets no OUT_DIR for its tests.
    let text = Builder::new().compile().unwrap_err().to_string();
    assert!(
        text.contains("OUT_DIR is not set") && text.contains(".out_dir("),
        "{text}"
    );
}
