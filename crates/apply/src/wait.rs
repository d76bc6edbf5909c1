//! Waiting for workloads to roll out: a watch per object (no polling), bounded by a timeout that
//! explains what is not ready and why.

use std::time::Duration;

use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};
use kube::runtime::watcher::watch_object;

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

/// Waits until every StatefulSet among `objects` is rolled out, or explains why not.
pub(crate) async fn wait_for(
    cluster: &Cluster,
    objects: &[&Desired],
    timeout: Duration,
    progress: bool,
    masker: &Masker,
) -> Result<(), ApplyError> {
    let bars = MultiProgress::with_draw_target(if progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{spinner} {prefix:40} [{bar:20}] {pos}/{len} {msg}")
        .expect("template")
        .progress_chars("=> ");
    let statefulsets: Vec<(String, String)> = objects
        .iter()
        .filter(|d| d.kind.kind == "StatefulSet")
        .map(|d| {
            (
                d.namespace().unwrap_or_default().to_string(),
                d.name().to_string(),
            )
        })
        .collect();
    let waits = statefulsets.iter().map(|(ns, name)| {
        let api: Api<StatefulSet> = Api::namespaced(cluster.client().clone(), ns);
        let bar = bars.add(ProgressBar::new(1).with_style(style.clone()));
        bar.set_prefix(format!("StatefulSet {ns}/{name}"));
        bar.enable_steady_tick(Duration::from_millis(200));
        async move {
            let mut stream = Box::pin(watch_object(api, name));
            while let Some(event) = stream.next().await {
                match event {
                    Ok(Some(sts)) => {
                        let (ready, want, why) = sts_progress(&sts);
                        bar.set_length(want);
                        bar.set_position(ready);
                        bar.set_message(why);
                        if statefulset_ready(&sts) {
                            bar.finish_with_message("rolled out");
                            return;
                        }
                    }
                    Ok(None) => bar.set_message("not found yet"),
                    // The watcher re-lists by itself; transient errors only delay.
                    Err(e) => {
                        bar.set_message(masker.mask(&e.to_string()));
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
    for (ns, name) in &statefulsets {
        let api: Api<StatefulSet> = Api::namespaced(cluster.client().clone(), ns);
        match api.get_opt(name).await {
            Ok(Some(sts)) if statefulset_ready(&sts) => {}
            Ok(Some(sts)) => {
                let (_, _, why) = sts_progress(&sts);
                let mut line = format!("StatefulSet {ns}/{name}: {why}");
                line.push_str(&explain_pods(cluster, ns, &sts, masker).await);
                not_ready.push(line);
            }
            Ok(None) => not_ready.push(format!("StatefulSet {ns}/{name}: does not exist")),
            Err(e) => not_ready.push(format!(
                "StatefulSet {ns}/{name}: cannot read status: {}",
                masker.mask(&e.to_string())
            )),
        }
    }
    Err(ApplyError::WaitTimeout {
        seconds: timeout.as_secs(),
        not_ready,
    })
}

/// Why the pods of a StatefulSet are not ready: failing conditions, waiting containers and the
/// latest Warning events.
async fn explain_pods(cluster: &Cluster, ns: &str, sts: &StatefulSet, masker: &Masker) -> String {
    let selector = sts
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(cluster.client().clone(), ns);
    let events: Api<Event> = Api::namespaced(cluster.client().clone(), ns);
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
        if let Ok(list) = events.list(&params).await {
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
