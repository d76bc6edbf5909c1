//! The alerts of one Redis group, as data: each expression selects only this group's series and
//! keeps the group labels, and every threshold comes from the model.
//!
//! Series carry `namespace` and `pod` (Prometheus Operator target labels) and, through the
//! `PodMonitor`s' `podTargetLabels`, [`INSTANCE_LABEL`] and [`COMPONENT_LABEL`]; two groups in one
//! namespace differ in the instance label, so every expression selects and groups by both.

use gatehouse_model::{Deployment, quorum_at_risk_threshold};

use crate::names::Names;

/// The Prometheus label of `app.kubernetes.io/instance` (the deployment's `name`).
pub const INSTANCE_LABEL: &str = "app_kubernetes_io_instance";
/// The Prometheus label of `app.kubernetes.io/component` (`data` or `sentinel`).
pub const COMPONENT_LABEL: &str = "app_kubernetes_io_component";
/// The labels every alert keeps: they tell two groups apart across namespaces and inside one.
pub const GROUP_LABELS: &str = "namespace, app_kubernetes_io_instance";
/// How long the failover alert stays on after the Sentinels start naming a new master.
pub const FAILOVER_WINDOW_MINUTES: u32 = 10;

/// How urgent an alert is (its `severity` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Writes are refused now or the next failure loses the group.
    Critical,
    /// Something is wrong that does not stop rate limiting yet.
    Warning,
    /// Something happened that a person should know about.
    Info,
}

impl Severity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Which exporter an alert reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The data nodes' exporters.
    DataNodes,
    /// The Sentinels' exporters.
    Sentinels,
    /// Both.
    Both,
}

/// One alert rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The alert name (also its README runbook anchor, lower-cased).
    pub name: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// The PromQL expression.
    pub expr: String,
    /// How long the expression must hold before the alert fires, in seconds.
    pub for_seconds: u32,
    /// One line for the person paged (Prometheus template syntax for labels).
    pub summary: String,
    /// The exporters it needs.
    pub source: Source,
}

impl Alert {
    /// The README anchor of its runbook section.
    pub fn runbook_anchor(&self) -> String {
        self.name.to_ascii_lowercase()
    }
}

/// Whole seconds, rounded up.
fn seconds(milliseconds: u32) -> u32 {
    milliseconds.div_ceil(1000)
}

