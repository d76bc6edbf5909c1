//! What the `graviteeio/apim` chart reads, and the check of a values document against it.
//!
//! [`CHART_KEYS`] lists every values path gatehouse relies on with the chart fact behind it
//! (generated from `crates/chart-contract/contract/emitted.yaml`; see also
//! `../shared/notes/gravitee-chart-facts.md`).
//! [`check`] walks any values document and reports, with the path, the fact and the fix:
//! keys the chart ignores, secrets written as values, and chart defaults that break a hybrid
//! gateway. Messages never contain a value found at a secret-bearing path.

use serde_json::Value;

pub use gatehouse_chart_contract::{
    CHART_KEYS, CLOUD_TOKEN_ENV, ChartKey, LICENSE_KEY_ENV, Shape, rule, secret_env_names,
};

use Shape::{FreeFormMap, PassThrough, RawList, YamlText};

/// The env names of one secret across the supported chart lines:
/// "`a` (chart 4.9, 4.10, 4.11) or `b` (chart 4.12)".
pub fn env_by_layout(name: fn(gatehouse_chart_contract::ChartLayout) -> &'static str) -> String {
    gatehouse_chart_contract::ChartLayout::ALL
        .iter()
        .map(|layout| {
            let lines: Vec<&str> = gatehouse_chart_contract::SUPPORTED
                .iter()
                .filter(|c| c.layout == *layout)
                .map(|c| c.line)
                .collect();
            format!("`{}` (chart {})", name(*layout), lines.join(", "))
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The values may work but deserve a look.
    Warning,
    /// The chart would deploy something other than what the values say, or leak a secret.
    Error,
}

/// One defect of a values document: the path, the chart fact and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// `gateway.ratelimit.type` is set; nothing reads it.
    #[error(
        "gateway.ratelimit.type is ignored by the chart (gateway-configmap.yaml reads only the top-level `ratelimit.type`){consequence}: {fix}",
        consequence = if *top_level_redis { "" } else { "; rate limiting would use mongodb" },
        fix = if *top_level_redis { "remove gateway.ratelimit.type" } else { "set top-level `ratelimit.type: redis` and remove gateway.ratelimit.type" }
    )]
    RateLimitTypeIgnored {
        /// Whether top-level `ratelimit.type` is already `redis`.
        top_level_redis: bool,
    },
    /// Top-level `ratelimit.type` is not `redis`.
    #[error(
        "ratelimit.type is {shown}: the chart renders `type: {{{{ .Values.ratelimit.type | default \"mongodb\" }}}}`, so rate limiting would use {uses}: set top-level `ratelimit.type: redis`",
        shown = found.as_deref().map(|f| format!("`{f}`")).unwrap_or_else(|| "unset".into()),
        uses = found.as_deref().unwrap_or("mongodb")
    )]
    RateLimitNotRedis {
        /// The type found (a known repository type, or `another value`), none when unset.
        found: Option<String>,
    },
    /// `ratelimit.type: redis` without `gateway.ratelimit.redis`.
    #[error(
        "gateway.ratelimit.redis is missing while ratelimit.type is redis: the template reads `.Values.gateway.ratelimit.redis.host` and fails with a nil pointer: set gateway.ratelimit.redis.sentinel.master and .nodes"
    )]
    RedisConnectionMissing,
    /// Neither Sentinel nodes nor a host.
    #[error(
        "gateway.ratelimit.redis has neither sentinel.nodes nor host: the chart would render an empty redis host: list the Sentinels under gateway.ratelimit.redis.sentinel.nodes"
    )]
    RedisTargetMissing,
    /// Sentinel nodes without a master name.
    #[error(
        "gateway.ratelimit.redis.sentinel.master is missing: Sentinel mode (chosen by a non-empty sentinel.nodes) needs the master group name: set it to the name the Sentinels monitor"
    )]
    SentinelMasterMissing,
    /// A Sentinel node without host or port.
    #[error(
        "gateway.ratelimit.redis.sentinel.nodes[{index}].{missing} is missing: the chart renders `- host:`/`port:` for each node: give every node a host and a port"
    )]
    SentinelNodeIncomplete {
        /// Index of the node.
        index: usize,
        /// `host` or `port`.
        missing: &'static str,
    },
    /// Only one Sentinel address.
    #[error(
        "gateway.ratelimit.redis.sentinel.nodes has a single entry: the gateway then knows one Sentinel address and cannot ask another when it is down: list every Sentinel pod"
    )]
    SingleSentinelNode,
    /// The Redis password in values.
    #[error(
        "gateway.ratelimit.redis.password is set: the chart writes it verbatim and unquoted into the gateway ConfigMap (gravitee.yml): remove it and give {env} in gateway.env with valueFrom.secretKeyRef",
        env = env_by_layout(gatehouse_chart_contract::ChartLayout::redis_password_env)
    )]
    RedisPasswordInValues,
    /// A Sentinel password in values (never rendered).
    #[error(
        "gateway.ratelimit.redis.sentinel.password is ignored by the chart (no template renders it), and it is a secret in values: remove it and give {env} in gateway.env with valueFrom.secretKeyRef",
        env = env_by_layout(gatehouse_chart_contract::ChartLayout::sentinel_password_env)
    )]
    SentinelPasswordInValues,
    /// `license.key` in values.
    #[error(
        "license.key is set: the chart keeps it in the values and makes a Secret of it (the license in plain text in the Helm release): remove license.key and give `gravitee_license_key` in gateway.env with valueFrom.secretKeyRef"
    )]
    LicenseKeyInValues,
    /// A secret env variable with a literal value.
    #[error(
        "gateway.env[{index}] ({name}) has a literal `value`: the chart copies it into the Deployment in plain text: use valueFrom.secretKeyRef instead"
    )]
    LiteralSecretEnv {
        /// Index in `gateway.env`.
        index: usize,
        /// The env name.
        name: String,
    },
    /// A plain env variable whose name suggests a secret.
    #[error(
        "gateway.env[{index}] ({name}) has a literal `value` and its name looks like a secret: the chart copies it into the Deployment in plain text: use valueFrom.secretKeyRef if it is one"
    )]
    SecretLikeEnv {
        /// Index in `gateway.env`.
        index: usize,
        /// The env name.
        name: String,
    },
    /// Another secret-looking value.
    #[error(
        "{path} holds a literal secret-looking value: the chart renders values in plain text (ConfigMap or pod spec): move it to a Kubernetes Secret and read it through gateway.env valueFrom.secretKeyRef"
    )]
    SecretLikeValue {
        /// The path.
        path: String,
    },
    /// `es.enabled` set: nothing reads it.
    #[error(
        "es.enabled does nothing (no template reads it): the gateway would still report to Elasticsearch: set gateway.reporters.elasticsearch.enabled: false"
    )]
    EsEnabledDoesNothing,
    /// A component a hybrid gateway must not deploy.
    #[error(
        "{component}.enabled is {state}: the chart deploys the {component} component (default true), a hybrid gateway deploys only the gateway: set {component}.enabled: false",
        state = if *unset { "unset" } else { "true" }
    )]
    ComponentEnabled {
        /// `api`, `portal`, `ui` or `alerts`.
        component: &'static str,
        /// Whether the key is missing (chart default applies).
        unset: bool,
    },
    /// A chart default applies where a hybrid gateway needs another value.
    #[error(
        "{path} is unset: the chart default {default} applies ({effect}): set {path}: {wanted}"
    )]
    ChartDefaultApplies {
        /// The path.
        path: &'static str,
        /// The chart's default.
        default: &'static str,
        /// What it does.
        effect: &'static str,
        /// The value a hybrid gateway wants.
        wanted: &'static str,
    },
    /// Plugins the chart downloads without checksum.
    #[error(
        "gateway.additionalPlugins has {count} URL(s): the chart downloads them with `wget` inside `sh -c`, without any checksum: give each plugin a sha256 in the gatehouse model so that an init container verifies it"
    )]
    UncheckedPlugins {
        /// Number of URLs.
        count: usize,
    },
    /// A plugin URL unsafe to paste into `sh -c`.
    #[error(
        "gateway.additionalPlugins[{index}] is not a plain https:// URL of a .zip file (letters, digits and `-._~/:%+=@` only): the chart pastes it into `sh -c`: fix the URL"
    )]
    UnsafePluginUrl {
        /// Index of the URL.
        index: usize,
    },
    /// A value of the wrong shape.
    #[error("{path} must be {expected} ({fact}): fix its type")]
    WrongShape {
        /// The path.
        path: String,
        /// What the chart expects.
        expected: &'static str,
        /// The chart fact.
        fact: &'static str,
    },
    /// A key absent from the chart's own `values.yaml` (checked only when the chart is given).
    #[error(
        "{path} is not in the chart's values.yaml, not even commented out: the chart has no values schema and most likely ignores it: remove it or fix its path"
    )]
    KeyNotInChart {
        /// The path.
        path: String,
    },
    /// A key the contract does not know.
    #[error(
        "{path} is not part of gatehouse's chart contract: the chart has no values schema, so a misspelt or misplaced key is silently ignored: check it against the chart's values.yaml (`chart-check --chart DIR` does)"
    )]
    UnknownKey {
        /// The path.
        path: String,
    },
}

