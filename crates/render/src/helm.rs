//! The values for the `graviteeio/apim` chart, as a typed struct.
//!
//! Only keys the chart reads are here (see `../shared/notes/gravitee-chart-facts.md`): rate limiting
//! is chosen by the TOP-LEVEL `ratelimit.type`; the Sentinel connection sits under
//! `gateway.ratelimit.redis.sentinel`; secrets reach the gateway only as `gateway.env` entries with
//! `valueFrom.secretKeyRef`, never as values.

use std::collections::BTreeMap;

use gatehouse_model::{Deployment, SecretRole};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, ResourceRequirements,
    SecretKeySelector, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::{Deserialize, Serialize};

use crate::names::Names;

/// Env variable through which the gateway reads the Redis password.
pub const ENV_REDIS_PASSWORD: &str = "gravitee_ratelimit_redis_password";
/// Env variable through which the gateway reads the Sentinel password.
pub const ENV_SENTINEL_PASSWORD: &str = "gravitee_ratelimit_redis_sentinel_password";
/// Env variable through which the gateway reads the license key.
pub const ENV_LICENSE_KEY: &str = "gravitee_license_key";
/// Env variable through which the gateway reads the cloud token.
pub const ENV_CLOUD_TOKEN: &str = "gravitee_cloud_token";
/// Name of the plugin verifier init container and of its volume.
pub const PLUGIN_VOLUME: &str = "gatehouse-verified-plugins";
/// Where the gateway image keeps extra plugins (the chart's own `plugins-ext`).
pub const GATEWAY_PLUGINS_EXT: &str = "/opt/graviteeio-gateway/plugins-ext";
/// The plugin verifier script, run by the init container with URLs and checksums as arguments.
pub const VERIFY_PLUGINS_SCRIPT: &str = include_str!("../plugins/verify-plugins.sh");
/// Chart repository of `graviteeio/apim`.
pub const CHART_REPOSITORY: &str = "https://helm.gravitee.io";
/// Chart name.
pub const CHART_NAME: &str = "apim";

/// Top-level values of the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayValues {
    /// Management API: off for a hybrid gateway.
    pub api: Toggle,
    /// Developer portal: off.
    pub portal: Toggle,
    /// Console UI: off.
    pub ui: Toggle,
    /// Alert engine: off.
    pub alerts: Toggle,
    /// The rate-limit repository type: the ONLY key the chart reads for it.
    pub ratelimit: RateLimitType,
    /// The gateway.
    pub gateway: GatewaySection,
}

/// `{enabled: bool}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    /// Whether the component is on.
    pub enabled: bool,
}

impl Toggle {
    const OFF: Toggle = Toggle { enabled: false };
    fn from(enabled: bool) -> Toggle {
        Toggle { enabled }
    }
}

/// Top-level `ratelimit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitType {
    /// `redis`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `gateway:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewaySection {
    /// Pods.
    pub replica_count: u32,
    /// Image.
    pub image: Image,
    /// HPA.
    pub autoscaling: Toggle,
    /// Pod annotations (free-form).
    pub pod_annotations: BTreeMap<String, String>,
    /// Plugin URLs the chart's own init container downloads (unchecked `wget` in `sh -c`): only
    /// when no plugin has a sha256.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub additional_plugins: Vec<String>,
    /// Init containers (YAML text, inserted by the chart with `tpl`): the plugin verifier.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extra_init_containers: Option<String>,
    /// Extra pod volumes (YAML text): the verified plugins' emptyDir.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extra_volumes: Option<String>,
    /// Extra gateway container volume mounts (YAML text): the verified plugins' dir.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extra_volume_mounts: Option<String>,
    /// Environment: plain values and `secretKeyRef`s.
    pub env: Vec<EnvVar>,
    /// Internal services.
    pub services: Services,
    /// The Service.
    pub service: ServiceValues,
    /// Ingress.
    pub ingress: Toggle,
    /// Resources.
    pub resources: ResourceRequirements,
    /// Deployment settings.
    pub deployment: DeploymentValues,
    /// Reporters.
    pub reporters: ReporterValues,
    /// `terminationGracePeriodSeconds`.
    pub termination_grace_period: u32,
    /// Graceful shutdown delay.
    pub graceful_shutdown: GracefulShutdown,
    /// Rate-limit connection.
    pub ratelimit: GatewayRateLimit,
}

/// `gateway.image`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Repository.
    pub repository: String,
    /// Tag (the gateway version).
    pub tag: String,
    /// Pull policy.
    pub pull_policy: String,
}

/// `gateway.services`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Services {
    /// Metrics.
    pub metrics: MetricsService,
    /// Core services.
    pub core: CoreService,
    /// API sync.
    pub sync: SyncService,
    /// Bridge server.
    pub bridge: Toggle,
}

