//! Deploying a fleet directly, wave by wave, for teams without GitOps: each cluster through its
//! kubeconfig context with [`Cluster::deploy`], a few clusters at a time, then [`Cluster::status`]
//! for every cluster of the wave; the next wave starts only when every cluster of this one is
//! healthy. Like the rest of the crate it takes rendered output (never the model) and returns data:
//! what happened on each cluster, in order.

use std::fmt;
use std::path::PathBuf;

use futures::StreamExt;
use gatehouse_render::Rendered;

use crate::{ApplyError, Cluster, ConnectOptions, DeployOptions, DeployReport, Status};

/// One cluster of a fleet, rendered, and how to reach it.
#[derive(Debug, Clone)]
pub struct FleetTarget {
    /// The cluster's name in the fleet.
    pub name: String,
    /// Its wave (from 1).
    pub wave: u32,
    /// The kubeconfig context it is reached through.
    pub context: String,
    /// Its rendered deployment.
    pub rendered: Rendered,
}

/// How a fleet is deployed.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The kubeconfig file holding every cluster's context (`KUBECONFIG` / `~/.kube/config` when
    /// absent).
    pub kubeconfig: Option<PathBuf>,
    /// How many clusters of a wave are deployed at once.
    pub at_once: usize,
    /// The options of each cluster's deploy.
    pub deploy: DeployOptions,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            kubeconfig: None,
            at_once: 3,
            deploy: DeployOptions::default(),
        }
    }
}

/// What happened on one cluster.
#[derive(Debug)]
pub enum Outcome {
    /// Deployed, and its status is healthy.
    Healthy(DeployReport, Box<Status>),
    /// Deployed, but its status is not healthy (the fleet stops after this wave).
    Unhealthy(DeployReport, Box<Status>),
    /// Connecting, deploying or reading the status failed; an [`ApplyError::Stopped`] says what
    /// was done on the cluster before the failure.
    Failed(ApplyError),
}

/// One cluster's result.
#[derive(Debug)]
pub struct ClusterResult {
    /// The cluster's name.
    pub name: String,
    /// Its wave.
    pub wave: u32,
    /// Its kubeconfig context.
    pub context: String,
    /// What happened.
    pub outcome: Outcome,
}

/// The result of deploying a fleet's waves.
#[derive(Debug, Default)]
pub struct FleetReport {
    /// Each cluster deployed, wave by wave (in the order they were given within a wave).
    pub clusters: Vec<ClusterResult>,
    /// The waves not started because a wave before them was not healthy everywhere.
    pub not_started: Vec<u32>,
}

impl FleetReport {
    /// Whether every cluster deployed is healthy and no wave was left out.
    pub fn succeeded(&self) -> bool {
        self.not_started.is_empty()
            && self
                .clusters
                .iter()
                .all(|c| matches!(c.outcome, Outcome::Healthy(..)))
    }
}

impl fmt::Display for FleetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.clusters {
            let head = format!(
                "wave {}: cluster {} (context {})",
                c.wave, c.name, c.context
            );
            match &c.outcome {
                Outcome::Healthy(report, _) => {
                    writeln!(f, "{head}: deployed, healthy")?;
                    for line in report.to_string().lines() {
                        writeln!(f, "  {line}")?;
                    }
                }
                Outcome::Unhealthy(report, status) => {
                    writeln!(f, "{head}: deployed, NOT healthy")?;
                    for line in report.to_string().lines().chain(status.to_string().lines()) {
                        writeln!(f, "  {line}")?;
                    }
                }
                Outcome::Failed(error) => {
                    writeln!(f, "{head}: FAILED: {error}")?;
                    let mut source = std::error::Error::source(error);
                    while let Some(cause) = source {
                        writeln!(f, "  caused by: {cause}")?;
                        source = cause.source();
                    }
                }
            }
        }
        for wave in &self.not_started {
            writeln!(
                f,
                "wave {wave}: not started (a wave before it is not healthy everywhere)"
            )?;
        }
        Ok(())
    }
}

/// What a fleet deploy asks of its caller.
pub struct Checks<'a> {
    /// The environment `from: env` secret sources are read from (the command line's:
    /// `std::env::var`).
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// Whether a cluster's status lets the next wave start (the command line's:
    /// [`Status::healthy`]).
    pub healthy: &'a (dyn Fn(&Status) -> bool + Sync),
}

/// Deploys the targets of `waves`, in the order given, a few clusters at a time within a wave;
/// after each wave, `checks.healthy` must hold for every cluster's status or the later waves are
/// not started.
pub async fn deploy_waves(
    targets: &[FleetTarget],
    waves: &[u32],
    options: &FleetOptions,
    checks: &Checks<'_>,
) -> FleetReport {
    let mut report = FleetReport::default();
    for (i, wave) in waves.iter().enumerate() {
        let members: Vec<&FleetTarget> = targets.iter().filter(|t| t.wave == *wave).collect();
        let mut results: Vec<(usize, ClusterResult)> = futures::stream::iter(
            members.into_iter().enumerate(),
        )
        .map(|(order, target)| async move { (order, deploy_one(target, options, checks).await) })
        .buffer_unordered(options.at_once.max(1))
        .collect()
        .await;
        results.sort_by_key(|(order, _)| *order);
        let all_healthy = results
            .iter()
            .all(|(_, r)| matches!(r.outcome, Outcome::Healthy(..)));
        report.clusters.extend(results.into_iter().map(|(_, r)| r));
        if !all_healthy {
            report.not_started = waves[i + 1..].to_vec();
            break;
        }
    }
    report
}

async fn deploy_one(
    target: &FleetTarget,
    options: &FleetOptions,
    checks: &Checks<'_>,
) -> ClusterResult {
    let outcome = async {
        let cluster = Cluster::connect(&ConnectOptions {
            kubeconfig: options.kubeconfig.clone(),
            context: Some(target.context.clone()),
        })
        .await?;
        let deployed = cluster
            .deploy_with_env(&target.rendered, &options.deploy, checks.env)
            .await?;
        let mut status_options = options.deploy.clone();
        status_options.events = None;
        let status = cluster.status(&target.rendered, &status_options).await?;
        Ok::<_, ApplyError>(if (checks.healthy)(&status) {
            Outcome::Healthy(deployed, Box::new(status))
        } else {
            Outcome::Unhealthy(deployed, Box::new(status))
        })
    }
    .await
    .unwrap_or_else(Outcome::Failed);
    ClusterResult {
        name: target.name.clone(),
        wave: target.wave,
        context: target.context.clone(),
        outcome,
    }
}
