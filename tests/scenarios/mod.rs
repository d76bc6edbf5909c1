//! Day-two scenarios of the apply engine, each run against the mock API server (always, in CI)
//! and against a real API server (with `GATEHOUSE_E2E=1` and `KUBECONFIG`; see tests/e2e.rs).
//!
//! The real API server is expected to have no kubelet (kube-apiserver, etcd and
//! kube-controller-manager), so no pod ever becomes ready; the mock is told the same
//! ([`Harness::mock_never_ready`]). Every deploy that waits for a workload therefore ends with the wait
//! timing out after a short, test-chosen timeout, and the scenarios check that timeout message and
//! what the deploy did before it. Each real-server scenario runs in a fresh namespace that a drop
//! guard deletes, also when the scenario panics.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_apply::{Action, ApplyError, ObjectKind};
pub use gatehouse_apply_testing::{Harness, env};
use gatehouse_render::{KubeObject, Rendered};
use serde_json::Value;

/// `Kind ns/name` of a rendered object.
fn display(o: &KubeObject) -> String {
    match o.namespace() {
        Some(ns) => format!("{} {ns}/{}", o.kind(), o.name()),
        None => format!("{} {}", o.kind(), o.name()),
    }
}

/// The objects whose rendered JSON differs between two renders.
pub fn changed_objects(a: &Rendered, b: &Rendered) -> BTreeSet<String> {
    let key = |r: &Rendered| -> BTreeMap<String, Value> {
        r.objects
            .iter()
            .map(|o| (display(o), o.to_json()))
            .collect()
    };
    let (ka, kb) = (key(a), key(b));
    ka.keys()
        .chain(kb.keys())
        .filter(|k| ka.get(*k) != kb.get(*k))
        .cloned()
        .collect()
}

fn with_action(done: &[(String, Action)], action: Action) -> BTreeSet<String> {
    done.iter()
        .filter(|(_, a)| *a == action)
        .map(|(o, _)| o.clone())
        .collect()
}

