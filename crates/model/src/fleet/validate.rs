//! The fleet rules, and each cluster's merged deployment validated with its problems placed in the
//! fleet file (under the cluster's overrides when it writes the field, else under `base`).

use std::collections::{BTreeMap, BTreeSet};

use super::merge::overrides_path;
use super::{Cluster, Delivery, Fleet, ValidCluster};
use crate::{Problem, SecretRole, SecretSource, Severity};

/// The most cluster names a problem shared by many clusters lists.
const NAMES_SHOWN: usize = 3;
/// The longest `<fleet>-<cluster>` name: Argo CD copies an Application's name into a label value.
const MAX_OBJECT_NAME: usize = 63;

fn error(path: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        severity: Severity::Error,
        path: path.into(),
        message: message.into(),
        fix: fix.into(),
    }
}

fn warning(path: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Problem {
    Problem {
        severity: Severity::Warning,
        ..error(path, message, fix)
    }
}

/// Whether `text` is a DNS label (RFC 1123: lowercase letters, digits and `-`, at most 63).
fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// Whether `text` is a Kubernetes label name or value segment (empty allowed for values).
fn is_label_segment(text: &str) -> bool {
    text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && text
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_alphanumeric())
        && text
            .chars()
            .last()
            .is_none_or(|c| c.is_ascii_alphanumeric())
}

fn is_label_key(key: &str) -> bool {
    let name_ok = |name: &str| !name.is_empty() && is_label_segment(name);
    match key.rsplit_once('/') {
        Some((prefix, name)) => {
            prefix.len() <= 253 && prefix.split('.').all(is_dns_label) && name_ok(name)
        }
        None => name_ok(key),
    }
}

/// Label keys gatehouse sets itself on the generated Applications and list elements.
pub(crate) const RESERVED_LABELS: [&str; 2] = ["wave", "cluster"];

/// Every problem (sorted, errors first) and, per cluster, its validated deployment when it has
/// no error of its own.
pub(super) fn problems(
    fleet: &Fleet,
    delivery: Delivery,
) -> (Vec<Problem>, Vec<Option<ValidCluster>>) {
    let mut problems = Vec::new();
    fleet_rules(fleet, delivery, &mut problems);
    // A problem of the base shared by many clusters is reported once, naming them.
    let mut shared: BTreeMap<Problem, Vec<&str>> = BTreeMap::new();
    let mut clusters = Vec::with_capacity(fleet.clusters.len());
    for (i, cluster) in fleet.clusters.iter().enumerate() {
        let at = format!("clusters[{i}]");
        let deployment = match fleet.merged(cluster) {
            Ok(deployment) => deployment,
            Err(message) => {
                problems.push(error(
                    format!("{at}.overrides"),
                    format!(
                        "cluster {}: the overrides are not a partial deployment: {message}",
                        cluster.name
                    ),
                    "write only fields of a deployment file there (`gatehouse schema` prints them)",
                ));
                clusters.push(None);
                continue;
            }
        };
        let mut own = deployment.validate();
        if delivery.is_gitops() {
            own.extend(gitops_secret_rules(&deployment));
        }
        let failed = own.iter().any(|p| p.severity == Severity::Error);
        for problem in own {
            if overrides_path(&cluster.overrides, &problem.path) {
                problems.push(Problem {
                    path: format!("{at}.overrides.{}", problem.path),
                    message: format!("cluster {}: {}", cluster.name, problem.message),
                    ..problem
                });
            } else {
                shared
                    .entry(Problem {
                        path: format!("base.{}", problem.path),
                        ..problem
                    })
                    .or_default()
                    .push(&cluster.name);
            }
        }
        clusters.push((!failed).then(|| {
            ValidCluster {
                cluster: cluster.clone(),
                deployment: deployment
                    .validated()
                    .unwrap_or_else(|e| unreachable!("checked above: {e}")),
            }
        }));
    }
    for (problem, names) in shared {
        let who = match names.len() {
            1 => format!("cluster {}", names[0]),
            n if n == fleet.clusters.len() && n > 1 => format!("every cluster ({n})"),
            n if n <= NAMES_SHOWN => format!("clusters {}", names.join(", ")),
            n => format!(
                "clusters {} and {} more",
                names[..NAMES_SHOWN].join(", "),
                n - NAMES_SHOWN
            ),
        };
        problems.push(Problem {
            message: format!("{who}: {}", problem.message),
            ..problem
        });
    }
    problems.sort();
    problems.dedup();
    (problems, clusters)
}

