//! Password rotation driven by deploy, against the mock API server: a changed `from: env` value
//! takes three deploys (step 1: `<key>.next` added; step 2: switched, old kept as
//! `<key>.previous`; step 3: previous dropped), each raising the Secret's version annotation and
//! so the pod templates of exactly the StatefulSets that read it; a fourth deploy changes nothing.
//! No value (old or new, plain or base64) appears in a report or event. A Secret the user holds
//! rolls its readers when its `resourceVersion` changes.

use std::sync::{Arc, Mutex};

use base64::Engine;
use gatehouse_apply::rotation::{KEY_VERSION, POD_SECRET_VERSIONS, RotationStep, SECRET_VERSION};
use gatehouse_apply::{DeployOptions, EventSink};
use gatehouse_apply_testing::{Harness, env};
use serde_json::{Value, json};

const SECRET: &str = "/api/v1/namespaces/gh-test/secrets/gh-redis-password";

fn statefulsets(h: &Harness, r: &gatehouse_render::Rendered) -> Vec<(String, Value)> {
    r.objects
        .iter()
        .filter(|o| o.kind() == "StatefulSet")
        .map(|o| {
            let name = o.metadata().name.clone().unwrap_or_default();
            let path = format!("/apis/apps/v1/namespaces/gh-test/statefulsets/{name}");
            let live = h.mock_server().get(&path).expect("the StatefulSet exists");
            (name, live)
        })
        .collect()
}

