//! A fleet: one base deployment rolled out to many clusters, each with its own overrides.
//!
//! A [`Fleet`] is data like a [`Deployment`]: a base, a list of [`Cluster`]s (name, labels, wave,
//! how to reach it, and per-cluster overrides), and where its GitOps directory is committed.
//! [`Fleet::validated`] checks the fleet rules and every cluster's merged deployment, for one
//! way of delivering it ([`Delivery`]), and returns a [`ValidFleet`] whose clusters each carry a
//! [`ValidDeployment`], the renderer's input.
//!
//! Overrides are a partial deployment in the deployment's own field names, merged over the base
//! field by field: maps of settings merge, a list or a value replaces, and a choice with a kind
//! (a secret source's `from`, a data volume's or certificate source's `kind`) replaces as a whole.
//!
//! ```
//! use gatehouse_model::{Cluster, Delivery, Fleet};
//! let mut fleet = Fleet::default();
//! fleet.clusters = vec![
//!     Cluster::new("eu-west", 1).with_override(serde_json::json!({"redis": {"replicas": 3}})),
//!     Cluster::new("us-east", 2),
//! ];
//! let valid = fleet.validated(Delivery::Direct).unwrap_err();
//! // Direct delivery needs a kubeconfig context for every cluster.
//! assert!(valid.has_path("clusters[0].context"), "{valid}");
//! ```

mod load;
mod merge;
mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Deployment, Problem, ValidDeployment};

pub use load::{FleetConfigError, fleet_from_yaml_str, fleet_json_schema, load_fleet_yaml_str};
pub use merge::merge_overrides;

/// Many gateways, one per cluster, from one base deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Fleet {
    /// Name of the fleet: prefix of the GitOps objects (`GitRepository`, `Kustomization`s,
    /// `AppProject`, `ApplicationSet`). A DNS label (`gatehouse`).
    pub name: String,
    /// The deployment every cluster starts from (the fields of a deployment file).
    pub base: Deployment,
    /// Where the rendered GitOps directory is committed (needed for GitOps delivery).
    pub gitops: GitOpsSource,
    /// The clusters, each with its wave, labels, how to reach it and its overrides.
    pub clusters: Vec<Cluster>,
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet {
            name: "gatehouse".into(),
            base: Deployment::default(),
            gitops: GitOpsSource::default(),
            clusters: Vec::new(),
        }
    }
}

/// The Git repository the GitOps engine reads the rendered directory from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct GitOpsSource {
    /// Repository URL (`https://...` or `ssh://...`).
    pub repository: Option<String>,
    /// Branch the engine follows (`main`).
    pub branch: String,
    /// Directory of the rendered output inside the repository (`fleet`).
    pub path: String,
    /// Namespace of the engine's own objects: `flux-system` for Flux, `argocd` for Argo CD when
    /// absent.
    pub namespace: Option<String>,
}

impl Default for GitOpsSource {
    fn default() -> Self {
        GitOpsSource {
            repository: None,
            branch: "main".into(),
            path: "fleet".into(),
            namespace: None,
        }
    }
}

/// One cluster of the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Cluster {
    /// Name of the cluster in the fleet: a DNS label, unique, used in directory and object names.
    pub name: String,
    /// Rollout wave, from 1; every wave up to the last holds at least one cluster.
    #[serde(default = "first_wave")]
    pub wave: u32,
    /// A canary cluster: canaries make up the whole of wave 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
    /// Labels of the cluster (such as `region`), passed to the GitOps engine.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Kubeconfig context of the cluster, for `gatehouse fleet deploy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Argo CD's name of the cluster (the Application's `destination.name`); the cluster's own
    /// name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argocd_cluster: Option<String>,
    /// The Secret (in the Flux hub's namespace) holding the kubeconfig Flux applies this cluster
    /// with; absent: the cluster Flux runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux_kube_config: Option<KubeConfigSecret>,
    /// Fields of the deployment that differ on this cluster, merged over `base`.
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    pub overrides: Overrides,
}

fn first_wave() -> u32 {
    1
}

impl Cluster {
    /// A cluster in a wave, with no labels, no way of reaching it yet and no overrides.
    pub fn new(name: impl Into<String>, wave: u32) -> Cluster {
        Cluster {
            name: name.into(),
            wave,
            canary: false,
            labels: BTreeMap::new(),
            context: None,
            argocd_cluster: None,
            flux_kube_config: None,
            overrides: Overrides::default(),
        }
    }

    /// The cluster with `overrides` (a partial deployment as JSON, merged over the base).
    pub fn with_override(mut self, overrides: serde_json::Value) -> Cluster {
        self.overrides = Overrides(overrides);
        self
    }

    /// The cluster reached through a kubeconfig context.
    pub fn with_context(mut self, context: impl Into<String>) -> Cluster {
        self.context = Some(context.into());
        self
    }

