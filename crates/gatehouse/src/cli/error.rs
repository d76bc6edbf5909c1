//! What can go wrong on the command line: typed errors keeping their source chain, printed once
//! by miette with the fix as help.

use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};

use super::shown::Shown;

/// A `map_err` for an I/O failure: what was done (`read`, `write`, ...) on which path (`-`: a
/// standard stream).
pub(crate) fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.to_path_buf();
    move |source| CliError::Io {
        action,
        path,
        source,
    }
}

/// Reads a text file.
pub(crate) fn read_file(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(io("read", path))
}

/// An error of a `gatehouse` command.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum CliError {
    /// The config file has problems (each located in the file where it is written).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigProblems),

    /// A file or stream could not be read or written.
    #[error("cannot {action} {}", path.display())]
    #[diagnostic(help("check that the path exists and is accessible"))]
    Io {
        /// What was done (`read`, `write`, `create directory`).
        action: &'static str,
        /// The path (`-` for stdin/stdout).
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },

    /// `--out`/`--gitops` points at a directory with files gatehouse did not write.
    #[error("{} is not empty and was not written by gatehouse", dir.display())]
    #[diagnostic(help(
        "choose a new or empty directory, or one an earlier `gatehouse render --out` wrote (it holds {marker}); gatehouse never deletes files it did not write"
    ))]
    ForeignDirectory {
        /// The directory.
        dir: PathBuf,
        /// The marker file gatehouse writes into its directories.
        marker: &'static str,
    },

    /// Talking to the cluster failed.
    #[cfg(feature = "cli")]
    #[error(transparent)]
    #[diagnostic(help("{}", apply_help(.0)))]
    Apply(#[from] gatehouse_apply::ApplyError),

    /// The async runtime could not start.
    #[cfg(feature = "cli")]
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),

    /// `destroy` was not confirmed.
    #[error("aborted: nothing was deleted")]
    #[diagnostic(help("type `yes` at the prompt, or pass --yes"))]
    Aborted,

    /// `fleet deploy` stopped: a cluster failed or is not healthy (the report on stdout says what
    /// was done on each cluster).
    #[cfg(feature = "cli")]
    #[error("fleet deploy stopped: {0}")]
    #[diagnostic(help(
        "the report above says what was done on each cluster; fix the cluster(s) named (`gatehouse status -f <its deployment> --context <context>` shows the state), then run `gatehouse fleet deploy --wave <n>` again: a deploy of an unchanged cluster writes nothing"
    ))]
    FleetStopped(String),

    /// `fleet deploy --wave N` names a wave the fleet does not have.
    #[error("the fleet has waves 1 to {last}; there is no wave {wave}")]
    #[diagnostic(help(
        "pick a wave from 1 to {last}, or leave --wave out to deploy every wave in order"
    ))]
    NoSuchWave {
        /// The wave asked for.
        wave: u32,
        /// The fleet's last wave.
        last: u32,
    },

    /// `chart-check` found problems or could not run.
    #[error("{0}")]
    #[diagnostic(help("{1}"))]
    ChartCheck(String, String),

    /// Rendering the chart for `chart-check --chart` failed.
    #[error("cannot render the chart")]
    ChartRender(#[source] gatehouse_chart::RenderError),
}

/// A model's problems, outside any config file (a deployment built in Rust): each with its field
/// and fix, as `validate` prints them.
impl From<gatehouse_model::ValidationError> for CliError {
    fn from(error: gatehouse_model::ValidationError) -> Self {
        let errors = error.errors().count();
        let problems: Vec<ProblemDiagnostic> = error
            .problems
            .into_iter()
            .map(|p| ProblemDiagnostic {
                path: p.path,
                message: p.message,
                fix: Some(p.fix),
                severity: match p.severity {
                    gatehouse_model::Severity::Error => miette::Severity::Error,
                    _ => miette::Severity::Warning,
                },
                code: None,
                span: None,
            })
            .collect();
        let shown = problems.len().min(super::config::MAX_PROBLEMS_SHOWN);
        CliError::Config(ConfigProblems {
            origin: "the deployment".into(),
            errors,
            warnings: problems.len() - errors,
            not_shown: problems.len() - shown,
            problems: problems.into_iter().take(shown).collect(),
        })
    }
}

#[cfg(feature = "cli")]
fn apply_help(e: &gatehouse_apply::ApplyError) -> &'static str {
    use gatehouse_apply::ApplyError;
    match e {
        ApplyError::Stopped { .. } => {
            "fix the cause and run deploy again: it skips what is already as rendered"
        }
        _ if e.to_string().contains("kubeconfig") => {
            "pass --kubeconfig FILE or --context NAME, or set KUBECONFIG"
        }
        _ => "fix the cause and run the command again",
    }
}

/// Every problem of a config file (one diagnostic per problem, related to a summary).
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{origin}: {errors} error(s), {warnings} warning(s){}", not_shown_note(*.not_shown))]
#[diagnostic(help("fix the fields named below; `gatehouse schema` prints every field"))]
pub struct ConfigProblems {
    /// The file name (`-` for stdin, `built-in example`).
    pub origin: String,
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
    /// Problems beyond the ones shown.
    pub not_shown: usize,
    /// Each problem shown.
    #[related]
    pub problems: Vec<ProblemDiagnostic>,
}

fn not_shown_note(not_shown: usize) -> String {
    if not_shown == 0 {
        String::new()
    } else {
        format!(
            "; the first {} are shown below, {not_shown} more after fixing them",
            super::config::MAX_PROBLEMS_SHOWN
        )
    }
}

/// One problem at its place in the config file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ProblemDiagnostic {
    /// Field path.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The fix.
    pub fix: Option<String>,
    /// Error or warning.
    pub severity: miette::Severity,
    /// The config file, when the problem is located in it.
    pub code: Option<NamedSource<Shown>>,
    /// Where the field is written.
    pub span: Option<SourceSpan>,
}

impl Diagnostic for ProblemDiagnostic {
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.fix
            .as_ref()
            .map(|f| Box::new(f) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.code.as_ref().map(|c| c as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.span?;
        Some(Box::new(std::iter::once(
            miette::LabeledSpan::new_with_span(Some(self.path.clone()), span),
        )))
    }
}
