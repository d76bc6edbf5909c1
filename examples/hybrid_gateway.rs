//! The guide's hybrid gateway, corrected, with metrics and TLS on every Redis link, written in
//! Rust: prints the rendered objects and Helm values. The same deployment as
//! `examples/hybrid-gateway.yaml` (the production preset); `cargo xtask render` without a config
//! renders the guide's, without either.
//!
//! Run: `cargo run -p gatehouse-examples --bin hybrid-gateway`

use gatehouse_model::presets::{GUIDE_PLUGIN_URLS, PRODUCTION_RUNBOOK_URL};
use gatehouse_model::{Deployment, SecretSource, TlsCertificateSource};
use gatehouse_render::{Format, render};

fn main() {
    let deployment = Deployment::default()
        .with_namespace("gravitee-apim")
        .with_redis_replicas(2)
        .with_redis_password(SecretSource::Env {
            variable: "GATEHOUSE_REDIS_PASSWORD".into(),
        })
        .with_gateway_version("4.9.0")
        // Metrics and alerts: exporter sidecars and Prometheus Operator objects.
        .with_metrics(true);
    // The guide's plugin list; add `Some(sha256)` to have a plugin verified before start.
    let deployment = GUIDE_PLUGIN_URLS
        .iter()
        .fold(deployment, |deployment, url| {
            deployment.with_plugin(*url, None)
        });
    // TLS on every Redis and Sentinel link, certificate from an existing Secret.
    let mut deployment = deployment;
    // Each alert links its runbook: your copy of README.md's "Monitoring" section.
    deployment.metrics.runbook_url = Some(PRODUCTION_RUNBOOK_URL.into());
    deployment.redis.tls.enabled = true;
    deployment.redis.tls.certificate = Some(TlsCertificateSource::Secret {
        name: "gravitee-apim-redis-tls".into(),
        client_secret: None,
    });
    let valid = match deployment.validated() {
        Ok(valid) => valid,
        Err(error) => {
            // As the `gatehouse` command prints it: each problem with its field and fix.
            gatehouse::print_error(error);
            std::process::exit(1);
        }
    };
    print!("{}", render(&valid).to_text(Format::Yaml));
}
