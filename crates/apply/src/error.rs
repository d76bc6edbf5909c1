//! What can go wrong while talking to a cluster, each case naming the object and the fix.

use std::fmt;

/// A field another field manager owns, from a server-side apply conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The other field manager (e.g. `kubectl`, `kube-controller-manager`).
    pub manager: String,
    /// The field path (`.spec.replicas`).
    pub field: String,
}

/// One field the server rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The field path, when the server named one.
    pub field: String,
    /// The server's message.
    pub message: String,
}

/// Who an existing object belongs to, when it is not this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Owner {
    /// Another ApplySet (another gatehouse deployment, or `kubectl apply --applyset`).
    ApplySet {
        /// Its id (the object's `applyset.kubernetes.io/part-of` label).
        id: String,
        /// Its parent (`Secret ns/name`), when found in the namespace.
        parent: Option<String>,
    },
    /// No ApplySet: created by hand, by another tool, or by a controller.
    Unlabelled {
        /// The field managers of the object (`kubectl`, `helm`, ...).
        managers: Vec<String>,
    },
}

/// An object of the deployment that exists and belongs to something else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignObject {
    /// `Kind namespace/name`.
    pub object: String,
    /// Who it belongs to.
    pub owner: Owner,
}

impl fmt::Display for ForeignObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Owner::ApplySet {
                parent: Some(parent),
                ..
            } => write!(
                f,
                "{} belongs to another ApplySet (parent {parent})",
                self.object
            ),
            Owner::ApplySet { id, parent: None } => {
                write!(f, "{} belongs to another ApplySet ({id})", self.object)
            }
            Owner::Unlabelled { managers } if managers.is_empty() => write!(
                f,
                "{} exists without gatehouse's ApplySet label (no field manager recorded)",
                self.object
            ),
            Owner::Unlabelled { managers } => write!(
                f,
                "{} exists without gatehouse's ApplySet label (field managers: {})",
                self.object,
                managers.join(", ")
            ),
        }
    }
}

