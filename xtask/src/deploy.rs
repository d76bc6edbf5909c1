//! `cargo xtask deploy | diff | destroy` and `render --gitops`: the CLI over gatehouse-apply.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use gatehouse_apply::{Cluster, ConnectOptions, DeployOptions, ReleaseMode};
use gatehouse_render::Rendered;

/// Which config and which cluster.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Config file (YAML); the built-in example when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// kubeconfig file (default: KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// kubeconfig context (default: its current-context).
    #[arg(long)]
    context: Option<String>,
    /// Release the gateway with Flux (HelmRepository + HelmRelease) instead of the Helm CLI.
    #[arg(long, conflicts_with = "helm")]
    flux: bool,
    /// Release the gateway with `helm upgrade --install` (the default).
    #[arg(long)]
    helm: bool,
    /// Skip the gateway release (Redis and Sentinel objects only).
    #[arg(long)]
    skip_release: bool,
    /// Wait at most this long for workloads and the release (`90s`, `5m`, `1m30s`).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    timeout: Duration,
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
    /// Take over fields owned by other field managers (server-side apply force).
    #[arg(long)]
    force: bool,
}

/// Arguments of `diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(flatten)]
    target: Target,
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

/// Parses `300`, `300s`, `5m`, `1h`, `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total = 0u64;
    let mut number = String::new();
    let mut seen_unit = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let factor = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => {
                return Err(format!(
                    "`{text}`: unknown unit `{c}` (use s, m or h, e.g. 90s, 5m)"
                ));
            }
        };
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}`: a number must precede `{c}`"))?;
        total += n * factor;
        number.clear();
        seen_unit = true;
    }
    if !number.is_empty() {
        total += number
            .parse::<u64>()
            .map_err(|e| format!("`{text}`: {e}"))?;
    } else if !seen_unit {
        return Err("empty duration".into());
    }
    if total == 0 {
        return Err(format!("`{text}`: the timeout must be positive"));
    }
    Ok(Duration::from_secs(total))
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
            ..Default::default()
        }
    }

    fn rendered(&self) -> Result<Rendered, String> {
        let valid = crate::load(self.config.as_deref())?;
        Ok(gatehouse_render::render(&valid))
    }

    async fn connect(&self) -> Result<Cluster, String> {
        Cluster::connect(&ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        })
        .await
        .map_err(|e| e.to_string())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// `deploy`.
pub fn deploy(args: DeployArgs) -> Result<(), String> {
    let rendered = args.target.rendered()?;
    let mut options = args.target.options();
    options.dry_run = args.dry_run.is_some();
    options.prune = args.prune;
    options.force = args.force;
    check_env_secrets(&rendered)?;
    runtime()?.block_on(async {
        let cluster = args.target.connect().await?;
        let report = cluster
            .deploy(&rendered, &options)
            .await
            .map_err(|e| e.to_string())?;
        print!("{report}");
        Ok(())
    })
}

/// Every `from: env` secret source has its variable set: checked before the cluster is contacted,
/// so that local mistakes are reported first. Values are read only to check them; nothing is printed.
fn check_env_secrets(rendered: &Rendered) -> Result<(), String> {
    gatehouse_apply::secrets::plan_secrets(
        &rendered.secrets,
        &|variable| std::env::var(variable).ok(),
        &mut gatehouse_apply::secrets::Masker::default(),
    )
    .map(drop)
    .map_err(|e| e.to_string())
}

/// `diff`: exit code 0 without differences, 1 with, 2 on error (like `kubectl diff`).
pub fn diff(args: DiffArgs) -> i32 {
    let result = (|| {
        let rendered = args.target.rendered()?;
        let options = args.target.options();
        check_env_secrets(&rendered)?;
        runtime()?.block_on(async {
            let cluster = args.target.connect().await?;
            cluster
                .diff(&rendered, &options)
                .await
                .map_err(|e| e.to_string())
        })
    })();
    match result {
        Ok(report) => {
            print!("{}", report.render(std::io::stdout().is_terminal()));
            i32::from(report.has_changes())
        }
        Err(message) => {
            eprintln!("{message}");
            2
        }
    }
}

/// `destroy`: asks for confirmation unless `--yes`.
pub fn destroy(args: DestroyArgs) -> Result<(), String> {
    let rendered = args.target.rendered()?;
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
            .map_err(|e| format!("reading the confirmation: {e}"))?;
        if answer.trim() != "yes" {
            return Err("aborted: nothing was deleted".into());
        }
    }
    let options = args.target.options();
    runtime()?.block_on(async {
        let cluster = args.target.connect().await?;
        let removed = cluster
            .destroy(&rendered, &options)
            .await
            .map_err(|e| e.to_string())?;
        for line in &removed {
            println!("{line} deleted");
        }
        println!(
            "kept: namespace {} and the Redis PersistentVolumeClaims (data); delete them with `kubectl delete namespace {}`",
            rendered.helm.namespace, rendered.helm.namespace
        );
        Ok(())
    })
}

/// `render --gitops DIR`: the objects and the Flux release as files for a GitOps repository.
pub fn write_gitops(rendered: &Rendered, dir: &Path) -> Result<(), String> {
    let written = crate::write_files(dir, &gatehouse_render::gitops::gitops_files(rendered))?;
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("").is_err());
    }
}
