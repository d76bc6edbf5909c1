//! Flux's `HelmRepository` (`source.toolkit.fluxcd.io/v1`) and `HelmRelease`
//! (`helm.toolkit.fluxcd.io/v2`) as Rust types, generated at build time (`build/flux.rs`) from the
//! schema subsets in `crates/render/flux/`: only the fields gatehouse sets, with their types. A field
//! gatehouse does not declare there cannot be set; a required one cannot be left out. The types
//! implement k8s-openapi's `Resource` and `Metadata`, like the built-in kinds.
//!
//! ```
//! use k8s_openapi::Resource;
//! assert_eq!(gatehouse_render::flux::HelmRelease::API_VERSION, "helm.toolkit.fluxcd.io/v2");
//! ```

include!(concat!(env!("OUT_DIR"), "/flux.rs"));

/// The subset files the types are generated from, by kind: (kind, file text). The tests check them
/// against the upstream CRDs and the rendered objects against them.
pub const SUBSETS: [(&str, &str); 2] = [
    (
        "HelmRepository",
        include_str!("../flux/helmrepository.yaml"),
    ),
    ("HelmRelease", include_str!("../flux/helmrelease.yaml")),
];