/// The alerts of this group for the exporters that run; none when rules are off.
pub fn alerts(d: &Deployment, names: &Names) -> Vec<Alert> {
    let m = &d.metrics;
    if !m.enabled || !m.rules {
        return Vec::new();
    }
    let s = &d.redis.sentinel;
    let down_after = seconds(s.down_after_milliseconds);
    let failover_timeout = seconds(s.effective_failover_timeout_milliseconds());
    let sel = format!(
        r#"namespace="{}",{INSTANCE_LABEL}="{}""#,
        names.namespace, names.instance
    );
    let g = GROUP_LABELS;
    let master = d.redis.master_name.as_str();
    let mut list = vec![
        Alert {
            name: "GatehouseRedisMasterNotOk",
            severity: Severity::Critical,
            expr: format!(
                "min by ({g}, master_name, pod) (redis_sentinel_master_status{{{sel}}}) == 0"
            ),
            for_seconds: failover_timeout,
            summary: format!(
                "Sentinel {{{{ $labels.pod }}}} has seen master {master} of {{{{ $labels.namespace }}}}/{} \
                 not ok for longer than a failover may take ({failover_timeout} s)",
                names.instance
            ),
            source: Source::Sentinels,
        },
        Alert {
            name: "GatehouseRedisQuorumAtRisk",
            severity: Severity::Warning,
            expr: format!(
                "max by ({g}, master_name) (redis_sentinel_master_ok_sentinels{{{sel}}}) <= {}",
                quorum_at_risk_threshold(d)
            ),
            for_seconds: down_after,
            summary: format!(
                "only {{{{ $value }}}} of {} Sentinels of {{{{ $labels.namespace }}}}/{} are up: one \
                 more lost and no failover can start",
                s.count, names.instance
            ),
            source: Source::Sentinels,
        },
        Alert {
            name: "GatehouseRedisNoHealthyReplica",
            severity: Severity::Critical,
            expr: format!(
                "max by ({g}, master_name) (redis_sentinel_master_ok_slaves{{{sel}}}) < 1"
            ),
            for_seconds: failover_timeout,
            summary: format!(
                "no Sentinel of {{{{ $labels.namespace }}}}/{} sees a healthy replica of master \
                 {master}: a master failure now cannot fail over",
                names.instance
            ),
            source: Source::Sentinels,
        },
        Alert {
            name: "GatehouseRedisSentinelsDisagree",
            severity: Severity::Warning,
            expr: format!(
                "count by ({g}, master_name) (count by ({g}, master_name, master_address) \
                 (redis_sentinel_master_status{{{sel}}})) > 1"
            ),
            for_seconds: failover_timeout,
            summary: format!(
                "the Sentinels of {{{{ $labels.namespace }}}}/{} name {{{{ $value }}}} different \
                 masters for {master}",
                names.instance
            ),
            source: Source::Sentinels,
        },
        Alert {
            name: "GatehouseRedisFailover",
            severity: Severity::Info,
            expr: format!(
                "(count by ({g}, master_name, master_address) (redis_sentinel_master_status{{{sel}}}) \
                 unless count by ({g}, master_name, master_address) \
                 (redis_sentinel_master_status{{{sel}}} offset {FAILOVER_WINDOW_MINUTES}m)) \
                 and on ({g}, master_name) count by ({g}, master_name) \
                 (redis_sentinel_master_status{{{sel}}} offset {FAILOVER_WINDOW_MINUTES}m)"
            ),
            for_seconds: 0,
            summary: format!(
                "the Sentinels of {{{{ $labels.namespace }}}}/{} moved master {master} to \
                 {{{{ $labels.master_address }}}} in the last {FAILOVER_WINDOW_MINUTES} minutes",
                names.instance
            ),
            source: Source::Sentinels,
        },
        Alert {
            name: "GatehouseRedisSentinelTilt",
            severity: Severity::Warning,
            expr: format!("max by ({g}, pod) (redis_sentinel_tilt{{{sel}}}) > 0"),
            for_seconds: 0,
            summary: "Sentinel {{ $labels.pod }} is in TILT mode (its clock jumped or it was \
                      paused): it takes no failover decision for 30 s"
                .into(),
            source: Source::Sentinels,
        },
        Alert {
            name: "GatehouseRedisTwoMasters",
            severity: Severity::Critical,
            expr: format!(r#"count by ({g}) (redis_instance_info{{{sel},role="master"}}) > 1"#),
            for_seconds: down_after,
            summary: format!(
                "{{{{ $value }}}} data nodes of {{{{ $labels.namespace }}}}/{} call themselves \
                 master: writes to the wrong one are lost",
                names.instance
            ),
            source: Source::DataNodes,
        },
        Alert {
            name: "GatehouseRedisReplicaLinkDown",
            severity: Severity::Warning,
            expr: format!("max by ({g}, pod) (redis_master_link_up{{{sel}}}) == 0"),
            for_seconds: down_after + failover_timeout,
            summary: format!(
                "replica {{{{ $labels.pod }}}} has had no link to its master for longer than \
                 down-after plus a failover ({} s)",
                down_after + failover_timeout
            ),
            source: Source::DataNodes,
        },
        Alert {
            name: "GatehouseRedisExporterDown",
            severity: Severity::Warning,
            expr: format!(
                r#"max by ({g}, pod) (up{{{sel},container="exporter"}}) == 0 or max by ({g}, pod) (redis_up{{{sel}}}) == 0"#
            ),
            for_seconds: failover_timeout,
            summary: "the exporter of {{ $labels.pod }} cannot be scraped or cannot reach its \
                      Redis process: the alerts above are blind for it"
                .into(),
            source: Source::Both,
        },
    ];
    if let Some(min) = d.redis.min_replicas_in_force() {
        list.push(Alert {
            name: "GatehouseRedisWritesRefused",
            severity: Severity::Critical,
            expr: format!(
                r#"(count by ({g}, pod) (redis_connected_slave_lag_seconds{{{sel},slave_state="online"}} <= {lag}) or sum by ({g}, pod) (redis_instance_info{{{sel},role="master"}}) * 0) < {n} and on ({g}, pod) redis_instance_info{{{sel},role="master"}}"#,
                lag = min.max_lag_seconds,
                n = min.replicas
            ),
            for_seconds: down_after,
            summary: format!(
                "master {{{{ $labels.pod }}}} has {{{{ $value }}}} replicas within {} s of lag, \
                 fewer than min-replicas-to-write ({}): it refuses every write",
                min.max_lag_seconds, min.replicas
            ),
            source: Source::DataNodes,
        });
    }
    list.retain(|a| match a.source {
        Source::DataNodes => m.data_nodes,
        Source::Sentinels => m.sentinels,
        Source::Both => m.data_nodes || m.sentinels,
    });
    list
}