impl ContractError {
    /// How bad it is.
    pub fn severity(&self) -> Severity {
        match self {
            ContractError::SingleSentinelNode
            | ContractError::SecretLikeEnv { .. }
            | ContractError::ChartDefaultApplies { .. }
            | ContractError::UncheckedPlugins { .. }
            | ContractError::UnknownKey { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Every finding of one check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Findings, errors and warnings, in document order.
    pub findings: Vec<ContractError>,
}

impl Report {
    /// The errors.
    pub fn errors(&self) -> impl Iterator<Item = &ContractError> {
        self.findings
            .iter()
            .filter(|f| f.severity() == Severity::Error)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &ContractError> {
        self.findings
            .iter()
            .filter(|f| f.severity() == Severity::Warning)
    }

    /// Whether there is no error.
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }
}

/// Every path of a document as the contract sees it: leaves, with `[]` for list items, stopping
/// at free-form maps, raw lists and YAML text (whose content is not chart keys). Pass-through maps
/// are descended into.
pub fn document_paths(values: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(values, String::new(), &mut out);
    out
}

fn walk(value: &Value, path: String, out: &mut Vec<String>) {
    if let Some(rule) = rule(&path)
        && matches!(rule.shape, FreeFormMap | RawList | YamlText)
    {
        out.push(path);
        return;
    }
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                walk(v, gatehouse_chart_contract::join_path(&path, k), out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            for item in items {
                walk(item, format!("{path}[]"), out);
            }
        }
        _ => {
            if !path.is_empty() && !out.contains(&path) {
                out.push(path);
            }
        }
    }
}

/// The pass-through rule a path lies under, if any.
pub fn pass_through_parent(path: &str) -> Option<&'static ChartKey> {
    CHART_KEYS
        .iter()
        .filter(|k| k.shape == PassThrough)
        .find(|k| path.starts_with(&format!("{}.", k.path)))
}

fn get<'a>(values: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(values, |v, segment| v.as_object()?.get(segment))
}

