//! A renewed TLS certificate reaches the gateway, against the mock API server: the Secrets the
//! gateway mounts (the truststore and, with mutual TLS, its client certificate) count in its pod
//! annotation by `resourceVersion`, so a deploy after a renewal rolls the gateway and one with
//! nothing renewed rolls nothing; `status` flags gateway pods rolled before the live Secret, and
//! with cert-manager says when the certificate they run expires. No certificate or key data
//! appears in the values, a report or the status.

use base64::Engine;
use gatehouse_apply::gateway_tls::{POD_CERTIFICATES_NOT_AFTER, annotated};
use gatehouse_apply::rotation::POD_SECRET_VERSIONS;
use gatehouse_apply::{SentinelView, Status};
use gatehouse_apply_mock::ResourceType;
use gatehouse_apply_testing::Harness;
use gatehouse_model::{IssuerKind, IssuerRef, TlsCertificateSource, TlsClientAuth};
use serde_json::{Value, json};

use crate::rotation::Released;

const KEY_DATA: &str = "-----BEGIN PRIVATE KEY-----gh-not-a-real-key";

/// A TLS Secret as the user or cert-manager writes it; `generation` makes each renewal differ.
fn tls_secret(name: &str, generation: u32) -> Value {
    let encode = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
    json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
    "metadata": {"name": name, "namespace": "gh-test"},
    "data": {
        "tls.crt": encode(format!("certificate {generation}")),
        "tls.key": encode(format!("{KEY_DATA} {generation}")),
        "ca.crt": encode("the CA".into()),
    }})
}

fn resource_version(h: &Harness, name: &str) -> String {
    let live = h
        .mock_server()
        .get(&format!("/api/v1/namespaces/gh-test/secrets/{name}"))
        .expect("the Secret exists");
    live["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The gateway's pod annotations in the values of the last `helm upgrade` (then forgets them),
/// which hold no key data.
fn pod_annotations(released: &Released) -> Value {
    let stdin = released.take_values();
    assert!(!stdin.contains("gh-not-a-real-key"), "{stdin}");
    let key = base64::engine::general_purpose::STANDARD.encode(format!("{KEY_DATA} 1"));
    assert!(!stdin.contains(&key), "{stdin}");
    crate::rotation::pod_annotations(&stdin)
}

/// The gateway's Secret versions in the values of the last `helm upgrade` (then forgets them).
fn stamp(released: &Released) -> String {
    pod_annotations(released)[POD_SECRET_VERSIONS]
        .as_str()
        .unwrap_or_else(|| panic!("no {POD_SECRET_VERSIONS}"))
        .to_string()
}

/// The guide's model with TLS from the user's Secrets, mutual TLS on.
fn mutual_tls(h: &Harness) -> gatehouse_model::Deployment {
    let mut d = h.deployment();
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(TlsCertificateSource::Secret {
        name: "redis-tls".into(),
        client_secret: Some("redis-tls-gateway".into()),
    });
    d.redis.tls.client_auth = TlsClientAuth::Required;
    d
}

#[tokio::test]
async fn a_renewed_tls_secret_rolls_the_gateway_and_an_unchanged_one_does_not() {
    let h = Harness::mock().await;
    let r = h.render(&mutual_tls(&h));
    for name in ["redis-tls", "redis-tls-gateway"] {
        h.mock_server().insert(tls_secret(name, 1));
    }
    let released = Released::new(&h);
    let report = h.deploy(&r, &released.options).await.unwrap();
    let first = stamp(&released);
    for name in ["redis-tls", "redis-tls-gateway"] {
        assert_eq!(
            annotated(&first, name),
            Some(format!("r{}", resource_version(&h, name)).as_str()),
            "{first}"
        );
    }
    assert!(
        annotated(&first, "gh-redis-password").is_some(),
        "the env Secrets stay: {first}"
    );
    assert!(!report.to_string().contains("gh-not-a-real-key"));

    // Nothing renewed: the same annotation, so helm rolls nothing.
    h.deploy(&r, &released.options).await.unwrap();
    assert_eq!(stamp(&released), first);

    // cert-manager (or the user) renews the client certificate: only its entry moves.
    h.mock_server().insert(tls_secret("redis-tls-gateway", 2));
    h.deploy(&r, &released.options).await.unwrap();
    let renewed = stamp(&released);
    assert_ne!(renewed, first, "a renewal must roll the gateway");
    assert_eq!(
        annotated(&renewed, "redis-tls-gateway"),
        Some(format!("r{}", resource_version(&h, "redis-tls-gateway")).as_str())
    );
    assert_eq!(
        annotated(&renewed, "redis-tls"),
        annotated(&first, "redis-tls")
    );
}

/// The chart's gateway Deployment and `pods` running pods rolled with `annotations`.
fn run_gateway(h: &Harness, r: &gatehouse_render::Rendered, annotations: &Value, pods: u32) {
    h.mock_server()
        .insert(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": r.helm.gateway_deployment(), "namespace": "gh-test"},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "gh-gw"}},
            "template": {"metadata": {"annotations": annotations}}}}));
    for index in 0..pods {
        h.mock_server()
            .insert(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("gh-gw-{index}"), "namespace": "gh-test",
                "labels": {"app": "gh-gw"}, "annotations": annotations},
            "status": {"phase": "Running"}}));
    }
}

