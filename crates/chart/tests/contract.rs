//! The gateway values gatehouse renders against the chart's own values.yaml files, and the guide's
//! values against the contract.

mod common;

use gatehouse_chart::ChartLayout;
use gatehouse_chart::contract::{
    CHART_KEYS, ContractError, Shape, check, document_paths, pass_through_parent, rule,
};
use gatehouse_chart::{Severity, SupportedChart};
use gatehouse_model::arbitrary::valid_deployment;
use gatehouse_model::{Deployment, SecretRole};
use proptest::prelude::*;
use serde_json::Value;

/// The names of the env entries that read the Redis password's Secret key.
fn password_env_names(d: &Deployment) -> Vec<String> {
    let valid = d.clone().validated().expect("valid model");
    let secret = d
        .secret_key_ref(SecretRole::RedisPassword)
        .expect("the password has a source");
    gatehouse_render::render(&valid)
        .helm
        .values
        .gateway
        .env
        .iter()
        .filter(|e| {
            e.value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
                .is_some_and(|r| r.name == secret.name && r.key == secret.key)
        })
        .map(|e| e.name.clone())
        .collect()
}

/// The password env names the gateway of `d`'s chart line reads.
fn expected_password_envs(d: &Deployment) -> Vec<String> {
    let layout = ChartLayout::of_version(&d.gateway.version).expect("supported line");
    let mut names = vec![layout.redis_password_env().to_string()];
    if d.redis.sentinel.auth {
        names.push(layout.sentinel_password_env().to_string());
    }
    names
}

#[test]
fn every_password_env_render_emits_is_the_one_its_chart_line_reads() {
    let mut seen = std::collections::BTreeSet::new();
    for chart in gatehouse_chart::SUPPORTED {
        for auth in [false, true] {
            let mut d = Deployment::guide_example().with_gateway_version(chart.imported_from);
            d.redis.sentinel.auth = auth;
            let names = password_env_names(&d);
            assert_eq!(names, expected_password_envs(&d), "{}", chart.line);
            seen.extend(names);
        }
    }
    // 4.12 reads `repositories.ratelimit.*`; the older lines the top-level `ratelimit.*`.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "gravitee_ratelimit_redis_password",
            "gravitee_ratelimit_redis_sentinel_password",
            "gravitee_repositories_ratelimit_redis_password",
            "gravitee_repositories_ratelimit_redis_sentinel_password",
        ]
    );
}

#[test]
fn the_redis_timeouts_are_emitted_for_every_chart_line() {
    for chart in gatehouse_chart::SUPPORTED {
        let d = Deployment::guide_example().with_gateway_version(chart.imported_from);
        let values = values_of(&d);
        let redis = &values["gateway"]["ratelimit"]["redis"];
        assert_eq!(
            redis["operation"]["timeout"],
            gatehouse_render::helm::REDIS_OPERATION_TIMEOUT_MS
        );
        assert_eq!(
            redis["tcp"]["connectTimeout"],
            gatehouse_render::helm::REDIS_CONNECT_TIMEOUT_MS
        );
        for path in [
            "gateway.ratelimit.redis.operation.timeout",
            "gateway.ratelimit.redis.tcp.connectTimeout",
        ] {
            assert!(chart.declares(path), "{}: {path}", chart.line);
        }
    }
}

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
fn ignored_by_chart(values: &Value, chart: &SupportedChart) -> Vec<String> {
    document_paths(values)
        .into_iter()
        .filter(|path| {
            let documented = chart.declares(path);
            let under_pass_through =
                pass_through_parent(path).is_some_and(|parent| chart.declares(parent.path));
            let template_only = rule(path).is_some_and(|r| !r.in_values_yaml);
            !(documented || under_pass_through || template_only)
        })
        .collect()
}

#[test]
fn every_contract_key_is_in_every_values_file_except_the_template_only_ones() {
    for (label, chart) in common::charts() {
        for key in CHART_KEYS {
            // Declared itself, or below a declared map the chart passes through whole.
            let shown = chart.declares(key.path)
                || pass_through_parent(key.path).is_some_and(|p| chart.declares(p.path));
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
    let charts = common::charts();
    let mut models = Vec::new();
    for (version, _) in &charts {
        let example = Deployment::guide_example().with_gateway_version(*version);
        models.push(with_checksummed_plugin(example.clone()));
        models.push(example);
    }
    for d in models {
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
    let charts = common::charts();
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
        let charts = common::charts();
        let values = values_of(&d);
        for (label, chart) in &charts {
            let ignored = ignored_by_chart(&values, chart);
            prop_assert!(ignored.is_empty(), "{label}: {ignored:?}");
        }
        let report = check(&values);
        prop_assert!(report.is_ok(), "{:#?}", report.findings);
        prop_assert_eq!(password_env_names(&d), expected_password_envs(&d));
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
        for secret in common::GUIDE_SECRETS {
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
    for (label, chart) in common::charts() {
        let ignored = ignored_by_chart(&values, chart);
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
            "gateway.extraInitContainers",
            "gateway.extraVolumes",
            "gateway.extraVolumeMounts",
            "gateway.env",
            "gateway.deployment.envFrom",
        ]
    );
}
