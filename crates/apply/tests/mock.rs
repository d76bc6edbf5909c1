//! The apply engine against the in-memory mock API server: exact request sequences, errors and
//! their messages. (The whole-product scenarios, run against this mock and, with
//! `GATEHOUSE_E2E=1`, a real API server, are in the top-level `tests/` package.)

use std::collections::BTreeSet;
use std::time::Duration;

use gatehouse_apply::{Action, ApiVerb, ApplyError, DeployOptions, ReleaseMode, RequestCounts};
use gatehouse_apply_mock::{Failure, Readiness, RecordedRequest, ResourceType};
use gatehouse_apply_testing::{Harness, env};
use serde_json::json;

/// The deployment's namespace exists already (created by someone else).
fn existing_namespace(h: &Harness) {
    h.mock_server()
        .insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gh-test"}}));
    h.mock_server().clear_requests();
}

/// The harness's deployment with its Redis password in an existing Secret `corp-redis`, key `pw`.
fn with_existing_password(h: &Harness) -> gatehouse_model::Deployment {
    let mut d = h.deployment();
    d.redis.password = gatehouse_model::SecretSource::ExistingSecret {
        name: "corp-redis".into(),
        key: "pw".into(),
    };
    d
}

/// The release a first deploy installs: the rendered one with the gateway's pod annotation naming
/// version 1 of each Secret it reads.
fn first_release(r: &gatehouse_render::Rendered) -> gatehouse_render::HelmRelease {
    use gatehouse_apply::rotation::{Advanced, GatewayReads, stamp_release};
    let reads = GatewayReads::of(&r.helm);
    assert!(reads.secrets.contains("gh-redis-password"), "{reads:?}");
    let stamp: Vec<String> = reads.secrets.iter().map(|s| format!("{s}=1")).collect();
    let advanced = Advanced {
        gateway_versions: Some(stamp.join(",")),
        ..Default::default()
    };
    stamp_release(&r.helm, &advanced)
}

/// No request of the harness's mock changed the cluster.
fn assert_nothing_written(h: &Harness) {
    let requests = h.mock_server().requests();
    assert!(writes(&requests).is_empty(), "{:#?}", writes(&requests));
}

/// The message says every one of `parts`.
fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part}: {text}");
    }
}

fn writes(requests: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    requests.iter().filter(|r| r.is_write()).collect()
}

fn stage_of(path: &str) -> u8 {
    if path.ends_with("/namespaces/gh-test") {
        0
    } else if ["/secrets/", "/configmaps/", "/serviceaccounts/"]
        .iter()
        .any(|k| path.contains(k))
    {
        1
    } else if ["/services/", "/networkpolicies/", "/poddisruptionbudgets/"]
        .iter()
        .any(|k| path.contains(k))
    {
        2
    } else if path.contains("/statefulsets/") {
        3
    } else {
        4
    }
}

