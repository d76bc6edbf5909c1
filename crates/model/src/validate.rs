//! Validation: every problem of a model at once, each with its field path and the fix.

mod acl;
mod env;
mod limits;
mod metrics;
mod tls;
mod urls;

pub use metrics::quorum_at_risk_threshold;

#[cfg(feature = "proptest")]
pub(crate) use env::looks_secret;

use std::fmt;

use crate::{
    ContainerImage, CpuMemory, DataVolume, Deployment, Redis, Resources, SecretRole, SecretSource,
    parse_quantity,
};

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The deployment would be wrong or would not start: nothing is rendered or applied.
    Error,
    /// The deployment works but is weaker than it should be.
    Warning,
}

impl Severity {
    /// The word a person or a machine-readable report uses for it: `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Field path in the model / config file, e.g. `redis.sentinel.quorum`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = self.severity.as_str();
        write!(f, "{level}: {}: {}; {}", self.path, self.message, self.fix)
    }
}

/// A model with at least one error; holds every problem found (warnings too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the deployment has {} error(s):\n{}", self.errors().count(), self.problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ValidationError {
    /// Every problem, errors first, then by path.
    pub problems: Vec<Problem>,
}

impl ValidationError {
    /// The problems that are errors.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
    }

    /// Whether a problem is reported at `path`.
    pub fn has_path(&self, path: &str) -> bool {
        self.problems.iter().any(|p| p.path == path)
    }
}

/// A deployment that passed validation; the renderer's only input.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidDeployment {
    deployment: Deployment,
    warnings: Vec<Problem>,
}

impl ValidDeployment {
    /// Warnings found during validation (the deployment is valid despite them).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The validated model.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }
}

impl std::ops::Deref for ValidDeployment {
    type Target = Deployment;
    fn deref(&self) -> &Deployment {
        &self.deployment
    }
}

impl Deployment {
    /// Every problem of the model, errors first, then sorted by field path.
    pub fn validate(&self) -> Vec<Problem> {
        let mut check = Checker::default();
        check.deployment(self);
        let mut problems = check.problems;
        // The one redaction rule (crate::redact); a model without problems needs no redactor.
        if !problems.is_empty() {
            let redactor = crate::config::redactor_of(self);
            for p in &mut problems {
                p.message = redactor.scrub(&p.message);
                p.fix = redactor.scrub(&p.fix);
            }
        }
        problems.sort();
        problems.dedup();
        problems
    }

    /// The model as a [`ValidDeployment`] when it has no errors; otherwise all problems.
    pub fn validated(self) -> Result<ValidDeployment, ValidationError> {
        let problems = self.validate();
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return Err(ValidationError { problems });
        }
        Ok(ValidDeployment {
            deployment: self,
            warnings: problems,
        })
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
}

/// Longest StatefulSet name: pods get a `controller-revision-hash` label of name + 11 characters.
const MAX_STATEFULSET_NAME: usize = 52;
/// Helm refuses release names longer than this.
const MAX_RELEASE_NAME: usize = 53;

impl Checker {
    fn error(&mut self, path: impl Into<String>, msg: impl Into<String>, fix: impl Into<String>) {
        self.push(Severity::Error, path.into(), msg.into(), fix.into());
    }

    fn warning(&mut self, path: impl Into<String>, msg: impl Into<String>, fix: impl Into<String>) {
        self.push(Severity::Warning, path.into(), msg.into(), fix.into());
    }

    fn push(&mut self, severity: Severity, path: String, message: String, fix: String) {
        self.problems.push(Problem {
            severity,
            path,
            message,
            fix,
        });
    }

    fn deployment(&mut self, d: &Deployment) {
        self.dns_label("namespace", &d.namespace, 63);
        self.dns_label(
            "name",
            &d.name,
            MAX_STATEFULSET_NAME - "-redis-sentinel".len(),
        );
        self.redis(d);
        self.acl(d);
        self.gateway(d);
        self.metrics(d);
        self.counts(d);
        self.annotations(d);
        self.name_collisions(d);
        for role in SecretRole::ALL {
            if let Some(source) = d.secret_source(role) {
                self.secret_source(role, source);
            }
        }
    }

