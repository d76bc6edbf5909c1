//! `diff`, `deploy`, `destroy`, `status`: the commands that talk to a cluster.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use gatehouse_apply::{Cluster, ConnectOptions, DeployOptions, ReleaseMode};
use gatehouse_render::Rendered;

use super::config::{Input, load};
use super::error::{CliError, io};
use super::{Globals, Output, progress, stream_color};

/// Which config and how the gateway is released.
#[derive(Args, Debug, Clone)]
pub struct Target {
    #[command(flatten)]
    input: Input,
    /// Release the gateway with Flux (HelmRepository + HelmRelease) instead of the Helm CLI.
    #[arg(long, conflicts_with = "helm")]
    flux: bool,
    /// Release the gateway with `helm upgrade --install` (the default).
    #[arg(long)]
    helm: bool,
    /// Skip the gateway release (Redis and Sentinel objects only).
    #[arg(long)]
    skip_release: bool,
    /// Wait at most this long for workloads and the release (`90s`, `5m`, `1m 30s`).
    #[arg(long, default_value = "5m", value_parser = parse_timeout)]
    timeout: Duration,
}

/// `--timeout`: a positive duration in humantime's syntax.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("the timeout must be positive, e.g. 90s or 5m".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e}; write a duration such as 90s, 5m or 1m 30s")),
    }
}

/// `--dry-run=server`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DryRun {
    /// Send everything with `dryRun=All`: the server validates, nothing changes.
    Server,
}

/// Arguments of `deploy`.
#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    target: Target,
    /// `--dry-run=server`: validate every object on the server, change nothing.
    #[arg(long = "dry-run", value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "server")]
    dry_run: Option<DryRun>,
    /// Delete objects gatehouse applied before that are no longer rendered (ApplySet members).
    #[arg(long)]
    prune: bool,
    /// Take over fields owned by other field managers (server-side apply force); implies --adopt.
    #[arg(long)]
    force: bool,
    /// Apply over objects that exist but belong to another deployment (ApplySet) or to none;
    /// without it, deploy refuses them before the first write.
    #[arg(long)]
    adopt: bool,
    /// Start rotating a generated password: a fresh value (never printed) is added beside the
    /// current one (step 1 of 3). USER is a Redis user (`default`, `gatehouse-replication`,
    /// `gatehouse-sentinel`, `gatehouse-sentinel-peer`, `gatehouse-operator`,
    /// `gatehouse-exporter`) or `all` (every generated one); repeatable. Run `deploy` twice more,
    /// without it, for steps 2 and 3.
    #[arg(long, value_name = "USER|all")]
    rotate: Vec<String>,
}

/// Arguments of `diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    target: Target,
    /// Print the differences as data instead of a unified diff.
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<Output>,
    /// Preview `deploy --force`: take over fields other field managers own, and objects that
    /// belong to another deployment or to none.
    #[arg(long)]
    force: bool,
    /// Preview `deploy --adopt`: objects that belong to another deployment or to none are shown
    /// as taken over.
    #[arg(long)]
    adopt: bool,
}

/// Arguments of `destroy`.
#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    target: Target,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
}

/// Arguments of `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    target: Target,
}

impl Target {
    fn options(&self) -> DeployOptions {
        DeployOptions {
            timeout: self.timeout,
            release: if self.flux {
                ReleaseMode::Flux
            } else {
                ReleaseMode::Helm
            },
            skip_release: self.skip_release,
            events: progress::terminal_sink(std::io::stderr().is_terminal()),
            ..Default::default()
        }
    }

    fn rendered(&self, globals: &Globals) -> Result<Rendered, CliError> {
        Ok(gatehouse_render::render(&load(&self.input, globals)?))
    }
}

/// Connects to the cluster the global options name and runs `work` with it, on a new runtime.
fn with_cluster<T>(
    globals: &Globals,
    work: impl AsyncFnOnce(Cluster) -> Result<T, gatehouse_apply::ApplyError>,
) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async {
        let options = ConnectOptions {
            kubeconfig: globals.kubeconfig.clone(),
            context: globals.context.clone(),
        };
        Ok(work(Cluster::connect(&options).await?).await?)
    })
}

