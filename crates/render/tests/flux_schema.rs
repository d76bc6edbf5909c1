//! The Flux schema subsets (`crates/render/flux/*.yaml`, which the Flux types are generated from):
//! - agree with the upstream CRDs in `../shared/upstream/flux-crds` when that folder exists (field
//!   names, types, required lists and constraints; skip-or-fail when it does not);
//! - the Flux objects gatehouse renders pass the subset as a JSON Schema (Python's `jsonschema`),
//!   with every object closed, so a field outside the subset fails too;
//! - `render --gitops`'s directory builds with `kubectl kustomize`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use gatehouse_render::flux::SUBSETS;
use gatehouse_render::{Rendered, render};
use serde_json::{Value, json};

/// The schema keywords a subset keeps; each must equal the CRD's, and the CRD may not add one.
const KEYWORDS: [&str; 7] = [
    "type",
    "required",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "x-kubernetes-preserve-unknown-fields",
];

fn subset(kind: &str) -> Value {
    let (_, text) = SUBSETS.iter().find(|(k, _)| *k == kind).unwrap();
    serde_saphyr::from_str(text).unwrap()
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
}

fn upstream_crds() -> Option<PathBuf> {
    let dir = gatehouse_testkit::workspace_root().join("../shared/upstream/flux-crds");
    if dir.is_dir() {
        Some(dir)
    } else {
        gatehouse_testkit::skip_or_fail(
            "the upstream Flux CRDs (../shared/upstream/flux-crds)",
            "check the repository out next to the shared folder",
        );
        None
    }
}

#[test]
fn subsets_agree_with_the_upstream_crds() {
    let Some(dir) = upstream_crds() else { return };
    for (kind, _) in SUBSETS {
        let ours = subset(kind);
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
    let Some(dir) = upstream_crds() else { return };
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

/// The subset of `kind` as a closed JSON Schema for the whole object.
fn object_schema(kind: &str) -> Value {
    fn close(node: &mut Value) {
        if let Some(properties) = node.get_mut("properties").and_then(Value::as_object_mut) {
            for child in properties.values_mut() {
                close(child);
            }
            node["additionalProperties"] = json!(false);
        }
    }
    let ours = subset(kind);
    let mut spec = ours["spec"].clone();
    close(&mut spec);
    json!({
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": false,
        "properties": {
            "apiVersion": {"const": format!("{}/{}", ours["group"].as_str().unwrap(), ours["version"].as_str().unwrap())},
            "kind": {"const": kind},
            "metadata": {"type": "object"},
            "spec": spec,
        },
    })
}

/// Validates `instance` against `schema` with Python's `jsonschema`; `Some(errors)` (empty when
/// valid), or `None` after skip-or-fail when Python or the module is missing.
fn jsonschema_errors(schema: &Value, instance: &Value) -> Option<Vec<String>> {
    let python = gatehouse_testkit::external_tool("python3", "apt-get install python3")?;
    let probe = Command::new(&python)
        .args(["-c", "import jsonschema"])
        .status()
        .unwrap();
    if !probe.success() {
        gatehouse_testkit::skip_or_fail("Python's jsonschema module", "pip install jsonschema");
        return None;
    }
    let script = "import json, sys, jsonschema\n\
        d = json.load(sys.stdin)\n\
        v = jsonschema.Draft202012Validator(d['schema'])\n\
        for e in v.iter_errors(d['instance']):\n    print('/'.join(map(str, e.absolute_path)) + ': ' + e.message)\n";
    let input = json!({"schema": schema, "instance": instance}).to_string();
    let output =
        gatehouse_testkit::output_with_stdin(Command::new(python).args(["-c", script]), &input);
    assert!(output.status.success(), "the validator failed to run");
    Some(
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(String::from)
            .collect(),
    )
}

#[test]
fn rendered_flux_objects_pass_the_subset_schema_and_a_stray_field_does_not() {
    let r = rendered();
    for object in r.flux_objects() {
        let schema = object_schema(object.kind());
        let instance = object.to_json();
        let Some(errors) = jsonschema_errors(&schema, &instance) else {
            return;
        };
        assert!(errors.is_empty(), "{}: {errors:#?}", object.display_name());
        let mut stray = instance.clone();
        stray["spec"]["intervall"] = json!("1h");
        stray["spec"]["interval"] = json!("every hour");
        let errors = jsonschema_errors(&schema, &stray).unwrap();
        assert_eq!(errors.len(), 2, "{}: {errors:#?}", object.display_name());
    }
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
