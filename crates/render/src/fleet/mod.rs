//! A fleet as a GitOps repository: one directory per cluster with its objects and gateway
//! release, plus the engine's own objects that roll the clusters out wave by wave.
//!
//! Layout (paths relative to the rendered directory, committed at `gitops.path` of the fleet):
//! - `clusters/<name>/`: the cluster's objects and `kustomization.yaml`; for Flux also its
//!   `HelmRepository` and `HelmRelease` (as `render --gitops` writes them), for Argo CD its
//!   `values.yaml`, which the Application's chart source reads;
//! - Flux, `flux/`: the fleet's `GitRepository`, one `Kustomization` per cluster
//!   (`flux/clusters/<name>.yaml`: the cluster's path, its kubeconfig Secret, health checks on the
//!   two Redis StatefulSets, the gateway Deployment and its HelmRelease) and one per wave
//!   (`flux/waves/<n>.yaml`, depending on every cluster of the wave); each cluster of wave n + 1
//!   depends on wave n's, so adding a cluster changes its wave's file, not another cluster's;
//! - Argo CD, `argocd/`: an `AppProject` (the repository, the chart repository, each cluster's
//!   namespace) and an `ApplicationSet` whose list generator has one element per cluster and whose
//!   `RollingSync` strategy has one step per wave (matched on the Applications' `wave` label).
//!
//! Pure like [`crate::render`]: the same fleet gives the same bytes.
//!
//! ```
//! let yaml = "
//! gitops: {repository: https://git.example.com/platform.git}
//! base:
//!   gateway:
//!     licenseKey: {from: existingSecret, name: gravitee, key: license}
//!     cloudToken: {from: existingSecret, name: gravitee, key: token}
//! clusters:
//!   - {name: eu, wave: 1}
//!   - {name: us, wave: 2, overrides: {redis: {replicas: 3}}}
//! ";
//! let fleet = gatehouse_model::fleet_from_yaml_str(yaml, "fleet.yaml").unwrap();
//! let valid = fleet.validated(gatehouse_model::Delivery::ArgoCd).unwrap();
//! let files = gatehouse_render::fleet::fleet_files(&valid);
//! assert!(files.contains_key("clusters/us/values.yaml"));
//! assert!(files["argocd/applicationset.yaml"].contains("RollingSync"));
//! ```

mod argocd;
pub mod diff;
mod flux;

use std::collections::BTreeMap;

use gatehouse_model::{Delivery, ValidCluster, ValidFleet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::names::labels;
use crate::{KubeObject, Rendered};

/// The directory holding one directory per cluster.
pub const CLUSTERS_DIR: &str = "clusters";

/// The label (on Argo CD Applications) and list-element key holding a cluster's wave.
pub const WAVE_LABEL: &str = "wave";
/// The label and list-element key holding a cluster's name.
pub const CLUSTER_LABEL: &str = "cluster";

/// Every file of the fleet's GitOps directory, by relative path, for the engine the fleet was
/// validated for (a fleet validated for direct delivery gets the cluster directories alone, as
/// `render --gitops` writes them).
pub fn fleet_files(fleet: &ValidFleet) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let rendered: Vec<Rendered> = fleet
        .clusters()
        .iter()
        .map(|c| crate::render(&c.deployment))
        .collect();
    for (cluster, rendered) in fleet.clusters().iter().zip(&rendered) {
        let own = match fleet.delivery() {
            Delivery::ArgoCd => crate::gitops::argocd_files(rendered),
            _ => crate::gitops::gitops_files(rendered),
        };
        let dir = cluster_dir(&cluster.cluster.name);
        files.extend(
            own.into_iter()
                .map(|(name, text)| (format!("{dir}/{name}"), text)),
        );
    }
    match fleet.delivery() {
        Delivery::Flux => files.extend(flux::files(fleet, &rendered)),
        Delivery::ArgoCd => files.extend(argocd::files(fleet, &rendered)),
        _ => {}
    }
    files
}

/// The engine's own objects (Flux's GitRepository and Kustomizations, Argo CD's AppProject and
/// ApplicationSet) as [`fleet_files`] writes them; none for direct delivery.
pub fn engine_objects(fleet: &ValidFleet) -> Vec<KubeObject> {
    let rendered: Vec<Rendered> = fleet
        .clusters()
        .iter()
        .map(|c| crate::render(&c.deployment))
        .collect();
    let objects = match fleet.delivery() {
        Delivery::Flux => flux::objects(fleet, &rendered),
        Delivery::ArgoCd => argocd::objects(fleet, &rendered),
        _ => Vec::new(),
    };
    objects.into_iter().map(|(_, object)| object).collect()
}

/// `clusters/<name>`.
pub fn cluster_dir(name: &str) -> String {
    format!("{CLUSTERS_DIR}/{name}")
}

/// The rendered directory's place in the repository (`gitops.path`), without leading `./` or
/// trailing `/`; empty for the repository's root.
fn repository_dir(fleet: &ValidFleet) -> String {
    let path = fleet.fleet().gitops.path.trim();
    let path = path.trim_start_matches("./").trim_matches('/');
    if path == "." {
        String::new()
    } else {
        path.to_string()
    }
}

/// `<repository dir>/<relative>` as a path inside the repository.
fn in_repository(fleet: &ValidFleet, relative: &str) -> String {
    match repository_dir(fleet) {
        dir if dir.is_empty() => relative.to_string(),
        dir => format!("{dir}/{relative}"),
    }
}

/// The name of a cluster's engine object (`Kustomization`, Application): `<fleet>-<cluster>`.
pub fn cluster_object_name(fleet: &ValidFleet, cluster: &ValidCluster) -> String {
    format!("{}-{}", fleet.fleet().name, cluster.cluster.name)
}

/// Metadata of an engine object in the engine's namespace.
fn metadata(name: String, namespace: &str, extra: &[(&str, String)]) -> ObjectMeta {
    let mut labels = BTreeMap::from([(
        labels::MANAGED_BY.to_string(),
        labels::GATEHOUSE.to_string(),
    )]);
    labels.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    ObjectMeta {
        name: Some(name),
        namespace: Some(namespace.to_string()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

/// One file per object plus a `kustomization.yaml` listing them, under `dir`.
fn with_kustomization(dir: &str, objects: Vec<(String, KubeObject)>) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut resources = Vec::new();
    for (name, object) in objects {
        files.insert(format!("{dir}/{name}"), crate::yaml::to_yaml(&object));
        resources.push(name);
    }
    files.insert(
        format!("{dir}/kustomization.yaml"),
        crate::gitops::kustomization_yaml(&resources),
    );
    files
}
