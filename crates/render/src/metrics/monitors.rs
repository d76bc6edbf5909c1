//! The Prometheus Operator objects of one group: a `PodMonitor` per scraped Redis component and
//! the `PrometheusRule` holding [`alerts`](super::alerts), all typed from the kept CRD subsets
//! (`crates/render/crds/prometheus-operator/`).

use std::collections::BTreeMap;

use gatehouse_model::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::alerts::{self, Alert};
use super::exporter;
use gatehouse_model::{SecretRole, TECHNICAL_USER_KEY};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};

use crate::crds::prometheus_operator::{
    PodMonitor, PodMonitorSpec, PodMonitorSpecPodMetricsEndpoints, PodMonitorSpecSelector,
    PrometheusRule, PrometheusRuleSpec, PrometheusRuleSpecGroups, PrometheusRuleSpecGroupsRules,
    ServiceMonitor, ServiceMonitorSpec, ServiceMonitorSpecEndpoints,
    ServiceMonitorSpecEndpointsBasicAuth, ServiceMonitorSpecEndpointsBasicAuthPassword,
    ServiceMonitorSpecEndpointsBasicAuthUsername, ServiceMonitorSpecSelector,
};
use crate::names::{Names, labels};
use crate::output::KubeObject;

/// The gateway's technical HTTP port (`gateway.services.core.http.port`, 18082 in every supported
/// chart line's values; gatehouse does not change it).
pub const GATEWAY_TECHNICAL_PORT: u16 = 18082;
/// The gateway's Prometheus endpoint on that port (gravitee-node's `PrometheusEndpoint`).
pub const GATEWAY_METRICS_PATH: &str = "/_node/metrics/prometheus";
/// The component label of the Service gatehouse puts in front of the gateway's technical port.
pub const GATEWAY_TECHNICAL_COMPONENT: &str = "gateway-technical";

/// The Prometheus Operator objects of this deployment (none with metrics off).
pub(crate) fn monitor_objects(d: &Deployment, names: &Names) -> Vec<KubeObject> {
    let m = &d.metrics;
    let mut objects = Vec::new();
    for (on, component) in [
        (m.scrapes_data_nodes(), labels::DATA),
        (m.scrapes_sentinels(), labels::SENTINEL),
    ] {
        if on {
            objects.push(KubeObject::PodMonitor(pod_monitor(d, names, component)));
        }
    }
    if m.scrapes_gateway() {
        objects.push(KubeObject::Service(gateway_technical_service(names)));
        objects.push(KubeObject::ServiceMonitor(gateway_monitor(d, names)));
    }
    if let Some(rule) = prometheus_rule(d, names) {
        objects.push(KubeObject::PrometheusRule(rule));
    }
    objects
}

fn metadata(names: &Names, name: String, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(names.namespace.clone()),
        labels: Some(names.object_labels(component)),
        ..Default::default()
    }
}

/// A Prometheus duration in whole seconds.
pub fn duration(seconds: u32) -> String {
    format!("{seconds}s")
}

fn pod_monitor(d: &Deployment, names: &Names, component: &str) -> PodMonitor {
    PodMonitor {
        metadata: metadata(
            names,
            format!("{}-redis-{component}", names.instance),
            component,
        ),
        spec: PodMonitorSpec {
            selector: PodMonitorSpecSelector {
                match_labels: Some(names.selector(component)),
            },
            // Become `app_kubernetes_io_instance` / `_component` on every series: what the alerts
            // select and group by, so two groups in one namespace stay apart.
            pod_target_labels: Some(vec![
                labels::INSTANCE.to_string(),
                labels::COMPONENT.to_string(),
            ]),
            pod_metrics_endpoints: Some(vec![PodMonitorSpecPodMetricsEndpoints {
                port: Some(exporter::PORT_NAME.into()),
                path: Some("/metrics".into()),
                interval: Some(duration(d.metrics.scrape_interval_seconds)),
            }]),
        },
    }
}

/// Labels of the technical Service (what the `ServiceMonitor` selects): the chart's gateway
/// labels with gatehouse's component instead.
fn gateway_technical_labels(names: &Names) -> BTreeMap<String, String> {
    let mut labels = names.gateway_pod_selector();
    labels.insert(
        labels::COMPONENT.to_string(),
        GATEWAY_TECHNICAL_COMPONENT.to_string(),
    );
    labels.insert(
        labels::MANAGED_BY.to_string(),
        labels::GATEHOUSE.to_string(),
    );
    labels
}

