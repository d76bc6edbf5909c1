//! Scenarios shared by the mock suite (tests/mock.rs) and the e2e suite (tests/e2e.rs): each takes
//! a [`Harness`] and checks behaviour through the public API and live objects only, so the same
//! code runs against the mock API server and against a real one.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gatehouse_apply::plan::Plan;
use gatehouse_apply::{Action, ApplyError, Cluster, DeployOptions, ReleaseMode, secrets};
use gatehouse_apply_mock::MockApiServer;
use gatehouse_model::Deployment;
use gatehouse_render::Rendered;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

/// Secret values the tests hand to `from: env` sources.
pub fn env(variable: &str) -> Option<String> {
    Some(format!("s3cr3t-{variable}-value"))
}

/// A cluster to run scenarios against.
pub struct Harness {
    pub cluster: Cluster,
    pub client: kube::Client,
    pub namespace: String,
    pub mock: Option<MockApiServer>,
    pub timeout: Duration,
    /// The kubeconfig file the cluster was connected with (mock suite).
    pub kubeconfig: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Against a fresh mock API server, through a kubeconfig file like the CLI.
    pub async fn mock() -> Harness {
        let server = MockApiServer::start();
        let dir = tempfile::tempdir().unwrap();
        let path = server.write_kubeconfig(dir.path());
        let cluster = Cluster::connect(&gatehouse_apply::ConnectOptions {
            kubeconfig: Some(path.clone()),
            context: None,
        })
        .await
        .unwrap();
        let client = client_for(Some(path.clone())).await;
        server.clear_requests();
        Harness {
            cluster,
            client,
            namespace: "gh-test".into(),
            mock: Some(server),
            timeout: Duration::from_secs(10),
            kubeconfig: path,
            _dir: dir,
        }
    }

    /// Against the cluster of `KUBECONFIG` when `GATEHOUSE_E2E=1`, in a fresh namespace.
    pub async fn e2e(test: &str) -> Option<Harness> {
        if std::env::var("GATEHOUSE_E2E").as_deref() != Ok("1") {
            eprintln!(
                "skipping e2e `{test}`: set GATEHOUSE_E2E=1 and KUBECONFIG (a disposable cluster, e.g. `kind create cluster`) to run it"
            );
            return None;
        }
        let cluster = Cluster::connect(&Default::default())
            .await
            .expect("GATEHOUSE_E2E=1 needs a reachable cluster in KUBECONFIG");
        let client = client_for(None).await;
        let suffix: u32 = rand::random::<u32>() % 100_000;
        Some(Harness {
            cluster,
            client,
            namespace: format!("gh-e2e-{test}-{suffix}").replace('_', "-"),
            mock: None,
            timeout: Duration::from_secs(300),
            kubeconfig: std::env::var_os("KUBECONFIG").unwrap_or_default().into(),
            _dir: tempfile::tempdir().unwrap(),
        })
    }

    /// The mock server (mock suite only).
    pub fn mock_server(&self) -> &MockApiServer {
        self.mock.as_ref().expect("mock suite")
    }

    /// The model used by the scenarios, with an optional change.
    pub fn deployment(&self) -> Deployment {
        let mut d = Deployment::guide_example();
        d.namespace = self.namespace.clone();
        d.name = "gh".into();
        d
    }

    /// Renders a model.
    pub fn render(&self, d: &Deployment) -> Rendered {
        gatehouse_render::render(&d.clone().validated().expect("valid model"))
    }

    /// Deploy options: objects only (no gateway release), no progress events.
    pub fn options(&self) -> DeployOptions {
        DeployOptions {
            timeout: self.timeout,
            skip_release: true,
            ..Default::default()
        }
    }

    pub async fn deploy(
        &self,
        r: &Rendered,
        o: &DeployOptions,
    ) -> Result<gatehouse_apply::DeployReport, ApplyError> {
        self.cluster.deploy_with_env(r, o, &env).await
    }

