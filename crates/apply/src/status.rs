//! `status`: readiness of the workloads, the master each Sentinel reports, and drift.
//!
//! The master is asked from each Sentinel pod through the API server's `pods/exec` (the same
//! path `kubectl exec` takes): `redis-cli SENTINEL get-master-addr-by-name` runs inside the
//! Sentinel container with the port, master name and password from that container's own
//! environment, so no secret value leaves the pod. Where exec is not possible (no RBAC for
//! `pods/exec`, a pod not running, an API server without exec), the Sentinel's master is reported
//! as unknown with the reason.
//!
//! The same path asks each Sentinel how long the current master has held its role
//! (`SENTINEL MASTER`'s `role-reported-time`, which Sentinel resets when it switches to a new
//! master and when it starts) and its uptime, which together date the last failover a running
//! Sentinel saw; and the master's data container for `INFO replication`, which gives each
//! replica's lag.
//!
//! With `redis.tls` it compares the gateway's running pods with the TLS Secrets they mount
//! ([`crate::gateway_tls`]): a pod rolled before a renewal runs the old certificate.

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, ListParams};
use tokio::io::AsyncReadExt;

use gatehouse_render::Rendered;

use crate::gateway_tls::GatewayCertificate;
use crate::secrets::Masker;
use crate::{ApplyError, Cluster, DeployOptions, DiffReport, ObjectKind, Verb, wait};

/// The label gatehouse puts on the Sentinel pods (`app.kubernetes.io/component`).
const SENTINEL_COMPONENT: &str = gatehouse_render::names::labels::SENTINEL;

/// The label gatehouse puts on the data pods.
const DATA_COMPONENT: &str = gatehouse_render::names::labels::DATA;

/// How long one Sentinel may take to answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`Cluster::status`] found.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Each rendered workload and whether it is ready.
    pub workloads: Vec<WorkloadStatus>,
    /// The master each Sentinel pod reports.
    pub sentinels: Vec<SentinelView>,
    /// What deploy would change (as `diff` reports it).
    pub drift: DiffReport,
    /// The replicas as the agreed master reports them, when the Sentinels agree on one.
    pub replication: Option<Replication>,
    /// The last failover a running Sentinel saw, when a Sentinel answered.
    pub last_failover: Option<LastFailover>,
    /// Each TLS Secret the gateway mounts, and whether its running pods were rolled with the
    /// live one (none without `redis.tls`).
    pub gateway_certificates: Vec<GatewayCertificate>,
}

/// The replicas of the master, from the master's `INFO replication`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replication {
    /// The master's pod.
    pub master_pod: String,
    /// Each replica the master lists (empty: none connected).
    pub replicas: Vec<ReplicaLag>,
    /// Why the replicas are unknown (the query failed).
    pub problem: Option<String>,
}

/// One replica's lag behind the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLag {
    /// `host:port` the replica announced.
    pub replica: String,
    /// The link state (`online`, `wait_bgsave`, `send_bulk`).
    pub state: String,
    /// Bytes of the replication stream the replica has not acknowledged.
    pub bytes_behind: u64,
    /// Seconds since the replica's last acknowledgement.
    pub seconds_since_ack: u64,
}

/// When the current master took over, as far as the running Sentinels can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailover {
    /// Seconds since a running Sentinel switched to the current master; `None` when every
    /// Sentinel started after the current master took over (no failover seen).
    pub seconds_ago: Option<u64>,
    /// The Sentinel that saw it (or, when none did, the longest-running one).
    pub seen_by: String,
    /// The longest uptime among the Sentinels that answered, in seconds.
    pub oldest_sentinel_uptime: u64,
    /// The master's configuration epoch (0: the group never failed over).
    pub config_epoch: u64,
}

/// Readiness of one workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadStatus {
    /// `Kind namespace/name`.
    pub object: String,
    /// Rolled out and every replica ready.
    pub ready: bool,
    /// Replicas ready.
    pub ready_replicas: u64,
    /// Replicas wanted.
    pub wanted: u64,
    /// Explanation (`2/3 ready, ...`, or `does not exist`).
    pub reason: String,
}