/// Errors of the apply engine. Messages never contain secret values: everything coming from the
/// server passes through the [`crate::secrets::Masker`] of the run.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// No kubeconfig file was found and the process is not running in a cluster.
    #[error(
        "no kubeconfig found ({searched}); set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config (e.g. `kind create cluster`)"
    )]
    NoKubeconfig {
        /// Where it was looked for.
        searched: String,
    },
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig {path}: {message}")]
    Kubeconfig {
        /// The file (or `KUBECONFIG`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The requested context does not exist in the kubeconfig.
    #[error("context `{context}` is not in the kubeconfig; available contexts: {available}")]
    UnknownContext {
        /// The requested context.
        context: String,
        /// The contexts the kubeconfig has.
        available: String,
    },
    /// The API server did not answer.
    #[error(
        "cannot reach the API server {server}: {message}; check that the cluster is running and that the kubeconfig context points at it (`kubectl cluster-info`)"
    )]
    Unreachable {
        /// Server URL.
        server: String,
        /// The transport error.
        message: String,
    },
    /// RBAC denied an operation.
    #[error(
        "{object}: forbidden to {verb} {resource}: {message}; grant the `{verb}` verb on `{resource}` to the identity in the kubeconfig (see `kubectl auth can-i {verb} {resource} -n <namespace>`)"
    )]
    Forbidden {
        /// The object (`ConfigMap gravitee-apim/redis-config`).
        object: String,
        /// The verb (`patch`, `get`, ...).
        verb: String,
        /// The resource (`configmaps`, `statefulsets.apps`).
        resource: String,
        /// The server's message.
        message: String,
    },
    /// The credentials were rejected.
    #[error(
        "{object}: the API server rejected the credentials (401): {message}; refresh the kubeconfig credentials"
    )]
    Unauthorized {
        /// The object being handled.
        object: String,
        /// The server's message.
        message: String,
    },
    /// Server-side apply conflicts with another field manager.
    #[error("{object}: apply conflicts with other field managers:\n{}\nresolve by removing those fields from the other manager's configuration, or take ownership with `--force` (gatehouse then owns the fields; the other manager's next write conflicts in turn)", bullets(&.conflicts.iter().map(|c| format!("{} (owned by \"{}\")", c.field, c.manager)).collect::<Vec<_>>()))]
    Conflict {
        /// The object.
        object: String,
        /// Fields and the manager that owns each.
        conflicts: Vec<FieldConflict>,
    },
    /// The server rejected an object (validation, admission).
    #[error("{object}: rejected by the API server ({reason}): {message}{}", format_rejections(.message, .causes))]
    Rejected {
        /// The object.
        object: String,
        /// The server's reason (`Invalid`, `BadRequest`, ...).
        reason: String,
        /// The server's message.
        message: String,
        /// The fields and why each was rejected.
        causes: Vec<Rejection>,
    },
    /// Any other API error.
    #[error("{object}: {verb} failed with HTTP {code} ({reason}): {message}")]
    Api {
        /// The object.
        object: String,
        /// The verb.
        verb: String,
        /// HTTP status.
        code: u16,
        /// The server's reason.
        reason: String,
        /// The server's message.
        message: String,
    },
    /// `deploy --rotate` named passwords it cannot start a rotation of: nothing was written.
    #[error("--rotate: {} problem(s); nothing was written:\n{}", .0.len(), bullets(.0))]
    RotateRefused(Vec<RotateProblem>),
    /// Several secret sources name environment variables that are not set: nothing was written.
    #[error("{} secret source(s) are missing their environment variable; nothing was written:\n{}", .0.len(), bullets(.0))]
    EnvsMissing(Vec<ApplyError>),
    /// The checks before the first write (existing Secrets, the release's prerequisites, the
    /// server dry-run of every object) found problems. `deploy` wrote nothing.
    #[error("{} problem(s) found before the first write{}:\n{}", .errors.len(),
        if *.wrote_nothing { "; nothing was written" } else { "" }, bullets(.errors))]
    PreflightFailed {
        /// Every problem found.
        errors: Vec<ApplyError>,
        /// Whether this stopped a deploy (which then wrote nothing); `false` for `diff`.
        wrote_nothing: bool,
    },
    /// Objects of the deployment already exist but belong to another ApplySet, or to no ApplySet.
    #[error("{} object(s) already exist and do not belong to this deployment; nothing was written:\n{}\nif this deployment should own them, run again with --adopt (or --force, which also takes over fields other field managers own); otherwise change this deployment's `name` or `namespace` so that its objects do not collide", .0.len(), bullets(.0))]
    NotOurs(Vec<ForeignObject>),
    /// Writing one tier failed.
    #[error("{} object(s) could not be written:\n{}", .0.len(), bullets(.0))]
    WriteFailed(Vec<ApplyError>),
    /// A deploy failed after its checks passed: what it had done before the failure (the cause is
    /// the source, printed once after this).
    #[error("deploy stopped; {}", format_done(.done, .not_pruned))]
    Stopped {
        /// Each object written, left unchanged or pruned before the failure, and how.
        done: Vec<(String, crate::Action)>,
        /// Objects `--prune` would have deleted but did not reach.
        not_pruned: Vec<String>,
        /// What failed.
        #[source]
        cause: Box<ApplyError>,
    },
    /// A Secret the model references does not exist.
    #[error(
        "{field}: Secret {namespace}/{name} does not exist; create it first: `kubectl create namespace {namespace} --dry-run=client -o yaml | kubectl apply -f - && kubectl create secret generic {name} -n {namespace} --from-literal={key}=<value>`"
    )]
    SecretMissing {
        /// Model field of the secret source.
        field: String,
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// Expected key.
        key: String,
    },
    /// A Secret the model references has no such key.
    #[error(
        "{field}: Secret {namespace}/{name} has no key `{key}` (it has: {present}); add the key or point {field}.key at an existing one"
    )]
    SecretKeyMissing {
        /// Model field of the secret source.
        field: String,
        /// Namespace.
        namespace: String,
        /// Secret name.
        name: String,
        /// Expected key.
        key: String,
        /// Keys the Secret has.
        present: String,
    },
    /// An environment variable a secret comes from is not set.
    #[error(
        "{field}: environment variable {variable} is not set (or empty); export it before deploying, or change {field} to {}", if .field == "redis.password" { "`from: generated` or `from: existingSecret`" } else { "`from: existingSecret`" }
    )]
    EnvMissing {
        /// Model field of the secret source.
        field: String,
        /// The variable.
        variable: String,
    },
    /// The ApplySet parent belongs to another tool.
    #[error(
        "Secret {namespace}/{name} is an ApplySet parent managed by `{tooling}`, not gatehouse; gatehouse will not take it over (delete it, or deploy into another namespace)"
    )]
    ForeignApplySet {
        /// Namespace.
        namespace: String,
        /// Parent name.
        name: String,
        /// The `applyset.kubernetes.io/tooling` annotation found.
        tooling: String,
    },
    /// The ApplySet parent lists a kind gatehouse cannot prune.
    #[error(
        "ApplySet {parent} lists group-kind `{group_kind}` that gatehouse does not know; prune it with `kubectl apply --prune --applyset={parent}` or remove it from the annotation"
    )]
    UnknownGroupKind {
        /// Parent reference.
        parent: String,
        /// The group-kind.
        group_kind: String,
    },
    /// Workloads did not become ready in time.
    #[error("not ready after {seconds}s:\n{}\nraise --timeout or inspect with `kubectl describe`", bullets(.not_ready))]
    WaitTimeout {
        /// Timeout in seconds.
        seconds: u64,
        /// One line per object: what is not ready and why.
        not_ready: Vec<String>,
    },
    /// `helm` is not on PATH, and the gateway release needs it.
    #[error(
        "`helm` was not found on PATH and the gateway release needs it; install Helm 3 (https://helm.sh/docs/intro/install/), release the gateway with Flux instead (`--flux`), or deploy without the gateway release (`--skip-release`)"
    )]
    HelmMissing,
    /// `helm` failed.
    #[error("`helm {command}` failed ({status}): {stderr}")]
    HelmFailed {
        /// The subcommand.
        command: String,
        /// Exit status.
        status: String,
        /// Its stderr (masked).
        stderr: String,
    },
    /// The Flux CRDs are not installed.
    #[error(
        "Flux is not installed in the cluster: the API {group_version} ({kind}) is not served; install Flux (`flux install`) or deploy the gateway with Helm (`--helm`)"
    )]
    FluxMissing {
        /// The missing API group/version.
        group_version: String,
        /// The kind that needs it.
        kind: String,
    },
    /// A rendered Certificate needs cert-manager, whose API is not served.
    #[error(
        "{field}: cert-manager is not installed in the cluster: the API {group_version} (Certificate) is not served, so nothing would issue the Redis certificate and the Redis pods would wait for its Secret; install cert-manager first, or use `certificate: {{kind: secret, name: <Secret with tls.crt, tls.key and ca.crt>}}`"
    )]
    CertManagerMissing {
        /// The model field naming the issuer.
        field: String,
        /// The missing API group/version.
        group_version: String,
    },
    /// The issuer a rendered Certificate names does not exist.
    #[error(
        "{field}: {kind} {object} does not exist, so cert-manager would never issue the Redis certificate and the Redis pods would wait for its Secret (ContainerCreating); create the {kind} first or name an existing one in {field}.name (and {field}.kind: Issuer or ClusterIssuer)"
    )]
    IssuerMissing {
        /// The model field naming the issuer.
        field: String,
        /// `Issuer` or `ClusterIssuer`.
        kind: String,
        /// `namespace/name` of an Issuer, `name` of a ClusterIssuer.
        object: String,
    },
    /// `metrics` is on but the cluster does not serve the Prometheus Operator's API.
    #[error(
        "metrics: the Prometheus Operator's API {group_version} ({kind}) is not served in the cluster; install the Prometheus Operator (its monitoring.coreos.com CRDs), or set `metrics.enabled: false`"
    )]
    PrometheusOperatorMissing {
        /// The missing API group/version.
        group_version: String,
        /// The kind that needs it.
        kind: String,
    },
    /// Local I/O failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

