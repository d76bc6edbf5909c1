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
//! let objects = rendered.flux_objects();
//! assert_eq!(objects[0].kind(), "HelmRepository");
//! let gatehouse_render::KubeObject::HelmRelease(release) = &objects[1] else { unreachable!() };
//! let chart = &release.spec.chart.as_ref().unwrap().spec;
//! assert_eq!(chart.version.as_deref(), Some(rendered.helm.version.as_str()));
//! ```

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::crds::flux::{
    HelmRelease, HelmReleaseSpec, HelmReleaseSpecChart, HelmReleaseSpecChartSpec,
    HelmReleaseSpecChartSpecSourceRef, HelmReleaseSpecChartSpecSourceRefKind,
    HelmReleaseSpecInstall, HelmReleaseSpecInstallRemediation, HelmReleaseSpecUpgrade,
    HelmReleaseSpecUpgradeRemediation, HelmRepository, HelmRepositorySpec,
};
use crate::names::labels;
use crate::{KubeObject, Rendered};

/// How often Flux checks the chart repository for a new index.
const REPOSITORY_INTERVAL: &str = "1h";
/// How often Flux reconciles the release, and how long one Helm action may take.
const RELEASE_INTERVAL: &str = "10m";
/// How many times Flux retries a failed install or upgrade.
const REMEDIATION_RETRIES: i64 = 3;

/// Name of the `HelmRepository` pointing at the chart repository.
pub fn repository_name(helm: &crate::HelmRelease) -> String {
    format!("{}-charts", helm.release_name)
}

fn metadata(name: String, helm: &crate::HelmRelease) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(helm.namespace.clone()),
        labels: Some(BTreeMap::from([(
            labels::MANAGED_BY.to_string(),
            labels::GATEHOUSE.to_string(),
        )])),
        ..ObjectMeta::default()
    }
}

/// The `HelmRepository` and the `HelmRelease` of the gateway, in apply order.
pub fn flux_objects(helm: &crate::HelmRelease) -> [KubeObject; 2] {
    let repository = HelmRepository {
        metadata: metadata(repository_name(helm), helm),
        spec: HelmRepositorySpec {
            url: helm.repository.clone(),
            interval: Some(REPOSITORY_INTERVAL.into()),
        },
    };
    let release = HelmRelease {
        metadata: metadata(helm.release_name.clone(), helm),
        spec: HelmReleaseSpec {
            release_name: Some(helm.release_name.clone()),
            interval: RELEASE_INTERVAL.into(),
            timeout: Some(RELEASE_INTERVAL.into()),
            chart: Some(HelmReleaseSpecChart {
                spec: HelmReleaseSpecChartSpec {
                    chart: helm.chart.clone(),
                    version: Some(helm.version.clone()),
                    source_ref: HelmReleaseSpecChartSpecSourceRef {
                        kind: HelmReleaseSpecChartSpecSourceRefKind::HelmRepository,
                        name: repository_name(helm),
                        namespace: Some(helm.namespace.clone()),
                    },
                },
            }),
            install: Some(HelmReleaseSpecInstall {
                remediation: Some(HelmReleaseSpecInstallRemediation {
                    retries: Some(REMEDIATION_RETRIES),
                }),
            }),
            upgrade: Some(HelmReleaseSpecUpgrade {
                remediation: Some(HelmReleaseSpecUpgradeRemediation {
                    retries: Some(REMEDIATION_RETRIES),
                }),
            }),
            values: Some(serde_json::to_value(&helm.values).expect("values serialize")),
        },
    };
    [
        KubeObject::HelmRepository(repository),
        KubeObject::HelmRelease(release),
    ]
}

/// A GitOps directory: every rendered object and the two Flux objects as numbered YAML files,
/// plus a `kustomization.yaml` listing them in apply order.
pub fn gitops_files(rendered: &Rendered) -> BTreeMap<String, String> {
    directory(rendered, true)
}