    fn redis(&mut self, d: &Deployment) {
        let r = &d.redis;
        self.image("redis.image", &r.image, "redis", "7.2.0");
        self.master_name(&r.master_name);
        if r.replicas == 0 {
            self.error(
                "redis.replicas",
                "0 replicas: a master without replicas can never fail over (Sentinel aborts with \
                 -failover-abort-no-good-slave and writes fail until the same pod returns)",
                "use at least 1 replica; 2 keeps a replica while another resyncs",
            );
        }
        self.port("redis.port", r.port);
        if let Some(port) = r.sentinel.port {
            self.port("redis.sentinel.port", port);
            if r.port == port {
                self.error(
                    "redis.sentinel.port",
                    format!("{port} is also redis.port"),
                    "use different ports, e.g. 6379 for Redis and 26379 for Sentinel, or leave \
                     it out",
                );
            }
        }
        match &r.persistence.volume {
            DataVolume::Persistent {
                size,
                storage_class,
            } => {
                let path = "redis.persistence.volume.size";
                match parse_quantity(size) {
                    None => self.error(
                        path,
                        format!("`{size}` is not a Kubernetes quantity"),
                        "use a size such as `8Gi`",
                    ),
                    Some(bytes) if bytes < 1.0 => self.error(
                        path,
                        format!("`{size}` is empty"),
                        "use a size such as `8Gi`",
                    ),
                    Some(_) => {}
                }
                if let Some(class) = storage_class {
                    self.dns_subdomain("redis.persistence.volume.storageClass", class);
                }
            }
            DataVolume::Ephemeral => self.warning(
                "redis.persistence.volume",
                "ephemeral: a data pod deleted or rescheduled loses its data, and a master \
                 restarted empty inside down-after can wipe its replicas",
                "use `kind: persistent` for production",
            ),
        }
        self.min_replicas_to_write(r);
        if r.repl_backlog_megabytes == 0 {
            self.error(
                "redis.replBacklogMegabytes",
                "0: every replica reconnecting after a failover would reload the whole data set",
                "use 32 (or more for a high write rate)",
            );
        }
        self.resources("redis.resources", &r.resources);
        self.sentinel(d);
        self.tls(&r.tls);
    }

    /// Errors only for what is written; a derived value that gives something up is a warning.
    fn min_replicas_to_write(&mut self, r: &Redis) {
        let Some(written) = &r.min_replicas_to_write else {
            return;
        };
        if let Some(min) = written.replicas
            // With 0 replicas `redis.replicas` is the one error to fix; this one would follow from it.
            && (min == 0 || (r.replicas > 0 && min >= r.replicas))
        {
            self.error(
                "redis.minReplicasToWrite.replicas",
                format!(
                    "{min} with {} replicas: the master would refuse every write as soon as one \
                     replica is down (or always, for 0)",
                    r.replicas
                ),
                if r.replicas > 1 {
                    format!("use 1..={}, or leave it out (1)", r.replicas - 1)
                } else {
                    "use 2 replicas, or leave it out (off with 1 replica)".into()
                },
            );
        }
        if written.replicas.is_none() && r.replicas == 1 {
            self.warning(
                "redis.minReplicasToWrite",
                "off with 1 replica (it would stop every write while that replica is down): a \
                 master cut off from its replica keeps acknowledging writes until the Sentinels \
                 demote it, and those writes are lost",
                "use 2 replicas to keep it on",
            );
        }
        let down_after = r.sentinel.down_after_milliseconds;
        let down_after_seconds = down_after / 1000;
        match written.max_lag_seconds {
            Some(0) => self.error(
                "redis.minReplicasToWrite.maxLagSeconds",
                "0 seconds: no replica would ever count as connected",
                format!("use 1..={}, or leave it out", down_after_seconds.max(1)),
            ),
            Some(lag) if u64::from(lag) * 1000 > u64::from(down_after) => self.error(
                "redis.minReplicasToWrite.maxLagSeconds",
                format!(
                    "{lag} s is longer than sentinel.downAfterMilliseconds ({down_after} ms): a \
                     master cut off from its replicas would still accept writes after the \
                     Sentinels promoted another node, and those writes are lost"
                ),
                format!(
                    "use 1..={}, or leave it out (derived from downAfterMilliseconds)",
                    down_after_seconds.max(1)
                ),
            ),
            None if down_after < 1000 && r.min_replicas_in_force().is_some() => self.warning(
                "redis.minReplicasToWrite.maxLagSeconds",
                format!(
                    "1 s (the shortest Redis accepts) is longer than \
                     sentinel.downAfterMilliseconds ({down_after} ms): a master cut off from its \
                     replicas can accept writes for up to {} ms after another node is promoted, \
                     and those writes are lost",
                    1000 - down_after
                ),
                "use downAfterMilliseconds of at least 1000",
            ),
            _ => {}
        }
    }

