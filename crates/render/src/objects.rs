//! The Kubernetes objects of the Redis/Sentinel group.

use std::collections::BTreeMap;

use gatehouse_model::{DataVolume, Deployment};
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvVar, ExecAction, KeyToPath, Lifecycle, LifecycleHandler, Namespace, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, SecretVolumeSource, SecurityContext, Service, ServiceAccount,
    ServicePort, ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
    WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use gatehouse_model::acl::Side;

use crate::helm::{plain_env, pod_name_env, resource_requirements, secret_env};
use crate::metrics::exporter;
use crate::names::{Names, labels, paths};
use crate::output::KubeObject;
use crate::redis_files::{self, RedisFiles};

/// UID/GID of the `redis` user in the official image.
const REDIS_UID: i64 = 999;
/// Seconds the pre-stop hook may wait for a handover; the grace period adds a margin.
const PRESTOP_TIMEOUT_SECONDS: i64 = 20;
/// Size of each Sentinel's state volume (its rewritten sentinel.conf).
const SENTINEL_STATE_SIZE: &str = "64Mi";
/// Keys of the TLS Secret (the layout of `kubernetes.io/tls` Secrets and of cert-manager).
pub(crate) const TLS_CERT_KEY: &str = "tls.crt";
/// The private key's entry of the TLS Secret.
pub(crate) const TLS_PRIVATE_KEY: &str = "tls.key";
/// The CA's entry of the TLS Secret.
pub(crate) const TLS_CA_KEY: &str = "ca.crt";

