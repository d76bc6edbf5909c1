//! Rendering a chart offline (helm or helm-python-sdk) and checking the rendered gravitee.yml and
//! Deployment, with a minimal chart written for the test (tests/fixtures/mini-apim) in both the
//! 4.9 and the 4.12 layout, on every supported chart line: Redis Sentinel, secret env references,
//! and the gateway's Redis TLS in force (env over gravitee.yml over the defaults).

mod common;

use std::path::Path;

use gatehouse_chart::gateway_tls::gateway_redis_tls;
use gatehouse_chart::rendered::{ChartLayout, Expected, RenderedError, Renderer, check_manifests};
use gatehouse_model::Deployment;
use serde_json::Value;

fn renderer() -> Option<Renderer> {
    let found = Renderer::detect();
    if found.is_none() {
        gatehouse_testkit::skip_or_fail(
            "a chart renderer (helm binary or the PyPI package helm-python-sdk)",
            "pip install helm-python-sdk",
        );
    }
    found
}

/// A copy of the fixture chart with `version`.
fn chart(version: &str) -> tempfile::TempDir {
    let src = gatehouse_testkit::mini_apim_chart();
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "values.yaml",
        "templates/_ratelimit.tpl",
        "templates/gateway-configmap.yaml",
        "templates/gateway-deployment.yaml",
        "templates/license-secret.yaml",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), to).unwrap();
    }
    let chart_yaml = std::fs::read_to_string(src.join("Chart.yaml"))
        .unwrap()
        .replace("4.9.32", version);
    std::fs::write(dir.path().join("Chart.yaml"), chart_yaml).unwrap();
    dir
}

fn render(renderer: &Renderer, chart: &Path, values_yaml: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, values_yaml).unwrap();
    let values: Value = serde_saphyr::from_str(values_yaml).unwrap();
    renderer
        .render(chart, &file, &values, "gravitee-apim", "gravitee-apim")
        .unwrap_or_else(|e| panic!("{e}"))
}

fn example_expectation(d: &Deployment) -> Expected {
    let names = gatehouse_render::Names::of(d);
    Expected {
        master: d.redis.master_name.clone(),
        nodes: (0..names.sentinel_pods)
            .map(|i| (names.sentinel_pod_host(i), names.sentinel_port))
            .collect(),
    }
}

const LAYOUTS: [(&str, ChartLayout); 4] = [
    ("4.9.32", ChartLayout::V4_9),
    ("4.10.28", ChartLayout::V4_9),
    ("4.11.25", ChartLayout::V4_9),
    ("4.12.17", ChartLayout::V4_12),
];

#[test]
fn gatehouse_values_render_redis_sentinel_and_secret_refs_in_every_layout() {
    let Some(renderer) = renderer() else { return };
    for (version, layout) in LAYOUTS {
        assert_eq!(ChartLayout::of_version(version), Some(layout));
        let d = Deployment::guide_example().with_gateway_version(version);
        let valid = d.clone().validated().unwrap();
        let values_yaml = gatehouse_render::render(&valid).helm.values_yaml();
        let expected = example_expectation(&d);
        let chart = chart(version);
        let objects = render(&renderer, chart.path(), &values_yaml);
        let errors = check_manifests(
            &objects,
            layout,
            Some(&expected),
            &[
                layout.redis_password_env(),
                "gravitee_cloud_token",
                "gravitee_license_key",
            ],
        );
        assert_eq!(errors, vec![], "{version}");
        // The wrong layout is caught: the check really reads the path of its layout.
        let other = if layout == ChartLayout::V4_9 {
            ChartLayout::V4_12
        } else {
            ChartLayout::V4_9
        };
        let wrong = check_manifests(&objects, other, Some(&expected), &[]);
        assert!(
            matches!(wrong[..], [RenderedError::RateLimitNotRedis { .. }]),
            "{wrong:?}"
        );
    }
}

