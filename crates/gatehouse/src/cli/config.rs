//! `-f/--config`: reading a config file (or stdin, or the built-in example), applying
//! `--namespace`, validating, and locating every problem in the file.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use gatehouse_model::{ConfigError, Deployment, Problem, ValidDeployment};
use miette::NamedSource;
use serde::Serialize;

use super::Globals;
use super::error::{CliError, ConfigProblems, ProblemDiagnostic, io, read_file};
use super::shown::Shown;

/// Which deployment: `-f FILE`, `-f -` (stdin), or the built-in example.
#[derive(Args, Debug, Clone, Default)]
pub struct Input {
    /// Config file (YAML); `-` reads stdin; the built-in example when absent.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The built-in example: the guide's deployment, corrected. The one place the CLI names it.
pub fn built_in_example() -> Deployment {
    Deployment::guide_example()
}

/// A problem as `-o json|yaml` prints it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LocatedProblem {
    /// `error` or `warning`.
    pub severity: &'static str,
    /// Field path, e.g. `redis.sentinel.quorum`.
    pub path: String,
    /// 1-based line in the config file, when the field is written there.
    pub line: Option<u64>,
    /// 1-based column.
    pub column: Option<u64>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Option<String>,
}

/// The config text and its name, or none for the built-in example.
pub struct Source {
    origin: String,
    text: Option<String>,
}

impl Input {
    /// Reads the file or stdin.
    pub fn read(&self) -> Result<Source, CliError> {
        match &self.config {
            None => Ok(Source {
                origin: "built-in example".into(),
                text: None,
            }),
            Some(path) if path == Path::new("-") => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(io("read", path))?;
                Ok(Source {
                    origin: "<stdin>".into(),
                    text: Some(text),
                })
            }
            Some(path) => Ok(Source {
                origin: path.display().to_string(),
                text: Some(read_file(path)?),
            }),
        }
    }
}

/// The outcome of checking a config: the valid deployment (with warnings) or every problem.
pub struct Checked {
    /// The deployment, when it has no errors.
    pub valid: Option<ValidDeployment>,
    /// Every problem (errors and warnings), located.
    pub problems: Vec<LocatedProblem>,
    source: Source,
}

impl Source {
    /// Parses and validates, applying `--namespace`.
    pub fn check(self, globals: &Globals) -> Checked {
        let deployment = match &self.text {
            None => Ok(built_in_example()),
            Some(text) => gatehouse_model::from_yaml_str(text, &self.origin),
        };
        let mut deployment = match deployment {
            Ok(d) => d,
            Err(error) => {
                let problem = match error {
                    ConfigError::Syntax {
                        line,
                        column,
                        path,
                        message,
                        ..
                    } => LocatedProblem {
                        severity: "error",
                        path,
                        line: (line > 0).then_some(line),
                        column: (line > 0).then_some(column),
                        message,
                        fix: Some(
                            "correct the YAML there; `gatehouse schema` prints every field".into(),
                        ),
                    },
                    other => LocatedProblem {
                        severity: "error",
                        path: "(document)".into(),
                        line: None,
                        column: None,
                        message: other.to_string(),
                        fix: None,
                    },
                };
                return Checked {
                    valid: None,
                    problems: vec![problem],
                    source: self,
                };
            }
        };
        if let Some(namespace) = &globals.namespace {
            deployment.namespace = namespace.clone();
        }
        let (valid, problems) = match deployment.validated() {
            Ok(valid) => {
                let warnings = valid.warnings().to_vec();
                (Some(valid), warnings)
            }
            Err(error) => (None, error.problems),
        };
        let problems = problems.iter().map(|p| self.locate(p, globals)).collect();
        Checked {
            valid,
            problems,
            source: self,
        }
    }

    fn locate(&self, problem: &Problem, globals: &Globals) -> LocatedProblem {
        // A namespace from --namespace is not in the file.
        let from_flag = problem.path == "namespace" && globals.namespace.is_some();
        let place = match (&self.text, from_flag) {
            (Some(text), false) => gatehouse_model::place_in_file(text, &problem.path),
            _ => None,
        };
        LocatedProblem {
            severity: problem.severity.as_str(),
            path: if from_flag {
                "--namespace".into()
            } else {
                problem.path.clone()
            },
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            message: problem.message.clone(),
            fix: Some(problem.fix.clone()),
        }
    }
}

impl Checked {
    /// The problems as one miette diagnostic (source snippet, label at each place, help = fix).
    pub fn diagnostics(&self) -> ConfigProblems {
        let shown = self.source.text.as_deref().map(Shown::new);
        let problems = self
            .problems
            .iter()
            .map(|p| {
                let shown = shown.clone();
                let span = match (&shown, p.line, p.column) {
                    (Some(shown), Some(line), Some(column)) => shown.span(line, column),
                    _ => None,
                };
                ProblemDiagnostic {
                    path: p.path.clone(),
                    message: p.message.clone(),
                    fix: p.fix.clone(),
                    severity: if p.severity == "error" {
                        miette::Severity::Error
                    } else {
                        miette::Severity::Warning
                    },
                    code: span.and(shown.map(|t| NamedSource::new(self.source.origin.clone(), t))),
                    span,
                }
            })
            .collect();
        ConfigProblems {
            origin: self.source.origin.clone(),
            errors: self.errors(),
            warnings: self.problems.len() - self.errors(),
            problems,
        }
    }

    /// How many problems are errors.
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == "error")
            .count()
    }

    /// The valid deployment, printing its warnings on stderr; or every problem as the error.
    pub fn into_valid(self) -> Result<ValidDeployment, CliError> {
        if self.valid.is_none() {
            return Err(CliError::Config(self.diagnostics()));
        }
        if !self.problems.is_empty() {
            eprintln!("{:?}", miette::Report::new(self.diagnostics()));
        }
        Ok(self.valid.expect("checked above"))
    }
}

/// Loads, validates and returns the deployment for commands that need a valid one.
pub fn load(input: &Input, globals: &Globals) -> Result<ValidDeployment, CliError> {
    input.read()?.check(globals).into_valid()
}
