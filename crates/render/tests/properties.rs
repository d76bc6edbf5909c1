//! Properties of the rendered output over generated models.

use std::collections::BTreeMap;

use gatehouse_model::arbitrary::{mutated_deployment, valid_deployment};
use gatehouse_model::{Deployment, SecretRole, Severity};
use gatehouse_render::{Format, KubeObject, Rendered, render};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, EnvVar, Service};
use proptest::prelude::*;
use serde::de::DeserializeOwned;

fn rendered(d: &Deployment) -> Rendered {
    let valid = d
        .clone()
        .validated()
        .unwrap_or_else(|e| panic!("a generated valid model was refused:\n{e}"));
    render(&valid)
}

fn statefulsets(r: &Rendered) -> Vec<&StatefulSet> {
    r.objects
        .iter()
        .filter_map(|o| match o {
            KubeObject::StatefulSet(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn services(r: &Rendered) -> Vec<&Service> {
    r.objects
        .iter()
        .filter_map(|o| match o {
            KubeObject::Service(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn config_map(r: &Rendered) -> &ConfigMap {
    r.objects
        .iter()
        .find_map(|o| match o {
            KubeObject::ConfigMap(c) => Some(c),
            _ => None,
        })
        .expect("a ConfigMap is rendered")
}

fn pod_labels(s: &StatefulSet) -> &BTreeMap<String, String> {
    s.spec
        .as_ref()
        .unwrap()
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap()
}

fn container_env(s: &StatefulSet) -> &Vec<EnvVar> {
    s.spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .env
        .as_ref()
        .unwrap()
}

/// Whether `small` is a non-empty subset of `big` (an empty selector would match everything).
fn is_subset(small: &BTreeMap<String, String>, big: &BTreeMap<String, String>) -> bool {
    !small.is_empty() && small.iter().all(|(k, v)| big.get(k) == Some(v))
}

/// The object read back from its JSON form as its own k8s-openapi type.
fn round_trip<T: DeserializeOwned + PartialEq + std::fmt::Debug>(object: &KubeObject, typed: &T) {
    let back: T = serde_json::from_value(object.to_json())
        .unwrap_or_else(|e| panic!("{} does not read back: {e}", object.display_name()));
    assert_eq!(
        &back,
        typed,
        "{} changed in a JSON round trip",
        object.display_name()
    );
    let yaml = gatehouse_render::yaml::to_yaml(object);
    let back: T = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| {
        panic!(
            "{} YAML does not read back: {e}\n{yaml}",
            object.display_name()
        )
    });
    assert_eq!(
        &back,
        typed,
        "{} changed in a YAML round trip",
        object.display_name()
    );
}

fn assert_round_trips(r: &Rendered) {
    for object in &r.objects {
        // The writer writes exactly what the serializer writes.
        assert_eq!(
            gatehouse_render::yaml::to_yaml(object),
            gatehouse_render::yaml::serializer_yaml(object),
            "{}",
            object.display_name()
        );
        match object {
            KubeObject::Namespace(o) => round_trip(object, o),
            KubeObject::ServiceAccount(o) => round_trip(object, o),
            KubeObject::ConfigMap(o) => round_trip(object, o),
            KubeObject::Service(o) => round_trip(object, o),
            KubeObject::NetworkPolicy(o) => round_trip(object, o),
            KubeObject::PodDisruptionBudget(o) => round_trip(object, o),
            KubeObject::StatefulSet(o) => round_trip(object, o),
            // Generated types only serialize: the YAML must read back as the same JSON (the CRD
            // schema test checks their fields).
            KubeObject::Certificate(_)
            | KubeObject::PodMonitor(_)
            | KubeObject::ServiceMonitor(_)
            | KubeObject::PrometheusRule(_) => {
                let yaml = gatehouse_render::yaml::to_yaml(object);
                let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
                assert_eq!(back, object.to_json(), "{}", object.display_name());
            }
            KubeObject::Secret(_)
            | KubeObject::Deployment(_)
            | KubeObject::HelmRepository(_)
            | KubeObject::HelmRelease(_)
            | KubeObject::GitRepository(_)
            | KubeObject::Kustomization(_)
            | KubeObject::AppProject(_)
            | KubeObject::ApplicationSet(_) => {
                panic!(
                    "{} is never among the rendered objects",
                    object.display_name()
                )
            }
        }
    }
}

/// Every Service selects the pods of a StatefulSet that names it as its governing Service, and every
/// StatefulSet's governing Service exists.
fn assert_selectors_match(r: &Rendered) {
    let sets = statefulsets(r);
    for service in services(r) {
        let selector = service.spec.as_ref().unwrap().selector.as_ref().unwrap();
        let name = service.metadata.name.as_deref().unwrap();
        assert!(
            sets.iter().any(|s| is_subset(selector, pod_labels(s))
                && s.spec.as_ref().unwrap().service_name.as_deref() == Some(name)),
            "Service {name} selects no StatefulSet that it governs"
        );
    }
    for set in &sets {
        let spec = set.spec.as_ref().unwrap();
        let selector = spec.selector.match_labels.as_ref().unwrap();
        assert!(
            is_subset(selector, pod_labels(set)),
            "StatefulSet selector does not match its pods"
        );
    }
}

/// The Sentinel nodes in the Helm values are pods of the Sentinel StatefulSet behind a rendered
/// headless Service, on that Service's port.
fn assert_sentinel_nodes_resolve(r: &Rendered) {
    let nodes = &r.helm.values.gateway.ratelimit.redis.sentinel.nodes;
    assert!(!nodes.is_empty());
    for node in nodes {
        let resolved = services(r).into_iter().any(|service| {
            let spec = service.spec.as_ref().unwrap();
            let service_name = service.metadata.name.as_deref().unwrap();
            let namespace = service.metadata.namespace.as_deref().unwrap();
            let port_matches = spec
                .ports
                .as_ref()
                .unwrap()
                .iter()
                .any(|p| p.port == i32::from(node.port));
            let suffix = format!(".{service_name}.{namespace}.svc.cluster.local");
            let Some(pod) = node.host.strip_suffix(&suffix) else {
                return false;
            };
            statefulsets(r).into_iter().any(|set| {
                let spec = set.spec.as_ref().unwrap();
                let set_name = set.metadata.name.as_deref().unwrap();
                spec.service_name.as_deref() == Some(service_name)
                    && pod
                        .strip_prefix(&format!("{set_name}-"))
                        .and_then(|ordinal| ordinal.parse::<i32>().ok())
                        .is_some_and(|ordinal| ordinal < spec.replicas.unwrap())
                    && spec.template.spec.as_ref().unwrap().containers[0]
                        .ports
                        .as_ref()
                        .unwrap()
                        .iter()
                        .any(|p| p.container_port == i32::from(node.port))
            }) && port_matches
        });
        assert!(
            resolved,
            "Sentinel node {}:{} resolves to no rendered pod",
            node.host, node.port
        );
    }
}

/// `sentinel monitor <name> <host> <port> <quorum>` from the rendered sentinel.conf.
fn monitor_line(r: &Rendered) -> (String, u32) {
    let conf = &config_map(r).data.as_ref().unwrap()["sentinel.conf"];
    let line = conf
        .lines()
        .find(|l| l.starts_with("sentinel monitor "))
        .expect("sentinel.conf monitors a master");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (
        fields[2].to_string(),
        fields[5].parse().expect("quorum is a number"),
    )
}

fn secret_ref_of(env: &[EnvVar], name: &str) -> Option<(String, String)> {
    let var = env.iter().find(|v| v.name == name)?;
    assert!(var.value.is_none(), "{name} carries a plain value");
    let selector = var.value_from.as_ref()?.secret_key_ref.as_ref()?;
    Some((selector.name.clone(), selector.key.clone()))
}

fn assert_cross_object_invariants(d: &Deployment, r: &Rendered) {
    let values = &r.helm.values;
    let (master, quorum) = monitor_line(r);
    assert_eq!(
        master, values.gateway.ratelimit.redis.sentinel.master,
        "master name differs"
    );
    assert_eq!(master, d.redis.master_name);
    let sentinel_set = statefulsets(r)
        .into_iter()
        .find(|s| s.metadata.name.as_deref().unwrap().ends_with("-sentinel"))
        .unwrap();
    assert!(quorum >= 1 && quorum as i32 <= sentinel_set.spec.as_ref().unwrap().replicas.unwrap());

    let layout = gatehouse_render::helm::chart_layout(d);
    let gateway_ref = secret_ref_of(&values.gateway.env, layout.redis_password_env())
        .expect("gateway reads the password from a Secret");
    for set in statefulsets(r) {
        assert_eq!(
            secret_ref_of(container_env(set), "REDIS_PASSWORD").as_ref(),
            Some(&gateway_ref),
            "Redis and the gateway read different password keys"
        );
    }
    assert_eq!(
        secret_ref_of(&values.gateway.env, layout.sentinel_password_env()).is_some(),
        d.redis.sentinel.auth,
        "the Sentinel password is passed exactly when Sentinel auth is on"
    );
    for requirement in &r.secrets {
        assert_eq!(
            Some(&requirement.secret),
            d.secret_key_ref(requirement.role).as_ref()
        );
    }
    assert!(
        r.secrets
            .iter()
            .any(|s| s.role == SecretRole::RedisPassword)
    );
}

/// No object carries a secret value: there is no Secret object, every secret env is a reference,
/// and the configs only append passwords from the environment at start.
fn assert_no_secret_material(r: &Rendered) {
    for object in &r.objects {
        assert_ne!(
            object.kind(),
            "Secret",
            "rendering must not produce Secret objects"
        );
    }
    let data = config_map(r).data.as_ref().unwrap();
    for (file, text) in data {
        for line in text.lines() {
            let line = line.trim_start();
            for directive in ["requirepass ", "masterauth ", "sentinel auth-pass "] {
                if line.starts_with(directive) {
                    panic!("{file} hard-codes `{line}`");
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn valid_models_render_deterministically_and_consistently(d in valid_deployment()) {
        let first = rendered(&d);
        let second = rendered(&d.clone());
        for format in [Format::Yaml, Format::Json] {
            prop_assert_eq!(first.to_text(format), second.to_text(format));
        }
        prop_assert_eq!(first.files(), second.files());
        assert_round_trips(&first);
        assert_selectors_match(&first);
        assert_sentinel_nodes_resolve(&first);
        assert_cross_object_invariants(&d, &first);
        assert_no_secret_material(&first);
    }

    #[test]
    fn metrics_objects_come_out_as_the_serializer_writes_them(d in valid_deployment()) {
        // The writer writes exactly the serializer's bytes with metrics on too, for every object,
        // the Helm values and the GitOps files.
        let r = rendered(&d.with_metrics(true));
        prop_assert!(r.objects.iter().any(|o| matches!(o, KubeObject::PrometheusRule(_))));
        for object in &r.objects {
            prop_assert_eq!(
                gatehouse_render::yaml::to_yaml(object),
                gatehouse_render::yaml::serializer_yaml(object),
                "{}",
                object.display_name()
            );
        }
        prop_assert_eq!(
            r.helm.values_yaml(),
            gatehouse_render::yaml::serializer_yaml(&r.helm.values)
        );
        for object in r.flux_objects() {
            prop_assert_eq!(
                gatehouse_render::yaml::to_yaml(&object),
                gatehouse_render::yaml::serializer_yaml(&object)
            );
        }
    }

    #[test]
    fn hostile_models_give_errors_never_panics((d, mutations) in mutated_deployment()) {
        let problems = d.validate();
        for problem in &problems {
            prop_assert!(!problem.path.is_empty() && !problem.fix.is_empty(), "{problem:?}");
        }
        if !problems.iter().any(|p| p.severity == Severity::Error) {
            let r = render(&d.clone().validated().expect("no errors"));
            assert_selectors_match(&r);
            assert_sentinel_nodes_resolve(&r);
        }
        let _ = mutations;
    }
}
