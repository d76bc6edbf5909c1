//! proptest strategies for models (feature `proptest`): valid deployments, and mutated ones that
//! are usually invalid. Shared by the property tests of every crate.

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

use crate::{
    ContainerImage, DataVolume, Deployment, EnvVar, MinReplicasToWrite, Plugin, PullPolicy,
    Resources, SecretSource, ServiceType,
};

/// Strings that a YAML 1.1 reader (Helm) would turn into booleans, numbers or null if unquoted.
pub const YAML_11_TRAPS: [&str; 16] = [
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "true",
    "False",
    "~",
    "null",
    "12:30",
    "0x1F",
    "1e3",
    "010",
    ".inf",
    "2001-12-14",
];

fn dns_label(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z]([a-z0-9-]{{0,{}}}[a-z0-9])?", max - 2))
        .expect("valid regex")
}

fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(YAML_11_TRAPS.to_vec()).prop_map(str::to_owned),
        "[ -~]{0,24}",
        "\\PC{0,12}",
    ]
}

fn secret_source(generated_allowed: bool) -> BoxedStrategy<SecretSource> {
    let existing = (dns_label(20), "[a-zA-Z0-9._-]{1,16}")
        .prop_map(|(name, key)| SecretSource::ExistingSecret { name, key });
    let env = "[A-Z_][A-Z0-9_]{0,20}".prop_map(|variable| SecretSource::Env { variable });
    if generated_allowed {
        prop_oneof![existing, env, Just(SecretSource::Generated)].boxed()
    } else {
        prop_oneof![existing, env].boxed()
    }
}

fn plugins() -> impl Strategy<Value = Vec<Plugin>> {
    btree_map(
        "[a-z][a-z0-9-]{0,20}",
        (
            "[a-z0-9.-]{1,20}\\.example\\.com(/[a-zA-Z0-9_.-]{1,10}){0,2}",
            option::of("[0-9a-f]{64}"),
        ),
        0..5,
    )
    .prop_map(|by_file| {
        by_file
            .into_iter()
            .map(|(file, (prefix, sha256))| Plugin {
                url: format!("https://{prefix}/{file}.zip"),
                sha256,
            })
            .collect()
    })
}

fn env_vars() -> impl Strategy<Value = Vec<EnvVar>> {
    btree_map("[A-Za-z][A-Za-z0-9_]{0,15}", free_text(), 0..4).prop_map(|vars| {
        vars.into_iter()
            .filter(|(name, _)| {
                !name.to_ascii_lowercase().starts_with("gravitee_")
                    && crate::validate::looks_secret(name).is_none()
            })
            .map(|(name, value)| EnvVar { name, value })
            .collect()
    })
}

fn resources() -> impl Strategy<Value = Resources> {
    (1u32..2000, 1u32..4, 1u32..4096, 1u32..4).prop_map(
        |(cpu_m, cpu_factor, mem_mi, mem_factor)| {
            Resources::default()
                .with_request_cpu(format!("{cpu_m}m"))
                .with_request_memory(format!("{mem_mi}Mi"))
                .with_limit_cpu(format!("{}m", cpu_m * cpu_factor))
                .with_limit_memory(format!("{}Mi", mem_mi * mem_factor))
        },
    )
}

