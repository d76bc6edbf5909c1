//! `fleet deploy`: the clusters of one wave (or of every wave, in order) through their kubeconfig
//! contexts, a few at a time; the command succeeds only when every cluster deployed is healthy, and
//! stops before the next wave otherwise.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use gatehouse_apply::fleet::{Checks, FleetOptions, FleetTarget, Outcome, deploy_waves};
use gatehouse_apply::{DeployOptions, ReleaseMode, Status};
use gatehouse_model::Delivery;

use super::Globals;
use super::cluster::{check_env_secrets, parse_timeout};
use super::error::CliError;
use super::fleet::{FleetInput, load};

/// Arguments of `fleet deploy`.
#[derive(Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    input: FleetInput,
    /// Deploy only this wave; every wave in order when absent (stopping at the first wave that is
    /// not healthy everywhere).
    #[arg(long, value_name = "N")]
    wave: Option<u32>,
    /// How many clusters of a wave are deployed at once.
    #[arg(long, default_value_t = 3, value_name = "N")]
    at_once: usize,
    /// Release each gateway with Flux (HelmRepository + HelmRelease) instead of the Helm CLI.
    #[arg(long)]
    flux: bool,
    /// Skip the gateway releases (Redis and Sentinel objects only).
    #[arg(long)]
    skip_release: bool,
    /// Delete objects gatehouse applied before that are no longer rendered (on each cluster).
    #[arg(long)]
    prune: bool,
    /// Wait at most this long on each cluster for workloads and the release.
    #[arg(long, default_value = "5m", value_parser = parse_timeout)]
    timeout: Duration,
}

/// `fleet deploy`.
pub fn deploy(args: DeployArgs, globals: &Globals) -> Result<ExitCode, CliError> {
    let valid = load(&args.input, Delivery::Direct, globals)?;
    let last = valid.last_wave();
    let waves: Vec<u32> = match args.wave {
        Some(wave) if wave == 0 || wave > last => return Err(CliError::NoSuchWave { wave, last }),
        Some(wave) => vec![wave],
        None => (1..=last).collect(),
    };
    let targets: Vec<FleetTarget> = valid
        .clusters()
        .iter()
        .filter(|c| waves.contains(&c.cluster.wave))
        .map(|c| FleetTarget {
            name: c.cluster.name.clone(),
            wave: c.cluster.wave,
            context: c.cluster.context.clone().unwrap_or_default(),
            rendered: gatehouse_render::render(&c.deployment),
        })
        .collect();
    // Local mistakes (an unset variable) before any cluster is contacted.
    for target in &targets {
        check_env_secrets(&target.rendered)?;
    }
    let options = FleetOptions {
        kubeconfig: globals.kubeconfig.clone(),
        at_once: args.at_once,
        deploy: DeployOptions {
            timeout: args.timeout,
            release: if args.flux {
                ReleaseMode::Flux
            } else {
                ReleaseMode::Helm
            },
            skip_release: args.skip_release,
            prune: args.prune,
            ..Default::default()
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let env = |variable: &str| std::env::var(variable).ok();
    let report = runtime.block_on(deploy_waves(
        &targets,
        &waves,
        &options,
        &Checks {
            env: &env,
            healthy: &Status::healthy,
        },
    ));
    print!("{report}");
    if report.succeeded() {
        return Ok(ExitCode::SUCCESS);
    }
    let stopped: Vec<String> = report
        .clusters
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Healthy(..) => None,
            Outcome::Unhealthy(..) => Some(format!("{} (wave {}) is not healthy", c.name, c.wave)),
            Outcome::Failed(_) => Some(format!("{} (wave {}) failed", c.name, c.wave)),
        })
        .collect();
    let mut message = stopped.join(", ");
    if !report.not_started.is_empty() {
        let waves: Vec<String> = report.not_started.iter().map(u32::to_string).collect();
        message.push_str(&format!("; wave(s) {} not started", waves.join(", ")));
    }
    Err(CliError::FleetStopped(message))
}
