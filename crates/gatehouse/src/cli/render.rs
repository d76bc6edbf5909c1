//! `render`, `validate`, `schema`: the commands that need no cluster.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use gatehouse_render::Rendered;

use super::config::{Input, LocatedProblem, load};
use super::error::{CliError, io};
use super::{Globals, Output, out_dir};

/// Arguments of `render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    #[command(flatten)]
    input: Input,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value = "yaml")]
    output: Output,
    /// Only the Helm values of the gateway release (what `helm install -f` takes).
    #[arg(long, conflicts_with_all = ["all", "out", "gitops"])]
    values_only: bool,
    /// The objects, then the Helm values (YAML: as a last document; JSON: one document with
    /// `objects`, `secrets`, `helmRelease`).
    #[arg(long, conflicts_with_all = ["out", "gitops"])]
    all: bool,
    /// Write `manifests/*.yaml` and `values.yaml` (`*.json` with `-o json`) into this directory.
    /// It must be new, empty, or written by gatehouse before (its earlier files are replaced).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write the objects plus a Flux HelmRepository/HelmRelease and a kustomization.yaml into
    /// this directory (a GitOps repository; no Secrets). Same directory rules as --out.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    gitops: Option<PathBuf>,
}

/// Arguments of `validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[command(flatten)]
    input: Input,
    /// Print the problems as data (severity, path, line, column, message, fix) instead of text.
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<Output>,
}

pub(crate) fn stdout_write(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(io("write", Path::new("-"))(source)),
    }
}

/// The objects as one JSON document kubectl reads (`kind: List`).
fn objects_json(rendered: &Rendered) -> String {
    Output::Json.data(&serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "items": rendered.objects,
    }))
}

/// The file set of `--out`, in the chosen format.
fn files(rendered: &Rendered, output: Output) -> BTreeMap<String, String> {
    match output {
        Output::Yaml => rendered.files(),
        Output::Json => {
            let mut files: BTreeMap<String, String> = rendered
                .objects
                .iter()
                .map(|o| {
                    let name = o.file_name();
                    let stem = name.strip_suffix(".yaml").unwrap_or(&name);
                    (format!("manifests/{stem}.json"), Output::Json.data(o))
                })
                .collect();
            files.insert(
                "values.json".into(),
                Output::Json.data(&rendered.helm.values),
            );
            files
        }
    }
}

/// `render`.
pub fn render(args: RenderArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let valid = load(&args.input, globals)?;
    let rendered = gatehouse_render::render(&valid);
    if let Some(dir) = &args.gitops {
        let written =
            out_dir::write_files(dir, &gatehouse_render::gitops::gitops_files(&rendered))?;
        eprintln!(
            "wrote {written} files to {} (Secrets are not included: provide {} with your secret tooling)",
            dir.display(),
            rendered
                .secrets
                .iter()
                .map(|s| format!("{}/{}", s.namespace, s.secret.name))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dir) = &args.out {
        let written = out_dir::write_files(dir, &files(&rendered, args.output))?;
        eprintln!("wrote {written} files to {}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let text = match (args.output, args.values_only, args.all) {
        (Output::Yaml, true, _) => rendered.helm.values_yaml(),
        (Output::Json, true, _) => Output::Json.data(&rendered.helm.values),
        (Output::Yaml, _, true) => rendered.to_text(gatehouse_render::Format::Yaml),
        (Output::Json, _, true) => rendered.to_text(gatehouse_render::Format::Json),
        (Output::Yaml, false, false) => rendered.manifests_yaml(),
        (Output::Json, false, false) => objects_json(&rendered),
    };
    stdout_write(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The machine-readable result of `validate -o json|yaml`: the first
/// [`MAX_PROBLEMS_SHOWN`](super::config::MAX_PROBLEMS_SHOWN) problems (errors first) and how many
/// more there are, so that it stays a few kilobytes whatever the input.
#[derive(serde::Serialize)]
struct ValidateReport<'a> {
    valid: bool,
    problems: &'a [LocatedProblem],
    #[serde(rename = "notShown", skip_serializing_if = "is_zero")]
    not_shown: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// `validate`: exit 0 when valid (warnings allowed), 1 with errors.
pub fn validate(args: ValidateArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let checked = args.input.read()?.check(globals);
    let valid = checked.valid.is_some();
    let code = ExitCode::from(u8::from(!valid));
    match args.output {
        Some(format) => {
            let shown = checked
                .problems
                .len()
                .min(super::config::MAX_PROBLEMS_SHOWN);
            let report = ValidateReport {
                valid,
                problems: &checked.problems[..shown],
                not_shown: checked.problems.len() - shown,
            };
            stdout_write(&format.data(&report))?;
            Ok(code)
        }
        None if valid => {
            if !checked.problems.is_empty() {
                eprintln!("{:?}", miette::Report::new(checked.diagnostics()));
            }
            eprintln!("valid ({} warning(s))", checked.problems.len());
            Ok(code)
        }
        None => Err(CliError::Config(checked.diagnostics())),
    }
}

/// `schema`: the JSON schema on stdout, or into a file.
pub fn schema(out: Option<&Path>) -> Result<ExitCode, CliError> {
    let schema = gatehouse_model::json_schema();
    match out {
        None => stdout_write(&schema)?,
        Some(path) if path == Path::new("-") => stdout_write(&schema)?,
        Some(path) => {
            std::fs::write(path, schema).map_err(io("write", path))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
