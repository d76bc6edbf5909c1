//! The pod specs gatehouse renders, turned into local process launches.
//!
//! The harness takes the files of the rendered ConfigMap and the container command, environment,
//! probes and pre-stop hook of the rendered StatefulSets. Only the variables that hold a host, port,
//! path or a password are replaced with loopback values ([`LOOPBACK_VARIABLES`], and every
//! password variable of [`gatehouse_render::redis_files::PASSWORD_ENV`], each user's password
//! from [`secret_value`]); the ones in
//! [`PASSED_THROUGH`] are used exactly as rendered. Any other variable is an error, so a variable
//! added to the pod spec cannot be silently ignored here.

use std::collections::BTreeMap;

use gatehouse_model::ValidDeployment;
use gatehouse_render::names::paths;
use gatehouse_render::{KubeObject, Names};
use k8s_openapi::api::core::v1::{Container, EnvVar, ExecAction, PodTemplateSpec};

use crate::HarnessError;

/// Variables whose rendered value names a cluster host, port or path, replaced with loopback
/// values; plus `POD_NAME` (a field reference). Password variables (Secret references) are listed
/// in [`gatehouse_render::redis_files::PASSWORD_ENV`].
pub const LOOPBACK_VARIABLES: [&str; 12] = [
    "POD_NAME",
    "ANNOUNCE_HOST",
    "SENTINELS",
    "BOOTSTRAP_MASTER",
    "REDIS_PORT",
    "SENTINEL_PORT",
    "TEMPLATE_DIR",
    "CONFIG_DIR",
    "DATA_DIR",
    "TLS_CA_FILE",
    "TLS_CERT_FILE",
    "TLS_KEY_FILE",
];

/// Variables used exactly as rendered (after Kubernetes `$(VAR)` expansion).
pub const PASSED_THROUGH: [&str; 6] = [
    "MASTER_NAME",
    "OPERATOR_USER",
    "PRESTOP_TIMEOUT",
    "REDIS_TLS",
    "TLS_AUTH_CLIENTS",
    "TLS_SECRET",
];

/// The value the harness gives a password variable: the test password itself for
/// `REDIS_PASSWORD` (the gateway's, user `default`), and for every other user the test password
/// followed by `/` and the variable's name, so each user has its own password with the same
/// characters that need quoting.
pub fn secret_value(password: &str, variable: &str) -> String {
    if variable == "REDIS_PASSWORD" {
        password.to_string()
    } else {
        format!("{password}/{variable}")
    }
}

/// The rendered Redis group: ConfigMap files and the two containers.
#[derive(Debug, Clone)]
pub struct RenderedRedis {
    /// File name → content of the rendered ConfigMap.
    pub files: BTreeMap<String, String>,
    /// The data nodes' container.
    pub data: Container,
    /// The Sentinels' container.
    pub sentinel: Container,
    /// The data pods' exporter sidecar, when `metrics` scrapes the data nodes.
    pub data_exporter: Option<Container>,
    /// The Sentinel pods' exporter sidecar, when `metrics` scrapes the Sentinels.
    pub sentinel_exporter: Option<Container>,
    /// The data StatefulSet's whole pod template (Kubernetes rolls the pods when it changes).
    pub data_template: PodTemplateSpec,
    /// The Sentinel StatefulSet's whole pod template.
    pub sentinel_template: PodTemplateSpec,
    /// Derived names.
    pub names: Names,
}