/// `status` with the group's own parts made healthy, so only the gateway's certificates decide.
async fn status(h: &Harness, r: &gatehouse_render::Rendered) -> Status {
    let mut status = h.cluster.status(r, &h.options()).await.unwrap();
    status.sentinels = vec![SentinelView {
        pod: "gh-redis-sentinel-0".into(),
        master: Some("gh-redis-data-0:6379".into()),
        problem: None,
    }];
    status
}

#[tokio::test]
async fn status_flags_a_gateway_that_runs_a_certificate_older_than_its_secret() {
    let h = Harness::mock().await;
    let r = h.render(&mutual_tls(&h));
    for name in ["redis-tls", "redis-tls-gateway"] {
        h.mock_server().insert(tls_secret(name, 1));
    }
    let released = Released::new(&h);
    h.deploy(&r, &released.options).await.unwrap();
    run_gateway(&h, &r, &pod_annotations(&released), 2);

    let current = status(&h, &r).await;
    assert_eq!(current.gateway_certificates.len(), 2, "{current}");
    assert!(
        current.gateway_certificates.iter().all(|c| c.current()),
        "{current}"
    );
    assert!(current.healthy(), "{current}");

    h.mock_server().insert(tls_secret("redis-tls-gateway", 2));
    let lagging = status(&h, &r).await;
    assert!(!lagging.healthy(), "{lagging}");
    let text = lagging.to_string();
    assert!(
        text.contains(
            "the gateway runs a certificate older than Secret gh-test/redis-tls-gateway: run \
             `gatehouse deploy` to roll it (2 of 2 pods"
        ),
        "{text}"
    );
    assert!(
        !text.contains("older than Secret gh-test/redis-tls:"),
        "the CA did not change: {text}"
    );
    assert!(!text.contains("gh-not-a-real-key"), "{text}");

    // The deploy that rolls it: the new pods carry the live version.
    h.deploy(&r, &released.options).await.unwrap();
    run_gateway(&h, &r, &pod_annotations(&released), 2);
    assert!(status(&h, &r).await.healthy());
}

#[tokio::test]
async fn with_cert_manager_status_says_when_the_running_certificate_expires() {
    let h = Harness::mock().await;
    for resource in ResourceType::cert_manager() {
        h.mock_server().add_resource(resource);
    }
    h.mock_server().insert(
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
        "metadata": {"name": "internal-ca"}, "spec": {"ca": {"secretName": "ca"}}}),
    );
    let mut d = h.deployment();
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(TlsCertificateSource::CertManager {
        issuer_ref: IssuerRef::new("internal-ca", IssuerKind::ClusterIssuer),
        duration: None,
        renew_before: None,
        private_key: None,
    });
    let r = h.render(&d);
    let reads = gatehouse_apply::rotation::GatewayReads::of(&r.helm);
    let secret = reads
        .mounted
        .first()
        .expect("the truststore is mounted")
        .clone();
    let certificate = r
        .objects
        .iter()
        .find(|o| o.kind() == "Certificate")
        .unwrap()
        .name()
        .to_string();
    let released = Released::new(&h);
    // The first deploy: cert-manager has issued nothing yet, so nothing is recorded.
    h.deploy(&r, &released.options).await.unwrap();
    assert!(pod_annotations(&released)[POD_CERTIFICATES_NOT_AFTER].is_null());

    // cert-manager issues the certificate: the Secret and the Certificate's status.
    let issue = |generation: u32, not_after: &str| {
        h.mock_server().insert(tls_secret(&secret, generation));
        let path =
            format!("/apis/cert-manager.io/v1/namespaces/gh-test/certificates/{certificate}");
        let mut live = h
            .mock_server()
            .get(&path)
            .expect("deploy applied the Certificate");
        live["status"] = json!({"notAfter": not_after});
        h.mock_server().insert(live);
    };
    issue(1, "2027-03-01T00:00:00Z");
    h.deploy(&r, &released.options).await.unwrap();
    let annotations = pod_annotations(&released);
    assert_eq!(
        annotations[POD_CERTIFICATES_NOT_AFTER],
        json!(format!("{secret}=2027-03-01T00:00:00Z"))
    );
    run_gateway(&h, &r, &annotations, 1);
    let text = status(&h, &r).await.to_string();
    assert!(
        text.contains(&format!(
            "Secret gh-test/{secret}: every gateway pod runs it (certificate expires 2027-03-01T00:00:00Z)"
        )),
        "{text}"
    );

    // Renewed, not deployed: the running one is the one expiring in March.
    issue(2, "2027-05-30T00:00:00Z");
    let lagging = status(&h, &r).await;
    assert!(!lagging.healthy(), "{lagging}");
    let text = lagging.to_string();
    assert!(
        text.contains(&format!(
            "older than Secret gh-test/{secret}: run `gatehouse deploy` to roll it (1 of 1 pods: gh-gw-0); the running certificate expires 2027-03-01T00:00:00Z"
        )),
        "{text}"
    );
}
