//! The shared scenarios against a real API server (`KUBECONFIG`), run only with `GATEHOUSE_E2E=1`
//! (no API server can run in CI here; the mock suite in tests/mock.rs covers the same scenarios).
//! Each test deploys into a fresh namespace and deletes it afterwards. The gateway release is
//! skipped (it needs the Gravitee chart repository and a license); the Redis StatefulSets are
//! waited for, so the cluster must be able to pull the Redis image and provision volumes.

mod scenarios;

use kube::api::{Api, DeleteParams, Patch, PatchParams};
use scenarios::Harness;

async fn cleanup(h: &Harness) {
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(h.client.clone());
    let _ = namespaces
        .delete(&h.namespace, &DeleteParams::default())
        .await;
}

#[tokio::test]
async fn e2e_deploy_redeploy_change() {
    let Some(h) = Harness::e2e("deploy").await else {
        return;
    };
    scenarios::deploy_redeploy_change(&h).await;
    cleanup(&h).await;
}

#[tokio::test]
async fn e2e_prune_removed_object() {
    let Some(h) = Harness::e2e("prune").await else {
        return;
    };
    scenarios::prune_removed_object(&h).await;
    cleanup(&h).await;
}

#[tokio::test]
async fn e2e_destroy_everything() {
    let Some(h) = Harness::e2e("destroy").await else {
        return;
    };
    scenarios::destroy_everything(&h).await;
    cleanup(&h).await;
}

#[tokio::test]
async fn e2e_conflict_is_reported() {
    let Some(h) = Harness::e2e("conflict").await else {
        return;
    };
    scenarios::conflict_is_reported(&h, async |h, r| {
        let cm = r.objects.iter().find(|o| o.kind() == "ConfigMap").unwrap();
        let api: Api<k8s_openapi::api::core::v1::ConfigMap> =
            Api::namespaced(h.client.clone(), &h.namespace);
        let body = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
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
    cleanup(&h).await;
}
