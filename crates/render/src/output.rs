//! What rendering produces, and its serialization (multi-document YAML, JSON, a directory of files).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use gatehouse_model::{SecretKeyRef, SecretRole, SecretSource};
use serde::Serialize;

use crate::helm::GatewayValues;
pub use crate::kinds::{ApplyTier, KubeObject};

impl KubeObject {
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace` (none for cluster-scoped objects).
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// `Kind/name`, for messages.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// The object as JSON, with `apiVersion` and `kind` (k8s-openapi adds them when serializing).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("k8s-openapi objects serialize")
    }

    /// A file name for the object: `<tier index>-<kind>-<name>.yaml`.
    pub fn file_name(&self) -> String {
        format!(
            "{:02}-{}-{}.yaml",
            self.tier() as u8,
            self.kind().to_ascii_lowercase(),
            self.name()
        )
    }
}

/// A Secret the deployment needs, and where its value comes from. Rendering never sees the value:
/// the apply step checks, writes or generates the Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRequirement {
    /// Which secret this is.
    pub role: SecretRole,
    /// Namespace of the Secret.
    pub namespace: String,
    /// The Secret key pods reference.
    pub secret: SecretKeyRef,
    /// Where the value comes from.
    pub source: SecretSource,
}

/// The gateway's Helm release: chart coordinates and values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmRelease {
    /// Release name.
    pub release_name: String,
    /// Namespace of the release.
    pub namespace: String,
    /// Chart repository URL.
    pub repository: String,
    /// Chart name in the repository.
    pub chart: String,
    /// Pinned chart version (equal to the gateway version).
    pub version: String,
    /// The values, typed.
    pub values: GatewayValues,
}

impl HelmRelease {
    /// The values as YAML, quoted so that Helm's YAML 1.1 parser reads back exactly these strings.
    pub fn values_yaml(&self) -> String {
        crate::yaml::to_yaml(&self.values)
    }

    /// The gateway's Deployment the chart makes for this release (see
    /// [`crate::Names::gateway_deployment`]).
    pub fn gateway_deployment(&self) -> String {
        crate::helm::gateway_deployment(&self.release_name)
    }

    /// The Secrets the gateway's pods mount as files, read from the volumes the values give the
    /// chart (`gateway.extraVolumes`): with `redis.tls`, the group's Secret (its CA, the
    /// truststore) and, with mutual TLS, the gateway's client certificate Secret. The gateway reads
    /// these files once, at start. Sorted, each once.
    pub fn mounted_secrets(&self) -> std::collections::BTreeSet<String> {
        let volumes: Vec<serde_json::Value> = self
            .values
            .gateway
            .extra_volumes
            .as_deref()
            .and_then(|text| serde_saphyr::from_str(text).ok())
            .unwrap_or_default();
        volumes
            .iter()
            .flat_map(|volume| {
                let whole = volume["secret"]["secretName"].as_str();
                let projected = volume["projected"]["sources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|source| source["secret"]["name"].as_str());
                whole.into_iter().chain(projected)
            })
            .map(str::to_string)
            .collect()
    }
}

/// Everything rendered from one deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Kubernetes objects, in apply order.
    pub objects: Vec<KubeObject>,
    /// Secrets the objects and the gateway reference.
    pub secrets: Vec<SecretRequirement>,
    /// The gateway release.
    pub helm: HelmRelease,
}

/// Output format of [`Rendered::to_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Multi-document YAML: objects in apply order, then the Helm values.
    Yaml,
    /// One JSON document: `{"objects": [...], "helmRelease": {...}, "secrets": [...]}`.
    Json,
}

impl Rendered {
    /// The gateway release as Flux objects (`HelmRepository`, `HelmRelease`), in apply order: what
    /// `deploy --flux` applies and `render --gitops` writes.
    pub fn flux_objects(&self) -> [KubeObject; 2] {
        crate::gitops::flux_objects(&self.helm)
    }

    /// The objects as multi-document YAML in apply order.
    pub fn manifests_yaml(&self) -> String {
        let mut out = String::with_capacity(64 * 1024);
        self.push_manifests(&mut out);
        out
    }

    /// Appends the objects' documents, separated by `---`, to `out`.
    fn push_manifests(&self, out: &mut String) {
        for (i, object) in self.objects.iter().enumerate() {
            if i > 0 {
                out.push_str("---\n");
            }
            crate::yaml::push_yaml(out, object);
        }
    }

    /// The whole output as text: objects, then the Helm values as a last document introduced by a
    /// comment naming the release.
    pub fn to_text(&self, format: Format) -> String {
        match format {
            Format::Yaml => {
                let mut text = String::with_capacity(96 * 1024);
                self.push_manifests(&mut text);
                let _ = write!(
                    text,
                    "---\n# Helm values for release {} (chart {}/{} {})\n",
                    self.helm.release_name,
                    self.helm.repository,
                    self.helm.chart,
                    self.helm.version,
                );
                crate::yaml::push_yaml(&mut text, &self.helm.values);
                text
            }
            Format::Json => {
                let document = serde_json::json!({
                    "objects": self.objects,
                    "secrets": self.secrets,
                    "helmRelease": self.helm,
                });
                let mut text = serde_json::to_string_pretty(&document).expect("serializes");
                text.push('\n');
                text
            }
        }
    }

    /// The output as files: `manifests/<NN>-<kind>-<name>.yaml` for each object and `values.yaml`.
    pub fn files(&self) -> BTreeMap<String, String> {
        let mut files: BTreeMap<String, String> = self
            .objects
            .iter()
            .map(|o| {
                (
                    format!("manifests/{}", o.file_name()),
                    crate::yaml::to_yaml(o),
                )
            })
            .collect();
        files.insert("values.yaml".into(), self.helm.values_yaml());
        files
    }
}
