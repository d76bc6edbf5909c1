//! A fleet rendered to a GitOps directory (`gatehouse fleet render --gitops`, in-process): the
//! fleet of N clusters (the built-in example as base, each cluster with its own namespace override
//! and kubeconfig Secret, in four waves) is validated for Flux, rendered, and every file written to
//! a directory (the first iteration creates the files, the others replace them, as a re-render of
//! a committed directory does). Sizes 125, 250, 500 and 1,000 give the growth exponent.

use std::path::Path;

use gatehouse_model::{Cluster, Delivery, Fleet, KubeConfigSecret, SecretSource};

/// Fleet sizes of the series (the goal is set at the largest).
pub const SIZES: [usize; 4] = [125, 250, 500, 1_000];
/// Waves the clusters are spread over.
const WAVES: usize = 4;

/// A fleet of `size` clusters.
pub fn fleet(size: usize) -> Fleet {
    let mut fleet = Fleet::default();
    fleet.gitops.repository = Some("https://git.example.com/platform/gateways.git".into());
    fleet.base = gatehouse_model::Deployment::guide_example();
    // GitOps: secrets by reference only.
    let secret = |key: &str| SecretSource::ExistingSecret {
        name: "gravitee".into(),
        key: key.into(),
    };
    fleet.base.redis.password = secret("redis");
    fleet.base.gateway.license_key = Some(secret("license"));
    fleet.base.gateway.cloud_token = secret("token");
    fleet.clusters = (0..size)
        .map(|i| {
            let mut cluster = Cluster::new(format!("c{i:05}"), (i % WAVES) as u32 + 1)
                .with_label("region", format!("r{}", i % 7))
                .with_override(serde_json::json!({"namespace": format!("apim-{i:05}")}));
            cluster.flux_kube_config = Some(KubeConfigSecret::named(format!("c{i:05}-kubeconfig")));
            cluster
        })
        .collect();
    fleet
}

/// Validates and renders the fleet's directory in memory; returns its bytes.
pub fn render(fleet: &Fleet) -> usize {
    let valid = fleet
        .clone()
        .validated(Delivery::Flux)
        .expect("the bench fleet is valid");
    gatehouse_render::fleet::fleet_files(&valid)
        .values()
        .map(String::len)
        .sum()
}

/// Validates, renders and writes the fleet's directory under `dir`, replacing the files of the
/// previous iteration as a re-run of `fleet render` replaces its own; returns the bytes written.
pub fn render_to(fleet: &Fleet, dir: &Path) -> usize {
    let valid = fleet
        .clone()
        .validated(Delivery::Flux)
        .expect("the bench fleet is valid");
    let files = gatehouse_render::fleet::fleet_files(&valid);
    let mut bytes = 0;
    for (name, text) in &files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a directory of the bench output");
        }
        std::fs::write(&path, text).expect("write a bench output file");
        bytes += text.len();
    }
    bytes
}
