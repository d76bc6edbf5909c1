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
    #[error("{object}: apply conflicts with other field managers:\n{}\nresolve by removing those fields from the other manager's configuration, or take ownership with `--force` (gatehouse then owns the fields; the other manager's next write conflicts in turn)", format_conflicts(.conflicts))]
    Conflict {
        /// The object.
        object: String,
        /// Fields and the manager that owns each.
        conflicts: Vec<FieldConflict>,
    },
    /// The server rejected an object (validation, admission).
    #[error("{object}: rejected by the API server ({reason}): {message}{}", format_rejections(.causes))]
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
    /// Several secret sources name environment variables that are not set: nothing was written.
    #[error("{} secret source(s) are missing their environment variable; nothing was written:\n{}", .0.len(), format_list(.0))]
    EnvsMissing(Vec<ApplyError>),
    /// The server dry-run of one or more objects failed: nothing was written.
    #[error("server dry-run failed for {} object(s); nothing was written:\n{}", .0.len(), format_list(.0))]
    DryRunFailed(Vec<ApplyError>),
    /// Writing stopped at the first tier with a failure; earlier tiers were applied.
    #[error("apply stopped: {} object(s) failed after {applied} were written:\n{}", .errors.len(), format_list(.errors))]
    ApplyFailed {
        /// Objects written before the failure.
        applied: usize,
        /// The failures.
        errors: Vec<ApplyError>,
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
    #[error("not ready after {seconds}s:\n{}\nraise --timeout or inspect with `kubectl describe`", format_list_str(.not_ready))]
    WaitTimeout {
        /// Timeout in seconds.
        seconds: u64,
        /// One line per object: what is not ready and why.
        not_ready: Vec<String>,
    },
    /// `helm` is not on PATH.
    #[error(
        "`helm` was not found on PATH; install Helm 3 (https://helm.sh/docs/intro/install/) or deploy the gateway with Flux (`--flux`)"
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
    /// Local I/O failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn format_conflicts(conflicts: &[FieldConflict]) -> String {
    conflicts
        .iter()
        .map(|c| format!("  - {} (owned by \"{}\")", c.field, c.manager))
        .collect::<Vec<_>>()
        .join("\n")
}

fn format_rejections(causes: &[Rejection]) -> String {
    causes
        .iter()
        .map(|c| format!("\n  - {}: {}", c.field, c.message))
        .collect()
}

fn format_list(errors: &[ApplyError]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn format_list_str(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("  - {l}"))
        .collect::<Vec<_>>()
        .join("\n")
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