#[tokio::test]
async fn first_deploy_dry_runs_what_the_server_can_check_then_one_patch_per_object_in_stage_order()
{
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let mut options = h.options();
    options.concurrency = 1;
    let report = h.deploy(&r, &options).await.unwrap();
    let requests = h.mock_server().requests();
    // The namespace is new: the server cannot dry-run objects inside it, so they are not sent.
    assert!(
        report
            .not_dry_run
            .iter()
            .any(|o| o.starts_with("StatefulSet gh-test/")),
        "{report}"
    );
    assert!(
        !report
            .not_dry_run
            .iter()
            .any(|o| o.starts_with("Namespace"))
    );

    let patches: Vec<&RecordedRequest> = requests.iter().filter(|r| r.method == "PATCH").collect();
    assert!(
        !patches.is_empty()
            && patches
                .iter()
                .all(|p| p.field_manager() == Some("gatehouse")),
        "{patches:#?}"
    );
    let dry: Vec<&str> = patches
        .iter()
        .filter(|p| p.is_dry_run())
        .map(|p| p.path.as_str())
        .collect();
    let parent = "/api/v1/namespaces/gh-test/secrets/gh-applyset".to_string();
    let real: Vec<&str> = patches
        .iter()
        .filter(|p| !p.is_dry_run() && p.path != parent)
        .map(|p| p.path.as_str())
        .collect();
    // Only the Namespace could be dry-run; one real PATCH per object, no object twice, and no
    // LIST inside the namespace that does not exist yet.
    assert_eq!(dry, vec!["/api/v1/namespaces/gh-test"]);
    assert_eq!(real.iter().collect::<BTreeSet<_>>().len(), real.len());
    assert_eq!(real.len(), report.objects.len());
    assert_eq!(report.not_dry_run.len(), report.objects.len() - 1);
    let first_write = requests.iter().position(|r| r.is_write()).unwrap();
    assert!(
        !requests[..first_write].iter().any(|r| r.method == "GET"
            && r.path.starts_with("/api/v1/namespaces/gh-test/")
            && !r.path.ends_with("/gh-applyset")),
        "{:#?}",
        &requests[..first_write]
    );
    // Every dry-run precedes the first write.
    let last_dry = requests.iter().rposition(|r| r.is_dry_run()).unwrap();
    assert!(last_dry < first_write);
    // Writes in stage order; the parent right after the Namespace.
    let stages: Vec<u8> = real.iter().map(|p| stage_of(p)).collect();
    assert!(
        stages.len() > 1 && stages.windows(2).all(|w| w[0] <= w[1]),
        "{real:#?}"
    );
    let write_paths: Vec<&str> = writes(&requests).iter().map(|r| r.path.as_str()).collect();
    assert_eq!(write_paths[0], "/api/v1/namespaces/gh-test");
    assert_eq!(write_paths[1], parent);
    // The workload wait reads the StatefulSets after they are written.
    let last_sts_write = requests
        .iter()
        .rposition(|r| r.is_write() && r.path.contains("/statefulsets/"))
        .unwrap();
    let wait_lists = requests
        .iter()
        .skip(last_sts_write)
        .filter(|r| r.method == "GET" && r.path.ends_with("/statefulsets"))
        .count();
    assert_eq!(wait_lists, 2, "one watch-list per StatefulSet");
    // Members carry the part-of label, the parent the id and group-kinds.
    let server = h.mock_server();
    let parent_obj = server.get(&parent).unwrap();
    let id = parent_obj["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        id,
        gatehouse_apply::applyset::applyset_id("gh-applyset", "gh-test", "Secret", "")
    );
    let kinds =
        parent_obj["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
            .as_str()
            .unwrap();
    assert!(
        kinds.contains("StatefulSet.apps") && kinds.contains("ConfigMap"),
        "{kinds}"
    );
    for path in real.iter().filter(|p| !p.ends_with("/namespaces/gh-test")) {
        let o = server.get(path).unwrap();
        assert_eq!(
            o["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
            json!(id),
            "{path}"
        );
    }
}

#[tokio::test]
async fn redeploy_without_change_writes_nothing() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    h.deploy(&r, &h.options()).await.unwrap();
    h.mock_server().clear_requests();
    let report = h.deploy(&r, &h.options()).await.unwrap();
    let requests = h.mock_server().requests();
    assert!(writes(&requests).is_empty(), "{:#?}", writes(&requests));
    assert!(
        !report.objects.is_empty() && report.objects.iter().all(|(_, a)| *a == Action::Unchanged)
    );
}

#[tokio::test]
async fn failed_dry_run_writes_nothing_and_names_object_and_field() {
    let h = Harness::mock().await;
    existing_namespace(&h);
    let r = h.render(&h.deployment());
    let sts = r
        .objects
        .iter()
        .find(|o| o.kind() == "StatefulSet")
        .unwrap();
    let path = format!(
        "/apis/apps/v1/namespaces/gh-test/statefulsets/{}",
        sts.name()
    );
    h.mock_server().fail(
        Failure::invalid(
            &path,
            "spec.template.spec.containers[0].image",
            "must not be empty",
        )
        .only_dry_run(true),
    );
    let err = h.deploy(&r, &h.options()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ApplyError::PreflightFailed { .. }), "{text}");
    assert!(
        text.contains(&format!("StatefulSet gh-test/{}", sts.name())),
        "{text}"
    );
    assert!(
        text.contains("spec.template.spec.containers[0].image"),
        "{text}"
    );
    assert!(text.contains("nothing was written"), "{text}");
    // The server's message already holds the cause: it is printed once.
    assert_eq!(text.matches("must not be empty").count(), 1, "{text}");
    assert_nothing_written(&h);
    // diff reports the same problem, without claiming a write it never attempts.
    let err = h
        .cluster
        .diff_with_env(&r, &h.options(), &env)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("spec.template.spec.containers[0].image"),
        "{err}"
    );
    assert!(!err.contains("nothing was written"), "{err}");
}

#[tokio::test]
async fn rbac_denial_names_verb_and_resource() {
    let h = Harness::mock().await;
    existing_namespace(&h);
    let r = h.render(&h.deployment());
    let cm = r.objects.iter().find(|o| o.kind() == "ConfigMap").unwrap();
    let path = format!("/api/v1/namespaces/gh-test/configmaps/{}", cm.name());
    h.mock_server()
        .fail(Failure::forbidden("PATCH", &path, "patch", "configmaps"));
    let err = h.deploy(&r, &h.options()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("forbidden to patch configmaps"), "{text}");
    assert!(
        text.contains("kubectl auth can-i patch configmaps"),
        "{text}"
    );
    assert_nothing_written(&h);
}

#[tokio::test]
async fn dry_run_mode_writes_nothing_and_reports_what_would_happen() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let mut options = h.options();
    options.dry_run = true;
    let report = h.deploy(&r, &options).await.unwrap();
    assert!(
        report.dry_run
            && !report.objects.is_empty()
            && report.objects.iter().all(|(_, a)| *a == Action::Created)
    );
    assert!(report.to_string().contains("(server dry run)"));
    let requests = h.mock_server().requests();
    assert!(writes(&requests).is_empty());
    assert!(h.mock_server().paths().is_empty());
}

