//! The values for the `graviteeio/apim` chart, as typed structs.
//!
//! The types are generated at build time from the chart contract data
//! (`crates/chart-contract/contract/emitted.yaml`): only keys that every supported chart line
//! declares (or that a template reads, marked so in the data) can be fields, and the build fails
//! naming the key and the chart version otherwise. Rate limiting is chosen by the TOP-LEVEL
//! `ratelimit.type`; the Sentinel connection sits under `gateway.ratelimit.redis.sentinel`;
//! secrets reach the gateway only as `gateway.env` entries with `valueFrom.secretKeyRef`, never as
//! values, under the env names the chart line's `gravitee.yml` layout makes the gateway read.

use std::collections::BTreeMap;

use gatehouse_model::{Deployment, SecretRole};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, KeyToPath,
    ObjectFieldSelector, ProjectedVolumeSource, ResourceRequirements, SecretKeySelector,
    SecretProjection, SecurityContext, Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::names::Names;

pub use gatehouse_chart_contract::{CLOUD_TOKEN_ENV, ChartLayout, LICENSE_KEY_ENV};

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

/// The gateway's Deployment of a release, as `gravitee.gateway.fullname` of `graviteeio/apim`
/// names it (same on 4.9.32 to 4.12.17; gatehouse sets neither `nameOverride`,
/// `fullnameOverride` nor `gateway.name`, whose default is `gateway`): `<release>-gateway` when
/// the release name contains the chart name, `<release>-apim-gateway` otherwise, cut to 63
/// characters without a trailing `-`.
///
/// ```
/// use gatehouse_render::helm::gateway_deployment;
/// assert_eq!(gateway_deployment("gravitee-apim"), "gravitee-apim-gateway");
/// assert_eq!(gateway_deployment("gh"), "gh-apim-gateway");
/// ```
pub fn gateway_deployment(release: &str) -> String {
    let name = if release.contains(CHART_NAME) {
        format!("{release}-gateway")
    } else {
        format!("{release}-{CHART_NAME}-gateway")
    };
    let cut: String = name.chars().take(63).collect();
    cut.strip_suffix('-').unwrap_or(&cut).to_string()
}

/// How long (ms) the gateway waits for one rate-limit call to Redis
/// (`gateway.ratelimit.redis.operation.timeout`). A frozen or partitioned master accepts the
/// request and never answers; the call then gives up after this long and the API call goes on
/// without the rate-limit check rather than hanging. It is the gateway's own default, pinned so
/// that the rendered `gravitee.yml` states it and a changed default upstream cannot lengthen it.
pub const REDIS_OPERATION_TIMEOUT_MS: u32 = 10;
/// How long (ms) the gateway waits to open a connection to Redis or a Sentinel
/// (`gateway.ratelimit.redis.tcp.connectTimeout`; the gateway's default is 5000). In-cluster
/// connections open in milliseconds; a pod that is gone or cut off holds the reconnect for the
/// whole timeout, so 2 s lets the client move on to the next Sentinel and the new master sooner.
pub const REDIS_CONNECT_TIMEOUT_MS: u32 = 2000;

/// The chart values types, generated from the contract data (see the module docs).
mod generated {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{EnvVar, ResourceRequirements};

    include!(env!("GATEHOUSE_CHART_VALUES_RS"));
}

pub use generated::*;

impl Toggle {
    const OFF: Toggle = Toggle { enabled: false };
    fn from(enabled: bool) -> Toggle {
        Toggle { enabled }
    }
}

/// The `gravitee.yml` layout of the deployment's chart line (its gateway version).
pub fn chart_layout(d: &Deployment) -> ChartLayout {
    ChartLayout::of_version(&d.gateway.version)
        .expect("a validated model's gateway version is a supported chart line")
}