/// The master one Sentinel pod reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelView {
    /// The Sentinel pod.
    pub pod: String,
    /// `host:port` of the master it reports, if it answered.
    pub master: Option<String>,
    /// Why the master is unknown.
    pub problem: Option<String>,
}

impl Status {
    /// Every workload ready, every Sentinel answered with the same master, the gateway runs the
    /// live certificates, and no drift.
    pub fn healthy(&self) -> bool {
        let masters: std::collections::BTreeSet<_> =
            self.sentinels.iter().map(|s| s.master.clone()).collect();
        self.workloads.iter().all(|w| w.ready)
            && !self.sentinels.is_empty()
            && masters.len() == 1
            && masters.iter().all(Option::is_some)
            && !self.drift.has_changes()
            && self
                .gateway_certificates
                .iter()
                .all(GatewayCertificate::current)
    }

    /// The master the Sentinels agree on, if they do.
    pub fn agreed_master(&self) -> Option<&str> {
        let first = self.sentinels.first()?.master.as_deref()?;
        self.sentinels
            .iter()
            .all(|s| s.master.as_deref() == Some(first))
            .then_some(first)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "workloads:")?;
        for w in &self.workloads {
            let state = if w.ready { "ready" } else { "NOT READY" };
            writeln!(f, "  {}: {state} ({})", w.object, w.reason)?;
        }
        writeln!(f, "sentinels (master each one reports):")?;
        if self.sentinels.is_empty() {
            writeln!(f, "  no Sentinel pods found")?;
        }
        for s in &self.sentinels {
            match (&s.master, &s.problem) {
                (Some(master), _) => writeln!(f, "  {}: {master}", s.pod)?,
                (None, Some(problem)) => writeln!(f, "  {}: unknown ({problem})", s.pod)?,
                (None, None) => writeln!(f, "  {}: unknown", s.pod)?,
            }
        }
        match self.agreed_master() {
            Some(master) => writeln!(f, "master: {master} (all Sentinels agree)")?,
            None if self.sentinels.iter().any(|s| s.master.is_some()) => {
                writeln!(f, "master: the Sentinels DISAGREE")?
            }
            None => writeln!(f, "master: unknown")?,
        }
        match &self.replication {
            Some(r) => {
                writeln!(f, "replication (as {} reports it):", r.master_pod)?;
                if let Some(problem) = &r.problem {
                    writeln!(f, "  unknown ({problem})")?;
                } else if r.replicas.is_empty() {
                    writeln!(f, "  NO REPLICA connected")?;
                }
                for lag in &r.replicas {
                    writeln!(
                        f,
                        "  {}: {}, {} bytes behind, last acknowledgement {} s ago",
                        lag.replica, lag.state, lag.bytes_behind, lag.seconds_since_ack
                    )?;
                }
            }
            None => writeln!(f, "replication: unknown (no agreed master)")?,
        }
        if let Some(last) = &self.last_failover {
            let epoch = last.config_epoch;
            match last.seconds_ago {
                Some(ago) => writeln!(
                    f,
                    "last failover: {} ago (seen by {}; config epoch {epoch})",
                    humantime::format_duration(Duration::from_secs(ago)),
                    last.seen_by
                )?,
                None if epoch == 0 => writeln!(f, "last failover: never (config epoch 0)")?,
                None => writeln!(
                    f,
                    "last failover: more than {} ago, before every running Sentinel started (config epoch {epoch})",
                    humantime::format_duration(Duration::from_secs(last.oldest_sentinel_uptime))
                )?,
            }
        }
        if !self.gateway_certificates.is_empty() {
            writeln!(f, "gateway certificates:")?;
            for certificate in &self.gateway_certificates {
                writeln!(f, "  {certificate}")?;
            }
        }
        if self.drift.has_changes() {
            writeln!(
                f,
                "drift: deploy would change objects (run `gatehouse diff`)"
            )
        } else {
            writeln!(f, "drift: none")
        }
    }
}