    fn sentinel(&mut self, d: &Deployment) {
        let s = &d.redis.sentinel;
        if s.count == 0 {
            self.error(
                "redis.sentinel.count",
                "0 sentinels: nothing would detect a failed master",
                "use 3 (or 5) sentinels",
            );
        } else if s.count < 3 || s.count.is_multiple_of(2) {
            self.warning(
                "redis.sentinel.count",
                format!(
                    "{} sentinels: fewer than 3 or an even number tolerates no more failures than \
                     one sentinel less",
                    s.count
                ),
                "use an odd number of at least 3 (3 or 5)",
            );
        }
        if let Some(quorum) = s.quorum
            && (quorum == 0 || quorum > s.count)
        {
            self.error(
                "redis.sentinel.quorum",
                format!("{quorum} exceeds the {} sentinels or is 0", s.count),
                format!(
                    "use 1..={} (or leave it out for the majority, {})",
                    s.count.max(1),
                    s.count / 2 + 1
                ),
            );
        }
        if s.down_after_milliseconds < 100 {
            self.error(
                "redis.sentinel.downAfterMilliseconds",
                format!(
                    "{} ms would declare a healthy master down on any pause",
                    s.down_after_milliseconds
                ),
                "use at least 1000 (the default is 10000)",
            );
        }
        if s.parallel_syncs == 0 {
            self.error(
                "redis.sentinel.parallelSyncs",
                "0: replicas would never be reconfigured after a failover",
                "use 1",
            );
        }
        if let Some(timeout) = s.failover_timeout_milliseconds
            && timeout <= s.down_after_milliseconds
        {
            self.error(
                "redis.sentinel.failoverTimeoutMilliseconds",
                format!(
                    "{timeout} ms is not longer than downAfterMilliseconds ({} ms)",
                    s.down_after_milliseconds
                ),
                format!(
                    "use a longer timeout, or leave it out ({} ms)",
                    s.down_after_milliseconds.saturating_mul(3).max(30_000)
                ),
            );
        }
        self.dns_1035_label("redis.sentinel.serviceName", &d.sentinel_service_name());
        if !s.auth {
            self.warning(
                "redis.sentinel.auth",
                "off: anyone who reaches a Sentinel can force a failover or reconfigure it",
                "set `auth: true`",
            );
        }
        self.resources("redis.sentinel.resources", &s.resources);
    }

    fn gateway(&mut self, d: &Deployment) {
        let g = &d.gateway;
        self.dns_label(
            "gateway.releaseName",
            &d.gateway_release_name(),
            MAX_RELEASE_NAME,
        );
        self.gateway_version(&g.version);
        if g.replicas == 0 {
            self.error(
                "gateway.replicas",
                "0 gateway pods would serve nothing",
                "use at least 1 (2 for availability)",
            );
        }
        if g.image.repository.trim().is_empty() || g.image.repository.contains(char::is_whitespace)
        {
            self.error(
                "gateway.image.repository",
                format!("`{}` is not an image repository", g.image.repository),
                "use e.g. `graviteeio/apim-gateway`",
            );
        }
        self.image(
            "gateway.pluginVerifierImage",
            &g.plugin_verifier_image,
            "alpine",
            "3.20.3",
        );
        self.port("gateway.service.port", g.service.port);
        self.resources("gateway.resources", &g.resources);
        let (delay, grace) = (g.graceful_shutdown(), g.termination_grace_period());
        if g.termination_grace_period_seconds == Some(0) {
            self.error(
                "gateway.terminationGracePeriodSeconds",
                "0 s: pods would be killed at once, dropping the requests in flight",
                "use a grace period longer than gracefulShutdownSeconds, e.g. 50",
            );
        } else if delay >= grace {
            // Only reachable when both are written: each derived one fits the other.
            self.error(
                "gateway.gracefulShutdownSeconds",
                format!(
                    "{delay} s is not shorter than terminationGracePeriodSeconds ({grace} s): pods \
                     would be killed before they finish"
                ),
                "use a shorter delay or a longer grace period",
            );
        }
        self.plugins(d);
        self.env(d);
    }

