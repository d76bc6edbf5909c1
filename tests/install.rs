//! The installed binary works outside the repository: the built `gatehouse` is copied into a
//! temporary directory (what `cargo install` does with it) and run from there, with the working
//! directory outside the checkout, so nothing may depend on files of the repository.
//!
//! (A real `cargo install` is not run in CI: it resolves features for the package alone, so it
//! recompiles most dependencies, minutes on the 2 shared cores, for no extra check of the code.)

use gatehouse_tests::{gatehouse_bin, text};

#[test]
fn the_binary_runs_outside_the_repository() {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin/gatehouse");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(gatehouse_bin(), &bin).unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("my.yaml"), "namespace: outside\n").unwrap();
    let out = std::process::Command::new(&bin)
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
    let schema = std::process::Command::new(&bin)
        .arg("schema")
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(schema.status.success());
    assert!(
        std::fs::read_dir(work.path()).unwrap().count() == 1,
        "nothing written"
    );
}