impl Cluster {
    /// Reads the readiness of every rendered workload, asks each Sentinel pod for the current
    /// master, and diffs the rendered objects against the cluster. Writes nothing.
    pub async fn status(
        &self,
        rendered: &Rendered,
        options: &DeployOptions,
    ) -> Result<Status, ApplyError> {
        let masker = Masker::default();
        let mut status = Status::default();
        let sts_kind =
            ObjectKind::find("apps/v1", "StatefulSet").expect("StatefulSet is in the kinds table");
        let mut sentinel_set = None;
        let mut data_set = None;
        for object in rendered
            .objects
            .iter()
            .filter(|o| o.kind() == "StatefulSet")
        {
            let namespace = object.namespace().unwrap_or_default();
            let display = format!("StatefulSet {namespace}/{}", object.name());
            let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), namespace);
            let live = api
                .get_opt(object.name())
                .await
                .map_err(|e| self.kube_err(e, &display, Verb::Get, sts_kind, &masker))?;
            let Some(live) = live else {
                status.workloads.push(WorkloadStatus {
                    object: display,
                    ready: false,
                    ready_replicas: 0,
                    wanted: 0,
                    reason: "does not exist (run `gatehouse deploy`)".into(),
                });
                continue;
            };
            let value = serde_json::to_value(&live).unwrap_or_default();
            let (ready, ready_replicas, wanted, reason) = wait::progress_of("StatefulSet", &value);
            let component = object
                .metadata()
                .labels
                .as_ref()
                .and_then(|l| l.get(gatehouse_render::names::labels::COMPONENT));
            match component.map(String::as_str) {
                Some(SENTINEL_COMPONENT) => sentinel_set = Some(live),
                Some(DATA_COMPONENT) => data_set = Some(live),
                _ => {}
            }
            status.workloads.push(WorkloadStatus {
                object: display,
                ready,
                ready_replicas,
                wanted,
                reason,
            });
        }
        if let Some(sts) = sentinel_set {
            let (views, facts) = self.ask_sentinels(&sts).await;
            status.sentinels = views;
            status.last_failover = last_failover(&facts);
        }
        if let (Some(master), Some(data)) = (status.agreed_master(), data_set) {
            status.replication = Some(self.ask_replication(&data, master).await);
        }
        status.gateway_certificates = self.gateway_certificates(rendered, &masker).await?;
        status.drift = self.diff(rendered, options).await?;
        Ok(status)
    }

    /// Asks each running pod of the Sentinel StatefulSet for the master it currently reports, and
    /// for how long (with its own uptime).
    async fn ask_sentinels(
        &self,
        sts: &StatefulSet,
    ) -> (Vec<SentinelView>, Vec<(String, SentinelFacts)>) {
        let namespace = sts.metadata.namespace.clone().unwrap_or_default();
        let spec = sts.spec.clone().unwrap_or_default();
        let selector = wait::pod_selector(sts);
        let container = spec
            .template
            .spec
            .and_then(|s| s.containers.first().map(|c| c.name.clone()))
            .unwrap_or_default();
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        let list = match pods.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => list.items,
            Err(e) => {
                let view = SentinelView {
                    pod: format!("pods {selector}"),
                    master: None,
                    problem: Some(format!("cannot list the Sentinel pods: {e}")),
                };
                return (vec![view], Vec::new());
            }
        };
        let mut views = Vec::new();
        let mut facts = Vec::new();
        for pod in list {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let answer = run_in(&pods, &name, &container, ASK_MASTER_SCRIPT)
                .await
                .and_then(|text| parse_master(&text));
            if answer.is_ok()
                && let Ok(found) = run_in(&pods, &name, &container, SENTINEL_FACTS_SCRIPT)
                    .await
                    .and_then(|text| parse_sentinel_facts(&text))
            {
                facts.push((name.clone(), found));
            }
            views.push(SentinelView {
                pod: name,
                master: answer.as_ref().ok().cloned(),
                problem: answer.err(),
            });
        }
        views.sort_by(|a, b| a.pod.cmp(&b.pod));
        (views, facts)
    }

    /// Asks the master's data container for its replicas. `master` is `host:port` as the
    /// Sentinels report it; the pod is the host's first label (each data pod announces its name
    /// under the headless Service).
    async fn ask_replication(&self, data: &StatefulSet, master: &str) -> Replication {
        let namespace = data.metadata.namespace.clone().unwrap_or_default();
        let container = data
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.containers.first().map(|c| c.name.clone()))
            .unwrap_or_default();
        let host = master.rsplit_once(':').map_or(master, |(host, _)| host);
        let master_pod = host.split('.').next().unwrap_or(host).to_owned();
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
        let answer = run_in(&pods, &master_pod, &container, REPLICATION_SCRIPT)
            .await
            .and_then(|text| parse_replication(&text));
        match answer {
            Ok(replicas) => Replication {
                master_pod,
                replicas,
                problem: None,
            },
            Err(problem) => Replication {
                master_pod,
                replicas: Vec::new(),
                problem: Some(problem),
            },
        }
    }
}

