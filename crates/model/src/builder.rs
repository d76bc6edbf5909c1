//! Setters for the fields people change, so a deployment reads as one expression.
//!
//! Every field stays `pub` (and every type has `Default`), so field assignment works as well; the
//! setters only save the nesting.
//!
//! ```
//! use gatehouse_model::{Deployment, Resources, SecretSource, ServiceType};
//! let d = Deployment::default()
//!     .with_namespace("apim-prod")
//!     .with_name("edge")
//!     .with_redis_replicas(2)
//!     .with_sentinels(5)
//!     .with_redis_storage("20Gi", Some("fast-ssd"))
//!     .with_gateway_replicas(3)
//!     .with_gateway_service(ServiceType::ClusterIP, 8082)
//!     .with_gateway_resources(
//!         Resources::default()
//!             .with_request_cpu("1")
//!             .with_request_memory("2Gi")
//!             .with_limit_cpu("2")
//!             .with_limit_memory("2Gi"),
//!     )
//!     .with_cloud_token(SecretSource::Env { variable: "CLOUD_TOKEN".into() })
//!     .with_gateway_env("JAVA_OPTS", "-Xmx1g");
//! assert!(d.validated().is_ok());
//! ```

use crate::{
    ContainerImage, DataVolume, Deployment, EnvVar, Plugin, Resources, SecretSource, ServiceType,
};

impl Deployment {
    /// Turns metrics and alerts on or off (`metrics.enabled`).
    pub fn with_metrics(mut self, on: bool) -> Self {
        self.metrics.enabled = on;
        self
    }

    /// Sets the namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the name every object of this deployment is derived from.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
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

    /// Sets the Redis image (data nodes and Sentinels).
    pub fn with_redis_image(
        mut self,
        repository: impl Into<String>,
        tag: impl Into<String>,
    ) -> Self {
        self.redis.image = ContainerImage {
            repository: repository.into(),
            tag: tag.into(),
        };
        self
    }

    /// A persistent volume of `size` per data node, in `storage_class` (the cluster default when
    /// `None`).
    pub fn with_redis_storage(
        mut self,
        size: impl Into<String>,
        storage_class: Option<&str>,
    ) -> Self {
        self.redis.persistence.volume = DataVolume::Persistent {
            size: size.into(),
            storage_class: storage_class.map(str::to_owned),
        };
        self
    }

    /// CPU and memory of each Redis data node.
    pub fn with_redis_resources(mut self, resources: Resources) -> Self {
        self.redis.resources = resources;
        self
    }

    /// Sets the number of Sentinels (3 or 5).
    pub fn with_sentinels(mut self, count: u32) -> Self {
        self.redis.sentinel.count = count;
        self
    }

    /// Sets the Sentinel quorum (`None`: the majority).
    pub fn with_sentinel_quorum(mut self, quorum: Option<u32>) -> Self {
        self.redis.sentinel.quorum = quorum;
        self
    }

    /// Sets Sentinel's `down-after-milliseconds`.
    pub fn with_down_after_milliseconds(mut self, milliseconds: u32) -> Self {
        self.redis.sentinel.down_after_milliseconds = milliseconds;
        self
    }

    /// CPU and memory of each Sentinel.
    pub fn with_sentinel_resources(mut self, resources: Resources) -> Self {
        self.redis.sentinel.resources = resources;
        self
    }

    /// Sets the gateway version (image tag and chart version).
    pub fn with_gateway_version(mut self, version: impl Into<String>) -> Self {
        self.gateway.version = version.into();
        self
    }

    /// Sets the number of gateway pods.
    pub fn with_gateway_replicas(mut self, replicas: u32) -> Self {
        self.gateway.replicas = replicas;
        self
    }

    /// Turns the gateway's horizontal pod autoscaling on or off.
    pub fn with_gateway_autoscaling(mut self, on: bool) -> Self {
        self.gateway.autoscaling = on;
        self
    }

    /// Sets the type and port of the Service in front of the gateway.
    pub fn with_gateway_service(mut self, service_type: ServiceType, port: u16) -> Self {
        self.gateway.service.service_type = service_type;
        self.gateway.service.port = port;
        self
    }

    /// CPU and memory of each gateway pod.
    pub fn with_gateway_resources(mut self, resources: Resources) -> Self {
        self.gateway.resources = resources;
        self
    }

    /// Adds a plain environment variable to the gateway (never a secret: use the secret sources).
    pub fn with_gateway_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.gateway.env.push(EnvVar {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Adds an annotation to the gateway pods.
    pub fn with_pod_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.gateway
            .pod_annotations
            .insert(key.into(), value.into());
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

    /// Sets where the Gravitee license key comes from (`None`: no license).
    pub fn with_license_key(mut self, source: Option<SecretSource>) -> Self {
        self.gateway.license_key = source;
        self
    }

    /// Sets where the Gravitee Cloud token comes from.
    pub fn with_cloud_token(mut self, source: SecretSource) -> Self {
        self.gateway.cloud_token = source;
        self
    }
}
