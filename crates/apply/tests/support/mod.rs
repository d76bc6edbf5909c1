//! What the crate's tests against the mock API server share: a fresh server, a cluster connected
//! through a kubeconfig file like the CLI, and the guide's model in namespace `gh-test`. (The
//! scenarios that also run against a real API server live in the top-level `tests/` package.)
#![allow(dead_code)]

use std::time::Duration;

use gatehouse_apply::{ApplyError, Cluster, DeployOptions, DeployReport};
use gatehouse_apply_mock::MockApiServer;
use gatehouse_model::Deployment;
use gatehouse_render::Rendered;

/// Secret values the tests hand to `from: env` sources.
pub fn env(variable: &str) -> Option<String> {
    Some(format!("s3cr3t-{variable}-value"))
}

/// A mock API server and a cluster connected to it.
pub struct Harness {
    pub cluster: Cluster,
    pub namespace: String,
    pub mock: MockApiServer,
    /// The kubeconfig file the cluster was connected with.
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
        server.clear_requests();
        Harness {
            cluster,
            namespace: "gh-test".into(),
            mock: server,
            kubeconfig: path,
            _dir: dir,
        }
    }

    /// The mock server.
    pub fn mock_server(&self) -> &MockApiServer {
        &self.mock
    }

    /// The guide's model in this namespace, named `gh`.
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
            timeout: Duration::from_secs(10),
            skip_release: true,
            ..Default::default()
        }
    }

    pub async fn deploy(
        &self,
        r: &Rendered,
        o: &DeployOptions,
    ) -> Result<DeployReport, ApplyError> {
        self.cluster.deploy_with_env(r, o, &env).await
    }
}
