//! Build-script codegen for gatehouse: deployment config files validated and rendered when the
//! crate is built, carried by the program as typed Rust.
//!
//! A broken config fails `cargo build` with each problem located in the file (`file:line:col`,
//! field path, fix); warnings become cargo warnings. The generated module gives, for each config
//! file `deploy/<name>.yaml`, a function `<name>()` returning the validated
//! [`ValidDeployment`](gatehouse_model::ValidDeployment), a module `<name>` with the rendered
//! manifests, Helm values and their digest as `&'static str`, and `ALL`, every deployment.
//!
//! ```no_run
//! // the `main` of build.rs
//! gatehouse_build::Builder::new()
//!     .deployments_in("deploy") // every *.yaml / *.yml under deploy/
//!     .compile() // validates, renders, writes OUT_DIR/gatehouse.rs
//!     .unwrap_or_else(|e| e.exit()); // each problem as a cargo diagnostic, exit 1
//! ```
//!
//! ```text
//! // src/main.rs
//! mod deployments {
//!     include!(concat!(env!("OUT_DIR"), "/gatehouse.rs"));
//! }
//! let prod = deployments::prod(); // a ValidDeployment
//! print!("{}", deployments::prod::MANIFESTS);
//! ```
//!
//! The build reads only the config files (never an environment variable: secrets stay sources
//! such as `{from: env, variable: ...}`), writes only into the output directory, and tells cargo
//! to rerun it only when a config file or a config directory changes. Same inputs, same bytes.

mod codegen;
mod error;
mod names;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gatehouse_model::{ConfigError, Delivery, FleetConfigError, Severity};
use sha2::{Digest, Sha256};

pub use error::{Diagnostic, Error};

/// Where config files come from.
#[derive(Debug, Clone)]
enum Input {
    /// Every `*.yaml` / `*.yml` under a directory (recursively; hidden entries skipped).
    Dir(PathBuf, Kind),
    /// One file.
    File(PathBuf, Kind),
}

/// What a config file holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// One deployment.
    Deployment,
    /// A fleet, validated for this delivery; each cluster becomes a deployment.
    Fleet(Delivery),
}

/// Configures and runs the codegen; see the crate documentation.
#[derive(Debug, Clone)]
pub struct Builder {
    inputs: Vec<Input>,
    out_dir: Option<PathBuf>,
    cargo_directives: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// What one [`Builder::compile`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The generated module, to `include!`.
    pub module: PathBuf,
    /// Each compiled deployment, in file order.
    pub deployments: Vec<CompiledDeployment>,
    /// Warnings of the (valid) config files; printed as cargo warnings.
    pub warnings: Vec<Diagnostic>,
    /// The files and directories cargo watches (`rerun-if-changed`).
    pub watched: Vec<PathBuf>,
}

/// One compiled config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledDeployment {
    /// Its Rust name (function and module in the generated code).
    pub name: String,
    /// The config file.
    pub source: PathBuf,
    /// `sha256:<hex>` of its rendered output.
    pub digest: String,
}

impl Builder {
    /// A builder with no config files, writing to cargo's `OUT_DIR` and printing cargo directives.
    pub fn new() -> Self {
        Builder {
            inputs: Vec::new(),
            out_dir: None,
            cargo_directives: true,
        }
    }

    /// Compiles every `*.yaml` and `*.yml` file under `dir` (subdirectories too; names starting
    /// with `.` are skipped). The Rust name is the path below `dir` without the extension, in
    /// snake_case (`eu/prod-1.yaml` → `eu_prod_1`).
    pub fn deployments_in(mut self, dir: impl Into<PathBuf>) -> Self {
        self.inputs.push(Input::Dir(dir.into(), Kind::Deployment));
        self
    }

    /// Compiles one config file; its Rust name is its file name without the extension.
    pub fn deployment(mut self, file: impl Into<PathBuf>) -> Self {
        self.inputs.push(Input::File(file.into(), Kind::Deployment));
        self
    }

    /// Compiles every fleet file (`*.yaml`, `*.yml`) under `dir`, each validated for `delivery`:
    /// every cluster becomes a deployment named `<fleet>_<cluster>` (`eu.yaml`, cluster `prod-1`
    /// → `eu_prod_1`), with its overrides merged over the base.
    pub fn fleets_in(mut self, dir: impl Into<PathBuf>, delivery: Delivery) -> Self {
        self.inputs
            .push(Input::Dir(dir.into(), Kind::Fleet(delivery)));
        self
    }