impl RenderedRedis {
    /// Renders the deployment and picks the ConfigMap and containers out of the objects.
    pub fn of(valid: &ValidDeployment) -> Result<RenderedRedis, HarnessError> {
        let names = Names::of(valid.deployment());
        let rendered = gatehouse_render::render(valid);
        let mut files = None;
        let mut data = None;
        let mut sentinel = None;
        let mut data_template = None;
        let mut sentinel_template = None;
        let mut data_exporter = None;
        let mut sentinel_exporter = None;
        for object in &rendered.objects {
            match object {
                KubeObject::ConfigMap(cm) if object.name() == names.config_map => {
                    files = cm.data.clone();
                }
                KubeObject::StatefulSet(sts) => {
                    let template = sts.spec.as_ref().map(|s| s.template.clone());
                    let container = sts
                        .spec
                        .as_ref()
                        .and_then(|s| s.template.spec.as_ref())
                        .and_then(|p| p.containers.first())
                        .cloned();
                    let exporter = sts
                        .spec
                        .as_ref()
                        .and_then(|s| s.template.spec.as_ref())
                        .and_then(|p| {
                            p.containers
                                .iter()
                                .find(|c| c.name == gatehouse_render::metrics::exporter::CONTAINER)
                        })
                        .cloned();
                    if object.name() == names.data_statefulset {
                        data = container;
                        data_template = template;
                        data_exporter = exporter;
                    } else if object.name() == names.sentinel_statefulset {
                        sentinel = container;
                        sentinel_template = template;
                        sentinel_exporter = exporter;
                    }
                }
                _ => {}
            }
        }
        let missing = |what: &str| HarnessError::Rendered {
            message: format!("the rendered objects have no {what}"),
        };
        Ok(RenderedRedis {
            files: files.ok_or_else(|| missing(&format!("ConfigMap {}", names.config_map)))?,
            data: data
                .ok_or_else(|| missing(&format!("StatefulSet {}", names.data_statefulset)))?,
            sentinel: sentinel
                .ok_or_else(|| missing(&format!("StatefulSet {}", names.sentinel_statefulset)))?,
            data_template: data_template
                .ok_or_else(|| missing(&format!("StatefulSet {}", names.data_statefulset)))?,
            sentinel_template: sentinel_template
                .ok_or_else(|| missing(&format!("StatefulSet {}", names.sentinel_statefulset)))?,
            data_exporter,
            sentinel_exporter,
            names,
        })
    }
}

/// Loopback values of one pod.
#[derive(Debug, Clone)]
pub struct LoopbackValues {
    /// `metadata.name` of the pod.
    pub pod_name: String,
    /// The pod's own loopback address (its "pod IP"), announced to the others.
    pub announce_host: String,
    /// The test password, from which every user's password is derived ([`secret_value`]).
    pub password: String,
    /// Space-separated `address:port` of every Sentinel.
    pub sentinels: String,
    /// `address:port` of data node 0.
    pub bootstrap_master: String,
    /// This data node's port (for a Sentinel pod: data node 0's).
    pub redis_port: u16,
    /// This Sentinel's port (for a data pod: Sentinel 0's).
    pub sentinel_port: u16,
    /// Where the ConfigMap files were written.
    pub template_dir: String,
    /// The pod's writable config directory.
    pub config_dir: String,
    /// The pod's data directory.
    pub data_dir: String,
    /// Where the TLS Secret's files are (replaces the rendered mount path of the TLS volume).
    pub tls_dir: String,
}

fn expand(value: &str, env: &[(String, String)]) -> String {
    // Kubernetes expands $(VAR) from variables defined earlier; $$ escapes.
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                let name = &after[..end];
                match env.iter().find(|(k, _)| k == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn plain<'a>(container: &str, var: &'a EnvVar) -> Result<&'a str, HarnessError> {
    match (&var.value, &var.value_from) {
        (Some(v), None) => Ok(v),
        _ => Err(HarnessError::Rendered {
            message: format!(
                "container {container}: env {} should be a plain value in the rendered pod spec",
                var.name
            ),
        }),
    }
}

