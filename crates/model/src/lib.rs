//! The whole gatehouse deployment as Rust values: a Gravitee hybrid gateway and the highly available
//! Redis (master, replicas, Sentinels) it uses for rate limiting.
//!
//! The model is plain data (serde, schemars). [`Deployment::validate`] returns every problem at once,
//! each with its field path and the fix; [`Deployment::validated`] turns a model without errors into a
//! [`ValidDeployment`], the only input the renderer accepts.
//!
//! ```
//! use gatehouse_model::Deployment;
//! let deployment = Deployment::default().with_namespace("apim-prod").with_redis_replicas(2);
//! let valid = deployment.validated().expect("the defaults are valid");
//! assert_eq!(valid.namespace, "apim-prod");
//! ```

#[cfg(feature = "proptest")]
pub mod arbitrary;
mod config;
mod gateway;
mod redis;
mod resources;
mod secret;
mod validate;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use config::{ConfigError, from_yaml_str, json_schema, load_yaml_str, place_in_file};
pub use gateway::{
    EnvVar, Gateway, GatewayImage, GatewayService, GatewayServices, Plugin, PullPolicy, Reporters,
    ServiceType,
};
pub use redis::{ContainerImage, DataVolume, MinReplicasToWrite, Persistence, Redis, Sentinel};
pub use resources::{CpuMemory, Resources, parse_quantity};
pub use secret::{SecretKeyRef, SecretRole, SecretSource};
pub use validate::{Problem, Severity, ValidDeployment, ValidationError};

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

/// One deployment: a namespace holding the Redis/Sentinel group and the gateway that uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Deployment {
    /// Namespace of every object (`gravitee-apim`).
    pub namespace: String,
    /// Prefix of the Redis objects' names (`gravitee-apim` gives `gravitee-apim-redis`, ...).
    pub name: String,
    /// The Redis data nodes and Sentinels.
    pub redis: Redis,
    /// The gateway.
    pub gateway: Gateway,
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            namespace: "gravitee-apim".into(),
            name: "gravitee-apim".into(),
            redis: Redis::default(),
            gateway: Gateway::default(),
        }
    }
}

impl Deployment {
    /// Sets the namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the number of Redis replicas beside the master.
    pub fn with_redis_replicas(mut self, replicas: u32) -> Self {
        self.redis.replicas = replicas;
        self
    }

    /// Sets the Redis password source.
    pub fn with_redis_password(mut self, source: SecretSource) -> Self {
        self.redis.password = source;
        self
    }

    /// Sets the gateway version (image tag and chart version).
    pub fn with_gateway_version(mut self, version: impl Into<String>) -> Self {
        self.gateway.version = version.into();
        self
    }

    /// Adds a gateway plugin, optionally with its expected SHA-256.
    pub fn with_plugin(mut self, url: impl Into<String>, sha256: Option<&str>) -> Self {
        self.gateway.plugins.push(Plugin {
            url: url.into(),
            sha256: sha256.map(str::to_owned),
        });
        self
    }

    /// The source of one secret, if the deployment uses that secret.
    pub fn secret_source(&self, role: SecretRole) -> Option<&SecretSource> {
        match role {
            SecretRole::RedisPassword => Some(&self.redis.password),
            SecretRole::LicenseKey => self.gateway.license_key.as_ref(),
            SecretRole::CloudToken => Some(&self.gateway.cloud_token),
        }
    }

    /// The Secret key that holds one secret: the existing Secret, or the one gatehouse manages
    /// (`<name>-<role suffix>`). This is the single place both Redis and the gateway take it from.
    pub fn secret_key_ref(&self, role: SecretRole) -> Option<SecretKeyRef> {
        Some(match self.secret_source(role)? {
            SecretSource::ExistingSecret { name, key } => SecretKeyRef {
                name: name.clone(),
                key: key.clone(),
            },
            SecretSource::Env { .. } | SecretSource::Generated => SecretKeyRef {
                name: format!("{}-{}", self.name, role.managed_secret_suffix()),
                key: role.managed_secret_key().to_string(),
            },
        })
    }

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
}