fn is_set(value: Option<&Value>) -> bool {
    !matches!(value, None | Some(Value::Null)) && value.is_some_and(|v| v.as_str() != Some(""))
}

const KNOWN_RATELIMIT_TYPES: [&str; 5] = ["mongodb", "jdbc", "redis", "hazelcast", "none"];

/// Checks a values document against the contract (without the chart's own `values.yaml`).
pub fn check(values: &Value) -> Report {
    check_with_chart(values, None)
}

/// Checks a values document; with the chart's documented paths, every key the contract does not
/// know must at least be documented by the chart (an error otherwise) instead of only being
/// reported as unknown.
pub fn check_with_chart(values: &Value, chart: Option<&crate::ValuesPaths>) -> Report {
    let mut findings = Vec::new();
    if !values.is_object() {
        findings.push(ContractError::WrongShape {
            path: "(document)".into(),
            expected: "a map of values",
            fact: "Helm reads values as a YAML map",
        });
        return Report { findings };
    }
    // Components a hybrid gateway must switch off.
    for component in ["api", "portal", "ui"] {
        match get(values, &format!("{component}.enabled")) {
            Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => findings.push(ContractError::ComponentEnabled {
                component,
                unset: false,
            }),
            None | Some(Value::Null) => findings.push(ContractError::ComponentEnabled {
                component,
                unset: true,
            }),
            Some(_) => findings.push(ContractError::WrongShape {
                path: format!("{component}.enabled"),
                expected: "a boolean",
                fact: "the templates test it with `if`",
            }),
        }
    }
    if get(values, "alerts.enabled") == Some(&Value::Bool(true)) {
        findings.push(ContractError::ComponentEnabled {
            component: "alerts",
            unset: false,
        });
    }
    if is_set(get(values, "es.enabled")) {
        findings.push(ContractError::EsEnabledDoesNothing);
    }
    if get(values, "license.key").is_some() {
        findings.push(ContractError::LicenseKeyInValues);
    }
    // Rate limiting.
    let top_type = get(values, "ratelimit.type").and_then(Value::as_str);
    let top_redis = top_type == Some("redis");
    if get(values, "gateway.ratelimit.type").is_some() {
        findings.push(ContractError::RateLimitTypeIgnored {
            top_level_redis: top_redis,
        });
    }
    if !top_redis {
        findings.push(ContractError::RateLimitNotRedis {
            found: top_type.map(|t| {
                if KNOWN_RATELIMIT_TYPES.contains(&t) {
                    t.to_string()
                } else {
                    "another value".to_string()
                }
            }),
        });
    }
    let redis = get(values, "gateway.ratelimit.redis");
    if get(values, "gateway.ratelimit.redis.password").is_some() {
        findings.push(ContractError::RedisPasswordInValues);
    }
    if get(values, "gateway.ratelimit.redis.sentinel.password").is_some() {
        findings.push(ContractError::SentinelPasswordInValues);
    }
    match redis {
        None | Some(Value::Null) if top_redis => {
            findings.push(ContractError::RedisConnectionMissing)
        }
        None | Some(Value::Null) => {}
        Some(_) => sentinel_checks(values, &mut findings),
    }
    // Env.
    match get(values, "gateway.env") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                env_checks(index, item, &mut findings);
            }
        }
        Some(_) => findings.push(ContractError::WrongShape {
            path: "gateway.env".into(),
            expected: "a list of EnvVar objects",
            fact: rule("gateway.env").map(|r| r.fact).unwrap_or_default(),
        }),
    }
    // Plugins.
    if let Some(Value::Array(urls)) = get(values, "gateway.additionalPlugins")
        && !urls.is_empty()
    {
        for (index, url) in urls.iter().enumerate() {
            if !url.as_str().is_some_and(is_safe_plugin_url) {
                findings.push(ContractError::UnsafePluginUrl { index });
            }
        }
        findings.push(ContractError::UncheckedPlugins { count: urls.len() });
    }
    for (path, default, effect, wanted) in [
        (
            "gateway.autoscaling.enabled",
            "true",
            "an HPA is created and `replicaCount` is ignored",
            "false",
        ),
        (
            "gateway.ingress.enabled",
            "true",
            "an Ingress for apim.example.com is created",
            "false",
        ),
    ] {
        if !is_set(get(values, path)) {
            findings.push(ContractError::ChartDefaultApplies {
                path,
                default,
                effect,
                wanted,
            });
        }
    }
    for kind in [
        "gateway.extraInitContainers",
        "gateway.extraVolumes",
        "gateway.extraVolumeMounts",
    ] {
        if let Some(v) = get(values, kind)
            && !v.is_string()
            && !v.is_null()
        {
            findings.push(ContractError::WrongShape {
                path: kind.into(),
                expected: "a string of YAML",
                fact: rule(kind).map(|r| r.fact).unwrap_or_default(),
            });
        }
    }
    // Every key: known, or documented by the chart, or at least reported.
    let specific = [
        "gateway.ratelimit.type",
        "es.enabled",
        "license.key",
        "gateway.ratelimit.redis.password",
        "gateway.ratelimit.redis.sentinel.password",
    ];
    for path in document_paths(values) {
        if specific.contains(&path.as_str()) {
            continue;
        }
        secret_like(values, &path, &mut findings);
        if rule(&path).is_some() || pass_through_parent(&path).is_some() {
            continue;
        }
        match chart {
            Some(chart) if chart.contains(&path) => {}
            Some(_) => findings.push(ContractError::KeyNotInChart { path }),
            None => findings.push(ContractError::UnknownKey { path }),
        }
    }
    Report { findings }
}

