//! The rendered redis_exporter sidecar as a local process (Debian's `prometheus-redis-exporter`),
//! and scraping it as Prometheus would.
//!
//! The sidecar's arguments and environment are taken from the rendered pod spec; only the address
//! (the pod's loopback address and port instead of its DNS name), the TLS file directory and the
//! password (the Secret's test value) are replaced. Any other argument or variable is an error, so
//! the harness cannot drift from what the pods run.

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse_render::metrics::{alerts, exporter};
use gatehouse_render::names::{labels, paths};
use k8s_openapi::api::core::v1::Container;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::HarnessError;
use crate::cluster::{Cluster, Pod, Role};
use crate::pods::secret_value;
use crate::process::{Launch, ManagedProcess};

/// Debian's build of redis_exporter.
pub const BINARY: &str = "prometheus-redis-exporter";
/// How to install it.
pub const INSTALL_HINT: &str =
    "install it with `sudo apt-get install -y prometheus-redis-exporter`";

/// One running exporter sidecar.
#[derive(Debug)]
pub struct ExporterProcess {
    /// The pod it belongs to.
    pub pod: String,
    /// Which kind of pod.
    pub role: Role,
    /// `address:port` of its `/metrics` endpoint.
    pub listen: String,
    /// Labels Prometheus puts on its series through the rendered `PodMonitor` (namespace, pod,
    /// container, instance and component).
    pub target_labels: BTreeMap<String, String>,
    process: Option<ManagedProcess>,
}

/// Where to scrape one exporter and the labels its series get.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    /// `address:port` of its `/metrics` endpoint.
    pub listen: String,
    /// The target labels.
    pub target_labels: BTreeMap<String, String>,
}

impl ExporterProcess {
    /// Where to scrape it.
    pub fn target(&self) -> ScrapeTarget {
        ScrapeTarget {
            listen: self.listen.clone(),
            target_labels: self.target_labels.clone(),
        }
    }

    /// Stops it (SIGKILL), as a crashed sidecar.
    pub async fn kill(&mut self) -> Result<(), HarnessError> {
        match self.process.take() {
            Some(p) => p.kill().await,
            None => Ok(()),
        }
    }
}

/// The rendered sidecar of one pod, mapped to loopback.
#[derive(Debug, Clone)]
pub struct LoopbackExporter {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Its environment.
    pub env: Vec<(String, String)>,
    /// `address:port` it listens on.
    pub listen: String,
}

/// The command line and environment of the rendered sidecar for `pod`.
pub fn loopback_launch(
    container: &Container,
    pod: &Pod,
    password: &str,
    tls_dir: &str,
) -> Result<LoopbackExporter, HarnessError> {
    let bad = |message: String| HarnessError::Rendered { message };
    let mut listen = None;
    let mut argv = vec![BINARY.to_string()];
    for arg in container.args.iter().flatten() {
        let (flag, value) = arg
            .split_once('=')
            .ok_or_else(|| bad(format!("exporter argument `{arg}` is not --flag=value")))?;
        let value = match flag {
            "--redis.addr" => {
                let (scheme, _) = value
                    .split_once("://")
                    .ok_or_else(|| bad(format!("exporter address `{value}` has no scheme")))?;
                format!("{scheme}://{}", pod.addr())
            }
            "--web.listen-address" => {
                let port = value
                    .strip_prefix(':')
                    .ok_or_else(|| bad(format!("exporter listens on `{value}`, not `:port`")))?;
                let address = format!("{}:{port}", pod.host);
                listen = Some(address.clone());
                address
            }
            "--tls-ca-cert-file" | "--tls-client-cert-file" | "--tls-client-key-file" => {
                match value.strip_prefix(paths::TLS) {
                    Some(file) if file.starts_with('/') => format!("{tls_dir}{file}"),
                    _ => return Err(bad(format!("{flag} `{value}` is not under {}", paths::TLS))),
                }
            }
            "--redis.user" | "--config-command" => value.to_string(),
            other => {
                return Err(bad(format!(
                    "exporter argument {other} is unknown to the harness"
                )));
            }
        };
        argv.push(format!("{flag}={value}"));
    }
    let mut env = Vec::new();
    for var in container.env.iter().flatten() {
        let from = var.value_from.as_ref();
        let value = match var.name.as_str() {
            "POD_NAME" => pod.name.clone(),
            exporter::PASSWORD_VARIABLE => {
                if from.and_then(|f| f.secret_key_ref.as_ref()).is_none() {
                    return Err(bad(format!(
                        "exporter {} must come from a Secret",
                        exporter::PASSWORD_VARIABLE
                    )));
                }
                secret_value(password, gatehouse_render::redis_files::EXPORTER_PASSWORD)
            }
            other => {
                return Err(HarnessError::UnknownVariable {
                    container: container.name.clone(),
                    variable: other.to_string(),
                });
            }
        };
        env.push((var.name.clone(), value));
    }
    let listen = listen.ok_or_else(|| bad("the exporter has no --web.listen-address".into()))?;
    Ok(LoopbackExporter { argv, env, listen })
}

