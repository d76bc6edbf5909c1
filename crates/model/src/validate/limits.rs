//! What the API server (or Helm) would refuse, caught before anything is applied, and warnings
//! for values outside a sane range.

use super::Checker;
use crate::{Deployment, Resources, parse_quantity, shown};

/// Kubernetes caps the total size of an object's annotations (keys + values) at 256 KiB.
pub(super) const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;
/// `replicas` of a StatefulSet or Deployment is an int32.
const MAX_REPLICAS: u32 = i32::MAX as u32;
/// Above these, a count is almost certainly a typo.
const SANE_REDIS_REPLICAS: u32 = 10;
const SANE_SENTINELS: u32 = 7;
const SANE_GATEWAY_REPLICAS: u32 = 100;

/// An annotation key: an optional DNS-1123 subdomain prefix and `/`, then a name of at most 63
/// characters (alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric).
fn is_annotation_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix
        .is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(super::is_dns_label));
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    prefix_ok && name_ok
}

impl Checker {
    pub(super) fn counts(&mut self, d: &Deployment) {
        for (path, value, sane, what) in [
            (
                "redis.replicas",
                d.redis.replicas,
                SANE_REDIS_REPLICAS,
                "each replica keeps a full copy and adds replication traffic to the master",
            ),
            (
                "redis.sentinel.count",
                d.redis.sentinel.count,
                SANE_SENTINELS,
                "more Sentinels add election traffic and no availability",
            ),
            (
                "gateway.replicas",
                d.gateway.replicas,
                SANE_GATEWAY_REPLICAS,
                "turn on gateway.autoscaling for load that varies",
            ),
        ] {
            if value > MAX_REPLICAS {
                self.error(
                    path,
                    format!("{value} is more than Kubernetes accepts (at most {MAX_REPLICAS})"),
                    format!("use a count up to {sane}"),
                );
            } else if value > sane {
                self.warning(
                    path,
                    format!("{value} is unusually many: {what}"),
                    format!("use at most {sane} unless you mean it"),
                );
            }
        }
    }

    pub(super) fn zero_resources(&mut self, path: &str, resources: &Resources) {
        for (part, values) in [
            ("requests", &resources.requests),
            ("limits", &resources.limits),
        ] {
            for (which, text) in [("cpu", &values.cpu), ("memory", &values.memory)] {
                if parse_quantity(text) == Some(0.0) {
                    self.warning(
                        format!("{path}.{part}.{which}"),
                        if part == "requests" {
                            "0: the scheduler reserves nothing, so the pod is placed on full nodes and evicted first"
                        } else {
                            "0: a zero limit starves the container (or is refused by a LimitRange)"
                        },
                        "use a real quantity, e.g. the default",
                    );
                }
            }
        }
    }

    pub(super) fn annotations(&mut self, d: &Deployment) {
        let mut total = 0usize;
        for (key, value) in &d.gateway.pod_annotations {
            total += key.len() + value.len();
            if !is_annotation_key(key) {
                self.error(
                    format!("gateway.podAnnotations.{}", shown(key)),
                    "is not a valid annotation key",
                    "use an optional DNS prefix and `/`, then at most 63 letters, digits, `-`, \
                     `_` or `.`, e.g. `prometheus.io/scrape`",
                );
            } else if key.starts_with("gatehouse/") {
                self.error(
                    format!("gateway.podAnnotations.{}", shown(key)),
                    "uses the prefix `gatehouse/`, which deploy sets on the gateway's pods \
                     (`gatehouse/secret-versions` rolls them when a password they read changes)",
                    "remove it, or use a prefix of your own",
                );
            }
        }
        if total > MAX_ANNOTATIONS_BYTES {
            self.error(
                "gateway.podAnnotations",
                format!(
                    "{total} bytes in total: the API server refuses annotations above {} bytes \
                     (256 KiB)",
                    MAX_ANNOTATIONS_BYTES
                ),
                "keep large data out of annotations (a ConfigMap holds up to 1 MiB)",
            );
        }
    }

    /// The gateway version is both the image tag and the chart version: `MAJOR.MINOR.PATCH` with
    /// an optional `-prerelease`; build metadata (`+…`) is refused because image tags cannot
    /// carry `+`. Its `MAJOR.MINOR` must be a chart line gatehouse has a contract for
    /// (gatehouse-chart-contract): the line selects the values keys and the secret env names
    /// the gateway reads.
    pub(super) fn gateway_version(&mut self, version: &str) {
        const FIX: &str = "use MAJOR.MINOR.PATCH with an optional -prerelease (e.g. `4.9.0` or \
             `4.10.0-rc.1`): the gateway version of your Gravitee Cloud control plane";
        match semver::Version::parse(version) {
            Ok(parsed) if !parsed.build.is_empty() => self.error(
                "gateway.version",
                format!(
                    "`{}` has build metadata (`+{}`): it is both the image tag and the chart \
                     version, and an image tag cannot contain `+`",
                    shown(version),
                    shown(parsed.build.as_str())
                ),
                FIX,
            ),
            Ok(parsed) if gatehouse_chart_contract::supported_chart(version).is_none() => self
                .error(
                    "gateway.version",
                    format!(
                        "`{}` belongs to chart line {}.{}, which gatehouse has no chart contract \
                         for (the keys the chart reads and the env names the gateway reads its \
                         secrets from differ between lines)",
                        shown(version),
                        parsed.major,
                        parsed.minor
                    ),
                    format!(
                        "use a gateway version of a supported line: {} (e.g. `{}`)",
                        gatehouse_chart_contract::supported_lines(),
                        gatehouse_chart_contract::SUPPORTED
                            .last()
                            .map(|c| c.imported_from)
                            .unwrap_or_default()
                    ),
                ),
            Ok(_) => {}
            Err(_) => self.error(
                "gateway.version",
                format!("`{}` is not a semantic version", shown(version)),
                FIX,
            ),
        }
    }

