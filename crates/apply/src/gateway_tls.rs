//! The TLS Secrets the gateway mounts (the truststore with the group's CA and, with mutual TLS,
//! its client certificate): the gateway reads them once, at start, so a renewal reaches it only
//! when its pods roll.
//!
//! `deploy` reads each Secret's `resourceVersion` (never its data into any output) and puts it in
//! the gateway's [`POD_SECRET_VERSIONS`] with the other Secrets it reads, so a deploy after a
//! renewal rolls the gateway and one with nothing renewed rolls nothing; with a cert-manager
//! `Certificate` writing the Secret, its `status.notAfter` goes into
//! [`POD_CERTIFICATES_NOT_AFTER`], so `status` can say when the certificate a pod runs expires.
//! `status` compares the running pods' annotations with the live Secrets.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::Value;

use gatehouse_render::{KINDS, Rendered};

use crate::rotation::{GatewayReads, POD_SECRET_VERSIONS, held_version};
use crate::secrets::Masker;
use crate::{ApplyError, Cluster, ObjectKind, Verb, plan};

/// Annotation of the gateway's pods (through `gateway.podAnnotations`), set at deploy time:
/// `secret=notAfter` of each mounted Secret a cert-manager `Certificate` writes, as that
/// Certificate's `status.notAfter` said when the pods were rolled.
pub const POD_CERTIFICATES_NOT_AFTER: &str =
    gatehouse_render::names::annotations::CERTIFICATES_NOT_AFTER;

/// The value of `secret` in a `name=value,name=value` pod annotation.
pub fn annotated<'a>(annotation: &'a str, secret: &str) -> Option<&'a str> {
    annotation
        .split(',')
        .find_map(|entry| entry.strip_prefix(secret)?.strip_prefix('='))
}

/// The cert-manager `Certificate` kind.
fn certificate_kind() -> &'static ObjectKind {
    KINDS
        .iter()
        .find(|k| k.kind == "Certificate")
        .expect("Certificate is in the kinds table")
}

/// `secretName -> Certificate name` of the rendered Certificates.
fn certificates_by_secret(objects: &[Value]) -> BTreeMap<String, (String, String)> {
    objects
        .iter()
        .filter(|o| o["kind"] == "Certificate")
        .filter_map(|o| {
            Some((
                o["spec"]["secretName"].as_str()?.to_string(),
                (
                    o["metadata"]["namespace"].as_str()?.to_string(),
                    o["metadata"]["name"].as_str()?.to_string(),
                ),
            ))
        })
        .collect()
}

/// What deploy learned of the mounted Secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mounted {
    /// `(namespace, name) -> resourceVersion` of each mounted Secret that exists.
    pub(crate) versions: BTreeMap<(String, String), String>,
    /// The gateway's [`POD_CERTIFICATES_NOT_AFTER`] value, `None` when no Certificate has
    /// issued one of them yet.
    pub(crate) not_after: Option<String>,
}

impl Cluster {
    /// The live `resourceVersion` of each Secret the gateway mounts (one that does not exist yet,
    /// e.g. before cert-manager first issues it, has none), and the `status.notAfter` of the
    /// Certificates of `objects` that write them.
    pub(crate) async fn mounted_secrets(
        &self,
        reads: &GatewayReads,
        objects: &[Value],
        masker: &Masker,
    ) -> Result<Mounted, ApplyError> {
        let mut mounted = Mounted::default();
        let certificates = certificates_by_secret(objects);
        let mut not_after = Vec::new();
        for name in &reads.mounted {
            if let Some(version) = self
                .resource_version(&reads.namespace, name, masker)
                .await?
            {
                mounted
                    .versions
                    .insert((reads.namespace.clone(), name.clone()), version);
            }
            if let Some((namespace, certificate)) = certificates.get(name)
                && let Some(date) = self.not_after(namespace, certificate, masker).await?
            {
                not_after.push(format!("{name}={date}"));
            }
        }
        mounted.not_after = (!not_after.is_empty()).then(|| not_after.join(","));
        Ok(mounted)
    }

