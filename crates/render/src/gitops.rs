//! The gateway release as Flux objects (`HelmRepository` + `HelmRelease`), and a GitOps directory.
//!
//! Values go inline in the `HelmRelease`; secrets only by reference (they are `secretKeyRef`
//! entries of `gateway.env` already), so the files are safe to commit. The Secrets gatehouse
//! writes at deploy time (environment and generated sources) are NOT part of the directory:
//! create them with your secret tooling (SOPS, Sealed Secrets, External Secrets).
//!
//! ```
//! let valid = gatehouse_model::Deployment::guide_example().validated().unwrap();
//! let rendered = gatehouse_render::render(&valid);
//! let objects = gatehouse_render::gitops::flux_objects(&rendered.helm);
//! assert_eq!(objects[0]["kind"], "HelmRepository");
//! assert_eq!(objects[1]["spec"]["chart"]["spec"]["version"], rendered.helm.version.as_str());
//! ```

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::names::labels;
use crate::{HelmRelease, Rendered};

/// `apiVersion` of Flux's `HelmRepository`.
pub const HELM_REPOSITORY_API_VERSION: &str = "source.toolkit.fluxcd.io/v1";
/// `apiVersion` of Flux's `HelmRelease`.
pub const HELM_RELEASE_API_VERSION: &str = "helm.toolkit.fluxcd.io/v2";

/// Name of the `HelmRepository` pointing at the chart repository.
pub fn repository_name(helm: &HelmRelease) -> String {
    format!("{}-charts", helm.release_name)
}

/// The `HelmRepository` and the `HelmRelease` of the gateway, in apply order.
pub fn flux_objects(helm: &HelmRelease) -> Vec<Value> {
    let managed = json!({ labels::MANAGED_BY: labels::GATEHOUSE });
    let repository = json!({
        "apiVersion": HELM_REPOSITORY_API_VERSION,
        "kind": "HelmRepository",
        "metadata": {
            "name": repository_name(helm),
            "namespace": helm.namespace,
            "labels": managed,
        },
        "spec": {
            "url": helm.repository,
            "interval": "1h",
        },
    });
    let values = serde_json::to_value(&helm.values).expect("values serialize");
    let release = json!({
        "apiVersion": HELM_RELEASE_API_VERSION,
        "kind": "HelmRelease",
        "metadata": {
            "name": helm.release_name,
            "namespace": helm.namespace,
            "labels": managed,
        },
        "spec": {
            "releaseName": helm.release_name,
            "interval": "10m",
            "timeout": "10m",
            "chart": {
                "spec": {
                    "chart": helm.chart,
                    "version": helm.version,
                    "sourceRef": {
                        "kind": "HelmRepository",
                        "name": repository_name(helm),
                        "namespace": helm.namespace,
                    },
                },
            },
            "install": {"remediation": {"retries": 3}},
            "upgrade": {"remediation": {"retries": 3}},
            "values": values,
        },
    });
    vec![repository, release]
}

/// A GitOps directory: every rendered object and the two Flux objects as numbered YAML files,
/// plus a `kustomization.yaml` listing them in apply order.
pub fn gitops_files(rendered: &Rendered) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut resources = Vec::new();
    for object in &rendered.objects {
        let name = object.file_name();
        files.insert(name.clone(), crate::yaml::to_yaml(object));
        resources.push(name);
    }
    for (i, object) in flux_objects(&rendered.helm).iter().enumerate() {
        let name = format!(
            "{:02}-{}-{}.yaml",
            10 + i,
            object["kind"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            object["metadata"]["name"].as_str().unwrap_or_default()
        );
        files.insert(name.clone(), crate::yaml::to_yaml(object));
        resources.push(name);
    }
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    files.insert(
        "kustomization.yaml".into(),
        crate::yaml::to_yaml(&kustomization),
    );
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> Rendered {
        let valid = gatehouse_model::Deployment::guide_example()
            .validated()
            .unwrap();
        crate::render(&valid)
    }

    #[test]
    fn release_points_at_repository_and_pins_the_chart() {
        let r = rendered();
        let objects = flux_objects(&r.helm);
        let (repo, release) = (&objects[0], &objects[1]);
        assert_eq!(repo["spec"]["url"], json!(r.helm.repository));
        let chart = &release["spec"]["chart"]["spec"];
        assert_eq!(chart["sourceRef"]["name"], repo["metadata"]["name"]);
        assert_eq!(chart["version"], json!(r.helm.version));
        assert_eq!(chart["chart"], json!(r.helm.chart));
        assert_eq!(
            release["spec"]["values"],
            serde_json::to_value(&r.helm.values).unwrap()
        );
    }

    #[test]
    fn secrets_are_only_referenced() {
        let r = rendered();
        let release = &flux_objects(&r.helm)[1];
        let env = release["spec"]["values"]["gateway"]["env"]
            .as_array()
            .unwrap();
        let refs = env
            .iter()
            .filter(|e| !e["valueFrom"]["secretKeyRef"].is_null())
            .count();
        assert!(refs >= 1, "{env:?}");
        for secret in &r.secrets {
            assert!(
                env.iter()
                    .any(|e| e["valueFrom"]["secretKeyRef"]["name"] == json!(secret.secret.name))
            );
        }
    }

    #[test]
    fn directory_lists_every_file_in_order_and_is_deterministic() {
        let r = rendered();
        let files = gitops_files(&r);
        assert_eq!(files, gitops_files(&r));
        let kustomization = &files["kustomization.yaml"];
        let listed: Vec<&String> = files
            .keys()
            .filter(|k| *k != "kustomization.yaml")
            .collect();
        assert_eq!(listed.len(), r.objects.len() + 2);
        for name in listed {
            assert!(kustomization.contains(name.as_str()), "{name}");
        }
        assert!(files.keys().any(|k| k.contains("helmrelease")));
    }
}
