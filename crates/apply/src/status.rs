//! `status`: readiness of the workloads, the master each Sentinel reports, and drift.
//!
//! The master is asked from each Sentinel pod through the API server's `pods/exec` (the same
//! path `kubectl exec` takes): `redis-cli SENTINEL get-master-addr-by-name` runs inside the
//! Sentinel container with the port, master name and password from that container's own
//! environment, so no secret value leaves the pod. Where exec is not possible (no RBAC for
//! `pods/exec`, a pod not running, an API server without exec), the Sentinel's master is reported
//! as unknown with the reason.

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, ListParams};
use tokio::io::AsyncReadExt;

use gatehouse_render::Rendered;

use crate::secrets::Masker;
use crate::{ApplyError, Cluster, DeployOptions, DiffReport, ObjectKind, Verb, wait};

/// The label gatehouse puts on the Sentinel pods (`app.kubernetes.io/component`).
const SENTINEL_COMPONENT: &str = "sentinel";

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
    /// Every workload ready, every Sentinel answered with the same master, and no drift.
    pub fn healthy(&self) -> bool {
        let masters: std::collections::BTreeSet<_> =
            self.sentinels.iter().map(|s| s.master.clone()).collect();
        self.workloads.iter().all(|w| w.ready)
            && !self.sentinels.is_empty()
            && masters.len() == 1
            && masters.iter().all(Option::is_some)
            && !self.drift.has_changes()
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
            if component.map(String::as_str) == Some(SENTINEL_COMPONENT) {
                sentinel_set = Some(live);
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
            status.sentinels = self.ask_sentinels(&sts).await;
        }
        status.drift = self.diff(rendered, options).await?;
        Ok(status)
    }

    /// Asks each running pod of the Sentinel StatefulSet for the master it currently reports.
    async fn ask_sentinels(&self, sts: &StatefulSet) -> Vec<SentinelView> {
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
                return vec![SentinelView {
                    pod: format!("pods {selector}"),
                    master: None,
                    problem: Some(format!("cannot list the Sentinel pods: {e}")),
                }];
            }
        };
        let mut views = Vec::new();
        for pod in list {
            let name = pod.metadata.name.clone().unwrap_or_default();
            let answer = tokio::time::timeout(ASK_TIMEOUT, ask_one(&pods, &name, &container))
                .await
                .unwrap_or_else(|_| Err(format!("no answer within {}s", ASK_TIMEOUT.as_secs())));
            views.push(SentinelView {
                pod: name,
                master: answer.as_ref().ok().cloned(),
                problem: answer.err(),
            });
        }
        views.sort_by(|a, b| a.pod.cmp(&b.pod));
        views
    }
}

/// The shell command run in a Sentinel container: every value from the container's own
/// environment (`SENTINEL_PORT`, `MASTER_NAME`, `OPERATOR_USER`, `OPERATOR_PASSWORD`, and with TLS
/// `REDIS_TLS` and the `TLS_*_FILE` paths of the mounted Secret), logged in as the operator user,
/// the password passed to redis-cli through `REDISCLI_AUTH`, never on a command line. `LOCAL_HOST`
/// (default 127.0.0.1) is the address the Sentinel listens on.
pub const ASK_MASTER_SCRIPT: &str = r#"export REDISCLI_AUTH="$OPERATOR_PASSWORD"; set --; if [ "${REDIS_TLS:-no}" = yes ]; then set -- --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"; fi; exec redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$SENTINEL_PORT" --no-raw SENTINEL get-master-addr-by-name "$MASTER_NAME""#;

async fn ask_one(pods: &Api<Pod>, pod: &str, container: &str) -> Result<String, String> {
    let params = AttachParams::default()
        .container(container)
        .stdin(false)
        .stdout(true)
        .stderr(false);
    let mut process = pods
        .exec(pod, ["sh", "-c", ASK_MASTER_SCRIPT], &params)
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
    parse_master(&text)
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
    use super::parse_master;

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
