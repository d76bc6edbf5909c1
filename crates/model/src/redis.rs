//! The Redis data nodes and the Sentinels that watch them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Acl, RedisTls, Resources, SecretSource};

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
    /// `min-replicas-max-lag`). On by default: a master that is cut off from its replicas (a
    /// network partition) or wakes up after a freeze while the Sentinels have promoted another node
    /// stops acknowledging writes after at most the lag, instead of acknowledging them until the
    /// Sentinels demote it (measured: ~10,000 acknowledged writes lost to a 15 s partition without
    /// it). It costs availability only when every replica is gone at once. Its fields left out are
    /// derived from what is set (see [`Redis::min_replicas_in_force`]); `null` turns it off.
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
            min_replicas_to_write: Some(MinReplicasToWrite::default()),
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

    /// The Sentinels' port in force: `sentinel.port`, or 26379, or 26380 when the data nodes use
    /// 26379.
    ///
    /// ```
    /// let mut redis = gatehouse_model::Redis::default();
    /// assert_eq!(redis.sentinel_port(), 26379);
    /// redis.port = 26379;
    /// assert_eq!(redis.sentinel_port(), 26380);
    /// ```
    pub fn sentinel_port(&self) -> u16 {
        self.sentinel
            .port
            .unwrap_or(if self.port == 26379 { 26380 } else { 26379 })
    }

    /// `min-replicas-to-write` and `min-replicas-max-lag` in force, each field the written one or
    /// derived from what is set: `replicas` is 1 when there are at least 2 replicas, and the
    /// setting is off with 1 replica (it would stop every write as soon as that replica is down;
    /// validation warns what that gives up); `maxLagSeconds` is
    /// `sentinel.downAfterMilliseconds / 1000` capped at 10 and at least 1 (Redis counts the lag
    /// in whole seconds). `None`: off.
    ///
    /// ```
    /// let mut redis = gatehouse_model::Redis::default();
    /// let on = redis.min_replicas_in_force().unwrap();
    /// assert_eq!((on.replicas, on.max_lag_seconds), (1, 10));
    /// redis.sentinel.down_after_milliseconds = 3000;
    /// assert_eq!(redis.min_replicas_in_force().unwrap().max_lag_seconds, 3);
    /// redis.replicas = 1;
    /// assert_eq!(redis.min_replicas_in_force(), None);
    /// ```
    pub fn min_replicas_in_force(&self) -> Option<MinReplicasInForce> {
        let written = self.min_replicas_to_write.as_ref()?;
        let replicas = match written.replicas {
            Some(replicas) => replicas,
            None if self.replicas >= 2 => 1,
            None => return None,
        };
        Some(MinReplicasInForce {
            replicas,
            max_lag_seconds: written
                .max_lag_seconds
                .unwrap_or_else(|| derived_max_lag_seconds(self.sentinel.down_after_milliseconds)),
        })
    }
}

/// The lag derived from down-after: at most down-after, in whole seconds, between 1 and 10.
fn derived_max_lag_seconds(down_after_milliseconds: u32) -> u32 {
    (down_after_milliseconds / 1000).clamp(1, 10)
}

/// `min-replicas-to-write` / `min-replicas-max-lag` as rendered (see
/// [`Redis::min_replicas_in_force`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinReplicasInForce {
    /// Minimum connected replicas for the master to accept writes.
    pub replicas: u32,
    /// Maximum replication lag, in seconds, for a replica to count.
    pub max_lag_seconds: u32,
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

/// `min-replicas-to-write` / `min-replicas-max-lag`; a field left out is derived (see
/// [`Redis::min_replicas_in_force`]).
///
/// ```
/// let min = gatehouse_model::MinReplicasToWrite::default().with_replicas(2).with_max_lag_seconds(5);
/// assert_eq!((min.replicas, min.max_lag_seconds), (Some(2), Some(5)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MinReplicasToWrite {
    /// Minimum connected replicas for the master to accept writes (below `replicas`). When left
    /// out: 1 with at least 2 replicas; with 1 replica the setting is off (with a warning).
    #[serde(default)]
    pub replicas: Option<u32>,
    /// Maximum replication lag, in seconds, for a replica to count; at most
    /// `sentinel.downAfterMilliseconds`, so that a cut-off master stops accepting writes before the
    /// Sentinels can promote another node. It also bounds the acknowledged writes a partition can
    /// lose: about this many seconds of writes. When left out: `downAfterMilliseconds / 1000`,
    /// capped at 10 and at least 1.
    #[serde(default)]
    pub max_lag_seconds: Option<u32>,
}

impl MinReplicasToWrite {
    /// Sets `replicas` (instead of deriving it).
    pub fn with_replicas(mut self, replicas: u32) -> Self {
        self.replicas = Some(replicas);
        self
    }

    /// Sets `maxLagSeconds` (instead of deriving it).
    pub fn with_max_lag_seconds(mut self, seconds: u32) -> Self {
        self.max_lag_seconds = Some(seconds);
        self
    }
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
    /// `failover-timeout`, in milliseconds; must be longer than `downAfterMilliseconds`. When left
    /// out: 30 s, or 3 × `downAfterMilliseconds` when that is longer. A Sentinel whose failover
    /// attempt fails (a split leader election: `-failover-abort-not-elected`) waits twice this
    /// before it tries again, during which the group has no master; with Redis's 180 s default, a
    /// second failover soon after a first one was measured not to happen within 200 s.
    #[serde(default)]
    pub failover_timeout_milliseconds: Option<u32>,
    /// Port of the Sentinels. When left out: 26379, or 26380 when `redis.port` is 26379 (see
    /// [`Redis::sentinel_port`]).
    #[serde(default)]
    pub port: Option<u16>,
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
            failover_timeout_milliseconds: None,
            port: None,
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

    /// The `failover-timeout` in force: the configured one, or 30 s, or 3 × down-after when that
    /// is longer.
    ///
    /// ```
    /// let mut sentinel = gatehouse_model::Sentinel::default();
    /// assert_eq!(sentinel.effective_failover_timeout_milliseconds(), 30_000);
    /// sentinel.down_after_milliseconds = 60_000;
    /// assert_eq!(sentinel.effective_failover_timeout_milliseconds(), 180_000);
    /// ```
    pub fn effective_failover_timeout_milliseconds(&self) -> u32 {
        self.failover_timeout_milliseconds
            .unwrap_or_else(|| self.down_after_milliseconds.saturating_mul(3).max(30_000))
    }
}