/// The chart creates no Service for the technical port (`services.core.service.enabled` is off),
/// and a `ServiceMonitor` needs one: a headless Service selecting the release's gateway pods.
fn gateway_technical_service(names: &Names) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(format!("{}-gateway-technical", names.gateway_release)),
            namespace: Some(names.namespace.clone()),
            labels: Some(gateway_technical_labels(names)),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(names.gateway_pod_selector()),
            ports: Some(vec![ServicePort {
                name: Some("technical".into()),
                port: GATEWAY_TECHNICAL_PORT.into(),
                target_port: Some(IntOrString::Int(GATEWAY_TECHNICAL_PORT.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn gateway_monitor(d: &Deployment, names: &Names) -> ServiceMonitor {
    let secret = d
        .secret_key_ref(SecretRole::GatewayTechnicalPassword)
        .expect("the technical password has a source while the gateway is scraped");
    let mut labels = gateway_technical_labels(names);
    labels.remove(labels::MANAGED_BY);
    ServiceMonitor {
        metadata: ObjectMeta {
            name: Some(format!("{}-gateway", names.gateway_release)),
            namespace: Some(names.namespace.clone()),
            labels: Some(gateway_technical_labels(names)),
            ..Default::default()
        },
        spec: ServiceMonitorSpec {
            selector: ServiceMonitorSpecSelector {
                match_labels: Some(labels),
            },
            target_labels: Some(vec![labels::INSTANCE.to_string()]),
            endpoints: vec![ServiceMonitorSpecEndpoints {
                port: Some("technical".into()),
                path: Some(GATEWAY_METRICS_PATH.into()),
                interval: Some(duration(d.metrics.scrape_interval_seconds)),
                basic_auth: Some(ServiceMonitorSpecEndpointsBasicAuth {
                    username: Some(ServiceMonitorSpecEndpointsBasicAuthUsername {
                        name: Some(secret.name.clone()),
                        key: TECHNICAL_USER_KEY.into(),
                    }),
                    password: Some(ServiceMonitorSpecEndpointsBasicAuthPassword {
                        name: Some(secret.name),
                        key: secret.key,
                    }),
                }),
            }],
        },
    }
}

/// The rule group of this deployment's alerts; `None` when there are none.
fn prometheus_rule(d: &Deployment, names: &Names) -> Option<PrometheusRule> {
    let alerts = alerts::alerts(d, names);
    if alerts.is_empty() {
        return None;
    }
    Some(PrometheusRule {
        metadata: metadata(names, format!("{}-redis", names.instance), "redis"),
        spec: rule_spec(d, names, &alerts),
    })
}

/// The rule groups of `alerts` (the `spec` of the `PrometheusRule`; also what `promtool` reads).
pub fn rule_spec(d: &Deployment, names: &Names, alerts: &[Alert]) -> PrometheusRuleSpec {
    PrometheusRuleSpec {
        groups: Some(vec![PrometheusRuleSpecGroups {
            name: format!("gatehouse-redis.{}.{}", names.namespace, names.instance),
            rules: Some(alerts.iter().map(|alert| rule(d, alert)).collect()),
        }]),
    }
}

/// One alert rule; its `runbook_url` is `metrics.runbookUrl` plus the alert's anchor, and absent
/// without one (no link rather than a link that leads nowhere).
fn rule(d: &Deployment, alert: &Alert) -> PrometheusRuleSpecGroupsRules {
    let mut annotations = BTreeMap::from([("summary".to_string(), alert.summary.clone())]);
    if let Some(link) = d.metrics.runbook_link(&alert.runbook_anchor()) {
        annotations.insert("runbook_url".to_string(), link);
    }
    PrometheusRuleSpecGroupsRules {
        alert: Some(alert.name.into()),
        expr: IntOrString::String(alert.expr.clone()),
        r#for: (alert.for_seconds > 0).then(|| duration(alert.for_seconds)),
        labels: Some(BTreeMap::from([(
            "severity".to_string(),
            alert.severity.as_str().to_string(),
        )])),
        annotations: Some(annotations),
    }
}

/// The rendered rule groups as a Prometheus rule file (what `promtool check rules` reads), or
/// `None` when no rule is rendered.
pub fn rule_file(d: &Deployment) -> Option<String> {
    let names = Names::of(d);
    let rule = prometheus_rule(d, &names)?;
    Some(crate::yaml::to_yaml(&rule.spec))
}
