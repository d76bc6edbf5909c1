//! The objects a deploy sends, in stages, as JSON apply bodies with their API resource.

use std::collections::BTreeSet;

use gatehouse_render::Rendered;
use kube::api::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::applyset::{self, ApplySet};
use crate::secrets::SecretAction;

/// The order of a deploy (Namespace → Config → Network → Workload → Release). Each stage is
/// applied (and workloads and the release waited for) before the next. It is the renderer's
/// [`gatehouse_render::ApplyTier`], so the order is defined once.
pub use gatehouse_render::ApplyTier as Stage;

/// A type gatehouse applies or prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// API group (empty for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural.
    pub plural: &'static str,
    /// Namespaced.
    pub namespaced: bool,
    /// Stage it is applied in.
    pub stage: Stage,
}

/// Every type gatehouse knows: the renderer's one table of kinds ([`gatehouse_render::KINDS`]),
/// in its order. Resources are static, so no discovery round-trip is needed.
pub const KINDS: &[KindInfo] = &{
    const TABLE: &[gatehouse_render::ObjectKind] = gatehouse_render::KINDS;
    let mut kinds = [KindInfo::from_table(&TABLE[0]); TABLE.len()];
    let mut i = 1;
    while i < TABLE.len() {
        kinds[i] = KindInfo::from_table(&TABLE[i]);
        i += 1;
    }
    kinds
};

impl KindInfo {
    const fn from_table(k: &gatehouse_render::ObjectKind) -> KindInfo {
        KindInfo {
            group: k.group,
            version: k.version,
            kind: k.kind,
            plural: k.plural,
            namespaced: k.namespaced,
            stage: k.tier,
        }
    }

    /// Looks a kind up by `apiVersion` and `kind`.
    pub fn of(api_version: &str, kind: &str) -> Option<&'static KindInfo> {
        KINDS
            .iter()
            .find(|k| k.api_version() == api_version && k.kind == kind)
    }

    /// Looks a kind up by the ApplySet group-kind string (`StatefulSet.apps`, `Secret`).
    pub fn of_group_kind(group_kind: &str) -> Option<&'static KindInfo> {
        KINDS.iter().find(|k| k.group_kind() == group_kind)
    }

    /// `group/version` or `version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `Kind.group` / `Kind`.
    pub fn group_kind(&self) -> String {
        applyset::group_kind(self.kind, self.group)
    }

    /// `plural[.group]`, as RBAC names it.
    pub fn resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The kube `ApiResource`.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(self.group, self.version, self.kind),
            self.plural,
        )
    }
}

/// How an object is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Server-side apply.
    Apply,
    /// Create if absent, never modify (generated Secrets).
    CreateOnce,
}

/// One object to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Its type.
    pub kind: &'static KindInfo,
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
        self.kind.stage
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
        let mut objects = Vec::new();
        let mut existing_secrets = Vec::new();
        for o in &rendered.objects {
            let kind =
                KindInfo::of(o.api_version(), o.kind()).expect("every rendered kind is in KINDS");
            objects.push(Desired {
                kind,
                body: o.to_json(),
                mode: WriteMode::Apply,
                member: kind.kind != "Namespace",
            });
        }
        let secret_kind = KindInfo::of("v1", "Secret").expect("Secret");
        let mut seen = BTreeSet::new();
        for action in secrets {
            match action {
                SecretAction::CheckExisting {
                    field,
                    namespace,
                    name,
                    key,
                } => existing_secrets.push((field, namespace, name, key)),
                SecretAction::Apply(body) | SecretAction::CreateOnce(body)
                    if !seen.insert(identity_of(&body)) => {}
                SecretAction::Apply(body) => objects.push(Desired {
                    kind: secret_kind,
                    body,
                    mode: WriteMode::Apply,
                    member: true,
                }),
                SecretAction::CreateOnce(body) => objects.push(Desired {
                    kind: secret_kind,
                    body,
                    mode: WriteMode::CreateOnce,
                    member: true,
                }),
            }
        }
        if release == ReleaseMode::Flux {
            for o in rendered.flux_objects() {
                let kind = KindInfo::of(o.api_version(), o.kind())
                    .expect("every rendered kind is in KINDS");
                objects.push(Desired {
                    kind,
                    body: o.to_json(),
                    mode: WriteMode::Apply,
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
        }
    }

    /// The group-kinds of the members.
    pub fn group_kinds(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter(|d| d.member)
            .map(|d| d.kind.group_kind())
            .collect()
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
    fn kinds_follow_the_renderer_table_and_stages_are_ordered() {
        assert_eq!(KINDS.len(), gatehouse_render::KINDS.len());
        for (info, kind) in KINDS.iter().zip(gatehouse_render::KINDS) {
            assert_eq!(info.api_version(), kind.api_version);
            assert_eq!(
                (info.kind, info.plural, info.stage),
                (kind.kind, kind.plural, kind.tier)
            );
        }
        assert!(Stage::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Stage::ALL.first(), Some(&Stage::Namespace));
        assert_eq!(Stage::ALL.last(), Some(&Stage::Release));
    }

    #[test]
    fn every_planned_object_has_its_kind_and_objects_come_in_stage_order() {
        let plan = flux_plan();
        for d in &plan.objects {
            let api_version = d.body["apiVersion"].as_str().unwrap();
            let kind = d.body["kind"].as_str().unwrap();
            assert_eq!(
                KindInfo::of(api_version, kind),
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
