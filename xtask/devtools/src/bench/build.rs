//! Build-script codegen cost: `cargo build` of a crate whose build.rs uses gatehouse-build, after a
//! config change (build script + the crate's compile) and after an unrelated source edit (the
//! crate's compile only); the difference is what the build script adds. Also the build script alone.
//!
//! The crate lives in a temporary directory with path dependencies on this workspace, the
//! workspace's lock file and target directory (so dependencies are compiled once, as in a user's
//! incremental build), and is built offline in the dev profile, as a developer builds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{Sample, median, output_of, read, write};

const CONFIG: &str = include_str!("../../../../examples/hybrid-gateway.yaml");

const BUILD_RS: &str = "fn main() {\n    gatehouse_build::Builder::new()\n        .deployments_in(\"deploy\")\n        .compile()\n        .unwrap_or_else(|e| e.exit());\n}\n";

/// What the measurement found.
pub struct Report {
    /// Rows (name, sample).
    pub rows: Vec<(String, Sample)>,
    /// Notes for the report.
    pub lines: Vec<String>,
}

/// Builds the crate `iterations` times after each kind of edit.
pub fn measure(root: &Path, work: &Path, iterations: usize) -> Result<Report, String> {
    let name = "gatehouse-bench-build-script";
    let dir = work.join(name);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [dependencies]\ngatehouse-model = {{ path = \"{}\" }}\n\n\
         [build-dependencies]\ngatehouse-build = {{ path = \"{}\" }}\n\n\
         [profile.dev]\ndebug = \"line-tables-only\"\n\n\
         [profile.dev.package.\"*\"]\nopt-level = 1\ndebug = false\n\n[workspace]\n",
        root.join("crates/model").display(),
        root.join("crates/build").display(),
    );
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(&dir.join("Cargo.lock"), &read(&root.join("Cargo.lock"))?)?;
    write(&dir.join("build.rs"), BUILD_RS)?;
    let main = |edit: usize| {
        format!(
            "mod deployments {{\n    include!(concat!(env!(\"OUT_DIR\"), \"/gatehouse.rs\"));\n}}\n\n\
             fn main() {{\n    // edit {edit}\n    print!(\"{{}}\", deployments::hybrid_gateway::RENDERED);\n}}\n"
        )
    };
    write(&dir.join("src/main.rs"), &main(0))?;
    let config_path = dir.join("deploy/hybrid-gateway.yaml");
    write(&config_path, CONFIG)?;

    let build = || -> Result<u64, String> {
        let start = Instant::now();
        output_of(
            Command::new("cargo")
                .args(["build", "--offline", "--quiet"])
                .current_dir(&dir)
                .env("CARGO_TARGET_DIR", &target),
            "cargo build of the build-script crate",
        )?;
        Ok(start.elapsed().as_nanos() as u64)
    };
    eprintln!("bench: build script: warming the dependencies (first build)");
    build()?;

    let (mut after_config, mut after_source, mut script) = (Vec::new(), Vec::new(), Vec::new());
    for i in 1..=iterations {
        // A config change: another replica count each time (the file's text really changes).
        let replicas = 2 + i % 2;
        write(
            &config_path,
            &CONFIG.replace("  replicas: 2 ", &format!("  replicas: {replicas} ")),
        )?;
        after_config.push(build()?);
        write(&dir.join("src/main.rs"), &main(i))?;
        after_source.push(build()?);
        script.push(run_build_script(&target, name, &dir, work)?);
    }
    let config_change = median(&after_config);
    let extra = (config_change - median(&after_source)) / 1e6;
    let lines = vec![
        format!(
            "build script: a config change costs {:.0} ms {} than a source edit (median build after a config change minus median after a source edit, within noise when below the build script's own time; the build script alone: {:.0} ms)",
            extra.abs(),
            if extra < 0.0 { "less" } else { "more" },
            median(&script) / 1e6
        ),
        format!(
            "target: incremental build after a config change ≤ 1 s: {:.0} ms ({})",
            config_change / 1e6,
            if config_change <= 1e9 {
                "met"
            } else {
                "MISSED"
            }
        ),
    ];
    let sample = |ns: Vec<u64>| Sample { ns, max_rss_kb: -1 };
    Ok(Report {
        rows: vec![
            (
                "incremental build after a config change (cargo build: build script + crate)"
                    .into(),
                sample(after_config),
            ),
            (
                "incremental build after a source edit (crate only; build script not rerun)".into(),
                sample(after_source),
            ),
            (
                "build script alone (validate + render + codegen of one config)".into(),
                sample(script),
            ),
        ],
        lines,
    })
}

/// Runs the crate's compiled build script once, as cargo does, into a scratch OUT_DIR.
fn run_build_script(target: &Path, name: &str, dir: &Path, work: &Path) -> Result<u64, String> {
    let builds = target.join("debug/build");
    let prefix = format!("{name}-");
    let mut scripts: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&builds)
        .map_err(|e| format!("{}: {e}", builds.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .map(|p| p.join("build-script-build"))
        .filter(|p| p.is_file())
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    scripts.sort();
    let (_, script) = scripts
        .pop()
        .ok_or_else(|| format!("no compiled build script under {}", builds.display()))?;
    let out_dir = work.join("build-script-out");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let start = Instant::now();
    output_of(
        Command::new(&script)
            .current_dir(dir)
            .env("OUT_DIR", &out_dir),
        "the build script",
    )?;
    Ok(start.elapsed().as_nanos() as u64)
}
