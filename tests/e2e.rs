//! The day-two scenarios (tests/scenarios) against the mock API server, always; and against the
//! real API server of `KUBECONFIG` too when `GATEHOUSE_E2E=1` (a disposable cluster: a bare
//! kube-apiserver with etcd and kube-controller-manager is enough, no kubelet needed). Each real
//! run uses a fresh `gh-e2e-*` namespace, deleted afterwards even when the scenario fails.

mod scenarios;

use gatehouse_apply_mock::Failure;
use kube::api::{Api, Patch, PatchParams};
use scenarios::Harness;
use serde_json::json;

/// Whether to run against the real API server as well.
fn real_server() -> bool {
    let wanted = std::env::var("GATEHOUSE_E2E").as_deref() == Ok("1");
    if !wanted {
        eprintln!(
            "mock API server only: set GATEHOUSE_E2E=1 and KUBECONFIG (a disposable cluster) to run this scenario against a real API server too"
        );
    }
    wanted
}

#[tokio::test]
async fn setting_change_rolls_pods() {
    scenarios::setting_change_rolls_pods(&Harness::mock_never_ready().await).await;
    if real_server() {
        scenarios::setting_change_rolls_pods(&Harness::real("rolls").await).await;
    }
}

#[tokio::test]
async fn second_deployment_is_refused() {
    scenarios::second_deployment_is_refused(&Harness::mock_never_ready().await).await;
    if real_server() {
        scenarios::second_deployment_is_refused(&Harness::real("second").await).await;
    }
}

#[tokio::test]
async fn prune_with_pods_not_ready() {
    scenarios::prune_with_pods_not_ready(&Harness::mock_never_ready().await).await;
    if real_server() {
        scenarios::prune_with_pods_not_ready(&Harness::real("prune").await).await;
    }
}

#[tokio::test]
async fn destroy_everything() {
    scenarios::destroy_everything(&Harness::mock_never_ready().await).await;
    if real_server() {
        scenarios::destroy_everything(&Harness::real("destroy").await).await;
    }
}

#[tokio::test]
async fn conflict_is_reported() {
    let h = Harness::mock_never_ready().await;
    scenarios::conflict_is_reported(&h, async |h, r| {
        let server = h.mock.as_ref().expect("the mock suite");
        let cm = r.objects.iter().find(|o| o.kind() == "ConfigMap").unwrap();
        let path = format!(
            "/api/v1/namespaces/{}/configmaps/{}",
            h.namespace,
            cm.name()
        );
        server.fail(Failure::conflict(
            &path,
            "other-tool",
            &[".data.redis.conf"],
        ));
        // Another manager changed a field (as on a real server, the object keeps its labels).
        let mut live = server.get(&path).unwrap();
        live["data"]["redis.conf"] = json!("changed by someone else");
        live["metadata"]["managedFields"]
            .as_array_mut()
            .unwrap()
            .push(json!({"manager": "other-tool", "operation": "Apply"}));
        server.insert(live);
    })
    .await;
    if real_server() {
        let h = Harness::real("conflict").await;
        scenarios::conflict_is_reported(&h, async |h, r| {
            let cm = r.objects.iter().find(|o| o.kind() == "ConfigMap").unwrap();
            let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
                Api::namespaced(h.client.clone(), &h.namespace);
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": cm.name(), "namespace": h.namespace},
                "data": {"redis.conf": "owned by other-tool"}});
            api.patch(
                cm.name(),
                &PatchParams::apply("other-tool").force(),
                &Patch::Apply(&body),
            )
            .await
            .unwrap();
        })
        .await;
    }
}