#[tokio::test]
async fn prune_deletes_only_stale_members_without_owner() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    h.deploy(&r, &h.options()).await.unwrap();
    let server = h.mock_server();
    let id = gatehouse_apply::applyset::applyset_id("gh-applyset", "gh-test", "Secret", "");
    let cm = |name: &str, labels: serde_json::Value, owners: serde_json::Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "gh-test", "labels": labels, "ownerReferences": owners}})
    };
    let stale = server.insert(cm(
        "stale",
        json!({"applyset.kubernetes.io/part-of": id}),
        json!([]),
    ));
    let owned = server.insert(cm(
        "owned",
        json!({"applyset.kubernetes.io/part-of": id}),
        json!([{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u"}]),
    ));
    let foreign = server.insert(cm(
        "foreign",
        json!({"applyset.kubernetes.io/part-of": "applyset-other-v1"}),
        json!([]),
    ));
    let unlabeled = server.insert(cm("unlabeled", json!({}), json!([])));
    server.clear_requests();
    let mut options = h.options();
    options.prune = true;
    let report = h.deploy(&r, &options).await.unwrap();
    let deletes: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(deletes, vec![stale.clone()]);
    assert!(
        report
            .objects
            .contains(&("ConfigMap gh-test/stale".into(), Action::Pruned))
    );
    for kept in [owned, foreign, unlabeled] {
        assert!(server.get(&kept).is_some(), "{kept}");
    }
}

#[tokio::test]
async fn env_secrets_are_written_and_never_shown() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let report = h.deploy(&r, &h.options()).await.unwrap();
    let secret = h
        .mock_server()
        .get("/api/v1/namespaces/gh-test/secrets/gh-redis-password")
        .unwrap();
    use base64::Engine;
    let value = env("GATEHOUSE_REDIS_PASSWORD").unwrap();
    assert_eq!(
        secret["data"]["password"],
        json!(base64::engine::general_purpose::STANDARD.encode(&value))
    );
    assert!(!report.to_string().contains(&value));
    // A validation error on the Secret that echoes the value does not show it.
    h.mock_server().fail(Failure::invalid(
        "/api/v1/namespaces/gh-test/secrets/gh-redis-password",
        "data",
        &format!("bad value {value}"),
    ));
    let mut d = h.deployment();
    d.redis.sentinel.down_after_milliseconds += 1;
    let err = h
        .deploy(&h.render(&d), &h.options())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Secret gh-test/gh-redis-password") && err.contains("***"),
        "{err}"
    );
    assert!(!err.contains(&value), "{err}");
    // Diff of a changed env value shows that it changed (as rotation step 1: the new value added
    // as `password.next`), not the value.
    h.mock_server().clear_failures();
    let changed = |v: &str| Some(format!("{}-rotated", env(v).unwrap()));
    let diff = h
        .cluster
        .diff_with_env(&r, &h.options(), &changed)
        .await
        .unwrap();
    let text = diff.render(false);
    assert!(
        text.contains("password.next: \"*** (after)\"")
            && text.contains("gatehouse/secret-versions"),
        "{text}"
    );
    assert!(
        !text.contains("s3cr3t")
            && !text.contains(&base64::engine::general_purpose::STANDARD.encode(&value)),
        "{text}"
    );
}

#[tokio::test]
async fn missing_env_variable_fails_before_any_request() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let err = h
        .cluster
        .deploy_with_env(&r, &h.options(), &|_| None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("GATEHOUSE_REDIS_PASSWORD"),
        "{err}"
    );
    assert_eq!(h.mock_server().request_count(), 0);
}

#[tokio::test]
async fn generated_secret_is_created_once_and_never_overwritten() {
    let h = Harness::mock().await;
    let mut d = h.deployment();
    d.redis.password = gatehouse_model::SecretSource::Generated;
    let r = h.render(&d);
    let path = "/api/v1/namespaces/gh-test/secrets/gh-redis-password";
    let report = h.deploy(&r, &h.options()).await.unwrap();
    let first = h.mock_server().get(path).unwrap();
    let value = first["data"]["password"].as_str().unwrap().to_string();
    assert!(!report.to_string().contains(&value));
    h.mock_server().clear_requests();
    h.deploy(&r, &h.options()).await.unwrap();
    assert_eq!(h.mock_server().get(path).unwrap(), first);
    let touching: Vec<_> = h
        .mock_server()
        .requests()
        .into_iter()
        .filter(|r| r.path == path && r.method != "GET")
        .collect();
    assert!(touching.is_empty(), "{touching:#?}");
}

#[tokio::test]
async fn existing_secret_must_exist_with_the_key() {
    let h = Harness::mock().await;
    let r = h.render(&with_existing_password(&h));
    let err = h.deploy(&r, &h.options()).await.unwrap_err().to_string();
    assert!(
        err.contains("Secret gh-test/corp-redis does not exist") && err.contains("redis.password"),
        "{err}"
    );
    h.mock_server()
        .insert(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "corp-redis", "namespace": "gh-test"}, "data": {"other": "eA=="}}));
    let err = h.deploy(&r, &h.options()).await.unwrap_err().to_string();
    assert!(err.contains("has no key `pw` (it has: other)"), "{err}");
    assert_nothing_written(&h);
    h.mock_server()
        .insert(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "corp-redis", "namespace": "gh-test"}, "data": {"pw": "eA=="}}));
    h.deploy(&r, &h.options()).await.unwrap();
}

