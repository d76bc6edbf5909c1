//! A production deployment: five Sentinels, three replicas, TLS on every Redis link, secrets from
//! existing Kubernetes Secrets, a checksum-verified plugin, a bounded write-loss window, metrics and
//! alerts (needs the Prometheus Operator) and a larger gateway.
//! Writes `manifests/*.yaml` and `values.yaml` into the directory given as first argument.
//!
//! Run: `cargo run -p gatehouse-examples --bin production -- out/`

use gatehouse_model::{
    DataVolume, Deployment, MinReplicasToWrite, Resources, SecretSource, ServiceType,
    TlsCertificateSource,
};
use gatehouse_render::render;

fn main() {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: production <output directory>");
        std::process::exit(2);
    };
    let mut d = Deployment::default().with_namespace("apim-prod");
    d.redis.replicas = 3;
    d.redis.sentinel.count = 5;
    d.redis.password = SecretSource::ExistingSecret {
        name: "redis-auth".into(),
        key: "password".into(),
    };
    d.redis.persistence.volume = DataVolume::Persistent {
        size: "20Gi".into(),
        storage_class: Some("fast-ssd".into()),
    };
    d.redis.min_replicas_to_write = Some(
        MinReplicasToWrite::default()
            .with_replicas(1)
            .with_max_lag_seconds(10),
    );
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(TlsCertificateSource::Secret {
        name: "redis-tls".into(),
        client_secret: None,
    });
    d.metrics.enabled = true;
    // Where the team keeps the runbooks each alert links to (a heading per alert).
    d.metrics.runbook_url = Some("https://wiki.example.com/ops/gatehouse-runbooks#".into());
    d.gateway.replicas = 3;
    d.gateway.service.service_type = ServiceType::ClusterIP;
    d.gateway.resources = Resources::default()
        .with_request_cpu("1")
        .with_request_memory("2Gi")
        .with_limit_cpu("2")
        .with_limit_memory("2Gi");
    d.gateway.license_key = Some(SecretSource::ExistingSecret {
        name: "gravitee-license".into(),
        key: "license-key".into(),
    });
    d.gateway.cloud_token = SecretSource::ExistingSecret {
        name: "gravitee-cloud".into(),
        key: "token".into(),
    };
    let d = d.with_plugin(
        "https://plugins.example.com/gravitee-policy-jwt-6.2.0.zip",
        Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    );
    let valid = d.validated().unwrap_or_else(|error| {
        // As the `gatehouse` command prints it: each problem with its field and fix.
        gatehouse::print_error(error);
        std::process::exit(1);
    });
    let files = render(&valid).files();
    for (name, text) in &files {
        let path = std::path::Path::new(&out).join(name);
        std::fs::create_dir_all(path.parent().expect("files live in a directory"))
            .and_then(|()| std::fs::write(&path, text))
            .unwrap_or_else(|source| {
                gatehouse::print_error(gatehouse::Error::Io {
                    action: "write",
                    path: path.clone(),
                    source,
                });
                std::process::exit(1);
            });
    }
    println!("wrote {} files to {out}", files.len());
}