    fn secret_source(&mut self, role: SecretRole, source: &SecretSource) {
        let path = role.field_path();
        match source {
            SecretSource::ExistingSecret { name, key } => {
                self.dns_subdomain(&format!("{path}.name"), name);
                if key.is_empty()
                    || !key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
                {
                    self.error(
                        format!("{path}.key"),
                        format!("`{key}` is not a valid Secret key"),
                        "use letters, digits, `-`, `_` and `.`",
                    );
                }
            }
            SecretSource::Env { variable } => {
                if !env::is_env_name(variable) {
                    self.error(
                        format!("{path}.variable"),
                        format!("`{variable}` is not a valid environment variable name"),
                        "name the variable that holds the value, e.g. `GATEHOUSE_REDIS_PASSWORD`",
                    );
                }
            }
            SecretSource::Generated if !role.can_be_generated() => self.error(
                path,
                "cannot be generated: it is issued by Gravitee",
                "use `from: env` or `from: existingSecret`",
            ),
            SecretSource::Generated => {}
        }
    }

    fn master_name(&mut self, name: &str) {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            self.error(
                "redis.masterName",
                format!(
                    "`{name}` is not a master name Sentinel and the gateway accept unchanged \
                     (Sentinel splits its config on spaces and quotes; the chart pastes the name \
                     into gravitee.yml unquoted)"
                ),
                "use 1 to 64 letters, digits, `-`, `_` or `.`, e.g. `mymaster`",
            );
        }
    }

    fn image(&mut self, path: &str, image: &ContainerImage, repository: &str, tag: &str) {
        let repo = &image.repository;
        if repo.trim().is_empty()
            || repo.contains(char::is_whitespace)
            || repo.contains('@')
            || (repo.contains(':') && !repo.contains('/'))
        {
            self.error(
                format!("{path}.repository"),
                format!("`{repo}` is not an image repository"),
                format!("give the repository without tag, e.g. `{repository}`; put the tag in {path}.tag"),
            );
        }
        self.image_tag(&format!("{path}.tag"), &image.tag, tag);
    }

    fn image_tag(&mut self, path: &str, tag: &str, example: &str) {
        if tag.is_empty() || tag == "latest" {
            self.error(
                path,
                format!("`{tag}` is not pinned: every pod restart could run another version"),
                format!("pin a version, e.g. `{example}`"),
            );
        } else if !tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            || tag.len() > 128
        {
            self.error(
                path,
                format!("`{tag}` is not a valid image tag"),
                format!("use letters, digits, `.`, `_` and `-`, e.g. `{example}`"),
            );
        }
    }

    fn port(&mut self, path: &str, port: u16) {
        if port == 0 {
            self.error(path, "0 is not a port", "use 1..=65535");
        }
    }

    fn resources(&mut self, path: &str, resources: &Resources) {
        self.zero_resources(path, resources);
        let requests = self.cpu_memory(&format!("{path}.requests"), &resources.requests);
        let limits = self.cpu_memory(&format!("{path}.limits"), &resources.limits);
        for (which, request, limit) in [
            ("cpu", requests.0, limits.0),
            ("memory", requests.1, limits.1),
        ] {
            if let (Some(request), Some(limit)) = (request, limit)
                && request > limit
            {
                let (request_text, limit_text) = if which == "cpu" {
                    (&resources.requests.cpu, &resources.limits.cpu)
                } else {
                    (&resources.requests.memory, &resources.limits.memory)
                };
                self.error(
                    format!("{path}.requests.{which}"),
                    format!("{request_text} exceeds the limit {limit_text}"),
                    format!("request at most {limit_text}, or raise {path}.limits.{which}"),
                );
            }
        }
    }

    fn cpu_memory(&mut self, path: &str, values: &CpuMemory) -> (Option<f64>, Option<f64>) {
        let mut parse = |field: &str, text: &str, example: &str| {
            let value = parse_quantity(text);
            if value.is_none() {
                self.error(
                    format!("{path}.{field}"),
                    format!("`{text}` is not a Kubernetes quantity"),
                    format!("use e.g. `{example}`"),
                );
            }
            value
        };
        (
            parse("cpu", &values.cpu, "500m"),
            parse("memory", &values.memory, "512Mi"),
        )
    }

    fn dns_label(&mut self, path: &str, value: &str, max: usize) {
        if !is_dns_label(value) || value.len() > max {
            self.error(
                path,
                format!("`{value}` is not a DNS-1123 label of at most {max} characters"),
                "use lowercase letters, digits and `-`, starting and ending with a letter or digit",
            );
        }
    }

    fn dns_1035_label(&mut self, path: &str, value: &str) {
        if !is_dns_label(value) || !value.starts_with(|c: char| c.is_ascii_lowercase()) {
            self.error(
                path,
                format!("`{value}` is not a valid Service name (DNS-1035 label)"),
                "use at most 63 lowercase letters, digits and `-`, starting with a letter",
            );
        }
    }

    fn dns_subdomain(&mut self, path: &str, value: &str) {
        let ok = !value.is_empty() && value.len() <= 253 && value.split('.').all(is_dns_label);
        if !ok {
            self.error(
                path,
                format!("`{value}` is not a DNS-1123 subdomain"),
                "use lowercase letters, digits, `-` and `.`",
            );
        }
    }
}

