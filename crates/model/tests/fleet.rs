//! The fleet file: located errors, the fleet rules, and each cluster's merged deployment.

use gatehouse_model::{
    Cluster, Delivery, Fleet, FleetConfigError, Severity, fleet_from_yaml_str, load_fleet_yaml_str,
};

const FLEET: &str = "\
name: apim
gitops: {repository: https://git.example.com/platform.git}
base:
  namespace: apim
  redis:
    password: {from: existingSecret, name: redis, key: password}
  gateway:
    licenseKey: {from: existingSecret, name: gravitee, key: license}
    cloudToken: {from: existingSecret, name: gravitee, key: token}
clusters:
  - name: eu-west
    wave: 1
    labels: {region: eu}
  - name: us-east
    wave: 2
    fluxKubeConfig: {name: us-east-kubeconfig}
    overrides:
      gateway: {version: 4.10.0}
  - name: ap-south
    wave: 2
    fluxKubeConfig: {name: ap-south-kubeconfig}
    overrides:
      redis: {replicas: 0}
";

fn invalid(yaml: &str, delivery: Delivery) -> (Vec<String>, gatehouse_model::FleetError) {
    match load_fleet_yaml_str(yaml, "fleet.yaml", delivery) {
        Err(FleetConfigError::Invalid { located, error, .. }) => (located, error),
        other => panic!("expected validation problems, got {other:?}"),
    }
}

#[test]
fn a_problem_in_one_clusters_override_is_located_there_and_names_the_cluster() {
    let (located, error) = invalid(FLEET, Delivery::Direct);
    let replicas = error
        .problems
        .iter()
        .find(|p| p.path == "clusters[2].overrides.redis.replicas")
        .unwrap_or_else(|| panic!("{error}"));
    assert_eq!(replicas.severity, Severity::Error);
    assert!(
        replicas.message.starts_with("cluster ap-south: "),
        "{replicas}"
    );
    assert!(
        located
            .iter()
            .any(|l| l.contains("fleet.yaml:23:15: error: clusters[2].overrides.redis.replicas")),
        "{located:#?}"
    );
    // Direct delivery needs each cluster's context; the other clusters' deployments are fine.
    for i in 0..3 {
        assert!(error.has_path(&format!("clusters[{i}].context")), "{error}");
    }
    assert!(
        !error
            .problems
            .iter()
            .any(|p| p.message.contains("us-east") && p.path.contains("overrides")),
        "{error}"
    );
}

#[test]
fn unknown_fields_in_overrides_are_located_with_their_path() {
    let yaml = FLEET.replace("{replicas: 0}", "{replica: 3}");
    let error = fleet_from_yaml_str(&yaml, "fleet.yaml").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("fleet.yaml:23:15: clusters[2].overrides.redis.replica: unknown field"),
        "{error}"
    );
}

#[test]
fn overrides_keep_the_value_as_the_deployment_reads_it() {
    let fleet = fleet_from_yaml_str(FLEET, "fleet.yaml").unwrap();
    let us = fleet.merged(&fleet.clusters[1]).unwrap();
    // Unquoted `4.10.0` is text to a deployment; only the written field differs from the base.
    assert_eq!(us.gateway.version, "4.10.0");
    assert_eq!(us.redis, fleet.base.redis);
    assert_eq!(
        fleet.clusters[1].overrides.0,
        serde_json::json!({"gateway": {"version": "4.10.0"}})
    );
}

#[test]
fn a_valid_gitops_fleet_merges_each_cluster() {
    let yaml = FLEET.replace("{replicas: 0}", "{replicas: 3}");
    let valid = load_fleet_yaml_str(&yaml, "fleet.yaml", Delivery::Flux).unwrap();
    let replicas: Vec<u32> = valid
        .clusters()
        .iter()
        .map(|c| c.deployment.redis.replicas)
        .collect();
    assert_eq!(replicas, vec![2, 2, 3]);
    assert_eq!(valid.last_wave(), 2);
    assert_eq!(valid.wave(2).count(), 2);
    // Generated ACL passwords: nothing generates them in Git, so each is a warning.
    assert!(
        valid
            .warnings()
            .iter()
            .any(|w| w.path == "base.redis.acl.operator.password"
                && w.message.starts_with("every cluster (3): ")),
        "{:#?}",
        valid.warnings()
    );
}

