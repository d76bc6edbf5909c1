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

pub mod acl;
#[cfg(feature = "proptest")]
pub mod arbitrary;
mod builder;
mod compiled;
mod config;
mod fleet;
mod gateway;
mod metrics;
pub mod presets;
mod redact;
mod redis;
mod resources;
mod secret;
mod serde_helpers;
mod tls;
mod validate;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use acl::{Acl, AclUser, GatewayAccess, OperatorUser};
pub use compiled::VERSION;
pub use config::{
    ConfigError, from_yaml_str, json_schema, load_yaml_str, place_in_file, places_in_file,
};
pub use fleet::{
    Cluster, Delivery, Fleet, FleetConfigError, FleetError, GitOpsSource, KubeConfigSecret,
    Overrides, ValidCluster, ValidFleet, fleet_from_yaml_str, fleet_json_schema,
    load_fleet_yaml_str, merge_overrides,
};
pub use gateway::{
    EnvVar, Gateway, GatewayImage, GatewayService, GatewayServices, Plugin, PullPolicy, Reporters,
    ServiceType,
};
pub use metrics::{Exporter, Metrics, SENTINEL_TILT_SECONDS};
pub use redact::{MAX_SHOWN, shown};
pub use redis::{
    ContainerImage, DataVolume, MinReplicasInForce, MinReplicasToWrite, Persistence, Redis,
    Sentinel,
};
pub use resources::{CpuMemory, Resources, parse_quantity};
pub use secret::{
    RotationStep, SecretKeyRef, SecretRole, SecretSource, TECHNICAL_API_USER, TECHNICAL_USER_KEY,
};
pub use tls::{
    CertificatePrivateKey, ISSUER_REF_FIELD, IssuerKind, IssuerRef, KeyAlgorithm, KeyEncoding,
    KeyRotationPolicy, RedisTls, TlsCertificateSource, TlsClientAuth,
};
pub use validate::{Problem, Severity, ValidDeployment, ValidationError, quorum_at_risk_threshold};

/// One deployment: a namespace holding the Redis/Sentinel group and the gateway that uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Deployment {
    /// Namespace of every object (`gravitee-apim`).
    pub namespace: String,
    /// Prefix of the Redis objects' names (`gravitee-apim` gives `gravitee-apim-redis`, ...).
    pub name: String,
    /// The Redis data nodes and Sentinels.
    pub redis: Redis,
    /// The gateway.
    pub gateway: Gateway,
    /// Metrics and alerts (off by default; needs the Prometheus Operator).
    pub metrics: Metrics,
}

impl Default for Deployment {
    fn default() -> Self {
        Deployment {
            namespace: "gravitee-apim".into(),
            name: "gravitee-apim".into(),
            redis: Redis::default(),
            gateway: Gateway::default(),
            metrics: Metrics::default(),
        }
    }
}

impl Deployment {
    /// Name of the Sentinels' headless Service: `redis.sentinel.serviceName`, or
    /// `<name>-redis-headless`.
    pub fn sentinel_service_name(&self) -> String {
        self.redis
            .sentinel
            .service_name
            .clone()
            .unwrap_or_else(|| format!("{}-redis-headless", self.name))
    }

    /// The gateway's Helm release name: `gateway.releaseName`, or the deployment's `name`.
    pub fn gateway_release_name(&self) -> String {
        self.gateway
            .release_name
            .clone()
            .unwrap_or_else(|| self.name.clone())
    }

    /// The source of one secret, if the deployment uses that secret.
    pub fn secret_source(&self, role: SecretRole) -> Option<&SecretSource> {
        match role {
            SecretRole::RedisPassword => Some(&self.redis.password),
            SecretRole::LicenseKey => self.gateway.license_key.as_ref(),
            SecretRole::CloudToken => Some(&self.gateway.cloud_token),
            SecretRole::ReplicationPassword => Some(&self.redis.acl.replication.password),
            SecretRole::SentinelPassword => Some(&self.redis.acl.sentinel.password),
            SecretRole::SentinelPeerPassword => Some(&self.redis.acl.sentinel_peer.password),
            SecretRole::OperatorPassword => Some(&self.redis.acl.operator.password),
            SecretRole::ExporterPassword => self
                .metrics
                .runs_exporter()
                .then_some(&self.redis.acl.exporter.password),
            SecretRole::GatewayTechnicalPassword => self
                .metrics
                .scrapes_gateway()
                .then_some(&self.metrics.gateway_technical_password),
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

    /// The built-in example; see [`presets::guide_example`] (kept here for existing callers).
    #[doc(hidden)]
    pub fn guide_example() -> Deployment {
        presets::guide_example()
    }
}