/// Every object, in apply order; each pod template carries its config digest
/// ([`crate::config_digest`]).
pub(crate) fn kube_objects(d: &Deployment, names: &Names, files: &RedisFiles) -> Vec<KubeObject> {
    let mut objects = vec![
        KubeObject::Namespace(Namespace {
            metadata: ObjectMeta {
                name: Some(names.namespace.clone()),
                labels: Some(BTreeMap::from([(
                    labels::MANAGED_BY.to_string(),
                    labels::GATEHOUSE.to_string(),
                )])),
                ..Default::default()
            },
            ..Default::default()
        }),
        KubeObject::ServiceAccount(ServiceAccount {
            metadata: meta(names, &names.service_account, names.object_labels("redis")),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        KubeObject::ConfigMap(ConfigMap {
            metadata: meta(names, &names.config_map, names.object_labels("redis")),
            data: Some(files.files.clone()),
            ..Default::default()
        }),
    ];
    objects.extend(crate::certificate::certificates(d, names));
    objects.extend([
        headless_service(
            names,
            &names.data_service,
            labels::DATA,
            "redis",
            names.redis_port,
        ),
        headless_service(
            names,
            &names.sentinel_service,
            labels::SENTINEL,
            "sentinel",
            names.sentinel_port,
        ),
        network_policy(d, names),
        disruption_budget(names, labels::DATA, 1),
        disruption_budget(names, labels::SENTINEL, sentinel_max_unavailable(d)),
        data_statefulset(d, names),
        sentinel_statefulset(d, names),
    ]);
    objects.extend(crate::metrics::monitors::monitor_objects(d, names));
    crate::config_digest::annotate(&mut objects);
    objects
}

fn meta(names: &Names, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(names.namespace.clone()),
        labels: Some(labels),
        ..Default::default()
    }
}

fn headless_service(
    names: &Names,
    name: &str,
    component: &str,
    port_name: &str,
    port: u16,
) -> KubeObject {
    KubeObject::Service(Service {
        metadata: meta(names, name, names.object_labels(component)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            // Pod names must resolve before the pods are ready: at first start the replicas connect
            // to the bootstrap master and the Sentinels monitor it while it is not ready yet.
            publish_not_ready_addresses: Some(true),
            selector: Some(names.selector(component)),
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port: port.into(),
                target_port: Some(IntOrString::String(port_name.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn network_policy(d: &Deployment, names: &Names) -> KubeObject {
    let peer = |labels: BTreeMap<String, String>| NetworkPolicyPeer {
        pod_selector: Some(match_labels(labels)),
        ..Default::default()
    };
    let port = |port: u16| NetworkPolicyPort {
        port: Some(IntOrString::Int(port.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let mut redis_pods = names.selector(labels::DATA);
    redis_pods.remove(labels::COMPONENT);
    KubeObject::NetworkPolicy(NetworkPolicy {
        metadata: meta(names, &names.network_policy, names.object_labels("redis")),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(match_labels(redis_pods)),
            policy_types: Some(vec!["Ingress".into()]),
            egress: None,
            ingress: Some(
                [NetworkPolicyIngressRule {
                    from: Some(vec![
                        peer(names.selector(labels::DATA)),
                        peer(names.selector(labels::SENTINEL)),
                        peer(names.gateway_pod_selector()),
                    ]),
                    ports: Some(vec![port(names.redis_port), port(names.sentinel_port)]),
                }]
                .into_iter()
                // The exporters' metrics (no secret in them) from any pod: Prometheus runs in a
                // namespace of its own, under labels gatehouse cannot know.
                .chain(d.metrics.runs_exporter().then(|| NetworkPolicyIngressRule {
                    from: None,
                    ports: Some(vec![port(exporter::PORT)]),
                }))
                .collect(),
            ),
        }),
    })
}

/// Sentinels that may be down at once while a failover can still be authorized: the count minus the
/// larger of the quorum and the majority (never below 1, or nodes could never be drained).
fn sentinel_max_unavailable(d: &Deployment) -> i32 {
    let s = &d.redis.sentinel;
    let needed = s.effective_quorum().max(s.count / 2 + 1);
    (s.count.saturating_sub(needed)).max(1) as i32
}

fn disruption_budget(names: &Names, component: &str, max_unavailable: i32) -> KubeObject {
    let name = match component {
        labels::DATA => &names.data_statefulset,
        _ => &names.sentinel_statefulset,
    };
    KubeObject::PodDisruptionBudget(PodDisruptionBudget {
        metadata: meta(names, name, names.object_labels(component)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(max_unavailable)),
            selector: Some(match_labels(names.selector(component))),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// A selector of exactly these labels.
fn match_labels(labels: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels),
        ..Default::default()
    }
}

/// The environment the scripts read (see scripts/common.sh), shared by both StatefulSets.
fn script_env(d: &Deployment, names: &Names, own_service: &str, passwords: &[&str]) -> Vec<EnvVar> {
    let sentinels: Vec<String> = (0..names.sentinel_pods)
        .map(|i| format!("{}:{}", names.sentinel_pod_host(i), names.sentinel_port))
        .collect();
    vec![
        pod_name_env(),
        plain_env(
            "ANNOUNCE_HOST",
            format!("$(POD_NAME).{}", names.service_host(own_service)),
        ),
        plain_env("MASTER_NAME", d.redis.master_name.clone()),
        plain_env("SENTINELS", sentinels.join(" ")),
        plain_env("OPERATOR_USER", gatehouse_model::acl::OPERATOR_USER),
        plain_env(
            "BOOTSTRAP_MASTER",
            format!("{}:{}", names.data_pod_host(0), names.redis_port),
        ),
        plain_env("REDIS_PORT", names.redis_port.to_string()),
        plain_env("SENTINEL_PORT", names.sentinel_port.to_string()),
        plain_env("TEMPLATE_DIR", paths::TEMPLATES),
    ]
    .into_iter()
    .chain(
        redis_files::PASSWORD_ENV
            .iter()
            .filter(|(variable, _)| passwords.contains(variable))
            .flat_map(|(variable, role)| {
                let secret = d
                    .secret_key_ref(*role)
                    .expect("every Redis password always has a source");
                rotation_env(variable, &secret)
            }),
    )
    .chain(tls_env(d, names))
    .collect()
}

/// A password's variable from its Secret key, then the optional variables of the same Secret's
/// rotation keys (`redis_files::ROTATION_KEYS`), unset unless a rotation is under way.
fn rotation_env(variable: &str, secret: &gatehouse_model::SecretKeyRef) -> Vec<EnvVar> {
    let mut env = vec![secret_env(variable, secret)];
    for (suffix, key_suffix) in redis_files::ROTATION_KEYS {
        let mut optional = secret_env(
            &format!("{variable}_{suffix}"),
            &gatehouse_model::SecretKeyRef {
                name: secret.name.clone(),
                key: format!("{}.{key_suffix}", secret.key),
            },
        );
        if let Some(selector) = optional
            .value_from
            .as_mut()
            .and_then(|from| from.secret_key_ref.as_mut())
        {
            selector.optional = Some(true);
        }
        env.push(optional);
    }
    env
}

/// The TLS part of the scripts' environment (see scripts/common.sh); nothing without TLS, so a
/// group without TLS renders exactly as before.
fn tls_env(d: &Deployment, names: &Names) -> Vec<EnvVar> {
    let Some(secret) = &names.tls_secret else {
        return vec![];
    };
    let file = |key: &str| format!("{}/{key}", paths::TLS);
    vec![
        plain_env("REDIS_TLS", "yes"),
        plain_env("TLS_SECRET", secret.clone()),
        plain_env("TLS_AUTH_CLIENTS", d.redis.tls.client_auth.redis_value()),
        plain_env("TLS_CA_FILE", file(TLS_CA_KEY)),
        plain_env("TLS_CERT_FILE", file(TLS_CERT_KEY)),
        plain_env("TLS_KEY_FILE", file(TLS_PRIVATE_KEY)),
    ]
}

/// The TLS Secret as a whole volume (a subPath mount would never see a renewed certificate), and
/// its mount; none without TLS.
fn tls_volume(names: &Names) -> Option<(Volume, VolumeMount)> {
    let secret = names.tls_secret.as_ref()?;
    Some((
        Volume {
            name: "tls".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.clone()),
                default_mode: Some(0o440),
                ..Default::default()
            }),
            ..Default::default()
        },
        mount("tls", paths::TLS, true),
    ))
}

fn exec(script: &str, args: &[&str]) -> ExecAction {
    let mut command = vec!["sh".to_string(), format!("{}/{script}", paths::TEMPLATES)];
    command.extend(args.iter().map(|a| a.to_string()));
    ExecAction {
        command: Some(command),
    }
}

fn probe(check: &str, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(exec(redis_files::PROBE, &[check])),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// The ConfigMap volume with only the entries the pod reads (`files`): what a pod mounts is what
/// its config digest covers.
fn templates_volume(names: &Names, files: &[&str]) -> Volume {
    Volume {
        name: "templates".into(),
        config_map: Some(ConfigMapVolumeSource {
            name: names.config_map.clone(),
            default_mode: Some(0o444),
            items: Some(
                files
                    .iter()
                    .map(|file| KeyToPath {
                        key: file.to_string(),
                        path: file.to_string(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

fn claim(name: &str, size: &str, storage_class: Option<&String>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: storage_class.cloned(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.to_string()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Hard anti-affinity on the node: two data pods (or two Sentinels) never share a node, so one node
/// failure takes at most one of each. Preferred when the model asks for it (small clusters).
fn anti_affinity(d: &Deployment, names: &Names, component: &str) -> Affinity {
    let term = PodAffinityTerm {
        label_selector: Some(match_labels(names.selector(component))),
        topology_key: "kubernetes.io/hostname".into(),
        ..Default::default()
    };
    let anti = if d.redis.required_anti_affinity {
        PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..Default::default()
        }
    } else {
        PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: term,
                },
            ]),
            ..Default::default()
        }
    };
    Affinity {
        pod_anti_affinity: Some(anti),
        ..Default::default()
    }
}

pub(crate) fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(k8s_openapi::api::core::v1::Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_user: Some(REDIS_UID),
        run_as_group: Some(REDIS_UID),
        fs_group: Some(REDIS_UID),
        run_as_non_root: Some(true),
        ..Default::default()
    }
}

struct Workload<'a> {
    name: &'a str,
    service: &'a str,
    component: &'a str,
    replicas: u32,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    claims: Vec<PersistentVolumeClaim>,
    grace_seconds: i64,
}

fn statefulset(d: &Deployment, names: &Names, w: Workload<'_>) -> KubeObject {
    let mut pod_labels = names.selector(w.component);
    pod_labels.insert(labels::MANAGED_BY.into(), labels::GATEHOUSE.into());
    KubeObject::StatefulSet(StatefulSet {
        metadata: meta(names, w.name, names.object_labels(w.component)),
        spec: Some(StatefulSetSpec {
            replicas: Some(w.replicas as i32),
            service_name: Some(w.service.into()),
            pod_management_policy: Some("Parallel".into()),
            selector: match_labels(names.selector(w.component)),
            persistent_volume_claim_retention_policy: (!w.claims.is_empty()).then(|| {
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                }
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(names.service_account.clone()),
                    automount_service_account_token: Some(false),
                    security_context: Some(pod_security()),
                    affinity: Some(anti_affinity(d, names, w.component)),
                    termination_grace_period_seconds: Some(w.grace_seconds),
                    containers: w.containers,
                    volumes: Some(w.volumes),
                    ..Default::default()
                }),
            },
            volume_claim_templates: (!w.claims.is_empty()).then_some(w.claims),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `volumes` and `containers` (the Redis process and, with metrics, its exporter) with the TLS
/// Secret mounted into each, when TLS is on.
fn with_tls(
    names: &Names,
    mut volumes: Vec<Volume>,
    mut containers: Vec<Container>,
) -> (Vec<Volume>, Vec<Container>) {
    if let Some((volume, volume_mount)) = tls_volume(names) {
        volumes.push(volume);
        for container in &mut containers {
            container
                .volume_mounts
                .get_or_insert_with(Vec::new)
                .push(volume_mount.clone());
        }
    }
    (volumes, containers)
}

fn data_statefulset(d: &Deployment, names: &Names) -> KubeObject {
    let mut env = script_env(
        d,
        names,
        &names.data_service,
        &redis_files::pod_passwords(d, Side::DataNode),
    );
    env.push(plain_env("CONFIG_DIR", paths::RUNTIME_CONFIG));
    env.push(plain_env("DATA_DIR", paths::DATA));
    env.push(plain_env(
        "PRESTOP_TIMEOUT",
        PRESTOP_TIMEOUT_SECONDS.to_string(),
    ));
    let mut volumes = vec![
        templates_volume(names, &redis_files::DATA_POD_FILES),
        empty_dir("config"),
    ];
    let claims = match &d.redis.persistence.volume {
        DataVolume::Persistent {
            size,
            storage_class,
        } => vec![claim("data", size, storage_class.as_ref())],
        DataVolume::Ephemeral => {
            volumes.push(empty_dir("data"));
            vec![]
        }
    };
    let container = Container {
        name: "redis".into(),
        image: Some(d.redis.image.reference()),
        command: exec(redis_files::START_REDIS, &[]).command,
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("redis".into()),
            container_port: names.redis_port.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        startup_probe: Some(probe("redis-alive", 5, 60)),
        liveness_probe: Some(probe("redis-alive", 10, 3)),
        readiness_probe: Some(probe("redis-ready", 5, 2)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(exec(redis_files::PRESTOP_REDIS, &[])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        resources: Some(resource_requirements(&d.redis.resources)),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![
            mount("templates", paths::TEMPLATES, true),
            mount("config", paths::RUNTIME_CONFIG, false),
            mount("data", paths::DATA, false),
        ]),
        ..Default::default()
    };
    let mut containers = vec![container];
    if d.metrics.scrapes_data_nodes() {
        containers.push(exporter::sidecar(d, names, exporter::Target::DataNode));
    }
    let (volumes, containers) = with_tls(names, volumes, containers);
    statefulset(
        d,
        names,
        Workload {
            name: &names.data_statefulset,
            service: &names.data_service,
            component: labels::DATA,
            replicas: names.data_pods,
            containers,
            volumes,
            claims,
            grace_seconds: PRESTOP_TIMEOUT_SECONDS + 10,
        },
    )
}

fn sentinel_statefulset(d: &Deployment, names: &Names) -> KubeObject {
    let mut env = script_env(
        d,
        names,
        &names.sentinel_service,
        &redis_files::pod_passwords(d, Side::Sentinel),
    );
    env.push(plain_env("CONFIG_DIR", paths::DATA));
    let mut volumes = vec![templates_volume(names, &redis_files::SENTINEL_POD_FILES)];
    let claims = match &d.redis.persistence.volume {
        DataVolume::Persistent { storage_class, .. } => {
            vec![claim("state", SENTINEL_STATE_SIZE, storage_class.as_ref())]
        }
        DataVolume::Ephemeral => {
            volumes.push(empty_dir("state"));
            vec![]
        }
    };
    let container = Container {
        name: "sentinel".into(),
        image: Some(d.redis.image.reference()),
        command: exec(redis_files::START_SENTINEL, &[]).command,
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("sentinel".into()),
            container_port: names.sentinel_port.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        liveness_probe: Some(probe("sentinel-alive", 10, 3)),
        readiness_probe: Some(probe("sentinel-ready", 5, 2)),
        resources: Some(resource_requirements(&d.redis.sentinel.resources)),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![
            mount("templates", paths::TEMPLATES, true),
            mount("state", paths::DATA, false),
        ]),
        ..Default::default()
    };
    let mut containers = vec![container];
    if d.metrics.scrapes_sentinels() {
        containers.push(exporter::sidecar(d, names, exporter::Target::Sentinel));
    }
    let (volumes, containers) = with_tls(names, volumes, containers);
    statefulset(
        d,
        names,
        Workload {
            name: &names.sentinel_statefulset,
            service: &names.sentinel_service,
            component: labels::SENTINEL,
            replicas: names.sentinel_pods,
            containers,
            volumes,
            claims,
            grace_seconds: 10,
        },
    )
}
