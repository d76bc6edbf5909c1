//! The checks `deploy` and `diff` share before anything is written: existing Secrets, the
//! release's prerequisites, Flux APIs, the live ApplySet parent, who owns the objects that exist,
//! and a server dry-run of every object.
//!
//! Requests: the live objects come from one LIST per kind and namespace (not one GET per object),
//! the same LISTs give the ApplySet members that prune would delete, and objects in a namespace
//! that does not exist yet are not sent (the server would answer 404 for each). A no-op re-deploy
//! therefore costs one dry-run per object plus a constant.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use kube::api::ListParams;
use serde_json::Value;

use crate::FIELD_MANAGER;

/// The Prometheus Operator's API group (`metrics`' monitors and rules).
const MONITORING_GROUP: &str = "monitoring.coreos.com";
use crate::applyset::ApplySet;
use crate::connection::{has_owner, list_item, to_value};
use crate::error::{ForeignObject, Owner};
use crate::plan::group_kind;
use crate::secrets::Masker;
use crate::{
    Action, ApplyError, Cluster, DeployOptions, Desired, ObjectKind, Plan, ReleaseMode, Stage,
    Verb, WriteMode, applyset, normalize, plan,
};

/// Outcome of the dry-run of one object.
pub(crate) struct DryRun {
    pub(crate) desired: Desired,
    pub(crate) live: Option<Value>,
    pub(crate) result: Value,
    pub(crate) action: Action,
    /// The server dry-ran it (false: its namespace does not exist yet, so it was not sent).
    pub(crate) validated: bool,
}

/// What the checks found.
pub(crate) struct Checked {
    /// The live ApplySet parent.
    pub(crate) parent: Option<Value>,
    /// One dry-run per object, in plan order.
    pub(crate) dry_runs: Vec<DryRun>,
    /// Live members of the set that are no longer rendered (never objects with owners), in
    /// reverse apply order.
    pub(crate) stale: Vec<(&'static ObjectKind, Value)>,
    /// Objects that exist and belong to something else (taken over with `adopt`/`force`).
    pub(crate) foreign: Vec<ForeignObject>,
    /// The password rotation steps the plan now writes, those held back, and the gateway's
    /// Secret versions (see [`crate::rotation`]).
    pub(crate) rotation: crate::rotation::Advanced,
}

/// `(group-kind, namespace, name)`.
type Identity = (String, String, String);

/// Who should decide what to do with objects that belong to something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForeignPolicy {
    /// `deploy` (also its dry-run) without adopt/force: refuse with [`ApplyError::NotOurs`].
    Refuse,
    /// `diff`, or adopt/force given: report them in [`Checked::foreign`].
    Report,
}