fn pod_versions(statefulset: &Value) -> String {
    statefulset["spec"]["template"]["metadata"]["annotations"][POD_SECRET_VERSIONS]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn decoded(secret: &Value, key: &str) -> Option<String> {
    let encoded = secret["data"][key].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Options whose events are collected as text.
fn recording(h: &Harness) -> (DeployOptions, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = DeployOptions {
        events: Some(EventSink::new(move |event| {
            sink.lock().unwrap().push(event.to_string());
        })),
        ..h.options()
    };
    (options, seen)
}

#[tokio::test]
async fn a_changed_env_password_rotates_in_three_deploys_each_rolling_its_readers() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    h.deploy(&r, &h.options()).await.unwrap();
    let secret = h.mock_server().get(SECRET).unwrap();
    assert_eq!(
        secret["metadata"]["annotations"][SECRET_VERSION],
        json!("1")
    );
    let before = statefulsets(&h, &r);
    assert_eq!(before.len(), 2);
    for (name, sts) in &before {
        assert!(
            pod_versions(sts)
                .split(',')
                .any(|v| v == "gh-redis-password=1"),
            "{name}: {}",
            pod_versions(sts)
        );
    }

    let old = env("GATEHOUSE_REDIS_PASSWORD").unwrap();
    let new = format!("{old}-rotated");
    let rotated = |v: &str| {
        let value = env(v)?;
        Some(if v == "GATEHOUSE_REDIS_PASSWORD" {
            format!("{value}-rotated")
        } else {
            value
        })
    };
    let steps = [
        (RotationStep::AddNext, Some(&old), Some(&new), None),
        (RotationStep::Switch, Some(&new), None, Some(&old)),
        (RotationStep::DropPrevious, Some(&new), None, None),
    ];
    let mut previous_versions: Vec<String> = before.iter().map(|(_, s)| pod_versions(s)).collect();
    for (n, (step, key, next, previous)) in steps.into_iter().enumerate() {
        let (options, events) = recording(&h);
        let report = h
            .cluster
            .deploy_with_env(&r, &options, &rotated)
            .await
            .unwrap_or_else(|e| panic!("{step:?}: {e}"));
        // The harness gives every ACL user's password the same variable: all five rotate.
        let mut secrets: Vec<&str> = report.rotations.iter().map(|r| r.secret.as_str()).collect();
        secrets.sort();
        assert_eq!(
            secrets,
            [
                "gh-test/gh-redis-operator-password",
                "gh-test/gh-redis-password",
                "gh-test/gh-redis-replication-password",
                "gh-test/gh-redis-sentinel-password",
                "gh-test/gh-redis-sentinel-peer-password",
            ]
        );
        assert!(
            report
                .rotations
                .iter()
                .all(|r| r.step == step && r.key == "password"),
            "{:?}",
            report.rotations
        );
        let secret = h.mock_server().get(SECRET).unwrap();
        assert_eq!(decoded(&secret, "password").as_ref(), key, "{step:?}");
        assert_eq!(decoded(&secret, "password.next").as_ref(), next, "{step:?}");
        assert_eq!(
            decoded(&secret, "password.previous").as_ref(),
            previous,
            "{step:?}"
        );
        let version = (n + 2).to_string();
        assert_eq!(
            secret["metadata"]["annotations"][SECRET_VERSION],
            json!(version)
        );
        // Both StatefulSets read the gateway's password: both pod templates change.
        let now: Vec<String> = statefulsets(&h, &r)
            .iter()
            .map(|(_, s)| pod_versions(s))
            .collect();
        for (was, is) in previous_versions.iter().zip(&now) {
            assert_ne!(was, is, "{step:?}: the pod template did not change");
            assert!(
                is.split(',')
                    .any(|v| v == format!("gh-redis-password={version}")),
                "{is}"
            );
        }
        previous_versions = now;
        // No value in the report or the events.
        let text = format!("{report}\n{}", events.lock().unwrap().join("\n"));
        assert!(
            text.contains(&format!("step {} of 3", step.number())),
            "{text}"
        );
        for value in [&old, &new] {
            let encoded = base64::engine::general_purpose::STANDARD.encode(value);
            assert!(
                !text.contains(value.as_str()) && !text.contains(&encoded),
                "{text}"
            );
        }
    }

    // Done: another deploy writes neither the Secret nor a StatefulSet.
    h.mock_server().clear_requests();
    let report = h
        .cluster
        .deploy_with_env(&r, &h.options(), &rotated)
        .await
        .unwrap();
    assert!(report.rotations.is_empty(), "{report}");
    let touched: Vec<String> = h
        .mock_server()
        .requests()
        .into_iter()
        .filter(|q| q.is_write() && !q.path.contains("dryRun"))
        .map(|q| format!("{} {}", q.method, q.path))
        .filter(|p| p.contains("/secrets/gh-redis-password") || p.contains("/statefulsets/"))
        .collect();
    assert!(touched.is_empty(), "{touched:?}");
}

#[tokio::test]
async fn an_edited_existing_secret_rolls_the_pods_that_read_it() {
    let h = Harness::mock().await;
    let mut d = h.deployment();
    d.redis.password = gatehouse_model::SecretSource::ExistingSecret {
        name: "corp-redis".into(),
        key: "pw".into(),
    };
    let r = h.render(&d);
    let secret = |value: &str| {
        json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "corp-redis", "namespace": "gh-test"},
            "data": {"pw": base64::engine::general_purpose::STANDARD.encode(value)}})
    };
    h.mock_server().insert(secret("first"));
    h.deploy(&r, &h.options()).await.unwrap();
    let first: Vec<String> = statefulsets(&h, &r)
        .iter()
        .map(|(_, s)| pod_versions(s))
        .collect();
    assert!(
        first.iter().all(|v| v.contains("corp-redis=r")),
        "{first:?}"
    );
    h.deploy(&r, &h.options()).await.unwrap();
    let again: Vec<String> = statefulsets(&h, &r)
        .iter()
        .map(|(_, s)| pod_versions(s))
        .collect();
    assert_eq!(first, again, "an unchanged Secret rolls nothing");
    // The user writes step 1 of a rotation into their Secret.
    let mut edited = secret("first");
    edited["data"]["pw.next"] = json!(base64::engine::general_purpose::STANDARD.encode("second"));
    h.mock_server().insert(edited);
    let report = h.deploy(&r, &h.options()).await.unwrap();
    assert!(
        report.rotations.is_empty(),
        "gatehouse never writes the user's Secret"
    );
    let after: Vec<String> = statefulsets(&h, &r)
        .iter()
        .map(|(_, s)| pod_versions(s))
        .collect();
    for (was, is) in first.iter().zip(&after) {
        assert_ne!(was, is, "the edited Secret must roll its readers");
    }
    assert!(!format!("{report}").contains("second"));
}

