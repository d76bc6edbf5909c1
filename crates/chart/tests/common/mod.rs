//! Helpers shared by the integration tests: the chart's values files, the guide's values, and the
//! rule for optional external tools.

#![allow(dead_code)]

use std::path::PathBuf;

use gatehouse_chart::ValuesPaths;
use serde_json::Value;

/// `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// The documented paths of both chart versions: (label, paths).
pub fn chart_paths() -> Vec<(&'static str, ValuesPaths)> {
    [
        ("4.9.32", "upstream/gravitee-apim-chart/4.9.32/values.yaml"),
        ("4.12.17", "upstream/gravitee-apim-chart/values.yaml"),
    ]
    .into_iter()
    .map(|(label, rel)| {
        let path = shared_dir().join(rel);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let paths = ValuesPaths::from_values_yaml(&text);
        assert!(
            paths.len() > 500,
            "{label}: only {} paths read",
            paths.len()
        );
        (label, paths)
    })
    .collect()
}

/// The second ```yaml block of the vendor guide: its values.yaml.
pub fn guide_values_text() -> String {
    let path = shared_dir().join("seed/deploy-a-hybrid-gateway-with-redis-sentinel.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match current.as_mut() {
            None if line.trim_start().starts_with("```yaml") => current = Some(String::new()),
            None => {}
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(
        blocks.len() >= 2,
        "the guide has {} yaml blocks",
        blocks.len()
    );
    blocks.swap_remove(1)
}

/// The guide's values, parsed.
pub fn guide_values() -> Value {
    serde_saphyr::from_str(&guide_values_text()).expect("the guide's values are YAML")
}

/// Skips (returns false, with a message) when an external tool is missing, or panics when
/// `GATEHOUSE_REQUIRE_EXTERNAL=1`.
pub fn external_available(available: bool, what: &str, install: &str) -> bool {
    if available {
        return true;
    }
    if std::env::var("GATEHOUSE_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
        panic!("{what} is required (GATEHOUSE_REQUIRE_EXTERNAL=1) but missing: {install}");
    }
    eprintln!(
        "SKIPPED: {what} is missing ({install}); set GATEHOUSE_REQUIRE_EXTERNAL=1 to fail instead"
    );
    false
}

/// Whether `python3 -c "import yaml"` works.
pub fn pyyaml_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success())
}
