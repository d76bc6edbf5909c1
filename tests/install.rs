//! `cargo install --path crates/gatehouse` gives a working CLI: the binary is installed into a
//! temporary root and run from a directory outside the checkout with a bare environment, so nothing
//! may depend on files of the repository.
//!
//! Cost: the install reuses the workspace's target directory (`--target-dir`, debug profile), so it
//! compiles only what the `gatehouse` package alone resolves differently from the workspace build,
//! then links and copies: 57 s for the install alone and 116 s for this whole test, measured on the 2
//! shared cores under a load average of about 8 (kube-client, kube-runtime, gatehouse-apply and
//! gatehouse recompiled), against CI's ~19 min; a release install in a fresh target directory would
//! recompile about 250 crates (over 20 min here), which CI cannot afford.

use std::path::{Path, PathBuf};
use std::process::Command;

use gatehouse_tests::text;

/// The workspace's target directory: this test runs from `target/<profile>/deps`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("tests run from target/<profile>/deps")
        .to_path_buf()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies in the workspace root")
        .to_path_buf()
}

#[test]
fn cargo_install_gives_a_cli_that_runs_outside_the_repository() {
    let root = tempfile::tempdir().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let install = Command::new(cargo)
        .args([
            "install",
            "--quiet",
            "--debug",
            "--locked",
            "--offline",
            "--path",
        ])
        .arg(workspace_root().join("crates/gatehouse"))
        .arg("--root")
        .arg(root.path())
        .arg("--target-dir")
        .arg(target_dir())
        .output()
        .unwrap();
    assert!(install.status.success(), "{}", text(&install));
    let bin = root.path().join("bin/gatehouse");
    assert!(bin.exists(), "{}", text(&install));

    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("my.yaml"), "namespace: outside\n").unwrap();
    let out = Command::new(&bin)
        .args(["render", "-f", "my.yaml"])
        .current_dir(work.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "StatefulSet" && d["metadata"]["namespace"] == "outside")
    );
    let schema = Command::new(&bin)
        .arg("schema")
        .current_dir(work.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(schema.status.success(), "{}", text(&schema));
    assert!(String::from_utf8_lossy(&schema.stdout).contains("\"$schema\""));
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        1,
        "nothing written beside the config"
    );
}
