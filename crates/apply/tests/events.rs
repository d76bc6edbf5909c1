//! Progress events, `diff` without the secret values, and `status`, against the mock API server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_apply::{Action, Event, EventSink};
use gatehouse_apply_mock::Readiness;
use gatehouse_apply_testing::Harness;

fn recorder() -> (EventSink, Arc<Mutex<Vec<Event>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = seen.clone();
        EventSink::new(move |e| seen.lock().unwrap().push(e.clone()))
    };
    (sink, seen)
}

#[tokio::test]
async fn deploy_reports_each_object_and_the_wait_as_events() {
    let h = Harness::mock().await;
    h.mock_server()
        .set_readiness(Readiness::After(Duration::from_millis(300)));
    let r = h.render(&h.deployment());
    let (sink, seen) = recorder();
    let mut options = h.options();
    options.events = Some(sink);
    let report = h.deploy(&r, &options).await.unwrap();
    let events = seen.lock().unwrap().clone();

    assert!(
        matches!(events.first(), Some(Event::Preflight { .. })),
        "{events:?}"
    );
    // One Planned and one Applied event per object of the report.
    let mut applied: Vec<(String, Action)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Applied { object, action } => Some((object.clone(), *action)),
            _ => None,
        })
        .collect();
    // Objects of one stage are written concurrently, so their events may come in any order.
    let mut objects = report.objects.clone();
    applied.sort_by(|a, b| a.0.cmp(&b.0));
    objects.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(applied, objects);
    let planned = events
        .iter()
        .filter(|e| matches!(e, Event::Planned { .. }))
        .count();
    assert_eq!(planned, report.objects.len());
    // Every StatefulSet is first waited for (not ready after the write) and then ready.
    for sts in r.objects.iter().filter(|o| o.kind() == "StatefulSet") {
        let name = format!("StatefulSet {}/{}", h.namespace, sts.name());
        let waiting = events
            .iter()
            .position(|e| matches!(e, Event::Waiting { object, .. } if *object == name));
        let ready = events
            .iter()
            .position(|e| matches!(e, Event::Ready { object } if *object == name));
        assert!(
            waiting.is_some() && ready.is_some() && waiting < ready,
            "{name}: {events:?}"
        );
    }
    // Nothing carries a secret value.
    let text = format!("{events:?}");
    assert!(!text.contains("s3cr3t"), "{text}");
}

#[tokio::test]
async fn without_a_sink_the_library_emits_nothing_and_still_deploys() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let report = h.deploy(&r, &h.options()).await.unwrap();
    assert!(
        !report.objects.is_empty() && report.objects.iter().all(|(_, a)| *a == Action::Created)
    );
}

#[tokio::test]
async fn diff_without_secret_values_names_the_secrets_it_cannot_compare() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let no_env = |_: &str| None;
    let before = h
        .cluster
        .diff_with_env(&r, &h.options(), &no_env)
        .await
        .unwrap();
    assert!(before.has_changes());
    let env_secrets: Vec<_> = r
        .secrets
        .iter()
        .filter(|s| matches!(s.source, gatehouse_model::SecretSource::Env { .. }))
        .collect();
    assert!(!env_secrets.is_empty());
    assert_eq!(before.unverified.len(), env_secrets.len());
    assert!(before.unverified.iter().all(|u| !u.exists));
    let text = before.render(false);
    assert!(text.contains("would be created from"), "{text}");
    assert!(!text.contains("placeholder-value"), "{text}");

    // After a deploy with the values, a diff without them: in sync, the Secrets named as not
    // compared, and no Secret listed as prunable.
    h.deploy(&r, &h.options()).await.unwrap();
    let after = h
        .cluster
        .diff_with_env(&r, &h.options(), &no_env)
        .await
        .unwrap();
    let text = after.render(false);
    assert!(!after.has_changes(), "{text}");
    assert_eq!(after.unverified.len(), env_secrets.len(), "{text}");
    assert!(after.unverified.iter().all(|u| u.exists), "{text}");
    assert!(text.contains("not compared"), "{text}");
}

#[tokio::test]
async fn status_reports_readiness_sentinels_and_drift() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let before = h.cluster.status(&r, &h.options()).await.unwrap();
    assert!(!before.healthy());
    assert!(!before.workloads.is_empty() && before.workloads.iter().all(|w| !w.ready));
    assert!(before.drift.has_changes());

    h.deploy(&r, &h.options()).await.unwrap();
    let after = h.cluster.status(&r, &h.options()).await.unwrap();
    let sts = r
        .objects
        .iter()
        .filter(|o| o.kind() == "StatefulSet")
        .count();
    assert_eq!(
        (after.workloads.len(), sts),
        (2, 2),
        "data nodes and Sentinels"
    );
    assert!(after.workloads.iter().all(|w| w.ready), "{after}");
    assert!(!after.drift.has_changes(), "{after}");
    // The mock API server runs no pods, so there is no Sentinel to ask: the status says so and
    // is not healthy.
    assert!(after.sentinels.is_empty(), "{after}");
    assert!(!after.healthy());
    assert!(after.to_string().contains("no Sentinel pods found"));
}
