//! Applies rendered gatehouse output to a cluster: the only crate that talks to one.
//!
//! It takes [`gatehouse_render::Rendered`] (never the model) and makes the cluster match:
//! 1. preflight: secret sources (environment variables read, existing Secrets checked), Flux CRDs;
//! 2. a server dry-run (`dryRun=All`, server-side apply, field manager `gatehouse`) of EVERY object
//!    together with a GET of the live object, so bad input fails before the first write;
//! 3. the writes, stage by stage (Namespace → Secrets/ConfigMaps/ServiceAccounts →
//!    Services/NetworkPolicies/PDBs → StatefulSets), bounded concurrency within a stage, one PATCH
//!    per changed object and none for unchanged ones;
//! 4. a watch-based wait for the workloads, then the gateway release (Helm CLI or Flux objects);
//! 5. with `prune`, deletion of ApplySet members that are no longer rendered.
//!
//! ```no_run
//! # async fn run() -> Result<(), gatehouse_apply::ApplyError> {
//! let valid = gatehouse_model::Deployment::guide_example().validated().unwrap();
//! let rendered = gatehouse_render::render(&valid);
//! let cluster = gatehouse_apply::Cluster::connect(&Default::default()).await?;
//! let report = cluster.deploy(&rendered, &gatehouse_apply::DeployOptions::default()).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```

pub mod applyset;
mod diff;
mod error;
pub mod helm;
pub mod plan;
pub mod secrets;
mod wait;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use gatehouse_render::Rendered;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;

pub use diff::{ObjectDiff, normalize, unified_diff};
pub use error::{ApplyError, FieldConflict, Rejection, Verb};
pub use plan::{Desired, KindInfo, Plan, ReleaseMode, Stage, WriteMode};
pub use wait::{deployment_ready, helmrelease_ready, statefulset_ready};

use crate::secrets::Masker;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "gatehouse";

/// Where the cluster is: kubeconfig file and context, resolved like kubectl.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// A kubeconfig file; otherwise `KUBECONFIG` (merged list) or `~/.kube/config`, then the
    /// in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig; otherwise its `current-context`.
    pub context: Option<String>,
}

/// Options of [`Cluster::deploy`].
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Only the server dry-run: nothing is written.
    pub dry_run: bool,
    /// Delete ApplySet members that are no longer rendered.
    pub prune: bool,
    /// Take ownership of fields other managers own (server-side apply `force`).
    pub force: bool,
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
    /// Show progress bars on stderr (hidden when stderr is not a terminal).
    pub progress: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            dry_run: false,
            prune: false,
            force: false,
            timeout: Duration::from_secs(300),
            release: ReleaseMode::Helm,
            concurrency: 8,
            helm: None,
            skip_release: false,
            progress: true,
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

/// The result of a deploy.
#[derive(Debug, Clone, Default)]
pub struct DeployReport {
    /// Dry-run only.
    pub dry_run: bool,
    /// Each object and what happened to it, in apply order.
    pub objects: Vec<(String, Action)>,
    /// Objects whose namespace did not exist yet, so the server could not dry-run them.
    pub not_dry_run: Vec<String>,
    /// The release step's summary.
    pub release: Option<String>,
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        for (object, action) in &self.objects {
            writeln!(f, "{object} {action}{suffix}")?;
        }
        for object in &self.not_dry_run {
            writeln!(
                f,
                "{object}: namespace does not exist yet, validated at apply time"
            )?;
        }
        if let Some(release) = &self.release {
            writeln!(f, "{release}")?;
        }
        Ok(())
    }
}

/// The result of [`Cluster::diff`].
#[derive(Debug, Clone, Default)]
pub struct DiffReport {
    /// One entry per object that differs.
    pub diffs: Vec<ObjectDiff>,
    /// Members that `deploy --prune` would delete.
    pub prunable: Vec<String>,
    /// Notes (objects the server could not dry-run, the Helm release).
    pub notes: Vec<String>,
}

