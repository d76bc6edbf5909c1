//! Waiting for workloads to roll out: a watch per object (no polling), bounded by a timeout that
//! explains what is not ready and why.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::watcher::watch_object;
use serde_json::Value;

use crate::events::{Event, EventSink, emit};
use crate::secrets::Masker;
use crate::{ApplyError, Cluster, Desired};

/// A StatefulSet is rolled out when the controller saw the latest spec, every replica is ready
/// and the current revision is the update revision.
///
/// ```
/// use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetStatus};
/// let mut sts = StatefulSet::default();
/// sts.metadata.generation = Some(2);
/// sts.spec = Some(StatefulSetSpec { replicas: Some(3), ..Default::default() });
/// sts.status = Some(StatefulSetStatus { observed_generation: Some(2), replicas: 3,
///     ready_replicas: Some(3), current_revision: Some("r2".into()),
///     update_revision: Some("r2".into()), ..Default::default() });
/// assert!(gatehouse_apply::statefulset_ready(&sts));
/// sts.status.as_mut().unwrap().observed_generation = Some(1);
/// assert!(!gatehouse_apply::statefulset_ready(&sts));
/// ```
pub fn statefulset_ready(sts: &StatefulSet) -> bool {
    let want = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(status) = &sts.status else {
        return false;
    };
    status.observed_generation.unwrap_or(0) >= sts.metadata.generation.unwrap_or(0)
        && status.ready_replicas.unwrap_or(0) == want
        && status.replicas == want
        && status.current_revision.is_some()
        && status.current_revision == status.update_revision
}

/// A Deployment is rolled out when the controller saw the latest spec and updated = replicas =
/// available = the desired count.
pub fn deployment_ready(d: &Deployment) -> bool {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(status) = &d.status else {
        return false;
    };
    status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
        && status.updated_replicas.unwrap_or(0) == want
        && status.replicas.unwrap_or(0) == want
        && status.available_replicas.unwrap_or(0) == want
}

fn sts_progress(sts: &StatefulSet) -> (u64, u64, String) {
    let want = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as u64;
    let status = sts.status.clone().unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0).max(0) as u64;
    let mut why = format!("{ready}/{want} ready");
    if status.observed_generation.unwrap_or(0) < sts.metadata.generation.unwrap_or(0) {
        why.push_str(", controller has not seen the latest spec");
    }
    if status.current_revision != status.update_revision {
        why.push_str(&format!(
            ", revision {} not yet rolled out (current {})",
            status.update_revision.unwrap_or_default(),
            status.current_revision.unwrap_or_default()
        ));
    }
    (ready, want, why)
}

/// Whether a Flux `HelmRelease` is reconciled: `status.observedGeneration` caught up with
/// `metadata.generation` and the `Ready` condition is `True`. Also returns the Ready message.
///
/// ```
/// let hr = serde_json::json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 1,
///     "conditions": [{"type": "Ready", "status": "True", "reason": "InstallSucceeded"}]}});
/// assert!(!gatehouse_apply::helmrelease_ready(&hr).0);
/// let failed = serde_json::json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
///     "conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed",
///                     "message": "chart pull error"}]}});
/// let (ready, why) = gatehouse_apply::helmrelease_ready(&failed);
/// assert!(!ready && why.contains("InstallFailed") && why.contains("chart pull error"));
/// ```
pub fn helmrelease_ready(object: &Value) -> (bool, String) {
    let status = &object["status"];
    let observed = status["observedGeneration"].as_i64().unwrap_or(-1);
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(0);
    let ready = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let why = match ready {
        Some(c) => format!(
            "Ready={} {} {}",
            c["status"].as_str().unwrap_or("Unknown"),
            c["reason"].as_str().unwrap_or_default(),
            c["message"].as_str().unwrap_or_default()
        ),
        None => "no Ready condition yet (is the Flux helm-controller running?)".into(),
    };
    let ok = observed >= generation && ready.is_some_and(|c| c["status"] == "True");
    (ok, why.trim().to_string())
}

/// Progress of one object: (done, ready count, wanted count, explanation).
pub(crate) fn progress_of(kind: &str, object: &Value) -> (bool, u64, u64, String) {
    match kind {
        "StatefulSet" => match serde_json::from_value::<StatefulSet>(object.clone()) {
            Ok(sts) => {
                let (ready, want, why) = sts_progress(&sts);
                (statefulset_ready(&sts), ready, want, why)
            }
            Err(e) => (false, 0, 1, format!("unreadable status: {e}")),
        },
        "Deployment" => match serde_json::from_value::<Deployment>(object.clone()) {
            Ok(d) => {
                let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1) as u64;
                let available = d
                    .status
                    .as_ref()
                    .and_then(|s| s.available_replicas)
                    .unwrap_or(0)
                    .max(0) as u64;
                (
                    deployment_ready(&d),
                    available,
                    want,
                    format!("{available}/{want} available"),
                )
            }
            Err(e) => (false, 0, 1, format!("unreadable status: {e}")),
        },
        _ => {
            let (ok, why) = helmrelease_ready(object);
            (ok, u64::from(ok), 1, why)
        }
    }
}

/// Kinds [`wait_for`] waits for.
pub(crate) fn is_waited(kind: &str) -> bool {
    matches!(kind, "StatefulSet" | "Deployment" | "HelmRelease")
}

