//! The values gatehouse emits read back by a YAML 1.1 parser (PyYAML, as Helm's parser reads
//! `on`, `no`, `12:30`, ...) equal the intended JSON: no string turned into a bool, number or null.

mod common;

use std::process::Command;

use gatehouse_model::Deployment;
use gatehouse_model::arbitrary::{YAML_11_TRAPS, valid_deployment};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::Value;

fn render(d: &Deployment) -> (String, Value) {
    let valid = d.clone().validated().expect("valid");
    let helm = gatehouse_render::render(&valid).helm;
    (
        helm.values_yaml(),
        serde_json::to_value(&helm.values).unwrap(),
    )
}

/// Parses every document with PyYAML's safe_load (YAML 1.1) and returns them as JSON.
fn pyyaml_load_all(documents: &[String]) -> Vec<Value> {
    let script = "import sys, json, yaml\nprint(json.dumps(list(yaml.safe_load_all(sys.stdin))))";
    let out = gatehouse_testkit::output_with_stdin(
        Command::new("python3").args(["-c", script]),
        &documents.join("---\n"),
    );
    assert!(out.status.success(), "PyYAML refused the values");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn values_survive_a_yaml_11_parse_unchanged() {
    if !common::pyyaml_available() {
        return;
    }
    // The example in every supported chart line, then traps, then generated models.
    let mut models: Vec<Deployment> = gatehouse_chart::SUPPORTED
        .iter()
        .map(|c| Deployment::guide_example().with_gateway_version(c.imported_from))
        .collect();
    // Every trap in free-form fields: annotations and env values.
    let mut trap = Deployment::guide_example();
    for (i, t) in YAML_11_TRAPS.iter().enumerate() {
        trap.gateway
            .pod_annotations
            .insert(format!("example.com/k{i}"), t.to_string());
        trap.gateway.env.push(gatehouse_model::EnvVar {
            name: format!("V{i}"),
            value: t.to_string(),
        });
    }
    trap = trap.with_plugin("https://p.example.com/x-1.zip", Some(&"0".repeat(64)));
    models.push(trap);
    let mut runner = TestRunner::deterministic();
    let strategy = valid_deployment();
    for _ in 0..64 {
        models.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    let (texts, intended): (Vec<String>, Vec<Value>) = models.iter().map(render).unzip();
    let parsed = pyyaml_load_all(&texts);
    assert_eq!(parsed.len(), intended.len());
    for (i, (got, want)) in parsed.iter().zip(&intended).enumerate() {
        assert_eq!(
            got, want,
            "model {i} changed through YAML 1.1:\n{}",
            texts[i]
        );
    }
    // The check can fail: an unquoted `on` does change.
    let naive = pyyaml_load_all(&["a: on\nb: 12:30\n".to_string()]);
    assert_ne!(naive[0], serde_json::json!({"a": "on", "b": "12:30"}));
}