impl Cluster {
    /// The checks `deploy` and `diff` share, none of which writes. `early` holds problems the
    /// caller found already (e.g. no `helm`), reported together with these.
    /// Before the dry-runs, the plan's password Secrets advance one rotation step where their
    /// value changed and the pod templates get the Secrets' versions ([`crate::rotation`]), from
    /// the live objects read here (no request of their own but a GET per `existingSecret`, which
    /// is read anyway).
    pub(crate) async fn preflight(
        &self,
        plan: &mut Plan,
        options: &DeployOptions,
        masker: &mut Masker,
        early: Vec<ApplyError>,
        policy: ForeignPolicy,
    ) -> Result<Checked, ApplyError> {
        crate::events::emit(&options.events, || crate::Event::Preflight {
            objects: plan.objects.len(),
        });
        let wrote_nothing = policy == ForeignPolicy::Refuse;
        let fail = |errors: Vec<ApplyError>| ApplyError::PreflightFailed {
            errors,
            wrote_nothing,
        };
        let mut errors = early;
        let (existing_errors, mut existing_versions) =
            self.check_existing_secrets(plan, masker).await;
        errors.extend(existing_errors);
        // The TLS Secrets the gateway mounts count like Secrets the user holds: a renewal rolls it.
        let plan_objects: Vec<Value> = plan.objects.iter().map(|d| d.body.clone()).collect();
        let mounted = match self
            .mounted_secrets(&plan.gateway, &plan_objects, masker)
            .await
        {
            Ok(mounted) => mounted,
            Err(e) => {
                errors.push(e);
                Default::default()
            }
        };
        existing_versions.extend(mounted.versions.clone());
        let cert_manager = self.check_cert_manager(plan, masker).await;
        // Without cert-manager the Certificate's own dry-run fails too: that is the same finding.
        let no_cert_manager = cert_manager
            .iter()
            .any(|e| matches!(e, ApplyError::CertManagerMissing { .. }));
        errors.extend(cert_manager);
        if options.release == ReleaseMode::Flux
            && let Err(e) = self.check_flux(plan).await
        {
            errors.push(e);
        }
        if let Err(e) = self.check_monitoring(plan).await {
            errors.push(e);
        }
        let Live {
            parent,
            objects: live,
            new_namespaces,
            stale,
        } = match self.live_objects(plan, options.concurrency, masker).await {
            Ok(found) => found,
            Err(e) => {
                errors.push(e);
                return Err(fail(errors));
            }
        };
        // The gateway's Deployment is read only while a rotation is under way: it is a reader
        // whose roll a step must wait for, and the chart, not gatehouse, writes it.
        let gateway = plan.gateway.clone();
        let rotating = plan.objects.iter().any(|d| {
            d.kind.kind == "Secret"
                && live
                    .get(&(
                        "Secret".into(),
                        d.namespace().unwrap_or_default().into(),
                        d.name().into(),
                    ))
                    .zip(d.body["data"].as_object().and_then(|m| m.keys().next()))
                    .is_some_and(|(l, key)| crate::rotation::under_way(key, l))
        });
        let gateway_live = if rotating && gateway.secrets.iter().next().is_some() {
            let kind = ObjectKind::find("apps/v1", "Deployment").expect("Deployment is a kind");
            let object = format!("Deployment {}/{}", gateway.namespace, gateway.deployment);
            match self
                .api(kind, Some(&gateway.namespace))
                .get_opt(&gateway.deployment)
                .await
            {
                Ok(found) => found.map(|o| list_item(kind, o)),
                Err(e) => {
                    errors.push(self.kube_err(e, &object, Verb::Get, kind, masker));
                    return Err(fail(errors));
                }
            }
        } else {
            None
        };
        let mut advanced = crate::rotation::advance(
            plan,
            &|kind, namespace, name| {
                if kind == "Deployment" {
                    return gateway_live.clone().filter(|_| {
                        (namespace, name) == (&gateway.namespace, &gateway.deployment)
                    });
                }
                let group_kind = if kind == "StatefulSet" {
                    "StatefulSet.apps"
                } else {
                    kind
                };
                live.get(&(
                    group_kind.to_string(),
                    namespace.to_string(),
                    name.to_string(),
                ))
                .cloned()
            },
            &existing_versions,
            masker,
        );
        advanced.gateway_not_after = mounted.not_after;
        if let Some(not_after) = &advanced.gateway_not_after {
            for d in plan
                .objects
                .iter_mut()
                .filter(|d| d.kind.kind == "HelmRelease")
            {
                d.body["spec"]["values"]["gateway"]["podAnnotations"]
                    [crate::gateway_tls::POD_CERTIFICATES_NOT_AFTER] = not_after.clone().into();
            }
        }
        let plan = &*plan;
        let masker = &*masker;
        let foreign: Vec<ForeignObject> = plan
            .objects
            .iter()
            .filter(|d| d.member)
            .filter_map(|d| {
                let object = live.get(&d.identity())?;
                let owner = foreign_owner(object, &plan.applyset.id, &live)?;
                Some(ForeignObject {
                    object: d.display(),
                    owner,
                })
            })
            .collect();
        let adopting = options.adopt || options.force;
        if !foreign.is_empty() && policy == ForeignPolicy::Refuse && !adopting {
            // Conflicts on these objects would only repeat the refusal; other problems come too.
            errors.insert(0, ApplyError::NotOurs(foreign));
            return Err(fail(errors));
        }
        let foreign_names: BTreeSet<&str> = foreign.iter().map(|f| f.object.as_str()).collect();
        let (dry_runs, dry_errors) = self
            .dry_run_all(plan, &live, &new_namespaces, options, masker)
            .await;
        // `diff` without --force: a conflict on an object it already reports as foreign is that
        // same finding again.
        errors.extend(
            dry_errors
                .into_iter()
                .filter(|(object, e)| {
                    let repeated_conflict = matches!(e, ApplyError::Conflict { .. })
                        && foreign_names.contains(object.as_str());
                    let certificate_without_cert_manager =
                        no_cert_manager && object.starts_with("Certificate ");
                    !repeated_conflict && !certificate_without_cert_manager
                })
                .map(|(_, e)| e),
        );
        if !errors.is_empty() {
            return Err(fail(errors));
        }
        Ok(Checked {
            parent,
            dry_runs,
            stale,
            foreign,
            rotation: advanced,
        })
    }