#[tokio::test]
async fn a_dry_run_says_which_step_it_would_write_and_writes_nothing() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    h.deploy(&r, &h.options()).await.unwrap();
    let before = h.mock_server().get(SECRET).unwrap();
    h.mock_server().clear_requests();
    let rotated = |v: &str| Some(format!("{}-rotated", env(v)?));
    let options = DeployOptions {
        dry_run: true,
        ..h.options()
    };
    let report = h
        .cluster
        .deploy_with_env(&r, &options, &rotated)
        .await
        .unwrap();
    let text = report.to_string();
    assert!(
        text.contains("password rotation step 1 of 3")
            && text.contains("(dry run: nothing written)"),
        "{text}"
    );
    assert_eq!(h.mock_server().get(SECRET).unwrap(), before);
    let writes: Vec<String> = h
        .mock_server()
        .requests()
        .into_iter()
        .filter(|q| q.is_write())
        .map(|q| q.summary())
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

/// A deploy that releases the gateway with a fake `helm` (`gatehouse_testkit::fake_helm`), which
/// records the values it gets on stdin (also used by `gateway_tls`).
pub(crate) struct Released {
    pub(crate) options: DeployOptions,
    dir: tempfile::TempDir,
}

impl Released {
    pub(crate) fn new(h: &Harness) -> Released {
        let dir = tempfile::tempdir().unwrap();
        let bin = gatehouse_testkit::fake_helm(dir.path());
        Released {
            options: DeployOptions {
                skip_release: false,
                helm: Some(bin.join("helm")),
                ..h.options()
            },
            dir,
        }
    }

    /// The values of the last `helm upgrade` as `helm` read them (then forgets them).
    pub(crate) fn take_values(&self) -> String {
        let file = self.dir.path().join("helm-stdin");
        let stdin = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, "").unwrap();
        stdin
    }

    /// The gateway's pod annotation in the values of the last `helm upgrade` (then forgets them).
    fn gateway_versions(&self) -> String {
        let stdin = self.take_values();
        pod_annotations(&stdin)[POD_SECRET_VERSIONS]
            .as_str()
            .unwrap_or_else(|| panic!("no {POD_SECRET_VERSIONS} in {stdin}"))
            .to_string()
    }
}

/// The gateway's pod annotations (`gateway.podAnnotations`) in a values document.
pub(crate) fn pod_annotations(values: &str) -> Value {
    let values: Value = serde_saphyr::from_str(values).unwrap();
    values["gateway"]["podAnnotations"].clone()
}

/// `name=version` of one Secret in a pod annotation.
fn version_of(stamp: &str, secret: &str) -> String {
    stamp
        .split(',')
        .find_map(|v| v.strip_prefix(&format!("{secret}=")))
        .unwrap_or_else(|| panic!("{secret} not in {stamp}"))
        .to_string()
}