prop_compose! {
    /// A deployment that passes validation (its only warnings may be about Sentinel counts,
    /// ephemeral volumes or Sentinel auth).
    pub fn valid_deployment()(
        namespace in dns_label(30),
        name in dns_label(20),
        replicas in 1u32..5,
        sentinel_count in 1u32..8,
        quorum_choice in option::of(any::<proptest::sample::Index>()),
        down_after in 1000u32..60_000,
        failover_extra in 1u32..200_000,
        parallel_syncs in 1u32..4,
        ports in (1u16..u16::MAX, 1u16..u16::MAX).prop_filter("distinct ports", |(a, b)| a != b),
        master_name in "[a-zA-Z0-9_.-]{1,24}",
        sentinel_service in option::of(dns_label(40)),
        sentinel_auth in any::<bool>(),
        anti_affinity in any::<bool>(),
        persistent in option::of(("[1-9][0-9]{0,2}(Mi|Gi)", option::of(dns_label(20)))),
        append_only in any::<bool>(),
        min_replicas in any::<bool>(),
        tag in "[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}(-alpine)?",
        redis_password in secret_source(true),
        license in option::of(secret_source(false)),
        token in secret_source(false),
        version in (proptest::sample::select(gatehouse_chart_contract::SUPPORTED), 0u32..40),
        gateway_replicas in 1u32..6,
        pull_policy in proptest::sample::select(vec![PullPolicy::IfNotPresent, PullPolicy::Always, PullPolicy::Never]),
        service_type in proptest::sample::select(vec![ServiceType::ClusterIP, ServiceType::NodePort, ServiceType::LoadBalancer]),
        gateway_port in 1u16..u16::MAX,
        plugins in plugins(),
        env in env_vars(),
        annotations in btree_map("[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z]([a-z0-9-]{0,6}[a-z0-9])?)?/[a-z]([a-z0-9-]{0,8}[a-z0-9])?", free_text(), 0..4),
        gateway_resources in resources(),
        redis_resources in resources(),
        grace in 2u32..120,
    ) -> Deployment {
        let mut d = Deployment { namespace, name, ..Deployment::default() };
        d.redis.replicas = replicas;
        d.redis.sentinel.count = sentinel_count;
        d.redis.sentinel.quorum = quorum_choice.map(|i| 1 + i.index(sentinel_count as usize) as u32);
        d.redis.sentinel.down_after_milliseconds = down_after;
        d.redis.sentinel.failover_timeout_milliseconds = Some(down_after + failover_extra);
        d.redis.sentinel.parallel_syncs = parallel_syncs;
        d.redis.port = ports.0;
        d.redis.sentinel.port = Some(ports.1);
        d.redis.master_name = master_name;
        d.redis.sentinel.service_name = sentinel_service;
        d.redis.sentinel.auth = sentinel_auth;
        d.redis.required_anti_affinity = anti_affinity;
        d.redis.persistence.append_only = append_only;
        d.redis.persistence.volume = match persistent {
            Some((size, storage_class)) => DataVolume::Persistent { size, storage_class },
            None => DataVolume::Ephemeral,
        };
        d.redis.min_replicas_to_write = (min_replicas && replicas > 1)
            .then_some(MinReplicasToWrite::default().with_replicas(1).with_max_lag_seconds((down_after / 1000).clamp(1, 10)));
        d.redis.image = ContainerImage { repository: "redis".into(), tag };
        d.redis.password = redis_password;
        d.redis.resources = redis_resources;
        d.gateway.license_key = license;
        d.gateway.cloud_token = token;
        d.gateway.version = format!("{}.{}", version.0.line, version.1);
        d.gateway.replicas = gateway_replicas;
        d.gateway.image.pull_policy = pull_policy;
        d.gateway.service.service_type = service_type;
        d.gateway.service.port = gateway_port;
        d.gateway.plugins = plugins;
        d.gateway.env = env;
        d.gateway.pod_annotations = annotations;
        d.gateway.resources = gateway_resources;
        d.gateway.termination_grace_period_seconds = Some(grace);
        d.gateway.graceful_shutdown_seconds = Some(grace / 2);
        d
    }
}

/// One hostile change to a deployment.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// `namespace`.
    Namespace(String),
    /// `redis.masterName`.
    MasterName(String),
    /// `redis.image.tag`.
    RedisTag(String),
    /// `gateway.version`.
    GatewayVersion(String),
    /// `redis.replicas`.
    Replicas(u32),
    /// `redis.sentinel.count` and `quorum`.
    Sentinels(u32, Option<u32>),
    /// `redis.port`.
    RedisPort(u16),
    /// A plugin with this URL.
    PluginUrl(String),
    /// A plugin with this checksum.
    PluginSha(String),
    /// Gateway CPU request and Redis memory limit.
    Quantities(String, String),
    /// A gateway env var with this name.
    EnvName(String),
    /// `redis.sentinel.serviceName`.
    SentinelService(String),
    /// An existing Secret for the Redis password.
    PasswordSecret(String, String),
    /// Persistent volume size.
    VolumeSize(String),
    /// Graceful shutdown and grace period.
    Shutdown(u32, u32),
}