#[tokio::test]
async fn wait_follows_the_watch_until_ready() {
    let h = Harness::mock().await;
    h.mock_server()
        .set_readiness(Readiness::After(Duration::from_millis(300)));
    let r = h.render(&h.deployment());
    h.deploy(&r, &h.options()).await.unwrap();
    let watches = h
        .mock_server()
        .requests()
        .iter()
        .filter(|r| r.is_watch())
        .count();
    assert!(watches >= 2, "a watch per StatefulSet");
}

#[tokio::test]
async fn wait_timeout_names_what_is_not_ready_and_why() {
    let h = Harness::mock().await;
    h.mock_server().set_readiness(Readiness::Never);
    let r = h.render(&h.deployment());
    let sts = r
        .objects
        .iter()
        .find(|o| o.kind() == "StatefulSet")
        .unwrap();
    h.mock_server().insert(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("{}-0", sts.name()), "namespace": "gh-test",
            "labels": sts.metadata().labels.clone()},
        "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": "containers with unready status: [redis]"}],
                   "containerStatuses": [{"name": "redis", "ready": false, "restartCount": 3, "image": "redis", "imageID": "",
                       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}}]}}));
    let mut options = h.options();
    options.timeout = Duration::from_secs(1);
    let err = h.deploy(&r, &options).await.unwrap_err();
    // The summary of what was written comes first; the timeout is its cause, printed once.
    let ApplyError::Stopped { done, cause, .. } = &err else {
        panic!("{err}");
    };
    assert!(
        done.iter()
            .any(|(o, a)| o.starts_with("StatefulSet") && *a == Action::Created)
    );
    assert!(matches!(**cause, ApplyError::WaitTimeout { .. }), "{cause}");
    assert!(
        err.to_string().contains("changed before the failure"),
        "{err}"
    );
    let text = cause.to_string();
    assert!(!err.to_string().contains("not ready after"), "{err}");
    assert!(
        text.contains(&format!("StatefulSet gh-test/{}", sts.name())),
        "{text}"
    );
    assert!(
        text.contains("0/") && text.contains("not yet rolled out"),
        "{text}"
    );
    assert!(
        text.contains("CrashLoopBackOff") && text.contains("ContainersNotReady"),
        "{text}"
    );
}

fn fake_helm(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("helm");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > {log}/argv\ncat > {log}/stdin\necho 'Release \"gh\" has been upgraded.'\n",
        log = dir.display()
    );
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn helm_release_gets_pinned_chart_and_values_on_stdin_without_secrets() {
    let h = Harness::mock().await;
    let dir = tempfile::tempdir().unwrap();
    let helm = fake_helm(dir.path());
    let r = h.render(&h.deployment());
    let options = DeployOptions {
        skip_release: false,
        helm: Some(helm),
        ..h.options()
    };
    let report = h.deploy(&r, &options).await.unwrap();
    assert!(report.release.unwrap().contains("deployed"));
    let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
    let args: Vec<&str> = argv.lines().collect();
    let t = options.timeout.as_secs().to_string() + "s";
    let expected = vec![
        "upgrade",
        "--install",
        &r.helm.release_name,
        &r.helm.chart,
        "--repo",
        &r.helm.repository,
        "--version",
        &r.helm.version,
        "--namespace",
        "gh-test",
        "--values",
        "-",
        "--wait",
        "--timeout",
        &t,
        "--kubeconfig",
        h.kubeconfig.as_ref().unwrap().to_str().unwrap(),
    ];
    assert_eq!(args, expected);
    let stdin = std::fs::read_to_string(dir.path().join("stdin")).unwrap();
    assert_eq!(stdin, first_release(&r).values_yaml());
    for var in [
        "GATEHOUSE_REDIS_PASSWORD",
        "GRAVITEE_LICENSE_KEY",
        "GRAVITEE_CLOUD_TOKEN",
    ] {
        assert!(!stdin.contains(&env(var).unwrap()), "{var}");
    }
    assert!(stdin.contains("secretKeyRef"));
}

#[tokio::test]
async fn missing_helm_fails_before_any_write() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let options = DeployOptions {
        skip_release: false,
        helm: Some("/nonexistent/helm".into()),
        ..h.options()
    };
    let err = h.deploy(&r, &options).await.unwrap_err();
    let ApplyError::PreflightFailed { errors, .. } = &err else {
        panic!("{err}");
    };
    assert!(matches!(errors[..], [ApplyError::HelmMissing]), "{err}");
    let text = err.to_string();
    assert_mentions(
        &text,
        &[
            "https://helm.sh",
            "--flux",
            "--skip-release",
            "nothing was written",
        ],
    );
    assert_nothing_written(&h);
}

