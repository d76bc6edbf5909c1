//! The redis_exporter sidecar of the data pods and the Sentinel pods.
//!
//! It logs in as [`acl::EXPORTER_USER`] with that user's password from its Secret (env, never an
//! argument or a file in the ConfigMap), never as `default` or the operator. With TLS on it dials
//! its own process at the pod's DNS name (the name the certificate carries) with the CA and the
//! pod's key pair; without TLS it dials the loopback address.

use gatehouse_model::acl::{self, EXPORTER_CONFIG_COMMAND};
use gatehouse_model::{Deployment, SecretRole};
use k8s_openapi::api::core::v1::{Container, ContainerPort, ResourceRequirements};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::helm::{pod_name_env, secret_env};
use crate::names::{Names, paths};
use crate::objects::{TLS_CA_KEY, TLS_CERT_KEY, TLS_PRIVATE_KEY};

/// Name of the sidecar container in both kinds of Redis pods.
pub const CONTAINER: &str = "exporter";
/// Port of the exporter's `/metrics` endpoint (redis_exporter's default).
pub const PORT: u16 = 9121;
/// Name of that container port (what the `PodMonitor`s scrape).
pub const PORT_NAME: &str = "metrics";
/// The variable the exporter reads its password from (redis_exporter's own name for it); it holds
/// the exporter user's password, from that user's Secret.
pub const PASSWORD_VARIABLE: &str = "REDIS_PASSWORD";

/// Which process the sidecar scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The data node of its pod.
    DataNode,
    /// The Sentinel of its pod.
    Sentinel,
}

/// The sidecar container for a pod of `target`'s StatefulSet.
pub(crate) fn sidecar(d: &Deployment, names: &Names, target: Target) -> Container {
    let (port, service) = match target {
        Target::DataNode => (names.redis_port, &names.data_service),
        Target::Sentinel => (names.sentinel_port, &names.sentinel_service),
    };
    let tls = names.tls_secret.is_some();
    let address = if tls {
        format!(
            "rediss://$(POD_NAME).{}:{port}",
            names.service_host(service)
        )
    } else {
        format!("redis://127.0.0.1:{port}")
    };
    let mut args = vec![
        format!("--redis.addr={address}"),
        format!("--redis.user={}", acl::EXPORTER_USER),
        format!("--config-command={EXPORTER_CONFIG_COMMAND}"),
        format!("--web.listen-address=:{PORT}"),
    ];
    let mut env = Vec::new();
    if tls {
        let file = |key: &str| format!("{}/{key}", paths::TLS);
        args.push(format!("--tls-ca-cert-file={}", file(TLS_CA_KEY)));
        args.push(format!("--tls-client-cert-file={}", file(TLS_CERT_KEY)));
        args.push(format!("--tls-client-key-file={}", file(TLS_PRIVATE_KEY)));
        env.push(pod_name_env());
    }
    let secret = d
        .secret_key_ref(SecretRole::ExporterPassword)
        .expect("an exporter is rendered only while its password has a source");
    env.push(secret_env(PASSWORD_VARIABLE, &secret));
    let quantity = |cpu: &str, memory: &str| {
        std::collections::BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])
    };
    Container {
        name: CONTAINER.into(),
        image: Some(d.metrics.exporter.image.reference()),
        args: Some(args),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: PORT.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        resources: Some(ResourceRequirements {
            requests: Some(quantity("10m", "16Mi")),
            limits: Some(quantity("100m", "64Mi")),
            ..Default::default()
        }),
        security_context: Some(crate::objects::container_security()),
        ..Default::default()
    }
}
