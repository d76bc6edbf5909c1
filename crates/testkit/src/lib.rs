//! Test support shared by every gatehouse test that needs something outside the crate: an
//! external program (found with the `which` crate), the one skip-or-fail rule, a fake `helm`,
//! the built `gatehouse` binary and the workspace's fixtures. Dev-only: never a dependency of a
//! library or of the `gatehouse` binary.
//!
//! Skip-or-fail: a test needing an optional program skips with a message saying why and how to
//! install it (shown in the test run's output even when the test passes), except when
//! `GATEHOUSE_REQUIRE_EXTERNAL` is on (`1`; CI sets it), where the skip fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The variable that turns every skip into a failure (CI).
pub const REQUIRE_EXTERNAL: &str = "GATEHOUSE_REQUIRE_EXTERNAL";

/// Reads a [`REQUIRE_EXTERNAL`] value: on for `1`, `true`, `yes`, `on`; off for `0`, `false`,
/// `no`, `off`, empty or unset (any case, spaces around ignored); anything else is a mistake,
/// returned as the message to show.
///
/// ```
/// use gatehouse_testkit::parse_require_external;
/// assert_eq!(parse_require_external(Some("TRUE")), Ok(true));
/// assert_eq!(parse_require_external(Some(" off ")), Ok(false));
/// assert_eq!(parse_require_external(None), Ok(false));
/// assert!(parse_require_external(Some("maybe")).unwrap_err().contains("maybe"));
/// ```
pub fn parse_require_external(value: Option<&str>) -> Result<bool, String> {
    let Some(value) = value else {
        return Ok(false);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!(
            "{REQUIRE_EXTERNAL}={value:?} is neither on nor off: set it to 1 (or true, yes, on) to \
             turn skips into failures, or to 0 (or false, no, off), or unset it"
        )),
    }
}

/// Whether [`REQUIRE_EXTERNAL`] is on (see [`parse_require_external`]); a value that is neither
/// on nor off panics with the message, never reads as off.
pub fn external_required() -> bool {
    let value = std::env::var_os(REQUIRE_EXTERNAL);
    parse_require_external(value.as_ref().map(|v| v.to_string_lossy()).as_deref())
        .unwrap_or_else(|message| panic!("{message}"))
}

/// The one skip-or-fail rule, for callers that report rather than panic (`cargo xtask bench`):
/// `Ok` with the message saying why the caller skips (`what` is missing; `install` says how to get
/// it), or `Err` with the failure message when [`REQUIRE_EXTERNAL`] is on.
///
/// ```
/// let outcome = gatehouse_testkit::skip_message("a frobnicator", "apt-get install frobnicator");
/// assert_eq!(outcome.is_err(), gatehouse_testkit::external_required());
/// ```
pub fn skip_message(what: &str, install: &str) -> Result<String, String> {
    if external_required() {
        Err(format!(
            "{what} is required ({REQUIRE_EXTERNAL} is on) but missing: {install}"
        ))
    } else {
        Ok(format!(
            "SKIPPED: {what} is missing ({install}); set {REQUIRE_EXTERNAL}=1 to fail instead"
        ))
    }
}

/// The one skip-or-fail rule for tests: reports why the calling test skips (`what` is missing;
/// `install` says how to get it) and returns, or panics when [`REQUIRE_EXTERNAL`] is on.
///
/// The report names the test and goes straight to the process's standard error, not through
/// `eprintln!`: `cargo test` captures and hides what a passing test prints with the macros, and a
/// skip must show in the run's output (as `SKIPPED <test>: ...` among the `test ... ok` lines).
///
/// ```
/// // (outside CI) a missing optional part skips:
/// if !gatehouse_testkit::external_required() {
///     gatehouse_testkit::skip_or_fail("a frobnicator", "apt-get install frobnicator");
/// }
/// ```
pub fn skip_or_fail(what: &str, install: &str) {
    match skip_message(what, install) {
        Ok(message) => report_skip(&message),
        Err(message) => panic!("{message}"),
    }
}

/// Writes one skip line, naming the running test (libtest names each test's thread after it),
/// to the real standard error.
fn report_skip(message: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("(unnamed test)");
    let line = format!(
        "{} {test}: {}\n",
        "SKIPPED",
        message.trim_start_matches("SKIPPED: ")
    );
    // Direct writes bypass the test harness's capture of `print!`/`eprint!`.
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes());
    let _ = stderr.flush();
}

/// The program `name` on PATH, or `None` after [`skip_or_fail`].
pub fn external_tool(name: &str, install: &str) -> Option<PathBuf> {
    match which::which(name) {
        Ok(path) => Some(path),
        Err(_) => {
            skip_or_fail(&format!("`{name}` on PATH"), install);
            None
        }
    }
}

