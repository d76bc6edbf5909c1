//! `gatehouse chart-check`: checks a values file against the chart contract and, with
//! `--chart DIR`, renders that chart offline and checks what it rendered.

use std::io::Write;
use std::path::{Path, PathBuf};

use gatehouse_chart::contract::{self, CLOUD_TOKEN_ENV, LICENSE_KEY_ENV};
use gatehouse_chart::rendered::{self, ChartLayout, Expected, Renderer};
use gatehouse_chart::{Severity, ValuesPaths};
use serde_json::Value;

use super::Globals;
use super::config::{Input, load};
use super::error::{CliError, read_file};

/// Arguments of `chart-check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The values file to check (written by `render` or by hand).
    #[arg(long, required_unless_present = "schema")]
    values: Option<PathBuf>,
    /// Print the JSON schema of a hand-written values file for this chart version (e.g. 4.12):
    /// every key that version's values.yaml declares, with its type; nothing is checked.
    #[arg(long, value_name = "CHART_VERSION", conflicts_with_all = ["values", "chart", "config"])]
    schema: Option<String>,
    /// A graviteeio/apim chart directory: also render it (helm or helm-python-sdk) and check the
    /// rendered gravitee.yml and Deployment; its values.yaml then tells which keys exist.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Layout of the rendered gravitee.yml (4.12 nests ratelimit under repositories); read from
    /// the chart's Chart.yaml when absent.
    #[arg(long = "chart-version")]
    chart_version: Option<String>,
    /// The gatehouse config the values belong to (with --chart): the rendered Sentinel
    /// master/nodes must then be its Sentinel pods behind its Sentinel Service, and every secret
    /// env it needs must come from a Secret. Without it, the values' own Sentinel settings are
    /// expected in the rendered gravitee.yml.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Release name for rendering.
    #[arg(long, default_value = "gravitee-apim")]
    release: String,
    /// Namespace for rendering.
    #[arg(long, default_value = "gravitee-apim")]
    namespace: String,
}

