//! ApplySet (KEP-3659) labels and annotations, compatible with `kubectl apply --applyset`.
//!
//! The parent is a Secret in the deployment's namespace. Its id is
//! `applyset-<base64url(sha256("<name>.<namespace>.<Kind>.<group>"))>-v1`; every member carries
//! `applyset.kubernetes.io/part-of: <id>`, and the parent lists the members' group-kinds so a
//! later run (or kubectl) knows where to look for members to prune.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Label on the parent: the set's id.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
/// Label on every member: the id of its set.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
/// Annotation on the parent: the tool that manages it.
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
/// Annotation on the parent: the members' group-kinds (`Kind.group`, core kinds as `Kind`).
pub const GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
/// Annotation on the parent: namespaces other than the parent's holding members.
pub const NAMESPACES_ANNOTATION: &str = "applyset.kubernetes.io/additional-namespaces";
/// The tooling name written on the parent.
pub const TOOLING_NAME: &str = "gatehouse";

/// The set's id, computed like kubectl: `applyset-<base64url_nopad(sha256(name.namespace.Kind.group))>-v1`.
///
/// ```
/// assert_eq!(
///     gatehouse_apply::applyset::applyset_id("my-set", "test", "Secret", ""),
///     "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
/// );
/// ```
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let digest = Sha256::digest(format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!(
        "applyset-{}-v1",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// The `tooling` annotation value: `gatehouse/<version>`.
pub fn tooling() -> String {
    format!("{TOOLING_NAME}/{}", env!("CARGO_PKG_VERSION"))
}

/// One set: its parent Secret and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplySet {
    /// Namespace of the parent.
    pub namespace: String,
    /// Name of the parent Secret.
    pub name: String,
    /// The id.
    pub id: String,
}

impl ApplySet {
    /// The set of a deployment: parent Secret `<instance>-applyset` in the namespace.
    pub fn for_deployment(namespace: &str, instance: &str) -> ApplySet {
        let name = format!("{instance}-applyset");
        ApplySet {
            id: applyset_id(&name, namespace, "Secret", ""),
            namespace: namespace.into(),
            name,
        }
    }

    /// The parent as an apply body, listing these group-kinds.
    pub fn parent(&self, group_kinds: &BTreeSet<String>) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {ID_LABEL: self.id, "app.kubernetes.io/managed-by": "gatehouse"},
                "annotations": {
                    TOOLING_ANNOTATION: tooling(),
                    GROUP_KINDS_ANNOTATION: group_kinds.iter().cloned().collect::<Vec<_>>().join(","),
                    NAMESPACES_ANNOTATION: "",
                },
            },
        })
    }

    /// `secrets/<namespace>/<name>`-style reference used by kubectl (`--applyset=secret/name`).
    pub fn reference(&self) -> String {
        format!("secret/{} -n {}", self.name, self.namespace)
    }
}

/// The group-kind string kubectl writes for a kind: `Kind.group`, or `Kind` for the core group.
pub fn group_kind(kind: &str, group: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// The group-kinds listed on a live parent.
pub fn listed_group_kinds(parent: &Value) -> BTreeSet<String> {
    parent["metadata"]["annotations"][GROUP_KINDS_ANNOTATION]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The tooling of a live parent, when it has one.
pub fn parent_tooling(parent: &Value) -> Option<String> {
    parent["metadata"]["annotations"][TOOLING_ANNOTATION]
        .as_str()
        .map(str::to_string)
}

/// Adds the part-of label to an object.
pub fn label_member(object: &mut Value, id: &str) {
    if !object["metadata"]["labels"].is_object() {
        object["metadata"]["labels"] = json!({});
    }
    object["metadata"]["labels"][PART_OF_LABEL] = json!(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_matches_kubectl_test_vector() {
        assert_eq!(
            applyset_id("my-set", "test", "Secret", ""),
            "applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1"
        );
    }

    #[test]
    fn id_depends_on_every_part() {
        let base = applyset_id("my-set", "test", "Secret", "");
        assert_ne!(base, applyset_id("my-set", "other", "Secret", ""));
        assert_ne!(base, applyset_id("my-set", "test", "ConfigMap", ""));
        assert_ne!(base, applyset_id("my-set2", "test", "Secret", ""));
    }

    #[test]
    fn group_kinds_round_trip_through_the_parent() {
        let set = ApplySet::for_deployment("ns", "redis");
        let kinds: BTreeSet<String> =
            [group_kind("StatefulSet", "apps"), group_kind("Service", "")]
                .into_iter()
                .collect();
        let parent = set.parent(&kinds);
        assert_eq!(listed_group_kinds(&parent), kinds);
        assert_eq!(parent["metadata"]["labels"][ID_LABEL], json!(set.id));
        assert_eq!(parent_tooling(&parent), Some(tooling()));
        assert!(kinds.contains("StatefulSet.apps") && kinds.contains("Service"));
    }
}