/// Runs `command` with `input` on its standard input and its standard output captured (standard
/// error as the caller set it) and waits for it.
pub fn output_with_stdin(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(input.as_bytes()).expect("stdin is written");
    drop(stdin);
    child.wait_with_output().expect("the command finishes")
}

/// `python3` when it can import `module` (pip package `package`); `None` after [`skip_or_fail`]
/// otherwise.
fn python_with(module: &str, package: &str) -> Option<PathBuf> {
    let python = external_tool("python3", "apt-get install python3")?;
    let probe = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .status()
        .expect("python3 starts");
    if !probe.success() {
        skip_or_fail(
            &format!("Python's {package} module"),
            &format!("pip install {package}"),
        );
        return None;
    }
    Some(python)
}

/// The errors of `instance` against the JSON Schema `schema` (draft 2020-12), one line each as
/// `path: message`, checked by Python's `jsonschema` module; empty when valid. `None` after
/// [`skip_or_fail`] when Python or the module is missing.
pub fn jsonschema_errors(
    schema: &serde_json::Value,
    instance: &serde_json::Value,
) -> Option<Vec<String>> {
    let python = python_with("jsonschema", "jsonschema")?;
    let script = "import json, sys, jsonschema\n\
        d = json.load(sys.stdin)\n\
        v = jsonschema.Draft202012Validator(d['schema'])\n\
        for e in v.iter_errors(d['instance']):\n    print('/'.join(map(str, e.absolute_path)) + ': ' + e.message)\n";
    let input = serde_json::json!({"schema": schema, "instance": instance}).to_string();
    let output = output_with_stdin(Command::new(python).args(["-c", script]), &input);
    assert!(
        output.status.success(),
        "the JSON Schema validator failed to run"
    );
    Some(
        String::from_utf8(output.stdout)
            .expect("the validator prints UTF-8")
            .lines()
            .map(String::from)
            .collect(),
    )
}

/// The documents of `text` (a YAML stream) as PyYAML (a YAML 1.1 reader, as Helm's is) reads
/// them with `yaml.safe_load_all`, converted to JSON; `Err` with PyYAML's message when it refuses the text or
/// reads a value JSON cannot hold (a date, a set). `None` after [`skip_or_fail`] when Python or
/// PyYAML is missing.
pub fn pyyaml_read_all(text: &str) -> Option<Result<Vec<serde_json::Value>, String>> {
    let python = python_with("yaml", "PyYAML")?;
    let script = "import json, sys, yaml\n\
        try:\n    v = list(yaml.safe_load_all(sys.stdin.buffer.read().decode('utf-8')))\n    out = json.dumps({'ok': v})\n\
        except Exception as e:\n    out = json.dumps({'error': str(e)})\n\
        sys.stdout.write(out)\n";
    let output = output_with_stdin(Command::new(python).args(["-c", script]), text);
    assert!(output.status.success(), "the PyYAML reader failed to run");
    let reply: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the reader prints JSON");
    Some(match reply.get("ok").and_then(|v| v.as_array()) {
        Some(documents) => Ok(documents.clone()),
        None => Err(reply["error"].as_str().unwrap_or_default().to_string()),
    })
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit lies two levels below the workspace root")
        .to_path_buf()
}

/// A fixture file or directory of the workspace, by its path from the root.
pub fn fixture(relative: &str) -> PathBuf {
    let path = workspace_root().join(relative);
    assert!(path.exists(), "fixture {} is missing", path.display());
    path
}

/// The minimal `graviteeio/apim`-shaped chart the chart tests render.
pub fn mini_apim_chart() -> PathBuf {
    fixture("crates/chart/tests/fixtures/mini-apim")
}

/// Writes a fake `helm` into `<dir>/bin` that appends its arguments (one a line) to
/// `<dir>/helm-argv` and its stdin to `<dir>/helm-stdin`; returns the `bin` directory to put
/// first on PATH.
pub fn fake_helm(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("create the fake helm's directory");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '{d}/helm-argv'\ncat >> '{d}/helm-stdin'\n",
        d = dir.display()
    );
    let helm = bin.join("helm");
    std::fs::write(&helm, script).expect("write the fake helm");
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755))
        .expect("make the fake helm executable");
    bin
}