/// The causes the server listed, each once: a real API server repeats the causes inside its
/// message (`StatefulSet.apps "x" is invalid: spec: Forbidden: ...`), so those are not listed again.
fn format_rejections(message: &str, causes: &[Rejection]) -> String {
    causes
        .iter()
        .filter(|c| !message.contains(&c.message))
        .map(|c| format!("\n  - {}: {}", c.field, c.message))
        .collect()
}

fn format_done(done: &[(String, crate::Action)], not_pruned: &[String]) -> String {
    let changed = done.iter().filter(|(_, a)| *a != crate::Action::Unchanged);
    let mut text = match changed.count() {
        0 => "nothing was changed before the failure".to_string(),
        n => format!("{n} object(s) changed before the failure"),
    };
    if !done.is_empty() {
        text.push(':');
        for (object, action) in done {
            text.push_str(&format!("\n  {object} {action}"));
        }
    }
    if !not_pruned.is_empty() {
        text.push_str("\nnot pruned (the failure came first):");
        for object in not_pruned {
            text.push_str(&format!("\n  {object}"));
        }
    }
    text
}

/// One `  - item` line per item.
fn bullets(items: &[impl fmt::Display]) -> String {
    let lines: Vec<String> = items.iter().map(|item| format!("  - {item}")).collect();
    lines.join("\n")
}