    /// `Kind ns/name` → resourceVersion of every object the plan writes that exists.
    pub async fn resource_versions(&self, r: &Rendered) -> BTreeMap<String, String> {
        let actions = secrets::plan_secrets(&r.secrets, &env, &mut Default::default()).unwrap();
        let plan = Plan::new(r, actions, ReleaseMode::Helm);
        let mut out = BTreeMap::new();
        for d in &plan.objects {
            if let Some(live) = self.live(d.kind, d.namespace(), d.name()).await {
                out.insert(
                    d.display(),
                    live["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
        out
    }

    pub async fn live(
        &self,
        kind: &gatehouse_apply::KindInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let ar = kind.api_resource();
        let api: Api<DynamicObject> = match namespace {
            Some(ns) if kind.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        };
        api.get_opt(name)
            .await
            .unwrap()
            .map(|o| serde_json::to_value(o).unwrap())
    }
}

async fn client_for(kubeconfig: Option<std::path::PathBuf>) -> kube::Client {
    let config = match kubeconfig {
        Some(path) => {
            let k = kube::config::Kubeconfig::read_from(path).unwrap();
            kube::Config::from_custom_kubeconfig(k, &Default::default())
                .await
                .unwrap()
        }
        None => kube::Config::infer().await.unwrap(),
    };
    kube::Client::try_from(config).unwrap()
}

/// The objects whose rendered JSON differs between two renders.
pub fn changed_objects(a: &Rendered, b: &Rendered) -> BTreeSet<String> {
    let key = |r: &Rendered| -> BTreeMap<String, Value> {
        r.objects
            .iter()
            .map(|o| {
                let name = match o.namespace() {
                    Some(ns) => format!("{} {ns}/{}", o.kind(), o.name()),
                    None => format!("{} {}", o.kind(), o.name()),
                };
                (name, o.to_json())
            })
            .collect()
    };
    let (ka, kb) = (key(a), key(b));
    ka.keys()
        .chain(kb.keys())
        .filter(|k| ka.get(*k) != kb.get(*k))
        .cloned()
        .collect()
}

/// Deploy, re-deploy without change (nothing written, resourceVersions equal), change one value
/// (only the objects whose rendering changed get a new resourceVersion).
pub async fn deploy_redeploy_change(h: &Harness) {
    let d1 = h.deployment();
    let r1 = h.render(&d1);
    let first = h.deploy(&r1, &h.options()).await.unwrap();
    assert!(
        first.objects.iter().all(|(_, a)| *a == Action::Created),
        "{first}"
    );
    let rv1 = h.resource_versions(&r1).await;
    assert_eq!(rv1.len(), first.objects.len(), "{rv1:?}");

    let second = h.deploy(&r1, &h.options()).await.unwrap();
    assert!(
        second.objects.iter().all(|(_, a)| *a == Action::Unchanged),
        "{second}"
    );
    assert_eq!(h.resource_versions(&r1).await, rv1);

    let mut d2 = d1.clone();
    d2.redis.sentinel.down_after_milliseconds += 1000;
    let r2 = h.render(&d2);
    let expected = changed_objects(&r1, &r2);
    assert!(!expected.is_empty());
    let third = h.deploy(&r2, &h.options()).await.unwrap();
    let configured: BTreeSet<String> = third
        .objects
        .iter()
        .filter(|(_, a)| *a == Action::Configured)
        .map(|(o, _)| o.clone())
        .collect();
    assert_eq!(configured, expected, "{third}");
    let rv3 = h.resource_versions(&r2).await;
    let bumped: BTreeSet<String> = rv3
        .iter()
        .filter(|(k, v)| rv1.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(bumped, expected);
}

/// An object dropped from the rendering stays without `--prune` and is deleted with it; the
/// parent's group-kinds then shrink to what is rendered.
pub async fn prune_removed_object(h: &Harness) {
    let r1 = h.render(&h.deployment());
    h.deploy(&r1, &h.options()).await.unwrap();
    let mut r2 = r1.clone();
    let index = r2
        .objects
        .iter()
        .position(|o| o.kind() == "PodDisruptionBudget")
        .expect("a PDB is rendered");
    let removed = r2.objects.remove(index);
    let pdb = gatehouse_apply::KindInfo::of("policy/v1", "PodDisruptionBudget").unwrap();

    let kept = h.deploy(&r2, &h.options()).await.unwrap();
    assert!(
        !kept.objects.iter().any(|(_, a)| *a == Action::Pruned),
        "{kept}"
    );
    assert!(
        h.live(pdb, removed.namespace(), removed.name())
            .await
            .is_some()
    );

    let mut options = h.options();
    options.prune = true;
    let pruned = h.deploy(&r2, &options).await.unwrap();
    let names: Vec<&String> = pruned
        .objects
        .iter()
        .filter(|(_, a)| *a == Action::Pruned)
        .map(|(o, _)| o)
        .collect();
    assert_eq!(names.len(), 1, "{pruned}");
    assert!(names[0].contains(removed.name()));
    assert!(
        h.live(pdb, removed.namespace(), removed.name())
            .await
            .is_none()
    );
    // Every other object is still there.
    let rvs = h.resource_versions(&r2).await;
    assert_eq!(rvs.len(), pruned.objects.len() - 1);
}

/// Destroy deletes every member and the parent, keeps the Namespace.
pub async fn destroy_everything(h: &Harness) {
    let r = h.render(&h.deployment());
    h.deploy(&r, &h.options()).await.unwrap();
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
    h.deploy(&r, &h.options()).await.unwrap();
    other_manager_setup(h, &r).await;
    let err = h.deploy(&r, &h.options()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("other-tool"), "{text}");
    assert!(text.contains("--force"), "{text}");
    let mut options = h.options();
    options.force = true;
    h.deploy(&r, &options).await.unwrap();
}
