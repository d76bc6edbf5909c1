//! The kept schema subsets (`crates/render/crds/<family>/*.yaml`, which the custom resource types
//! are generated from):
//! - agree with the upstream CRDs in `../shared/upstream/<family>-crds` when that folder exists
//!   (field names, types, required lists and constraints, through arrays' items and maps' values;
//!   skip-or-fail when it does not);
//! - the custom objects gatehouse renders pass their subset as a closed JSON Schema (Python's
//!   `jsonschema`), so a field outside the subset fails too;
//! - `render --gitops`'s directory builds with `kubectl kustomize`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use gatehouse_render::crds::{SUBSETS, Subset};
use gatehouse_render::{Rendered, render};
use serde_json::{Value, json};

/// The schema keywords a subset keeps; each must equal the CRD's, and the CRD may not add one.
const KEYWORDS: [&str; 15] = [
    "type",
    "required",
    "enum",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "anyOf",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-map-type",
];

fn subset(kind: &str) -> Value {
    Subset::of(kind).unwrap().document()
}

fn rendered() -> Rendered {
    render(
        &gatehouse_model::Deployment::guide_example()
            .validated()
            .unwrap(),
    )
}

/// A keyword's value, with `required` compared as a set.
fn keyword(node: &Value, key: &str) -> Value {
    match (key, node.get(key)) {
        ("required", Some(Value::Array(items))) => {
            let set: BTreeSet<String> = items.iter().map(|v| v.to_string()).collect();
            json!(set)
        }
        (_, value) => value.cloned().unwrap_or(Value::Null),
    }
}

/// Every difference between a subset and the upstream CRD, as `path: what`.
fn drift(subset: &Value, crd: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let names = &crd["spec"]["names"];
    for (ours, theirs) in [
        ("group", &crd["spec"]["group"]),
        ("kind", &names["kind"]),
        ("plural", &names["plural"]),
        ("scope", &crd["spec"]["scope"]),
    ] {
        if &subset[ours] != theirs {
            found.push(format!("{ours}: ours {} upstream {theirs}", subset[ours]));
        }
    }
    let version = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == subset["version"]);
    let Some(version) = version else {
        found.push(format!(
            "version {} is not served upstream",
            subset["version"]
        ));
        return found;
    };
    if version["served"] != json!(true) || version["storage"] != json!(true) {
        found.push(format!(
            "version {} is not served and stored",
            subset["version"]
        ));
    }
    let spec = &version["schema"]["openAPIV3Schema"]["properties"]["spec"];
    compare("spec", &subset["spec"], spec, &mut found);
    found
}

fn compare(path: &str, ours: &Value, theirs: &Value, found: &mut Vec<String>) {
    if theirs.is_null() {
        found.push(format!("{path}: not in the upstream schema"));
        return;
    }
    for key in KEYWORDS {
        let (a, b) = (keyword(ours, key), keyword(theirs, key));
        if a != b {
            found.push(format!("{path}: {key} is {a} here but {b} upstream"));
        }
    }
    if let Some(properties) = ours["properties"].as_object() {
        for (name, child) in properties {
            compare(
                &format!("{path}.{name}"),
                child,
                &theirs["properties"][name],
                found,
            );
        }
    }
    if let Some(items) = ours.get("items") {
        compare(&format!("{path}[]"), items, &theirs["items"], found);
    }
    if let Some(values) = ours.get("additionalProperties").filter(|v| v.is_object()) {
        compare(
            &format!("{path}.*"),
            values,
            &theirs["additionalProperties"],
            found,
        );
    }
}

fn upstream_crds(family: &str) -> Option<PathBuf> {
    let dir = gatehouse_testkit::workspace_root().join(format!("../shared/upstream/{family}-crds"));
    if dir.is_dir() {
        Some(dir)
    } else {
        gatehouse_testkit::skip_or_fail(
            &format!("the upstream CRDs (../shared/upstream/{family}-crds)"),
            "check the repository out next to the shared folder",
        );
        None
    }
}

#[test]
fn subsets_agree_with_the_upstream_crds() {
    assert!(!SUBSETS.is_empty());
    for kept in SUBSETS {
        let Some(dir) = upstream_crds(kept.family) else {
            return;
        };
        let (kind, ours) = (kept.kind, kept.document());
        let file = dir.join(ours["crd"].as_str().unwrap());
        let crd: Value = serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let found = drift(&ours, &crd);
        assert!(
            found.is_empty(),
            "{kind} drifted from {}:\n{}",
            file.display(),
            found.join("\n")
        );
    }
}

