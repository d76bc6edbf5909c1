//! Drift tests: the data derived into the repository against its upstream source in
//! `../shared` (the chart's values.yaml files, the vendor guide). The only tests that read
//! `../shared`; without it they skip with the reason (and fail under
//! GATEHOUSE_REQUIRE_EXTERNAL=1).

mod common;

use std::path::PathBuf;

use gatehouse_chart::contract::check;
use gatehouse_chart_contract::import;

fn shared() -> Option<PathBuf> {
    let dir = gatehouse_testkit::workspace_root().join("../shared");
    if dir.join("upstream/gravitee-apim-chart").is_dir() {
        Some(dir)
    } else {
        gatehouse_testkit::skip_or_fail(
            "../shared (upstream chart values files and the vendor guide beside the repository)",
            "check the repository out next to the shared folder it was derived from",
        );
        None
    }
}

/// The upstream values.yaml of a chart version: `<version>/values.yaml`, or the top-level file
/// when its Chart.yaml has that version.
fn upstream_values(shared: &std::path::Path, version: &str) -> PathBuf {
    let chart = shared.join("upstream/gravitee-apim-chart");
    let nested = chart.join(version).join("values.yaml");
    if nested.is_file() {
        return nested;
    }
    let chart_yaml = std::fs::read_to_string(chart.join("Chart.yaml")).expect("Chart.yaml");
    assert!(
        chart_yaml
            .lines()
            .any(|l| l.trim() == format!("version: {version}")),
        "no upstream values.yaml for chart {version}"
    );
    chart.join("values.yaml")
}

#[test]
fn the_contract_data_is_what_chart_import_writes_from_the_upstream_values() {
    let Some(shared) = shared() else { return };
    for chart in gatehouse_chart::SUPPORTED {
        let source = upstream_values(&shared, chart.imported_from);
        let text = std::fs::read_to_string(&source).unwrap();
        let declared = import::declared_from_values_yaml(&text, chart.imported_from)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        let file = import::contract_file(chart.line);
        let checked_in = std::fs::read_to_string(&file).unwrap();
        assert!(
            checked_in == import::to_yaml(&declared),
            "{} is stale: run `cargo xtask chart-import {} --version {}`",
            file.display(),
            source.display(),
            chart.imported_from
        );
        // What the build compiled in is that file.
        assert_eq!(chart.declared.len(), declared.paths.len(), "{}", chart.line);
    }
}

/// The guide's values.yaml: the second ```yaml block of the guide.
fn guide_values_text(shared: &std::path::Path) -> String {
    let path = shared.join("seed/deploy-a-hybrid-gateway-with-redis-sentinel.md");
    let text = std::fs::read_to_string(&path).unwrap();
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

#[test]
fn the_guide_fixture_has_exactly_the_defects_of_the_guide() {
    let Some(shared) = shared() else { return };
    let guide: serde_json::Value = serde_saphyr::from_str(&guide_values_text(&shared)).unwrap();
    let fixture = common::guide_values();
    assert_eq!(check(&fixture).findings, check(&guide).findings);
    // The same key paths too, so the fixture tells the same story to the path checks.
    assert_eq!(
        gatehouse_chart::contract::document_paths(&fixture),
        gatehouse_chart::contract::document_paths(&guide)
    );
}
