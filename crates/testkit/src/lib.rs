//! Test support shared by every gatehouse test that needs something outside the crate: an
//! external program (found with the `which` crate), the one skip-or-fail rule, a fake `helm`,
//! the built `gatehouse` binary and the workspace's fixtures. Dev-only: never a dependency of a
//! library or of the `gatehouse` binary.
//!
//! Skip-or-fail: a test needing an optional program skips with a message saying why and how to
//! install it, except when `GATEHOUSE_REQUIRE_EXTERNAL=1` (CI sets it), where the skip fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The variable that turns every skip into a failure (CI).
pub const REQUIRE_EXTERNAL: &str = "GATEHOUSE_REQUIRE_EXTERNAL";

/// Whether `GATEHOUSE_REQUIRE_EXTERNAL=1` is set.
pub fn external_required() -> bool {
    std::env::var(REQUIRE_EXTERNAL).as_deref() == Ok("1")
}

/// The one skip-or-fail rule: prints why the calling test skips (`what` is missing; `install`
/// says how to get it) and returns, or panics when [`REQUIRE_EXTERNAL`] is `1`.
///
/// ```
/// // (outside CI) a missing optional part skips:
/// if std::env::var("GATEHOUSE_REQUIRE_EXTERNAL").as_deref() != Ok("1") {
///     gatehouse_testkit::skip_or_fail("a frobnicator", "apt-get install frobnicator");
/// }
/// ```
pub fn skip_or_fail(what: &str, install: &str) {
    if external_required() {
        panic!("{what} is required ({REQUIRE_EXTERNAL}=1) but missing: {install}");
    }
    eprintln!("SKIPPED: {what} is missing ({install}); set {REQUIRE_EXTERNAL}=1 to fail instead");
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
pub fn gatehouse_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
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
