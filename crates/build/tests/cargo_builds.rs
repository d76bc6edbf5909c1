//! Real `cargo build`s of temporary crates that use gatehouse-build in their build.rs: offline, with
//! path dependencies on this workspace and the workspace's target directory, so only the small
//! temporary crates compile. Cargo serializes the builds on the target directory's lock.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gatehouse_render::{Format, render};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};

const PROD: &str = "\
namespace: apim-prod
redis:
  replicas: 2
  password: {from: env, variable: PROD_REDIS_PASSWORD}
gateway:
  licenseKey: {from: env, variable: GRAVITEE_LICENSE_KEY}
  cloudToken: {from: env, variable: GRAVITEE_CLOUD_TOKEN}
";

const BAD: &str = "redis:\n  replicas: 0\n  sentinel:\n    count: 3\n";

/// Prints `ALL` (name, digest) or, with a name, the compiled rendering of that deployment.
const MAIN: &str = r#"
mod deployments {
    include!(concat!(env!("OUT_DIR"), "/gatehouse.rs"));
}
mod unrelated;

fn main() {
    let name = std::env::args().nth(1);
    for compiled in deployments::ALL {
        match &name {
            Some(name) if name == compiled.name => print!("{}", compiled.rendered),
            Some(_) => {}
            None => println!("{} {} {}", compiled.name, compiled.digest, unrelated::NOTE),
        }
    }
}
"#;

const BUILD_RS: &str = r#"
fn main() {
    gatehouse_build::Builder::new()
        .deployments_in("deploy")
        .compile()
        .unwrap_or_else(|e| e.exit());
}
"#;

/// The workspace's dev profile, copied into each temporary crate so that the shared target
/// directory's dependencies are reused (a different `debug` or `opt-level` recompiles all of them,
/// with full debug info).
const PROFILE: &str = "\
[profile.dev]
debug = \"line-tables-only\"

[profile.dev.package.\"*\"]
opt-level = 1
debug = false

# The workspace's crates get the same settings when a build script uses them as when a test does,
# so one compiled copy serves both (and the temporary crates of crates/build's tests reuse it).
[profile.dev.build-override]
debug = \"line-tables-only\"
";

/// The workspace manifest ends with [`PROFILE`]: a changed workspace profile must change it too.
fn profile() -> &'static str {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    assert!(
        manifest.ends_with(PROFILE),
        "the workspace's dev profile changed: copy it into PROFILE in {}",
        file!()
    );
    PROFILE
}

/// In a temporary crate the workspace's crates are path dependencies, not members: the profile
/// they have as members, so that their compiled copies are reused.
const MEMBERS: [&str; 5] = [
    "gatehouse-build",
    "gatehouse-model",
    "gatehouse-render",
    "gatehouse-chart-contract",
    "gatehouse-workspace-hack",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The workspace's target directory (shared, so dependencies are compiled once).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

struct TempCrate {
    name: String,
    dir: tempfile::TempDir,
}

impl TempCrate {
    /// A crate named `name` with `deploy/<file>` configs, the build.rs above and `main`.
    fn new(name: &str, configs: &[(&str, &str)], main: &str) -> TempCrate {
        let dir = tempfile::tempdir().unwrap();
        let ws = workspace();
        let profile = profile();
        let manifest = format!(
            r#"[package]
name = "{name}"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
gatehouse-model = {{ path = "{model}" }}
gatehouse-workspace-hack = {{ path = "{hack}" }}

[build-dependencies]
gatehouse-build = {{ path = "{build}" }}
gatehouse-workspace-hack = {{ path = "{hack}" }}

{profile}{members}
[workspace]
"#,
            model = ws.join("crates/model").display(),
            hack = ws.join("crates/workspace-hack").display(),
            build = ws.join("crates/build").display(),
            members = MEMBERS
                .iter()
                .map(|m| format!(
                    "\n[profile.dev.package.{m}]\nopt-level = 0\ndebug = \"line-tables-only\"\n"
                ))
                .collect::<String>(),
        );
        let krate = TempCrate {
            name: name.into(),
            dir,
        };
        krate.write("Cargo.toml", &manifest);
        // The workspace's lock file: the same dependency versions, offline.
        std::fs::copy(ws.join("Cargo.lock"), krate.path().join("Cargo.lock")).unwrap();
        krate.write("build.rs", BUILD_RS);
        krate.write("src/main.rs", main);
        krate.write("src/unrelated.rs", "pub const NOTE: &str = \"v1\";\n");
        for (file, text) in configs {
            krate.write(&format!("deploy/{file}"), text);
        }
        krate
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `cargo build --offline -v` with the given environment.
    fn build(&self, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .args(["build", "--offline", "-v"])
            .current_dir(self.path())
            .env("CARGO_TARGET_DIR", target_dir());
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("cargo runs")
    }

    fn build_ok(&self, env: &[(&str, &str)]) -> String {
        let output = self.build(env);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "cargo build failed:\n{stderr}");
        stderr
    }

    fn run(&self, args: &[&str]) -> String {
        let binary = target_dir().join("debug").join(&self.name);
        let output = Command::new(&binary).args(args).output().unwrap();
        assert!(output.status.success(), "{} failed", binary.display());
        String::from_utf8(output.stdout).unwrap()
    }

    /// Every file cargo keeps for this crate's build script: its OUT_DIR and its captured output.
    fn build_dirs(&self) -> Vec<PathBuf> {
        let prefix = format!("{}-", self.name);
        std::fs::read_dir(target_dir().join("debug/build"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&prefix)
            })
            .collect()
    }
}