    /// Compiles one fleet file, validated for `delivery` (see [`Builder::fleets_in`]).
    pub fn fleet(mut self, file: impl Into<PathBuf>, delivery: Delivery) -> Self {
        self.inputs
            .push(Input::File(file.into(), Kind::Fleet(delivery)));
        self
    }

    /// Writes into `dir` instead of cargo's `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Whether [`compile`](Self::compile) prints `cargo::rerun-if-changed` and `cargo::warning`
    /// directives (default: yes, as a build script needs).
    pub fn emit_cargo_directives(mut self, emit: bool) -> Self {
        self.cargo_directives = emit;
        self
    }

    /// Validates and renders every config file and writes `gatehouse.rs` (plus the files it
    /// includes under `gatehouse/`) into the output directory. Nothing is written when any file has
    /// an error; every problem of every file is reported at once.
    pub fn compile(self) -> Result<Compiled, Error> {
        let out_dir = match self.out_dir.clone() {
            Some(dir) => dir,
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(Error::NoOutDir)?,
        };
        let (configs, watched) = self.collect()?;
        if self.cargo_directives {
            for path in &watched {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }

        let mut diagnostics = Vec::new();
        let mut units = Vec::new();
        let mut deployments = Vec::new();
        let mut named: BTreeMap<String, String> = BTreeMap::new();
        for config in &configs {
            let origin = config.path.display().to_string();
            let text = std::fs::read_to_string(&config.path).map_err(|source| Error::Read {
                path: config.path.clone(),
                source,
            })?;
            // Each deployment of the file: its path below the input (for the Rust name) and model.
            let valid: Vec<(String, gatehouse_model::ValidDeployment)> = match config.kind {
                Kind::Deployment => match gatehouse_model::load_yaml_str(&text, &origin) {
                    Ok(valid) => {
                        diagnostics.extend(
                            valid
                                .warnings()
                                .iter()
                                .map(|problem| located(&origin, &text, problem.clone())),
                        );
                        vec![(config.stem.clone(), valid)]
                    }
                    Err(ConfigError::Invalid { error, .. }) => {
                        diagnostics.extend(
                            error
                                .problems
                                .into_iter()
                                .map(|problem| located(&origin, &text, problem)),
                        );
                        continue;
                    }
                    Err(error) => {
                        diagnostics.push(syntax(error));
                        continue;
                    }
                },
                Kind::Fleet(delivery) => {
                    match gatehouse_model::load_fleet_yaml_str(&text, &origin, delivery) {
                        Ok(fleet) => {
                            diagnostics.extend(
                                fleet
                                    .warnings()
                                    .iter()
                                    .map(|problem| located(&origin, &text, problem.clone())),
                            );
                            fleet
                                .clusters()
                                .iter()
                                .map(|c| {
                                    (
                                        format!("{}/{}", config.stem, c.cluster.name),
                                        c.deployment.clone(),
                                    )
                                })
                                .collect()
                        }
                        Err(FleetConfigError::Invalid { error, .. }) => {
                            diagnostics.extend(
                                error
                                    .problems
                                    .into_iter()
                                    .map(|problem| located(&origin, &text, problem)),
                            );
                            continue;
                        }
                        Err(FleetConfigError::Syntax(error)) => {
                            diagnostics.push(syntax(error));
                            continue;
                        }
                    }
                }
            };
            for (stem, valid) in valid {
                let Some(name) = names::rust_name(&stem) else {
                    diagnostics.push(file_problem(
                        &origin,
                        "the file name gives no Rust name",
                        "rename the file to contain a letter or digit (e.g. prod.yaml)",
                    ));
                    continue;
                };
                if let Some(first) = named.get(&name) {
                    diagnostics.push(file_problem(
                        &origin,
                        format!("{first} and {origin} both become the Rust name `{name}`"),
                        "rename one of the two files (or clusters)",
                    ));
                    continue;
                }
                named.insert(name.clone(), origin.clone());
                let unit = render(&name, &origin, &valid);
                deployments.push(CompiledDeployment {
                    name,
                    source: config.path.clone(),
                    digest: unit.digest.clone(),
                });
                units.push(unit);
            }
        }
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(Error::Invalid { diagnostics });
        }

        write_files(&out_dir, &codegen::generate(&units))?;
        if self.cargo_directives {
            for warning in &diagnostics {
                println!("{}", warning.cargo_directive());
            }
        }
        Ok(Compiled {
            module: out_dir.join("gatehouse.rs"),
            deployments,
            warnings: diagnostics,
            watched,
        })
    }

