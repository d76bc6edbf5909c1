//! The gateway's Redis TLS settings as they are in force in a rendered chart.
//!
//! The gateway reads each rate-limit Redis setting from `gravitee.yml` and lets an environment
//! variable of the same property path override it (the env name is the path in lowercase with `_`
//! for `.`, under [`ChartLayout::redis_env_prefix`]). The chart renders `ssl`, `trustAll` and
//! `hostnameVerificationAlgorithm` into `gravitee.yml` only when `gateway.ratelimit.redis.ssl` is
//! set, and then defaults `trustAll` to true and the algorithm to `NONE`; with the key unset the
//! gateway's own defaults apply, which are the same. So a TLS link is safe only when the value in
//! force, env over file over default, is `trustAll: false` with an algorithm other than `NONE`, and
//! the truststore the gateway reads is a file that a volume of the pod provides.

use serde_json::Value;

use crate::rendered::{ChartLayout, RenderedError};

/// What the gateway's rate-limit Redis client will use, read from one rendered gateway workload
/// and the chart's `gravitee.yml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRedisTls {
    /// The gateway Deployment (or StatefulSet).
    pub deployment: String,
    /// `ssl` in force.
    pub ssl: bool,
    /// `trustAll` in force (the gateway's default is true).
    pub trust_all: bool,
    /// `hostnameVerificationAlgorithm` in force (the gateway's default is `NONE`).
    pub hostname_verification: String,
    /// `truststore.path` in force, if any.
    pub truststore_path: Option<String>,
    /// The Secret whose volume provides the truststore file in the gateway container, if any.
    pub truststore_secret: Option<String>,
    /// `keystore.certificates[0].cert` and `.key` in force, each with the Secret providing it.
    pub keystore: Option<[(String, Option<String>); 2]>,
}

/// The gateway's Redis TLS settings in force for each gateway workload among `objects`.
pub fn gateway_redis_tls(objects: &[Value], layout: ChartLayout) -> Vec<GatewayRedisTls> {
    let redis = gravitee_redis_block(objects, layout);
    gateway_workloads(objects)
        .map(|workload| in_force(workload, redis.as_ref(), layout))
        .collect()
}

/// Defects of the gateway's Redis TLS: a TLS link that trusts any certificate, checks no host
/// name, or reads a truststore no Secret volume provides.
pub(crate) fn check(objects: &[Value], layout: ChartLayout) -> Vec<RenderedError> {
    let mut errors = Vec::new();
    for tls in gateway_redis_tls(objects, layout) {
        if !tls.ssl {
            continue;
        }
        let prefix = layout.redis_env_prefix();
        if tls.trust_all {
            errors.push(RenderedError::RedisTlsTrustsAll {
                deployment: tls.deployment.clone(),
                env: format!("{prefix}_trustall"),
            });
        }
        if tls.hostname_verification.eq_ignore_ascii_case("NONE") {
            errors.push(RenderedError::RedisTlsNoHostnameCheck {
                deployment: tls.deployment.clone(),
                env: format!("{prefix}_hostnameverificationalgorithm"),
            });
        }
        if !tls.trust_all && tls.truststore_secret.is_none() {
            errors.push(RenderedError::RedisTruststoreNotMounted {
                deployment: tls.deployment.clone(),
                path: tls
                    .truststore_path
                    .clone()
                    .unwrap_or_else(|| "unset".into()),
            });
        }
    }
    errors
}

fn gateway_workloads(objects: &[Value]) -> impl Iterator<Item = &Value> {
    objects.iter().filter(|o| {
        matches!(
            o.get("kind").and_then(Value::as_str),
            Some("Deployment" | "StatefulSet")
        ) && o
            .pointer("/metadata/labels/app.kubernetes.io~1component")
            .and_then(Value::as_str)
            .is_none_or(|c| c.contains("gateway"))
    })
}

