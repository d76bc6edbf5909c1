//! The one test harness of the apply engine, shared by its own tests (`crates/apply/tests`, on
//! the mock API server) and the day-two scenarios (`tests/scenarios`, on the mock and, with
//! `GATEHOUSE_E2E=1`, on a real API server).
//!
//! A [`Harness`] is a [`Cluster`] connected the way the CLI connects (through a kubeconfig file),
//! a plain kube client for looking at the cluster behind gatehouse's back, the guide's model in
//! the harness's namespace, and deploy options with a test-chosen timeout. On a real API server
//! every harness gets a fresh `gh-e2e-*` namespace that a drop guard deletes, also when the test
//! panics.
//!
//! The crate depends on `gatehouse-apply` and is a dev-dependency of it (Cargo allows that
//! cycle): the apply crate's integration tests and this harness link the same library. Unit tests
//! inside `crates/apply/src` must not use it (they are a different build of the crate).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gatehouse_apply::plan::Plan;
use gatehouse_apply::{
    Action, ApplyError, Cluster, ConnectOptions, DeployOptions, DeployReport, ObjectKind,
    ReleaseMode, secrets,
};
use gatehouse_apply_mock::{MockApiServer, Readiness};
use gatehouse_model::Deployment;
use gatehouse_render::Rendered;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

/// Secret values the tests hand to `from: env` sources.
pub fn env(variable: &str) -> Option<String> {
    Some(format!("s3cr3t-{variable}-value"))
}

/// A cluster to run tests against.
pub struct Harness {
    /// gatehouse's connection.
    pub cluster: Cluster,
    /// A plain kube client of the same cluster.
    pub client: kube::Client,
    /// The namespace of the harness's deployments.
    pub namespace: String,
    /// The mock API server, unless the harness runs against a real one.
    pub mock: Option<MockApiServer>,
    /// The kubeconfig file the cluster was connected with (the mock's; `None` for a real server,
    /// which is `KUBECONFIG`'s).
    pub kubeconfig: Option<PathBuf>,
    /// The wait timeout of every deploy.
    pub timeout: Duration,
    _guard: Option<NamespaceGuard>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Against a fresh mock API server whose workloads become ready as soon as they are applied,
    /// in namespace `gh-test`, with the requests of connecting cleared.
    pub async fn mock() -> Harness {
        Harness::on_mock(Readiness::Immediate, Duration::from_secs(10)).await
    }

    /// Against a fresh mock API server whose workloads never become ready, like a real API
    /// server without a kubelet: every wait times out after one second.
    pub async fn mock_never_ready() -> Harness {
        Harness::on_mock(Readiness::Never, Duration::from_secs(1)).await
    }

    async fn on_mock(readiness: Readiness, timeout: Duration) -> Harness {
        let server = MockApiServer::start();
        server.set_readiness(readiness);
        let dir = tempfile::tempdir().unwrap();
        let path = server.write_kubeconfig(dir.path());
        let cluster = Cluster::connect(&ConnectOptions {
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
            kubeconfig: Some(path),
            timeout,
            _guard: None,
            _dir: dir,
        }
    }

    /// Against the API server of `KUBECONFIG`, in a fresh namespace deleted on drop; waits time
    /// out after five seconds.
    pub async fn real(test: &str) -> Harness {
        let cluster = Cluster::connect(&Default::default())
            .await
            .expect("GATEHOUSE_E2E=1 needs a reachable API server in KUBECONFIG");
        let client = client_for(None).await;
        let suffix: u32 = rand::random::<u32>() % 100_000;
        let namespace = format!("gh-e2e-{test}-{suffix}").replace('_', "-");
        Harness {
            cluster,
            client,
            _guard: Some(NamespaceGuard {
                namespace: namespace.clone(),
            }),
            namespace,
            mock: None,
            kubeconfig: None,
            timeout: Duration::from_secs(5),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The mock server (panics on a real one).
    pub fn mock_server(&self) -> &MockApiServer {
        self.mock
            .as_ref()
            .expect("a harness on the mock API server")
    }

    /// The guide's model in this namespace, named `name`.
    pub fn deployment_named(&self, name: &str) -> Deployment {
        let mut d = Deployment::guide_example();
        d.namespace = self.namespace.clone();
        d.name = name.into();
        // Every Redis ACL user's password from the same variable as the Redis password, so each
        // Secret is written by one server-side apply like every other object (the generated path
        // has its own tests).
        let acl = &mut d.redis.acl;
        for password in [
            &mut acl.replication.password,
            &mut acl.sentinel.password,
            &mut acl.sentinel_peer.password,
            &mut acl.operator.password,
        ] {
            *password = d.redis.password.clone();
        }
        d
    }

    /// The guide's model in this namespace, named `gh`.
    pub fn deployment(&self) -> Deployment {
        self.deployment_named("gh")
    }

    /// Renders a model.
    pub fn render(&self, d: &Deployment) -> Rendered {
        gatehouse_render::render(&d.clone().validated().expect("valid model"))
    }

    /// Deploy options: objects only (no gateway release), the harness's timeout, no events.
    pub fn options(&self) -> DeployOptions {
        DeployOptions {
            timeout: self.timeout,
            skip_release: true,
            ..Default::default()
        }
    }

    /// Deploys with [`env`] as the environment of `from: env` secret sources.
    pub async fn deploy(
        &self,
        r: &Rendered,
        o: &DeployOptions,
    ) -> Result<DeployReport, ApplyError> {
        self.cluster.deploy_with_env(r, o, &env).await
    }

    /// A deploy whose writes (and prune) succeed and whose wait for the StatefulSets times out,
    /// as it must with no pod ever ready: checks the timeout message and returns what was done.
    pub async fn deploy_until_wait(
        &self,
        r: &Rendered,
        o: &DeployOptions,
    ) -> Vec<(String, Action)> {
        let err = self
            .deploy(r, o)
            .await
            .expect_err("no pod can become ready, so the wait must time out");
        let ApplyError::Stopped {
            done,
            not_pruned,
            cause,
        } = err
        else {
            panic!("expected the wait to time out after the writes, got: {err}");
        };
        let text = cause.to_string();
        assert!(matches!(*cause, ApplyError::WaitTimeout { .. }), "{text}");
        assert!(
            text.contains(&format!("not ready after {}s", self.timeout.as_secs()))
                && text.contains(&format!("StatefulSet {}/", self.namespace)),
            "{text}"
        );
        assert!(not_pruned.is_empty(), "{not_pruned:?}");
        done
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

    /// The live object, read with the plain client.
    pub async fn live(
        &self,
        kind: &ObjectKind,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let ar = gatehouse_apply::api_resource(kind);
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

/// Deletes a real-server harness's namespace when dropped (after success or a panic), from its
/// own thread and runtime so that it works while the test's runtime unwinds.
struct NamespaceGuard {
    namespace: String,
}

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        let namespace = self.namespace.clone();
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("a runtime for the cleanup");
            runtime.block_on(async {
                let client = client_for(None).await;
                let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
                api.delete(&namespace, &Default::default())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match deleted {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("cleanup: deleting namespace {} failed: {e}", self.namespace),
            Err(_) => eprintln!("cleanup of namespace {} panicked", self.namespace),
        }
    }
}

/// A plain kube client of the kubeconfig file, or of `KUBECONFIG` / `~/.kube/config`.
async fn client_for(kubeconfig: Option<PathBuf>) -> kube::Client {
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
