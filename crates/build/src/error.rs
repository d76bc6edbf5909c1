//! What goes wrong in a build, and how it reaches cargo.

use std::fmt;
use std::path::PathBuf;

pub use gatehouse_model::Severity;

/// One problem of one config file, located where the field is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error (fails the build) or warning (a cargo warning).
    pub severity: Severity,
    /// The config file, as given to the builder (relative to the crate in a build script).
    pub file: String,
    /// 1-based line and column of the field (or of its closest written parent), when it is written.
    pub position: Option<(usize, usize)>,
    /// Field path, e.g. `redis.sentinel.quorum`; `None` for problems of the file as a whole.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        let level = self.severity.as_str();
        write!(f, ": {level}: ")?;
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        write!(f, "{}; {}", self.message, self.fix)
    }
}

impl Diagnostic {
    /// The diagnostic as one cargo build-script directive (`cargo::error=` / `cargo::warning=`).
    pub fn cargo_directive(&self) -> String {
        let directive = self.severity.as_str();
        // A directive is one line; messages are one line already, this only guards it.
        let text = self.to_string().replace(['\n', '\r'], " ");
        format!("cargo::{directive}={text}")
    }
}

/// Why [`crate::Builder::compile`] produced nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No output directory: not run by cargo as a build script, and none given.
    #[error(
        "OUT_DIR is not set: call gatehouse-build from a build script (build.rs), or give the output directory with `.out_dir(...)`"
    )]
    NoOutDir,
    /// A config file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A generated file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// At least one config file has an error (the warnings found are listed too).
    #[error("{} error(s) in the deployment configs:\n{}", self.error_count(), self.lines())]
    Invalid {
        /// Every problem of every config file, errors and warnings, in file order.
        diagnostics: Vec<Diagnostic>,
    },
}

impl Error {
    /// Every problem this error carries (empty for I/O errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Invalid { diagnostics } => diagnostics,
            _ => &[],
        }
    }

    fn error_count(&self) -> usize {
        self.diagnostics()
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    fn lines(&self) -> String {
        self.diagnostics()
            .iter()
            .map(|d| format!("  {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The cargo directives for this error: one per problem, or one `cargo::error=` for I/O errors.
    pub fn cargo_directives(&self) -> Vec<String> {
        match self {
            Error::Invalid { diagnostics } => diagnostics
                .iter()
                .map(Diagnostic::cargo_directive)
                .collect(),
            other => vec![format!(
                "cargo::error={}",
                other.to_string().replace(['\n', '\r'], " ")
            )],
        }
    }

    /// For build scripts: prints each problem as a cargo diagnostic (cargo shows it as an error or
    /// warning of the build) and the whole error on stderr, then exits with status 1.
    pub fn exit(&self) -> ! {
        for directive in self.cargo_directives() {
            println!("{directive}");
        }
        eprintln!("{self}");
        std::process::exit(1)
    }
}
