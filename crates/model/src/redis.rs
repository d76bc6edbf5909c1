//! The Redis data nodes and the Sentinels that watch them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Acl, Resources, SecretSource};

/// A container image pinned to a tag (never `latest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ContainerImage {
    /// Image repository, e.g. `redis` or `registry.example.com/redis`.
    pub repository: String,
    /// Image tag, e.g. `7.2.0`. `latest` and empty tags are rejected.
    pub tag: String,
}

impl ContainerImage {
    /// `repository:tag`, as a pod spec wants it.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// The highly available Redis used by the gateway for rate limiting: one master, replicas and Sentinels.
///
/// ```
/// let redis = gatehouse_model::Redis::default();
/// assert_eq!(redis.replicas, 2);
/// assert_eq!(redis.sentinel.count, 3);
/// assert_eq!(redis.sentinel.effective_quorum(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Redis {
    /// Image of the data nodes and Sentinels (the guide's `redis:7.2.0`).
    #[serde(deserialize_with = "crate::serde_helpers::redis_image")]
    pub image: ContainerImage,
    /// Name of the master group that Sentinels monitor and clients ask for (`mymaster`).
    pub master_name: String,
    /// Where the Redis password comes from: the password of the gateway's user (`default`) on the
    /// data nodes and, with `sentinel.auth`, on the Sentinels.
    pub password: SecretSource,
    /// The ACL users: the gateway's restricted `default` and one named user per other job.
    pub acl: Acl,
    /// Number of replicas beside the master. Zero can never fail over and is rejected.
    pub replicas: u32,
    /// Port of the data nodes.
    pub port: u16,
    /// Persistence of the data nodes.
    pub persistence: Persistence,
    /// Refuse writes when fewer replicas are connected and acknowledging (`min-replicas-to-write`,
    /// `min-replicas-max-lag`). On by default with 1 replica and a lag of 10 s (not above
    /// `sentinel.downAfterMilliseconds`): a master that is cut off from its replicas (a network
    /// partition) or wakes up after a freeze while the Sentinels have promoted another node stops
    /// acknowledging writes after at most the lag, instead of acknowledging them until the Sentinels
    /// demote it (measured: ~10,000 acknowledged writes lost to a 15 s partition without it). It
    /// costs availability only when every replica is gone at once. Must be below `replicas` (else
    /// losing one replica stops every write); `null` turns it off.
    pub min_replicas_to_write: Option<MinReplicasToWrite>,
    /// Replication backlog of each data node, in MiB (`repl-backlog-size`). A replica that
    /// reconnects after a failover or a short partition continues from the backlog (partial
    /// resync) instead of reloading the whole data set; 1 MiB (Redis's default) holds only a few
    /// seconds of a busy rate limiter's writes.
    pub repl_backlog_megabytes: u32,
    /// CPU and memory of each data node.
    #[serde(deserialize_with = "crate::serde_helpers::redis_resources")]
    pub resources: Resources,
    /// Never put two data pods (or two Sentinels) on one node (`true`); `false` only prefers it,
    /// for clusters with fewer nodes than pods.
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub required_anti_affinity: bool,
    /// The Sentinels.
    pub sentinel: Sentinel,
    /// TLS on every Redis and Sentinel link (off by default).
    pub tls: RedisTls,
}

impl Default for Redis {
    fn default() -> Self {
        Redis {
            image: ContainerImage {
                repository: "redis".into(),
                tag: "7.2.0".into(),
            },
            master_name: "mymaster".into(),
            password: SecretSource::Generated,
            acl: Acl::default(),
            replicas: 2,
            port: 6379,
            persistence: Persistence::default(),
            min_replicas_to_write: Some(MinReplicasToWrite {
                replicas: 1,
                max_lag_seconds: 10,
            }),
            repl_backlog_megabytes: 32,
            resources: Resources::default()
                .with_request_cpu("100m")
                .with_request_memory("256Mi")
                .with_limit_cpu("500m")
                .with_limit_memory("512Mi"),
            required_anti_affinity: true,
            sentinel: Sentinel::default(),
            tls: RedisTls::default(),
        }
    }
}

impl Redis {
    /// Number of data pods: the master plus its replicas.
    pub fn data_nodes(&self) -> u32 {
        1 + self.replicas
    }
}

/// How the data nodes keep their data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Persistence {
    /// Append-only file (`appendonly yes`).
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub append_only: bool,
    /// Where `dir` lives.
    pub volume: DataVolume,
}

impl Default for Persistence {
    fn default() -> Self {
        Persistence {
            append_only: true,
            volume: DataVolume::default(),
        }
    }
}

/// The volume behind each data node's `dir`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum DataVolume {
    /// A PersistentVolumeClaim per data pod (recommended: a master restarted empty would wipe its
    /// replicas).
    Persistent {
        /// Requested size, a Kubernetes quantity such as `8Gi`.
        size: String,
        /// Storage class; the cluster default when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        storage_class: Option<String>,
    },
    /// An emptyDir: data is lost when a pod is deleted. Only on explicit request.
    Ephemeral,
}