/// The same directory for Argo CD, which installs the chart itself: the objects and their
/// `kustomization.yaml`, plus the gateway's Helm values as `values.yaml` (read by the
/// Application's chart source, not listed as a resource).
pub fn argocd_files(rendered: &Rendered) -> BTreeMap<String, String> {
    let mut files = directory(rendered, false);
    files.insert(VALUES_FILE.into(), rendered.helm.values_yaml());
    files
}

/// The Helm values file of an Argo CD directory.
pub const VALUES_FILE: &str = "values.yaml";

fn directory(rendered: &Rendered, flux_release: bool) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut resources = Vec::new();
    for object in &rendered.objects {
        let name = object.file_name();
        files.insert(name.clone(), crate::yaml::to_yaml(object));
        resources.push(name);
    }
    // The Flux files keep their own numbers (10, 11) after the objects' tier numbers.
    let release = if flux_release {
        rendered.flux_objects().to_vec()
    } else {
        Vec::new()
    };
    for (i, object) in release.iter().enumerate() {
        let name = format!(
            "{:02}-{}-{}.yaml",
            10 + i,
            object.kind().to_ascii_lowercase(),
            object.name()
        );
        files.insert(name.clone(), crate::yaml::to_yaml(object));
        resources.push(name);
    }
    files.insert("kustomization.yaml".into(), kustomization_yaml(&resources));
    files
}

/// A kustomize `kustomization.yaml` listing `resources` in order (kustomize's own config file, not
/// a cluster object).
pub fn kustomization_yaml(resources: &[String]) -> String {
    let kustomization = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    crate::yaml::to_yaml(&kustomization)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendered() -> Rendered {
        let valid = gatehouse_model::Deployment::guide_example()
            .validated()
            .unwrap();
        crate::render(&valid)
    }

    #[test]
    fn release_points_at_repository_and_pins_the_chart() {
        let r = rendered();
        let objects = r.flux_objects().map(|o| o.to_json());
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
        let release = &r.flux_objects()[1].to_json();
        let env = release["spec"]["values"]["gateway"]["env"]
            .as_array()
            .unwrap();
        let refs = env
            .iter()
            .filter(|e| !e["valueFrom"]["secretKeyRef"].is_null())
            .count();
        assert!(refs >= 1, "{env:?}");
        for secret in &r.secrets {
            use gatehouse_model::SecretRole::{CloudToken, LicenseKey, RedisPassword};
            // The gateway reads its own secrets, never another Redis user's password.
            let gateway_reads = matches!(secret.role, RedisPassword | LicenseKey | CloudToken);
            assert_eq!(
                env.iter()
                    .any(|e| e["valueFrom"]["secretKeyRef"]["name"] == json!(secret.secret.name)),
                gateway_reads,
                "{secret:?}"
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

    #[test]
    fn typed_objects_serialize_to_the_documented_shape() {
        let r = rendered();
        let [repo, release] = r.flux_objects().map(|o| o.to_json());
        let (name, ns) = (&r.helm.release_name, &r.helm.namespace);
        let labels = json!({ labels::MANAGED_BY: labels::GATEHOUSE });
        assert_eq!(
            repo,
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "HelmRepository",
                "metadata": {"name": format!("{name}-charts"), "namespace": ns, "labels": labels},
                "spec": {"url": r.helm.repository, "interval": "1h"},
            })
        );
        assert_eq!(
            release,
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {
                    "releaseName": name,
                    "interval": "10m",
                    "timeout": "10m",
                    "chart": {"spec": {
                        "chart": r.helm.chart,
                        "version": r.helm.version,
                        "sourceRef": {"kind": "HelmRepository", "name": format!("{name}-charts"), "namespace": ns},
                    }},
                    "install": {"remediation": {"retries": 3}},
                    "upgrade": {"remediation": {"retries": 3}},
                    "values": serde_json::to_value(&r.helm.values).unwrap(),
                },
            })
        );
    }
}
