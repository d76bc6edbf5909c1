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
use serde_json::Value;

mod live;
mod prerequisites;

use live::{Live, foreign_owner, managed_by_us};

use crate::error::ForeignObject;
use crate::secrets::Masker;
use crate::{
    Action, ApplyError, Cluster, DeployOptions, Desired, ObjectKind, Plan, ReleaseMode, Stage,
    WriteMode, normalize,
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
pub(super) type Identity = (String, String, String);

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
            match self
                .get_object(kind, Some(&gateway.namespace), &gateway.deployment, masker)
                .await
            {
                Ok(found) => found,
                Err(e) => {
                    errors.push(e);
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
}
