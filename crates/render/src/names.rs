//! Every name, label, host and port derived from the model, computed in one place.
//!
//! Objects, config files and Helm values all take these from here, so a Service selector always
//! matches its pods and the gateway always points at the Service that exists.

use std::collections::BTreeMap;

use gatehouse_model::{Deployment, TlsCertificateSource, TlsClientAuth};

/// Label keys and values gatehouse puts on the objects it renders.
pub mod labels {
    /// `app.kubernetes.io/name`.
    pub const NAME: &str = "app.kubernetes.io/name";
    /// `app.kubernetes.io/instance`.
    pub const INSTANCE: &str = "app.kubernetes.io/instance";
    /// `app.kubernetes.io/component`.
    pub const COMPONENT: &str = "app.kubernetes.io/component";
    /// `app.kubernetes.io/managed-by`.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    /// Value of `app.kubernetes.io/name` on the Redis objects.
    pub const REDIS: &str = "redis";
    /// Component of the data nodes.
    pub const DATA: &str = "data";
    /// Component of the Sentinels.
    pub const SENTINEL: &str = "sentinel";
    /// Value of `app.kubernetes.io/managed-by`.
    pub const GATEHOUSE: &str = "gatehouse";
    /// `app.kubernetes.io/name` the Gravitee chart puts on its pods.
    pub const GRAVITEE_CHART_NAME: &str = "apim";
    /// `app.kubernetes.io/component` the Gravitee chart puts on gateway pods.
    pub const GRAVITEE_GATEWAY: &str = "gateway";
}

/// Annotation keys gatehouse puts on the objects it renders.
pub mod annotations {
    /// On each Redis pod template: the sha256 of exactly the config that pod consumes (the
    /// ConfigMap entries it mounts and the Secret references, names and keys, of its environment).
    /// A changed setting changes the pod template of the StatefulSet(s) that read it, so Kubernetes
    /// rolls those pods and no other.
    pub const CONFIG_DIGEST: &str = "gatehouse/config-sha256";
    /// On each Redis pod template and the gateway's (`gateway.podAnnotations`), set at deploy
    /// time, never rendered: `name=version` of every Secret the pod reads (gatehouse-apply's
    /// `rotation`), so a changed Secret value rolls exactly its readers.
    pub const SECRET_VERSIONS: &str = "gatehouse/secret-versions";
    /// On the gateway's pod template (`gateway.podAnnotations`), set at deploy time, never
    /// rendered: `secret=notAfter` of each TLS Secret the gateway mounts that a cert-manager
    /// `Certificate` writes, from the Certificate's `status.notAfter` when the pods were rolled.
    pub const CERTIFICATES_NOT_AFTER: &str = "gatehouse/certificates-not-after";
}

/// Mount paths and file names shared by the pod specs and the start scripts.
pub mod paths {
    /// Where the ConfigMap with templates and scripts is mounted (read-only).
    pub const TEMPLATES: &str = "/etc/gatehouse";
    /// Writable directory holding the final config (emptyDir for data nodes, a volume for Sentinels).
    pub const RUNTIME_CONFIG: &str = "/run/gatehouse";
    /// Data directory of the data nodes (the persistent volume) and of the Sentinels' state.
    pub const DATA: &str = "/data";
    /// Where the TLS Secret is mounted, whole (never with subPath, so that renewed files arrive).
    pub const TLS: &str = "/etc/gatehouse-tls";
}

/// Names and addresses derived from one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// Namespace of every object.
    pub namespace: String,
    /// Prefix of the Redis objects.
    pub instance: String,
    /// StatefulSet of the data nodes.
    pub data_statefulset: String,
    /// Headless Service giving the data pods stable names.
    pub data_service: String,
    /// StatefulSet of the Sentinels.
    pub sentinel_statefulset: String,
    /// Headless Service of the Sentinels (the gateway's entry point).
    pub sentinel_service: String,
    /// ConfigMap holding redis.conf, sentinel.conf and the scripts.
    pub config_map: String,
    /// ServiceAccount of the Redis pods.
    pub service_account: String,
    /// NetworkPolicy guarding the Redis pods.
    pub network_policy: String,
    /// Number of data pods.
    pub data_pods: u32,
    /// Number of Sentinel pods.
    pub sentinel_pods: u32,
    /// Port of the data nodes.
    pub redis_port: u16,
    /// Port of the Sentinels.
    pub sentinel_port: u16,
    /// Helm release of the gateway.
    pub gateway_release: String,
    /// Secret holding the Redis group's TLS certificate (`tls.crt`, `tls.key`, `ca.crt`), when TLS
    /// is on.
    pub tls_secret: Option<String>,
    /// Secret holding the gateway's own client certificate (`tls.crt`, `tls.key`), with mutual
    /// TLS only: the gateway never mounts the servers' private key.
    pub tls_client_secret: Option<String>,
}