    /// Missing existing Secrets (or keys), one problem each; and the `resourceVersion` of each
    /// one found, by namespace and name (the version its readers' pod templates carry).
    pub(crate) async fn check_existing_secrets(
        &self,
        plan: &Plan,
        masker: &Masker,
    ) -> (Vec<ApplyError>, BTreeMap<(String, String), String>) {
        let kind = plan::secret_kind();
        let mut errors = Vec::new();
        let mut versions = BTreeMap::new();
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
                    if let Some(version) = &secret.metadata.resource_version {
                        versions.insert((namespace.clone(), name.clone()), version.clone());
                    }
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
        (errors, versions)
    }

    /// Checks that the Flux APIs are served.
    pub(crate) async fn check_flux(&self, plan: &Plan) -> Result<(), ApplyError> {
        let kinds = plan.stage(Stage::Release).map(|d| d.kind);
        match self.first_unserved(kinds).await? {
            Some(kind) => Err(ApplyError::FluxMissing {
                group_version: kind.api_version.to_string(),
                kind: kind.kind.into(),
            }),
            None => Ok(()),
        }
    }

    /// Checks that the Prometheus Operator's APIs are served when the plan has its objects
    /// (`metrics` on).
    pub(crate) async fn check_monitoring(&self, plan: &Plan) -> Result<(), ApplyError> {
        let kinds = plan
            .objects
            .iter()
            .map(|d| d.kind)
            .filter(|k| k.group == MONITORING_GROUP);
        match self.first_unserved(kinds).await? {
            Some(kind) => Err(ApplyError::PrometheusOperatorMissing {
                group_version: kind.api_version.to_string(),
                kind: kind.kind.into(),
            }),
            None => Ok(()),
        }
    }

