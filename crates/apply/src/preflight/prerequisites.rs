//! What must exist before anything is written: the Secrets the user holds, and the APIs of Flux
//! and of the Prometheus Operator when the plan has their objects.

use std::collections::BTreeMap;

use crate::secrets::Masker;
use crate::{ApplyError, Cluster, Plan, Stage, Verb, plan};

/// The Prometheus Operator's API group (`metrics`' monitors and rules).
const MONITORING_GROUP: &str = "monitoring.coreos.com";

impl Cluster {
    /// Missing existing Secrets (or keys), one problem each; and the `resourceVersion` of each
    /// one found, by namespace and name (the version its readers' pod templates carry).
    pub(crate) async fn check_existing_secrets(
        &self,
        plan: &Plan,
        masker: &Masker,
    ) -> (Vec<ApplyError>, BTreeMap<(String, String), String>) {
        let kind = plan::secret_kind();
        let mut errors = Vec::new();
        let mut versions = BTreeMap::new();
        for (field, namespace, name, key) in &plan.existing_secrets {
            let api = self.api(kind, Some(namespace));
            let object = format!("Secret {namespace}/{name}");
            match api.get_opt(name).await {
                Err(e) => errors.push(self.kube_err(e, &object, Verb::Get, kind, masker)),
                Ok(None) => errors.push(ApplyError::SecretMissing {
                    field: field.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                    key: key.clone(),
                }),
                Ok(Some(secret)) => {
                    if let Some(version) = &secret.metadata.resource_version {
                        versions.insert((namespace.clone(), name.clone()), version.clone());
                    }
                    let data = &secret.data;
                    let has = |f: &str| data[f].get(key.as_str()).is_some();
                    if !has("data") && !has("stringData") {
                        let present = data["data"]
                            .as_object()
                            .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default();
                        errors.push(ApplyError::SecretKeyMissing {
                            field: field.clone(),
                            namespace: namespace.clone(),
                            name: name.clone(),
                            key: key.clone(),
                            present: if present.is_empty() {
                                "no keys".into()
                            } else {
                                present
                            },
                        });
                    }
                }
            }
        }
        (errors, versions)
    }

    /// Checks that the Flux APIs are served.
    pub(crate) async fn check_flux(&self, plan: &Plan) -> Result<(), ApplyError> {
        let kinds = plan.stage(Stage::Release).map(|d| d.kind);
        match self.first_unserved(kinds).await? {
            Some(kind) => Err(ApplyError::FluxMissing {
                group_version: kind.api_version.to_string(),
                kind: kind.kind.into(),
            }),
            None => Ok(()),
        }
    }

    /// Checks that the Prometheus Operator's APIs are served when the plan has its objects
    /// (`metrics` on).
    pub(crate) async fn check_monitoring(&self, plan: &Plan) -> Result<(), ApplyError> {
        let kinds = plan
            .objects
            .iter()
            .map(|d| d.kind)
            .filter(|k| k.group == MONITORING_GROUP);
        match self.first_unserved(kinds).await? {
            Some(kind) => Err(ApplyError::PrometheusOperatorMissing {
                group_version: kind.api_version.to_string(),
                kind: kind.kind.into(),
            }),
            None => Ok(()),
        }
    }

    /// The first of `kinds` the API server does not serve (one discovery request per group
    /// version).
    async fn first_unserved(
        &self,
        kinds: impl Iterator<Item = &'static gatehouse_render::ObjectKind>,
    ) -> Result<Option<&'static gatehouse_render::ObjectKind>, ApplyError> {
        let mut served_lists: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for kind in kinds {
            let gv = kind.api_version;
            if !served_lists.contains_key(gv) {
                let names = match self.client.list_api_group_resources(gv).await {
                    Ok(list) => list.resources.into_iter().map(|r| r.name).collect(),
                    Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
                    Err(e) => {
                        return Err(ApplyError::from_kube(
                            e,
                            "API discovery",
                            Verb::Get,
                            gv,
                            &self.server,
                            &|s| s.into(),
                        ));
                    }
                };
                served_lists.insert(gv, names);
            }
            if !served_lists[gv].iter().any(|name| name == kind.plural) {
                return Ok(Some(kind));
            }
        }
        Ok(None)
    }
}
