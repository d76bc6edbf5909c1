//! Who reads a password Secret and whether they run its live state: the StatefulSets' pod specs,
//! the gateway's `gateway.env` (through the release), and their live pod templates.

use std::collections::BTreeSet;

use gatehouse_render::HelmRelease;
use serde_json::{Value, json};

use super::POD_SECRET_VERSIONS;
use crate::plan::Plan;

/// What the gateway's pods read, from the release: the Secrets its `gateway.env` names (it reads
/// only `<key>` of each), the Secrets it mounts as files (the TLS truststore and client
/// certificate, [`HelmRelease::mounted_secrets`]) and the Deployment the chart makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayReads {
    /// The release's namespace.
    pub namespace: String,
    /// The gateway's Deployment.
    pub deployment: String,
    /// The Secrets named by `secretKeyRef` in `gateway.env`.
    pub secrets: BTreeSet<String>,
    /// The Secrets mounted as files (read once, at start). Neither gatehouse nor the user's
    /// model writes them: the user or cert-manager does, so they count by `resourceVersion`.
    pub mounted: BTreeSet<String>,
}

impl GatewayReads {
    /// What the gateway of `release` reads.
    pub fn of(release: &HelmRelease) -> GatewayReads {
        let env = serde_json::to_value(&release.values.gateway.env).unwrap_or_default();
        GatewayReads {
            namespace: release.namespace.clone(),
            deployment: release.gateway_deployment(),
            secrets: secrets_read(&json!({"containers": [{"env": env}]})),
            mounted: release.mounted_secrets(),
        }
    }

    /// Every Secret whose version is in the gateway's [`POD_SECRET_VERSIONS`]: those of its env
    /// and those it mounts.
    pub fn stamped(&self) -> BTreeSet<String> {
        self.secrets.union(&self.mounted).cloned().collect()
    }
}

/// The release with the gateway's Secret versions as a pod annotation (`gateway.podAnnotations`),
/// so that `helm upgrade` rolls the gateway's pods exactly when a Secret they read changed (a
/// value in its env, or a renewed certificate it mounts), and with the `notAfter` of the
/// certificates it mounts ([`crate::gateway_tls::POD_CERTIFICATES_NOT_AFTER`]).
pub fn stamp_release(release: &HelmRelease, advanced: &super::Advanced) -> HelmRelease {
    let mut stamped = release.clone();
    for (annotation, value) in [
        (POD_SECRET_VERSIONS, &advanced.gateway_versions),
        (
            crate::gateway_tls::POD_CERTIFICATES_NOT_AFTER,
            &advanced.gateway_not_after,
        ),
    ] {
        if let Some(v) = value {
            stamped
                .values
                .gateway
                .pod_annotations
                .insert(annotation.to_string(), v.clone());
        }
    }
    stamped
}

/// Whether a live pod template's [`POD_SECRET_VERSIONS`] names `secret=version`.
fn stamped_with(template: &Value, secret: &str, version: &str) -> bool {
    template["metadata"]["annotations"][POD_SECRET_VERSIONS]
        .as_str()
        .is_some_and(|s| s.split(',').any(|v| v == format!("{secret}={version}")))
}

/// The live readers of Secret `namespace/name` that do not run its live versions (StatefulSets
/// of `plan` that read it, stamped with `version`; the gateway's Deployment when it reads it,
/// stamped with `key_version`), or are not ready: `Kind namespace/name (why)`. A reader that does
/// not exist yet runs nothing old.
pub(super) fn not_rolled_out(
    plan: &Plan,
    find_live: &dyn Fn(&str, &str, &str) -> Option<Value>,
    (namespace, name): (&str, &str),
    version: u64,
    key_version: u64,
) -> Vec<String> {
    let mut readers: Vec<(&str, String, u64)> = plan
        .objects
        .iter()
        .filter(|d| d.kind.kind == "StatefulSet" && d.namespace() == Some(namespace))
        .filter(|d| secrets_read(&d.body["spec"]["template"]["spec"]).contains(name))
        .map(|d| ("StatefulSet", d.name().to_string(), version))
        .collect();
    if plan.gateway.namespace == namespace && plan.gateway.secrets.contains(name) {
        readers.push(("Deployment", plan.gateway.deployment.clone(), key_version));
    }
    readers
        .into_iter()
        .filter_map(|(kind, reader, version)| {
            let live = find_live(kind, namespace, &reader)?;
            let why = if !stamped_with(&live["spec"]["template"], name, &version.to_string()) {
                format!("its pod template is not at {name}={version}")
            } else if !crate::wait::progress_of(kind, &live).0 {
                "its pods are not all updated and ready".to_string()
            } else {
                return None;
            };
            Some(format!("{kind} {namespace}/{reader} ({why})"))
        })
        .collect()
}

/// The names of the Secrets a pod spec's containers read through `secretKeyRef`, sorted, once.
pub(super) fn secrets_read(pod_spec: &Value) -> BTreeSet<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|field| pod_spec[*field].as_array())
        .flatten()
        .filter_map(|c| c["env"].as_array())
        .flatten()
        .filter_map(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str())
        .map(str::to_string)
        .collect()
}