#[tokio::test]
async fn flux_mode_requires_the_crds_then_applies_release_objects_last() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let options = DeployOptions {
        release: ReleaseMode::Flux,
        skip_release: false,
        ..h.options()
    };
    let err = h.deploy(&r, &options).await.unwrap_err();
    assert!(err.to_string().contains("Flux is not installed"), "{err}");
    assert_nothing_written(&h);
    for t in ResourceType::flux() {
        h.mock_server().add_resource(t);
    }
    h.mock_server().clear_requests();
    h.deploy(&r, &options).await.unwrap();
    let requests = h.mock_server().requests();
    let order: Vec<&str> = writes(&requests).iter().map(|r| r.path.as_str()).collect();
    let release = order
        .iter()
        .position(|p| p.contains("/helmreleases/"))
        .unwrap();
    let last_sts = order
        .iter()
        .rposition(|p| p.contains("/statefulsets/"))
        .unwrap();
    assert!(release > last_sts, "{order:#?}");
    // The release is waited for (watch of the HelmRelease) after it is written.
    let hr_write = requests
        .iter()
        .position(|r| r.is_write() && r.path.contains("/helmreleases/"))
        .unwrap();
    assert!(
        requests[hr_write..]
            .iter()
            .any(|r| r.method == "GET" && r.path.ends_with("/helmreleases"))
    );
    let hr = h.mock_server().get(order[release]).unwrap();
    assert_eq!(
        hr["spec"]["chart"]["spec"]["version"],
        json!(r.helm.version)
    );
    // The values are the Helm release's, with the gateway's Secret versions.
    assert_eq!(
        hr["spec"]["values"],
        serde_json::to_value(&first_release(&r).values).unwrap()
    );
    assert!(!hr.to_string().contains("s3cr3t"));
}

#[tokio::test]
async fn metrics_require_the_prometheus_operator_crds_then_apply_monitors_and_rules() {
    let h = Harness::mock().await;
    let mut d = h.deployment();
    d.metrics.enabled = true;
    let r = h.render(&d);
    let err = h.deploy(&r, &h.options()).await.unwrap_err();
    assert_mentions(
        &err.to_string(),
        &[
            "metrics",
            "monitoring.coreos.com/v1",
            "metrics.enabled: false",
        ],
    );
    assert_nothing_written(&h);
    for t in ResourceType::prometheus_operator() {
        h.mock_server().add_resource(t);
    }
    h.deploy(&r, &h.options()).await.unwrap();
    let paths = h.mock_server().paths();
    for plural in ["podmonitors", "prometheusrules"] {
        assert!(
            paths.iter().any(|p| p.contains(&format!("/{plural}/"))),
            "{plural}: {paths:#?}"
        );
    }
}

#[tokio::test]
async fn diff_shows_new_changed_and_nothing_after_deploy() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let before = h
        .cluster
        .diff_with_env(&r, &h.options(), &env)
        .await
        .unwrap();
    assert!(before.has_changes());
    assert_eq!(before.diffs.len(), r.objects.len() + r.secrets.len());
    h.deploy(&r, &h.options()).await.unwrap();
    h.mock_server().clear_requests();
    let after = h
        .cluster
        .diff_with_env(&r, &h.options(), &env)
        .await
        .unwrap();
    assert!(!after.has_changes(), "{}", after.render(false));
    assert_nothing_written(&h);
    let mut d = h.deployment();
    d.redis.sentinel.down_after_milliseconds += 1000;
    let changed = h
        .cluster
        .diff_with_env(&h.render(&d), &h.options(), &env)
        .await
        .unwrap();
    let text = changed.render(false);
    assert!(changed.has_changes());
    assert!(
        text.lines()
            .any(|l| l.starts_with('-') && !l.starts_with("---")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with('+') && !l.starts_with("+++")),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"));
}

#[tokio::test]
async fn connection_errors_are_named() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, format!("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n")).unwrap();
    let options = gatehouse_apply::ConnectOptions {
        kubeconfig: Some(path.clone()),
        context: None,
    };
    let err = gatehouse_apply::Cluster::connect(&options)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ApplyError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );

    let options = gatehouse_apply::ConnectOptions {
        kubeconfig: Some(path),
        context: Some("prod".into()),
    };
    let err = gatehouse_apply::Cluster::connect(&options)
        .await
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("context `prod` is not in the kubeconfig; available contexts: c"),
        "{err}"
    );

    let options = gatehouse_apply::ConnectOptions {
        kubeconfig: Some(dir.path().join("missing")),
        context: None,
    };
    let err = gatehouse_apply::Cluster::connect(&options)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ApplyError::Kubeconfig { .. }), "{err}");
}

#[tokio::test]
async fn foreign_applyset_parent_is_refused() {
    let h = Harness::mock().await;
    // A parent lives in a namespace that exists.
    existing_namespace(&h);
    h.mock_server()
        .insert(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "gh-applyset", "namespace": "gh-test",
                     "annotations": {"applyset.kubernetes.io/tooling": "kubectl/v1.33.0"}}}));
    let err = h
        .deploy(&h.render(&h.deployment()), &h.options())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("managed by `kubectl/v1.33.0`"),
        "{err}"
    );
    assert_nothing_written(&h);
}