fn sentinel_checks(values: &Value, findings: &mut Vec<ContractError>) {
    let nodes = get(values, "gateway.ratelimit.redis.sentinel.nodes");
    match nodes {
        Some(Value::Array(nodes)) if !nodes.is_empty() => {
            if !is_set(get(values, "gateway.ratelimit.redis.sentinel.master")) {
                findings.push(ContractError::SentinelMasterMissing);
            }
            for (index, node) in nodes.iter().enumerate() {
                for missing in ["host", "port"] {
                    if !is_set(node.get(missing)) {
                        findings.push(ContractError::SentinelNodeIncomplete { index, missing });
                    }
                }
            }
            if nodes.len() == 1 {
                findings.push(ContractError::SingleSentinelNode);
            }
        }
        None | Some(Value::Null) | Some(Value::Array(_)) => {
            if !is_set(get(values, "gateway.ratelimit.redis.host")) {
                findings.push(ContractError::RedisTargetMissing);
            }
        }
        Some(_) => findings.push(ContractError::WrongShape {
            path: "gateway.ratelimit.redis.sentinel.nodes".into(),
            expected: "a list of {host, port}",
            fact: "gateway-configmap.yaml ranges over it",
        }),
    }
}

fn env_checks(index: usize, item: &Value, findings: &mut Vec<ContractError>) {
    let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
    if item.get("value").is_none() {
        return;
    }
    let lower = name.to_ascii_lowercase();
    if secret_env_names().contains(&lower.as_str()) {
        findings.push(ContractError::LiteralSecretEnv {
            index,
            name: name.to_string(),
        });
    } else if ["password", "token", "secret", "license"]
        .iter()
        .any(|w| lower.contains(w))
    {
        findings.push(ContractError::SecretLikeEnv {
            index,
            name: name.to_string(),
        });
    }
}