/// Runs the check; an error when the values or the rendered chart have an error-level finding.
pub fn run(args: Args, globals: &Globals) -> Result<std::process::ExitCode, CliError> {
    if let Some(version) = &args.schema {
        let chart = gatehouse_chart::supported_chart(version).ok_or_else(|| {
            CliError::ChartCheck(
                format!("--schema {version} is not a supported chart version"),
                format!("use one of {}", gatehouse_chart_contract_lines()),
            )
        })?;
        let schema = gatehouse_chart::schema::values_schema(chart);
        let text = serde_json::to_string_pretty(&schema).expect("a JSON value serializes");
        // A reader that stops early (`| head`) is not an error of ours.
        let _ = writeln!(std::io::stdout().lock(), "{text}");
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let values_file = args
        .values
        .clone()
        .expect("clap requires --values without --schema");
    let text = read_file(&values_file)?;
    let values: Value = serde_saphyr::from_str(&text).map_err(|e| {
        // The parser's message can quote the offending line, which may hold a secret: keep only
        // the position.
        let message = e.to_string();
        let position = message
            .find("line ")
            .map(|at| {
                message[at..]
                    .chars()
                    .take_while(|c| *c != ',' && *c != ')' && *c != '\n')
                    .collect::<String>()
            })
            .unwrap_or_default();
        CliError::ChartCheck(
            format!("cannot parse {} as YAML {position}", values_file.display()),
            "fix the YAML syntax there (the parser's message is not shown because it may quote a secret)".into(),
        )
    })?;
    let chart_paths = args.chart.as_ref().map(|dir| {
        let file = dir.join("values.yaml");
        ValuesPaths::from_values_yaml(&read_file(&file)?).map_err(|e| {
            CliError::ChartCheck(
                format!("{}: {e}", file.display()),
                "point --chart at an unpacked graviteeio/apim chart".into(),
            )
        })
    });
    let chart_paths = chart_paths.transpose()?;
    let report = contract::check_with_chart(&values, chart_paths.as_ref());
    for finding in &report.findings {
        let level = match finding.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        eprintln!("{level}: {finding}");
    }
    let mut errors = report.errors().count();
    let warnings = report.warnings().count();
    if let Some(dir) = &args.chart {
        errors += check_rendered(&args, dir, &values, globals)?;
    }
    eprintln!(
        "chart-check {}: {errors} error(s), {warnings} warning(s)",
        values_file.display()
    );
    if errors > 0 {
        return Err(CliError::ChartCheck(
            format!("{} does not meet the chart contract", values_file.display()),
            "fix the findings listed above; each says what the chart reads instead".into(),
        ));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn check_rendered(
    args: &Args,
    dir: &Path,
    values: &Value,
    globals: &Globals,
) -> Result<usize, CliError> {
    let layout = match &args.chart_version {
        Some(v) => ChartLayout::of_version(v).ok_or_else(|| {
            CliError::ChartCheck(
                format!("--chart-version {v} is not a supported chart version"),
                format!("use one of {}", gatehouse_chart_contract_lines()),
            )
        })?,
        None => chart_layout(dir)?,
    };
    let renderer =
        Renderer::detect().ok_or(CliError::ChartRender(rendered::RenderError::NoRenderer))?;
    let objects = renderer
        .render(
            dir,
            args.values.as_deref().expect("checked with --values"),
            values,
            &args.release,
            &args.namespace,
        )
        .map_err(CliError::ChartRender)?;
    let (expected, required): (Option<Expected>, Vec<&str>) = match &args.config {
        Some(config) => {
            let input = Input {
                config: Some(config.clone()),
            };
            let valid = load(&input, globals)?;
            let d = valid.deployment();
            let names = gatehouse_render::Names::of(d);
            let expected = Expected {
                master: d.redis.master_name.clone(),
                nodes: (0..names.sentinel_pods)
                    .map(|i| (names.sentinel_pod_host(i), names.sentinel_port))
                    .collect(),
            };
            // A validated model's gateway version is a supported chart line.
            let config_layout = ChartLayout::of_version(&d.gateway.version).unwrap_or(layout);
            let mut required = vec![config_layout.redis_password_env(), CLOUD_TOKEN_ENV];
            if d.redis.sentinel.auth {
                required.push(config_layout.sentinel_password_env());
            }
            if d.gateway.license_key.is_some() {
                required.push(LICENSE_KEY_ENV);
            }
            (Some(expected), required)
        }
        None => (Expected::from_values(values), Vec::new()),
    };
    let findings = rendered::check_manifests(&objects, layout, expected.as_ref(), &required);
    for finding in &findings {
        eprintln!("error: rendered chart: {finding}");
    }
    eprintln!(
        "rendered {} object(s) from {} ({:?} layout)",
        objects.len(),
        dir.display(),
        layout
    );
    Ok(findings.len())
}

fn chart_layout(dir: &Path) -> Result<ChartLayout, CliError> {
    let file = dir.join("Chart.yaml");
    let chart: Value = serde_saphyr::from_str(&read_file(&file)?).map_err(|_| {
        CliError::ChartCheck(
            format!("{} is not valid YAML", file.display()),
            "point --chart at an unpacked graviteeio/apim chart".into(),
        )
    })?;
    let version = chart
        .get("version")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            CliError::ChartCheck(
                format!("{} has no version", file.display()),
                "pass --chart-version, e.g. 4.9".into(),
            )
        })?;
    ChartLayout::of_version(version).ok_or_else(|| {
        CliError::ChartCheck(
            format!(
                "{}: chart version `{version}` is not a supported chart version",
                file.display()
            ),
            format!("use a chart of {}", gatehouse_chart_contract_lines()),
        )
    })
}

/// The supported chart lines, `4.9, 4.10, 4.11, 4.12`.
fn gatehouse_chart_contract_lines() -> String {
    gatehouse_chart::SUPPORTED
        .iter()
        .map(|c| c.line)
        .collect::<Vec<_>>()
        .join(", ")
}
