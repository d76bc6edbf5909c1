//! Deploys the hybrid gateway from Rust through the `gatehouse` crate alone: build the model,
//! validate it, render it, connect like kubectl, deploy with progress events, print the report.
//!
//! Run (a cluster in KUBECONFIG, `helm` on PATH, the secret values in the environment):
//!
//! ```sh
//! export GATEHOUSE_REDIS_PASSWORD=... GRAVITEE_LICENSE_KEY=... GRAVITEE_CLOUD_TOKEN=...
//! cargo run -p gatehouse-examples --bin deploy -- [--kubeconfig FILE] [--dry-run]
//! ```
//!
//! The tests run it against the mock API server with a fake `helm`; with `GATEHOUSE_E2E=1`
//! against the cluster of `KUBECONFIG`.

use std::path::PathBuf;
use std::time::Duration;

use gatehouse::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut connect = ConnectOptions::default();
    let mut dry_run = false;
    let mut namespace = "gravitee-apim".to_string();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--kubeconfig" => connect.kubeconfig = args.next().map(PathBuf::from),
            "--namespace" => namespace = args.next().ok_or("--namespace needs a value")?,
            "--dry-run" => dry_run = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }

    let deployment = Deployment::default()
        .with_namespace(namespace)
        .with_redis_replicas(2)
        .with_redis_password(SecretSource::Env {
            variable: "GATEHOUSE_REDIS_PASSWORD".into(),
        })
        .with_gateway_version("4.9.0");
    // Every problem at once, each naming the field and the fix.
    let valid = deployment.validated()?;
    let rendered = render(&valid);

    let options = DeployOptions {
        dry_run,
        timeout: Duration::from_secs(300),
        // The library draws nothing; this program prints each event as a line.
        events: Some(EventSink::new(|event| eprintln!("{event}"))),
        ..Default::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime.block_on(async {
        let cluster = Cluster::connect(&connect).await?;
        cluster.deploy(&rendered, &options).await
    })?;
    print!("{report}");
    Ok(())
}
