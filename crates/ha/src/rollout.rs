//! Rolling restarts of the rendered StatefulSets, as the StatefulSet controller performs them
//! (`RollingUpdate`): one pod at a time, highest ordinal first; for each pod the kubelet runs the
//! pre-stop hook, sends SIGTERM, kills what is left after the grace period, starts the container
//! again, and the controller moves on once the new pod passes its readiness probe.

use std::time::{Duration, Instant};

use gatehouse_model::{Deployment, ValidDeployment};

use crate::HarnessError;
use crate::cluster::{Cluster, Hook, POLL, Role, write_files};
use crate::pods::RenderedRedis;

/// Limit of one pod's readiness after its restart (a replica's first sync waits
/// `repl-diskless-sync-delay`, 5 s).
pub const READY_LIMIT: Duration = Duration::from_secs(60);

/// What happened to one pod of a rolling restart.
#[derive(Debug, Clone)]
pub struct RolledPod {
    /// The pod.
    pub name: String,
    /// For a data pod: whether it was the master the Sentinels agreed on before its pre-stop hook.
    pub was_master: bool,
    /// For a data pod: the master the Sentinels agreed on when it was stopped (`None`: they did
    /// not agree, or a Sentinel pod).
    pub master_at_stop: Option<usize>,
    /// For the master's pod: how long its pre-stop hook took to hand the master over (it returns
    /// once the Sentinels report another master).
    pub handover: Option<Duration>,
    /// Output of the pre-stop hook (empty for Sentinels, which have none).
    pub pre_stop_output: String,
    /// When its pre-stop hook (or, for a Sentinel, its stop) started.
    pub started: Instant,
    /// From the start of the pre-stop hook to the pod being ready again.
    pub took: Duration,
}

impl Cluster {
    /// Stops pod `i` as the kubelet does after the pre-stop hook: SIGTERM, then SIGKILL when it has
    /// not exited within `grace`.
    pub async fn stop_pod(
        &mut self,
        role: Role,
        i: usize,
        grace: Duration,
    ) -> Result<(), HarnessError> {
        let pod = &mut self.pods_mut(role)[i];
        let Some(mut process) = pod.process.take() else {
            return Err(HarnessError::State {
                message: format!("{} is not running", pod.name),
            });
        };
        process.signal(rustix::process::Signal::TERM);
        match process.wait_exit(grace).await {
            Ok(_) => Ok(()),
            Err(HarnessError::Timeout { .. }) => process.kill().await,
            Err(e) => Err(e),
        }
    }

    /// A changed model as `deploy` would apply it: renders `deployment`, writes the new ConfigMap
    /// files into every pod's template directory (the kubelet updates a mounted ConfigMap in
    /// running pods) and returns the StatefulSets whose pod template changed, which Kubernetes
    /// rolls. Running processes are not touched. The new model must keep the group's shape (pods,
    /// ports, names) and the pods' environment.
    pub fn update_config(&mut self, deployment: Deployment) -> Result<Vec<Role>, HarnessError> {
        let valid: ValidDeployment =
            deployment.validated().map_err(|e| HarnessError::Rendered {
                message: format!("the changed deployment is invalid: {e}"),
            })?;
        let new = RenderedRedis::of(&valid)?;
        if new.names != self.rendered.names
            || new.data.env != self.rendered.data.env
            || new.sentinel.env != self.rendered.sentinel.env
        {
            return Err(HarnessError::State {
                message: "the harness rolls config changes only; this change moves names, ports \
                          or the pods' environment"
                    .into(),
            });
        }
        let mut changed = Vec::new();
        if new.data_template != self.rendered.data_template {
            changed.push(Role::Data);
        }
        if new.sentinel_template != self.rendered.sentinel_template {
            changed.push(Role::Sentinel);
        }
        write_files(&self.template_dir, &new, None)?;
        for pod in self.data.iter().chain(&self.sentinels) {
            write_files(&pod.template_dir(), &new, Some(pod.host))?;
        }
        self.down_after = Duration::from_millis(
            valid
                .deployment()
                .redis
                .sentinel
                .down_after_milliseconds
                .into(),
        );
        self.rendered = new;
        Ok(changed)
    }

