//! Test support shared by every gatehouse test that needs something outside the crate: an
//! external program (found with the `which` crate), the one skip-or-fail rule, a fake `helm`,
//! the built `gatehouse` binary and the workspace's fixtures. Dev-only: never a dependency of a
//! library or of the `gatehouse` binary.
//!
//! Skip-or-fail: a test needing an optional program skips with a message saying why and how to
//! install it, except when `GATEHOUSE_REQUIRE_EXTERNAL=1` (CI sets it), where the skip fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The variable that turns every skip into a failure (CI).
pub const REQUIRE_EXTERNAL: &str = "GATEHOUSE_REQUIRE_EXTERNAL";

/// Whether `GATEHOUSE_REQUIRE_EXTERNAL=1` is set.
pub fn external_required() -> bool {
    std::env::var(REQUIRE_EXTERNAL).as_deref() == Ok("1")
}

/// The one skip-or-fail rule, for callers that report rather than panic (`cargo xtask bench`):
/// `Ok` with the message saying why the caller skips (`what` is missing; `install` says how to get
/// it), or `Err` with the failure message when [`REQUIRE_EXTERNAL`] is `1`.
///
/// ```
/// let outcome = gatehouse_testkit::skip_message("a frobnicator", "apt-get install frobnicator");
/// assert_eq!(outcome.is_err(), gatehouse_testkit::external_required());
/// ```
pub fn skip_message(what: &str, install: &str) -> Result<String, String> {
    if external_required() {
        Err(format!(
            "{what} is required ({REQUIRE_EXTERNAL}=1) but missing: {install}"
        ))
    } else {
        Ok(format!(
            "SKIPPED: {what} is missing ({install}); set {REQUIRE_EXTERNAL}=1 to fail instead"
        ))
    }
}

/// The one skip-or-fail rule for tests: prints why the calling test skips (`what` is missing;
/// `install` says how to get it) and returns, or panics when [`REQUIRE_EXTERNAL`] is `1`.
///
/// ```
/// // (outside CI) a missing optional part skips:
/// if std::env::var("GATEHOUSE_REQUIRE_EXTERNAL").as_deref() != Ok("1") {
///     gatehouse_testkit::skip_or_fail("a frobnicator", "apt-get install frobnicator");
/// }
/// ```
pub fn skip_or_fail(what: &str, install: &str) {
    match skip_message(what, install) {
        Ok(message) => eprintln!("{message}"),
        Err(message) => panic!("{message}"),
    }
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