    /// The cluster with one more label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Cluster {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Argo CD's name of the cluster: `argocdCluster`, or the cluster's name.
    pub fn argocd_destination(&self) -> &str {
        self.argocd_cluster.as_deref().unwrap_or(&self.name)
    }
}

/// The Secret holding a kubeconfig for Flux (`kubeConfig.secretRef`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct KubeConfigSecret {
    /// Name of the Secret.
    pub name: String,
    /// Key holding the kubeconfig (Flux reads `value` or `value.yaml` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl KubeConfigSecret {
    /// A kubeconfig Secret by name.
    pub fn named(name: impl Into<String>) -> KubeConfigSecret {
        KubeConfigSecret {
            name: name.into(),
            key: None,
        }
    }
}

/// A partial deployment (the deployment's serde form, only the fields that differ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Overrides(pub serde_json::Value);

impl Default for Overrides {
    fn default() -> Self {
        Overrides(serde_json::Value::Object(serde_json::Map::new()))
    }
}

impl Overrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            serde_json::Value::Object(map) => map.is_empty(),
            serde_json::Value::Null => true,
            _ => false,
        }
    }
}

impl JsonSchema for Overrides {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Overrides".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Any field of a deployment file, written only where the cluster differs.
        generator.subschema_for::<Deployment>()
    }
}

/// How a fleet reaches its clusters; some rules depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// `gatehouse fleet deploy`: every cluster through its kubeconfig `context`.
    Direct,
    /// Flux from a hub: the rendered directory in Git, one `Kustomization` per cluster.
    Flux,
    /// Argo CD: the rendered directory in Git, an `ApplicationSet` with one Application per cluster.
    ArgoCd,
}

impl Delivery {
    /// Whether the fleet goes through Git (no deploy step that could read a secret).
    pub fn is_gitops(self) -> bool {
        matches!(self, Delivery::Flux | Delivery::ArgoCd)
    }
}

/// A fleet with at least one error: every problem, with paths in the fleet file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the fleet has {} error(s):\n{}", self.errors().count(), self.problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct FleetError {
    /// Every problem, errors first, then by path.
    pub problems: Vec<Problem>,
}

impl FleetError {
    /// The problems that are errors.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == crate::Severity::Error)
    }

    /// Whether a problem is reported at `path`.
    pub fn has_path(&self, path: &str) -> bool {
        self.problems.iter().any(|p| p.path == path)
    }
}

/// One cluster of a valid fleet with its merged, validated deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCluster {
    /// The cluster as written.
    pub cluster: Cluster,
    /// The base with the cluster's overrides, validated.
    pub deployment: ValidDeployment,
}

/// A fleet that passed validation for one [`Delivery`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidFleet {
    fleet: Fleet,
    delivery: Delivery,
    clusters: Vec<ValidCluster>,
    warnings: Vec<Problem>,
}

impl ValidFleet {
    /// The fleet as written.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The delivery it was validated for.
    pub fn delivery(&self) -> Delivery {
        self.delivery
    }

    /// The clusters in the order written, each with its merged deployment.
    pub fn clusters(&self) -> &[ValidCluster] {
        &self.clusters
    }

    /// The number of the last wave.
    pub fn last_wave(&self) -> u32 {
        self.clusters
            .iter()
            .map(|c| c.cluster.wave)
            .max()
            .unwrap_or(0)
    }

    /// The clusters of one wave, in the order written.
    pub fn wave(&self, wave: u32) -> impl Iterator<Item = &ValidCluster> {
        self.clusters.iter().filter(move |c| c.cluster.wave == wave)
    }

    /// Warnings found during validation, with paths in the fleet file.
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }
}

impl Fleet {
    /// The deployment of one cluster: the base with the cluster's overrides merged over it.
    /// Overrides that do not map onto a deployment are an error message in the user's terms.
    pub fn merged(&self, cluster: &Cluster) -> Result<Deployment, String> {
        merge_overrides(&self.base, &cluster.overrides)
    }

    /// Every problem of the fleet for `delivery`: fleet rules and each cluster's merged
    /// deployment, errors first, then by path.
    pub fn validate(&self, delivery: Delivery) -> Vec<Problem> {
        validate::problems(self, delivery).0
    }

    /// The fleet as a [`ValidFleet`] when it has no errors for `delivery`; otherwise all problems.
    pub fn validated(self, delivery: Delivery) -> Result<ValidFleet, FleetError> {
        let (problems, clusters) = validate::problems(&self, delivery);
        if problems
            .iter()
            .any(|p| p.severity == crate::Severity::Error)
        {
            return Err(FleetError { problems });
        }
        Ok(ValidFleet {
            clusters: clusters.into_iter().flatten().collect(),
            fleet: self,
            delivery,
            warnings: problems,
        })
    }
}