/// Waits until every StatefulSet, Deployment and HelmRelease among `objects` is ready, watching
/// each, or explains why not.
pub(crate) async fn wait_for(
    cluster: &Cluster,
    objects: &[&Desired],
    timeout: Duration,
    events: &Option<EventSink>,
    masker: &Masker,
) -> Result<(), ApplyError> {
    let waited: Vec<&Desired> = objects
        .iter()
        .copied()
        .filter(|d| is_waited(d.kind.kind))
        .collect();
    let waits = waited.iter().map(|d| {
        let api = cluster.api(d.kind, d.namespace());
        let object = d.display();
        let kind = d.kind.kind;
        let name = d.name().to_string();
        async move {
            let waiting = |ready, wanted, reason| {
                emit(events, || Event::Waiting {
                    object: object.clone(),
                    ready,
                    wanted,
                    reason,
                });
            };
            let mut stream = Box::pin(watch_object(api, &name));
            while let Some(event) = stream.next().await {
                match event {
                    Ok(Some(live)) => {
                        let value = serde_json::to_value(&live).unwrap_or_default();
                        let (done, ready, wanted, why) = progress_of(kind, &value);
                        if done {
                            emit(events, || Event::Ready {
                                object: object.clone(),
                            });
                            return;
                        }
                        waiting(ready, wanted, masker.mask(&why));
                    }
                    Ok(None) => waiting(0, 1, "not found yet".into()),
                    // The watcher re-lists by itself; transient errors only delay.
                    Err(e) => {
                        waiting(0, 1, masker.mask(&e.to_string()));
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        }
    });
    let all = futures::future::join_all(waits);
    if tokio::time::timeout(timeout, all).await.is_ok() {
        return Ok(());
    }
    let mut not_ready = Vec::new();
    for d in &waited {
        let ns = d.namespace().unwrap_or_default();
        match cluster.api(d.kind, d.namespace()).get_opt(d.name()).await {
            Ok(Some(object)) => {
                let value = serde_json::to_value(&object).unwrap_or_default();
                let (done, _, _, why) = progress_of(d.kind.kind, &value);
                if done {
                    continue;
                }
                let mut line = format!("{}: {why}", d.display());
                if let Ok(sts) = serde_json::from_value::<StatefulSet>(value.clone())
                    && d.kind.kind == "StatefulSet"
                {
                    line.push_str(&explain_pods(cluster, ns, &sts, masker).await);
                }
                not_ready.push(masker.mask(&line));
            }
            Ok(None) => not_ready.push(format!("{}: does not exist", d.display())),
            Err(e) => not_ready.push(format!(
                "{}: cannot read status: {}",
                d.display(),
                masker.mask(&e.to_string())
            )),
        }
    }
    Err(ApplyError::WaitTimeout {
        seconds: timeout.as_secs(),
        not_ready,
    })
}

/// The label selector of a StatefulSet's pods (`k=v,k=v`).
pub(crate) fn pod_selector(sts: &StatefulSet) -> String {
    let labels = sts.spec.iter().flat_map(|s| &s.selector.match_labels);
    let terms: Vec<String> = labels.flatten().map(|(k, v)| format!("{k}={v}")).collect();
    terms.join(",")
}

/// Why the pods of a StatefulSet are not ready: failing conditions, waiting containers and the
/// latest Warning events.
async fn explain_pods(cluster: &Cluster, ns: &str, sts: &StatefulSet, masker: &Masker) -> String {
    let selector = pod_selector(sts);
    let pods: Api<Pod> = Api::namespaced(cluster.client().clone(), ns);
    let kube_events: Api<KubeEvent> = Api::namespaced(cluster.client().clone(), ns);
    let mut text = String::new();
    let Ok(list) = pods.list(&ListParams::default().labels(&selector)).await else {
        return text;
    };
    if list.items.is_empty() {
        text.push_str("; no pods exist (check the StatefulSet's events)");
    }
    let mut subjects: Vec<String> = vec![sts.metadata.name.clone().unwrap_or_default()];
    for pod in &list.items {
        let name = pod.metadata.name.clone().unwrap_or_default();
        subjects.push(name.clone());
        let status = pod.status.clone().unwrap_or_default();
        for c in status.conditions.unwrap_or_default() {
            if c.status != "True" {
                text.push_str(&format!(
                    "\n      pod {name}: {}={} {} {}",
                    c.type_,
                    c.status,
                    c.reason.unwrap_or_default(),
                    c.message.unwrap_or_default()
                ));
            }
        }
        for cs in status.container_statuses.unwrap_or_default() {
            if let Some(w) = cs.state.and_then(|s| s.waiting) {
                text.push_str(&format!(
                    "\n      pod {name} container {}: waiting: {} {}",
                    cs.name,
                    w.reason.unwrap_or_default(),
                    w.message.unwrap_or_default()
                ));
            }
        }
    }
    for subject in subjects {
        let params = ListParams::default().fields(&format!("involvedObject.name={subject}"));
        if let Ok(list) = kube_events.list(&params).await {
            for e in list
                .items
                .iter()
                .filter(|e| e.type_.as_deref() == Some("Warning"))
                .rev()
                .take(3)
            {
                text.push_str(&format!(
                    "\n      event {subject}: {} {}",
                    e.reason.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default()
                ));
            }
        }
    }
    masker.mask(&text)
}
