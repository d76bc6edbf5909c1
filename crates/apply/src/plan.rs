//! The objects a deploy sends, in stages, as JSON apply bodies with their API resource.

use std::collections::BTreeSet;

use gatehouse_render::Rendered;
use serde_json::Value;

use crate::ApplyError;
use crate::applyset::{self, ApplySet};
use crate::secrets::SecretAction;

/// The order of a deploy (Namespace → Config → Network → Workload → Release). Each stage is
/// applied (and workloads and the release waited for) before the next. It is the renderer's
/// [`gatehouse_render::ApplyTier`], so the order is defined once.
pub use gatehouse_render::ApplyTier as Stage;

/// A kind gatehouse applies or prunes: the renderer's one table of kinds
/// ([`gatehouse_render::KINDS`]) is used as it is, so group, version, plural, scope and stage are
/// defined once. Resources are static, so no discovery round-trip is needed.
pub use gatehouse_render::ObjectKind;

/// The group-kind string an ApplySet lists for a kind (`StatefulSet.apps`, `Secret`).
pub fn group_kind(kind: &ObjectKind) -> String {
    applyset::group_kind(kind.kind, kind.group)
}

/// The kind of an ApplySet group-kind string.
pub fn kind_of_group_kind(group_kind_str: &str) -> Option<&'static ObjectKind> {
    gatehouse_render::KINDS
        .iter()
        .find(|k| group_kind(k) == group_kind_str)
}

/// The Secret kind (generated Secrets, the ApplySet parent).
pub(crate) fn secret_kind() -> &'static ObjectKind {
    ObjectKind::find("v1", "Secret").expect("Secret is in the kinds table")
}

/// How an object is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Server-side apply.
    Apply,
    /// Create if absent, never modify (generated Secrets).
    CreateOnce,
    /// Server-side apply taking over the fields of gatehouse's own create: a rotation step of a
    /// generated Secret (created with a plain create, whose field manager entry is another one).
    TakeOver,
}

/// One object to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Its type.
    pub kind: &'static ObjectKind,
    /// The apply body (apiVersion, kind, metadata, ...).
    pub body: Value,
    /// How it is written.
    pub mode: WriteMode,
    /// Member of the ApplySet (everything but the Namespace).
    pub member: bool,
}

impl Desired {
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.body["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `metadata.namespace`.
    pub fn namespace(&self) -> Option<&str> {
        self.body["metadata"]["namespace"].as_str()
    }

    /// `Kind namespace/name` for messages.
    pub fn display(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.kind.kind, self.name()),
            None => format!("{} {}", self.kind.kind, self.name()),
        }
    }

    /// The stage it is applied in.
    pub fn stage(&self) -> Stage {
        self.kind.tier
    }

    /// Identity: group-kind, namespace, name.
    pub fn identity(&self) -> (String, String, String) {
        identity_of(&self.body)
    }
}

/// Identity of a JSON object: group-kind, namespace, name.
pub fn identity_of(object: &Value) -> (String, String, String) {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    (
        applyset::group_kind(object["kind"].as_str().unwrap_or_default(), group),
        object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// How the gateway is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReleaseMode {
    /// `helm upgrade --install` (the Helm CLI on PATH).
    #[default]
    Helm,
    /// A Flux `HelmRepository` + `HelmRelease`, applied like the other objects.
    Flux,
}

/// Everything a deploy sends, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The ApplySet.
    pub applyset: ApplySet,
    /// Objects to write, sorted by stage (stable within a stage).
    pub objects: Vec<Desired>,
    /// Existing Secrets to check: (model field, namespace, name, key).
    pub existing_secrets: Vec<(String, String, String, String)>,
    /// What the gateway's pods read: the Secrets of its `gateway.env` and its Deployment.
    pub gateway: crate::rotation::GatewayReads,
    /// Generated Secrets (namespace, name) whose rotation this deploy starts (`--rotate`).
    pub rotate: BTreeSet<(String, String)>,
}