/// Whether cargo ran this crate's build script in a `-v` build.
fn ran_build_script(stderr: &str, name: &str) -> bool {
    stderr.lines().any(|line| {
        line.trim_start().starts_with("Running `")
            && line.contains(&format!("/build/{name}-"))
            && line.contains("build-script-build`")
    })
}

fn files_under(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
}

#[test]
fn a_valid_config_builds_and_prints_what_render_prints_and_no_secret_reaches_out_dir() {
    let krate = TempCrate::new("gatehouse-build-test-valid", &[("prod.yaml", PROD)], MAIN);
    const CANARY: &str = "canary-5f1e0c9b-secret-value";
    krate.build_ok(&[
        ("PROD_REDIS_PASSWORD", CANARY),
        ("GATEHOUSE_REDIS_PASSWORD", CANARY),
        ("GRAVITEE_LICENSE_KEY", CANARY),
        ("GRAVITEE_CLOUD_TOKEN", CANARY),
    ]);

    // What the CLI prints for `render --config deploy/prod.yaml`: load, render, YAML text.
    let valid = gatehouse_model::load_yaml_str(PROD, "deploy/prod.yaml").unwrap();
    let expected = render(&valid).to_text(Format::Yaml);
    assert_eq!(krate.run(&["prod"]), expected);
    let listed = krate.run(&[]);
    assert!(listed.starts_with("prod sha256:"), "{listed}");

    let mut files = Vec::new();
    for dir in krate.build_dirs() {
        files_under(&dir, &mut files);
    }
    let model_json = files
        .iter()
        .find(|(path, _)| path.ends_with("gatehouse/prod/model.json"))
        .expect("the build wrote the model into OUT_DIR");
    assert!(
        String::from_utf8_lossy(&model_json.1).contains("PROD_REDIS_PASSWORD"),
        "the secret's source (its variable name) is compiled in"
    );
    for (path, bytes) in &files {
        assert!(
            !String::from_utf8_lossy(bytes).contains(CANARY),
            "a secret value reached {}",
            path.display()
        );
    }
}

#[test]
fn an_invalid_config_fails_the_build_with_a_located_message() {
    let krate = TempCrate::new(
        "gatehouse-build-test-invalid",
        &[("bad.yaml", BAD), ("good.yaml", PROD)],
        MAIN,
    );
    let output = krate.build(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the build must fail:\n{stderr}");
    // Cargo shows a `cargo::error=` directive as `error: <package>@<version>: <message>`.
    assert!(
        stderr.lines().any(|line| line.starts_with("error: ")
            && line.contains(": deploy/bad.yaml:2:3: error: redis.replicas: 0 replicas")),
        "cargo shows the located error:\n{stderr}"
    );
    assert!(stderr.contains("use at least 1 replica"), "{stderr}");
    assert!(!stderr.contains("deploy/good.yaml:"), "{stderr}");
}

#[test]
fn only_a_config_change_reruns_the_build_script() {
    let name = "gatehouse-build-test-rerun";
    let krate = TempCrate::new(name, &[("prod.yaml", PROD)], MAIN);
    krate.build_ok(&[]);
    let digest = krate.run(&[]);

    krate.write("src/unrelated.rs", "pub const NOTE: &str = \"v2\";\n");
    let stderr = krate.build_ok(&[]);
    assert!(
        !ran_build_script(&stderr, name),
        "an unrelated edit reran the build script:\n{stderr}"
    );
    assert!(krate.run(&[]).ends_with("v2\n"), "the edit was compiled");

    krate.write(
        "deploy/prod.yaml",
        &PROD.replace("apim-prod", "apim-prod-2"),
    );
    let stderr = krate.build_ok(&[]);
    assert!(
        ran_build_script(&stderr, name),
        "a config edit must rerun it:\n{stderr}"
    );
    assert_ne!(krate.run(&[]), digest, "the new config was compiled");

    krate.write("deploy/new.yaml", "namespace: added\n");
    let stderr = krate.build_ok(&[]);
    assert!(
        ran_build_script(&stderr, name),
        "a new config must rerun it:\n{stderr}"
    );
    assert!(
        krate.run(&[]).contains("new sha256:"),
        "the new file is compiled"
    );
}

/// For generated valid models: what the codegen emits evaluates back to the same model. One crate
/// holds every model, so cargo runs once.
#[test]
fn generated_code_evaluates_back_to_the_model() {
    const CASES: usize = 32;
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let strategy = gatehouse_model::arbitrary::valid_deployment();
    let models: Vec<gatehouse_model::Deployment> = (0..CASES)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let configs: Vec<(String, String)> = models
        .iter()
        .enumerate()
        .map(|(i, model)| {
            (
                format!("m{i:02}.yaml"),
                gatehouse_render::yaml::to_yaml(model),
            )
        })
        .collect();
    let configs: Vec<(&str, &str)> = configs
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    let main = r#"
mod deployments {
    include!(concat!(env!("OUT_DIR"), "/gatehouse.rs"));
}

fn main() {
    for compiled in deployments::ALL {
        println!("{}\n{:#?}", compiled.name, (compiled.deployment)().deployment());
    }
}
"#;
    let krate = TempCrate::new("gatehouse-build-test-models", &configs, main);
    krate.build_ok(&[]);
    let printed = krate.run(&[]);
    let expected: String = models
        .iter()
        .enumerate()
        .map(|(i, model)| format!("m{i:02}\n{model:#?}\n"))
        .collect();
    assert_eq!(printed, expected);
}