    /// The first of `kinds` the API server does not serve (one discovery request per group
    /// version).
    async fn first_unserved(
        &self,
        kinds: impl Iterator<Item = &'static gatehouse_render::ObjectKind>,
    ) -> Result<Option<&'static gatehouse_render::ObjectKind>, ApplyError> {
        let mut served_lists: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for kind in kinds {
            let gv = kind.api_version;
            if !served_lists.contains_key(gv) {
                let names = match self.client.list_api_group_resources(gv).await {
                    Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
                    Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
                    Err(e) => {
                        return Err(ApplyError::from_kube(
                            e,
                            "API discovery",
                            Verb::Get,
                            gv,
                            &self.server,
                            &|s| s.into(),
                        ));
                    }
                };
                served_lists.insert(gv, names);
            }
            if !served_lists[gv].iter().any(|name| name == kind.plural) {
                return Ok(Some(kind));
            }
        }
        Ok(None)
    }

    /// The live objects the plan names (a GET per cluster-scoped object, one LIST per kind and
    /// namespace for the rest; none in a namespace that does not exist), the ApplySet parent
    /// (from the LIST of Secrets in its namespace, which runs anyway, not a GET of its own), the
    /// namespaces the plan creates, and the stale members of the set (from the same LISTs, plus
    /// one LIST per kind the parent lists that the plan no longer has).
    async fn live_objects(
        &self,
        plan: &Plan,
        concurrency: usize,
        masker: &Masker,
    ) -> Result<Live, ApplyError> {
        let mut live = BTreeMap::new();
        let mut new_namespaces = BTreeSet::new();
        for d in plan.objects.iter().filter(|d| !d.kind.namespaced) {
            match self.get_live(d, masker).await? {
                Some(object) => {
                    live.insert(d.identity(), object);
                }
                None if d.kind.kind == "Namespace" => {
                    new_namespaces.insert(d.name().to_string());
                }
                None => {}
            }
        }
        let set = &plan.applyset;
        // (group-kind, namespace) → kind: one LIST each, in the objects' namespaces and the set's
        // (where prune looks for members). The parent is a Secret in the set's namespace, so
        // Secrets there are always listed.
        let mut lists: BTreeMap<(String, String), &'static ObjectKind> = BTreeMap::new();
        for d in plan.objects.iter().filter(|d| d.kind.namespaced) {
            let namespace = d.namespace().unwrap_or_default().to_string();
            lists.insert((group_kind(d.kind), namespace), d.kind);
            lists.insert((group_kind(d.kind), set.namespace.clone()), d.kind);
        }
        let secret = plan::secret_kind();
        lists.insert((group_kind(secret), set.namespace.clone()), secret);
        lists.retain(|(_, ns), _| !new_namespaces.contains(ns));
        let mut found = self.list_all(&lists, concurrency, masker).await?;
        let parent_identity = (
            "Secret".to_string(),
            set.namespace.clone(),
            set.name.clone(),
        );
        let parent = found
            .iter()
            .find(|(_, value)| plan::identity_of(value) == parent_identity)
            .map(|(_, value)| value.clone());
        let parent = checked_parent(set, parent)?;
        // Kinds the parent lists that the plan no longer has: their members may be stale.
        let listed = parent
            .as_ref()
            .map(applyset::listed_group_kinds)
            .unwrap_or_default();
        let mut more = BTreeMap::new();
        for gk in &listed {
            let kind = plan.kind_of(gk)?;
            let key = (gk.clone(), set.namespace.clone());
            if kind.namespaced && !lists.contains_key(&key) && !new_namespaces.contains(&key.1) {
                more.insert(key, kind);
            }
        }
        found.extend(self.list_all(&more, concurrency, masker).await?);

        let wanted = plan.member_identities();
        let members: BTreeSet<String> = listed.union(&plan.group_kinds()).cloned().collect();
        let mut stale = Vec::new();
        for (kind, value) in found {
            let identity = plan::identity_of(&value);
            let ours = value["metadata"]["labels"][applyset::PART_OF_LABEL] == set.id.as_str();
            if ours
                && !has_owner(&value)
                && identity.1 == set.namespace
                && members.contains(&group_kind(kind))
                && !wanted.contains(&identity)
            {
                stale.push((kind, value.clone()));
            }
            live.insert(identity, value);
        }
        stale.sort_by_key(|(k, v)| (std::cmp::Reverse(k.tier), plan::identity_of(v)));
        Ok(Live {
            parent,
            objects: live,
            new_namespaces,
            stale,
        })
    }

    /// One LIST per `(group-kind, namespace)`, `concurrency` at a time; every item with its kind.
    async fn list_all(
        &self,
        lists: &BTreeMap<(String, String), &'static ObjectKind>,
        concurrency: usize,
        masker: &Masker,
    ) -> Result<Vec<(&'static ObjectKind, Value)>, ApplyError> {
        let batches: Vec<Result<Vec<(&'static ObjectKind, Value)>, ApplyError>> =
            futures::stream::iter(lists)
                .map(|((_, namespace), kind)| async move {
                    let list = match self
                        .api(kind, Some(namespace))
                        .list(&ListParams::default())
                        .await
                    {
                        Ok(list) => list,
                        // A kind the server does not serve (e.g. Flux's, listed by an earlier
                        // `--flux` deploy, after Flux was removed) has no objects.
                        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
                        Err(e) => {
                            return Err(self.kube_err(
                                e,
                                &format!("{} in namespace {namespace}", kind.plural),
                                Verb::List,
                                kind,
                                masker,
                            ));
                        }
                    };
                    Ok(list
                        .items
                        .into_iter()
                        .map(|item| (*kind, list_item(kind, item)))
                        .collect())
                })
                .buffered(concurrency.max(1))
                .collect()
                .await;
        let mut items = Vec::new();
        for batch in batches {
            items.extend(batch?);
        }
        Ok(items)
    }

    /// Dry-runs the write of every object, stage by stage (objects in a namespace the deploy
    /// creates are not sent: the server cannot dry-run them). Errors come with the object.
    async fn dry_run_all(
        &self,
        plan: &Plan,
        live: &BTreeMap<Identity, Value>,
        new_namespaces: &BTreeSet<String>,
        options: &DeployOptions,
        masker: &Masker,
    ) -> (Vec<DryRun>, Vec<(String, ApplyError)>) {
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for stage in Stage::ALL {
            let objects: Vec<Desired> = plan.stage(stage).cloned().collect();
            let outcomes: Vec<Result<DryRun, (String, ApplyError)>> =
                futures::stream::iter(objects)
                    .map(|d| async move {
                        let live = live.get(&d.identity()).cloned();
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
                        if d.namespace().is_some_and(|ns| new_namespaces.contains(ns)) {
                            return Ok(DryRun {
                                result: d.body.clone(),
                                live: None,
                                desired: d,
                                action: Action::Created,
                                validated: false,
                            });
                        }
                        let result = match self.write(&d, true, options.force, masker).await {
                            Ok(r) => r,
                            Err(e) => return Err((d.display(), e)),
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
                            validated: true,
                        })
                    })
                    .buffered(options.concurrency.max(1))
                    .collect()
                    .await;
            for outcome in outcomes {
                match outcome {
                    Ok(r) => results.push(r),
                    Err(e) => errors.push(e),
                }
            }
        }
        (results, errors)
    }

    /// The live ApplySet parent, by a GET of its own (preflight takes it from its LIST).
    pub(crate) async fn live_parent(
        &self,
        plan: &Plan,
        masker: &Masker,
    ) -> Result<Option<Value>, ApplyError> {
        let kind = plan::secret_kind();
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
        checked_parent(set, parent)
    }
}

