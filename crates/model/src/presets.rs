//! Ready-made deployments and the vendor guide's example data, kept out of the model's core API.
//!
//! ```
//! let example = gatehouse_model::presets::guide_example();
//! assert_eq!(example.gateway.plugins.len(), gatehouse_model::presets::GUIDE_PLUGIN_URLS.len());
//! assert!(example.validate().is_empty());
//! ```

use crate::{Deployment, SecretSource, TlsCertificateSource};

/// The plugins the guide installs from an internal S3 bucket.
pub const GUIDE_PLUGIN_URLS: [&str; 9] = [
    "https://internal-s3.company.com/gravitee-plugins/gravitee-policy-apikey-5.1.0.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-policy-jwt-6.2.0.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-policy-oauth2-4.0.1.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-policy-ratelimit-3.0.0.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-policy-transformheaders-4.1.2.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-connector-http-5.0.5.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-policy-aws-lambda-3.0.0.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-resource-cache-redis-4.0.1.zip",
    "https://internal-s3.company.com/gravitee-plugins/gravitee-policy-circuit-breaker-1.1.5.zip",
];

/// The built-in example: the guide's deployment, corrected (two replicas, persistent AOF,
/// Sentinel auth, the guide's plugin list, secrets from the environment).
pub fn guide_example() -> Deployment {
    GUIDE_PLUGIN_URLS
        .iter()
        .fold(Deployment::default(), |deployment, url| {
            deployment.with_plugin(*url, None)
        })
        .with_redis_password(SecretSource::Env {
            variable: "GATEHOUSE_REDIS_PASSWORD".into(),
        })
}

/// The Secret holding the production preset's Redis TLS certificate (`tls.crt`, `tls.key`,
/// `ca.crt`).
pub const PRODUCTION_TLS_SECRET: &str = "gravitee-apim-redis-tls";

/// Where the production preset's alerts link their runbooks: a stand-in for the team's own copy
/// of README.md's "Monitoring" section (replace the host and path with yours).
pub const PRODUCTION_RUNBOOK_URL: &str =
    "https://git.example.com/platform/gatehouse/-/blob/main/README.md#";

/// The production preset: the guide example with metrics and alerts on (they need the Prometheus
/// Operator; runbook links to [`PRODUCTION_RUNBOOK_URL`]) and TLS on every Redis and Sentinel link (certificate from the Secret
/// [`PRODUCTION_TLS_SECRET`], client certificates optional).
/// `examples/hybrid-gateway.yaml` describes exactly this deployment. The guide example itself
/// keeps both off so that its rendering stays comparable with the guide's.
///
/// ```
/// let production = gatehouse_model::presets::production();
/// assert!(production.redis.tls.enabled);
/// assert!(production.validate().is_empty());
/// ```
pub fn production() -> Deployment {
    let mut deployment = guide_example().with_metrics(true);
    deployment.metrics.runbook_url = Some(PRODUCTION_RUNBOOK_URL.into());
    deployment.redis.tls.enabled = true;
    deployment.redis.tls.certificate = Some(TlsCertificateSource::Secret {
        name: PRODUCTION_TLS_SECRET.into(),
        client_secret: None,
    });
    deployment
}