/// Why `deploy --rotate` cannot start the rotation of one password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RotateProblem {
    /// No Redis user of this deployment has that name.
    #[error("{user}: no Redis user of this deployment has that name; name one of {known}, or all")]
    UnknownUser {
        /// The name given.
        user: String,
        /// The deployment's users, comma-separated.
        known: String,
    },
    /// The user's password does not come from `from: generated`.
    #[error(
        "{user}: its password ({field}) is not generated by gatehouse but {source_kind}; {instead}"
    )]
    NotGenerated {
        /// The user.
        user: String,
        /// The model field of its password.
        field: String,
        /// `from: env` or `from: existingSecret`.
        source_kind: String,
        /// How to rotate it instead.
        instead: String,
    },
    /// `all`, but no password of the deployment is generated.
    #[error(
        "all: no Redis password of this deployment is `from: generated` ({known} come from env or existing Secrets); rotate those as README's \"Rotating a password\" says"
    )]
    NothingGenerated {
        /// The deployment's users, comma-separated.
        known: String,
    },
}

/// Which operation failed, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET.
    Get,
    /// LIST.
    List,
    /// WATCH.
    Watch,
    /// PATCH (server-side apply).
    Patch,
    /// POST.
    Create,
    /// DELETE.
    Delete,
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Patch => "patch",
            Verb::Create => "create",
            Verb::Delete => "delete",
        })
    }
}

impl ApplyError {
    /// Turns a kube error into an error naming the object, the verb and the cause. `resource` is
    /// `plural[.group]`; `mask` removes secret values from server messages.
    pub fn from_kube(
        err: kube::Error,
        object: &str,
        verb: Verb,
        resource: &str,
        server: &str,
        mask: &dyn Fn(&str) -> String,
    ) -> ApplyError {
        match err {
            kube::Error::Api(status) => {
                let message = mask(&status.message);
                let causes = status
                    .details
                    .as_ref()
                    .map(|d| d.causes.clone())
                    .unwrap_or_default();
                match (status.code, status.reason.as_str()) {
                    (403, _) => ApplyError::Forbidden {
                        object: object.into(),
                        verb: verb.to_string(),
                        resource: resource.into(),
                        message,
                    },
                    (401, _) => ApplyError::Unauthorized {
                        object: object.into(),
                        message,
                    },
                    (409, "Conflict")
                        if causes.iter().any(|c| c.reason == "FieldManagerConflict") =>
                    {
                        ApplyError::Conflict {
                            object: object.into(),
                            conflicts: causes
                                .iter()
                                .filter(|c| c.reason == "FieldManagerConflict")
                                .map(|c| FieldConflict {
                                    manager: manager_of(&c.message),
                                    field: c.field.clone(),
                                })
                                .collect(),
                        }
                    }
                    (422, _) | (400, _) => ApplyError::Rejected {
                        object: object.into(),
                        reason: status.reason.clone(),
                        message,
                        causes: causes
                            .iter()
                            .map(|c| Rejection {
                                field: c.field.clone(),
                                message: mask(&c.message),
                            })
                            .collect(),
                    },
                    (code, reason) => ApplyError::Api {
                        object: object.into(),
                        verb: verb.to_string(),
                        code,
                        reason: reason.into(),
                        message,
                    },
                }
            }
            kube::Error::HyperError(e) => ApplyError::Unreachable {
                server: server.into(),
                message: mask(&error_chain(&e)),
            },
            kube::Error::Service(e) => ApplyError::Unreachable {
                server: server.into(),
                message: mask(&error_chain(e.as_ref())),
            },
            other => ApplyError::Api {
                object: object.into(),
                verb: verb.to_string(),
                code: 0,
                reason: "ClientError".into(),
                message: mask(&error_chain(&other)),
            },
        }
    }

    /// Whether this is a 404 from the server.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApplyError::Api { code: 404, .. })
    }
}

/// The manager named in a `FieldManagerConflict` message: `conflict with "kubectl" using apps/v1`.
fn manager_of(message: &str) -> String {
    message
        .split('"')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| message.to_string())
}

/// An error and its sources, each cause once, joined with `: `.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_is_taken_from_the_conflict_message() {
        assert_eq!(
            manager_of("conflict with \"kubectl-client-side-apply\" using apps/v1"),
            "kubectl-client-side-apply"
        );
    }

    #[test]
    fn conflict_message_names_fields_manager_and_fix() {
        let e = ApplyError::Conflict {
            object: "StatefulSet ns/redis".into(),
            conflicts: vec![FieldConflict {
                manager: "kubectl".into(),
                field: ".spec.replicas".into(),
            }],
        };
        let text = e.to_string();
        assert!(
            text.contains(".spec.replicas (owned by \"kubectl\")"),
            "{text}"
        );
        assert!(text.contains("--force"), "{text}");
    }
}