/// The environment of `container` for one local process: every rendered variable, mapped.
pub fn loopback_env(
    container: &Container,
    values: &LoopbackValues,
) -> Result<Vec<(String, String)>, HarnessError> {
    let mut env: Vec<(String, String)> = Vec::new();
    for var in container.env.iter().flatten() {
        let from = var.value_from.as_ref();
        let value = match var.name.as_str() {
            "POD_NAME" => {
                let field = from.and_then(|f| f.field_ref.as_ref());
                if field.map(|f| f.field_path.as_str()) != Some("metadata.name") {
                    return Err(HarnessError::Rendered {
                        message: format!(
                            "container {}: POD_NAME should come from metadata.name",
                            container.name
                        ),
                    });
                }
                values.pod_name.clone()
            }
            variable
                if gatehouse_render::redis_files::PASSWORD_ENV
                    .iter()
                    .any(|(v, _)| *v == variable) =>
            {
                if from.and_then(|f| f.secret_key_ref.as_ref()).is_none() {
                    return Err(HarnessError::Rendered {
                        message: format!(
                            "container {}: {variable} must come from a Secret (secretKeyRef)",
                            container.name
                        ),
                    });
                }
                secret_value(&values.password, variable)
            }
            name => {
                plain(&container.name, var)?;
                match name {
                    "ANNOUNCE_HOST" => values.announce_host.clone(),
                    "SENTINELS" => values.sentinels.clone(),
                    "BOOTSTRAP_MASTER" => values.bootstrap_master.clone(),
                    "REDIS_PORT" => values.redis_port.to_string(),
                    "SENTINEL_PORT" => values.sentinel_port.to_string(),
                    "TEMPLATE_DIR" => values.template_dir.clone(),
                    "CONFIG_DIR" => values.config_dir.clone(),
                    "DATA_DIR" => values.data_dir.clone(),
                    "TLS_CA_FILE" | "TLS_CERT_FILE" | "TLS_KEY_FILE" => {
                        let rendered = plain(&container.name, var)?;
                        match rendered.strip_prefix(paths::TLS) {
                            Some(file) if file.starts_with('/') => {
                                format!("{}{file}", values.tls_dir)
                            }
                            _ => {
                                return Err(HarnessError::Rendered {
                                    message: format!(
                                        "container {}: {name} should be a file under {}",
                                        container.name,
                                        paths::TLS
                                    ),
                                });
                            }
                        }
                    }
                    n if PASSED_THROUGH.contains(&n) => expand(plain(&container.name, var)?, &env),
                    other => {
                        return Err(HarnessError::UnknownVariable {
                            container: container.name.clone(),
                            variable: other.to_string(),
                        });
                    }
                }
            }
        };
        env.push((var.name.clone(), value));
    }
    Ok(env)
}

/// An exec command of the pod spec (`sh /etc/gatehouse/<script> ...`) with the template path
/// replaced by the local template directory.
pub fn loopback_command(
    command: &[String],
    template_dir: &str,
) -> Result<Vec<String>, HarnessError> {
    if command.is_empty() {
        return Err(HarnessError::Rendered {
            message: "an empty exec command".into(),
        });
    }
    Ok(command
        .iter()
        .map(|arg| match arg.strip_prefix(paths::TEMPLATES) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{template_dir}{rest}")
            }
            _ => arg.clone(),
        })
        .collect())
}

/// The command of an exec action.
pub fn exec_command(action: Option<&ExecAction>, what: &str) -> Result<Vec<String>, HarnessError> {
    action
        .and_then(|a| a.command.clone())
        .ok_or_else(|| HarnessError::Rendered {
            message: format!("the rendered pod spec has no exec command for {what}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> LoopbackValues {
        LoopbackValues {
            pod_name: "p-0".into(),
            announce_host: "127.1.0.1".into(),
            password: "pw".into(),
            sentinels: "127.0.0.1:1".into(),
            bootstrap_master: "127.0.0.1:2".into(),
            redis_port: 2,
            sentinel_port: 1,
            template_dir: "/t".into(),
            config_dir: "/c".into(),
            data_dir: "/d".into(),
            tls_dir: "/tls".into(),
        }
    }

    #[test]
    fn every_rendered_variable_is_mapped_and_unknown_ones_are_refused() {
        let valid = gatehouse_model::Deployment::guide_example()
            .validated()
            .unwrap();
        let rendered = RenderedRedis::of(&valid).unwrap();
        for container in [&rendered.data, &rendered.sentinel] {
            let env = loopback_env(container, &values()).unwrap();
            assert!(env.contains(&("ANNOUNCE_HOST".into(), "127.1.0.1".into())));
            assert!(env.contains(&("REDIS_PASSWORD".into(), "pw".into())));
            assert!(env.contains(&("OPERATOR_PASSWORD".into(), "pw/OPERATOR_PASSWORD".into())));
            let mut extra = container.clone();
            extra.env.as_mut().unwrap().push(EnvVar {
                name: "NEW_SETTING".into(),
                value: Some("x".into()),
                ..Default::default()
            });
            let err = loopback_env(&extra, &values()).unwrap_err();
            assert!(err.to_string().contains("NEW_SETTING"), "{err}");
        }
    }

    #[test]
    fn kubernetes_expansion_uses_earlier_variables() {
        let env = vec![("A".to_string(), "x".to_string())];
        assert_eq!(expand("$(A).svc $(B)", &env), "x.svc $(B)");
    }

    #[test]
    fn template_paths_are_replaced_only_as_a_prefix() {
        let command = vec!["sh".into(), format!("{}/probe.sh", paths::TEMPLATES)];
        assert_eq!(
            loopback_command(&command, "/tmp/t").unwrap(),
            vec!["sh".to_string(), "/tmp/t/probe.sh".into()]
        );
    }
}
