//! A fleet rendered as a GitOps directory, for Flux and Argo CD:
//! - every engine object passes its kept subset as a closed schema (a stray field fails);
//! - every directory builds with `kubectl kustomize`;
//! - same fleet, same bytes; waves become `dependsOn` (Flux) and `RollingSync` steps (Argo CD);
//! - a property: changing one cluster's overrides changes only that cluster's files and the
//!   entries naming it; adding a cluster touches no other cluster's files.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use gatehouse_model::{Cluster, Delivery, Fleet, KubeConfigSecret, ValidFleet};
use gatehouse_render::crds::Subset;
use gatehouse_render::fleet::{engine_objects, fleet_files};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The example fleet (`examples/fleet.yaml`): three clusters in two waves.
fn example() -> Fleet {
    let text =
        std::fs::read_to_string(gatehouse_testkit::workspace_root().join("examples/fleet.yaml"))
            .unwrap();
    gatehouse_model::fleet_from_yaml_str(&text, "fleet.yaml").unwrap()
}

fn valid(fleet: &Fleet, delivery: Delivery) -> ValidFleet {
    fleet
        .clone()
        .validated(delivery)
        .unwrap_or_else(|e| panic!("{e}"))
}

const ENGINES: [Delivery; 2] = [Delivery::Flux, Delivery::ArgoCd];

#[test]
fn engine_objects_pass_their_subset_schema_and_a_stray_field_does_not() {
    let mut checked = BTreeSet::new();
    for delivery in ENGINES {
        for object in engine_objects(&valid(&example(), delivery)) {
            let subset = Subset::of(object.kind())
                .unwrap_or_else(|| panic!("no subset is kept for {}", object.kind()));
            let schema = subset.closed_object_schema();
            let instance = object.to_json();
            let Some(errors) = gatehouse_testkit::jsonschema_errors(&schema, &instance) else {
                return;
            };
            assert!(errors.is_empty(), "{}: {errors:#?}", object.display_name());
            let mut stray = instance.clone();
            stray["spec"]["gatehouseStray"] = json!(true);
            let errors = gatehouse_testkit::jsonschema_errors(&schema, &stray).unwrap();
            assert_eq!(errors.len(), 1, "{}: {errors:#?}", object.display_name());
            checked.insert(object.kind().to_string());
        }
    }
    let expected: BTreeSet<String> = [
        "GitRepository",
        "Kustomization",
        "AppProject",
        "ApplicationSet",
    ]
    .map(String::from)
    .into();
    assert_eq!(checked, expected);
}

