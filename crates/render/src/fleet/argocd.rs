//! The fleet's Argo CD objects: an `AppProject` fencing what the fleet's Applications may do, and
//! an `ApplicationSet` making one Application per cluster (list generator) and syncing them wave
//! by wave (`RollingSync`: a step waits until the Applications of the step before are Healthy).
//!
//! Each Application has three sources: the cluster's directory (its objects, built with
//! kustomize), the gateway chart at the cluster's version with the cluster's `values.yaml`, and
//! the repository again as `$values`, which is how Argo CD reads a values file from Git for a
//! chart from a Helm repository.

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_model::ValidFleet;
use serde::Serialize;

use super::{CLUSTER_LABEL, WAVE_LABEL, in_repository, metadata, with_kustomization};
use crate::crds::argocd::{
    AppProject, AppProjectSpec, AppProjectSpecClusterResourceWhitelist, AppProjectSpecDestinations,
    ApplicationSet, ApplicationSetSpec, ApplicationSetSpecGenerators,
    ApplicationSetSpecGeneratorsList, ApplicationSetSpecStrategy,
    ApplicationSetSpecStrategyRollingSync, ApplicationSetSpecStrategyRollingSyncSteps,
    ApplicationSetSpecStrategyRollingSyncStepsMatchExpressions, ApplicationSetSpecSyncPolicy,
    ApplicationSetSpecTemplate, ApplicationSetSpecTemplateMetadata, ApplicationSetSpecTemplateSpec,
    ApplicationSetSpecTemplateSpecDestination, ApplicationSetSpecTemplateSpecSources,
    ApplicationSetSpecTemplateSpecSourcesHelm, ApplicationSetSpecTemplateSpecSyncPolicy,
};
use crate::names::labels;
use crate::{KINDS, KubeObject, Rendered};

/// The directory of the Argo CD objects.
pub const ARGOCD_DIR: &str = "argocd";
/// Argo CD's namespace when the fleet names none.
pub const DEFAULT_NAMESPACE: &str = "argocd";
/// The name the Application's repository source is referred to by in value file paths.
const VALUES_REF: &str = "values";

/// One element of the list generator: what the Application template reads for one cluster.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Element<'a> {
    cluster: &'a str,
    wave: String,
    destination: &'a str,
    namespace: &'a str,
    release_name: &'a str,
    chart_version: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

/// A Go template reading one key of the element.
fn field(key: &str) -> String {
    format!("{{{{.{key}}}}}")
}

fn namespace(fleet: &ValidFleet) -> &str {
    fleet
        .fleet()
        .gitops
        .namespace
        .as_deref()
        .unwrap_or(DEFAULT_NAMESPACE)
}

fn project(fleet: &ValidFleet, rendered: &[Rendered]) -> AppProject {
    let repository = fleet.fleet().gitops.repository.clone().unwrap_or_default();
    let destinations: BTreeSet<(&str, &str)> = fleet
        .clusters()
        .iter()
        .zip(rendered)
        .map(|(c, r)| (c.cluster.argocd_destination(), r.helm.namespace.as_str()))
        .collect();
    // The cluster-scoped kinds among the rendered objects (the Namespace).
    let cluster_scoped: BTreeSet<(&str, &str)> = KINDS
        .iter()
        .filter(|k| !k.namespaced && !k.custom)
        .map(|k| (k.group, k.kind))
        .collect();
    AppProject {
        metadata: metadata(fleet.fleet().name.clone(), namespace(fleet), &[]),
        spec: AppProjectSpec {
            description: Some(format!(
                "gatehouse fleet {}: one gateway and Redis group per cluster",
                fleet.fleet().name
            )),
            source_repos: Some(vec![repository, crate::helm::CHART_REPOSITORY.to_string()]),
            destinations: Some(
                destinations
                    .into_iter()
                    .map(|(name, namespace)| AppProjectSpecDestinations {
                        name: Some(name.to_string()),
                        namespace: Some(namespace.to_string()),
                    })
                    .collect(),
            ),
            cluster_resource_whitelist: Some(
                cluster_scoped
                    .into_iter()
                    .map(|(group, kind)| AppProjectSpecClusterResourceWhitelist {
                        group: group.to_string(),
                        kind: kind.to_string(),
                    })
                    .collect(),
            ),
        },
    }
}