/// The live objects preflight read.
struct Live {
    /// The ApplySet parent.
    parent: Option<Value>,
    /// Every object listed or read, by identity.
    objects: BTreeMap<Identity, Value>,
    /// Namespaces the plan creates.
    new_namespaces: BTreeSet<String>,
    /// Members of the set that are no longer rendered.
    stale: Vec<(&'static ObjectKind, Value)>,
}

/// The parent, unless another tool manages it.
fn checked_parent(set: &ApplySet, parent: Option<Value>) -> Result<Option<Value>, ApplyError> {
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

/// Who a live object belongs to when it is not the set `id`: another set (its parent looked up
/// among the live Secrets), or nobody (no part-of label). `None` when it is ours.
fn foreign_owner(object: &Value, id: &str, live: &BTreeMap<Identity, Value>) -> Option<Owner> {
    match object["metadata"]["labels"][applyset::PART_OF_LABEL].as_str() {
        Some(other) if other == id => None,
        Some(other) => {
            let parent = live
                .iter()
                .find(|((gk, _, _), v)| {
                    gk == "Secret" && v["metadata"]["labels"][applyset::ID_LABEL] == other
                })
                .map(|((_, ns, name), _)| format!("Secret {ns}/{name}"));
            Some(Owner::ApplySet {
                id: other.to_string(),
                parent,
            })
        }
        None => {
            let mut managers: Vec<String> = object["metadata"]["managedFields"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|e| e["manager"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            managers.dedup();
            Some(Owner::Unlabelled { managers })
        }
    }
}

fn managed_by_us(live: &Value) -> bool {
    live["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|m| m.iter().any(|e| e["manager"] == FIELD_MANAGER))
}