impl Names {
    /// Derives every name from the model.
    pub fn of(d: &Deployment) -> Names {
        let instance = d.name.clone();
        Names {
            namespace: d.namespace.clone(),
            data_statefulset: format!("{instance}-redis"),
            data_service: format!("{instance}-redis-data"),
            sentinel_statefulset: format!("{instance}-redis-sentinel"),
            sentinel_service: d.sentinel_service_name(),
            config_map: format!("{instance}-redis"),
            service_account: format!("{instance}-redis"),
            network_policy: format!("{instance}-redis"),
            data_pods: d.redis.data_nodes(),
            sentinel_pods: d.redis.sentinel.count,
            redis_port: d.redis.port,
            sentinel_port: d.redis.sentinel_port(),
            gateway_release: d.gateway_release_name(),
            tls_secret: d.redis.tls.enabled.then(|| match &d.redis.tls.certificate {
                Some(TlsCertificateSource::Secret { name, .. }) => name.clone(),
                // The rendered Certificate's Secret. Validation refuses TLS without a source; a
                // disabled TLS section renders nothing.
                Some(TlsCertificateSource::CertManager { .. }) | None => {
                    format!("{instance}-redis-tls")
                }
            }),
            tls_client_secret: (d.redis.tls.enabled
                && d.redis.tls.client_auth == TlsClientAuth::Required)
                .then(|| match &d.redis.tls.certificate {
                    Some(TlsCertificateSource::Secret {
                        client_secret: Some(client),
                        ..
                    }) => client.clone(),
                    // The rendered client Certificate's Secret (validation requires a
                    // clientSecret for an existing-Secret source).
                    _ => format!("{instance}-redis-tls-gateway"),
                }),
            instance,
        }
    }

    /// The gateway's Deployment, as the chart names it: `<release>-<chart>-<gateway.name>`
    /// (`gravitee.gateway.fullname` of `graviteeio/apim`, with the chart's `gateway.name: gateway`,
    /// which gatehouse never sets).
    pub fn gateway_deployment(&self) -> String {
        crate::helm::gateway_deployment(&self.gateway_release)
    }

    /// `<service>.<namespace>.svc.cluster.local`.
    pub fn service_host(&self, service: &str) -> String {
        format!("{service}.{}.svc.cluster.local", self.namespace)
    }

    /// The host the gateway uses to reach the Sentinels.
    pub fn sentinel_service_host(&self) -> String {
        self.service_host(&self.sentinel_service)
    }

    /// Stable DNS name of data pod `ordinal`.
    pub fn data_pod_host(&self, ordinal: u32) -> String {
        format!(
            "{}-{ordinal}.{}",
            self.data_statefulset,
            self.service_host(&self.data_service)
        )
    }

    /// Stable DNS name of Sentinel pod `ordinal`.
    pub fn sentinel_pod_host(&self, ordinal: u32) -> String {
        format!(
            "{}-{ordinal}.{}",
            self.sentinel_statefulset,
            self.service_host(&self.sentinel_service)
        )
    }

    /// Every name a client dials and may verify against the group's TLS certificate, in a
    /// fixed order: each data pod's and each Sentinel pod's DNS name under its headless Service
    /// (what the Sentinels announce, the gateway dials with hostname verification, and each
    /// pod's `tls_check` looks for at start), then each Service's short, namespaced and full
    /// name. Probes, the pre-stop hook and the scripts dial their own process on the loopback
    /// address without hostname verification (redis-cli and Redis's own links check the CA
    /// only), so neither `localhost` nor an IP address is needed.
    pub fn tls_dns_names(&self) -> Vec<String> {
        let pods = (0..self.data_pods)
            .map(|i| self.data_pod_host(i))
            .chain((0..self.sentinel_pods).map(|i| self.sentinel_pod_host(i)));
        let services = [&self.data_service, &self.sentinel_service]
            .into_iter()
            .flat_map(|service| {
                [
                    service.clone(),
                    format!("{service}.{}", self.namespace),
                    format!("{service}.{}.svc", self.namespace),
                    self.service_host(service),
                ]
            });
        pods.chain(services).collect()
    }

    /// Labels selecting the pods of one Redis component (`data` or `sentinel`).
    pub fn selector(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            (labels::NAME.to_string(), labels::REDIS.to_string()),
            (labels::INSTANCE.to_string(), self.instance.clone()),
            (labels::COMPONENT.to_string(), component.to_string()),
        ])
    }

    /// Labels of the objects of one component: the selector plus `managed-by`.
    pub fn object_labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector(component);
        labels.insert(
            labels::MANAGED_BY.to_string(),
            labels::GATEHOUSE.to_string(),
        );
        labels
    }

    /// Labels that select the gateway pods the Gravitee chart creates for this release.
    pub fn gateway_pod_selector(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                labels::NAME.to_string(),
                labels::GRAVITEE_CHART_NAME.to_string(),
            ),
            (labels::INSTANCE.to_string(), self.gateway_release.clone()),
            (
                labels::COMPONENT.to_string(),
                labels::GRAVITEE_GATEWAY.to_string(),
            ),
        ])
    }
}
