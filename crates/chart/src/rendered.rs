//! Rendering a chart offline and checking what it rendered.
//!
//! [`Renderer::detect`] finds a `helm` binary on `PATH` or, failing that, the PyPI package
//! `helm-python-sdk` (module `helm_python`, which binds Helm's Go SDK and renders with no binary
//! and no cluster). [`check_manifests`] then checks the rendered objects: the gateway ConfigMap's
//! `gravitee.yml` uses Redis Sentinel for rate limiting (at `ratelimit` in the 4.9 layout, at
//! `repositories.ratelimit` from 4.12) with the expected master and nodes and no password, the
//! gateway Deployment reads every secret env through `secretKeyRef`, a gateway speaking TLS to
//! Redis verifies the certificate and the host name with a truststore from a mounted Secret
//! ([`crate::gateway_tls`]), and the chart made no license Secret.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::contract::secret_env_names;

pub use gatehouse_chart_contract::ChartLayout;

/// A way to render a chart offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renderer {
    /// `helm template` with this binary.
    HelmBinary(PathBuf),
    /// `python3` with the `helm_python` module (PyPI `helm-python-sdk`).
    HelmPythonSdk,
}

/// Why a chart could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Neither renderer is installed.
    #[error(
        "cannot render the chart: neither a `helm` binary on PATH nor the Python package helm-python-sdk is available: install one (`pip install helm-python-sdk`)"
    )]
    NoRenderer,
    /// The renderer could not start.
    #[error("cannot run {renderer}: {source}")]
    Spawn {
        /// What was run.
        renderer: String,
        /// The error.
        source: std::io::Error,
    },
    /// The renderer failed (message redacted of the values' secrets).
    #[error("{renderer} failed to render the chart {chart}: {message}")]
    Failed {
        /// What was run.
        renderer: String,
        /// The chart directory.
        chart: String,
        /// Its error output, secrets redacted.
        message: String,
    },
    /// The output is not YAML/JSON as expected.
    #[error("cannot read the output of {renderer}: {message}")]
    Output {
        /// What was run.
        renderer: String,
        /// What went wrong.
        message: String,
    },
}