impl Plan {
    /// Builds the plan from rendered output and the secret actions.
    pub fn new(rendered: &Rendered, secrets: Vec<SecretAction>, release: ReleaseMode) -> Plan {
        let namespace = rendered.helm.namespace.clone();
        let instance = rendered
            .objects
            .iter()
            .find(|o| o.kind() == "ConfigMap")
            .and_then(|o| o.metadata().labels.as_ref())
            .and_then(|l| l.get(gatehouse_render::names::labels::INSTANCE))
            .cloned()
            .unwrap_or_else(|| rendered.helm.release_name.clone());
        let applyset = ApplySet::for_deployment(&namespace, &instance);
        // The Flux objects come last in the kinds table's order (the Release stage) either way.
        let flux = match release {
            ReleaseMode::Flux => rendered.flux_objects().to_vec(),
            ReleaseMode::Helm => Vec::new(),
        };
        let mut objects: Vec<Desired> = (rendered.objects.iter().chain(&flux))
            .map(|o| Desired {
                kind: o.object_kind(),
                body: o.to_json(),
                mode: WriteMode::Apply,
                member: o.kind() != "Namespace",
            })
            .collect();
        let mut existing_secrets = Vec::new();
        let mut seen = BTreeSet::new();
        for action in secrets {
            let (body, mode) = match action {
                SecretAction::CheckExisting {
                    field,
                    namespace,
                    name,
                    key,
                } => {
                    existing_secrets.push((field, namespace, name, key));
                    continue;
                }
                SecretAction::Apply(body) => (body, WriteMode::Apply),
                SecretAction::CreateOnce(body) => (body, WriteMode::CreateOnce),
            };
            if seen.insert(identity_of(&body)) {
                objects.push(Desired {
                    kind: secret_kind(),
                    body,
                    mode,
                    member: true,
                });
            }
        }
        for d in objects.iter_mut().filter(|d| d.member) {
            applyset::label_member(&mut d.body, &applyset.id);
        }
        objects.sort_by_key(|d| d.stage());
        Plan {
            applyset,
            objects,
            existing_secrets,
            gateway: crate::rotation::GatewayReads::of(&rendered.helm),
            rotate: BTreeSet::new(),
        }
    }

    /// The group-kinds of the members.
    pub fn group_kinds(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter(|d| d.member)
            .map(|d| group_kind(d.kind))
            .collect()
    }

    /// The kind of a group-kind the set lists or the plan has.
    pub(crate) fn kind_of(&self, group_kind: &str) -> Result<&'static ObjectKind, ApplyError> {
        kind_of_group_kind(group_kind).ok_or_else(|| ApplyError::UnknownGroupKind {
            parent: self.applyset.reference(),
            group_kind: group_kind.to_string(),
        })
    }

    /// Identities of the members.
    pub fn member_identities(&self) -> BTreeSet<(String, String, String)> {
        self.objects
            .iter()
            .filter(|d| d.member)
            .map(Desired::identity)
            .collect()
    }

    /// The objects of one stage.
    pub fn stage(&self, stage: Stage) -> impl Iterator<Item = &Desired> {
        self.objects.iter().filter(move |d| d.stage() == stage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flux_plan() -> Plan {
        let valid = gatehouse_model::Deployment::guide_example()
            .validated()
            .unwrap();
        Plan::new(
            &gatehouse_render::render(&valid),
            Vec::new(),
            ReleaseMode::Flux,
        )
    }

    #[test]
    fn group_kinds_name_every_kind_of_the_table_once() {
        for kind in gatehouse_render::KINDS {
            assert_eq!(kind_of_group_kind(&group_kind(kind)), Some(kind));
        }
        assert_eq!(
            group_kind(ObjectKind::find("apps/v1", "StatefulSet").unwrap()),
            "StatefulSet.apps"
        );
        assert_eq!(group_kind(secret_kind()), "Secret");
        assert_eq!(kind_of_group_kind("StatefulSet"), None);
        assert!(Stage::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn every_planned_object_has_its_kind_and_objects_come_in_stage_order() {
        let plan = flux_plan();
        for d in &plan.objects {
            let api_version = d.body["apiVersion"].as_str().unwrap();
            let kind = d.body["kind"].as_str().unwrap();
            assert_eq!(
                ObjectKind::find(api_version, kind),
                Some(d.kind),
                "{}",
                d.display()
            );
        }
        assert!(
            plan.objects
                .windows(2)
                .all(|w| w[0].stage() <= w[1].stage())
        );
        let release: Vec<&str> = plan.stage(Stage::Release).map(|d| d.kind.kind).collect();
        assert_eq!(release, ["HelmRepository", "HelmRelease"]);
    }

    #[test]
    fn applyset_group_kinds_are_unchanged() {
        let kinds: Vec<String> = flux_plan().group_kinds().into_iter().collect();
        assert_eq!(
            kinds,
            [
                "ConfigMap",
                "HelmRelease.helm.toolkit.fluxcd.io",
                "HelmRepository.source.toolkit.fluxcd.io",
                "NetworkPolicy.networking.k8s.io",
                "PodDisruptionBudget.policy",
                "Service",
                "ServiceAccount",
                "StatefulSet.apps",
            ]
        );
    }
}
