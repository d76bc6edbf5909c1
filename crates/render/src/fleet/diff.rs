//! What a fleet change does, per cluster and wave: which files change and which pods roll.
//!
//! The comparison is between a rendered fleet and the directory rendered before (what is
//! committed). Kubernetes rolls a StatefulSet's pods when its pod template changes; gatehouse puts
//! the digest of exactly the config each pod reads on its template (`gatehouse/config-sha256`), so
//! comparing the templates says which of the data nodes and the Sentinels roll. The gateway rolls
//! through a Helm upgrade when its chart version or values change.

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_model::ValidFleet;
use serde::Serialize;
use serde_json::Value;

use super::cluster_dir;
use crate::Names;

/// Pods that roll on one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Roll {
    /// The Redis data nodes (their StatefulSet's pod template changes).
    DataNodes,
    /// The Sentinels.
    Sentinels,
    /// The gateway (a Helm upgrade: chart version or values change).
    Gateway,
}

impl Roll {
    /// The words a report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Roll::DataNodes => "Redis data nodes",
            Roll::Sentinels => "Sentinels",
            Roll::Gateway => "gateway",
        }
    }
}

/// What changes on one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterChange {
    /// The cluster's name.
    pub cluster: String,
    /// Its wave.
    pub wave: u32,
    /// A cluster the previous directory did not have.
    pub new: bool,
    /// Files of the cluster's directory that are added, changed or removed (relative to it).
    pub files: Vec<String>,
    /// The pods that roll.
    pub rolls: BTreeSet<Roll>,
}

/// The change of a whole fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetChange {
    /// Every cluster of the fleet, by wave then in the order written (unchanged ones included,
    /// with no files).
    pub clusters: Vec<ClusterChange>,
    /// Clusters of the previous directory that the fleet no longer has.
    pub removed: Vec<String>,
    /// Files outside the cluster directories (the engine's objects) that change.
    pub engine_files: Vec<String>,
}

impl FleetChange {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty()
            && self.engine_files.is_empty()
            && self.clusters.iter().all(|c| c.files.is_empty())
    }

    /// The clusters of one wave.
    pub fn wave(&self, wave: u32) -> impl Iterator<Item = &ClusterChange> {
        self.clusters.iter().filter(move |c| c.wave == wave)
    }
}

/// Compares `new` (the files [`super::fleet_files`] gives for `fleet`) with `old` (the files of the
/// directory as rendered before, by relative path).
pub fn fleet_change(
    fleet: &ValidFleet,
    new: &BTreeMap<String, String>,
    old: &BTreeMap<String, String>,
) -> FleetChange {
    let changed: BTreeSet<&String> = new
        .keys()
        .chain(old.keys())
        .filter(|path| new.get(*path) != old.get(*path))
        .collect();
    let mut clusters: Vec<ClusterChange> = fleet
        .clusters()
        .iter()
        .map(|c| {
            let dir = format!("{}/", cluster_dir(&c.cluster.name));
            let files: Vec<String> = changed
                .iter()
                .filter_map(|p| p.strip_prefix(&dir).map(str::to_string))
                .collect();
            let new_cluster = !old.keys().any(|p| p.starts_with(&dir));
            let names = Names::of(&c.deployment);
            let mut rolls = BTreeSet::new();
            for file in &files {
                let path = format!("{dir}{file}");
                let (before, after) = (old.get(&path), new.get(&path));
                if let Some(name) = statefulset_in(file) {
                    if pod_template(before) != pod_template(after) {
                        if name == names.data_statefulset {
                            rolls.insert(Roll::DataNodes);
                        } else if name == names.sentinel_statefulset {
                            rolls.insert(Roll::Sentinels);
                        }
                    }
                } else if file.contains("-helmrelease-") || file == crate::gitops::VALUES_FILE {
                    rolls.insert(Roll::Gateway);
                }
            }
            ClusterChange {
                cluster: c.cluster.name.clone(),
                wave: c.cluster.wave,
                new: new_cluster,
                files,
                rolls,
            }
        })
        .collect();
    clusters.sort_by_key(|c| c.wave);
    let known: BTreeSet<&str> = fleet
        .clusters()
        .iter()
        .map(|c| c.cluster.name.as_str())
        .collect();
    let prefix = format!("{}/", super::CLUSTERS_DIR);
    let removed: BTreeSet<String> = old
        .keys()
        .filter_map(|p| p.strip_prefix(&prefix)?.split('/').next())
        .filter(|name| !known.contains(name))
        .map(str::to_string)
        .collect();
    FleetChange {
        clusters,
        removed: removed.into_iter().collect(),
        engine_files: changed
            .into_iter()
            .filter(|p| !p.starts_with(&prefix))
            .cloned()
            .collect(),
    }
}

/// The StatefulSet a cluster file holds, from its name (`<tier>-statefulset-<name>.yaml`).
fn statefulset_in(file: &str) -> Option<&str> {
    let (_, rest) = file.split_once("-statefulset-")?;
    rest.strip_suffix(".yaml")
}

/// `spec.template` of a StatefulSet file (`None`: no file, or not a StatefulSet).
fn pod_template(text: Option<&String>) -> Option<Value> {
    let object: Value = serde_saphyr::from_str(text?).ok()?;
    object.pointer("/spec/template").cloned()
}