/// Writes the files into a new temporary directory.
fn written(files: &BTreeMap<String, String>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn every_directory_builds_with_kubectl_kustomize() {
    let Some(kubectl) = gatehouse_testkit::external_tool("kubectl", "install kubectl") else {
        return;
    };
    let build = |dir: &std::path::Path| -> Vec<Value> {
        let output = Command::new(&kubectl)
            .arg("kustomize")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "kubectl kustomize {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_saphyr::from_multiple(&String::from_utf8_lossy(&output.stdout)).unwrap()
    };
    for (delivery, engine_dir, kinds) in [
        (
            Delivery::Flux,
            "flux",
            vec!["GitRepository", "Kustomization"],
        ),
        (
            Delivery::ArgoCd,
            "argocd",
            vec!["AppProject", "ApplicationSet"],
        ),
    ] {
        let fleet = valid(&example(), delivery);
        let dir = written(&fleet_files(&fleet));
        let hub = build(&dir.path().join(engine_dir));
        let built: BTreeSet<&str> = hub.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert_eq!(built, kinds.into_iter().collect(), "{engine_dir}");
        for cluster in fleet.clusters() {
            let objects = build(&dir.path().join("clusters").join(&cluster.cluster.name));
            let rendered = gatehouse_render::render(&cluster.deployment);
            let extra = if delivery == Delivery::Flux { 2 } else { 0 };
            assert_eq!(
                objects.len(),
                rendered.objects.len() + extra,
                "{}",
                cluster.cluster.name
            );
        }
        if delivery == Delivery::Flux {
            // What a wave's Kustomization applies builds to nothing.
            assert!(build(&dir.path().join("flux/waves/empty")).is_empty());
            // Each Kustomization's path is a directory of the rendered output.
            for kustomization in hub.iter().filter(|o| o["kind"] == "Kustomization") {
                let path = kustomization["spec"]["path"].as_str().unwrap();
                let relative = path.strip_prefix("./fleet/").unwrap();
                assert!(
                    dir.path()
                        .join(relative)
                        .join("kustomization.yaml")
                        .is_file(),
                    "{path}"
                );
            }
        }
    }
}

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

#[test]
fn waves_become_depends_on_and_rolling_sync_steps() {
    let flux = fleet_files(&valid(&example(), Delivery::Flux));
    assert_eq!(
        flux,
        fleet_files(&valid(&example(), Delivery::Flux)),
        "same fleet, same bytes"
    );
    let eu = parse(&flux["flux/clusters/eu-west.yaml"]);
    assert!(
        eu["spec"]["dependsOn"].is_null(),
        "wave 1 waits for nothing"
    );
    assert_eq!(
        eu["spec"]["kubeConfig"]["secretRef"]["name"],
        "eu-west-kubeconfig"
    );
    let gate = parse(&flux["flux/waves/1.yaml"]);
    assert_eq!(gate["spec"]["dependsOn"], json!([{"name": "apim-eu-west"}]));
    for wave_two in ["us-east", "ap-south"] {
        let k = parse(&flux[&format!("flux/clusters/{wave_two}.yaml")]);
        assert_eq!(
            k["spec"]["dependsOn"],
            json!([{"name": gate["metadata"]["name"]}])
        );
        let checks: Vec<&str> = k["spec"]["healthChecks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            checks,
            ["StatefulSet", "StatefulSet", "Deployment", "HelmRelease"]
        );
    }
    assert!(
        !flux.contains_key("flux/waves/2.yaml"),
        "nothing waits for the last wave"
    );

    let argo = fleet_files(&valid(&example(), Delivery::ArgoCd));
    let set = parse(&argo["argocd/applicationset.yaml"]);
    assert_eq!(set["spec"]["strategy"]["type"], "RollingSync");
    let steps = set["spec"]["strategy"]["rollingSync"]["steps"]
        .as_array()
        .unwrap();
    let waves: Vec<&Value> = steps
        .iter()
        .map(|s| &s["matchExpressions"][0]["values"])
        .collect();
    assert_eq!(waves, [&json!(["1"]), &json!(["2"])]);
    let elements = set["spec"]["generators"][0]["list"]["elements"]
        .as_array()
        .unwrap();
    assert_eq!(elements.len(), 3);
    assert_eq!(elements[0]["destination"], "prod-eu-west");
    assert_eq!(elements[2]["chartVersion"], "4.10.28");
    assert!(argo.contains_key("clusters/ap-south/values.yaml"));
    assert!(
        !argo.keys().any(|k| k.contains("helmrelease")),
        "Argo CD installs the chart itself"
    );
}

/// One cluster's overrides, from a few knobs.
fn overrides(replicas: u32, sentinels: u32, gateway: u32) -> Value {
    json!({"redis": {"replicas": replicas, "sentinel": {"count": sentinels}}, "gateway": {"replicas": gateway}})
}

fn knobs() -> impl Strategy<Value = (u32, u32, u32)> {
    (1u32..4, prop_oneof![Just(3u32), Just(5u32)], 1u32..4)
}

/// A fleet of the example's base with `clusters` (knobs and wave) named `c0`, `c1`, ...
fn fleet_of(clusters: &[((u32, u32, u32), u32)]) -> Fleet {
    let mut fleet = example();
    // Waves numbered without gaps: the distinct waves drawn, in order.
    let waves: BTreeSet<u32> = clusters.iter().map(|(_, w)| *w).collect();
    let rank = |w: u32| waves.iter().position(|x| *x == w).unwrap() as u32 + 1;
    fleet.clusters = clusters
        .iter()
        .enumerate()
        .map(|(i, ((r, s, g), wave))| {
            let mut cluster = Cluster::new(format!("c{i}"), rank(*wave))
                .with_override(overrides(*r, *s, *g))
                .with_label("region", format!("r{i}"));
            cluster.flux_kube_config = Some(KubeConfigSecret::named(format!("c{i}-kubeconfig")));
            cluster
        })
        .collect();
    fleet
}

/// The files that differ between two renders.
fn changed(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> BTreeSet<String> {
    a.keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Whether `path` belongs to cluster `name` alone.
fn owned_by(path: &str, name: &str) -> bool {
    path.starts_with(&format!("clusters/{name}/")) || path == format!("flux/clusters/{name}.yaml")
}

/// The list elements of the ApplicationSet, by cluster.
fn elements(files: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    let set = parse(&files["argocd/applicationset.yaml"]);
    set["spec"]["generators"][0]["list"]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["cluster"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn one_clusters_change_touches_only_its_files_and_entries(
        clusters in prop::collection::vec((knobs(), 1u32..4), 2..5),
        pick in any::<prop::sample::Index>(),
        new in knobs(),
    ) {
        let before = fleet_of(&clusters);
        let j = pick.index(clusters.len());
        prop_assume!(clusters[j].0 != new);
        let mut after = before.clone();
        after.clusters[j].overrides.0 = overrides(new.0, new.1, new.2);
        let name = format!("c{j}");
        for delivery in ENGINES {
            let (a, b) = (fleet_files(&valid(&before, delivery)), fleet_files(&valid(&after, delivery)));
            let changed = changed(&a, &b);
            prop_assert!(changed.iter().any(|p| owned_by(p, &name)), "{changed:?}");
            for path in &changed {
                let allowed = owned_by(path, &name) || path.starts_with("argocd/");
                prop_assert!(allowed, "{path} changed with cluster {name}");
            }
            if delivery == Delivery::ArgoCd {
                let (ea, eb) = (elements(&a), elements(&b));
                for (cluster, element) in &ea {
                    if *cluster != name {
                        prop_assert_eq!(Some(element), eb.get(cluster));
                    }
                }
            }
        }
    }

    #[test]
    fn adding_a_cluster_touches_no_other_clusters_files(
        clusters in prop::collection::vec((knobs(), 1u32..4), 1..4),
        added in knobs(),
        wave in 1u32..5,
    ) {
        let before = fleet_of(&clusters);
        let mut after = before.clone();
        let last = before.clusters.iter().map(|c| c.wave).max().unwrap();
        let name = format!("c{}", clusters.len());
        let mut cluster = Cluster::new(name.clone(), wave.min(last + 1))
            .with_override(overrides(added.0, added.1, added.2));
        cluster.flux_kube_config = Some(KubeConfigSecret::named(format!("{name}-kubeconfig")));
        after.clusters.push(cluster);
        for delivery in ENGINES {
            let (a, b) = (fleet_files(&valid(&before, delivery)), fleet_files(&valid(&after, delivery)));
            for path in changed(&a, &b) {
                let other = before.clusters.iter().any(|c| owned_by(&path, &c.name));
                prop_assert!(!other, "{path} changed when {name} was added");
                if owned_by(&path, &name) {
                    prop_assert!(!a.contains_key(&path), "{path} existed before");
                }
            }
        }
    }
}

#[test]
fn a_change_says_which_pods_of_which_cluster_roll() {
    use gatehouse_render::fleet::diff::{Roll, fleet_change};
    let before = example();
    let mut after = before.clone();
    // us-east: a redis.conf setting; ap-south: a Sentinel setting and the gateway's replicas.
    after.clusters[1].overrides.0["redis"]["replBacklogMegabytes"] = json!(64);
    after.clusters[2].overrides.0["redis"] = json!({"sentinel": {"parallelSyncs": 2}});
    after.clusters[2].overrides.0["gateway"]["replicas"] = json!(2);
    for delivery in ENGINES {
        let old = fleet_files(&valid(&before, delivery));
        let valid_after = valid(&after, delivery);
        let change = fleet_change(&valid_after, &fleet_files(&valid_after), &old);
        let rolls: BTreeMap<&str, Vec<Roll>> = change
            .clusters
            .iter()
            .map(|c| (c.cluster.as_str(), c.rolls.iter().copied().collect()))
            .collect();
        assert_eq!(rolls["eu-west"], []);
        assert_eq!(rolls["us-east"], [Roll::DataNodes]);
        assert_eq!(rolls["ap-south"], [Roll::Sentinels, Roll::Gateway]);
        assert_eq!(change.wave(1).filter(|c| !c.files.is_empty()).count(), 0);
        assert!(change.removed.is_empty() && !change.is_empty());
        // Against itself: nothing.
        let same = fleet_change(
            &valid_after,
            &fleet_files(&valid_after),
            &fleet_files(&valid_after),
        );
        assert!(same.is_empty());
    }
    // A cluster dropped from the fleet is reported as removed.
    let mut fewer = before.clone();
    fewer.clusters.pop();
    let valid_fewer = valid(&fewer, Delivery::Flux);
    let old = fleet_files(&valid(&before, Delivery::Flux));
    let change = fleet_change(&valid_fewer, &fleet_files(&valid_fewer), &old);
    assert_eq!(change.removed, ["ap-south"]);
}