impl DiffReport {
    /// Whether anything differs.
    pub fn has_changes(&self) -> bool {
        !self.diffs.is_empty() || !self.prunable.is_empty()
    }

    /// The report as text; `color` adds ANSI colors.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in &self.diffs {
            out.push_str(&d.render(color));
        }
        for p in &self.prunable {
            out.push_str(&format!("{p}: would be pruned (deploy --prune)\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    server: String,
    context: Option<String>,
    kubeconfig: Option<PathBuf>,
}

/// Outcome of the dry-run of one object.
struct DryRun {
    desired: Desired,
    live: Option<Value>,
    result: Value,
    action: Action,
    validated: bool,
}

impl Cluster {
    /// Connects using the kubeconfig (like kubectl: `--kubeconfig`, `KUBECONFIG`, `~/.kube/config`,
    /// then in-cluster) and checks that the API server answers.
    pub async fn connect(options: &ConnectOptions) -> Result<Cluster, ApplyError> {
        let kubeconfig = match &options.kubeconfig {
            Some(path) => {
                Some(
                    Kubeconfig::read_from(path).map_err(|e| ApplyError::Kubeconfig {
                        path: path.display().to_string(),
                        message: error::error_chain(&e),
                    })?,
                )
            }
            None => match Kubeconfig::from_env() {
                Ok(Some(k)) => Some(k),
                Ok(None) => Kubeconfig::read().ok(),
                Err(e) => {
                    return Err(ApplyError::Kubeconfig {
                        path: "KUBECONFIG".into(),
                        message: error::error_chain(&e),
                    });
                }
            },
        };
        let config = match kubeconfig {
            Some(kubeconfig) => {
                if let Some(context) = &options.context
                    && !kubeconfig.contexts.iter().any(|c| &c.name == context)
                {
                    return Err(ApplyError::UnknownContext {
                        context: context.clone(),
                        available: kubeconfig
                            .contexts
                            .iter()
                            .map(|c| c.name.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                let opts = KubeConfigOptions {
                    context: options.context.clone(),
                    ..Default::default()
                };
                Config::from_custom_kubeconfig(kubeconfig, &opts)
                    .await
                    .map_err(|e| ApplyError::Kubeconfig {
                        path: options
                            .kubeconfig
                            .as_ref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "KUBECONFIG / ~/.kube/config".into()),
                        message: error::error_chain(&e),
                    })?
            }
            None => Config::incluster().map_err(|_| ApplyError::NoKubeconfig {
                searched: "KUBECONFIG unset, ~/.kube/config missing, not running in a cluster"
                    .into(),
            })?,
        };
        let server = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|e| ApplyError::Unreachable {
            server: server.clone(),
            message: error::error_chain(&e),
        })?;
        let cluster = Cluster {
            client,
            server: server.clone(),
            context: options.context.clone(),
            kubeconfig: options.kubeconfig.clone(),
        };
        cluster.client.apiserver_version().await.map_err(|e| {
            ApplyError::from_kube(e, "API server", Verb::Get, "version", &server, &|s| {
                s.into()
            })
        })?;
        Ok(cluster)
    }

    /// A cluster from an existing client (tests, embedding).
    pub fn from_client(client: Client, server: &str) -> Cluster {
        Cluster {
            client,
            server: server.into(),
            context: None,
            kubeconfig: None,
        }
    }

    /// The API server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn api(&self, kind: &KindInfo, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = kind.api_resource();
        match (kind.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    fn kube_err(
        &self,
        e: kube::Error,
        object: &str,
        verb: Verb,
        kind: &KindInfo,
        masker: &Masker,
    ) -> ApplyError {
        ApplyError::from_kube(e, object, verb, &kind.resource(), &self.server, &|s| {
            masker.mask(s)
        })
    }

    async fn get_live(&self, d: &Desired, masker: &Masker) -> Result<Option<Value>, ApplyError> {
        self.api(d.kind, d.namespace())
            .get_opt(d.name())
            .await
            .map(|o| o.map(to_value))
            .map_err(|e| self.kube_err(e, &d.display(), Verb::Get, d.kind, masker))
    }

    async fn write(
        &self,
        d: &Desired,
        dry_run: bool,
        force: bool,
        masker: &Masker,
    ) -> Result<Value, ApplyError> {
        let api = self.api(d.kind, d.namespace());
        match d.mode {
            WriteMode::Apply => {
                let mut params = PatchParams::apply(FIELD_MANAGER);
                if dry_run {
                    params = params.dry_run();
                }
                if force {
                    params = params.force();
                }
                api.patch(d.name(), &params, &Patch::Apply(&d.body))
                    .await
                    .map(to_value)
                    .map_err(|e| self.kube_err(e, &d.display(), Verb::Patch, d.kind, masker))
            }
            WriteMode::CreateOnce => {
                let params = PostParams {
                    dry_run,
                    field_manager: Some(FIELD_MANAGER.into()),
                };
                let object: DynamicObject =
                    serde_json::from_value(d.body.clone()).expect("apply bodies are objects");
                api.create(&params, &object)
                    .await
                    .map(to_value)
                    .map_err(|e| self.kube_err(e, &d.display(), Verb::Create, d.kind, masker))
            }
        }
    }

    /// Checks the secret sources that reference existing Secrets.
    /// The checks `deploy` and `diff` share, none of which writes: existing Secrets, Flux APIs, the
    /// live ApplySet parent, and a server dry-run of every object.
    async fn preflight(
        &self,
        plan: &Plan,
        options: &DeployOptions,
        masker: &Masker,
    ) -> Result<(Option<Value>, Vec<DryRun>), ApplyError> {
        self.check_existing_secrets(plan, masker).await?;
        if options.release == ReleaseMode::Flux {
            self.check_flux(plan).await?;
        }
        let parent = self.live_parent(plan, masker).await?;
        let dry_runs = self
            .dry_run_all(plan, options.force, options.concurrency, masker)
            .await?;
        Ok((parent, dry_runs))
    }

    async fn check_existing_secrets(&self, plan: &Plan, masker: &Masker) -> Result<(), ApplyError> {
        let kind = KindInfo::of("v1", "Secret").expect("Secret");
        let mut errors = Vec::new();
        for (field, namespace, name, key) in &plan.existing_secrets {
            let api = self.api(kind, Some(namespace));
            let object = format!("Secret {namespace}/{name}");
            match api.get_opt(name).await {
                Err(e) => errors.push(self.kube_err(e, &object, Verb::Get, kind, masker)),
                Ok(None) => errors.push(ApplyError::SecretMissing {
                    field: field.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                    key: key.clone(),
                }),
                Ok(Some(secret)) => {
                    let data = &secret.data;
                    let has = |f: &str| data[f].get(key.as_str()).is_some();
                    if !has("data") && !has("stringData") {
                        let present = data["data"]
                            .as_object()
                            .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default();
                        errors.push(ApplyError::SecretKeyMissing {
                            field: field.clone(),
                            namespace: namespace.clone(),
                            name: name.clone(),
                            key: key.clone(),
                            present: if present.is_empty() {
                                "no keys".into()
                            } else {
                                present
                            },
                        });
                    }
                }
            }
        }
        one_or_many(errors)
    }

    /// Checks that the Flux APIs are served.
    async fn check_flux(&self, plan: &Plan) -> Result<(), ApplyError> {
        let mut checked = BTreeSet::new();
        for d in plan.stage(Stage::Release) {
            let gv = d.kind.api_version();
            if !checked.insert(gv.clone()) {
                continue;
            }
            let served = match self.client.list_api_group_resources(&gv).await {
                Ok(list) => list.resources.iter().any(|r| r.name == d.kind.plural),
                Err(kube::Error::Api(s)) if s.code == 404 => false,
                Err(e) => {
                    return Err(ApplyError::from_kube(
                        e,
                        "API discovery",
                        Verb::Get,
                        &gv,
                        &self.server,
                        &|s| s.into(),
                    ));
                }
            };
            if !served {
                return Err(ApplyError::FluxMissing {
                    group_version: gv,
                    kind: d.kind.kind.into(),
                });
            }
        }
        Ok(())
    }

    /// GETs the live object and dry-runs the write of every object, stage by stage.
    async fn dry_run_all(
        &self,
        plan: &Plan,
        force: bool,
        concurrency: usize,
        masker: &Masker,
    ) -> Result<Vec<DryRun>, ApplyError> {
        let mut results = Vec::new();
        let mut errors = Vec::new();
        let mut new_namespaces = BTreeSet::new();
        for stage in Stage::ALL {
            let objects: Vec<Desired> = plan.stage(stage).cloned().collect();
            let outcomes: Vec<Result<DryRun, ApplyError>> = futures::stream::iter(objects)
                .map(|d| {
                    let new_namespaces = &new_namespaces;
                    async move {
                        let live = self.get_live(&d, masker).await?;
                        let namespace_is_new =
                            d.namespace().is_some_and(|ns| new_namespaces.contains(ns));
                        if d.mode == WriteMode::CreateOnce
                            && let Some(live) = live
                        {
                            return Ok(DryRun {
                                result: live.clone(),
                                live: Some(live),
                                desired: d,
                                action: Action::Unchanged,
                                validated: true,
                            });
                        }
                        let (result, validated) = match self.write(&d, true, force, masker).await {
                            Ok(r) => (r, true),
                            Err(e) if e.is_not_found() && namespace_is_new => {
                                (d.body.clone(), false)
                            }
                            Err(e) => return Err(e),
                        };
                        let action = match &live {
                            None => Action::Created,
                            Some(l) if normalize(l) == normalize(&result) && managed_by_us(l) => {
                                Action::Unchanged
                            }
                            Some(_) => Action::Configured,
                        };
                        Ok(DryRun {
                            desired: d,
                            live,
                            result,
                            action,
                            validated,
                        })
                    }
                })
                .buffered(concurrency.max(1))
                .collect()
                .await;
            for outcome in outcomes {
                match outcome {
                    Ok(r) => {
                        if r.desired.kind.kind == "Namespace" && r.live.is_none() {
                            new_namespaces.insert(r.desired.name().to_string());
                        }
                        results.push(r);
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        if errors.is_empty() {
            Ok(results)
        } else {
            Err(ApplyError::DryRunFailed(errors))
        }
    }

    async fn live_parent(&self, plan: &Plan, masker: &Masker) -> Result<Option<Value>, ApplyError> {
        let kind = KindInfo::of("v1", "Secret").expect("Secret");
        let set = &plan.applyset;
        let parent = self
            .api(kind, Some(&set.namespace))
            .get_opt(&set.name)
            .await
            .map_err(|e| {
                self.kube_err(
                    e,
                    &format!("Secret {}/{}", set.namespace, set.name),
                    Verb::Get,
                    kind,
                    masker,
                )
            })?
            .map(to_value);
        if let Some(p) = &parent {
            match applyset::parent_tooling(p) {
                Some(t) if t.split('/').next() == Some(applyset::TOOLING_NAME) => {}
                other => {
                    return Err(ApplyError::ForeignApplySet {
                        namespace: set.namespace.clone(),
                        name: set.name.clone(),
                        tooling: other.unwrap_or_else(|| "(no tooling annotation)".into()),
                    });
                }
            }
        }
        Ok(parent)
    }

    /// Applies the parent with these group-kinds unless the live parent already says exactly that.
    async fn write_parent(
        &self,
        plan: &Plan,
        live: Option<&Value>,
        group_kinds: &BTreeSet<String>,
        dry_run: bool,
        masker: &Masker,
    ) -> Result<bool, ApplyError> {
        let body = plan.applyset.parent(group_kinds);
        if let Some(l) = live
            && applyset::listed_group_kinds(l) == *group_kinds
            && l["metadata"]["labels"][applyset::ID_LABEL]
                == body["metadata"]["labels"][applyset::ID_LABEL]
            && applyset::parent_tooling(l) == Some(applyset::tooling())
        {
            return Ok(false);
        }
        let desired = Desired {
            kind: KindInfo::of("v1", "Secret").expect("Secret"),
            body,
            mode: WriteMode::Apply,
            member: false,
        };
        self.write(&desired, dry_run, true, masker).await?;
        Ok(true)
    }

    /// Lists the live members of the set of the kinds listed, and returns those not in the plan
    /// (never objects with ownerReferences).
    async fn stale_members(
        &self,
        plan: &Plan,
        group_kinds: &BTreeSet<String>,
        masker: &Masker,
    ) -> Result<Vec<(&'static KindInfo, Value)>, ApplyError> {
        let wanted = plan.member_identities();
        let selector = format!("{}={}", applyset::PART_OF_LABEL, plan.applyset.id);
        let mut stale = Vec::new();
        for gk in group_kinds {
            let kind = KindInfo::of_group_kind(gk).ok_or_else(|| ApplyError::UnknownGroupKind {
                parent: plan.applyset.reference(),
                group_kind: gk.clone(),
            })?;
            let api = self.api(kind, Some(&plan.applyset.namespace));
            let list = api
                .list(&ListParams::default().labels(&selector))
                .await
                .map_err(|e| {
                    self.kube_err(e, &format!("{} list", kind.kind), Verb::List, kind, masker)
                })?;
            for item in list.items {
                let mut value = to_value(item);
                if value["kind"].is_null() {
                    value["kind"] = Value::from(kind.kind);
                    value["apiVersion"] = Value::from(kind.api_version());
                }
                let has_owner = value["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|o| !o.is_empty());
                if !has_owner && !wanted.contains(&plan::identity_of(&value)) {
                    stale.push((kind, value));
                }
            }
        }
        stale.sort_by_key(|(k, v)| (std::cmp::Reverse(k.stage), plan::identity_of(v)));
        Ok(stale)
    }

    async fn delete(
        &self,
        kind: &'static KindInfo,
        object: &Value,
        dry_run: bool,
        masker: &Masker,
    ) -> Result<String, ApplyError> {
        let (_, ns, name) = plan::identity_of(object);
        let display = if kind.namespaced {
            format!("{} {ns}/{name}", kind.kind)
        } else {
            format!("{} {name}", kind.kind)
        };
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
        let (masker, plan) = plan_with_env(rendered, options, env)?;
        let helm = match (options.release, options.skip_release) {
            (ReleaseMode::Helm, false) => Some(helm::Helm::locate(
                options.helm.clone(),
                self.context.clone(),
                self.kubeconfig.clone(),
            )?),
            _ => None,
        };
        // Preflight: nothing is written before every check and dry-run passed.
        let (parent, dry_runs) = self.preflight(&plan, options, &masker).await?;
        let mut report = DeployReport {
            dry_run: options.dry_run,
            not_dry_run: dry_runs
                .iter()
                .filter(|r| !r.validated)
                .map(|r| r.desired.display())
                .collect(),
            ..Default::default()
        };
        let listed = parent
            .as_ref()
            .map(applyset::listed_group_kinds)
            .unwrap_or_default();
        let current = plan.group_kinds();
        let widened: BTreeSet<String> = listed.union(&current).cloned().collect();

        if options.dry_run {
            report.objects = dry_runs
                .iter()
                .map(|r| (r.desired.display(), r.action))
                .collect();
            if options.prune && parent.is_some() {
                for (kind, object) in self.stale_members(&plan, &widened, &masker).await? {
                    let name = self.delete(kind, &object, true, &masker).await?;
                    report.objects.push((name, Action::Pruned));
                }
            }
            if let Some(helm) = &helm {
                report.release = Some(
                    helm.upgrade_install(&rendered.helm, true, options.timeout, &masker)
                        .await?,
                );
            }
            return Ok(report);
        }

        // Writes, stage by stage.
        let mut written = 0usize;
        let mut parent_written = false;
        for stage in Stage::ALL {
            if stage > Stage::Namespace && !parent_written {
                self.write_parent(&plan, parent.as_ref(), &widened, false, &masker)
                    .await
                    .map_err(|e| ApplyError::ApplyFailed {
                        applied: written,
                        errors: vec![e],
                    })?;
                parent_written = true;
            }
            let in_stage: Vec<&DryRun> = dry_runs
                .iter()
                .filter(|r| r.desired.stage() == stage)
                .collect();
            let outcomes: Vec<Result<(String, Action), ApplyError>> =
                futures::stream::iter(in_stage)
                    .map(|r| {
                        let masker = &masker;
                        async move {
                            if r.action != Action::Unchanged {
                                match self.write(&r.desired, false, options.force, masker).await {
                                    Ok(_) => {}
                                    Err(ApplyError::Api { code: 409, .. })
                                        if r.desired.mode == WriteMode::CreateOnce => {}
                                    Err(e) => return Err(e),
                                }
                            }
                            Ok((r.desired.display(), r.action))
                        }
                    })
                    .buffered(options.concurrency.max(1))
                    .collect()
                    .await;
            let mut errors = Vec::new();
            for outcome in outcomes {
                match outcome {
                    Ok((name, action)) => {
                        if action != Action::Unchanged {
                            written += 1;
                        }
                        report.objects.push((name, action));
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return Err(ApplyError::ApplyFailed {
                    applied: written,
                    errors,
                });
            }
            if matches!(stage, Stage::Workload | Stage::Release) {
                let workloads: Vec<&Desired> = plan.stage(stage).collect();
                wait::wait_for(self, &workloads, options.timeout, options.progress, &masker)
                    .await?;
            }
        }

        if let Some(helm) = &helm {
            report.release = Some(if helm.is_current(&rendered.helm, &masker).await? {
                format!(
                    "Helm release {}/{} unchanged (chart {} {}, same values)",
                    rendered.helm.namespace,
                    rendered.helm.release_name,
                    rendered.helm.chart,
                    rendered.helm.version
                )
            } else {
                helm.upgrade_install(&rendered.helm, false, options.timeout, &masker)
                    .await?
            });
        }

        if options.prune {
            for (kind, object) in self.stale_members(&plan, &widened, &masker).await? {
                let name = self.delete(kind, &object, false, &masker).await?;
                report.objects.push((name, Action::Pruned));
            }
            let parent = self.live_parent(&plan, &masker).await?;
            self.write_parent(&plan, parent.as_ref(), &current, false, &masker)
                .await?;
        }
        Ok(report)
    }

    /// Compares the server dry-run of every object with the live object.
    pub async fn diff(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
    ) -> Result<DiffReport, ApplyError> {
        self.diff_with_env(rendered, options, &|v| std::env::var(v).ok())
            .await
    }

    /// [`Cluster::diff`] with an explicit environment lookup.
    pub async fn diff_with_env(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DiffReport, ApplyError> {
        let (masker, plan) = plan_with_env(rendered, options, env)?;
        let (parent, dry_runs) = self.preflight(&plan, options, &masker).await?;
        let mut report = DiffReport::default();
        for r in &dry_runs {
            if r.action == Action::Unchanged {
                continue;
            }
            if let Some(d) =
                ObjectDiff::new(&r.desired.display(), r.live.as_ref(), &r.result, &masker)
            {
                report.diffs.push(d);
            }
            if !r.validated {
                report.notes.push(format!(
                    "{}: namespace does not exist yet, the server could not dry-run it",
                    r.desired.display()
                ));
            }
        }
        if let Some(parent) = &parent {
            let listed = applyset::listed_group_kinds(parent);
            let widened: BTreeSet<String> = listed.union(&plan.group_kinds()).cloned().collect();
            for (kind, object) in self.stale_members(&plan, &widened, &masker).await? {
                let (_, ns, name) = plan::identity_of(&object);
                report.prunable.push(format!("{} {ns}/{name}", kind.kind));
            }
        }
        if options.release == ReleaseMode::Helm {
            report.notes.push(format!(
                "the Helm release {} is not diffed (use the helm-diff plugin, or --flux to diff it as objects)",
                rendered.helm.release_name
            ));
        }
        Ok(report)
    }

    /// Deletes everything gatehouse deployed: the gateway release, every ApplySet member (in
    /// reverse apply order, never objects with ownerReferences) and the parent. The Namespace and
    /// the PersistentVolumeClaims of the StatefulSets (Redis data) are kept.
    pub async fn destroy(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
    ) -> Result<Vec<String>, ApplyError> {
        let masker = Masker::default();
        let plan = Plan::new(rendered, Vec::new(), options.release);
        let mut removed = Vec::new();
        if options.release == ReleaseMode::Helm && !options.skip_release {
            let helm = helm::Helm::locate(
                options.helm.clone(),
                self.context.clone(),
                self.kubeconfig.clone(),
            )?;
            if let Some(line) = helm
                .uninstall(&rendered.helm, options.timeout, &masker)
                .await?
            {
                removed.push(line);
            }
        }
        let parent = self.live_parent(&plan, &masker).await?;
        let Some(parent) = parent else {
            return Ok(removed);
        };
        let kinds: BTreeSet<String> = applyset::listed_group_kinds(&parent)
            .union(&plan.group_kinds())
            .cloned()
            .collect();
        let empty = Plan {
            objects: Vec::new(),
            ..plan.clone()
        };
        let stale = self.stale_members(&empty, &kinds, &masker).await?;
        let mut by_stage: BTreeMap<std::cmp::Reverse<Stage>, Vec<(&'static KindInfo, Value)>> =
            BTreeMap::new();
        for (kind, object) in stale {
            by_stage
                .entry(std::cmp::Reverse(kind.stage))
                .or_default()
                .push((kind, object));
        }
        for (_, objects) in by_stage {
            let names: Vec<String> = futures::stream::iter(objects)
                .map(|(kind, object)| {
                    let masker = &masker;
                    async move { self.delete(kind, &object, options.dry_run, masker).await }
                })
                .buffered(options.concurrency.max(1))
                .try_collect()
                .await?;
            removed.extend(names);
        }
        let secret = KindInfo::of("v1", "Secret").expect("Secret");
        removed.push(
            self.delete(secret, &parent, options.dry_run, &masker)
                .await?,
        );
        Ok(removed)
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }
}

fn to_value(object: DynamicObject) -> Value {
    serde_json::to_value(object).expect("objects serialize")
}

fn managed_by_us(live: &Value) -> bool {
    live["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|m| m.iter().any(|e| e["manager"] == FIELD_MANAGER))
}

fn one_or_many(mut errors: Vec<ApplyError>) -> Result<(), ApplyError> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(ApplyError::DryRunFailed(errors)),
    }
}

/// The plan for rendered output, with the values of `from: env` secret sources looked up in `env`
/// (and registered with the returned masker). Local only: talks to no cluster.
fn plan_with_env(
    rendered: &Rendered,
    options: &DeployOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Masker, Plan), ApplyError> {
    let mut masker = Masker::default();
    let secret_actions = secrets::plan_secrets(&rendered.secrets, env, &mut masker)?;
    let plan = Plan::new(rendered, secret_actions, options.release);
    Ok((masker, plan))
}
