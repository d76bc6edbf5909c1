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

/// The most problems one report shows (`-o json` says how many more there are).
pub const MAX_PROBLEMS_SHOWN: usize = 20;

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
            Err(error) => return self.unreadable(error),
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
        let from_flag = |p: &Problem| p.path == "namespace" && globals.namespace.is_some();
        let places = self.places(&problems);
        let problems = problems
            .iter()
            .zip(places)
            .map(|(p, place)| self.locate(p, (!from_flag(p)).then_some(place).flatten(), globals))
            .collect();
        Checked {
            valid,
            problems,
            source: self,
        }
    }

    /// Where each problem's field is written in the text, from one reading of the file (none for
    /// the built-in example).
    fn places(&self, problems: &[Problem]) -> Vec<Option<(u64, u64)>> {
        match &self.text {
            Some(text) => {
                gatehouse_model::places_in_file(text, problems.iter().map(|p| p.path.as_str()))
            }
            None => vec![None; problems.len()],
        }
    }

    /// A source given as text (a fleet file, read by its own command).
    pub fn of_text(origin: String, text: String) -> Source {
        Source {
            origin,
            text: Some(text),
        }
    }

    /// The text (none for the built-in example).
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The name of the input.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The outcome for a file that does not map onto its model: the one located syntax problem.
    pub fn unreadable(self, error: ConfigError) -> Checked {
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
                fix: Some("correct the YAML there; `gatehouse schema` prints every field".into()),
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
        Checked {
            valid: None,
            problems: vec![problem],
            source: self,
        }
    }

    /// Problems another check found in this file (a fleet's), each located where it is written.
    pub fn located(self, problems: &[Problem], globals: &Globals) -> Checked {
        let places = self.places(problems);
        let problems = problems
            .iter()
            .zip(places)
            .map(|(p, place)| self.locate(p, place, globals))
            .collect();
        Checked {
            valid: None,
            problems,
            source: self,
        }
    }

    /// A problem with its place in the file (`None`: not written there, or from a flag).
    fn locate(
        &self,
        problem: &Problem,
        place: Option<(u64, u64)>,
        globals: &Globals,
    ) -> LocatedProblem {
        // A namespace from --namespace is not in the file.
        let from_flag = problem.path == "namespace" && globals.namespace.is_some();
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
    /// The problems as one miette diagnostic (source snippet, label at each place, help = fix):
    /// the first [`MAX_PROBLEMS_SHOWN`] (errors first), each snippet cut to a few lines of at most
    /// a few hundred characters, so that the report stays a few kilobytes whatever the input.
    pub fn diagnostics(&self) -> ConfigProblems {
        let shown = self.source.text.as_deref().map(Shown::new);
        let problems = self
            .problems
            .iter()
            .take(MAX_PROBLEMS_SHOWN)
            .map(|p| {
                let shown = match (&shown, p.line, p.column) {
                    (Some(shown), Some(line), Some(column)) => {
                        let shown = shown.around(line, column);
                        shown.span(line, column).map(|span| (shown, span))
                    }
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
                    span: shown.as_ref().map(|(_, span)| *span),
                    code: shown.map(|(t, _)| NamedSource::new(self.source.origin.clone(), t)),
                }
            })
            .collect();
        ConfigProblems {
            origin: self.source.origin.clone(),
            errors: self.errors(),
            warnings: self.problems.len() - self.errors(),
            not_shown: self.problems.len().saturating_sub(MAX_PROBLEMS_SHOWN),
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

    /// Errors as the command's error; warnings printed on stderr (for checks whose valid value is
    /// kept elsewhere, such as a fleet's).
    pub fn warn_or_fail(self) -> Result<(), CliError> {
        if self.errors() > 0 {
            return Err(CliError::Config(self.diagnostics()));
        }
        if !self.problems.is_empty() {
            eprintln!("{:?}", miette::Report::new(self.diagnostics()));
        }
        Ok(())
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
