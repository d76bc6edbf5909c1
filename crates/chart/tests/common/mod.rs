//! Helpers shared by the integration tests: the contract data of every supported chart line,
//! the fixture with the guide's defects, and PyYAML detection. Nothing here reads `../shared`
//! (only the drift tests do).

#![allow(dead_code)]

use std::path::PathBuf;

use gatehouse_chart::SupportedChart;
use serde_json::Value;

/// Every supported chart line with its declared paths (from the repo's contract data).
pub fn charts() -> Vec<(&'static str, &'static SupportedChart)> {
    gatehouse_chart::SUPPORTED
        .iter()
        .map(|c| {
            assert!(
                c.declared.len() > 500,
                "{}: only {} paths",
                c.line,
                c.declared.len()
            );
            (c.imported_from, c)
        })
        .collect()
}

/// The fixture written for the tests with every defect of the vendor guide's values.yaml
/// (`tests/guide_drift.rs` keeps it equal in findings to the guide).
pub fn guide_values_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/guide-defects.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The fixture's values, parsed.
pub fn guide_values() -> Value {
    serde_saphyr::from_str(&guide_values_text()).expect("the fixture is YAML")
}

/// The placeholder secrets of the fixture (never to appear in a message).
pub const GUIDE_SECRETS: [&str; 3] = [
    "placeholder-license",
    "placeholder-token",
    "placeholder-password",
];

/// Whether `python3 -c "import yaml"` works; skips (or fails in CI) otherwise.
pub fn pyyaml_available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        gatehouse_testkit::skip_or_fail("python3 with PyYAML", "pip install PyYAML");
    }
    ok
}
