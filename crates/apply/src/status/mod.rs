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

mod in_pod;

pub use in_pod::{
    ASK_MASTER_SCRIPT, REPLICATION_SCRIPT, SENTINEL_FACTS_SCRIPT, SentinelFacts, last_failover,
    parse_master, parse_replication, parse_sentinel_facts,
};

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