#[tokio::test]
async fn the_gateway_rolls_at_step_two_of_its_password_and_at_no_other_step() {
    let h = Harness::mock().await;
    let mut d = h.deployment();
    // The replication password from a variable of its own, to rotate a Secret the gateway does
    // not read.
    d.redis.acl.replication.password = gatehouse_model::SecretSource::Env {
        variable: "GH_REPLICATION_PASSWORD".into(),
    };
    let r = h.render(&d);
    let released = Released::new(&h);
    h.deploy(&r, &released.options).await.unwrap();
    let first = released.gateway_versions();
    assert_eq!(version_of(&first, "gh-redis-password"), "1");
    assert!(
        !first.contains("gh-redis-replication-password"),
        "the gateway does not read the replication password: {first}"
    );

    // The replication password: three steps, each rolling the StatefulSets, none the gateway.
    let replication = |v: &str| {
        let value = env(v)?;
        Some(if v == "GH_REPLICATION_PASSWORD" {
            format!("{value}-rotated")
        } else {
            value
        })
    };
    for step in [
        RotationStep::AddNext,
        RotationStep::Switch,
        RotationStep::DropPrevious,
    ] {
        let before: Vec<String> = statefulsets(&h, &r)
            .iter()
            .map(|(_, s)| pod_versions(s))
            .collect();
        let report = h
            .cluster
            .deploy_with_env(&r, &released.options, &replication)
            .await
            .unwrap();
        assert_eq!(
            report.rotations.iter().map(|r| r.step).collect::<Vec<_>>(),
            [step]
        );
        let after: Vec<String> = statefulsets(&h, &r)
            .iter()
            .map(|(_, s)| pod_versions(s))
            .collect();
        assert!(before.iter().zip(&after).any(|(b, a)| b != a), "{step:?}");
        assert_eq!(released.gateway_versions(), first, "{step:?}");
    }

    // The gateway's password: its pod annotation changes at step 2 only, to the Secret's key
    // version, which equals the Secret's version at the switch.
    let gateway = |v: &str| {
        let value = replication(v)?;
        Some(if v == "GATEHOUSE_REDIS_PASSWORD" {
            format!("{value}-rotated")
        } else {
            value
        })
    };
    let mut stamp = first.clone();
    for step in [
        RotationStep::AddNext,
        RotationStep::Switch,
        RotationStep::DropPrevious,
    ] {
        let report = h
            .cluster
            .deploy_with_env(&r, &released.options, &gateway)
            .await
            .unwrap();
        assert!(
            report
                .rotations
                .iter()
                .any(|r| r.step == step && r.secret == "gh-test/gh-redis-password"),
            "{report}"
        );
        let now = released.gateway_versions();
        let secret = h.mock_server().get(SECRET).unwrap();
        let annotation = |a: &str| {
            secret["metadata"]["annotations"][a]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            version_of(&now, "gh-redis-password"),
            annotation(KEY_VERSION)
        );
        if step == RotationStep::Switch {
            assert_ne!(now, stamp, "step 2 must roll the gateway");
            assert_eq!(annotation(KEY_VERSION), annotation(SECRET_VERSION));
            assert!(
                report.to_string().contains("the gateway's too, roll now"),
                "{report}"
            );
        } else {
            assert_eq!(now, stamp, "{step:?} must not roll the gateway");
        }
        stamp = now;
    }
}

