//! Every example builds and runs, and the config file describes the same deployment as the Rust
//! example and the built-in one.

use std::process::Command;

use gatehouse_render::{Format, render};

const CONFIG: &str = include_str!("../hybrid-gateway.yaml");

fn run(bin: &str, args: &[&str]) -> String {
    let output = Command::new(bin)
        .args(args)
        .output()
        .expect("the example runs");
    assert!(
        output.status.success(),
        "{bin} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn config_file_is_the_guide_example() {
    let from_file = gatehouse_model::load_yaml_str(CONFIG, "hybrid-gateway.yaml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        from_file.deployment(),
        &gatehouse_model::presets::guide_example()
    );
    assert!(
        from_file.warnings().is_empty(),
        "{:?}",
        from_file.warnings()
    );
}

#[test]
fn config_file_sets_every_field() {
    // Serializing the model lists every field; each must be written in the config file so that
    // the file documents the whole model.
    let full: serde_json::Value =
        serde_json::to_value(gatehouse_model::presets::guide_example()).unwrap();
    let written: serde_json::Value = serde_saphyr::from_str(CONFIG).unwrap();
    fn missing(
        full: &serde_json::Value,
        written: &serde_json::Value,
        path: &str,
        out: &mut Vec<String>,
    ) {
        if let (Some(full), Some(written)) = (full.as_object(), written.as_object()) {
            for (key, value) in full {
                let child = format!("{path}{key}.");
                match written.get(key) {
                    None => out.push(child.trim_end_matches('.').to_string()),
                    Some(w) => missing(value, w, &child, out),
                }
            }
        }
    }
    let mut absent = Vec::new();
    missing(&full, &written, "", &mut absent);
    assert!(
        absent.is_empty(),
        "hybrid-gateway.yaml leaves out {absent:?}"
    );
}

#[test]
fn hybrid_gateway_example_prints_the_built_in_rendering() {
    let printed = run(env!("CARGO_BIN_EXE_hybrid-gateway"), &[]);
    let built_in = render(
        &gatehouse_model::presets::guide_example()
            .validated()
            .unwrap(),
    )
    .to_text(Format::Yaml);
    assert_eq!(printed, built_in);
}

#[test]
fn production_example_writes_manifests_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let printed = run(env!("CARGO_BIN_EXE_production"), &[out]);
    assert!(printed.starts_with("wrote "), "{printed}");
    let values = std::fs::read_to_string(dir.path().join("values.yaml")).unwrap();
    assert!(
        values.contains("name: redis-auth"),
        "the password Secret is referenced:\n{values}"
    );
    let manifests = std::fs::read_dir(dir.path().join("manifests"))
        .unwrap()
        .count();
    assert_eq!(manifests, 10);
}

#[test]
fn fleet_example_gives_each_team_its_own_sentinels() {
    let printed = run(env!("CARGO_BIN_EXE_fleet"), &["payments", "search"]);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    assert!(
        lines[0].starts_with("payments: ")
            && lines[0].contains(".apim-payments.svc.cluster.local:26379")
    );
    assert!(
        lines[1].starts_with("search: ")
            && lines[1].contains(".apim-search.svc.cluster.local:26379")
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_fleet"))
        .arg("Bad_Team")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("namespace"),
        "the error names the field"
    );
}