const PYTHON_RENDER: &str = r#"
import json, sys
import helm_python as helm
chart = helm.Chart.load(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    values = helm.values_from_yaml(f.read())
out = chart.render(values, name=sys.argv[3], namespace=sys.argv[4], is_install=True)
json.dump(out, sys.stdout)
"#;

impl Renderer {
    /// The first renderer available: `helm` on PATH, then `helm-python-sdk`.
    pub fn detect() -> Option<Renderer> {
        if let Ok(helm) = which::which("helm") {
            return Some(Renderer::HelmBinary(helm));
        }
        let probe = Command::new("python3")
            .args(["-c", "import helm_python"])
            .output()
            .ok()?;
        probe.status.success().then_some(Renderer::HelmPythonSdk)
    }

    fn describe(&self) -> String {
        match self {
            Renderer::HelmBinary(path) => format!("{} template", path.display()),
            Renderer::HelmPythonSdk => "helm-python-sdk (python3 -m helm_python)".into(),
        }
    }

    /// Renders `chart` with the values file, as release `release` in `namespace`; returns every
    /// rendered object. `values` (the parsed file) is used only to redact error output.
    pub fn render(
        &self,
        chart: &Path,
        values_file: &Path,
        values: &Value,
        release: &str,
        namespace: &str,
    ) -> Result<Vec<Value>, RenderError> {
        let renderer = self.describe();
        let mut command = match self {
            Renderer::HelmBinary(helm) => {
                let mut c = Command::new(helm);
                c.arg("template")
                    .arg(release)
                    .arg(chart)
                    .arg("--namespace")
                    .arg(namespace)
                    .arg("--values")
                    .arg(values_file);
                c
            }
            Renderer::HelmPythonSdk => {
                let mut c = Command::new("python3");
                c.arg("-c")
                    .arg(PYTHON_RENDER)
                    .arg(chart)
                    .arg(values_file)
                    .arg(release)
                    .arg(namespace);
                c
            }
        };
        let output = command.output().map_err(|source| RenderError::Spawn {
            renderer: renderer.clone(),
            source,
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last: Vec<&str> = stderr.lines().rev().take(6).collect();
            let message: Vec<&str> = last.into_iter().rev().collect();
            return Err(RenderError::Failed {
                renderer,
                chart: chart.display().to_string(),
                message: crate::contract::redact(&message.join("\n"), values),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let texts: Vec<String> = match self {
            Renderer::HelmBinary(_) => vec![stdout.into_owned()],
            Renderer::HelmPythonSdk => {
                let map: serde_json::Map<String, Value> =
                    serde_json::from_str(&stdout).map_err(|e| RenderError::Output {
                        renderer: renderer.clone(),
                        message: e.to_string(),
                    })?;
                map.into_iter()
                    .filter(|(name, _)| !name.ends_with("NOTES.txt"))
                    .filter_map(|(_, text)| text.as_str().map(str::to_owned))
                    .collect()
            }
        };
        let mut objects = Vec::new();
        for text in texts {
            let documents: Vec<Value> =
                serde_saphyr::from_multiple(&text).map_err(|_| RenderError::Output {
                    renderer: renderer.clone(),
                    message: "a rendered document is not valid YAML".into(),
                })?;
            objects.extend(documents.into_iter().filter(Value::is_object));
        }
        Ok(objects)
    }
}

/// What the rendered chart must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The Sentinel master group name.
    pub master: String,
    /// The Sentinel addresses, in order.
    pub nodes: Vec<(String, u16)>,
}

impl Expected {
    /// What the values say (`gateway.ratelimit.redis.sentinel`), if they name a master and nodes.
    pub fn from_values(values: &Value) -> Option<Expected> {
        let sentinel = values.pointer("/gateway/ratelimit/redis/sentinel")?;
        let master = sentinel.get("master")?.as_str()?.to_string();
        let nodes = sentinel
            .get("nodes")?
            .as_array()?
            .iter()
            .map(|n| {
                Some((
                    n.get("host")?.as_str()?.to_string(),
                    u16::try_from(n.get("port")?.as_u64()?).ok()?,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Expected { master, nodes })
    }
}

/// A defect of the rendered chart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderedError {
    /// No gateway ConfigMap with `gravitee.yml`.
    #[error(
        "the rendered chart has no ConfigMap with a gravitee.yml: is this the graviteeio/apim chart with gateway.enabled?"
    )]
    NoGraviteeYml,
    /// `gravitee.yml` is not YAML.
    #[error("ConfigMap {configmap}: gravitee.yml is not valid YAML (a value inserted unquoted?)")]
    GraviteeYmlInvalid {
        /// The ConfigMap.
        configmap: String,
    },
    /// Rate limiting is not Redis.
    #[error(
        "ConfigMap {configmap}: gravitee.yml `{path}.type` is {found}, not redis: the gateway would rate-limit in {found}: set top-level ratelimit.type: redis in the values"
    )]
    RateLimitNotRedis {
        /// The ConfigMap.
        configmap: String,
        /// Where the block sits in this layout.
        path: &'static str,
        /// What was rendered.
        found: String,
    },
    /// The Sentinel master differs.
    #[error(
        "ConfigMap {configmap}: gravitee.yml `{path}.redis.sentinel.master` is {found}, expected `{expected}` (the master group the Sentinels monitor)"
    )]
    MasterMismatch {
        /// The ConfigMap.
        configmap: String,
        /// Where the block sits.
        path: &'static str,
        /// What was rendered (quoted), or `missing`.
        found: String,
        /// The expected name.
        expected: String,
    },
    /// The Sentinel nodes differ.
    #[error(
        "ConfigMap {configmap}: gravitee.yml `{path}.redis.sentinel.nodes` is [{found}], expected [{expected}] (the Sentinel pods behind the Sentinel Service)"
    )]
    NodesMismatch {
        /// The ConfigMap.
        configmap: String,
        /// Where the block sits.
        path: &'static str,
        /// What was rendered.
        found: String,
        /// What was expected.
        expected: String,
    },
    /// A password rendered into gravitee.yml.
    #[error(
        "ConfigMap {configmap}: gravitee.yml has `{path}.redis.password`: the password is in plain text in a ConfigMap: remove it from the values and use env secretKeyRef"
    )]
    PasswordInConfigMap {
        /// The ConfigMap.
        configmap: String,
        /// Where the block sits.
        path: &'static str,
    },
    /// No gateway Deployment.
    #[error("the rendered chart has no gateway Deployment")]
    NoGatewayDeployment,
    /// A secret env with a literal value (or not from a Secret).
    #[error(
        "Deployment {deployment}: env {name} does not come from valueFrom.secretKeyRef: the secret would be in plain text in the pod spec"
    )]
    SecretEnvNotFromSecret {
        /// The Deployment.
        deployment: String,
        /// The env name.
        name: String,
    },
    /// An expected secret env is absent.
    #[error(
        "Deployment {deployment}: env {name} is missing: the gateway would run without it: add it to gateway.env with valueFrom.secretKeyRef"
    )]
    SecretEnvMissing {
        /// The Deployment.
        deployment: String,
        /// The env name.
        name: String,
    },
    /// The gateway speaks TLS to Redis but trusts any certificate.
    #[error(
        "Deployment {deployment}: the gateway speaks TLS to Redis with `trustAll` in force (the chart and the gateway default it to true when ssl is on): anyone on the path can pose as Redis: set env {env}=false and a PEM truststore"
    )]
    RedisTlsTrustsAll {
        /// The Deployment.
        deployment: String,
        /// The env entry that turns it off in this layout.
        env: String,
    },
    /// The gateway speaks TLS to Redis without checking the host name.
    #[error(
        "Deployment {deployment}: the gateway speaks TLS to Redis with `hostnameVerificationAlgorithm` NONE in force (the default): any certificate of the CA passes for any Redis host: set env {env}=HTTPS"
    )]
    RedisTlsNoHostnameCheck {
        /// The Deployment.
        deployment: String,
        /// The env entry that sets it in this layout.
        env: String,
    },
    /// The truststore the gateway reads is not a file from a Secret volume.
    #[error(
        "Deployment {deployment}: the gateway's Redis truststore `{path}` is not a file of a mounted Secret: the gateway cannot verify Redis and fails open: mount the CA Secret with gateway.extraVolumes/extraVolumeMounts"
    )]
    RedisTruststoreNotMounted {
        /// The Deployment.
        deployment: String,
        /// The truststore path in force, or `unset`.
        path: String,
    },
    /// The chart made a license Secret from values.
    #[error(
        "the chart rendered the license Secret {secret} from license.key: the license is in the values in plain text: remove license.key and use env gravitee_license_key with secretKeyRef"
    )]
    LicenseSecretFromValues {
        /// The Secret.
        secret: String,
    },
}

