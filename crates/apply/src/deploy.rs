//! Deploying: the options, the plan with the secret values, the writes stage by stage, the wait,
//! the release and prune.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use gatehouse_render::Rendered;
use kube::api::{DeleteParams, ListParams};
use serde_json::Value;

use crate::connection::{has_owner, list_item};
use crate::events::{Event, EventSink, emit};
use crate::preflight::{DryRun, ForeignPolicy};
use crate::secrets::{self, Masker};
use crate::{
    ApplyError, Cluster, DeployReport, Desired, ObjectKind, Plan, ReleaseMode, Stage, Verb,
    WriteMode, applyset, helm, plan, wait,
};

/// Options of [`Cluster::deploy`].
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Only the server dry-run: nothing is written.
    pub dry_run: bool,
    /// Delete ApplySet members that are no longer rendered.
    pub prune: bool,
    /// Take ownership of fields other managers own (server-side apply `force`); implies `adopt`.
    pub force: bool,
    /// Apply over objects that exist but belong to another ApplySet or to none (otherwise the
    /// deploy refuses before the first write, naming them).
    pub adopt: bool,
    /// How long to wait for workloads (and for `helm --wait`).
    pub timeout: Duration,
    /// How the gateway is released.
    pub release: ReleaseMode,
    /// Requests in flight within a stage.
    pub concurrency: usize,
    /// The `helm` executable; found on PATH when unset.
    pub helm: Option<PathBuf>,
    /// Skip the gateway release (objects only).
    pub skip_release: bool,
    /// Where progress events go; none by default (the library never draws on a terminal).
    pub events: Option<EventSink>,
    /// Redis users (`default`, `gatehouse-replication`, ..., or `all`) whose generated password
    /// starts a rotation: a fresh value is written as `<key>.next` (step 1); the next deploys
    /// take the other two steps ([`crate::secrets::rotation_targets`]).
    pub rotate: Vec<String>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            dry_run: false,
            prune: false,
            force: false,
            adopt: false,
            timeout: Duration::from_secs(300),
            release: ReleaseMode::Helm,
            concurrency: 8,
            helm: None,
            skip_release: false,
            events: None,
            rotate: Vec::new(),
        }
    }
}

/// What happened (or, in a dry-run, would happen) to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Created.
    Created,
    /// Changed.
    Configured,
    /// Already as rendered: nothing sent.
    Unchanged,
    /// Deleted by prune.
    Pruned,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Pruned => "pruned",
        })
    }
}

impl Cluster {
    /// Applies the parent with these group-kinds unless the live parent already says exactly that;
    /// returns the parent as the server now has it.
    pub(crate) async fn write_parent(
        &self,
        plan: &Plan,
        live: Option<&Value>,
        group_kinds: &BTreeSet<String>,
        dry_run: bool,
        masker: &Masker,
    ) -> Result<Value, ApplyError> {
        let body = plan.applyset.parent(group_kinds);
        if let Some(l) = live
            && applyset::listed_group_kinds(l) == *group_kinds
            && l["metadata"]["labels"][applyset::ID_LABEL]
                == body["metadata"]["labels"][applyset::ID_LABEL]
            && applyset::parent_tooling(l) == Some(applyset::tooling())
        {
            return Ok(l.clone());
        }
        let desired = Desired {
            kind: plan::secret_kind(),
            body,
            mode: WriteMode::Apply,
            member: false,
        };
        self.write(&desired, dry_run, true, masker).await
    }