#[tokio::test]
async fn helm_release_with_same_chart_and_values_is_not_upgraded_again() {
    let h = Harness::mock().await;
    let dir = tempfile::tempdir().unwrap();
    let r = h.render(&h.deployment());
    let status = json!({"info": {"status": "deployed"},
        "chart": {"metadata": {"name": r.helm.chart, "version": r.helm.version}},
        "config": serde_json::to_value(&first_release(&r).values).unwrap()});
    std::fs::write(dir.path().join("status.json"), status.to_string()).unwrap();
    let path = dir.path().join("helm");
    let script = format!(
        "#!/bin/sh\necho \"$1\" >> {d}/calls\nif [ \"$1\" = status ]; then cat {d}/status.json; fi\n",
        d = dir.path().display()
    );
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let options = DeployOptions {
        skip_release: false,
        helm: Some(path),
        ..h.options()
    };
    let report = h.deploy(&r, &options).await.unwrap();
    assert!(report.release.unwrap().contains("unchanged"));
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert_eq!(calls, "status\n");
    // Another chart version in the cluster: upgraded.
    let mut other = status.clone();
    other["chart"]["metadata"]["version"] = json!("0.0.1");
    std::fs::write(dir.path().join("status.json"), other.to_string()).unwrap();
    let report = h.deploy(&r, &options).await.unwrap();
    assert!(report.release.unwrap().contains("deployed"));
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert_eq!(calls, "status\nstatus\nupgrade\n");
}

#[tokio::test]
async fn existing_namespace_means_every_object_is_dry_run_by_the_server() {
    let h = Harness::mock().await;
    h.mock_server()
        .insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gh-test"}}));
    let r = h.render(&h.deployment());
    let report = h.deploy(&r, &h.options()).await.unwrap();
    assert!(report.not_dry_run.is_empty(), "{report}");
    // A dry-run rejection inside an existing namespace stops everything.
    let h = Harness::mock().await;
    h.mock_server()
        .insert(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gh-test"}}));
    let svc = r.objects.iter().find(|o| o.kind() == "Service").unwrap();
    h.mock_server().fail(Failure::invalid(
        &format!("/api/v1/namespaces/gh-test/services/{}", svc.name()),
        "spec.ports[0].port",
        "must be between 1 and 65535",
    ));
    let err = h.deploy(&r, &h.options()).await.unwrap_err();
    assert!(err.to_string().contains("spec.ports[0].port"), "{err}");
    assert_nothing_written(&h);
}

#[tokio::test]
async fn every_request_names_gatehouse_as_user_agent() {
    let h = Harness::mock().await;
    h.deploy(&h.render(&h.deployment()), &h.options())
        .await
        .unwrap();
    let requests = h.mock_server().requests();
    assert!(!requests.is_empty());
    let expected = format!("gatehouse/{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(gatehouse_apply::USER_AGENT, expected);
    for r in &requests {
        assert_eq!(
            r.user_agent.as_deref(),
            Some(expected.as_str()),
            "{}",
            r.summary()
        );
    }
}

#[tokio::test]
async fn noop_redeploy_costs_one_request_per_object_plus_one_list_per_kind() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let first = h.deploy(&r, &h.options()).await.unwrap();
    h.mock_server().clear_requests();
    let report = h.deploy(&r, &h.options()).await.unwrap();
    assert!(
        report.objects.len() == first.objects.len()
            && report.objects.iter().all(|(_, a)| *a == Action::Unchanged),
        "{report}"
    );
    let requests = h.mock_server().requests();
    let summaries: Vec<String> = requests.iter().map(|r| r.summary()).collect();
    let objects = first.objects.len();
    let kinds: BTreeSet<&str> = first
        .objects
        .iter()
        .filter_map(|(o, _)| o.split(' ').next())
        .collect();
    let dry_runs = requests.iter().filter(|r| r.is_dry_run()).count();
    let lists = requests
        .iter()
        .filter(|r| r.method == "GET" && !r.is_watch() && r.path.ends_with('s'))
        .count();
    // One dry-run per object, one LIST per namespaced kind; the constant: the Namespace. The
    // ApplySet parent comes from the LIST of Secrets, not a GET of its own. No watch: the
    // workloads were ready already.
    assert_eq!(dry_runs, objects, "{summaries:#?}");
    assert_eq!(lists, kinds.len() - 1, "{summaries:#?}");
    assert!(!requests.iter().any(|r| r.is_watch()), "{summaries:#?}");
    assert!(
        !requests
            .iter()
            .any(|r| r.path.ends_with("/secrets/gh-applyset")),
        "{summaries:#?}"
    );
    assert_eq!(
        requests.len(),
        objects + kinds.len(),
        "{} requests for {objects} objects: {summaries:#?}",
        requests.len()
    );
    assert!(writes(&requests).is_empty());
}

#[tokio::test]
async fn dry_run_lines_say_what_the_server_checked() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    let mut options = h.options();
    options.dry_run = true;
    let report = h.deploy(&r, &options).await.unwrap();
    let text = report.to_string();
    let lines: Vec<&str> = text.lines().collect();
    // One line per object, each saying whether the server checked it.
    assert_eq!(lines.len(), report.objects.len(), "{text}");
    assert!(lines.len() > 1, "{text}");
    assert_eq!(lines[0], "Namespace gh-test created (server dry run)");
    assert!(
        lines[1..].iter().all(|l| l.ends_with(
            "created (dry run; not checked by the server: namespace gh-test does not exist yet)"
        )),
        "{text}"
    );
    // Once the namespace exists, every object is checked by the server.
    existing_namespace(&h);
    let report = h.deploy(&r, &options).await.unwrap();
    let text = report.to_string();
    assert!(
        text.lines().count() == report.objects.len()
            && !report.objects.is_empty()
            && text.lines().all(|l| l.ends_with("(server dry run)")),
        "{text}"
    );
}