fn name_of(object: &Value) -> String {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

fn kind_of(object: &Value) -> &str {
    object.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Checks rendered objects: gravitee.yml in `layout`, the gateway Deployment's env (every env in
/// `required_secret_envs` present and from a Secret; every known secret env name, if present,
/// from a Secret), the gateway's Redis TLS when it is on (no `trustAll`, a host name check, a
/// mounted truststore), and no license Secret made from values.
pub fn check_manifests(
    objects: &[Value],
    layout: ChartLayout,
    expected: Option<&Expected>,
    required_secret_envs: &[&str],
) -> Vec<RenderedError> {
    let mut errors = Vec::new();
    let path = layout.ratelimit_path();
    let configmaps: Vec<&Value> = objects
        .iter()
        .filter(|o| kind_of(o) == "ConfigMap" && o.pointer("/data/gravitee.yml").is_some())
        .collect();
    if configmaps.is_empty() {
        errors.push(RenderedError::NoGraviteeYml);
    }
    for configmap in configmaps {
        let name = name_of(configmap);
        let text = configmap
            .pointer("/data/gravitee.yml")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Ok(gravitee) = serde_saphyr::from_str::<Value>(text) else {
            errors.push(RenderedError::GraviteeYmlInvalid { configmap: name });
            continue;
        };
        let block = path
            .split('.')
            .try_fold(&gravitee, |v, segment| v.get(segment));
        let kind = block
            .and_then(|b| b.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("missing");
        if kind != "redis" {
            errors.push(RenderedError::RateLimitNotRedis {
                configmap: name,
                path,
                found: kind.to_string(),
            });
            continue;
        }
        let redis = block.and_then(|b| b.get("redis"));
        if redis
            .and_then(|r| r.get("password"))
            .is_some_and(|p| !p.is_null())
        {
            errors.push(RenderedError::PasswordInConfigMap {
                configmap: name.clone(),
                path,
            });
        }
        if let Some(expected) = expected {
            let sentinel = redis.and_then(|r| r.get("sentinel"));
            let master = sentinel.and_then(|s| s.get("master"));
            if master.and_then(Value::as_str) != Some(expected.master.as_str()) {
                errors.push(RenderedError::MasterMismatch {
                    configmap: name.clone(),
                    path,
                    found: master
                        .map(|m| format!("`{m}`"))
                        .unwrap_or_else(|| "missing".into()),
                    expected: expected.master.clone(),
                });
            }
            let found: Vec<String> = sentinel
                .and_then(|s| s.get("nodes"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|n| {
                    let field = |key| n.get(key).map(render_scalar).unwrap_or_default();
                    format!("{}:{}", field("host"), field("port"))
                })
                .collect();
            let wanted: Vec<String> = expected
                .nodes
                .iter()
                .map(|(h, p)| format!("{h}:{p}"))
                .collect();
            if found != wanted {
                errors.push(RenderedError::NodesMismatch {
                    configmap: name,
                    path,
                    found: found.join(", "),
                    expected: wanted.join(", "),
                });
            }
        }
    }
    let deployments: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            matches!(kind_of(o), "Deployment" | "StatefulSet")
                && o.pointer("/metadata/labels/app.kubernetes.io~1component")
                    .and_then(Value::as_str)
                    .is_none_or(|c| c.contains("gateway"))
        })
        .collect();
    if deployments.is_empty() {
        errors.push(RenderedError::NoGatewayDeployment);
    }
    for deployment in deployments {
        let name = name_of(deployment);
        let env: Vec<&Value> = deployment
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|c| c.get("env").and_then(Value::as_array).into_iter().flatten())
            .collect();
        for var in &env {
            let var_name = var.get("name").and_then(Value::as_str).unwrap_or_default();
            if secret_env_names().contains(&var_name.to_ascii_lowercase().as_str())
                && var.pointer("/valueFrom/secretKeyRef").is_none()
            {
                errors.push(RenderedError::SecretEnvNotFromSecret {
                    deployment: name.clone(),
                    name: var_name.to_string(),
                });
            }
        }
        for required in required_secret_envs {
            if !env
                .iter()
                .any(|v| v.get("name").and_then(Value::as_str) == Some(required))
            {
                errors.push(RenderedError::SecretEnvMissing {
                    deployment: name.clone(),
                    name: required.to_string(),
                });
            }
        }
    }
    errors.extend(crate::gateway_tls::check(objects, layout));
    for secret in objects.iter().filter(|o| kind_of(o) == "Secret") {
        let has_license = ["data", "stringData"].iter().any(|field| {
            secret
                .get(*field)
                .and_then(Value::as_object)
                .is_some_and(|d| d.contains_key("licensekey"))
        });
        if has_license {
            errors.push(RenderedError::LicenseSecretFromValues {
                secret: name_of(secret),
            });
        }
    }
    errors
}

fn render_scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