    /// Lists the live members of the set of the kinds listed, and returns those not in the plan
    /// (never objects with ownerReferences).
    pub(crate) async fn stale_members(
        &self,
        plan: &Plan,
        group_kinds: &BTreeSet<String>,
        masker: &Masker,
    ) -> Result<Vec<(&'static ObjectKind, Value)>, ApplyError> {
        let wanted = plan.member_identities();
        let selector = format!("{}={}", applyset::PART_OF_LABEL, plan.applyset.id);
        let mut stale = Vec::new();
        for gk in group_kinds {
            let kind = plan.kind_of(gk)?;
            let api = self.api(kind, Some(&plan.applyset.namespace));
            let list = api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| {
                    self.kube_err(e, &format!("{} list", kind.kind), Verb::List, kind, masker)
                })?;
            for item in list.items {
                let value = list_item(kind, item);
                if !has_owner(&value) && !wanted.contains(&plan::identity_of(&value)) {
                    stale.push((kind, value));
                }
            }
        }
        stale.sort_by_key(|(k, v)| (std::cmp::Reverse(k.tier), plan::identity_of(v)));
        Ok(stale)
    }

    pub(crate) async fn delete(
        &self,
        kind: &'static ObjectKind,
        object: &Value,
        dry_run: bool,
        masker: &Masker,
    ) -> Result<String, ApplyError> {
        let (_, ns, name) = plan::identity_of(object);
        let display = display_of(kind, object);
        let params = DeleteParams {
            dry_run,
            ..DeleteParams::background()
        };
        match self
            .api(
                kind,
                Some(&ns).filter(|n| !n.is_empty()).map(|s| s.as_str()),
            )
            .delete(&name, &params)
            .await
        {
            Ok(_) => Ok(display),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(display),
            Err(e) => Err(self.kube_err(e, &display, Verb::Delete, kind, masker)),
        }
    }

    /// Deploys rendered output. See the crate documentation for the steps.
    pub async fn deploy(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
    ) -> Result<DeployReport, ApplyError> {
        self.deploy_with_env(rendered, options, &|v| std::env::var(v).ok())
            .await
    }

    /// [`Cluster::deploy`] with an explicit environment lookup for `from: env` secret sources.
    pub async fn deploy_with_env(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DeployReport, ApplyError> {
        let before = self.requests();
        let (mut masker, mut plan) = plan_with_env(rendered, options, env)?;
        // The release's prerequisite is checked with everything else; a dry-run without `helm`
        // only says that the release was not validated.
        let mut early = Vec::new();
        let mut release_note = None;
        let helm = match (options.release, options.skip_release) {
            (ReleaseMode::Helm, false) => match helm::Helm::locate(
                options.helm.clone(),
                self.context.clone(),
                self.kubeconfig.clone(),
            ) {
                Ok(h) => Some(h),
                Err(e) if options.dry_run => {
                    release_note = Some(format!(
                        "Helm release {}/{} not validated: {e}",
                        rendered.helm.namespace, rendered.helm.release_name
                    ));
                    None
                }
                Err(e) => {
                    early.push(e);
                    None
                }
            },
            _ => None,
        };
        // Preflight: nothing is written before every check and dry-run passed.
        let checked = self
            .preflight(
                &mut plan,
                options,
                &mut masker,
                early,
                ForeignPolicy::Refuse,
            )
            .await?;
        for r in &checked.dry_runs {
            emit(&options.events, || Event::Planned {
                object: r.desired.display(),
                action: r.action,
            });
        }
        let mut report = DeployReport {
            dry_run: options.dry_run,
            not_dry_run: checked
                .dry_runs
                .iter()
                .filter(|r| !r.validated)
                .map(|r| r.desired.display())
                .collect(),
            taken_over: checked.foreign.clone(),
            rotations: checked.rotation.rotations.clone(),
            rotations_held: checked.rotation.held.clone(),
            ..Default::default()
        };
        // The release with the versions of the Secrets the gateway reads: a changed one rolls it.
        let release = crate::rotation::stamp_release(&rendered.helm, &checked.rotation);
        let listed = checked
            .parent
            .as_ref()
            .map(applyset::listed_group_kinds)
            .unwrap_or_default();
        let current = plan.group_kinds();
        let widened: BTreeSet<String> = listed.union(&current).cloned().collect();

        if options.dry_run {
            report.objects = checked
                .dry_runs
                .iter()
                .map(|r| (r.desired.display(), r.action))
                .collect();
            if options.prune {
                for (kind, object) in &checked.stale {
                    let name = self.delete(kind, object, true, &masker).await?;
                    emit(&options.events, || Event::Planned {
                        object: name.clone(),
                        action: Action::Pruned,
                    });
                    report.objects.push((name, Action::Pruned));
                }
            }
            if let Some(helm) = &helm {
                let summary = helm
                    .upgrade_install(&release, true, options.timeout, &masker)
                    .await?;
                emit(&options.events, || Event::Released {
                    summary: summary.clone(),
                });
                report.release = Some(summary);
            } else {
                report.release = release_note;
            }
            report.requests = self.requests().since(&before);
            return Ok(report);
        }

        let mut stale = if options.prune {
            checked.stale
        } else {
            Vec::new()
        };
        let parent = match self
            .write_stages(
                &plan,
                &checked.dry_runs,
                checked.parent.as_ref(),
                &widened,
                &mut stale,
                options,
                &masker,
                &mut report,
            )
            .await
        {
            Ok(parent) => parent,
            Err(cause) => {
                return Err(ApplyError::Stopped {
                    done: report.objects,
                    not_pruned: stale.iter().map(|(k, v)| display_of(k, v)).collect(),
                    cause: Box::new(cause),
                });
            }
        };
        let finish = async {
            if let Some(helm) = &helm {
                let summary = if helm.is_current(&release, &masker).await? {
                    format!(
                        "Helm release {}/{} unchanged (chart {} {}, same values)",
                        rendered.helm.namespace,
                        rendered.helm.release_name,
                        rendered.helm.chart,
                        rendered.helm.version
                    )
                } else {
                    helm.upgrade_install(&release, false, options.timeout, &masker)
                        .await?
                };
                emit(&options.events, || Event::Released {
                    summary: summary.clone(),
                });
                report.release = Some(summary);
            }
            if options.prune {
                // The set no longer lists the kinds it has no members of.
                self.write_parent(&plan, Some(&parent), &current, false, &masker)
                    .await?;
            }
            Ok::<(), ApplyError>(())
        };
        if let Err(cause) = finish.await {
            return Err(ApplyError::Stopped {
                done: report.objects,
                not_pruned: Vec::new(),
                cause: Box::new(cause),
            });
        }
        report.requests = self.requests().since(&before);
        Ok(report)
    }

    /// The writes, stage by stage: the parent before the first member, each stage's changed
    /// objects, then (with prune) that stage's stale members, then the wait for its workloads.
    /// Prune does not wait for readiness: a stage's stale members go as soon as its writes are
    /// done. Everything done is recorded in `report` as it happens; `stale` keeps what is left.
    /// Returns the parent as the server has it after the writes.
    #[allow(clippy::too_many_arguments)]
    async fn write_stages(
        &self,
        plan: &Plan,
        dry_runs: &[DryRun],
        parent: Option<&Value>,
        widened: &BTreeSet<String>,
        stale: &mut Vec<(&'static ObjectKind, Value)>,
        options: &DeployOptions,
        masker: &Masker,
        report: &mut DeployReport,
    ) -> Result<Value, ApplyError> {
        let mut written = None;
        for stage in Stage::ALL {
            if stage > Stage::Namespace && written.is_none() {
                written = Some(
                    self.write_parent(plan, parent, widened, false, masker)
                        .await?,
                );
            }
            let in_stage: Vec<&DryRun> = dry_runs
                .iter()
                .filter(|r| r.desired.stage() == stage)
                .collect();
            let outcomes: Vec<Result<(String, Action), ApplyError>> =
                futures::stream::iter(in_stage.iter().copied())
                    .map(|r| async move {
                        if r.action != Action::Unchanged {
                            match self.write(&r.desired, false, options.force, masker).await {
                                Ok(_) => {}
                                Err(ApplyError::Api { code: 409, .. })
                                    if r.desired.mode == WriteMode::CreateOnce => {}
                                Err(e) => return Err(e),
                            }
                        }
                        emit(&options.events, || Event::Applied {
                            object: r.desired.display(),
                            action: r.action,
                        });
                        Ok((r.desired.display(), r.action))
                    })
                    .buffered(options.concurrency.max(1))
                    .collect()
                    .await;
            let mut errors = Vec::new();
            for outcome in outcomes {
                match outcome {
                    Ok(done) => report.objects.push(done),
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return Err(ApplyError::WriteFailed(errors));
            }
            let (now, later): (Vec<_>, Vec<_>) = std::mem::take(stale)
                .into_iter()
                .partition(|(k, _)| k.tier == stage);
            *stale = later;
            let mut now = now.into_iter();
            while let Some((kind, object)) = now.next() {
                match self.delete(kind, &object, false, masker).await {
                    Ok(name) => {
                        emit(&options.events, || Event::Applied {
                            object: name.clone(),
                            action: Action::Pruned,
                        });
                        report.objects.push((name, Action::Pruned));
                    }
                    Err(e) => {
                        stale.push((kind, object));
                        stale.extend(now);
                        return Err(e);
                    }
                }
            }
            if matches!(stage, Stage::Workload | Stage::Release) {
                // An unchanged workload that is ready already needs no watch.
                let mut waited = Vec::new();
                for r in &in_stage {
                    let ready = r.action == Action::Unchanged
                        && r.live
                            .as_ref()
                            .is_some_and(|l| wait::progress_of(r.desired.kind.kind, l).0);
                    if ready {
                        emit(&options.events, || Event::Ready {
                            object: r.desired.display(),
                        });
                    } else {
                        waited.push(&r.desired);
                    }
                }
                wait::wait_for(self, &waited, options.timeout, &options.events, masker).await?;
            }
        }
        Ok(written.expect("the parent is written before the first stage after Namespace"))
    }
}

/// `Kind namespace/name` of a live object.
pub(crate) fn display_of(kind: &ObjectKind, object: &Value) -> String {
    let (_, ns, name) = plan::identity_of(object);
    if kind.namespaced {
        format!("{} {ns}/{name}", kind.kind)
    } else {
        format!("{} {name}", kind.kind)
    }
}

/// The plan for rendered output, with the values of `from: env` secret sources looked up in `env`
/// (and registered with the returned masker). Local only: talks to no cluster.
pub(crate) fn plan_with_env(
    rendered: &Rendered,
    options: &DeployOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Masker, Plan), ApplyError> {
    let mut masker = Masker::default();
    let rotate = secrets::rotation_targets(&rendered.secrets, &options.rotate)?;
    let secret_actions = secrets::plan_secrets(&rendered.secrets, env, &mut masker)?;
    let mut plan = Plan::new(rendered, secret_actions, options.release);
    plan.rotate = rendered
        .secrets
        .iter()
        .filter(|r| rotate.contains(&r.role))
        .map(|r| (r.namespace.clone(), r.secret.name.clone()))
        .collect();
    Ok((masker, plan))
}
