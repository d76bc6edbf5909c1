//! The checks `deploy` and `diff` share before anything is written: existing Secrets, Flux APIs,
//! the live ApplySet parent, and a GET plus server dry-run of every object.

use std::collections::BTreeSet;

use futures::StreamExt;
use serde_json::Value;

use crate::FIELD_MANAGER;
use crate::connection::to_value;
use crate::secrets::Masker;
use crate::{
    Action, ApplyError, Cluster, DeployOptions, Desired, KindInfo, Plan, ReleaseMode, Stage, Verb,
    WriteMode, applyset, normalize,
};

/// Outcome of the dry-run of one object.
pub(crate) struct DryRun {
    pub(crate) desired: Desired,
    pub(crate) live: Option<Value>,
    pub(crate) result: Value,
    pub(crate) action: Action,
    pub(crate) validated: bool,
}

impl Cluster {
    /// The checks `deploy` and `diff` share, none of which writes: existing Secrets, Flux APIs, the
    /// live ApplySet parent, and a server dry-run of every object.
    pub(crate) async fn preflight(
        &self,
        plan: &Plan,
        options: &DeployOptions,
        masker: &Masker,
    ) -> Result<(Option<Value>, Vec<DryRun>), ApplyError> {
        crate::events::emit(&options.events, || crate::Event::Preflight {
            objects: plan.objects.len(),
        });
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

    pub(crate) async fn check_existing_secrets(
        &self,
        plan: &Plan,
        masker: &Masker,
    ) -> Result<(), ApplyError> {
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
    pub(crate) async fn check_flux(&self, plan: &Plan) -> Result<(), ApplyError> {
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
    pub(crate) async fn dry_run_all(
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

    pub(crate) async fn live_parent(
        &self,
        plan: &Plan,
        masker: &Masker,
    ) -> Result<Option<Value>, ApplyError> {
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