impl Mutation {
    /// Applies the change.
    pub fn apply(&self, d: &mut Deployment) {
        match self.clone() {
            Mutation::Namespace(s) => d.namespace = s,
            Mutation::MasterName(s) => d.redis.master_name = s,
            Mutation::RedisTag(s) => d.redis.image.tag = s,
            Mutation::GatewayVersion(s) => d.gateway.version = s,
            Mutation::Replicas(n) => d.redis.replicas = n % 7,
            Mutation::Sentinels(c, q) => {
                d.redis.sentinel.count = c % 9;
                d.redis.sentinel.quorum = q.map(|q| q % 11);
            }
            Mutation::RedisPort(p) => d.redis.port = p,
            Mutation::PluginUrl(url) => d.gateway.plugins.push(Plugin { url, sha256: None }),
            Mutation::PluginSha(sha) => d.gateway.plugins.push(Plugin {
                url: "https://x.example/p.zip".into(),
                sha256: Some(sha),
            }),
            Mutation::Quantities(cpu, memory) => {
                d.gateway.resources.requests.cpu = cpu;
                d.redis.resources.limits.memory = memory;
            }
            Mutation::EnvName(name) => d.gateway.env.push(EnvVar {
                name,
                value: "v".into(),
            }),
            Mutation::SentinelService(s) => d.redis.sentinel.service_name = Some(s),
            Mutation::PasswordSecret(name, key) => {
                d.redis.password = SecretSource::ExistingSecret { name, key }
            }
            Mutation::VolumeSize(size) => {
                d.redis.persistence.volume = DataVolume::Persistent {
                    size,
                    storage_class: None,
                }
            }
            Mutation::Shutdown(a, b) => {
                d.gateway.graceful_shutdown_seconds = Some(a % 100);
                d.gateway.termination_grace_period_seconds = Some(b % 100);
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        "\\PC{0,70}".prop_map(Mutation::Namespace),
        "\\PC{0,40}".prop_map(Mutation::MasterName),
        "\\PC{0,20}".prop_map(Mutation::RedisTag),
        "\\PC{0,20}".prop_map(Mutation::GatewayVersion),
        any::<u32>().prop_map(Mutation::Replicas),
        (any::<u32>(), option::of(any::<u32>())).prop_map(|(c, q)| Mutation::Sentinels(c, q)),
        any::<u16>().prop_map(Mutation::RedisPort),
        "\\PC{0,60}".prop_map(Mutation::PluginUrl),
        "\\PC{0,70}".prop_map(Mutation::PluginSha),
        ("\\PC{0,12}", "\\PC{0,12}").prop_map(|(c, m)| Mutation::Quantities(c, m)),
        "\\PC{0,20}".prop_map(Mutation::EnvName),
        "\\PC{0,70}".prop_map(Mutation::SentinelService),
        ("\\PC{0,30}", "\\PC{0,30}").prop_map(|(n, k)| Mutation::PasswordSecret(n, k)),
        "\\PC{0,12}".prop_map(Mutation::VolumeSize),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Mutation::Shutdown(a, b)),
    ]
}

/// A valid deployment with one to four hostile changes: usually invalid, sometimes valid.
/// Validation must report problems (never panic), and rendering whatever passes must not panic.
pub fn mutated_deployment() -> impl Strategy<Value = (Deployment, Vec<Mutation>)> {
    (valid_deployment(), vec(mutation(), 1..5)).prop_map(|(mut d, mutations)| {
        for m in &mutations {
            m.apply(&mut d);
        }
        (d, mutations)
    })
}