#[tokio::test]
async fn step_three_waits_until_the_gateway_runs_the_switched_password() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let released = Released::new(&h);
    h.deploy(&r, &released.options).await.unwrap();
    released.gateway_versions();
    let rotated = |v: &str| Some(format!("{}-rotated", env(v)?));
    let mut switched = String::new();
    for _ in 0..2 {
        h.cluster
            .deploy_with_env(&r, &released.options, &rotated)
            .await
            .unwrap();
        switched = released.gateway_versions();
    }
    let before_switch = switched.replace(
        &format!(
            "gh-redis-password={}",
            version_of(&switched, "gh-redis-password")
        ),
        "gh-redis-password=1",
    );
    // The chart's Deployment, as a release whose roll did not finish leaves it.
    let deployment = |stamp: &str, updated: u32| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": r.helm.gateway_deployment(), "namespace": "gh-test", "generation": 2},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "gw"}},
                "template": {"metadata": {"annotations": {POD_SECRET_VERSIONS: stamp}}}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": updated,
                "availableReplicas": 2}})
    };
    for (stamp, updated, why) in [
        (&before_switch, 2, "is not at gh-redis-password="),
        (&switched, 1, "not all updated and ready"),
    ] {
        h.mock_server().insert(deployment(stamp, updated));
        let report = h
            .cluster
            .deploy_with_env(&r, &released.options, &rotated)
            .await
            .unwrap();
        assert!(
            report
                .rotations
                .iter()
                .all(|r| r.secret != "gh-test/gh-redis-password"),
            "{report}"
        );
        let held: Vec<String> = report
            .rotations_held
            .iter()
            .map(|h| h.to_string())
            .collect();
        assert!(
            held.iter().any(|t| t.contains(
                "gh-test/gh-redis-password: password rotation step 3 of 3 not written yet"
            ) && t.contains(&format!(
                "Deployment gh-test/{}",
                r.helm.gateway_deployment()
            )) && t.contains(why)),
            "{held:#?}"
        );
        let secret = h.mock_server().get(SECRET).unwrap();
        assert!(
            decoded(&secret, "password.previous").is_some(),
            "the old password stays accepted"
        );
        assert_eq!(
            released.gateway_versions(),
            switched,
            "the release is rolled out again"
        );
    }
    // Rolled out: step 3.
    h.mock_server().insert(deployment(&switched, 2));
    let report = h
        .cluster
        .deploy_with_env(&r, &released.options, &rotated)
        .await
        .unwrap();
    assert!(report.rotations_held.is_empty(), "{report}");
    assert!(
        report.rotations.iter().any(
            |r| r.secret == "gh-test/gh-redis-password" && r.step == RotationStep::DropPrevious
        ),
        "{report}"
    );
    let secret = h.mock_server().get(SECRET).unwrap();
    assert_eq!(decoded(&secret, "password.previous"), None);
}

const REPLICATION_SECRET: &str = "/api/v1/namespaces/gh-test/secrets/gh-redis-replication-password";

#[tokio::test]
async fn a_generated_password_rotates_from_rotate_through_the_same_three_steps() {
    let h = Harness::mock().await;
    let mut d = h.deployment();
    d.redis.acl.replication.password = gatehouse_model::SecretSource::Generated;
    let r = h.render(&d);
    h.deploy(&r, &h.options()).await.unwrap();
    let created = h.mock_server().get(REPLICATION_SECRET).unwrap();
    let old = decoded(&created, "password").unwrap();

    // A deploy without --rotate never touches it.
    let report = h.deploy(&r, &h.options()).await.unwrap();
    assert!(report.rotations.is_empty(), "{report}");
    assert_eq!(h.mock_server().get(REPLICATION_SECRET).unwrap(), created);

    let rotate = DeployOptions {
        rotate: vec!["gatehouse-replication".into()],
        ..h.options()
    };
    let mut new = None;
    let mut previous_versions: Vec<String> = statefulsets(&h, &r)
        .iter()
        .map(|(_, s)| pod_versions(s))
        .collect();
    for (n, step) in [
        RotationStep::AddNext,
        RotationStep::Switch,
        RotationStep::DropPrevious,
    ]
    .into_iter()
    .enumerate()
    {
        let (mut options, events) = recording(&h);
        // --rotate starts it; plain deploys take the other steps.
        if n == 0 {
            options.rotate = rotate.rotate.clone();
        }
        let report = h.deploy(&r, &options).await.unwrap();
        assert_eq!(
            report
                .rotations
                .iter()
                .map(|r| (r.secret.as_str(), r.step))
                .collect::<Vec<_>>(),
            [("gh-test/gh-redis-replication-password", step)],
            "{report}"
        );
        let secret = h.mock_server().get(REPLICATION_SECRET).unwrap();
        let fresh = new
            .get_or_insert_with(|| decoded(&secret, "password.next").expect("step 1 adds .next"))
            .clone();
        assert_ne!(fresh, old, "a fresh value");
        let expected = match step {
            RotationStep::AddNext => (Some(&old), Some(&fresh), None),
            RotationStep::Switch => (Some(&fresh), None, Some(&old)),
            RotationStep::DropPrevious => (Some(&fresh), None, None),
        };
        assert_eq!(
            (
                decoded(&secret, "password").as_ref(),
                decoded(&secret, "password.next").as_ref(),
                decoded(&secret, "password.previous").as_ref()
            ),
            expected,
            "{step:?}"
        );
        assert_eq!(
            secret["metadata"]["annotations"][SECRET_VERSION],
            json!((n + 2).to_string())
        );
        // Only the data pods read the replication password: only they roll.
        let now: Vec<(String, String)> = statefulsets(&h, &r)
            .iter()
            .map(|(name, s)| (name.clone(), pod_versions(s)))
            .collect();
        for ((name, is), was) in now.iter().zip(&previous_versions) {
            let reads = !name.ends_with("-sentinel");
            assert_eq!(is != was, reads, "{step:?}: {name}: {was} -> {is}");
        }
        previous_versions = now.into_iter().map(|(_, v)| v).collect();
        let text = format!("{report}\n{}", events.lock().unwrap().join("\n"));
        for value in [&old, &fresh] {
            let encoded = base64::engine::general_purpose::STANDARD.encode(value);
            assert!(
                !text.contains(value.as_str()) && !text.contains(&encoded),
                "{text}"
            );
        }
    }
    let settled = h.mock_server().get(REPLICATION_SECRET).unwrap();
    let report = h.deploy(&r, &h.options()).await.unwrap();
    assert!(report.rotations.is_empty(), "{report}");
    assert_eq!(h.mock_server().get(REPLICATION_SECRET).unwrap(), settled);
}