/// In a GitOps fleet nothing runs a deploy step: a secret cannot come from the environment.
fn gitops_secret_rules(deployment: &crate::Deployment) -> Vec<Problem> {
    let mut problems = Vec::new();
    for role in SecretRole::ALL {
        let Some(source) = deployment.secret_source(role) else {
            continue;
        };
        let field = role.field_path();
        let secret = deployment
            .secret_key_ref(role)
            .expect("a used secret has a Secret");
        match source {
            SecretSource::Env { .. } => problems.push(error(
                field,
                "a GitOps fleet has no deploy step to read an environment variable, and the secret value must not be committed",
                format!(
                    "create the Secret with your secret tooling (SOPS, Sealed Secrets, External Secrets) and write `{field}: {{from: existingSecret, name: ..., key: ...}}`"
                ),
            )),
            SecretSource::Generated => problems.push(warning(
                field,
                format!(
                    "nothing generates secrets in a GitOps fleet: the Secret `{}` (key `{}`) must exist in namespace `{}` before the pods start",
                    secret.name, secret.key, deployment.namespace
                ),
                format!("create it with your secret tooling, or write `{field}: {{from: existingSecret, name: ..., key: ...}}`"),
            )),
            SecretSource::ExistingSecret { .. } => {}
        }
    }
    problems
}

fn fleet_rules(fleet: &Fleet, delivery: Delivery, problems: &mut Vec<Problem>) {
    if !is_dns_label(&fleet.name) {
        problems.push(error(
            "name",
            "the fleet's name must be a DNS label (lowercase letters, digits and `-`, at most 63)",
            "name the fleet like `gatehouse` or `apim-fleet`",
        ));
    }
    if fleet.clusters.is_empty() {
        problems.push(error(
            "clusters",
            "the fleet has no cluster",
            "list at least one cluster under `clusters`",
        ));
        return;
    }
    if delivery.is_gitops() && fleet.gitops.repository.as_deref().is_none_or(str::is_empty) {
        problems.push(error(
            "gitops.repository",
            "a GitOps fleet needs the URL of the repository the rendered directory is committed to",
            "write `gitops: {repository: https://git.example.com/platform.git}`",
        ));
    }
    let path = &fleet.gitops.path;
    if path.starts_with('/') || path.split('/').any(|segment| segment == "..") {
        problems.push(error(
            "gitops.path",
            "the rendered directory's place must be a path inside the repository",
            "write a relative path without `..`, such as `fleet` or `clusters/gateways`",
        ));
    }
    let url = fleet.gitops.repository.as_deref().unwrap_or_default();
    if delivery == Delivery::Flux
        && !url.is_empty()
        && !["http://", "https://", "ssh://"]
            .iter()
            .any(|s| url.starts_with(s))
    {
        problems.push(error(
            "gitops.repository",
            "Flux reads a Git repository only from an http, https or ssh URL",
            "write it as `https://host/org/repo.git` or `ssh://git@host/org/repo.git`",
        ));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut places: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, cluster) in fleet.clusters.iter().enumerate() {
        let at = format!("clusters[{i}]");
        cluster_rules(fleet, cluster, &at, delivery, problems);
        if let Some(first) = seen.insert(&cluster.name, i) {
            seen.insert(&cluster.name, first);
            problems.push(error(
                format!("{at}.name"),
                format!("`clusters[{first}]` has the same name"),
                "give each cluster its own name",
            ));
        }
        // Two clusters must not write the same namespace of the same cluster.
        if let Some(place) = reached_place(cluster, delivery) {
            let namespace = fleet
                .merged(cluster)
                .map(|d| d.namespace)
                .unwrap_or_default();
            if let Some(first) = places.insert((place.clone(), namespace.clone()), i) {
                places.insert((place.clone(), namespace.clone()), first);
                problems.push(error(
                    format!("{at}.overrides.namespace"),
                    format!(
                        "cluster {} would write namespace `{namespace}` of {place}, as `clusters[{first}]` does",
                        cluster.name
                    ),
                    "give one of them another namespace in its overrides, or reach it elsewhere",
                ));
            }
        }
    }
    waves(fleet, problems);
}

/// Where a cluster's objects land for `delivery`, in words (`None`: unknown, reported elsewhere).
fn reached_place(cluster: &Cluster, delivery: Delivery) -> Option<String> {
    match delivery {
        Delivery::Direct => cluster
            .context
            .as_ref()
            .map(|c| format!("kubeconfig context `{c}`")),
        Delivery::ArgoCd => Some(format!(
            "Argo CD cluster `{}`",
            cluster.argocd_destination()
        )),
        Delivery::Flux => Some(match &cluster.flux_kube_config {
            Some(secret) => format!("the cluster of kubeconfig Secret `{}`", secret.name),
            None => "the Flux hub's own cluster".into(),
        }),
    }
}

