//! Deployments compiled into the program: `build.rs` validated and rendered `deploy/*.yaml` with
//! gatehouse-build, so nothing is parsed or rendered at run time.

/// The deployments of `deploy/`: `production()`, `staging()` (each a validated
/// `gatehouse_model::ValidDeployment`), the modules `production` and `staging` with the rendered
/// manifests, Helm values and digest, and `ALL`.
pub mod deployments {
    include!(concat!(env!("OUT_DIR"), "/gatehouse.rs"));
}