#[tokio::test]
async fn rotate_refuses_unknown_users_and_passwords_it_does_not_generate_writing_nothing() {
    let h = Harness::mock().await;
    let mut d = h.deployment();
    d.redis.acl.replication.password = gatehouse_model::SecretSource::Generated;
    d.redis.acl.operator.password = gatehouse_model::SecretSource::ExistingSecret {
        name: "corp-operator".into(),
        key: "pw".into(),
    };
    let r = h.render(&d);
    h.mock_server().clear_requests();
    let options = DeployOptions {
        rotate: vec![
            "nobody".into(),
            "default".into(),
            "gatehouse-operator".into(),
            "gatehouse-exporter".into(),
            "gatehouse-replication".into(),
        ],
        ..h.options()
    };
    let err = h.deploy(&r, &options).await.unwrap_err();
    let text = err.to_string();
    let gatehouse_apply::ApplyError::RotateRefused(problems) = &err else {
        panic!("{text}");
    };
    assert_eq!(problems.len(), 4, "{text}");
    for wanted in [
        "nobody: no Redis user of this deployment has that name; name one of default, \
         gatehouse-replication, gatehouse-sentinel, gatehouse-sentinel-peer, gatehouse-operator, or all",
        "default: its password (redis.password) is not generated by gatehouse but `from: env`; \
         set GATEHOUSE_REDIS_PASSWORD to the new password",
        "gatehouse-operator: its password (redis.acl.operator.password) is not generated by \
         gatehouse but `from: existingSecret`; write the new password as `pw.next` into Secret \
         corp-operator",
        // Metrics are off: the exporter's user does not exist.
        "gatehouse-exporter: no Redis user of this deployment",
    ] {
        assert!(text.contains(wanted), "{wanted}\n{text}");
    }
    assert!(
        h.mock_server().requests().is_empty(),
        "refused before any request"
    );

    let mut all_env = h.deployment();
    all_env.redis.acl.operator.password = d.redis.acl.operator.password.clone();
    let err = h
        .deploy(
            &h.render(&all_env),
            &DeployOptions {
                rotate: vec!["all".into()],
                ..h.options()
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("all: no Redis password of this deployment is `from: generated`"),
        "{err}"
    );
}