    /// Names that must not be equal within one namespace.
    pub(super) fn name_collisions(&mut self, d: &Deployment) {
        let sentinel = d.sentinel_service_name();
        if sentinel == format!("{}-redis-data", d.name) {
            self.error(
                "redis.sentinel.serviceName",
                format!("`{}` is the data nodes' Service", shown(&sentinel)),
                format!(
                    "leave it out (`{}-redis-headless`) or choose another name",
                    shown(&d.name)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Deployment, Severity};

    fn problem_at(d: &Deployment, path: &str) -> Option<Severity> {
        d.validate()
            .into_iter()
            .find(|p| p.path == path)
            .map(|p| p.severity)
    }

    #[test]
    fn absurd_counts_warn_and_impossible_ones_fail() {
        let mut d = Deployment::default();
        d.redis.replicas = 1_000_000;
        d.redis.sentinel.count = 1_001;
        d.gateway.replicas = 4_000_000_000;
        assert_eq!(problem_at(&d, "redis.replicas"), Some(Severity::Warning));
        assert_eq!(
            problem_at(&d, "redis.sentinel.count"),
            Some(Severity::Warning)
        );
        assert_eq!(problem_at(&d, "gateway.replicas"), Some(Severity::Error));
    }

    #[test]
    fn zero_resources_warn() {
        let mut d = Deployment::default();
        d.gateway.resources.requests.cpu = "0".into();
        d.redis.resources.limits.memory = "0Mi".into();
        assert_eq!(
            problem_at(&d, "gateway.resources.requests.cpu"),
            Some(Severity::Warning)
        );
        assert_eq!(
            problem_at(&d, "redis.resources.limits.memory"),
            Some(Severity::Warning)
        );
    }

    #[test]
    fn annotations_over_256_kib_are_refused() {
        let mut d = Deployment::default();
        d.gateway
            .pod_annotations
            .insert("big".into(), "x".repeat(300 * 1024));
        let err = d.clone().validated().unwrap_err();
        assert!(err.has_path("gateway.podAnnotations"), "{err}");
        assert!(err.to_string().len() < 2000, "the value is not echoed");
        d.gateway
            .pod_annotations
            .insert("big".into(), "x".repeat(200 * 1024));
        assert!(d.clone().validated().is_ok());
        d.gateway
            .pod_annotations
            .insert("gatehouse/secret-versions".into(), "x=1".into());
        let err = d.validated().unwrap_err();
        assert!(
            err.has_path("gateway.podAnnotations.gatehouse/secret-versions"),
            "{err}"
        );
    }

    #[test]
    fn versions_follow_semver_without_build_metadata() {
        for ok in ["4.9.0", "4.11.25", "4.12.17", "4.10.0-rc.1"] {
            assert_eq!(
                problem_at(
                    &Deployment::default().with_gateway_version(ok),
                    "gateway.version"
                ),
                None,
                "{ok}"
            );
        }
        for bad in [
            "4.9",
            "4.9.0.1",
            "v4.9.0",
            "04.9.0",
            "4.9.x",
            "",
            "4.9.0-",
            "4.9.0-rc.1+build",
        ] {
            let d = Deployment::default().with_gateway_version(bad);
            assert_eq!(
                problem_at(&d, "gateway.version"),
                Some(Severity::Error),
                "{bad}"
            );
        }
        let text = Deployment::default()
            .with_gateway_version("4.9.0-rc.1+build")
            .validated()
            .unwrap_err()
            .to_string();
        assert!(text.contains("build metadata"), "{text}");
    }

    #[test]
    fn a_version_without_a_chart_contract_is_refused_listing_the_supported_lines() {
        for unsupported in ["4.8.3", "4.13.0", "3.20.1", "0.0.1"] {
            let d = Deployment::default().with_gateway_version(unsupported);
            assert_eq!(
                problem_at(&d, "gateway.version"),
                Some(Severity::Error),
                "{unsupported}"
            );
            let text = d.validated().unwrap_err().to_string();
            assert!(text.contains("no chart contract"), "{text}");
            assert!(text.contains("4.9, 4.10, 4.11, 4.12"), "{text}");
        }
    }
}