    /// Every config file (sorted per input) and the paths to watch, or the first read error.
    fn collect(&self) -> Result<(Vec<Config>, Vec<PathBuf>), Error> {
        let mut configs = Vec::new();
        let mut watched = Vec::new();
        for input in &self.inputs {
            match input {
                Input::File(path, kind) => {
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    configs.push(Config {
                        path: path.clone(),
                        stem,
                        kind: *kind,
                    });
                    watched.push(path.clone());
                }
                Input::Dir(dir, kind) => {
                    watched.push(dir.clone());
                    let entries = walkdir::WalkDir::new(dir)
                        .min_depth(1)
                        .sort_by_file_name()
                        .into_iter()
                        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'));
                    for entry in entries {
                        let entry = entry.map_err(|e| Error::Read {
                            path: e.path().unwrap_or(dir).to_path_buf(),
                            source: e.into(),
                        })?;
                        let path = entry.path();
                        let ext = path.extension().and_then(|e| e.to_str());
                        if entry.file_type().is_dir() || !matches!(ext, Some("yaml" | "yml")) {
                            continue;
                        }
                        let relative = path.strip_prefix(dir).unwrap_or(path).with_extension("");
                        let stem = relative
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/");
                        watched.push(path.to_path_buf());
                        configs.push(Config {
                            path: path.to_path_buf(),
                            stem,
                            kind: *kind,
                        });
                    }
                }
            }
        }
        Ok((configs, watched))
    }
}

/// A config file and its path below its input directory, without the extension.
struct Config {
    path: PathBuf,
    stem: String,
    kind: Kind,
}

/// A file that does not map onto its model, as one located diagnostic.
fn syntax(error: ConfigError) -> Diagnostic {
    match error {
        ConfigError::Syntax {
            origin,
            line,
            column,
            path,
            message,
        } => Diagnostic {
            severity: Severity::Error,
            file: origin,
            position: (line > 0).then_some((line as usize, column as usize)),
            path: Some(path),
            message,
            fix: "see schema/gatehouse.schema.json (a fleet: schema/gatehouse-fleet.schema.json) of gatehouse for every field and its type".into(),
        },
        ConfigError::Invalid { origin, error, .. } => Diagnostic {
            severity: Severity::Error,
            file: origin,
            position: None,
            path: None,
            message: error.to_string(),
            fix: "fix the problems listed".into(),
        },
    }
}

fn file_problem(file: &str, message: impl Into<String>, fix: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        file: file.to_string(),
        position: None,
        path: None,
        message: message.into(),
        fix: fix.into(),
    }
}

fn located(file: &str, text: &str, problem: gatehouse_model::Problem) -> Diagnostic {
    Diagnostic {
        severity: problem.severity,
        file: file.to_string(),
        position: gatehouse_model::place_in_file(text, &problem.path)
            .map(|(line, column)| (line as usize, column as usize)),
        path: Some(problem.path),
        message: problem.message,
        fix: problem.fix,
    }
}

fn render(name: &str, origin: &str, valid: &gatehouse_model::ValidDeployment) -> codegen::Unit {
    let rendered = gatehouse_render::render(valid);
    let text = rendered.to_text(gatehouse_render::Format::Yaml);
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    let mut model_json =
        serde_json::to_string_pretty(valid.deployment()).expect("the model serializes to JSON");
    model_json.push('\n');
    codegen::Unit {
        ident: name.to_string(),
        source: origin.to_string(),
        model_json,
        manifests: rendered.manifests_yaml(),
        helm_values: rendered.helm.values_yaml(),
        rendered: text,
        digest: format!("sha256:{digest}"),
    }
}

/// Writes the generated files, replacing what an earlier run left in `gatehouse/` (a removed config
/// leaves nothing behind) and leaving files whose contents did not change untouched.
fn write_files(out_dir: &Path, files: &BTreeMap<String, String>) -> Result<(), Error> {
    let write_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    let data_dir = out_dir.join(codegen::DATA_DIR);
    if data_dir.is_dir() {
        for entry in std::fs::read_dir(&data_dir).map_err(write_error(&data_dir))? {
            let entry = entry.map_err(write_error(&data_dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let kept = files
                .keys()
                .any(|f| f.starts_with(&format!("{}/{name}/", codegen::DATA_DIR)));
            if !kept {
                let path = entry.path();
                std::fs::remove_dir_all(&path).map_err(write_error(&path))?;
            }
        }
    }
    for (relative, contents) in files {
        let path = out_dir.join(relative);
        if std::fs::read(&path).is_ok_and(|old| old == contents.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_error(parent))?;
        }
        std::fs::write(&path, contents).map_err(write_error(&path))?;
    }
    Ok(())
}
