//! Build-time code generation for gatehouse-render. Each generator lives in its own file under
//! `build/` and writes one file into `OUT_DIR`; the chart values types come ready-made from
//! gatehouse-chart-contract's build script.

#[path = "build/crds.rs"]
mod crds;

fn main() {
    crds::generate();
    chart_values();
}

/// Pulls in the chart values types gatehouse-chart-contract's build generated from its contract
/// data (`contract/emitted.yaml`), so render fills exactly the keys the contract checks.
fn chart_values() {
    let values = std::env::var("DEP_GATEHOUSE_CHART_CONTRACT_VALUES_RS")
        .expect("gatehouse-chart-contract's build script hands over the values types");
    println!("cargo::rerun-if-env-changed=DEP_GATEHOUSE_CHART_CONTRACT_VALUES_RS");
    println!("cargo::rerun-if-changed={values}");
    println!("cargo::rustc-env=GATEHOUSE_CHART_VALUES_RS={values}");
}
