//! The preflight check of a rendered cert-manager `Certificate`: cert-manager's API is served and
//! the Issuer or ClusterIssuer the Certificate names exists. Without either nothing issues the
//! Redis certificate, and the Redis pods wait for its Secret in ContainerCreating (the kubelet
//! does not start a pod whose Secret volume is missing), so the deploy stops before writing.

use gatehouse_render::{KINDS, ObjectKind, REFERENCED_KINDS};
use serde_json::Value;

use crate::connection::Cluster;
use crate::plan::Plan;
use crate::secrets::Masker;
use crate::{ApplyError, Verb};

/// The kind entry of `kind` among the renderer's written or referenced kinds.
fn kind(kind: &str) -> &'static ObjectKind {
    KINDS
        .iter()
        .chain(REFERENCED_KINDS)
        .find(|k| k.kind == kind)
        .unwrap_or_else(|| panic!("{kind} is in the renderer's kinds tables"))
}

impl Cluster {
    /// One problem per Certificate of the plan whose issuer cannot issue it; none without one.
    pub(crate) async fn check_cert_manager(&self, plan: &Plan, masker: &Masker) -> Vec<ApplyError> {
        let field = gatehouse_model::ISSUER_REF_FIELD.to_string();
        let certificate = kind("Certificate");
        let wanted: Vec<&Value> = plan
            .objects
            .iter()
            .filter(|d| d.kind == certificate)
            .map(|d| &d.body)
            .collect();
        if wanted.is_empty() {
            return Vec::new();
        }
        let served = match self
            .client
            .list_api_group_resources(certificate.api_version)
            .await
        {
            Ok(list) => list.resources.iter().any(|r| r.name == certificate.plural),
            Err(kube::Error::Api(s)) if s.code == 404 => false,
            Err(e) => {
                return vec![self.kube_err(e, "API discovery", Verb::Get, certificate, masker)];
            }
        };
        if !served {
            return vec![ApplyError::CertManagerMissing {
                field,
                group_version: certificate.api_version.into(),
            }];
        }
        let mut errors = Vec::new();
        for body in wanted {
            let issuer = &body["spec"]["issuerRef"];
            let name = issuer["name"].as_str().unwrap_or_default();
            let issuer_kind = kind(issuer["kind"].as_str().unwrap_or("Issuer"));
            let namespace = body["metadata"]["namespace"].as_str();
            let object = match (issuer_kind.namespaced, namespace) {
                (true, Some(ns)) => format!("{ns}/{name}"),
                _ => name.to_string(),
            };
            match self.api(issuer_kind, namespace).get_opt(name).await {
                Ok(Some(_)) => {}
                Ok(None) => errors.push(ApplyError::IssuerMissing {
                    field: field.clone(),
                    kind: issuer_kind.kind.into(),
                    object,
                }),
                // The issuers' own CRDs missing while Certificates are served: the same finding.
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    errors.push(ApplyError::IssuerMissing {
                        field: field.clone(),
                        kind: issuer_kind.kind.into(),
                        object,
                    })
                }
                Err(e) => errors.push(self.kube_err(
                    e,
                    &format!("{} {object}", issuer_kind.kind),
                    Verb::Get,
                    issuer_kind,
                    masker,
                )),
            }
        }
        errors
    }
}