/// Whether the last segment of `path` contains one of `words` (case-insensitive).
fn names_secret(path: &str, words: &[&str]) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    words.iter().any(|w| last.contains(w))
}

fn secret_like(values: &Value, path: &str, findings: &mut Vec<ContractError>) {
    let value = get(values, path);
    if names_secret(path, &["password", "token", "secret"])
        && !path.contains("[]")
        && is_set(value)
        && value.is_some_and(|v| !v.is_object())
    {
        findings.push(ContractError::SecretLikeValue {
            path: path.to_string(),
        });
    }
}

/// Whether a plugin URL is safe for the chart's `sh -c`: https, a `.zip` file, and only
/// letters, digits and `-._~/:%+=@`.
pub fn is_safe_plugin_url(url: &str) -> bool {
    url.starts_with("https://")
        && url.ends_with(".zip")
        && url
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~/:%+=@".contains(c))
}

/// The values of a document found at secret-bearing paths (the ones the contract flags), for
/// redacting messages of external tools such as `helm`.
pub fn secret_values(values: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(s) = v.and_then(Value::as_str)
            && !s.is_empty()
        {
            out.push(s.to_string());
        }
    };
    push(get(values, "license.key"));
    push(get(values, "gateway.ratelimit.redis.password"));
    push(get(values, "gateway.ratelimit.redis.sentinel.password"));
    if let Some(Value::Array(env)) = get(values, "gateway.env") {
        for item in env {
            push(item.get("value"));
        }
    }
    for path in document_paths(values) {
        if names_secret(&path, &["password", "token", "secret", "key"]) {
            push(get(values, &path));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Replaces every secret value of `values` found in `text` by `<redacted>`.
pub fn redact(text: &str, values: &Value) -> String {
    let mut secrets = secret_values(values);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets
        .iter()
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "<redacted>"))
}