#[test]
fn the_guide_values_render_mongodb_rate_limiting_and_plain_text_secrets() {
    let Some(renderer) = renderer() else { return };
    let guide = common::guide_values_text();
    for (version, layout) in LAYOUTS {
        let chart = chart(version);
        let objects = render(&renderer, chart.path(), &guide);
        let errors = check_manifests(&objects, layout, None, &[]);
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            errors.iter().any(|e| matches!(e, RenderedError::RateLimitNotRedis { found, .. } if found == "mongodb")),
            "{version}: {messages:#?}"
        );
        assert!(errors.iter().any(|e| matches!(e, RenderedError::SecretEnvNotFromSecret { name, .. } if name == "gravitee_cloud_token")));
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, RenderedError::LicenseSecretFromValues { .. }))
        );
        for m in &messages {
            for secret in common::GUIDE_SECRETS {
                assert!(!m.contains(secret), "{m}");
            }
        }
    }
}

#[test]
fn a_password_in_values_and_wrong_sentinels_are_caught_in_the_rendered_gravitee_yml() {
    let Some(renderer) = renderer() else { return };
    let d = Deployment::guide_example();
    let values_yaml = "\
ratelimit:
  type: redis
gateway:
  ratelimit:
    redis:
      password: s3cr3t-in-values
      sentinel:
        master: othermaster
        nodes:
          - host: redis-sentinel.elsewhere.svc
            port: 26379
";
    for (version, layout) in LAYOUTS {
        let chart = chart(version);
        let objects = render(&renderer, chart.path(), values_yaml);
        let errors = check_manifests(
            &objects,
            layout,
            Some(&example_expectation(&d)),
            &["gravitee_cloud_token"],
        );
        let found = |wanted: fn(&RenderedError) -> bool| errors.iter().any(wanted);
        assert!(
            found(|e| matches!(e, RenderedError::PasswordInConfigMap { .. })),
            "{errors:?}"
        );
        assert!(found(|e| matches!(e, RenderedError::MasterMismatch { .. })));
        assert!(found(|e| matches!(e, RenderedError::NodesMismatch { .. })));
        assert!(found(|e| matches!(
            e,
            RenderedError::SecretEnvMissing { .. }
        )));
        assert!(
            errors
                .iter()
                .all(|e| !e.to_string().contains("s3cr3t-in-values"))
        );
    }
}