/// Every `from: env` secret source has its variable set: checked before the cluster is contacted,
/// so that local mistakes are reported first. Values are read only to check them.
pub(crate) fn check_env_secrets(rendered: &Rendered) -> Result<(), CliError> {
    gatehouse_apply::secrets::plan_secrets(
        &rendered.secrets,
        &|variable| std::env::var(variable).ok(),
        &mut gatehouse_apply::secrets::Masker::default(),
    )?;
    Ok(())
}

/// `deploy`.
pub fn deploy(args: DeployArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let rendered = args.target.rendered(globals)?;
    let mut options = args.target.options();
    options.dry_run = args.dry_run.is_some();
    options.prune = args.prune;
    options.force = args.force;
    options.adopt = args.adopt;
    options.rotate = args.rotate;
    check_env_secrets(&rendered)?;
    gatehouse_apply::secrets::rotation_targets(&rendered.secrets, &options.rotate)?;
    let report = with_cluster(globals, async |c| c.deploy(&rendered, &options).await)?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}

/// `diff`: exit 0 without differences, 1 with (errors: 2, in `main`), like `kubectl diff`.
pub fn diff(args: DiffArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let rendered = args.target.rendered(globals)?;
    let mut options = args.target.options();
    options.events = None;
    options.force = args.force;
    options.adopt = args.adopt;
    let report = with_cluster(globals, async |c| c.diff(&rendered, &options).await)?;
    match args.output {
        None => print!(
            "{}",
            report.render(stream_color(std::io::stdout().is_terminal()))
        ),
        Some(format) => {
            let data = serde_json::json!({
                "changes": report.has_changes(),
                "objects": report.diffs.iter().map(|d| serde_json::json!({
                    "object": d.object, "live": d.before, "merged": d.after,
                })).collect::<Vec<_>>(),
                "prunable": report.prunable,
                "secretsNotCompared": report.unverified.iter().map(|u| serde_json::json!({
                    "object": u.object, "variable": u.variable, "exists": u.exists,
                })).collect::<Vec<_>>(),
                "foreign": report.foreign.iter().map(|f| serde_json::json!({
                    "object": f.object, "owner": f.to_string(), "takenOver": report.adopt,
                })).collect::<Vec<_>>(),
                "notes": report.notes,
            });
            print!("{}", format.data(&data));
        }
    }
    Ok(ExitCode::from(u8::from(report.has_changes())))
}

/// `destroy`: asks for confirmation unless `--yes`.
pub fn destroy(args: DestroyArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let rendered = args.target.rendered(globals)?;
    if !args.yes {
        eprint!(
            "Delete the gateway release and every gatehouse object in namespace {}? Type `yes`: ",
            rendered.helm.namespace
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(io("read the confirmation from", Path::new("-")))?;
        if answer.trim() != "yes" {
            return Err(CliError::Aborted);
        }
    }
    let options = args.target.options();
    let removed = with_cluster(globals, async |c| c.destroy(&rendered, &options).await)?;
    if options.events.is_none() {
        for line in &removed {
            println!("{line} deleted");
        }
    }
    println!(
        "kept: namespace {} and the Redis PersistentVolumeClaims (data); delete them with `kubectl delete namespace {}`",
        rendered.helm.namespace, rendered.helm.namespace
    );
    Ok(ExitCode::SUCCESS)
}

/// `status`: exit 0 when healthy (every workload ready, the Sentinels agree on a master, no
/// drift), 1 when not.
pub fn status(args: StatusArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let rendered = args.target.rendered(globals)?;
    let mut options = args.target.options();
    options.events = None;
    let status = with_cluster(globals, async |c| c.status(&rendered, &options).await)?;
    print!("{status}");
    Ok(ExitCode::from(u8::from(!status.healthy())))
}

#[cfg(test)]
mod tests {
    use super::parse_timeout;
    use std::time::Duration;

    #[test]
    fn timeouts_in_human_units() {
        assert_eq!(parse_timeout("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_timeout("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_timeout("5x").unwrap_err().contains("such as 90s"));
        assert!(parse_timeout("0s").unwrap_err().contains("positive"));
        assert!(parse_timeout("").is_err());
    }
}