/// `PATH` with `first` in front.
pub fn path_with(first: &Path) -> String {
    format!(
        "{}:{}",
        first.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The `gatehouse` binary of this workspace, built (once per test process) with the profile
/// the tests were built with, so that a test of another package runs the current code.
///
/// In the top-level tests package it is that package's bin `gatehouse-under-test` (the CLI's own
/// `main.rs`), which `cargo test` builds with the tests: cargo names it in
/// `CARGO_BIN_EXE_gatehouse-under-test` when it runs them. Elsewhere a `cargo build -p gatehouse`,
/// which resolves features for the `gatehouse` package alone and so recompiles much of its tree.
pub fn gatehouse_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_gatehouse-under-test") {
            return PathBuf::from(bin);
        }
        // target/<profile>/deps/<test> → target/<profile>
        let exe = std::env::current_exe().expect("the test's own path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("tests run from target/<profile>/deps")
            .to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "--package",
                "gatehouse",
                "--bin",
                "gatehouse",
            ])
            .current_dir(workspace_root());
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the gatehouse binary failed");
        let bin = profile_dir.join("gatehouse");
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

/// Words of the implementation that a message for a person must never contain (Rust types,
/// library names): checked on every bad-config report and parse error.
pub const RUST_WORDS: [&str; 9] = [
    "Option<",
    "u32",
    "u16",
    "serde",
    "from_str",
    "DuplicateKeyPolicy",
    "SecretSource",
    "struct ",
    "enum ",
];

/// One file of the bad-config corpus (`crates/model/tests/bad-configs/*.yaml`). Each file starts
/// with `# path: <field path>` and `# expect: <message fragment>` (and `# severity: warning` when
/// the file is valid but warned about); values containing `GH-SECRET-` stand for secrets.
#[derive(Debug, Clone)]
pub struct BadConfig {
    /// The file.
    pub file: PathBuf,
    /// Its file name, for messages.
    pub name: String,
    /// Its text.
    pub yaml: String,
    /// The field path the report must name (`# path:`).
    pub path: String,
    /// A fragment of the expected message (`# expect:`; empty when absent).
    pub expect: String,
    /// The file is valid but warned about (`# severity: warning`).
    pub warning: bool,
}

/// The marker of a value that stands for a secret in the corpus.
pub const SECRET_MARK: &str = "GH-SECRET-";

/// The bad-config corpus, sorted by file name; the one reader of its headers for the model, the
/// build-script and the command-line corpus tests.
pub fn bad_config_corpus() -> Vec<BadConfig> {
    let dir = fixture("crates/model/tests/bad-configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the bad-config corpus")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let yaml = std::fs::read_to_string(&file).expect("read a corpus file");
            let header = |key: &str| {
                yaml.lines()
                    .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                    .map(str::to_string)
            };
            BadConfig {
                name: file
                    .file_name()
                    .expect("a file name")
                    .to_string_lossy()
                    .into_owned(),
                path: header("path")
                    .unwrap_or_else(|| panic!("{}: no `# path:` header", file.display())),
                expect: header("expect").unwrap_or_default(),
                warning: header("severity").as_deref() == Some("warning"),
                yaml,
                file,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set in the child run of [`a_skip_shows_in_the_output_of_a_passing_test`].
    const CHILD: &str = "GATEHOUSE_TESTKIT_SKIP_CHILD";

    /// Runs this very test again as a child test binary, with the harness capturing output as
    /// `cargo test` does: the child skips, passes, and its skip line is in the run's output.
    #[test]
    fn a_skip_shows_in_the_output_of_a_passing_test() {
        if std::env::var_os(CHILD).is_some() {
            skip_or_fail("a frobnicator", "apt-get install frobnicator");
            return;
        }
        let name = "tests::a_skip_shows_in_the_output_of_a_passing_test";
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--test-threads", "1"])
            .env(CHILD, "1")
            .env(REQUIRE_EXTERNAL, "no")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(stdout.contains(&format!("test {name} ... ok")), "{stdout}");
        let line =
            format!("SKIPPED {name}: a frobnicator is missing (apt-get install frobnicator)");
        assert!(stderr.contains(&line), "no {line:?} in:\n{stdout}{stderr}");

        // On, the same skip fails the test.
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name])
            .env(CHILD, "1")
            .env(REQUIRE_EXTERNAL, "On")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("is required"));
    }

    #[test]
    fn require_external_reads_the_usual_spellings_and_refuses_others() {
        for on in ["1", "true", "TRUE", "yes", "Yes", "on", "ON", " 1 "] {
            assert_eq!(parse_require_external(Some(on)), Ok(true), "{on}");
        }
        for off in ["0", "false", "False", "no", "NO", "off", "", "  "] {
            assert_eq!(parse_require_external(Some(off)), Ok(false), "{off:?}");
        }
        assert_eq!(parse_require_external(None), Ok(false));
        for unknown in ["2", "maybe", "y", "enabled"] {
            let message = parse_require_external(Some(unknown)).unwrap_err();
            assert!(
                message.contains(REQUIRE_EXTERNAL) && message.contains("set it to 1"),
                "{message}"
            );
        }
    }
}