fn cluster_rules(
    fleet: &Fleet,
    cluster: &Cluster,
    at: &str,
    delivery: Delivery,
    problems: &mut Vec<Problem>,
) {
    if !is_dns_label(&cluster.name) {
        problems.push(error(
            format!("{at}.name"),
            "a cluster's name must be a DNS label (lowercase letters, digits and `-`)",
            "name it like `eu-west-1`",
        ));
    } else if fleet.name.len() + 1 + cluster.name.len() > MAX_OBJECT_NAME {
        problems.push(error(
            format!("{at}.name"),
            format!("`<fleet name>-<cluster name>` names the cluster's GitOps objects and must be at most {MAX_OBJECT_NAME} characters"),
            "shorten the cluster's or the fleet's name",
        ));
    }
    if cluster.wave == 0 {
        problems.push(error(
            format!("{at}.wave"),
            "waves are numbered from 1",
            "write `wave: 1` for the first wave",
        ));
    }
    for (key, value) in &cluster.labels {
        let path = format!("{at}.labels.{key}");
        if RESERVED_LABELS.contains(&key.as_str()) {
            problems.push(error(
                path,
                format!("gatehouse sets the `{key}` label itself"),
                "set the wave with the cluster's `wave` field and the name with `name`",
            ));
        } else if !is_label_key(key) {
            problems.push(error(path, "not a Kubernetes label key", "use letters, digits, `-`, `_`, `.` (at most 63), with an optional DNS prefix and `/`"));
        } else if !is_label_segment(value) {
            problems.push(error(path, "not a Kubernetes label value", "use at most 63 letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"));
        }
    }
    match delivery {
        Delivery::Direct if cluster.context.as_deref().is_none_or(str::is_empty) => {
            problems.push(error(
                format!("{at}.context"),
                format!(
                    "cluster {} has no kubeconfig context to deploy through",
                    cluster.name
                ),
                "write the cluster's context from `kubectl config get-contexts`",
            ));
        }
        Delivery::ArgoCd if cluster.argocd_cluster.as_deref() == Some("") => {
            problems.push(error(format!("{at}.argocdCluster"), "empty", "write Argo CD's name of the cluster, or leave the field out to use the cluster's name"));
        }
        Delivery::Flux
            if cluster
                .flux_kube_config
                .as_ref()
                .is_some_and(|s| s.name.len() > 253 || !s.name.split('.').all(is_dns_label)) =>
        {
            problems.push(error(
                format!("{at}.fluxKubeConfig.name"),
                "not a Secret name",
                "write the name of the Secret holding the cluster's kubeconfig",
            ));
        }
        _ => {}
    }
}

/// Waves 1..=last each hold a cluster; canaries (if any) make up wave 1.
fn waves(fleet: &Fleet, problems: &mut Vec<Problem>) {
    let used: BTreeSet<u32> = fleet
        .clusters
        .iter()
        .map(|c| c.wave)
        .filter(|w| *w > 0)
        .collect();
    let last = used.iter().max().copied().unwrap_or(0);
    for wave in 1..=last {
        if !used.contains(&wave) {
            problems.push(error(
                "clusters",
                format!("no cluster is in wave {wave}, but wave {last} has clusters"),
                "number the waves 1, 2, 3, ... without gaps",
            ));
        }
    }
    if !fleet.clusters.iter().any(|c| c.canary) {
        return;
    }
    for (i, cluster) in fleet.clusters.iter().enumerate() {
        if cluster.canary && cluster.wave != 1 {
            problems.push(error(
                format!("clusters[{i}].wave"),
                format!(
                    "canary cluster {} is in wave {}; canaries go first",
                    cluster.name, cluster.wave
                ),
                "put canary clusters in wave 1",
            ));
        } else if !cluster.canary && cluster.wave == 1 {
            problems.push(error(
                format!("clusters[{i}].wave"),
                format!(
                    "cluster {} is in wave 1, the canary wave, but is not a canary",
                    cluster.name
                ),
                "move it to wave 2 or later, or mark it `canary: true`",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_syntax() {
        assert!(is_label_key("region") && is_label_key("example.com/tier"));
        assert!(!is_label_key("bad key") && !is_label_key("/x") && !is_label_key(""));
        assert!(is_label_segment("") && is_label_segment("eu-west.1"));
        assert!(!is_label_segment("-x") && !is_label_segment(&"a".repeat(64)));
    }
}
