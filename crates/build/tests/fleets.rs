//! Fleet files compiled by a build script: one deployment per cluster, its overrides merged, and
//! a fleet's problems located in the fleet file.

use std::path::Path;

use gatehouse_build::Builder;
use gatehouse_model::Delivery;

fn compile(
    fleets: &Path,
    out: &Path,
    delivery: Delivery,
) -> Result<gatehouse_build::Compiled, gatehouse_build::Error> {
    Builder::new()
        .fleets_in(fleets, delivery)
        .out_dir(out)
        .emit_cargo_directives(false)
        .compile()
}

#[test]
fn each_cluster_of_a_fleet_becomes_a_deployment() {
    let (fleets, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(
        fleets.path().join("gateways.yaml"),
        include_str!("../../../examples/fleet.yaml"),
    )
    .unwrap();
    let compiled = compile(fleets.path(), out.path(), Delivery::Flux).unwrap();
    let names: Vec<&str> = compiled
        .deployments
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["gateways_eu_west", "gateways_us_east", "gateways_ap_south"]
    );
    let code = std::fs::read_to_string(out.path().join("gatehouse.rs")).unwrap();
    assert!(code.contains("pub fn gateways_us_east()"), "{code}");
    // us-east's override (3 Redis replicas) is in its model, not in eu-west's.
    let model = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(out.path().join(format!("gatehouse/{name}/model.json")))
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    assert_eq!(model("gateways_us_east")["redis"]["replicas"], 3);
    assert_eq!(model("gateways_eu_west")["redis"]["replicas"], 2);
    // Each digest differs from the others: the clusters' outputs are their own.
    let digests: std::collections::BTreeSet<&str> = compiled
        .deployments
        .iter()
        .map(|d| d.digest.as_str())
        .collect();
    assert_eq!(digests.len(), 3);
}

#[test]
fn a_fleets_problems_fail_the_build_at_the_cluster_and_field() {
    let (fleets, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bad = include_str!("../../../examples/fleet.yaml")
        .replace("redis: {replicas: 3}", "redis: {replicas: 0}");
    let file = fleets.path().join("gateways.yaml");
    std::fs::write(&file, bad).unwrap();
    let error = compile(fleets.path(), out.path(), Delivery::ArgoCd).unwrap_err();
    let lines: Vec<String> = error.diagnostics().iter().map(|d| d.to_string()).collect();
    let at = format!("{}:", file.display());
    assert!(
        lines.iter().any(|l| l.starts_with(&at)
            && l.contains(
                "error: clusters[1].overrides.redis.replicas: cluster us-east: 0 replicas"
            )),
        "{lines:#?}"
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "nothing is written"
    );
}