impl Cluster {
    /// Starts the rendered exporter sidecar of pod `i`.
    pub fn start_exporter(&self, role: Role, i: usize) -> Result<ExporterProcess, HarnessError> {
        let container = match role {
            Role::Data => self.rendered.data_exporter.as_ref(),
            Role::Sentinel => self.rendered.sentinel_exporter.as_ref(),
        }
        .ok_or_else(|| HarnessError::Rendered {
            message: format!("the rendered {role:?} pods have no exporter sidecar (metrics off?)"),
        })?;
        let pod = match role {
            Role::Data => &self.data[i],
            Role::Sentinel => &self.sentinels[i],
        };
        let tls_dir = self.root().join("tls").display().to_string();
        let LoopbackExporter { argv, env, listen } =
            loopback_launch(container, pod, &self.password, &tls_dir)?;
        let process = ManagedProcess::spawn(&Launch {
            argv,
            env,
            log: pod.dir.join("exporter.log"),
            as_nobody: false,
        })?;
        let component = match role {
            Role::Data => labels::DATA,
            Role::Sentinel => labels::SENTINEL,
        };
        let target_labels = BTreeMap::from([
            (
                "namespace".to_string(),
                self.rendered.names.namespace.clone(),
            ),
            ("pod".to_string(), pod.name.clone()),
            ("container".to_string(), exporter::CONTAINER.to_string()),
            (
                alerts::INSTANCE_LABEL.to_string(),
                self.rendered.names.instance.clone(),
            ),
            (alerts::COMPONENT_LABEL.to_string(), component.to_string()),
        ]);
        Ok(ExporterProcess {
            pod: pod.name.clone(),
            role,
            listen,
            target_labels,
            process: Some(process),
        })
    }
}

/// One sample of a scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Its labels, with the target labels added.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
}

impl Sample {
    /// The series in PromQL form: `name{a="x",b="y"}` (label values escaped).
    pub fn series(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| {
                let escaped = v
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n");
                format!("{k}=\"{escaped}\"")
            })
            .collect();
        format!("{}{{{}}}", self.name, labels.join(","))
    }
}

/// Scrapes `exporter` once as Prometheus does: its samples with the target labels added, plus
/// `up` (1 when the scrape answered, 0 when it did not, as Prometheus records it).
pub async fn scrape(exporter: &ScrapeTarget, limit: Duration) -> Vec<Sample> {
    let body = tokio::time::timeout(limit, get_metrics(&exporter.listen))
        .await
        .ok()
        .and_then(Result::ok);
    let up = Sample {
        name: "up".into(),
        labels: exporter.target_labels.clone(),
        value: if body.is_some() { 1.0 } else { 0.0 },
    };
    let mut samples = vec![up];
    if let Some(body) = body {
        samples.extend(parse(&body).into_iter().map(|mut s| {
            s.labels.extend(exporter.target_labels.clone());
            s
        }));
    }
    samples
}

/// `GET /metrics` over HTTP/1.0 (the whole answer, then the connection closes).
async fn get_metrics(listen: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(listen).await?;
    stream
        .write_all(format!("GET /metrics HTTP/1.0\r\nHost: {listen}\r\n\r\n").as_bytes())
        .await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    match answer.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.") && head.contains(" 200 ") => {
            Ok(body.to_string())
        }
        _ => Err(std::io::Error::other("not a 200 answer")),
    }
}

/// The samples of a Prometheus text exposition (comments skipped; no timestamps, which the
/// exporter never writes).
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Option<Sample> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return None,
    };
    let mut labels = BTreeMap::new();
    let mut rest = rest;
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut key = String::new();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(i + 1);
                    break;
                }
                ',' => {}
                '=' => {
                    let (_, quote) = chars.next()?;
                    if quote != '"' {
                        return None;
                    }
                    let mut value = String::new();
                    loop {
                        let (_, c) = chars.next()?;
                        match c {
                            '\\' => match chars.next()?.1 {
                                'n' => value.push('\n'),
                                other => value.push(other),
                            },
                            '"' => break,
                            other => value.push(other),
                        }
                    }
                    labels.insert(std::mem::take(&mut key), value);
                }
                other => key.push(other),
            }
        }
        rest = &inner[end?..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lines_parse_with_escaped_label_values() {
        let text = "# HELP x\nredis_up 1\nredis_sentinel_master_status{master_address=\"10.0.0.1:6379\",master_name=\"m\",master_status=\"ok\"} 1\nredis_x{a=\"q\\\"uote\\\\n\"} -2.5e-3\n";
        let samples = parse(text);
        assert_eq!(samples.len(), 3);
        assert_eq!(samples[0].name, "redis_up");
        assert_eq!(samples[0].value, 1.0);
        assert_eq!(samples[1].labels["master_address"], "10.0.0.1:6379");
        assert_eq!(samples[2].labels["a"], "q\"uote\\n");
        assert_eq!(samples[2].value, -0.0025);
        assert_eq!(samples[2].series(), "redis_x{a=\"q\\\"uote\\\\n\"}");
    }
}