fn application_set(fleet: &ValidFleet, rendered: &[Rendered]) -> ApplicationSet {
    let source = &fleet.fleet().gitops;
    let repository = source.repository.clone().unwrap_or_default();
    let cluster_dir = in_repository(fleet, &super::cluster_dir(&field(CLUSTER_LABEL)));
    let elements = fleet
        .clusters()
        .iter()
        .zip(rendered)
        .map(|(c, r)| {
            serde_json::to_value(Element {
                cluster: &c.cluster.name,
                wave: c.cluster.wave.to_string(),
                destination: c.cluster.argocd_destination(),
                namespace: &r.helm.namespace,
                release_name: &r.helm.release_name,
                chart_version: &r.helm.version,
                labels: &c.cluster.labels,
            })
            .expect("an element serializes")
        })
        .collect();
    let git =
        |path: Option<String>, reference: Option<&str>| ApplicationSetSpecTemplateSpecSources {
            repo_url: repository.clone(),
            target_revision: Some(source.branch.clone()),
            path,
            chart: None,
            r#ref: reference.map(str::to_string),
            helm: None,
        };
    let chart = ApplicationSetSpecTemplateSpecSources {
        repo_url: crate::helm::CHART_REPOSITORY.to_string(),
        target_revision: Some(field("chartVersion")),
        path: None,
        chart: Some(crate::helm::CHART_NAME.to_string()),
        r#ref: None,
        helm: Some(ApplicationSetSpecTemplateSpecSourcesHelm {
            release_name: Some(field("releaseName")),
            value_files: Some(vec![format!(
                "${VALUES_REF}/{cluster_dir}/{}",
                crate::gitops::VALUES_FILE
            )]),
        }),
    };
    let steps = (1..=fleet.last_wave())
        .map(|wave| ApplicationSetSpecStrategyRollingSyncSteps {
            match_expressions: Some(vec![
                ApplicationSetSpecStrategyRollingSyncStepsMatchExpressions {
                    key: Some(WAVE_LABEL.to_string()),
                    operator: Some("In".to_string()),
                    values: Some(vec![wave.to_string()]),
                },
            ]),
        })
        .collect();
    ApplicationSet {
        metadata: metadata(fleet.fleet().name.clone(), namespace(fleet), &[]),
        spec: ApplicationSetSpec {
            go_template: Some(true),
            go_template_options: Some(vec!["missingkey=error".to_string()]),
            generators: vec![ApplicationSetSpecGenerators {
                list: Some(ApplicationSetSpecGeneratorsList {
                    elements: Some(elements),
                }),
            }],
            strategy: Some(ApplicationSetSpecStrategy {
                r#type: Some("RollingSync".to_string()),
                rolling_sync: Some(ApplicationSetSpecStrategyRollingSync { steps: Some(steps) }),
            }),
            // Deleting the ApplicationSet (or a cluster from it) leaves the gateways running.
            sync_policy: Some(ApplicationSetSpecSyncPolicy {
                preserve_resources_on_deletion: Some(true),
            }),
            template: ApplicationSetSpecTemplate {
                metadata: ApplicationSetSpecTemplateMetadata {
                    name: Some(format!("{}-{}", fleet.fleet().name, field(CLUSTER_LABEL))),
                    labels: Some(BTreeMap::from([
                        (
                            labels::MANAGED_BY.to_string(),
                            labels::GATEHOUSE.to_string(),
                        ),
                        (WAVE_LABEL.to_string(), field(WAVE_LABEL)),
                        (CLUSTER_LABEL.to_string(), field(CLUSTER_LABEL)),
                    ])),
                },
                spec: ApplicationSetSpecTemplateSpec {
                    project: fleet.fleet().name.clone(),
                    destination: ApplicationSetSpecTemplateSpecDestination {
                        name: Some(field("destination")),
                        namespace: Some(field("namespace")),
                    },
                    sources: Some(vec![
                        git(Some(cluster_dir.clone()), None),
                        chart,
                        git(None, Some(VALUES_REF)),
                    ]),
                    sync_policy: Some(ApplicationSetSpecTemplateSpecSyncPolicy {
                        sync_options: Some(vec!["ServerSideApply=true".to_string()]),
                    }),
                },
            },
        },
    }
}

/// The Argo CD objects, by file name under `argocd/`.
pub(super) fn objects(fleet: &ValidFleet, rendered: &[Rendered]) -> Vec<(String, KubeObject)> {
    vec![
        (
            "appproject.yaml".into(),
            KubeObject::AppProject(project(fleet, rendered)),
        ),
        (
            "applicationset.yaml".into(),
            KubeObject::ApplicationSet(application_set(fleet, rendered)),
        ),
    ]
}

/// Every file under `argocd/`.
pub(super) fn files(fleet: &ValidFleet, rendered: &[Rendered]) -> BTreeMap<String, String> {
    with_kustomization(ARGOCD_DIR, objects(fleet, rendered))
}