/// An env entry with a literal value.
pub(crate) fn plain_env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// `POD_NAME`: the pod's own name, from the downward API (the scripts and the exporter build the
/// pod's address from it).
pub(crate) fn pod_name_env() -> EnvVar {
    EnvVar {
        name: "POD_NAME".into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "metadata.name".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
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

/// Where the gateway mounts the Redis group's TLS files.
pub const GATEWAY_REDIS_TLS: &str = "/opt/graviteeio-gateway/redis-tls";
/// The gateway's volume of the Redis group's TLS Secret.
pub const GATEWAY_REDIS_TLS_VOLUME: &str = "gatehouse-redis-tls";

/// The gateway's side of `redis.tls`: env entries and the Secret volume, or nothing without TLS.
///
/// The TLS settings go in as environment variables (the property path, lowercase, `_` for `.`,
/// under the prefix the chart line's client reads), not chart keys: the chart `required`s
/// `truststore.password` and `keystore.password` as soon as a store is set, even for PEM stores
/// that have no password, which would force a secret into values. Never the gateway's insecure
/// defaults: `trustAll` false and hostname verification `HTTPS`. The gateway mounts only `ca.crt`
/// of the group's Secret (never the servers' private key); with mutual TLS one projected volume
/// adds `tls.crt` and `tls.key` of the gateway's own client Secret ([`Names::tls_client_secret`]).
fn gateway_tls(names: &Names, layout: ChartLayout) -> Option<(Vec<EnvVar>, Volume, VolumeMount)> {
    let secret = names.tls_secret.as_ref()?;
    let prefix = layout.redis_env_prefix();
    let file = |key: &str| format!("{GATEWAY_REDIS_TLS}/{key}");
    let mut env = vec![
        plain_env(&format!("{prefix}_ssl"), "true"),
        plain_env(&format!("{prefix}_trustall"), "false"),
        plain_env(&format!("{prefix}_hostnameverificationalgorithm"), "HTTPS"),
        plain_env(&format!("{prefix}_truststore_type"), "pem"),
        plain_env(&format!("{prefix}_truststore_path"), file("ca.crt")),
    ];
    let project = |secret: &String, keys: &[&str]| VolumeProjection {
        secret: Some(SecretProjection {
            name: secret.clone(),
            items: Some(
                keys.iter()
                    .map(|k| KeyToPath {
                        key: (*k).into(),
                        path: (*k).into(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut sources = vec![project(secret, &["ca.crt"])];
    if let Some(client) = &names.tls_client_secret {
        env.push(plain_env(&format!("{prefix}_keystore_type"), "pem"));
        env.push(plain_env(
            &format!("{prefix}_keystore_certificates_0_cert"),
            file("tls.crt"),
        ));
        env.push(plain_env(
            &format!("{prefix}_keystore_certificates_0_key"),
            file("tls.key"),
        ));
        sources.push(project(client, &["tls.crt", "tls.key"]));
    }
    let volume = Volume {
        name: GATEWAY_REDIS_TLS_VOLUME.into(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(sources),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mount = VolumeMount {
        name: GATEWAY_REDIS_TLS_VOLUME.into(),
        mount_path: GATEWAY_REDIS_TLS.into(),
        read_only: Some(true),
        ..Default::default()
    };
    Some((env, volume, mount))
}

/// The chart values for a deployment.
pub fn gateway_values(d: &Deployment, names: &Names) -> GatewayValues {
    let g = &d.gateway;
    let mut env: Vec<EnvVar> = Vec::new();
    let layout = chart_layout(d);
    let redis_secret = d
        .secret_key_ref(SecretRole::RedisPassword)
        .expect("the Redis password always has a source");
    env.push(secret_env(layout.redis_password_env(), &redis_secret));
    if d.redis.sentinel.auth {
        env.push(secret_env(layout.sentinel_password_env(), &redis_secret));
    }
    if let Some(license) = d.secret_key_ref(SecretRole::LicenseKey) {
        env.push(secret_env(LICENSE_KEY_ENV, &license));
    }
    if let Some(token) = d.secret_key_ref(SecretRole::CloudToken) {
        env.push(secret_env(CLOUD_TOKEN_ENV, &token));
    }
    if let Some(technical) = d.secret_key_ref(SecretRole::GatewayTechnicalPassword) {
        env.push(secret_env(
            gatehouse_chart_contract::TECHNICAL_API_PASSWORD_ENV,
            &technical,
        ));
    }
    let verified = verified_plugins(g);
    if verified.is_some() {
        // The chart sets these only for its own `additionalPlugins`, which are empty here.
        for (index, dir) in ["${gravitee.home}/plugins", "${gravitee.home}/plugins-ext"]
            .into_iter()
            .enumerate()
        {
            env.push(plain_env(&format!("GRAVITEE_PLUGINS_PATH_{index}"), dir));
        }
    }
    let tls = gateway_tls(names, layout);
    if let Some((tls_env, _, _)) = &tls {
        env.extend(tls_env.iter().cloned());
    }
    env.extend(g.env.iter().map(|var| plain_env(&var.name, &var.value)));
    // The chart takes both lists as YAML text; two block sequences one after the other are one.
    let join = |plugins: Option<&String>, tls: Option<String>| match (plugins, tls) {
        (None, None) => None,
        (a, b) => Some(format!(
            "{}{}",
            a.map(String::as_str).unwrap_or_default(),
            b.unwrap_or_default()
        )),
    };
    let extra_volumes = join(
        verified.as_ref().map(|v| &v.volumes),
        tls.as_ref()
            .map(|(_, volume, _)| crate::yaml::to_yaml(&vec![volume.clone()])),
    );
    let extra_volume_mounts = join(
        verified.as_ref().map(|v| &v.volume_mounts),
        tls.as_ref()
            .map(|(_, _, mount)| crate::yaml::to_yaml(&vec![mount.clone()])),
    );
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
            extra_volumes,
            extra_volume_mounts,
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
                kind: g.service.service_type.as_str().into(),
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
            termination_grace_period: g.termination_grace_period(),
            graceful_shutdown: GracefulShutdown {
                delay: g.graceful_shutdown(),
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
                    operation: RedisOperation {
                        timeout: REDIS_OPERATION_TIMEOUT_MS,
                    },
                    tcp: RedisTcp {
                        connect_timeout: REDIS_CONNECT_TIMEOUT_MS,
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
