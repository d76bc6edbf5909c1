//! `metrics.runbookUrl` as rendered: each alert's `runbook_url` is the URL plus the alert's README
//! anchor (a "Monitoring" heading in README.md), and without the URL there is no `runbook_url` at
//! all rather than a link that leads nowhere.

use gatehouse_model::Deployment;
use gatehouse_render::{KubeObject, render};
use serde_json::Value;

/// `(alert, annotations)` of every rule of the rendered `PrometheusRule`.
fn rule_annotations(d: Deployment) -> Vec<(String, serde_json::Map<String, Value>)> {
    let rendered = render(&d.validated().unwrap());
    let rule = rendered
        .objects
        .iter()
        .find(|o| matches!(o, KubeObject::PrometheusRule(_)))
        .expect("metrics on renders a PrometheusRule")
        .to_json();
    let groups = rule["spec"]["groups"].as_array().unwrap();
    let rules: Vec<_> = groups
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| {
            (
                r["alert"].as_str().unwrap().to_owned(),
                r["annotations"].as_object().unwrap().clone(),
            )
        })
        .collect();
    assert!(!rules.is_empty());
    rules
}

#[test]
fn without_a_runbook_url_no_alert_carries_a_runbook_link() {
    for (alert, annotations) in rule_annotations(Deployment::guide_example().with_metrics(true)) {
        assert!(!annotations.contains_key("runbook_url"), "{alert}");
        assert!(annotations.contains_key("summary"), "{alert}");
    }
}

#[test]
fn each_runbook_url_is_the_base_plus_a_readme_monitoring_heading() {
    let readme =
        std::fs::read_to_string(gatehouse_testkit::workspace_root().join("README.md")).unwrap();
    let base = "https://git.example.com/ops/gatehouse/-/blob/main/README.md#";
    let mut d = Deployment::guide_example().with_metrics(true);
    d.metrics.runbook_url = Some(base.into());
    for (alert, annotations) in rule_annotations(d) {
        let link = annotations["runbook_url"].as_str().unwrap();
        let anchor = link.strip_prefix(base).expect(link);
        assert_eq!(anchor, alert.to_lowercase());
        assert!(
            readme.contains(&format!("\n#### {alert}\n")),
            "README has no runbook heading for {alert}"
        );
    }
}