/// `gateway.services.metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsService {
    /// Metrics on.
    pub enabled: bool,
    /// Prometheus endpoint.
    pub prometheus: Toggle,
}

/// `gateway.services.core`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreService {
    /// Core HTTP service.
    pub http: Toggle,
}

/// `gateway.services.sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncService {
    /// Kubernetes sync.
    pub kubernetes: Toggle,
}

/// `gateway.service`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceValues {
    /// Service type.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Port of the Service.
    pub external_port: u16,
}

/// `gateway.deployment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentValues {
    /// Old ReplicaSets kept.
    pub revision_history_limit: u32,
    /// Update strategy.
    pub strategy: Strategy,
}

/// `gateway.deployment.strategy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Strategy {
    /// `RollingUpdate`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Rolling update parameters.
    pub rolling_update: RollingUpdate,
}

/// `gateway.deployment.strategy.rollingUpdate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollingUpdate {
    /// Pods that may be unavailable during an update.
    pub max_unavailable: u32,
}

/// `gateway.reporters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReporterValues {
    /// File reporter.
    pub file: Toggle,
    /// Elasticsearch reporter (`es.enabled` is read by nothing; this is the switch).
    pub elasticsearch: Toggle,
}

/// `gateway.gracefulShutdown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GracefulShutdown {
    /// Delay.
    pub delay: u32,
    /// Unit of the delay.
    pub unit: String,
}

/// `gateway.ratelimit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayRateLimit {
    /// Redis connection.
    pub redis: RedisConnection,
}

/// `gateway.ratelimit.redis` (no password: it comes from `gateway.env`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConnection {
    /// Sentinel mode.
    pub sentinel: SentinelConnection,
}

/// `gateway.ratelimit.redis.sentinel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelConnection {
    /// Master group name.
    pub master: String,
    /// The Sentinels.
    pub nodes: Vec<SentinelNode>,
}

/// One Sentinel address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelNode {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// An env entry reading one key of a Secret.
pub fn secret_env(name: &str, secret: &gatehouse_model::SecretKeyRef) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.name.clone(),
                key: secret.key.clone(),
                optional: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `requests`/`limits` as k8s-openapi resource requirements.
pub fn resource_requirements(resources: &gatehouse_model::Resources) -> ResourceRequirements {
    let pair = |values: &gatehouse_model::CpuMemory| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(values.cpu.clone())),
            ("memory".to_string(), Quantity(values.memory.clone())),
        ])
    };
    ResourceRequirements {
        limits: Some(pair(&resources.limits)),
        requests: Some(pair(&resources.requests)),
        ..Default::default()
    }
}

/// The chart values for a deployment.
pub fn gateway_values(d: &Deployment, names: &Names) -> GatewayValues {
    let g = &d.gateway;
    let mut env: Vec<EnvVar> = Vec::new();
    let redis_secret = d
        .secret_key_ref(SecretRole::RedisPassword)
        .expect("the Redis password always has a source");
    env.push(secret_env(ENV_REDIS_PASSWORD, &redis_secret));
    if d.redis.sentinel.auth {
        env.push(secret_env(ENV_SENTINEL_PASSWORD, &redis_secret));
    }
    if let Some(license) = d.secret_key_ref(SecretRole::LicenseKey) {
        env.push(secret_env(ENV_LICENSE_KEY, &license));
    }
    if let Some(token) = d.secret_key_ref(SecretRole::CloudToken) {
        env.push(secret_env(ENV_CLOUD_TOKEN, &token));
    }
    let verified = verified_plugins(g);
    if verified.is_some() {
        // The chart sets these only for its own `additionalPlugins`, which are empty here.
        for (index, dir) in ["${gravitee.home}/plugins", "${gravitee.home}/plugins-ext"]
            .into_iter()
            .enumerate()
        {
            env.push(EnvVar {
                name: format!("GRAVITEE_PLUGINS_PATH_{index}"),
                value: Some(dir.into()),
                ..Default::default()
            });
        }
    }
    env.extend(g.env.iter().map(|var| EnvVar {
        name: var.name.clone(),
        value: Some(var.value.clone()),
        ..Default::default()
    }));
    GatewayValues {
        api: Toggle::OFF,
        portal: Toggle::OFF,
        ui: Toggle::OFF,
        alerts: Toggle::OFF,
        ratelimit: RateLimitType {
            kind: "redis".into(),
        },
        gateway: GatewaySection {
            replica_count: g.replicas,
            image: Image {
                repository: g.image.repository.clone(),
                tag: g.version.clone(),
                pull_policy: g.image.pull_policy.as_str().into(),
            },
            autoscaling: Toggle::from(g.autoscaling),
            pod_annotations: g.pod_annotations.clone(),
            additional_plugins: if verified.is_some() {
                Vec::new()
            } else {
                g.plugins.iter().map(|p| p.url.clone()).collect()
            },
            extra_init_containers: verified.as_ref().map(|v| v.init_containers.clone()),
            extra_volumes: verified.as_ref().map(|v| v.volumes.clone()),
            extra_volume_mounts: verified.as_ref().map(|v| v.volume_mounts.clone()),
            env,
            services: Services {
                metrics: MetricsService {
                    enabled: g.services.metrics,
                    prometheus: Toggle::from(g.services.prometheus),
                },
                core: CoreService {
                    http: Toggle::from(g.services.core_http),
                },
                sync: SyncService {
                    kubernetes: Toggle::from(g.services.kubernetes_sync),
                },
                bridge: Toggle::from(g.services.bridge),
            },
            service: ServiceValues {
                service_type: g.service.service_type.as_str().into(),
                external_port: g.service.port,
            },
            ingress: Toggle::from(g.ingress),
            resources: resource_requirements(&g.resources),
            deployment: DeploymentValues {
                revision_history_limit: g.revision_history_limit,
                strategy: Strategy {
                    kind: "RollingUpdate".into(),
                    rolling_update: RollingUpdate {
                        max_unavailable: g.max_unavailable,
                    },
                },
            },
            reporters: ReporterValues {
                file: Toggle::from(g.reporters.file),
                elasticsearch: Toggle::from(g.reporters.elasticsearch),
            },
            termination_grace_period: g.termination_grace_period_seconds,
            graceful_shutdown: GracefulShutdown {
                delay: g.graceful_shutdown_seconds,
                unit: "SECONDS".into(),
            },
            ratelimit: GatewayRateLimit {
                redis: RedisConnection {
                    sentinel: SentinelConnection {
                        master: d.redis.master_name.clone(),
                        nodes: (0..names.sentinel_pods)
                            .map(|ordinal| SentinelNode {
                                host: names.sentinel_pod_host(ordinal),
                                port: names.sentinel_port,
                            })
                            .collect(),
                    },
                },
            },
        },
    }
}

