//! No test stops running silently: every `.rs` file in a test directory of the workspace is
//! compiled by some target (most packages have one test binary, `tests/all.rs`, that declares
//! each file as a module), and no target that cargo does not test (`test = false`) holds a test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace's packages and targets, as `cargo metadata` reports them.
fn metadata(root: &Path) -> Value {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The files a target's main file declares as modules (`#[path = "x.rs"] mod x;` or `mod x;`).
fn declared_modules(main: &Path) -> Vec<PathBuf> {
    let dir = main.parent().expect("a file has a directory");
    let text = std::fs::read_to_string(main).unwrap_or_default();
    let mut files = Vec::new();
    let mut path_attribute = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#[path = \"") {
            path_attribute = rest.strip_suffix("\"]").map(|p| dir.join(p));
        } else if let Some(name) = line
            .strip_prefix("mod ")
            .or_else(|| line.strip_prefix("pub mod "))
            .and_then(|l| l.strip_suffix(';'))
        {
            files.push(
                path_attribute
                    .take()
                    .unwrap_or_else(|| dir.join(format!("{name}.rs"))),
            );
        } else if !line.starts_with("#[") {
            path_attribute = None;
        }
    }
    files
}

/// What is wrong: test-directory files no target compiles, and `test = false` targets that hold
/// tests.
pub fn problems(metadata: &Value) -> Vec<String> {
    let mut compiled = BTreeSet::new();
    let mut test_dirs = BTreeSet::new();
    let mut problems = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let package_dir = manifest.parent().expect("a manifest has a directory");
        test_dirs.insert(package_dir.join("tests"));
        for target in package["targets"].as_array().into_iter().flatten() {
            let src = PathBuf::from(target["src_path"].as_str().unwrap_or_default());
            let kinds: Vec<&str> = target["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if kinds.contains(&"test") {
                test_dirs.insert(src.parent().expect("a file has a directory").to_path_buf());
                compiled.extend(declared_modules(&src));
            }
            if target["test"] == Value::Bool(false)
                && (kinds.contains(&"lib") || kinds.contains(&"bin"))
                && holds_tests(&src, kinds.contains(&"lib"))
            {
                problems.push(format!(
                    "{} has tests but its target `{}` is `test = false` in {}: they never run; remove `test = false`",
                    src.display(),
                    target["name"].as_str().unwrap_or_default(),
                    manifest.display()
                ));
            }
            compiled.insert(src);
        }
    }
    for dir in &test_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            if file.extension().is_some_and(|e| e == "rs") && !compiled.contains(&file) {
                problems.push(format!(
                    "{} is compiled by no target, so its tests never run: declare it in the test binary's main file of its package (`#[path = \"{name}\"] mod {stem};` in tests/all.rs)",
                    file.display(),
                    name = file.file_name().unwrap_or_default().to_string_lossy(),
                    stem = file.file_stem().unwrap_or_default().to_string_lossy(),
                ));
            }
        }
    }
    problems
}

/// Whether a target's source holds a test: its main file and, for a library, every module file
/// it declares (followed from file to file).
fn holds_tests(src: &Path, library: bool) -> bool {
    let files = if library {
        module_tree(src)
    } else {
        vec![src.to_path_buf()]
    };
    files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| t.contains("#[test]") || t.contains("proptest!"))
    })
}

/// `root` and the files of the modules it declares, recursively (`mod x;` is `x.rs` or
/// `x/mod.rs` beside a root or `mod.rs` file, and under `<file stem>/` beside any other file).
fn module_tree(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.to_path_buf()];
    let mut next = 0;
    while next < files.len() {
        let file = files[next].clone();
        next += 1;
        let owns_dir = next == 1 || file.file_name().is_some_and(|n| n == "mod.rs");
        let dir = if owns_dir {
            file.parent().expect("a file has a directory").to_path_buf()
        } else {
            file.with_extension("")
        };
        for declared in declared_modules(&file) {
            let declared = dir.join(
                declared
                    .strip_prefix(file.parent().unwrap())
                    .unwrap_or(&declared),
            );
            let as_dir = declared.with_extension("").join("mod.rs");
            files.push(if declared.exists() { declared } else { as_dir });
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_test_file_is_compiled() {
        let problems = problems(&metadata(&gatehouse_testkit::workspace_root()));
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The check itself finds a file left out and a test in a `test = false` target.
    #[test]
    fn a_file_left_out_and_a_hidden_test_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        };
        let manifest = write("p/Cargo.toml", "");
        let main = write(
            "p/tests/all.rs",
            "#[path = \"listed.rs\"]\nmod listed;\nmod plain;\n",
        );
        write("p/tests/listed.rs", "#[test]\nfn t() {}\n");
        write("p/tests/plain.rs", "#[test]\nfn t() {}\n");
        write("p/tests/forgotten.rs", "#[test]\nfn t() {}\n");
        let lib = write("p/src/lib.rs", "mod inner;\n");
        write("p/src/inner.rs", "#[test]\nfn hidden() {}\n");
        // Beside the library but not one of its modules (as tests/support.rs beside the tests).
        write("p/src/not_a_module.rs", "#[test]\nfn elsewhere() {}\n");
        let metadata = json!({"packages": [{
            "manifest_path": manifest,
            "targets": [
                {"name": "all", "kind": ["test"], "src_path": main, "test": true},
                {"name": "p", "kind": ["lib"], "src_path": lib, "test": false},
            ],
        }]});
        let problems = problems(&metadata);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems[0].contains("src/lib.rs has tests") && problems[0].contains("`p`"),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].contains("tests/forgotten.rs is compiled by no target")
                && problems[1].contains("#[path = \"forgotten.rs\"] mod forgotten;"),
            "{}",
            problems[1]
        );
    }
}