#[test]
fn the_gateway_speaks_verified_tls_to_redis_in_every_layout() {
    let Some(renderer) = renderer() else { return };
    for mutual in [false, true] {
        for (version, layout) in LAYOUTS {
            let mut d = gatehouse_model::presets::production().with_gateway_version(version);
            if mutual {
                d.redis.tls.client_auth = gatehouse_model::TlsClientAuth::Required;
                d.redis.tls.certificate = Some(gatehouse_model::TlsCertificateSource::Secret {
                    name: gatehouse_model::presets::PRODUCTION_TLS_SECRET.into(),
                    client_secret: Some("gravitee-apim-redis-tls-gateway".into()),
                });
            }
            let valid = d.clone().validated().unwrap();
            let values_yaml = gatehouse_render::render(&valid).helm.values_yaml();
            let chart = chart(version);
            let objects = render(&renderer, chart.path(), &values_yaml);
            let errors = check_manifests(
                &objects,
                layout,
                Some(&example_expectation(&d)),
                &[layout.redis_password_env()],
            );
            assert_eq!(errors, vec![], "{version}");
            let secret = gatehouse_render::Names::of(&d).tls_secret.unwrap();
            let [tls] = &gateway_redis_tls(&objects, layout)[..] else {
                panic!("{version}: one gateway Deployment");
            };
            assert!(tls.ssl && !tls.trust_all, "{version}: {tls:?}");
            assert_eq!(tls.hostname_verification, "HTTPS", "{version}");
            assert_eq!(
                tls.truststore_secret.as_deref(),
                Some(secret.as_str()),
                "{version}: the CA comes from the certificate Secret: {tls:?}"
            );
            match &tls.keystore {
                None => assert!(!mutual, "{version}: mutual TLS needs a keystore"),
                Some(files) => {
                    assert!(mutual, "{version}: a key pair without mutual TLS: {tls:?}");
                    let client = gatehouse_render::Names::of(&d).tls_client_secret;
                    assert!(client.is_some() && client != Some(secret.clone()));
                    assert!(
                        files.iter().all(|(_, from)| *from == client),
                        "{version}: the key pair comes from the gateway's own Secret: {tls:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_gateway_left_on_the_charts_tls_defaults_is_caught() {
    let Some(renderer) = renderer() else { return };
    let values_yaml = "\
ratelimit:
  type: redis
gateway:
  ratelimit:
    redis:
      ssl: true
";
    for (version, layout) in LAYOUTS {
        let chart = chart(version);
        let objects = render(&renderer, chart.path(), values_yaml);
        let errors = check_manifests(&objects, layout, None, &[]);
        let prefix = layout.redis_env_prefix();
        for wanted in [
            RenderedError::RedisTlsTrustsAll {
                deployment: "gravitee-apim-gateway".into(),
                env: format!("{prefix}_trustall"),
            },
            RenderedError::RedisTlsNoHostnameCheck {
                deployment: "gravitee-apim-gateway".into(),
                env: format!("{prefix}_hostnameverificationalgorithm"),
            },
        ] {
            assert!(errors.contains(&wanted), "{version}: {errors:?}");
        }
        // Only the env entry turns them off, and only with a mounted truststore is it complete.
        let half_fixed = format!(
            "{values_yaml}  env:\n    - name: {prefix}_trustall\n      value: \"false\"\n    - name: {prefix}_hostnameverificationalgorithm\n      value: HTTPS\n"
        );
        let objects = render(&renderer, chart.path(), &half_fixed);
        let errors = check_manifests(&objects, layout, None, &[]);
        assert_eq!(
            errors,
            vec![RenderedError::RedisTruststoreNotMounted {
                deployment: "gravitee-apim-gateway".into(),
                path: "unset".into(),
            }],
            "{version}"
        );
    }
}

/// The Secret versions deploy adds to `gateway.podAnnotations` land on the gateway Deployment's
/// pod template on every chart line (the chart template ranges over the map into
/// `spec.template.metadata.annotations`, as the real `gateway-deployment.yaml` of 4.9.32,
/// 4.10.28, 4.11.25 and 4.12.17 does), beside the user's own annotations; the rendered values
/// carry none.
#[test]
fn the_gateways_secret_versions_reach_its_pod_template_in_every_layout() {
    use gatehouse_render::names::annotations::SECRET_VERSIONS;
    let Some(renderer) = renderer() else { return };
    let pod_annotations = |objects: &[Value]| {
        let deployments: Vec<&Value> = objects
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .collect();
        let [deployment] = deployments[..] else {
            panic!("one gateway Deployment: {deployments:?}");
        };
        deployment["spec"]["template"]["metadata"]["annotations"].clone()
    };
    for (version, _) in LAYOUTS {
        let d = Deployment::guide_example().with_gateway_version(version);
        let user_annotations = d.gateway.pod_annotations.clone();
        let mut release = gatehouse_render::render(&d.validated().unwrap()).helm;
        let chart = chart(version);
        let rendered = pod_annotations(&render(&renderer, chart.path(), &release.values_yaml()));
        assert!(rendered[SECRET_VERSIONS].is_null(), "{version}: {rendered}");
        let versions = "gh-cloud-token=1,gh-license-key=1,gh-redis-password=3";
        release
            .values
            .gateway
            .pod_annotations
            .insert(SECRET_VERSIONS.into(), versions.into());
        let stamped = pod_annotations(&render(&renderer, chart.path(), &release.values_yaml()));
        assert_eq!(stamped[SECRET_VERSIONS], versions, "{version}: {stamped}");
        // The Deployment deploy reads to know the gateway has rolled is the one the chart makes.
        for release_name in ["gravitee-apim", "gh"] {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("values.yaml");
            std::fs::write(&file, release.values_yaml()).unwrap();
            let values: Value = serde_saphyr::from_str(&release.values_yaml()).unwrap();
            let objects = renderer
                .render(chart.path(), &file, &values, release_name, "gravitee-apim")
                .unwrap();
            let names: Vec<&str> = objects
                .iter()
                .filter(|o| o["kind"] == "Deployment")
                .filter_map(|o| o["metadata"]["name"].as_str())
                .collect();
            assert_eq!(
                names,
                [gatehouse_render::helm::gateway_deployment(release_name)],
                "{version}"
            );
        }
        assert!(!user_annotations.is_empty());
        for (key, value) in &user_annotations {
            assert_eq!(
                stamped[key.as_str()],
                value.as_str(),
                "{version}: {stamped}"
            );
        }
    }
}
