//! The config digest on each pod template: what makes a changed setting roll exactly the pods that
//! read it.
//!
//! A ConfigMap change alone restarts nothing: Kubernetes rolls a StatefulSet only when its pod
//! template changes. So every pod template carries [`annotations::CONFIG_DIGEST`], the sha256 of
//! exactly what the pod consumes, taken from the rendered objects themselves (one place, after
//! they are built): the content of every ConfigMap entry its volumes mount (`items`) and every
//! Secret *reference* (name and key) of its environment. Secret values are never read here; a
//! rotated password takes effect at the next restart (the start scripts read it from the
//! environment), and a Secret reference that changes changes the digest.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::PodSpec;
use sha2::{Digest, Sha256};

use crate::names::annotations;
use crate::output::KubeObject;

/// Adds the config digest to the pod template of every StatefulSet in `objects`, computed from the
/// data of the ConfigMaps in `objects` that its volumes mount.
pub(crate) fn annotate(objects: &mut [KubeObject]) {
    // Digests first, from borrowed data (the ConfigMaps hold the pod scripts: no copy of them).
    let digests: Vec<(usize, String)> = {
        let config_maps: BTreeMap<&str, &BTreeMap<String, String>> = objects
            .iter()
            .filter_map(|o| match o {
                KubeObject::ConfigMap(cm) => Some((
                    cm.metadata.name.as_deref().unwrap_or_default(),
                    cm.data.as_ref()?,
                )),
                _ => None,
            })
            .collect();
        objects
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                KubeObject::StatefulSet(sts) => {
                    let pod = sts.spec.as_ref()?.template.spec.as_ref()?;
                    Some((i, pod_digest(pod, &config_maps)))
                }
                _ => None,
            })
            .collect()
    };
    for (i, digest) in digests {
        if let KubeObject::StatefulSet(sts) = &mut objects[i] {
            annotate_statefulset(sts, digest);
        }
    }
}

fn annotate_statefulset(sts: &mut StatefulSet, digest: String) {
    let Some(spec) = sts.spec.as_mut() else {
        return;
    };
    spec.template
        .metadata
        .get_or_insert_with(Default::default)
        .annotations
        .get_or_insert_with(Default::default)
        .insert(annotations::CONFIG_DIGEST.into(), digest);
}

/// The hex sha256 of what `pod` consumes. Every part is length-prefixed, so no two different
/// inputs give the same byte stream.
fn pod_digest(pod: &PodSpec, config_maps: &BTreeMap<&str, &BTreeMap<String, String>>) -> String {
    let mut hasher = Sha256::new();
    let mut feed = |parts: &[&str]| {
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
    };
    for volume in pod.volumes.iter().flatten() {
        let Some(source) = &volume.config_map else {
            continue;
        };
        let data = config_maps.get(source.name.as_str()).copied();
        // Without `items` the whole ConfigMap is mounted.
        let keys: Vec<&str> = match &source.items {
            Some(items) => items.iter().map(|i| i.key.as_str()).collect(),
            None => data
                .map(|d| d.keys().map(String::as_str).collect())
                .unwrap_or_default(),
        };
        for key in keys {
            let content = data.and_then(|d| d.get(key)).map_or("", String::as_str);
            feed(&["configmap", &source.name, key, content]);
        }
    }
    for container in pod.init_containers.iter().flatten().chain(&pod.containers) {
        for var in container.env.iter().flatten() {
            if let Some(secret) = var
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
            {
                feed(&[
                    "secret",
                    &container.name,
                    &var.name,
                    &secret.name,
                    &secret.key,
                ]);
            }
        }
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ConfigMapVolumeSource, Container, EnvVar, EnvVarSource, KeyToPath, SecretKeySelector,
        Volume,
    };

    fn pod(keys: &[&str], secret: (&str, &str)) -> PodSpec {
        PodSpec {
            volumes: Some(vec![Volume {
                name: "templates".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: "cm".into(),
                    items: Some(
                        keys.iter()
                            .map(|k| KeyToPath {
                                key: k.to_string(),
                                path: k.to_string(),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            containers: vec![Container {
                name: "c".into(),
                env: Some(vec![EnvVar {
                    name: "PASSWORD".into(),
                    value_from: Some(EnvVarSource {
                        secret_key_ref: Some(SecretKeySelector {
                            name: secret.0.into(),
                            key: secret.1.into(),
                            optional: None,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn digest(pod: &PodSpec, maps: &BTreeMap<String, BTreeMap<String, String>>) -> String {
        let borrowed = maps
            .iter()
            .map(|(name, data)| (name.as_str(), data))
            .collect();
        pod_digest(pod, &borrowed)
    }

    fn maps(a: &str, b: &str) -> BTreeMap<String, BTreeMap<String, String>> {
        BTreeMap::from([(
            "cm".to_string(),
            BTreeMap::from([("a".to_string(), a.to_string()), ("b".into(), b.into())]),
        )])
    }

    #[test]
    fn only_mounted_entries_and_secret_references_count() {
        let base = digest(&pod(&["a"], ("s", "k")), &maps("1", "2"));
        assert_eq!(base.len(), 64);
        // An entry the pod does not mount: same digest.
        assert_eq!(base, digest(&pod(&["a"], ("s", "k")), &maps("1", "3")));
        // A mounted entry: another digest.
        assert_ne!(base, digest(&pod(&["a"], ("s", "k")), &maps("9", "2")));
        // Another Secret name or key: another digest.
        assert_ne!(base, digest(&pod(&["a"], ("t", "k")), &maps("1", "2")));
        assert_ne!(base, digest(&pod(&["a"], ("s", "j")), &maps("1", "2")));
        // Mounting one more entry: another digest.
        assert_ne!(base, digest(&pod(&["a", "b"], ("s", "k")), &maps("1", "2")));
    }

    #[test]
    fn parts_cannot_run_into_each_other() {
        let one = BTreeMap::from([(
            "cm".to_string(),
            BTreeMap::from([("a".to_string(), "xy".to_string()), ("b".into(), "".into())]),
        )]);
        let other = BTreeMap::from([(
            "cm".to_string(),
            BTreeMap::from([("a".to_string(), "x".to_string()), ("b".into(), "y".into())]),
        )]);
        let p = pod(&["a", "b"], ("s", "k"));
        assert_ne!(digest(&p, &one), digest(&p, &other));
    }
}
