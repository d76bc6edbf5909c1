//! `cargo xtask <command>` reaches the program that has the command: render in-process, the
//! cluster commands through `cargo run -p gatehouse`, bench and failover-report through
//! `cargo run -p xtask-devtools`, with the arguments and the exit status passed through. A fake
//! `cargo` (the `CARGO` variable, which cargo sets for `cargo xtask`) records what xtask runs,
//! so the test builds nothing twice; that the full `gatehouse` binary and `xtask-devtools` accept
//! these commands is tested in their packages.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fake cargo that writes its arguments (one a line) to `<dir>/argv` and exits with 7.
fn fake_cargo(dir: &Path) -> PathBuf {
    let cargo = dir.join("cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}/argv'\nexit 7\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    cargo
}

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env("CARGO", fake_cargo(dir))
        .output()
        .unwrap()
}

fn recorded(dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("argv")).ok()?;
    Some(text.lines().map(str::to_string).collect())
}

fn workspace_manifest() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("Cargo.toml")
        .display()
        .to_string()
}

/// The arguments after `run [--quiet]`.
fn after_run(argv: &[String]) -> Vec<&str> {
    assert_eq!(argv.first().map(String::as_str), Some("run"), "{argv:?}");
    argv.iter()
        .skip(1)
        .map(String::as_str)
        .filter(|a| *a != "--quiet")
        .collect()
}

#[test]
fn cluster_commands_run_the_whole_gatehouse_binary_with_their_arguments_and_exit_status() {
    for command in ["diff", "deploy", "destroy", "status", "completions"] {
        let dir = tempfile::tempdir().unwrap();
        let out = xtask(dir.path(), &[command, "-f", "my config.yaml", "--yes"]);
        assert_eq!(out.status.code(), Some(7), "{command}: {out:?}");
        let argv = recorded(dir.path()).expect("xtask ran cargo");
        let manifest = workspace_manifest();
        assert_eq!(
            after_run(&argv),
            [
                "--manifest-path",
                manifest.as_str(),
                "--package",
                "gatehouse",
                "--bin",
                "gatehouse",
                "--",
                command,
                "-f",
                "my config.yaml",
                "--yes"
            ],
            "{command}"
        );
    }
}

#[test]
fn heavy_developer_commands_run_xtask_devtools() {
    for command in ["bench", "failover-report"] {
        let dir = tempfile::tempdir().unwrap();
        let out = xtask(dir.path(), &[command, "--quick"]);
        assert_eq!(out.status.code(), Some(7), "{command}: {out:?}");
        let argv = recorded(dir.path()).expect("xtask ran cargo");
        let rest = after_run(&argv);
        assert_eq!(
            rest[2..],
            [
                "--package",
                "xtask-devtools",
                "--bin",
                "xtask-devtools",
                "--",
                command,
                "--quick"
            ],
            "{command}"
        );
    }
}

#[test]
fn render_runs_in_process_without_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let out = xtask(dir.path(), &["render"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("kind: StatefulSet"), "{stdout}");
    assert_eq!(recorded(dir.path()), None, "render must not run cargo");

    // A render-only command's error comes from the same process too (exit 1, no cargo).
    let out = xtask(dir.path(), &["validate", "-f", "missing.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(recorded(dir.path()), None, "validate must not run cargo");
}

/// What `cargo xtask` compiles: nothing that talks to a cluster, benchmarks or runs Redis.
#[test]
fn xtask_depends_on_nothing_heavy() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "xtask",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--manifest-path",
        ])
        .arg(workspace_manifest())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let tree = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"gatehouse-render"), "{tree}");
    for heavy in [
        "kube",
        "kube-client",
        "tokio",
        "hyper",
        "criterion",
        "redis",
        "gatehouse-ha",
        "gatehouse-apply",
        "gatehouse-apply-mock",
    ] {
        assert!(!names.contains(&heavy), "xtask depends on {heavy}:\n{tree}");
    }
}