/// Deploy; re-deploy without change (nothing written, resourceVersions equal); change a setting
/// (exactly the objects whose rendering changed are configured); then change a StatefulSet's pod
/// template as a config digest annotation does: the StatefulSet is configured (so its pods roll),
/// not left unchanged, and the live template carries the change.
pub async fn setting_change_rolls_pods(h: &Harness) {
    let d1 = h.deployment();
    let r1 = h.render(&d1);
    let first = h.deploy_until_wait(&r1, &h.options()).await;
    assert!(
        !first.is_empty() && first.iter().all(|(_, a)| *a == Action::Created),
        "{first:?}"
    );
    let rv1 = h.resource_versions(&r1).await;
    assert_eq!(rv1.len(), first.len(), "{rv1:?}");

    let second = h.deploy_until_wait(&r1, &h.options()).await;
    assert!(
        second.len() == first.len() && second.iter().all(|(_, a)| *a == Action::Unchanged),
        "{second:?}"
    );
    assert_eq!(h.resource_versions(&r1).await, rv1);

    let mut d2 = d1.clone();
    d2.redis.sentinel.down_after_milliseconds += 1000;
    let r2 = h.render(&d2);
    let expected = changed_objects(&r1, &r2);
    assert!(!expected.is_empty());
    let third = h.deploy_until_wait(&r2, &h.options()).await;
    assert_eq!(
        with_action(&third, Action::Configured),
        expected,
        "{third:?}"
    );
    let rv2 = h.resource_versions(&r2).await;
    let bumped: BTreeSet<String> = rv2
        .iter()
        .filter(|(k, v)| rv1.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(bumped, expected);

    let mut r3 = r2.clone();
    let sts = r3
        .objects
        .iter_mut()
        .find_map(|o| match o {
            KubeObject::StatefulSet(s) => Some(s),
            _ => None,
        })
        .expect("a StatefulSet is rendered");
    let template = &mut sts.spec.as_mut().unwrap().template;
    template
        .metadata
        .get_or_insert_with(Default::default)
        .annotations
        .get_or_insert_with(Default::default)
        .insert("gatehouse.test/config-digest".into(), "changed".into());
    let name = sts.metadata.name.clone().unwrap();
    let fourth = h.deploy_until_wait(&r3, &h.options()).await;
    let object = format!("StatefulSet {}/{name}", h.namespace);
    assert_eq!(
        with_action(&fourth, Action::Configured),
        BTreeSet::from([object.clone()]),
        "{fourth:?}"
    );
    let kind = ObjectKind::find("apps/v1", "StatefulSet").unwrap();
    let live = h.live(kind, Some(&h.namespace), &name).await.unwrap();
    assert_eq!(
        live["spec"]["template"]["metadata"]["annotations"]["gatehouse.test/config-digest"],
        "changed"
    );
    assert!(live["metadata"]["generation"].as_i64() > Some(1), "{live}");
}

/// A second deployment in the same namespace whose Sentinel Service has the first one's name is
/// refused before its first write, naming the Service and the first deployment's ApplySet; the
/// first deployment's Service is untouched. `diff` of the second shows the same refusal.
pub async fn second_deployment_is_refused(h: &Harness) {
    let first = h.deployment();
    let r1 = h.render(&first);
    h.deploy_until_wait(&r1, &h.options()).await;
    let service = first.sentinel_service_name();
    let mut second = h.deployment_named("gw2");
    second.redis.sentinel.service_name = Some(service.clone());
    let r2 = h.render(&second);
    let rv_before = h.resource_versions(&r1).await;

    let err = h.deploy(&r2, &h.options()).await.unwrap_err();
    let text = err.to_string();
    let ApplyError::PreflightFailed { errors, .. } = &err else {
        panic!("{text}");
    };
    let ApplyError::NotOurs(foreign) = &errors[0] else {
        panic!("{text}");
    };
    let object = format!("Service {}/{service}", h.namespace);
    assert_eq!(
        foreign.iter().map(|f| f.object.clone()).collect::<Vec<_>>(),
        vec![object.clone()],
        "{text}"
    );
    let parent = format!("Secret {}/gh-applyset", h.namespace);
    assert!(
        text.contains(&format!(
            "{object} belongs to another ApplySet (parent {parent})"
        )),
        "{text}"
    );
    assert!(
        text.contains("--adopt") && text.contains("nothing was written"),
        "{text}"
    );
    assert_eq!(h.resource_versions(&r1).await, rv_before);
    let kind = ObjectKind::find("v1", "Secret").unwrap();
    assert!(
        h.live(kind, Some(&h.namespace), "gw2-applyset")
            .await
            .is_none(),
        "the second deployment wrote its ApplySet parent"
    );

    let diff = h
        .cluster
        .diff_with_env(&r2, &h.options(), &env)
        .await
        .unwrap();
    let shown = diff.render(false);
    assert!(
        shown.contains(&format!("{object} belongs to another ApplySet"))
            && shown.contains("deploy would refuse it"),
        "{shown}"
    );
}

/// An object dropped from the rendering is pruned right after the writes of its tier, although
/// the workloads never become ready (the wait then times out); without `--prune` it stays.
pub async fn prune_with_pods_not_ready(h: &Harness) {
    let r1 = h.render(&h.deployment());
    h.deploy_until_wait(&r1, &h.options()).await;
    let mut r2 = r1.clone();
    let index = r2
        .objects
        .iter()
        .position(|o| o.kind() == "PodDisruptionBudget")
        .expect("a PDB is rendered");
    let removed = r2.objects.remove(index);
    let pdb = ObjectKind::find("policy/v1", "PodDisruptionBudget").unwrap();

    let kept = h.deploy_until_wait(&r2, &h.options()).await;
    assert!(with_action(&kept, Action::Pruned).is_empty(), "{kept:?}");
    assert!(
        h.live(pdb, removed.namespace(), removed.name())
            .await
            .is_some()
    );

    let mut options = h.options();
    options.prune = true;
    let pruned = h.deploy_until_wait(&r2, &options).await;
    assert_eq!(
        with_action(&pruned, Action::Pruned),
        BTreeSet::from([display(&removed)]),
        "{pruned:?}"
    );
    assert!(
        h.live(pdb, removed.namespace(), removed.name())
            .await
            .is_none()
    );
    // Every other object is still there.
    let rvs = h.resource_versions(&r2).await;
    assert_eq!(rvs.len(), pruned.len() - 1);
}

/// Destroy deletes every member and the parent, keeps the Namespace.
pub async fn destroy_everything(h: &Harness) {
    let r = h.render(&h.deployment());
    h.deploy_until_wait(&r, &h.options()).await;
    let removed = h.cluster.destroy(&r, &h.options()).await.unwrap();
    assert!(
        removed.iter().any(|l| l.contains("StatefulSet")),
        "{removed:?}"
    );
    let left = h.resource_versions(&r).await;
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        vec![&format!("Namespace {}", h.namespace)]
    );
}

/// Another field manager owns a field: deploy fails naming the field and the manager; `force`
/// takes it over.
pub async fn conflict_is_reported(
    h: &Harness,
    other_manager_setup: impl AsyncFnOnce(&Harness, &Rendered),
) {
    let r = h.render(&h.deployment());
    h.deploy_until_wait(&r, &h.options()).await;
    other_manager_setup(h, &r).await;
    let err = h.deploy(&r, &h.options()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("other-tool"), "{text}");
    assert!(text.contains("--force"), "{text}");
    let mut options = h.options();
    options.force = true;
    let done = h.deploy_until_wait(&r, &options).await;
    let cm = r.objects.iter().find(|o| o.kind() == "ConfigMap").unwrap();
    assert!(
        with_action(&done, Action::Configured).contains(&display(cm)),
        "{done:?}"
    );
}
