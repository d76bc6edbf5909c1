//! What is live: the objects the plan names, the ApplySet parent and its stale members, read
//! with one LIST per kind and namespace, and who owns what exists.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use kube::api::ListParams;
use serde_json::Value;

use crate::FIELD_MANAGER;
use crate::applyset::ApplySet;
use crate::connection::{has_owner, list_item, to_value};
use crate::error::Owner;
use crate::plan::group_kind;
use crate::secrets::Masker;
use crate::{ApplyError, Cluster, ObjectKind, Plan, Verb, applyset, plan};

use super::Identity;

impl Cluster {
    /// The live objects the plan names (a GET per cluster-scoped object, one LIST per kind and
    /// namespace for the rest; none in a namespace that does not exist), the ApplySet parent
    /// (from the LIST of Secrets in its namespace, which runs anyway, not a GET of its own), the
    /// namespaces the plan creates, and the stale members of the set (from the same LISTs, plus
    /// one LIST per kind the parent lists that the plan no longer has).
    pub(super) async fn live_objects(
        &self,
        plan: &Plan,
        concurrency: usize,
        masker: &Masker,
    ) -> Result<Live, ApplyError> {
        let mut live = BTreeMap::new();
        let mut new_namespaces = BTreeSet::new();
        for d in plan.objects.iter().filter(|d| !d.kind.namespaced) {
            match self.get_live(d, masker).await? {
                Some(object) => {
                    live.insert(d.identity(), object);
                }
                None if d.kind.kind == "Namespace" => {
                    new_namespaces.insert(d.name().to_string());
                }
                None => {}
            }
        }
        let set = &plan.applyset;
        // (group-kind, namespace) → kind: one LIST each, in the objects' namespaces and the set's
        // (where prune looks for members). The parent is a Secret in the set's namespace, so
        // Secrets there are always listed.
        let mut lists: BTreeMap<(String, String), &'static ObjectKind> = BTreeMap::new();
        for d in plan.objects.iter().filter(|d| d.kind.namespaced) {
            let namespace = d.namespace().unwrap_or_default().to_string();
            lists.insert((group_kind(d.kind), namespace), d.kind);
            lists.insert((group_kind(d.kind), set.namespace.clone()), d.kind);
        }
        let secret = plan::secret_kind();
        lists.insert((group_kind(secret), set.namespace.clone()), secret);
        lists.retain(|(_, ns), _| !new_namespaces.contains(ns));
        let mut found = self.list_all(&lists, concurrency, masker).await?;
        let parent_identity = (
            "Secret".to_string(),
            set.namespace.clone(),
            set.name.clone(),
        );
        let parent = found
            .iter()
            .find(|(_, value)| plan::identity_of(value) == parent_identity)
            .map(|(_, value)| value.clone());
        let parent = checked_parent(set, parent)?;
        // Kinds the parent lists that the plan no longer has: their members may be stale.
        let listed = parent
            .as_ref()
            .map(applyset::listed_group_kinds)
            .unwrap_or_default();
        let mut more = BTreeMap::new();
        for gk in &listed {
            let kind = plan.kind_of(gk)?;
            let key = (gk.clone(), set.namespace.clone());
            if kind.namespaced && !lists.contains_key(&key) && !new_namespaces.contains(&key.1) {
                more.insert(key, kind);
            }
        }
        found.extend(self.list_all(&more, concurrency, masker).await?);

        let wanted = plan.member_identities();
        let members: BTreeSet<String> = listed.union(&plan.group_kinds()).cloned().collect();
        let mut stale = Vec::new();
        for (kind, value) in found {
            let identity = plan::identity_of(&value);
            let ours = value["metadata"]["labels"][applyset::PART_OF_LABEL] == set.id.as_str();
            if ours
                && !has_owner(&value)
                && identity.1 == set.namespace
                && members.contains(&group_kind(kind))
                && !wanted.contains(&identity)
            {
                stale.push((kind, value.clone()));
            }
            live.insert(identity, value);
        }
        stale.sort_by_key(|(k, v)| (std::cmp::Reverse(k.tier), plan::identity_of(v)));
        Ok(Live {
            parent,
            objects: live,
            new_namespaces,
            stale,
        })
    }

