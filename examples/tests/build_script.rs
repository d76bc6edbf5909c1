//! The build-script example: its deployments, compiled by gatehouse-build at build time, equal
//! what loading and rendering the config files gives now, and its binary prints them.

use std::path::Path;
use std::process::Command;

use gatehouse_example_build_script::deployments;
use gatehouse_render::{Format, render};

fn example_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/build-script"))
}

/// Loads a config of the example the way `render --config` does.
fn load(source: &str) -> gatehouse_model::ValidDeployment {
    let text = std::fs::read_to_string(example_dir().join(source)).unwrap();
    gatehouse_model::load_yaml_str(&text, source).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_config_is_compiled_and_equals_a_fresh_render() {
    let mut on_disk: Vec<String> = std::fs::read_dir(example_dir().join("deploy"))
        .unwrap()
        .map(|e| format!("deploy/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    on_disk.sort();
    let compiled: Vec<&str> = deployments::ALL.iter().map(|c| c.source).collect();
    assert_eq!(compiled, on_disk);
    for compiled in deployments::ALL {
        let fresh = load(compiled.source);
        let from_build = (compiled.deployment)();
        assert_eq!(from_build, fresh, "{}", compiled.source);
        let text = render(&fresh).to_text(Format::Yaml);
        assert_eq!(compiled.rendered, text, "{}", compiled.source);
        assert_eq!(compiled.manifests, render(&fresh).manifests_yaml());
        assert!(compiled.rendered.ends_with(compiled.helm_values));
    }
    assert_eq!(deployments::production().namespace, "apim-prod");
    assert_eq!(
        deployments::production::DIGEST,
        deployments::ALL[0].digest,
        "ALL follows file order"
    );
}

#[test]
fn the_binary_prints_what_render_config_prints() {
    // The example is another package: cargo builds (if needed) and runs it.
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "run",
            "--offline",
            "--quiet",
            "-p",
            "gatehouse-example-build-script",
            "--",
            "production",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = render(&load("deploy/production.yaml")).to_text(Format::Yaml);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
}