/// The rate-limit `redis` block of the first `gravitee.yml` in `objects`.
fn gravitee_redis_block(objects: &[Value], layout: ChartLayout) -> Option<Value> {
    let text = objects
        .iter()
        .find_map(|o| o.pointer("/data/gravitee.yml").and_then(Value::as_str))?;
    let gravitee: Value = serde_saphyr::from_str(text).ok()?;
    layout
        .ratelimit_path()
        .split('.')
        .chain(["redis"])
        .try_fold(&gravitee, |v, segment| v.get(segment))
        .cloned()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn in_force(workload: &Value, redis: Option<&Value>, layout: ChartLayout) -> GatewayRedisTls {
    let pod = workload.pointer("/spec/template/spec");
    let containers: Vec<&Value> = pod
        .and_then(|p| p.get("containers"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let env: Vec<(String, String)> = containers
        .iter()
        .flat_map(|c| c.get("env").and_then(Value::as_array).into_iter().flatten())
        .filter_map(|e| {
            Some((
                e.get("name")?.as_str()?.to_ascii_lowercase(),
                e.get("value").and_then(scalar)?,
            ))
        })
        .collect();
    let prefix = layout.redis_env_prefix();
    // Env over gravitee.yml over the gateway's default.
    let setting = |path: &str| -> Option<String> {
        let env_name = format!("{prefix}_{}", path.replace('.', "_").to_ascii_lowercase());
        env.iter()
            .rev()
            .find(|(name, _)| *name == env_name)
            .map(|(_, value)| value.clone())
            .or_else(|| {
                path.split('.')
                    .try_fold(redis?, |v, segment| match segment.parse::<usize>() {
                        Ok(index) => v.get(index),
                        Err(_) => v.get(segment),
                    })
                    .and_then(scalar)
            })
    };
    let flag = |path: &str, default: bool| {
        setting(path).map_or(default, |v| v.eq_ignore_ascii_case("true"))
    };
    let secret_of = |path: &Option<String>| -> Option<String> {
        let path = path.as_deref()?;
        let mount = containers
            .iter()
            .flat_map(|c| {
                c.get("volumeMounts")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|m| {
                Some((
                    m.get("name")?.as_str()?,
                    m.get("mountPath")?.as_str()?.trim_end_matches('/'),
                ))
            })
            .find(|(_, dir)| path.strip_prefix(dir).is_some_and(|r| r.starts_with('/')))?;
        let file = path[mount.1.len() + 1..].to_string();
        let volume = pod
            .and_then(|p| p.get("volumes"))
            .and_then(Value::as_array)?
            .iter()
            .find(|v| v.get("name").and_then(Value::as_str) == Some(mount.0))?;
        // With `items`, only the listed keys are files.
        let provides = |source: &Value| {
            source
                .get("items")
                .and_then(Value::as_array)
                .is_none_or(|items| {
                    items
                        .iter()
                        .any(|i| i.get("path").and_then(Value::as_str) == Some(file.as_str()))
                })
        };
        if let Some(secret) = volume.get("secret") {
            return provides(secret)
                .then(|| secret.get("secretName")?.as_str().map(str::to_string))?;
        }
        // A projected volume: the Secret source that provides the file.
        volume
            .pointer("/projected/sources")?
            .as_array()?
            .iter()
            .filter_map(|s| s.get("secret"))
            .find(|s| provides(s))
            .and_then(|s| s.get("name")?.as_str().map(str::to_string))
    };
    let truststore_path = setting("truststore.path");
    let keystore = match (
        setting("keystore.certificates.0.cert"),
        setting("keystore.certificates.0.key"),
    ) {
        (Some(cert), Some(key)) => {
            let (cert, key) = (Some(cert), Some(key));
            let (cert_secret, key_secret) = (secret_of(&cert), secret_of(&key));
            Some([
                (cert.unwrap_or_default(), cert_secret),
                (key.unwrap_or_default(), key_secret),
            ])
        }
        _ => None,
    };
    GatewayRedisTls {
        deployment: workload
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string(),
        ssl: flag("ssl", false),
        trust_all: flag("trustAll", true),
        hostname_verification: setting("hostnameVerificationAlgorithm")
            .unwrap_or_else(|| "NONE".into()),
        truststore_secret: secret_of(&truststore_path),
        truststore_path,
        keystore,
    }
}
