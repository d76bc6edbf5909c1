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
use std::process::ExitCode;
use std::time::Duration;

use gatehouse::prelude::*;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut connect = ConnectOptions::default();
    let mut dry_run = false;
    let mut namespace = "gravitee-apim".to_string();
    while let Some(arg) = args.next() {
        match (arg.as_str(), &mut namespace) {
            ("--kubeconfig", _) => connect.kubeconfig = args.next().map(PathBuf::from),
            ("--namespace", namespace) => match args.next() {
                Some(value) => *namespace = value,
                None => return usage("--namespace needs a value"),
            },
            ("--dry-run", _) => dry_run = true,
            (other, _) => return usage(&format!("unknown argument {other}")),
        }
    }
    match deploy(connect, dry_run, namespace) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            // As the `gatehouse` command prints it: the message, each problem with its fix.
            gatehouse::print_error(error);
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("{problem}\nusage: deploy [--kubeconfig FILE] [--namespace NAME] [--dry-run]");
    ExitCode::from(2)
}

fn deploy(
    connect: ConnectOptions,
    dry_run: bool,
    namespace: String,
) -> Result<DeployReport, gatehouse::Error> {
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
    let runtime = tokio::runtime::Runtime::new().map_err(gatehouse::Error::Runtime)?;
    let report = runtime.block_on(async {
        let cluster = Cluster::connect(&connect).await?;
        cluster.deploy(&rendered, &options).await
    })?;
    Ok(report)
}
