//! The gateway values gatehouse renders against the chart's own values.yaml files, and the guide's
//! values against the contract.

mod common;

use gatehouse_chart::contract::{
    CHART_KEYS, ContractError, Shape, check, document_paths, pass_through_parent, rule,
};
use gatehouse_chart::{Severity, ValuesPaths};
use gatehouse_model::Deployment;
use gatehouse_model::arbitrary::valid_deployment;
use proptest::prelude::*;
use serde_json::Value;

fn values_of(d: &Deployment) -> Value {
    let valid = d.clone().validated().expect("valid model");
    serde_json::to_value(&gatehouse_render::render(&valid).helm.values).expect("values to JSON")
}

fn with_checksummed_plugin(mut d: Deployment) -> Deployment {
    d.gateway.plugins.push(gatehouse_model::Plugin {
        url: "https://plugins.example.com/gravitee-policy-x-1.0.0.zip".into(),
        sha256: Some("ab".repeat(32)),
    });
    d
}

/// Every path of `values` that lands where the chart (per its values.yaml) does not look.
fn ignored_by_chart(values: &Value, chart: &ValuesPaths) -> Vec<String> {
    document_paths(values)
        .into_iter()
        .filter(|path| {
            let documented = chart.contains(path);
            let under_pass_through =
                pass_through_parent(path).is_some_and(|parent| chart.contains(parent.path));
            let template_only = rule(path).is_some_and(|r| !r.in_values_yaml);
            !(documented || under_pass_through || template_only)
        })
        .collect()
}

#[test]
fn every_contract_key_is_in_both_values_files_except_the_template_only_ones() {
    for (label, chart) in common::chart_paths() {
        for key in CHART_KEYS {
            let shown = chart.contains(key.path);
            assert_eq!(
                shown,
                key.in_values_yaml,
                "{label}: {} is {} values.yaml but the contract says in_values_yaml = {}",
                key.path,
                if shown { "in" } else { "not in" },
                key.in_values_yaml
            );
        }
    }
}

#[test]
fn the_example_values_land_only_on_paths_the_chart_documents() {
    let charts = common::chart_paths();
    for d in [
        Deployment::guide_example(),
        with_checksummed_plugin(Deployment::guide_example()),
    ] {
        let values = values_of(&d);
        for (label, chart) in &charts {
            assert_eq!(
                ignored_by_chart(&values, chart),
                Vec::<String>::new(),
                "{label}"
            );
        }
        let report = check(&values);
        let unchecked = d.gateway.plugins.iter().all(|p| p.sha256.is_none());
        let expected = if unchecked {
            vec![ContractError::UncheckedPlugins {
                count: d.gateway.plugins.len(),
            }]
        } else {
            vec![]
        };
        assert_eq!(report.findings, expected);
    }
}

#[test]
fn a_value_on_an_ignored_path_is_caught() {
    let charts = common::chart_paths();
    let mut values = values_of(&Deployment::guide_example());
    values["gateway"]["ratelimit"]["type"] = "redis".into();
    values["gateway"]["replicas"] = 3.into();
    for (label, chart) in &charts {
        let mut ignored = ignored_by_chart(&values, chart);
        ignored.sort();
        assert_eq!(
            ignored,
            ["gateway.ratelimit.type", "gateway.replicas"],
            "{label}"
        );
    }
    let report = check(&values);
    assert!(
        report
            .findings
            .contains(&ContractError::RateLimitTypeIgnored {
                top_level_redis: true
            })
    );
    assert!(report.findings.contains(&ContractError::UnknownKey {
        path: "gateway.replicas".into()
    }));
}

