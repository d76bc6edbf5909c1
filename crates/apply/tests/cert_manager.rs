//! A Redis group whose TLS certificate cert-manager issues: the deploy checks before writing
//! anything that cert-manager is installed and that the named Issuer or ClusterIssuer exists, and
//! says which field to fix; with both there, the Certificate is applied with the other objects.

use gatehouse_apply::ApplyError;
use gatehouse_apply_mock::{RecordedRequest, ResourceType};
use gatehouse_apply_testing::Harness;
use gatehouse_model::{IssuerKind, IssuerRef, TlsCertificateSource};
use gatehouse_render::crds::cert_manager::{ClusterIssuer, ClusterIssuerSpec, Issuer, IssuerSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

fn with_cert_manager(h: &Harness, kind: IssuerKind) -> gatehouse_model::Deployment {
    let mut d = h.deployment();
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(TlsCertificateSource::CertManager {
        issuer_ref: IssuerRef::new("internal-ca", kind),
        duration: None,
        renew_before: None,
        private_key: None,
    });
    d
}

fn writes(h: &Harness) -> Vec<RecordedRequest> {
    h.mock_server()
        .requests()
        .into_iter()
        .filter(RecordedRequest::is_write)
        .collect()
}

fn preflight_errors(err: ApplyError) -> Vec<ApplyError> {
    match err {
        ApplyError::PreflightFailed {
            errors,
            wrote_nothing,
        } => {
            assert!(wrote_nothing);
            errors
        }
        other => panic!("not a preflight failure: {other}"),
    }
}

#[tokio::test]
async fn without_cert_manager_the_deploy_stops_naming_the_issuer_field() {
    let h = Harness::mock().await;
    let r = h.render(&with_cert_manager(&h, IssuerKind::ClusterIssuer));
    let errors = preflight_errors(h.deploy(&r, &h.options()).await.unwrap_err());
    // One finding, not also the Certificate's failed dry-run.
    let [ApplyError::CertManagerMissing { field, .. }] = &errors[..] else {
        panic!("{errors:#?}");
    };
    assert_eq!(field, "redis.tls.certificate.issuerRef");
    let message = errors[0].to_string();
    for part in [
        "cert-manager is not installed",
        "install cert-manager",
        "kind: secret",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    assert!(writes(&h).is_empty(), "{:#?}", writes(&h));
}

#[tokio::test]
async fn a_missing_issuer_stops_the_deploy_and_an_existing_one_lets_it_through() {
    let h = Harness::mock().await;
    for t in ResourceType::cert_manager() {
        h.mock_server().add_resource(t);
    }
    for kind in [IssuerKind::Issuer, IssuerKind::ClusterIssuer] {
        let d = with_cert_manager(&h, kind);
        let r = h.render(&d);
        h.mock_server().clear_requests();
        let errors = preflight_errors(h.deploy(&r, &h.options()).await.unwrap_err());
        let [
            ApplyError::IssuerMissing {
                field,
                kind: found,
                object,
            },
        ] = &errors[..]
        else {
            panic!("{errors:#?}");
        };
        assert_eq!(field, "redis.tls.certificate.issuerRef");
        assert_eq!(found, kind.as_str());
        let expected = match kind {
            IssuerKind::Issuer => format!("{}/internal-ca", d.namespace),
            IssuerKind::ClusterIssuer => "internal-ca".to_string(),
        };
        assert_eq!(object, &expected);
        assert!(
            errors[0].to_string().contains("ContainerCreating"),
            "{}",
            errors[0]
        );
        assert!(writes(&h).is_empty(), "{:#?}", writes(&h));
    }
    // The issuers exist (typed from the kept subsets, as a person would create them).
    let meta = |namespace: Option<String>| ObjectMeta {
        name: Some("internal-ca".into()),
        namespace,
        ..Default::default()
    };
    let namespace = h.deployment().namespace;
    h.mock_server().insert(
        serde_json::to_value(ClusterIssuer {
            metadata: meta(None),
            spec: ClusterIssuerSpec::default(),
        })
        .unwrap(),
    );
    h.mock_server().insert(
        serde_json::to_value(Issuer {
            metadata: meta(Some(namespace.clone())),
            spec: IssuerSpec::default(),
        })
        .unwrap(),
    );
    for kind in [IssuerKind::ClusterIssuer, IssuerKind::Issuer] {
        let r = h.render(&with_cert_manager(&h, kind));
        h.deploy(&r, &h.options()).await.unwrap();
    }
    let certificate = h
        .mock_server()
        .paths()
        .into_iter()
        .find(|p| p.contains("/certificates/"))
        .expect("the Certificate is applied");
    let body = h.mock_server().get(&certificate).unwrap();
    assert_eq!(body["spec"]["issuerRef"]["kind"], "Issuer");
    assert!(
        body["spec"]["secretName"]
            .as_str()
            .unwrap()
            .ends_with("-redis-tls")
    );
}
