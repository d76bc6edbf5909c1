//! Custom resource types generated at build time (`build/crds.rs`) from the schema subsets the
//! project keeps in `crates/render/crds/<family>/<kind>.yaml`: only the fields gatehouse sets, with
//! their types. A field a subset does not declare cannot be set; a required one cannot be left out.
//! The types implement k8s-openapi's `Resource` and `Metadata`, like the built-in kinds, so the
//! kinds table (`kinds.rs`) reads their group, version and plural from them.
//!
//! Adding a kind: write its subset file (the identity, `crd:` naming the upstream file in
//! `../shared/upstream/<family>-crds`, and the `spec` fields gatehouse sets with the upstream
//! keywords), add a line to `object_kinds!`. `tests/crd_schema.rs` checks every subset against its
//! upstream CRD and every rendered object against its subset.
//!
//! ```
//! use k8s_openapi::Resource;
//! assert_eq!(gatehouse_render::crds::flux::HelmRelease::API_VERSION, "helm.toolkit.fluxcd.io/v2");
//! assert!(gatehouse_render::crds::SUBSETS.iter().any(|s| s.kind == "HelmRepository"));
//! ```

use serde_json::{Value, json};

include!(concat!(env!("OUT_DIR"), "/crds.rs"));

/// One kept schema subset file.
#[derive(Debug, Clone, Copy)]
pub struct Subset {
    /// The family directory (`flux`, `argocd`, `prometheus-operator`, `cert-manager`); the upstream
    /// CRDs it was written from are in `../shared/upstream/<family>-crds`.
    pub family: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// The file, relative to `crates/render`.
    pub file: &'static str,
    /// The file's text.
    pub text: &'static str,
}

impl Subset {
    /// The subset of `kind`, if the project keeps one.
    pub fn of(kind: &str) -> Option<&'static Subset> {
        SUBSETS.iter().find(|s| s.kind == kind)
    }

    /// The subset file as data.
    pub fn document(&self) -> Value {
        serde_saphyr::from_str(self.text).expect("a kept subset parses (the build read it)")
    }

    /// A JSON Schema for a whole object of this kind in which every object is closed (no field
    /// outside the subset), so an object gatehouse renders can be checked against exactly the
    /// fields and constraints the project keeps.
    pub fn closed_object_schema(&self) -> Value {
        fn close(node: &mut Value) {
            if let Some(properties) = node.get_mut("properties").and_then(Value::as_object_mut) {
                for child in properties.values_mut() {
                    close(child);
                }
                node["additionalProperties"] = json!(false);
            }
            if let Some(items) = node.get_mut("items") {
                close(items);
            }
            if let Some(values) = node
                .get_mut("additionalProperties")
                .filter(|v| v.is_object())
            {
                close(values);
            }
        }
        let ours = self.document();
        let mut spec = ours["spec"].clone();
        close(&mut spec);
        json!({
            "type": "object",
            "required": ["apiVersion", "kind", "metadata", "spec"],
            "additionalProperties": false,
            "properties": {
                "apiVersion": {"const": format!("{}/{}", ours["group"].as_str().unwrap_or_default(), ours["version"].as_str().unwrap_or_default())},
                "kind": {"const": self.kind},
                "metadata": {"type": "object"},
                "spec": spec,
            },
        })
    }
}