impl Default for DataVolume {
    /// An 8 GiB claim of the cluster's default storage class.
    fn default() -> Self {
        DataVolume::Persistent {
            size: "8Gi".into(),
            storage_class: None,
        }
    }
}

/// `min-replicas-to-write` / `min-replicas-max-lag`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MinReplicasToWrite {
    /// Minimum connected replicas for the master to accept writes (below `replicas`).
    pub replicas: u32,
    /// Maximum replication lag, in seconds, for a replica to count; at most
    /// `sentinel.downAfterMilliseconds`, so that a cut-off master stops accepting writes before the
    /// Sentinels can promote another node. It also bounds the acknowledged writes a partition can
    /// lose: about this many seconds of writes.
    pub max_lag_seconds: u32,
}

/// The Sentinels that elect a new master when the current one fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Sentinel {
    /// Number of Sentinel processes (3 or 5; odd, at least 3).
    pub count: u32,
    /// Sentinels that must agree the master is down; the majority when absent.
    pub quorum: Option<u32>,
    /// `down-after-milliseconds`.
    pub down_after_milliseconds: u32,
    /// `parallel-syncs`.
    pub parallel_syncs: u32,
    /// `failover-timeout`, in milliseconds; 30 s by default. A Sentinel whose failover attempt fails
    /// (a split leader election: `-failover-abort-not-elected`) waits twice this before it tries
    /// again, during which the group has no master; with Redis's 180 s default, a second failover
    /// soon after a first one was measured not to happen within 200 s.
    pub failover_timeout_milliseconds: u32,
    /// Port of the Sentinels.
    pub port: u16,
    /// Name of the headless Service of the Sentinels, which the gateway connects to; by default
    /// `<name>-redis-headless`, so two deployments in one namespace never share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Require the Redis password on the Sentinels too (`requirepass` in sentinel.conf). Without it,
    /// anyone who reaches a Sentinel can force a failover.
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub auth: bool,
    /// CPU and memory of each Sentinel.
    #[serde(deserialize_with = "crate::serde_helpers::sentinel_resources")]
    pub resources: Resources,
}

impl Default for Sentinel {
    fn default() -> Self {
        Sentinel {
            count: 3,
            quorum: None,
            down_after_milliseconds: 10_000,
            parallel_syncs: 1,
            failover_timeout_milliseconds: 30_000,
            port: 26379,
            service_name: None,
            auth: true,
            resources: Resources::default()
                .with_request_cpu("50m")
                .with_request_memory("64Mi")
                .with_limit_cpu("200m")
                .with_limit_memory("128Mi"),
        }
    }
}

impl Sentinel {
    /// The quorum in force: the configured one, or the majority of `count`.
    pub fn effective_quorum(&self) -> u32 {
        self.quorum.unwrap_or(self.count / 2 + 1)
    }
}

/// TLS on every link of the Redis group: data nodes, replication, Sentinels, probes and the
/// gateway. Off by default (an existing group keeps speaking plain TCP until this is turned on).
///
/// ```
/// let tls = gatehouse_model::RedisTls::default();
/// assert!(!tls.enabled);
/// assert_eq!(tls.client_auth, gatehouse_model::TlsClientAuth::Optional);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RedisTls {
    /// Speak TLS only: every Redis and Sentinel port becomes a TLS port (plain TCP is refused),
    /// replication and Sentinel links use TLS, and the gateway connects with `ssl: true`, its
    /// certificate check and hostname verification on.
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub enabled: bool,
    /// Where the server certificate, its key and the CA come from. Required when `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<TlsCertificateSource>,
    /// Whether clients must present a certificate signed by the CA (`tls-auth-clients`).
    pub client_auth: TlsClientAuth,
}

/// Where the Redis group's TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum TlsCertificateSource {
    /// An existing Secret in the deployment's namespace with the keys `tls.crt`, `tls.key` and
    /// `ca.crt` (the layout cert-manager writes). Its certificate must name every address a
    /// client dials: each pod's name under the headless Services and the Service names.
    Secret {
        /// Name of the Secret.
        name: String,
    },
}

/// `tls-auth-clients`: whether a client must present a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TlsClientAuth {
    /// A client may present a certificate (checked against the CA when it does); the password
    /// authenticates it. The default: the gateway's client key pair (a PEM keystore) is not yet
    /// proven on a real gateway, and a wrong one would turn rate limiting off silently.
    #[default]
    Optional,
    /// Mutual TLS: every client (replicas, Sentinels, probes, the gateway) must present a
    /// certificate signed by the CA.
    Required,
}

impl TlsClientAuth {
    /// The `tls-auth-clients` value.
    pub fn redis_value(self) -> &'static str {
        match self {
            TlsClientAuth::Optional => "optional",
            TlsClientAuth::Required => "yes",
        }
    }
}
