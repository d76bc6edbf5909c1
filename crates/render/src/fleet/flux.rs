//! The fleet's Flux objects: a `GitRepository`, one `Kustomization` per cluster and one per wave
//! boundary. Flux's `dependsOn` holds a Kustomization until its dependencies are Ready, and a
//! Kustomization with health checks is Ready only once they pass, so wave n + 1 starts when every
//! cluster of wave n runs healthy.

use std::collections::BTreeMap;

use gatehouse_model::{ValidCluster, ValidFleet};
use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};

use super::{WAVE_LABEL, cluster_object_name, in_repository, metadata, with_kustomization};
use crate::crds::flux::{
    GitRepository, GitRepositorySpec, GitRepositorySpecRef, HelmRelease, Kustomization,
    KustomizationSpec, KustomizationSpecDependsOn, KustomizationSpecHealthChecks,
    KustomizationSpecKubeConfig, KustomizationSpecKubeConfigSecretRef, KustomizationSpecSourceRef,
    KustomizationSpecSourceRefKind,
};
use crate::{KubeObject, Names, Rendered};

/// The directory of the hub's objects.
pub const FLUX_DIR: &str = "flux";
/// Flux's namespace when the fleet names none.
pub const DEFAULT_NAMESPACE: &str = "flux-system";
/// How often Flux fetches the repository.
const SOURCE_INTERVAL: &str = "1m";
/// How often Flux reconciles a cluster, and how long its health checks may take.
const CLUSTER_INTERVAL: &str = "10m";
/// A directory that builds to nothing: what a wave's Kustomization applies.
const EMPTY_DIR: &str = "waves/empty";

fn namespace(fleet: &ValidFleet) -> &str {
    fleet
        .fleet()
        .gitops
        .namespace
        .as_deref()
        .unwrap_or(DEFAULT_NAMESPACE)
}

/// The Kustomization of wave `n`: Ready once every cluster of the wave is.
fn wave_name(fleet: &ValidFleet, wave: u32) -> String {
    // `--` cannot start a cluster's part of `<fleet>-<cluster>` (a cluster name starts with a
    // letter or digit), so a wave's name never equals a cluster's.
    format!("{}--wave-{wave}", fleet.fleet().name)
}

fn source_ref(fleet: &ValidFleet) -> KustomizationSpecSourceRef {
    KustomizationSpecSourceRef {
        kind: KustomizationSpecSourceRefKind::GitRepository,
        name: fleet.fleet().name.clone(),
    }
}

fn health_checks(
    cluster: &ValidCluster,
    rendered: &Rendered,
) -> Vec<KustomizationSpecHealthChecks> {
    let names = Names::of(&cluster.deployment);
    let check = |api_version: &str, kind: &str, name: &str| KustomizationSpecHealthChecks {
        api_version: Some(api_version.to_string()),
        kind: kind.to_string(),
        name: name.to_string(),
        namespace: Some(names.namespace.clone()),
    };
    vec![
        check(
            StatefulSet::API_VERSION,
            StatefulSet::KIND,
            &names.data_statefulset,
        ),
        check(
            StatefulSet::API_VERSION,
            StatefulSet::KIND,
            &names.sentinel_statefulset,
        ),
        check(
            Deployment::API_VERSION,
            Deployment::KIND,
            &names.gateway_deployment(),
        ),
        check(
            HelmRelease::API_VERSION,
            HelmRelease::KIND,
            &rendered.helm.release_name,
        ),
    ]
}

/// The hub's objects, by file name under `flux/`.
pub(super) fn objects(fleet: &ValidFleet, rendered: &[Rendered]) -> Vec<(String, KubeObject)> {
    let ns = namespace(fleet);
    let mut objects = Vec::new();
    let source = &fleet.fleet().gitops;
    objects.push((
        "gitrepository.yaml".to_string(),
        KubeObject::GitRepository(GitRepository {
            metadata: metadata(fleet.fleet().name.clone(), ns, &[]),
            spec: GitRepositorySpec {
                interval: SOURCE_INTERVAL.into(),
                url: source.repository.clone().unwrap_or_default(),
                r#ref: Some(GitRepositorySpecRef {
                    branch: Some(source.branch.clone()),
                }),
            },
        }),
    ));
    for (cluster, rendered) in fleet.clusters().iter().zip(rendered) {
        let c = &cluster.cluster;
        let depends_on = (c.wave > 1).then(|| {
            vec![KustomizationSpecDependsOn {
                name: wave_name(fleet, c.wave - 1),
            }]
        });
        let kustomization = Kustomization {
            metadata: metadata(
                cluster_object_name(fleet, cluster),
                ns,
                &[(WAVE_LABEL, c.wave.to_string())],
            ),
            spec: KustomizationSpec {
                interval: CLUSTER_INTERVAL.into(),
                timeout: Some(CLUSTER_INTERVAL.into()),
                path: Some(format!(
                    "./{}",
                    in_repository(fleet, &super::cluster_dir(&c.name))
                )),
                prune: true,
                source_ref: source_ref(fleet),
                depends_on,
                health_checks: Some(health_checks(cluster, rendered)),
                kube_config: c.flux_kube_config.as_ref().map(|secret| {
                    KustomizationSpecKubeConfig {
                        secret_ref: Some(KustomizationSpecKubeConfigSecretRef {
                            name: secret.name.clone(),
                            key: secret.key.clone(),
                        }),
                    }
                }),
            },
        };
        objects.push((
            format!("clusters/{}.yaml", c.name),
            KubeObject::Kustomization(kustomization),
        ));
    }
    // A wave boundary: Ready once every cluster of the wave is; the next wave depends on it.
    for wave in 1..fleet.last_wave() {
        let gate = Kustomization {
            metadata: metadata(
                wave_name(fleet, wave),
                ns,
                &[(WAVE_LABEL, wave.to_string())],
            ),
            spec: KustomizationSpec {
                interval: CLUSTER_INTERVAL.into(),
                timeout: None,
                path: Some(format!(
                    "./{}",
                    in_repository(fleet, &format!("{FLUX_DIR}/{EMPTY_DIR}"))
                )),
                prune: false,
                source_ref: source_ref(fleet),
                depends_on: Some(
                    fleet
                        .wave(wave)
                        .map(|c| KustomizationSpecDependsOn {
                            name: cluster_object_name(fleet, c),
                        })
                        .collect(),
                ),
                health_checks: None,
                kube_config: None,
            },
        };
        objects.push((
            format!("waves/{wave}.yaml"),
            KubeObject::Kustomization(gate),
        ));
    }
    objects
}

/// Every file under `flux/`.
pub(super) fn files(fleet: &ValidFleet, rendered: &[Rendered]) -> BTreeMap<String, String> {
    let mut files = with_kustomization(FLUX_DIR, objects(fleet, rendered));
    files.insert(
        format!("{FLUX_DIR}/{EMPTY_DIR}/kustomization.yaml"),
        crate::gitops::kustomization_yaml(&[]),
    );
    files
}