    /// One LIST per `(group-kind, namespace)`, `concurrency` at a time; every item with its kind.
    async fn list_all(
        &self,
        lists: &BTreeMap<(String, String), &'static ObjectKind>,
        concurrency: usize,
        masker: &Masker,
    ) -> Result<Vec<(&'static ObjectKind, Value)>, ApplyError> {
        let batches: Vec<Result<Vec<(&'static ObjectKind, Value)>, ApplyError>> =
            futures::stream::iter(lists)
                .map(|((_, namespace), kind)| async move {
                    let list = match self
                        .api(kind, Some(namespace))
                        .list(&ListParams::default())
                        .await
                    {
                        Ok(list) => list,
                        // A kind the server does not serve (e.g. Flux's, listed by an earlier
                        // `--flux` deploy, after Flux was removed) has no objects.
                        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
                        Err(e) => {
                            return Err(self.kube_err(
                                e,
                                &format!("{} in namespace {namespace}", kind.plural),
                                Verb::List,
                                kind,
                                masker,
                            ));
                        }
                    };
                    Ok(list
                        .items
                        .into_iter()
                        .map(|item| (*kind, list_item(kind, item)))
                        .collect())
                })
                .buffered(concurrency.max(1))
                .collect()
                .await;
        let mut items = Vec::new();
        for batch in batches {
            items.extend(batch?);
        }
        Ok(items)
    }

    /// The live ApplySet parent, by a GET of its own (preflight takes it from its LIST).
    pub(crate) async fn live_parent(
        &self,
        plan: &Plan,
        masker: &Masker,
    ) -> Result<Option<Value>, ApplyError> {
        let kind = plan::secret_kind();
        let set = &plan.applyset;
        let parent = self
            .api(kind, Some(&set.namespace))
            .get_opt(&set.name)
            .await
            .map_err(|e| {
                self.kube_err(
                    e,
                    &format!("Secret {}/{}", set.namespace, set.name),
                    Verb::Get,
                    kind,
                    masker,
                )
            })?
            .map(to_value);
        checked_parent(set, parent)
    }
}

/// The live objects preflight read.
pub(super) struct Live {
    /// The ApplySet parent.
    pub(super) parent: Option<Value>,
    /// Every object listed or read, by identity.
    pub(super) objects: BTreeMap<Identity, Value>,
    /// Namespaces the plan creates.
    pub(super) new_namespaces: BTreeSet<String>,
    /// Members of the set that are no longer rendered.
    pub(super) stale: Vec<(&'static ObjectKind, Value)>,
}

/// The parent, unless another tool manages it.
fn checked_parent(set: &ApplySet, parent: Option<Value>) -> Result<Option<Value>, ApplyError> {
    if let Some(p) = &parent {
        match applyset::parent_tooling(p) {
            Some(t) if t.split('/').next() == Some(applyset::TOOLING_NAME) => {}
            other => {
                return Err(ApplyError::ForeignApplySet {
                    namespace: set.namespace.clone(),
                    name: set.name.clone(),
                    tooling: other.unwrap_or_else(|| "(no tooling annotation)".into()),
                });
            }
        }
    }
    Ok(parent)
}

/// Who a live object belongs to when it is not the set `id`: another set (its parent looked up
/// among the live Secrets), or nobody (no part-of label). `None` when it is ours.
pub(super) fn foreign_owner(
    object: &Value,
    id: &str,
    live: &BTreeMap<Identity, Value>,
) -> Option<Owner> {
    match object["metadata"]["labels"][applyset::PART_OF_LABEL].as_str() {
        Some(other) if other == id => None,
        Some(other) => {
            let parent = live
                .iter()
                .find(|((gk, _, _), v)| {
                    gk == "Secret" && v["metadata"]["labels"][applyset::ID_LABEL] == other
                })
                .map(|((_, ns, name), _)| format!("Secret {ns}/{name}"));
            Some(Owner::ApplySet {
                id: other.to_string(),
                parent,
            })
        }
        None => {
            let mut managers: Vec<String> = object["metadata"]["managedFields"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|e| e["manager"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            managers.dedup();
            Some(Owner::Unlabelled { managers })
        }
    }
}

pub(super) fn managed_by_us(live: &Value) -> bool {
    live["metadata"]["managedFields"]
        .as_array()
        .is_some_and(|m| m.iter().any(|e| e["manager"] == FIELD_MANAGER))
}