#[test]
fn gitops_fleets_refuse_secrets_from_the_environment() {
    let yaml = FLEET.replace(
        "redis: {replicas: 0}",
        "{redis: {replicas: 3}, gateway: {licenseKey: {from: env, variable: LICENSE}}}",
    );
    let (_, error) = invalid(&yaml, Delivery::ArgoCd);
    let license = error
        .problems
        .iter()
        .find(|p| p.path == "clusters[2].overrides.gateway.licenseKey")
        .unwrap_or_else(|| panic!("{error}"));
    assert!(
        license
            .message
            .starts_with("cluster ap-south: a GitOps fleet"),
        "{license}"
    );
    assert!(license.fix.contains("from: existingSecret"), "{license}");
    // The same fleet is fine for direct delivery, where deploy reads the variable.
    let mut direct = fleet_from_yaml_str(&yaml, "f").unwrap();
    direct.clusters = std::mem::take(&mut direct.clusters)
        .into_iter()
        .map(|c| {
            let context = format!("ctx-{}", c.name);
            c.with_context(context)
        })
        .collect();
    let problems = direct.validate(Delivery::Direct);
    assert!(
        problems.iter().all(|p| p.severity != Severity::Error),
        "{problems:#?}"
    );
}

fn fleet_of(clusters: Vec<Cluster>) -> Fleet {
    let mut fleet = fleet_from_yaml_str(FLEET, "fleet.yaml").unwrap();
    fleet.gitops.repository = Some("https://git.example.com/x.git".into());
    fleet.clusters = clusters;
    fleet
}

#[test]
fn names_are_unique_and_waves_have_no_gaps() {
    let fleet = fleet_of(vec![
        Cluster::new("a", 1),
        Cluster::new("a", 3).with_override(serde_json::json!({"namespace": "other"})),
        Cluster::new("Bad_Name", 3),
    ]);
    let error = fleet.validated(Delivery::Flux).unwrap_err();
    assert!(error.has_path("clusters[1].name"), "{error}");
    assert!(error.has_path("clusters[2].name"), "{error}");
    assert!(
        error
            .problems
            .iter()
            .any(|p| p.path == "clusters" && p.message.contains("no cluster is in wave 2")),
        "{error}"
    );
}

#[test]
fn canaries_make_up_the_first_wave() {
    let mut canary = Cluster::new("canary", 2);
    canary.canary = true;
    let fleet = fleet_of(vec![
        Cluster::new("first", 1).with_override(serde_json::json!({"namespace": "a"})),
        canary,
    ]);
    let error = fleet.validated(Delivery::Flux).unwrap_err();
    assert!(error.has_path("clusters[0].wave"), "{error}");
    assert!(error.has_path("clusters[1].wave"), "{error}");
}

#[test]
fn two_clusters_writing_the_same_namespace_of_one_cluster_are_refused() {
    // Without a kubeconfig Secret both would land on the Flux hub's own cluster.
    let fleet = fleet_of(vec![Cluster::new("a", 1), Cluster::new("b", 1)]);
    let error = fleet.clone().validated(Delivery::Flux).unwrap_err();
    assert!(error.has_path("clusters[1].overrides.namespace"), "{error}");
    // Argo CD sends each to its own cluster by name.
    assert!(fleet.validated(Delivery::ArgoCd).is_ok());
}

#[test]
fn reserved_and_malformed_labels_are_refused() {
    let fleet = fleet_of(vec![
        Cluster::new("a", 1)
            .with_label("wave", "1")
            .with_label("region", "eu west"),
    ]);
    let error = fleet.validated(Delivery::ArgoCd).unwrap_err();
    assert!(error.has_path("clusters[0].labels.wave"), "{error}");
    assert!(error.has_path("clusters[0].labels.region"), "{error}");
}

#[test]
fn the_repository_and_its_path_must_suit_the_engine() {
    let mut fleet = fleet_of(vec![Cluster::new("a", 1)]);
    fleet.gitops.repository = Some("git@git.example.com:platform.git".into());
    fleet.gitops.path = "../outside".into();
    let error = fleet.clone().validated(Delivery::Flux).unwrap_err();
    assert!(error.has_path("gitops.repository"), "{error}");
    assert!(error.has_path("gitops.path"), "{error}");
    // Argo CD reads scp-like Git URLs; the path rule holds for both.
    let error = fleet.validated(Delivery::ArgoCd).unwrap_err();
    assert!(!error.has_path("gitops.repository"), "{error}");
    assert!(error.has_path("gitops.path"), "{error}");
}