fn is_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// The errors (not warnings) of `d`, for the tests of this module and its submodules.
#[cfg(test)]
pub(crate) fn errors_of(d: &Deployment) -> Vec<Problem> {
    d.validate()
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnvVar, MinReplicasToWrite, Plugin};

    #[test]
    fn defaults_and_guide_example_are_valid() {
        assert_eq!(errors_of(&Deployment::default()), vec![]);
        assert_eq!(Deployment::guide_example().validate(), vec![]);
    }

    #[test]
    fn one_call_reports_every_problem_with_its_path() {
        let mut d = Deployment::default();
        d.namespace = "Bad_NS".into();
        d.redis.replicas = 0;
        d.redis.sentinel.quorum = Some(3);
        d.redis.sentinel.count = 2;
        d.redis.image.tag = "latest".into();
        d.gateway.plugin_verifier_image.repository = "alpine:3".into();
        d.gateway.plugin_verifier_image.tag = String::new();
        d.gateway.version = "4.9".into();
        d.redis.master_name = "my master".into();
        d.gateway.env.push(EnvVar {
            name: String::new(),
            value: "x".into(),
        });
        d.gateway.resources.requests.memory = "2Gi".into();
        d.gateway.resources.limits.cpu = "lots".into();
        d.gateway.plugins = vec![
            Plugin {
                url: "http://x/a.zip".into(),
                sha256: Some("abc".into()),
            },
            Plugin {
                url: "https://x/b.zip;rm -rf /".into(),
                sha256: None,
            },
            Plugin {
                url: "https://x/c.jar".into(),
                sha256: None,
            },
            Plugin {
                url: "https://x/d.zip".into(),
                sha256: None,
            },
            Plugin {
                url: "https://x/d.zip".into(),
                sha256: None,
            },
        ];
        let err = d.validated().unwrap_err();
        for path in [
            "namespace",
            "redis.replicas",
            "redis.sentinel.quorum",
            "redis.sentinel.count",
            "redis.image.tag",
            "gateway.pluginVerifierImage.repository",
            "gateway.pluginVerifierImage.tag",
            "gateway.version",
            "redis.masterName",
            "gateway.env[0].name",
            "gateway.resources.requests.memory",
            "gateway.resources.limits.cpu",
            "gateway.plugins[0].url",
            "gateway.plugins[0].sha256",
            "gateway.plugins[1].url",
            "gateway.plugins[2].url",
            "gateway.plugins[4].url",
        ] {
            assert!(err.has_path(path), "no problem at {path}:\n{err}");
        }
        let quorum = err
            .problems
            .iter()
            .find(|p| p.path == "redis.sentinel.quorum")
            .unwrap();
        assert_eq!(
            quorum.to_string(),
            "error: redis.sentinel.quorum: 3 exceeds the 2 sentinels or is 0; use 1..=2 (or leave it out for the majority, 2)"
        );
    }

    #[test]
    fn sentinel_count_even_or_small_is_a_warning_not_an_error() {
        for count in [1, 2, 4] {
            let mut d = Deployment::default();
            d.redis.sentinel.count = count;
            let valid = d.validated().expect("a warning does not block");
            assert!(
                valid
                    .warnings()
                    .iter()
                    .any(|p| p.path == "redis.sentinel.count"),
                "{count}"
            );
        }
    }

    #[test]
    fn secrets_that_gravitee_issues_cannot_be_generated() {
        let mut d = Deployment::default();
        d.gateway.cloud_token = SecretSource::Generated;
        d.gateway.license_key = Some(SecretSource::Generated);
        let err = d.validated().unwrap_err();
        assert!(err.has_path("gateway.cloudToken"));
        assert!(err.has_path("gateway.licenseKey"));
    }

    #[test]
    fn reserved_secret_env_names_are_refused_in_any_case() {
        let mut d = Deployment::default();
        d.gateway.env.push(EnvVar {
            name: "GRAVITEE_CLOUD_TOKEN".into(),
            value: "plain".into(),
        });
        // The 4.12 layout's name is reserved too (one list for every chart line).
        d.gateway.env.push(EnvVar {
            name: "gravitee_repositories_ratelimit_redis_password".into(),
            value: "plain".into(),
        });
        let err = d.validated().unwrap_err();
        assert!(err.has_path("gateway.env[0].name"));
        let reserved = |p: &Problem| p.message.contains("is set by gatehouse from a Secret");
        for path in ["gateway.env[0].name", "gateway.env[1].name"] {
            assert!(
                err.problems.iter().any(|p| p.path == path && reserved(p)),
                "{err}"
            );
        }
    }

    #[test]
    fn min_replicas_to_write_needs_a_spare_replica_and_a_lag_within_down_after() {
        let mut d = Deployment::default();
        d.redis.min_replicas_to_write = Some(
            MinReplicasToWrite::default()
                .with_replicas(2)
                .with_max_lag_seconds(11),
        );
        let err = d.clone().validated().unwrap_err();
        assert!(err.has_path("redis.minReplicasToWrite.replicas"), "{err}");
        assert!(
            err.has_path("redis.minReplicasToWrite.maxLagSeconds"),
            "{err}"
        );
        d.redis.min_replicas_to_write = Some(
            MinReplicasToWrite::default()
                .with_replicas(1)
                .with_max_lag_seconds(10),
        );
        assert!(d.clone().validated().is_ok());
        d.redis.replicas = 1;
        assert!(
            d.clone()
                .validated()
                .unwrap_err()
                .has_path("redis.minReplicasToWrite.replicas")
        );
        d.redis.min_replicas_to_write = None;
        d.redis.repl_backlog_megabytes = 0;
        assert!(
            d.clone()
                .validated()
                .unwrap_err()
                .has_path("redis.replBacklogMegabytes")
        );
    }

    #[test]
    fn min_replicas_to_write_must_fit_the_replicas() {
        let mut d = Deployment::default();
        d.redis.min_replicas_to_write = Some(
            MinReplicasToWrite::default()
                .with_replicas(3)
                .with_max_lag_seconds(10),
        );
        assert!(
            d.validated()
                .unwrap_err()
                .has_path("redis.minReplicasToWrite.replicas")
        );
    }
}
