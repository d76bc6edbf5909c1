//! The guide's hybrid gateway, corrected, written in Rust: prints the rendered objects and Helm
//! values. The same deployment as `examples/hybrid-gateway.yaml` and `cargo xtask render`.
//!
//! Run: `cargo run -p gatehouse-examples --bin hybrid-gateway`

use gatehouse_model::{Deployment, SecretSource};
use gatehouse_render::{Format, render};

fn main() {
    let base = "https://internal-s3.company.com/gravitee-plugins";
    let plugins = [
        "gravitee-policy-apikey-5.1.0.zip",
        "gravitee-policy-jwt-6.2.0.zip",
        "gravitee-policy-oauth2-4.0.1.zip",
        "gravitee-policy-ratelimit-3.0.0.zip",
        "gravitee-policy-transformheaders-4.1.2.zip",
        "gravitee-connector-http-5.0.5.zip",
        "gravitee-policy-aws-lambda-3.0.0.zip",
        "gravitee-resource-cache-redis-4.0.1.zip",
        "gravitee-policy-circuit-breaker-1.1.5.zip",
    ];
    let deployment = plugins.iter().fold(
        Deployment::default()
            .with_namespace("gravitee-apim")
            .with_redis_replicas(2)
            .with_redis_password(SecretSource::Env {
                variable: "GATEHOUSE_REDIS_PASSWORD".into(),
            })
            .with_gateway_version("4.9.0"),
        |deployment, file| deployment.with_plugin(format!("{base}/{file}"), None),
    );
    let valid = match deployment.validated() {
        Ok(valid) => valid,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    print!("{}", render(&valid).to_text(Format::Yaml));
}