/// The chart values that replace `additionalPlugins` when any plugin has a sha256: YAML texts for
/// `gateway.extraInitContainers`, `gateway.extraVolumes` and `gateway.extraVolumeMounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPlugins {
    /// One init container running [`VERIFY_PLUGINS_SCRIPT`].
    pub init_containers: String,
    /// The emptyDir the plugins are downloaded into.
    pub volumes: String,
    /// Its mount in the gateway container, at [`GATEWAY_PLUGINS_EXT`].
    pub volume_mounts: String,
}

/// The init container that downloads every plugin and verifies each sha256 before the gateway
/// starts, or none when no plugin has a sha256 (then the chart's `additionalPlugins` is used).
///
/// The script is a constant; URLs and checksums are separate `argv` entries after it (`sh -c
/// SCRIPT NAME DEST URL SHA ...`), never pasted into the shell string. Plugins without a sha256
/// are downloaded by the same container and reported as unverified. The chart inserts the YAML
/// with `tpl`, so it must not contain `{{`: the script has none and model-validated URLs cannot.
pub fn verified_plugins(g: &gatehouse_model::Gateway) -> Option<VerifiedPlugins> {
    if !g.plugins.iter().any(|p| p.sha256.is_some()) {
        return None;
    }
    let dest = "/verified-plugins";
    let mut command = vec![
        "sh".to_string(),
        "-c".to_string(),
        VERIFY_PLUGINS_SCRIPT.to_string(),
        "verify-plugins".to_string(),
        dest.to_string(),
    ];
    for plugin in &g.plugins {
        command.push(plugin.url.clone());
        command.push(plugin.sha256.clone().unwrap_or_else(|| "-".into()));
    }
    let container = Container {
        name: "verify-plugins".into(),
        image: Some(g.plugin_verifier_image.reference()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(command),
        security_context: Some(SecurityContext {
            run_as_user: Some(1001),
            run_as_non_root: Some(true),
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        resources: Some(resource_requirements(
            &gatehouse_model::Resources::default()
                .with_request_cpu("50m")
                .with_request_memory("32Mi")
                .with_limit_cpu("200m")
                .with_limit_memory("64Mi"),
        )),
        volume_mounts: Some(vec![VolumeMount {
            name: PLUGIN_VOLUME.into(),
            mount_path: dest.into(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let volume = Volume {
        name: PLUGIN_VOLUME.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    };
    let mount = VolumeMount {
        name: PLUGIN_VOLUME.into(),
        mount_path: GATEWAY_PLUGINS_EXT.into(),
        read_only: Some(true),
        ..Default::default()
    };
    Some(VerifiedPlugins {
        init_containers: crate::yaml::to_yaml(&vec![container]),
        volumes: crate::yaml::to_yaml(&vec![volume]),
        volume_mounts: crate::yaml::to_yaml(&vec![mount]),
    })
}