/// What one Sentinel says of the master it monitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentinelFacts {
    /// Milliseconds since the master's role last changed as this Sentinel saw it: since its
    /// switch to this master, or since it started monitoring.
    pub master_for_ms: u64,
    /// The master's configuration epoch.
    pub config_epoch: u64,
    /// The Sentinel's uptime in seconds.
    pub uptime_seconds: u64,
}

/// A master younger than the Sentinel's uptime by more than this was switched to while the
/// Sentinel ran (a Sentinel creates the master's entry when it loads its config, at start).
const STARTED_WITH_IT_SECONDS: u64 = 5;

/// The last failover the answering Sentinels saw: the switch seen by the longest-running
/// Sentinel that saw one, or none (with the oldest uptime) when each started after it.
pub fn last_failover(facts: &[(String, SentinelFacts)]) -> Option<LastFailover> {
    let oldest = facts.iter().max_by_key(|(_, f)| f.uptime_seconds)?;
    let config_epoch = facts.iter().map(|(_, f)| f.config_epoch).max().unwrap_or(0);
    // Every failover raises the epoch; a role change without one (a node that started as a
    // candidate) does not count.
    let saw = facts
        .iter()
        .filter(|(_, f)| f.config_epoch > 0)
        .filter(|(_, f)| f.master_for_ms / 1000 + STARTED_WITH_IT_SECONDS < f.uptime_seconds)
        .max_by_key(|(_, f)| f.uptime_seconds);
    Some(match saw {
        Some((pod, f)) => LastFailover {
            seconds_ago: Some(f.master_for_ms / 1000),
            seen_by: pod.clone(),
            oldest_sentinel_uptime: oldest.1.uptime_seconds,
            config_epoch,
        },
        None => LastFailover {
            seconds_ago: None,
            seen_by: oldest.0.clone(),
            oldest_sentinel_uptime: oldest.1.uptime_seconds,
            config_epoch,
        },
    })
}

/// The shell command run in a Sentinel container: every value from the container's own
/// environment (`SENTINEL_PORT`, `MASTER_NAME`, `OPERATOR_USER`, `OPERATOR_PASSWORD`, and with TLS
/// `REDIS_TLS` and the `TLS_*_FILE` paths of the mounted Secret), logged in as the operator user,
/// the password passed to redis-cli through `REDISCLI_AUTH`, never on a command line. `LOCAL_HOST`
/// (default 127.0.0.1) is the address the Sentinel listens on.
pub const ASK_MASTER_SCRIPT: &str = r#"export REDISCLI_AUTH="$OPERATOR_PASSWORD"; set --; if [ "${REDIS_TLS:-no}" = yes ]; then set -- --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"; fi; exec redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$SENTINEL_PORT" --no-raw SENTINEL get-master-addr-by-name "$MASTER_NAME""#;

/// The shell command run in a Sentinel container after [`ASK_MASTER_SCRIPT`], with the same
/// environment and login: `SENTINEL MASTER` (its fields one per line) and `INFO server`.
pub const SENTINEL_FACTS_SCRIPT: &str = r#"export REDISCLI_AUTH="$OPERATOR_PASSWORD"; set --; if [ "${REDIS_TLS:-no}" = yes ]; then set -- --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"; fi; redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$SENTINEL_PORT" --raw SENTINEL MASTER "$MASTER_NAME" && exec redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$SENTINEL_PORT" --raw INFO server"#;

