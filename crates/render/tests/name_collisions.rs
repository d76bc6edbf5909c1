//! Two deployments with different `name`s in one namespace: no object, managed Secret, Helm
//! release or Flux object of one has the name of the other's (the Namespace itself is shared).

use std::collections::BTreeSet;

use gatehouse_model::arbitrary::valid_deployment;
use gatehouse_model::{Deployment, SecretSource};
use gatehouse_render::{Rendered, render};
use proptest::prelude::*;

/// Every name one deployment claims in its namespace, as `kind/name`.
fn claimed(r: &Rendered) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = r
        .objects
        .iter()
        .filter(|o| o.kind() != "Namespace")
        .map(|o| format!("{}/{}", o.kind(), o.name()))
        .collect();
    // Secrets gatehouse writes (an existing Secret is only referenced and may well be shared).
    for secret in r
        .secrets
        .iter()
        .filter(|s| !matches!(s.source, SecretSource::ExistingSecret { .. }))
    {
        names.insert(format!("Secret/{}", secret.secret.name));
    }
    names.insert(format!("HelmRelease/{}", r.helm.release_name));
    for flux in r.flux_objects() {
        names.insert(format!("{}/{}", flux.kind(), flux.name()));
    }
    names
}

fn in_namespace(mut d: Deployment, namespace: &str, name: &str) -> Rendered {
    d.namespace = namespace.into();
    d.name = name.into();
    let valid = d
        .validated()
        .unwrap_or_else(|e| panic!("a generated valid model was refused:\n{e}"));
    render(&valid)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn two_deployments_in_one_namespace_never_share_a_name(
        a in valid_deployment(),
        b in valid_deployment(),
        names in ("[a-z][a-z0-9]{0,8}", "[a-z][a-z0-9]{0,8}").prop_filter("different", |(x, y)| x != y),
    ) {
        // Names the user gave explicitly may of course be equal; derived ones must not collide.
        let derive = |mut d: Deployment| {
            d.redis.sentinel.service_name = None;
            d.gateway.release_name = None;
            d
        };
        let first = claimed(&in_namespace(derive(a), "shared", &names.0));
        let second = claimed(&in_namespace(derive(b), "shared", &names.1));
        let both: Vec<_> = first.intersection(&second).collect();
        prop_assert!(both.is_empty(), "{} and {} both claim {both:?}", names.0, names.1);
    }
}

#[test]
fn the_default_names_of_two_deployments_do_not_collide() {
    let first = claimed(&in_namespace(
        Deployment::default(),
        "apim",
        "gravitee-apim",
    ));
    let second = claimed(&in_namespace(Deployment::default(), "apim", "other"));
    assert!(
        first.contains("Service/gravitee-apim-redis-headless"),
        "{first:?}"
    );
    assert!(
        second.contains("Service/other-redis-headless"),
        "{second:?}"
    );
    assert!(second.contains("HelmRelease/other"), "{second:?}");
    assert_eq!(
        first.intersection(&second).count(),
        0,
        "{first:?}\n{second:?}"
    );
}

/// The longest accepted `name` still gives names the API server takes: StatefulSets leave room
/// for the `controller-revision-hash` label (`<name>-<10-character hash>`, a label value of at
/// most 63), Services and pod host names are DNS labels of at most 63.
#[test]
fn the_longest_accepted_name_fits_every_kubernetes_limit() {
    let longest = "n".repeat(37);
    let rendered = in_namespace(Deployment::default(), "apim", &longest);
    for object in &rendered.objects {
        let name = object.name();
        match object.kind() {
            "StatefulSet" => {
                assert!(
                    name.len() + 1 + 10 <= 63,
                    "{name}: no room for the revision hash"
                );
                let last_pod = format!("{name}-{}", i32::MAX);
                assert!(last_pod.len() <= 63, "{last_pod}");
            }
            "Service" => assert!(name.len() <= 63, "{name}"),
            _ => assert!(name.len() <= 253, "{name}"),
        }
    }
    let too_long = Deployment::default().with_name("n".repeat(38));
    assert!(too_long.validated().unwrap_err().has_path("name"));
}