    /// A new release as `deploy` would apply it: like [`Cluster::update_config`], but the pods'
    /// environment may change too (new variables, new Secrets), as with a gatehouse release that
    /// renders other pods. Each pod gets the new environment at its next start; running processes
    /// keep theirs but read the new ConfigMap files, as in Kubernetes. Returns both roles.
    pub fn upgrade(&mut self, deployment: Deployment) -> Result<Vec<Role>, HarnessError> {
        let valid: ValidDeployment =
            deployment.validated().map_err(|e| HarnessError::Rendered {
                message: format!("the new deployment is invalid: {e}"),
            })?;
        let new = RenderedRedis::of(&valid)?;
        if new.names != self.rendered.names {
            return Err(HarnessError::State {
                message: "the harness upgrades a group of the same shape only".into(),
            });
        }
        for role in [Role::Data, Role::Sentinel] {
            let container = match role {
                Role::Data => new.data.clone(),
                Role::Sentinel => new.sentinel.clone(),
            };
            for pod in self.pods_mut(role) {
                pod.set_next_env(&container)?;
            }
        }
        write_files(&self.template_dir, &new, None)?;
        for pod in self.data.iter().chain(&self.sentinels) {
            write_files(&pod.template_dir(), &new, Some(pod.host))?;
        }
        let d = valid.deployment();
        self.down_after = Duration::from_millis(d.redis.sentinel.down_after_milliseconds.into());
        self.sentinel_auth = d.redis.sentinel.auth;
        self.chart_line = gatehouse_model::acl::chart_line(&d.gateway.version);
        self.rendered = new;
        Ok(vec![Role::Data, Role::Sentinel])
    }

    /// Rolls every pod of `role`, highest ordinal first, as described in the module docs.
    /// The grace period is the rendered pod's `terminationGracePeriodSeconds`.
    pub async fn roll(&mut self, role: Role) -> Result<Vec<RolledPod>, HarnessError> {
        let count = match role {
            Role::Data => self.data.len(),
            Role::Sentinel => self.sentinels.len(),
        };
        let mut rolled = Vec::new();
        for i in (0..count).rev() {
            rolled.push(self.roll_pod(role, i).await?);
        }
        Ok(rolled)
    }

    /// Rolls pod `i` of `role` as one step of [`Cluster::roll`]: its pre-stop hook (data pods),
    /// the stop within the rendered grace period, the start with the current environment, and
    /// the wait for its readiness probe.
    pub async fn roll_pod(&mut self, role: Role, i: usize) -> Result<RolledPod, HarnessError> {
        let template = match role {
            Role::Data => &self.rendered().data_template,
            Role::Sentinel => &self.rendered().sentinel_template,
        };
        let grace = template
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs)
            .ok_or_else(|| HarnessError::Rendered {
                message: format!("the {role:?} pod template has no terminationGracePeriodSeconds"),
            })?;
        let t0 = Instant::now();
        let before = self.agreed_master().await.ok();
        let mut pre_stop_output = String::new();
        let mut pre_stop_took = Duration::ZERO;
        if role == Role::Data {
            let (_, output) = self.run_hook(role, i, Hook::PreStop, grace).await?;
            pre_stop_output = output;
            pre_stop_took = t0.elapsed();
        }
        let master_at_stop = match role {
            Role::Data => self.agreed_master().await.ok(),
            Role::Sentinel => None,
        };
        let remaining = grace.saturating_sub(t0.elapsed());
        self.stop_pod(role, i, remaining).await?;
        self.start_pod(role, i)?;
        self.wait_ready(role, i, READY_LIMIT).await?;
        let name = match role {
            Role::Data => self.data[i].name.clone(),
            Role::Sentinel => self.sentinels[i].name.clone(),
        };
        let was_master = role == Role::Data && before == Some(i);
        Ok(RolledPod {
            name,
            was_master,
            handover: was_master.then_some(pre_stop_took),
            started: t0,
            master_at_stop,
            pre_stop_output,
            took: t0.elapsed(),
        })
    }

    /// Polls the pod's rendered readiness probe until it passes (at most `limit`), restarting the
    /// container when it exits on its own, as the kubelet would.
    pub async fn wait_ready(
        &mut self,
        role: Role,
        i: usize,
        limit: Duration,
    ) -> Result<(), HarnessError> {
        let deadline = Instant::now() + limit;
        let mut last = String::new();
        while Instant::now() < deadline {
            self.restart_exited()?;
            match self
                .run_hook(role, i, Hook::Readiness, Duration::from_secs(5))
                .await
            {
                Ok((true, _)) => return Ok(()),
                Ok((false, output)) => last = output,
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(POLL * 5).await;
        }
        Err(HarnessError::NotConverged {
            limit,
            last: format!("pod {role:?} {i} not ready: {last}"),
            logs: self.log_tails(),
        })
    }
}