#[tokio::test]
async fn helm_is_checked_with_everything_else_and_not_needed_for_a_dry_run() {
    let h = Harness::mock().await;
    let r = h.render(&with_existing_password(&h));
    let options = DeployOptions {
        skip_release: false,
        helm: Some("/nonexistent/helm".into()),
        ..h.options()
    };
    // Both problems in one report.
    let err = h.deploy(&r, &options).await.unwrap_err();
    let ApplyError::PreflightFailed { errors, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(errors.len(), 2, "{err}");
    assert!(
        errors.iter().any(|e| matches!(e, ApplyError::HelmMissing)),
        "{err}"
    );
    assert!(err.to_string().contains("corp-redis"), "{err}");
    // A dry-run without helm validates the objects and says the release was not validated.
    h.mock_server()
        .insert(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "corp-redis", "namespace": "gh-test"}, "data": {"pw": "eA=="}}));
    let report = h
        .deploy(
            &r,
            &DeployOptions {
                dry_run: true,
                ..options
            },
        )
        .await
        .unwrap();
    let release = report.release.clone().unwrap_or_default();
    assert!(
        release.contains("not validated") && release.contains("--skip-release"),
        "{report}"
    );
    assert_nothing_written(&h);
}

/// A ConfigMap of the deployment, created by someone else before gatehouse.
fn preexisting_config_map(
    h: &Harness,
    r: &gatehouse_render::Rendered,
    labels: serde_json::Value,
) -> String {
    let cm = r.objects.iter().find(|o| o.kind() == "ConfigMap").unwrap();
    h.mock_server().insert(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": cm.name(), "namespace": "gh-test", "labels": labels,
                     "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}]},
        "data": {"redis.conf": "hand-made"}}))
}

