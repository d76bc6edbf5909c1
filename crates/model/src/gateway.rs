//! The Gravitee hybrid gateway, deployed through the `graviteeio/apim` Helm chart.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ContainerImage, Resources, SecretSource};

/// The hybrid gateway.
///
/// ```
/// let gateway = gatehouse_model::Gateway::default();
/// assert_eq!(gateway.version, "4.9.0");
/// assert!(!gateway.autoscaling);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Gateway {
    /// Helm release name of the gateway (also the prefix the chart gives its objects); by default
    /// the deployment's `name`, so two deployments in one namespace never share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Gateway version: both the image tag and the chart version (semver, e.g. `4.9.0`).
    pub version: String,
    /// Number of gateway pods.
    pub replicas: u32,
    /// Image repository and pull policy; the tag is `version`.
    pub image: GatewayImage,
    /// Horizontal pod autoscaling (off: the chart's default is on).
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub autoscaling: bool,
    /// Annotations on the gateway pods (Prometheus scraping by default).
    pub pod_annotations: BTreeMap<String, String>,
    /// Plugins downloaded before the gateway starts.
    pub plugins: Vec<Plugin>,
    /// Image of the init container that downloads plugins and verifies their sha256 (used when any
    /// plugin has one); it needs `sh`, `wget` with https and `sha256sum`.
    #[serde(deserialize_with = "crate::serde_helpers::verifier_image")]
    pub plugin_verifier_image: ContainerImage,
    /// Additional plain environment variables (never secrets: use the secret sources for those).
    pub env: Vec<EnvVar>,
    /// Internal services of the gateway.
    pub services: GatewayServices,
    /// The Kubernetes Service in front of the gateway.
    pub service: GatewayService,
    /// An Ingress in front of the gateway (off).
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub ingress: bool,
    /// CPU and memory of each gateway pod.
    #[serde(deserialize_with = "crate::serde_helpers::gateway_resources")]
    pub resources: Resources,
    /// Rolling update: `maxUnavailable`.
    pub max_unavailable: u32,
    /// Old ReplicaSets kept.
    pub revision_history_limit: u32,
    /// Reporters.
    pub reporters: Reporters,
    /// `terminationGracePeriodSeconds` of the gateway pods; must be longer than
    /// `gracefulShutdownSeconds`. When left out: 50, or `gracefulShutdownSeconds` + 30 when that is
    /// longer.
    #[serde(default)]
    pub termination_grace_period_seconds: Option<u32>,
    /// Delay, in seconds, between the stop signal and the gateway closing its listeners. When left
    /// out: 20, or 2/5 of `terminationGracePeriodSeconds` when that is shorter.
    #[serde(default)]
    pub graceful_shutdown_seconds: Option<u32>,
    /// Where the Gravitee license key comes from (none: no license).
    pub license_key: Option<SecretSource>,
    /// Where the Gravitee Cloud token comes from.
    pub cloud_token: SecretSource,
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            release_name: None,
            version: "4.9.0".into(),
            replicas: 1,
            image: GatewayImage::default(),
            autoscaling: false,
            pod_annotations: BTreeMap::from([
                (
                    "prometheus.io/path".to_string(),
                    "/_node/metrics/prometheus".to_string(),
                ),
                ("prometheus.io/port".to_string(), "18082".to_string()),
                ("prometheus.io/scrape".to_string(), "true".to_string()),
            ]),
            plugins: Vec::new(),
            plugin_verifier_image: ContainerImage {
                repository: "alpine".into(),
                tag: "3.20.3".into(),
            },
            env: Vec::new(),
            services: GatewayServices::default(),
            service: GatewayService::default(),
            ingress: false,
            resources: Resources::default()
                .with_request_cpu("200m")
                .with_request_memory("512Mi")
                .with_limit_cpu("500m")
                .with_limit_memory("1024Mi"),
            max_unavailable: 0,
            revision_history_limit: 1,
            reporters: Reporters::default(),
            termination_grace_period_seconds: None,
            graceful_shutdown_seconds: None,
            license_key: Some(SecretSource::Env {
                variable: "GRAVITEE_LICENSE_KEY".into(),
            }),
            cloud_token: SecretSource::Env {
                variable: "GRAVITEE_CLOUD_TOKEN".into(),
            },
        }
    }
}