    /// A Secret's `resourceVersion`, `None` when it does not exist. Its data is not looked at.
    async fn resource_version(
        &self,
        namespace: &str,
        name: &str,
        masker: &Masker,
    ) -> Result<Option<String>, ApplyError> {
        let found = self
            .get_object(plan::secret_kind(), Some(namespace), name, masker)
            .await?;
        Ok(found.and_then(|s| {
            s["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string)
        }))
    }

    /// A live Certificate's `status.notAfter`; `None` when it does not exist or has none yet.
    async fn not_after(
        &self,
        namespace: &str,
        name: &str,
        masker: &Masker,
    ) -> Result<Option<String>, ApplyError> {
        let found = self
            .get_object(certificate_kind(), Some(namespace), name, masker)
            .await?;
        Ok(found.and_then(|c| c["status"]["notAfter"].as_str().map(str::to_string)))
    }

    /// For each Secret the gateway of `rendered` mounts: whether its running pods were rolled
    /// with the live Secret. Reads the Secrets' versions, the gateway's Deployment, its pods and
    /// the Certificates; nothing is written.
    pub(crate) async fn gateway_certificates(
        &self,
        rendered: &Rendered,
        masker: &Masker,
    ) -> Result<Vec<GatewayCertificate>, ApplyError> {
        let reads = GatewayReads::of(&rendered.helm);
        if reads.mounted.is_empty() {
            return Ok(Vec::new());
        }
        let objects: Vec<Value> = rendered.objects.iter().map(|o| o.to_json()).collect();
        let live = self.mounted_secrets(&reads, &objects, masker).await?;
        let (pods, problem) = match self.gateway_pods(&reads, masker).await? {
            Ok(pods) => (pods, None),
            Err(problem) => (Vec::new(), Some(problem)),
        };
        Ok(reads
            .mounted
            .iter()
            .map(|name| {
                let version = live
                    .versions
                    .get(&(reads.namespace.clone(), name.clone()))
                    .map(|v| held_version(v));
                let stamp = |pod: &Pod, annotation: &str| {
                    let all = pod.metadata.annotations.as_ref()?.get(annotation)?;
                    annotated(all, name).map(str::to_string)
                };
                let lagging = match &version {
                    Some(version) => pods
                        .iter()
                        .filter(|p| stamp(p, POD_SECRET_VERSIONS).as_ref() != Some(version))
                        .map(|p| p.metadata.name.clone().unwrap_or_default())
                        .collect(),
                    None => Vec::new(),
                };
                // The oldest certificate a running pod was rolled with.
                let running_not_after = pods
                    .iter()
                    .filter_map(|p| stamp(p, POD_CERTIFICATES_NOT_AFTER))
                    .min();
                GatewayCertificate {
                    secret: format!("{}/{name}", reads.namespace),
                    exists: version.is_some(),
                    problem: problem.clone(),
                    running_pods: pods.len(),
                    lagging_pods: lagging,
                    running_not_after,
                    live_not_after: live
                        .not_after
                        .as_deref()
                        .and_then(|all| annotated(all, name))
                        .map(str::to_string),
                }
            })
            .collect())
    }

    /// The gateway's running pods (none when its Deployment does not exist), or why they are
    /// unknown (the pods cannot be listed).
    async fn gateway_pods(
        &self,
        reads: &GatewayReads,
        masker: &Masker,
    ) -> Result<Result<Vec<Pod>, String>, ApplyError> {
        let kind = ObjectKind::find("apps/v1", "Deployment").expect("Deployment is a kind");
        let object = format!("Deployment {}/{}", reads.namespace, reads.deployment);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &reads.namespace);
        let Some(deployment) = deployments
            .get_opt(&reads.deployment)
            .await
            .map_err(|e| self.kube_err(e, &object, Verb::Get, kind, masker))?
        else {
            return Ok(Ok(Vec::new()));
        };
        let selector: Vec<String> = deployment
            .spec
            .iter()
            .flat_map(|s| &s.selector.match_labels)
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if selector.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &reads.namespace);
        let list = match pods
            .list(&ListParams::default().labels(&selector.join(",")))
            .await
        {
            Ok(list) => list,
            Err(e) => return Ok(Err(format!("cannot list the gateway pods: {e}"))),
        };
        Ok(Ok(list
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .collect()))
    }
}

/// One Secret the gateway mounts, against the gateway's running pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCertificate {
    /// `namespace/name` of the Secret.
    pub secret: String,
    /// The Secret exists.
    pub exists: bool,
    /// Why the gateway's pods are unknown.
    pub problem: Option<String>,
    /// How many gateway pods run.
    pub running_pods: usize,
    /// The running pods rolled with an older version of the Secret (or none): they present or
    /// trust an older certificate until they restart.
    pub lagging_pods: Vec<String>,
    /// The oldest `notAfter` the running pods were rolled with (cert-manager only; unknown for
    /// pods rolled before gatehouse recorded it).
    pub running_not_after: Option<String>,
    /// The live Certificate's `status.notAfter` (cert-manager only).
    pub live_not_after: Option<String>,
}

impl GatewayCertificate {
    /// The Secret exists and every running pod runs it (and the pods could be read).
    pub fn current(&self) -> bool {
        self.exists && self.lagging_pods.is_empty() && self.problem.is_none()
    }
}

impl fmt::Display for GatewayCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = &self.secret;
        if !self.exists {
            return write!(
                f,
                "Secret {secret} does not exist: the gateway's pods cannot start without it"
            );
        }
        if let Some(problem) = &self.problem {
            return write!(f, "Secret {secret}: unknown ({problem})");
        }
        if self.running_pods == 0 {
            return write!(f, "Secret {secret}: no gateway pod runs");
        }
        if self.current() {
            write!(f, "Secret {secret}: every gateway pod runs it")?;
            if let Some(date) = &self.live_not_after {
                write!(f, " (certificate expires {date})")?;
            }
            return Ok(());
        }
        write!(
            f,
            "the gateway runs a certificate older than Secret {secret}: run `gatehouse deploy` \
             to roll it ({} of {} pods: {})",
            self.lagging_pods.len(),
            self.running_pods,
            self.lagging_pods.join(", ")
        )?;
        match (&self.running_not_after, &self.live_not_after) {
            (Some(running), _) if Some(running) != self.live_not_after.as_ref() => {
                write!(f, "; the running certificate expires {running}")
            }
            (_, Some(live)) => write!(
                f,
                "; the renewed one expires {live}, the running one's expiry is unknown"
            ),
            _ => Ok(()),
        }
    }
}