#[test]
fn the_verified_plugins_replace_additional_plugins() {
    let values = values_of(&with_checksummed_plugin(Deployment::guide_example()));
    assert!(values["gateway"].get("additionalPlugins").is_none());
    let init = values["gateway"]["extraInitContainers"]
        .as_str()
        .expect("init containers");
    assert!(!init.contains("{{"), "the chart runs tpl on it");
    let containers: Value = serde_saphyr::from_str(init).expect("YAML list");
    let command: Vec<&str> = containers[0]["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(&command[..2], ["sh", "-c"]);
    assert_eq!(command[2], gatehouse_render::helm::VERIFY_PLUGINS_SCRIPT);
    assert!(
        !command[2].contains("example.com"),
        "no URL inside the shell string"
    );
    assert_eq!(
        &command[command.len() - 2..],
        [
            "https://plugins.example.com/gravitee-policy-x-1.0.0.zip",
            "ab".repeat(32).as_str()
        ]
    );
    assert!(command.contains(
        &"https://internal-s3.company.com/gravitee-plugins/gravitee-policy-jwt-6.2.0.zip"
    ));
    assert!(
        !containers[0]["image"]
            .as_str()
            .unwrap()
            .ends_with(":latest")
    );
    let env = values["gateway"]["env"].as_array().unwrap();
    assert!(env.iter().any(|e| e["name"] == "GRAVITEE_PLUGINS_PATH_1"));
    let mounts: Value =
        serde_saphyr::from_str(values["gateway"]["extraVolumeMounts"].as_str().unwrap()).unwrap();
    assert_eq!(
        mounts[0]["mountPath"],
        gatehouse_render::helm::GATEWAY_PLUGINS_EXT
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn generated_values_land_only_on_documented_paths_and_pass_the_contract(d in valid_deployment()) {
        let charts = common::chart_paths();
        let values = values_of(&d);
        for (label, chart) in &charts {
            let ignored = ignored_by_chart(&values, chart);
            prop_assert!(ignored.is_empty(), "{label}: {ignored:?}");
        }
        let report = check(&values);
        prop_assert!(report.is_ok(), "{:#?}", report.findings);
        for warning in report.warnings() {
            // A plain env variable the user named like a secret, or plugins without checksum, are
            // worth a warning, as is a single Sentinel (the model warns too); nothing else is.
            prop_assert!(
                matches!(warning, ContractError::SecretLikeEnv { .. } | ContractError::UncheckedPlugins { .. })
                    || (*warning == ContractError::SingleSentinelNode && d.redis.sentinel.count == 1),
                "{warning}"
            );
        }
    }
}

#[test]
fn the_guide_values_are_rejected_with_each_defect_named() {
    let values = common::guide_values();
    let report = check(&values);
    let messages: Vec<String> = report.errors().map(ToString::to_string).collect();
    let expected = [
        ContractError::LicenseKeyInValues,
        ContractError::EsEnabledDoesNothing,
        ContractError::RateLimitTypeIgnored {
            top_level_redis: false,
        },
        ContractError::RateLimitNotRedis { found: None },
        ContractError::RedisPasswordInValues,
        ContractError::LiteralSecretEnv {
            index: 0,
            name: "gravitee_cloud_token".into(),
        },
    ];
    for defect in &expected {
        assert!(
            report.findings.contains(defect),
            "missing {defect:?} in {messages:#?}"
        );
    }
    assert!(messages.iter().any(|m| m.contains(
        "gateway.ratelimit.type is ignored by the chart (gateway-configmap.yaml reads only the top-level `ratelimit.type`); rate limiting would use mongodb: set top-level `ratelimit.type: redis`"
    )));
    let warnings: Vec<&ContractError> = report.warnings().collect();
    assert!(warnings.contains(&&ContractError::SingleSentinelNode));
    assert!(warnings.contains(&&ContractError::UncheckedPlugins { count: 9 }));
    // No message repeats a secret of the guide.
    for finding in &report.findings {
        let text = finding.to_string();
        for secret in ["myredispassword", "LICENSE KEY", "CLOUD TOKEN"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity() <= Severity::Error)
    );
}

#[test]
fn the_guide_values_put_a_value_on_a_path_the_chart_ignores() {
    let values = common::guide_values();
    for (label, chart) in common::chart_paths() {
        let ignored = ignored_by_chart(&values, &chart);
        assert!(
            ignored.contains(&"gateway.ratelimit.type".to_string()),
            "{label}: {ignored:?}"
        );
        assert!(!ignored.contains(&"gateway.ratelimit.redis.sentinel.master".to_string()));
    }
}

#[test]
fn free_form_and_raw_keys_are_the_only_ones_not_checked_leaf_by_leaf() {
    let free: Vec<&str> = CHART_KEYS
        .iter()
        .filter(|k| {
            matches!(
                k.shape,
                Shape::FreeFormMap | Shape::RawList | Shape::YamlText
            )
        })
        .map(|k| k.path)
        .collect();
    assert_eq!(
        free,
        [
            "gateway.podAnnotations",
            "gateway.additionalPlugins",
            "gateway.env",
            "gateway.deployment.envFrom",
            "gateway.extraVolumes",
            "gateway.extraVolumeMounts",
            "gateway.extraInitContainers"
        ]
    );
}