impl Gateway {
    /// `terminationGracePeriodSeconds` in force: the configured one, or 50, or
    /// `gracefulShutdownSeconds` + 30 when that is longer.
    ///
    /// ```
    /// let mut gateway = gatehouse_model::Gateway::default();
    /// assert_eq!((gateway.termination_grace_period(), gateway.graceful_shutdown()), (50, 20));
    /// gateway.graceful_shutdown_seconds = Some(45);
    /// assert_eq!(gateway.termination_grace_period(), 75);
    /// gateway.graceful_shutdown_seconds = None;
    /// gateway.termination_grace_period_seconds = Some(15);
    /// assert_eq!(gateway.graceful_shutdown(), 6);
    /// ```
    pub fn termination_grace_period(&self) -> u32 {
        self.termination_grace_period_seconds.unwrap_or_else(|| {
            match self.graceful_shutdown_seconds {
                Some(delay) => delay.saturating_add(30).max(50),
                None => 50,
            }
        })
    }

    /// The graceful shutdown delay in force: the configured one, or 20, or 2/5 of
    /// `terminationGracePeriodSeconds` when that is shorter.
    pub fn graceful_shutdown(&self) -> u32 {
        self.graceful_shutdown_seconds.unwrap_or_else(|| {
            match self.termination_grace_period_seconds {
                Some(grace) => (grace.saturating_mul(2) / 5).min(20),
                None => 20,
            }
        })
    }
}

/// Gateway image repository and pull policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct GatewayImage {
    /// Repository (`graviteeio/apim-gateway`).
    pub repository: String,
    /// Pull policy.
    pub pull_policy: PullPolicy,
}

impl Default for GatewayImage {
    fn default() -> Self {
        GatewayImage {
            repository: "graviteeio/apim-gateway".into(),
            pull_policy: PullPolicy::IfNotPresent,
        }
    }
}

/// Kubernetes image pull policy.
#[derive(Debug, Clone, Default, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub enum PullPolicy {
    /// Pull only when the image is missing on the node.
    #[default]
    IfNotPresent,
    /// Pull on every start.
    Always,
    /// Never pull.
    Never,
}

impl PullPolicy {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Always => "Always",
            PullPolicy::Never => "Never",
        }
    }
}

/// A plugin zip downloaded into the gateway's plugin directory before start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plugin {
    /// `https://` URL of the zip file.
    pub url: String,
    /// Expected SHA-256 of the file, 64 hex digits; the pod refuses to start on a mismatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Plugin {
    /// The file name at the end of the URL (`gravitee-policy-jwt-6.2.0.zip`).
    pub fn file_name(&self) -> &str {
        self.url.rsplit('/').next().unwrap_or_default()
    }
}

/// A plain environment variable of the gateway.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// The gateway's internal services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct GatewayServices {
    /// Metrics service.
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub metrics: bool,
    /// Prometheus endpoint of the metrics service.
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub prometheus: bool,
    /// Core HTTP service (health, metrics endpoint on 18082).
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub core_http: bool,
    /// Sync of APIs from Kubernetes resources (off for a hybrid gateway).
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub kubernetes_sync: bool,
    /// Bridge server (off for a hybrid gateway).
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub bridge: bool,
}

impl Default for GatewayServices {
    fn default() -> Self {
        GatewayServices {
            metrics: true,
            prometheus: true,
            core_http: true,
            kubernetes_sync: false,
            bridge: false,
        }
    }
}

/// The Kubernetes Service in front of the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct GatewayService {
    /// Service type.
    #[serde(rename = "type")]
    pub service_type: ServiceType,
    /// External port (8082).
    pub port: u16,
}

impl Default for GatewayService {
    fn default() -> Self {
        GatewayService {
            service_type: ServiceType::LoadBalancer,
            port: 8082,
        }
    }
}

/// Kubernetes Service type.
#[derive(Debug, Clone, Default, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub enum ServiceType {
    /// Cluster-internal address.
    ClusterIP,
    /// A port on every node.
    NodePort,
    /// A cloud load balancer.
    #[default]
    LoadBalancer,
}

impl ServiceType {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

/// Gateway reporters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Reporters {
    /// File reporter.
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub file: bool,
    /// Elasticsearch reporter (a hybrid gateway reports to Gravitee Cloud instead).
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub elasticsearch: bool,
}