/// The shell command run in the master's data container: `INFO replication` as the operator user,
/// from the container's own environment (`REDIS_PORT` and the variables of [`ASK_MASTER_SCRIPT`]).
pub const REPLICATION_SCRIPT: &str = r#"export REDISCLI_AUTH="$OPERATOR_PASSWORD"; set --; if [ "${REDIS_TLS:-no}" = yes ]; then set -- --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"; fi; exec redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$REDIS_PORT" --raw INFO replication"#;

/// Runs `script` with `sh -c` in a container through `pods/exec`; its standard output, or why
/// there is none. Bounded by [`ASK_TIMEOUT`].
async fn run_in(
    pods: &Api<Pod>,
    pod: &str,
    container: &str,
    script: &str,
) -> Result<String, String> {
    let run = async {
        let params = AttachParams::default()
            .container(container)
            .stdin(false)
            .stdout(true)
            .stderr(false);
        let mut process = pods
            .exec(pod, ["sh", "-c", script], &params)
            .await
            .map_err(|e| format!("exec into the pod failed: {e}"))?;
        let mut stdout = process
            .stdout()
            .ok_or_else(|| "exec gave no output stream".to_string())?;
        let mut text = String::new();
        stdout
            .read_to_string(&mut text)
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        let _ = process.join().await;
        Ok(text)
    };
    tokio::time::timeout(ASK_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}s", ASK_TIMEOUT.as_secs())))
}

/// Parses [`SENTINEL_FACTS_SCRIPT`]'s output: `SENTINEL MASTER`'s fields as alternating name and
/// value lines, then `INFO server`'s `name:value` lines.
pub fn parse_sentinel_facts(text: &str) -> Result<SentinelFacts, String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let field = |name: &str| -> Result<u64, String> {
        lines
            .windows(2)
            .find(|w| w[0] == name)
            .and_then(|w| w[1].parse().ok())
            .ok_or_else(|| format!("the Sentinel's answer has no `{name}`"))
    };
    let uptime = lines
        .iter()
        .find_map(|l| l.strip_prefix("uptime_in_seconds:"))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "the Sentinel's answer has no uptime".to_string())?;
    Ok(SentinelFacts {
        master_for_ms: field("role-reported-time")?,
        config_epoch: field("config-epoch")?,
        uptime_seconds: uptime,
    })
}

/// Parses [`REPLICATION_SCRIPT`]'s output (`INFO replication` of a master):
///
/// ```text
/// role:master
/// connected_slaves:1
/// slave0:ip=redis-data-1.redis-data.apim.svc,port=6379,state=online,offset=1290,lag=0
/// master_repl_offset:1304
/// ```
pub fn parse_replication(text: &str) -> Result<Vec<ReplicaLag>, String> {
    let value = |name: &str| {
        text.lines().find_map(|l| {
            l.trim_end_matches('\r')
                .strip_prefix(name)?
                .strip_prefix(':')
        })
    };
    match value("role") {
        Some("master") => {}
        Some(other) => return Err(format!("the pod reports the role {other}, not master")),
        None => {
            return Err(format!(
                "unexpected answer from redis-cli: {}",
                text.lines().next().unwrap_or("(empty)")
            ));
        }
    }
    let master_offset: u64 = value("master_repl_offset")
        .and_then(|v| v.parse().ok())
        .ok_or("the answer has no master_repl_offset")?;
    let mut replicas = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        let Some((key, fields)) = line.split_once(':') else {
            continue;
        };
        if !key.starts_with("slave") || !key[5..].chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let get = |name: &str| {
            fields
                .split(',')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or_default()
        };
        let offset: u64 = get("offset").parse().unwrap_or(0);
        replicas.push(ReplicaLag {
            replica: format!("{}:{}", get("ip"), get("port")),
            state: get("state").to_owned(),
            bytes_behind: master_offset.saturating_sub(offset),
            seconds_since_ack: get("lag").parse().unwrap_or(0),
        });
    }
    Ok(replicas)
}

