//! `metrics`: a pinned exporter image, a scrape interval that can see a TILT, a quorum alert that
//! can be quiet, a gateway endpoint that exists, and the exporter's password only while an
//! exporter runs.

use gatehouse_model::{Deployment, SecretRole, Severity, from_yaml_str};

fn problems_at(d: &Deployment, path: &str) -> Vec<(Severity, String)> {
    d.validate()
        .into_iter()
        .filter(|p| p.path == path)
        .map(|p| (p.severity, format!("{} / fix: {}", p.message, p.fix)))
        .collect()
}

#[test]
fn an_unpinned_exporter_image_is_refused_naming_the_field_and_a_pinned_tag() {
    let yaml = "metrics:\n  enabled: true\n  exporter:\n    image:\n      repository: oliver006/redis_exporter\n      tag: latest\n";
    let d = from_yaml_str(yaml, "t.yaml").unwrap();
    let found = problems_at(&d, "metrics.exporter.image.tag");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Severity::Error);
    assert!(found[0].1.contains("v1.45.0"), "{found:?}");
    let mut untagged = Deployment::default().with_metrics(true);
    untagged.metrics.exporter.image.tag = String::new();
    assert_eq!(
        problems_at(&untagged, "metrics.exporter.image.tag").len(),
        1
    );
}

#[test]
fn a_scrape_interval_that_can_miss_a_tilt_is_a_warning_and_zero_an_error() {
    let mut d = Deployment::default().with_metrics(true);
    assert!(problems_at(&d, "metrics.scrapeIntervalSeconds").is_empty());
    d.metrics.scrape_interval_seconds = 30;
    let found = problems_at(&d, "metrics.scrapeIntervalSeconds");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, Severity::Warning);
    assert!(found[0].1.contains("TILT"), "{found:?}");
    // Without the Sentinel alerts nothing can be missed.
    d.metrics.sentinels = false;
    assert!(problems_at(&d, "metrics.scrapeIntervalSeconds").is_empty());
    d.metrics.scrape_interval_seconds = 0;
    assert_eq!(
        problems_at(&d, "metrics.scrapeIntervalSeconds")[0].0,
        Severity::Error
    );
}

#[test]
fn a_quorum_of_every_sentinel_warns_that_the_quorum_alert_always_fires() {
    let mut d = Deployment::default().with_metrics(true);
    assert!(problems_at(&d, "redis.sentinel.quorum").is_empty());
    d.redis.sentinel.quorum = Some(3);
    let found = problems_at(&d, "redis.sentinel.quorum");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Severity::Warning);
    d.metrics.enabled = false;
    assert!(problems_at(&d, "redis.sentinel.quorum").is_empty());
}

#[test]
fn scraping_the_gateway_needs_its_prometheus_endpoint() {
    let mut d = Deployment::default().with_metrics(true);
    d.gateway.services.prometheus = false;
    let found = problems_at(&d, "metrics.gateway");
    assert_eq!(found.len(), 1);
    assert!(found[0].1.contains("metrics.gateway: false"), "{found:?}");
    d.metrics.gateway = false;
    assert!(problems_at(&d, "metrics.gateway").is_empty());
}

#[test]
fn the_exporter_password_is_needed_only_while_an_exporter_runs() {
    let mut d = Deployment::default();
    assert!(d.secret_source(SecretRole::ExporterPassword).is_none());
    d.metrics.enabled = true;
    assert!(d.secret_source(SecretRole::ExporterPassword).is_some());
    assert_eq!(
        d.secret_key_ref(SecretRole::ExporterPassword).unwrap().name,
        "gravitee-apim-redis-exporter-password"
    );
    d.metrics.data_nodes = false;
    d.metrics.sentinels = false;
    assert!(d.secret_source(SecretRole::ExporterPassword).is_none());
}

#[test]
fn exporter_rules_missing_a_command_it_sends_are_refused_naming_what_breaks() {
    let yaml = "redis:\n  acl:\n    exporter:\n      sentinelRules: \"-@all +info +client|setname +sentinel|ckquorum +sentinel|sentinels +sentinel|slaves\"\n";
    let d = from_yaml_str(yaml, "t.yaml").unwrap();
    let found = problems_at(&d, "redis.acl.exporter.sentinelRules");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].1.contains("sentinel|masters"), "{found:?}");
}

#[test]
fn rules_without_a_runbook_url_warn_naming_the_field() {
    let mut d = Deployment::default().with_metrics(true);
    let found = problems_at(&d, "metrics.runbookUrl");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, Severity::Warning);
    assert!(found[0].1.contains("runbook_url"), "{found:?}");
    d.metrics.runbook_url = Some("https://git.example.com/ops/gatehouse/README.md#".into());
    assert!(problems_at(&d, "metrics.runbookUrl").is_empty());
    // Without rules there is no alert to link from.
    d.metrics.runbook_url = None;
    d.metrics.rules = false;
    assert!(problems_at(&d, "metrics.runbookUrl").is_empty());
}

#[test]
fn a_runbook_url_must_be_absolute_http_without_credentials_and_end_before_an_anchor() {
    for good in [
        "https://git.example.com/ops/gatehouse/blob/main/README.md#",
        "http://wiki.internal/runbooks/",
    ] {
        let yaml = format!("metrics:\n  enabled: true\n  runbookUrl: \"{good}\"\n");
        let d = from_yaml_str(&yaml, "t.yaml").unwrap();
        assert!(problems_at(&d, "metrics.runbookUrl").is_empty(), "{good}");
    }
    for (bad, says, secret) in [
        ("/runbooks/", "not an absolute URL", None),
        ("ftp://files.example.com/runbooks/", "uses ftp:", None),
        ("https:///runbooks/", "has no host", None),
        (
            "https://bob:hunter2pass@wiki.example.com/runbooks/",
            "credentials",
            Some("hunter2pass"),
        ),
        ("https://wiki.example.com/README.md", "must end with", None),
    ] {
        let mut d = Deployment::default().with_metrics(true);
        d.metrics.runbook_url = Some(bad.into());
        let found = problems_at(&d, "metrics.runbookUrl");
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        assert_eq!(found[0].0, Severity::Error, "{bad}");
        assert!(found[0].1.contains(says), "{bad}: {found:?}");
        assert!(found[0].1.contains("fix: "), "{bad}: {found:?}");
        if let Some(secret) = secret {
            assert!(!found[0].1.contains(secret), "{found:?}");
        }
    }
}