#[test]
fn drift_is_found_field_by_field() {
    let Some(dir) = upstream_crds("flux") else {
        return;
    };
    let mut ours = subset("HelmRelease");
    let crd: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(dir.join(ours["crd"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let chart = &mut ours["spec"]["properties"]["chart"]["properties"]["spec"];
    chart["properties"]["version"]["type"] = json!("integer");
    chart["required"] = json!(["chart"]);
    chart["properties"]["sourceRef"]["properties"]["kind"]["enum"] = json!(["HelmRepository"]);
    ours["spec"]["properties"]["valuez"] = json!({"type": "string"});
    ours["plural"] = json!("helmrelease");
    let found = drift(&ours, &crd);
    for expected in [
        "spec.chart.spec.version: type",
        "spec.chart.spec: required",
        "spec.chart.spec.sourceRef.kind: enum",
        "spec.valuez: not in the upstream schema",
        "plural:",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "{expected} not found in {found:#?}"
        );
    }
    assert_eq!(found.len(), 5, "{found:#?}");
}

#[test]
fn drift_is_found_inside_lists_and_maps() {
    let crd = json!({"spec": {
        "group": "example.io", "scope": "Namespaced",
        "names": {"kind": "Thing", "plural": "things"},
        "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"properties": {"spec": {
            "type": "object",
            "properties": {
                "steps": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true},
                }}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }}}}}],
    }});
    let mut ours = json!({
        "group": "example.io", "version": "v1", "kind": "Thing", "plural": "things", "scope": "Namespaced",
        "spec": crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone(),
    });
    assert_eq!(drift(&ours, &crd), Vec::<String>::new());
    let step = &mut ours["spec"]["properties"]["steps"]["items"];
    step["properties"]["name"]["minLength"] = json!(2);
    step["properties"]["port"]["x-kubernetes-int-or-string"] = Value::Null;
    ours["spec"]["properties"]["labels"]["additionalProperties"]["type"] = json!("integer");
    let found = drift(&ours, &crd);
    for expected in [
        "spec.steps[].name: minLength",
        "spec.steps[].port: x-kubernetes-int-or-string",
        "spec.labels.*: type",
    ] {
        assert!(
            found.iter().any(|f| f.starts_with(expected)),
            "{expected} not found in {found:#?}"
        );
    }
    assert_eq!(found.len(), 3, "{found:#?}");
}

fn object_schema(kind: &str) -> Value {
    Subset::of(kind)
        .unwrap_or_else(|| panic!("no subset is kept for {kind}"))
        .closed_object_schema()
}

fn jsonschema_errors(schema: &Value, instance: &Value) -> Option<Vec<String>> {
    gatehouse_testkit::jsonschema_errors(schema, instance)
}

#[test]
fn rendered_custom_objects_pass_the_subset_schema_and_a_stray_field_does_not() {
    let example = std::fs::read_to_string(
        gatehouse_testkit::workspace_root().join("examples/hybrid-gateway.yaml"),
    )
    .unwrap();
    let example = render(&gatehouse_model::load_yaml_str(&example, "hybrid-gateway.yaml").unwrap());
    let guide = rendered();
    let mut checked = BTreeSet::new();
    for r in [&guide, &example] {
        for object in r.objects.iter().chain(&r.flux_objects()) {
            if Subset::of(object.kind()).is_none() {
                continue;
            }
            let schema = object_schema(object.kind());
            let instance = object.to_json();
            let Some(errors) = jsonschema_errors(&schema, &instance) else {
                return;
            };
            assert!(errors.is_empty(), "{}: {errors:#?}", object.display_name());
            let mut stray = instance.clone();
            stray["spec"]["gatehouseStray"] = json!("1h");
            let errors = jsonschema_errors(&schema, &stray).unwrap();
            assert_eq!(errors.len(), 1, "{}: {errors:#?}", object.display_name());
            checked.insert(object.kind().to_owned());
        }
    }
    for kind in [
        "HelmRelease",
        "PodMonitor",
        "ServiceMonitor",
        "PrometheusRule",
    ] {
        assert!(checked.contains(kind), "{kind} not checked: {checked:?}");
    }
    let mut bad = guide.flux_objects()[1].to_json();
    bad["spec"]["interval"] = json!("every hour");
    assert_eq!(
        jsonschema_errors(&object_schema("HelmRelease"), &bad)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn gitops_directory_builds_with_kubectl_kustomize() {
    let Some(kubectl) = gatehouse_testkit::external_tool("kubectl", "install kubectl") else {
        return;
    };
    let r = rendered();
    let dir = tempfile::tempdir().unwrap();
    let files = gatehouse_render::gitops::gitops_files(&r);
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let output = Command::new(kubectl)
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let built: Vec<Value> = serde_saphyr::from_multiple(&stdout).unwrap();
    assert_eq!(built.len(), r.objects.len() + 2);
    for object in r.objects.iter().chain(&r.flux_objects()) {
        assert!(
            built
                .iter()
                .any(|b| b["kind"] == object.kind() && b["metadata"]["name"] == object.name()),
            "{} missing from the kustomize build",
            object.display_name()
        );
    }
    let release = built.iter().find(|b| b["kind"] == "HelmRelease").unwrap();
    assert_eq!(release, &r.flux_objects()[1].to_json());
}