/// Parses redis-cli's `--no-raw` answer to `SENTINEL get-master-addr-by-name`:
///
/// ```text
/// 1) "redis-data-1.redis-data.apim.svc.cluster.local"
/// 2) "6379"
/// ```
pub fn parse_master(answer: &str) -> Result<String, String> {
    let fields: Vec<&str> = answer
        .lines()
        .filter_map(|l| l.split_once(") ").map(|(_, v)| v.trim().trim_matches('"')))
        .collect();
    match fields.as_slice() {
        [host, port] => Ok(format!("{host}:{port}")),
        _ if answer.contains("(nil)") => Err("the Sentinel knows no such master".into()),
        _ => Err(format!(
            "unexpected answer from redis-cli: {}",
            answer.lines().next().unwrap_or("(empty)")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{
        SentinelFacts, last_failover, parse_master, parse_replication, parse_sentinel_facts,
    };

    #[test]
    fn replication_lag_is_the_master_offset_minus_each_replica_offset() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
            slave0:ip=redis-data-1.redis-data.apim.svc,port=6379,state=online,offset=1290,lag=0\r\n\
            slave1:ip=redis-data-2.redis-data.apim.svc,port=6379,state=wait_bgsave,offset=0,lag=7\r\n\
            master_failover_state:no-failover\r\nmaster_repl_offset:1304\r\nslave_read_only:1\r\n";
        let replicas = parse_replication(info).unwrap();
        assert_eq!(replicas.len(), 2, "{replicas:?}");
        assert_eq!(replicas[0].replica, "redis-data-1.redis-data.apim.svc:6379");
        assert_eq!(
            (replicas[0].bytes_behind, replicas[0].seconds_since_ack),
            (14, 0)
        );
        assert_eq!(
            (
                replicas[1].state.as_str(),
                replicas[1].bytes_behind,
                replicas[1].seconds_since_ack
            ),
            ("wait_bgsave", 1304, 7)
        );
        assert!(
            parse_replication("role:slave\nmaster_repl_offset:3\n")
                .unwrap_err()
                .contains("role slave")
        );
        assert!(parse_replication("NOPERM this user has no permissions").is_err());
    }

    #[test]
    fn sentinel_facts_and_the_last_failover_they_date() {
        let text = "name\nmymaster\nrole-reported-time\n42000\nconfig-epoch\n3\n\
            # Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:600\r\n";
        let facts = parse_sentinel_facts(text).unwrap();
        assert_eq!(
            facts,
            SentinelFacts {
                master_for_ms: 42_000,
                config_epoch: 3,
                uptime_seconds: 600
            }
        );
        assert!(parse_sentinel_facts("uptime_in_seconds:1\n").is_err());
        let started_after = SentinelFacts {
            master_for_ms: 99_000,
            config_epoch: 3,
            uptime_seconds: 100,
        };
        // One Sentinel ran through the switch 42 s ago; another started after it.
        let last = last_failover(&[
            ("sentinel-0".into(), started_after),
            ("sentinel-1".into(), facts),
        ])
        .unwrap();
        assert_eq!(
            (last.seconds_ago, last.seen_by.as_str(), last.config_epoch),
            (Some(42), "sentinel-1", 3)
        );
        // Every Sentinel started with the current master: no failover seen.
        let last = last_failover(&[("sentinel-0".into(), started_after)]).unwrap();
        assert_eq!((last.seconds_ago, last.oldest_sentinel_uptime), (None, 100));
        assert_eq!(last_failover(&[]), None);
        // A master whose role changed while the Sentinel ran, at epoch 0: no failover.
        let candidate = SentinelFacts {
            config_epoch: 0,
            ..facts
        };
        let last = last_failover(&[("sentinel-0".into(), candidate)]).unwrap();
        assert_eq!((last.seconds_ago, last.config_epoch), (None, 0));
    }

    #[test]
    fn parses_the_master_address_or_says_why_not() {
        assert_eq!(
            parse_master("1) \"redis-data-1.redis-data.apim.svc\"\n2) \"6379\"\n"),
            Ok("redis-data-1.redis-data.apim.svc:6379".to_string())
        );
        assert!(
            parse_master("(nil)\n")
                .unwrap_err()
                .contains("no such master")
        );
        assert!(parse_master("").is_err());
    }
}