#[tokio::test]
async fn objects_without_the_applyset_label_are_refused_unless_adopted() {
    let h = Harness::mock().await;
    existing_namespace(&h);
    let r = h.render(&h.deployment());
    let path = preexisting_config_map(&h, &r, json!({}));
    let before = h.mock_server().get(&path).unwrap();
    h.mock_server().clear_requests();
    let err = h.deploy(&r, &h.options()).await.unwrap_err();
    let text = err.to_string();
    let ApplyError::PreflightFailed { errors, .. } = &err else {
        panic!("{text}");
    };
    let ApplyError::NotOurs(foreign) = &errors[0] else {
        panic!("{text}");
    };
    assert_eq!(foreign.len(), 1, "{text}");
    assert!(
        foreign[0].object.starts_with("ConfigMap gh-test/"),
        "{text}"
    );
    assert_mentions(
        &text,
        &[
            "without gatehouse's ApplySet label",
            "kubectl-client-side-apply",
            "--adopt",
            "nothing was written",
        ],
    );
    assert_nothing_written(&h);
    assert_eq!(h.mock_server().get(&path).unwrap(), before);
    // The dry-run refuses the same way; diff shows it, and with --adopt previews the takeover.
    let dry = h
        .deploy(
            &r,
            &DeployOptions {
                dry_run: true,
                ..h.options()
            },
        )
        .await
        .unwrap_err();
    assert!(
        dry.to_string()
            .contains("without gatehouse's ApplySet label"),
        "{dry}"
    );
    let diff = h
        .cluster
        .diff_with_env(&r, &h.options(), &env)
        .await
        .unwrap();
    assert!(diff.has_changes());
    assert!(
        diff.render(false).contains("deploy would refuse it"),
        "{}",
        diff.render(false)
    );
    let adopt = DeployOptions {
        adopt: true,
        ..h.options()
    };
    let diff = h.cluster.diff_with_env(&r, &adopt, &env).await.unwrap();
    let text = diff.render(false);
    assert!(
        text.contains("deploy would take it over") && text.contains("-  redis.conf: hand-made"),
        "{text}"
    );
    assert_nothing_written(&h);
    // --adopt takes it over: labelled as a member, configured.
    let report = h.deploy(&r, &adopt).await.unwrap();
    assert_eq!(report.taken_over.len(), 1, "{report}");
    assert!(report.to_string().contains("was taken over"), "{report}");
    let after = h.mock_server().get(&path).unwrap();
    let id = gatehouse_apply::applyset::applyset_id("gh-applyset", "gh-test", "Secret", "");
    assert_eq!(
        after["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        json!(id)
    );
    // And it is ours from then on.
    h.deploy(&r, &h.options()).await.unwrap();
}

#[tokio::test]
async fn a_kind_listed_by_the_parent_that_the_server_no_longer_serves_has_no_members() {
    let h = Harness::mock().await;
    let r = h.render(&h.deployment());
    h.deploy(&r, &h.options()).await.unwrap();
    // An earlier `--flux` deploy listed the Flux kinds; Flux has been removed since.
    let parent = "/api/v1/namespaces/gh-test/secrets/gh-applyset";
    let mut live = h.mock_server().get(parent).unwrap();
    let kinds = live["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap()
        .to_string();
    live["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"] =
        json!(format!("{kinds},HelmRelease.helm.toolkit.fluxcd.io"));
    h.mock_server().insert(live);
    let mut options = h.options();
    options.prune = true;
    let report = h.deploy(&r, &options).await.unwrap();
    assert!(
        !report.objects.is_empty() && report.objects.iter().all(|(_, a)| *a == Action::Unchanged),
        "{report}"
    );
    // The parent lists what is rendered again.
    let shrunk = h.mock_server().get(parent).unwrap();
    assert_eq!(
        shrunk["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        json!(kinds)
    );
}

/// The requests the server recorded, counted the way the client's layer counts its own.
fn server_counts(h: &Harness) -> RequestCounts {
    let requests = h.mock_server().requests();
    RequestCounts::of(
        requests
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.raw_query.as_deref())),
    )
}

#[tokio::test]
async fn the_client_counts_every_request_the_server_received() {
    let h = Harness::mock().await;
    // Workloads become ready a little later, so the first deploy watches them.
    h.mock_server()
        .set_readiness(Readiness::After(Duration::from_millis(200)));
    // A connection of its own, so that its `/version` check is among the counts.
    let cluster = gatehouse_apply::Cluster::connect(&gatehouse_apply::ConnectOptions {
        kubeconfig: h.kubeconfig.clone(),
        context: None,
    })
    .await
    .unwrap();
    let connected = cluster.requests();
    assert_eq!(connected, server_counts(&h));
    assert_eq!(connected.verb(ApiVerb::Version), 1, "{connected}");

    let r = h.render(&h.deployment());
    let first = cluster
        .deploy_with_env(&r, &h.options(), &env)
        .await
        .unwrap();
    let server = server_counts(&h);
    assert_eq!(
        cluster.requests(),
        server,
        "client {} / server {server}",
        cluster.requests()
    );
    assert_eq!(first.requests, server.since(&connected));
    assert!(
        first.requests.verb(ApiVerb::Watch) > 0,
        "{}",
        first.requests
    );
    // One write per object, and the ApplySet parent's.
    assert_eq!(
        first.requests.writes(),
        first.objects.len() + 1,
        "{}",
        first.requests
    );

    h.mock_server().clear_requests();
    let again = cluster
        .deploy_with_env(&r, &h.options(), &env)
        .await
        .unwrap();
    let server = server_counts(&h);
    assert_eq!(
        again.requests, server,
        "client {} / server {server}",
        again.requests
    );
    assert_eq!(again.requests.writes(), 0, "{}", again.requests);
    assert_eq!(again.requests.dry_runs(), again.objects.len());
    assert_eq!(
        cluster.requests().total(),
        connected.total() + first.requests.total() + again.requests.total()
    );
}

#[tokio::test]
async fn members_of_kinds_only_the_parent_lists_are_found_and_pruned() {
    let h = Harness::mock().await;
    for t in ResourceType::flux() {
        h.mock_server().add_resource(t);
    }
    let r = h.render(&h.deployment());
    let flux = DeployOptions {
        release: ReleaseMode::Flux,
        skip_release: false,
        ..h.options()
    };
    h.deploy(&r, &flux).await.unwrap();
    // Back to objects only: the Flux kinds are no longer planned, only the parent lists them.
    h.mock_server().clear_requests();
    let mut options = h.options();
    options.prune = true;
    let report = h.deploy(&r, &options).await.unwrap();
    let pruned: BTreeSet<&str> = report
        .objects
        .iter()
        .filter(|(_, a)| *a == Action::Pruned)
        .map(|(o, _)| o.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        pruned,
        BTreeSet::from(["HelmRelease", "HelmRepository"]),
        "{report}"
    );
    let requests = h.mock_server().requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.path.ends_with("/secrets/gh-applyset") && r.method == "GET"),
        "the parent comes from the LIST of Secrets before prune: {:#?}",
        requests.iter().map(|r| r.summary()).collect::<Vec<_>>()
    );
}
