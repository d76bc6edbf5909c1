//! The cert-manager `Certificate` of the Redis group's TLS, when `redis.tls.certificate` is
//! `certManager`: issued into the Secret the pods mount ([`Names::tls_secret`]), naming every
//! address a client dials ([`Names::tls_dns_names`]), usable to serve and to present as a client
//! (replicas, Sentinels and the scripts present the same key pair); with mutual TLS a second one,
//! client auth only, into the gateway's own Secret ([`Names::tls_client_secret`]).

use gatehouse_model::{
    CertificatePrivateKey, Deployment, KeyAlgorithm, KeyEncoding, KeyRotationPolicy,
    TlsCertificateSource,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::Names;
use crate::crds::cert_manager::{
    Certificate, CertificateSpec, CertificateSpecIssuerRef, CertificateSpecPrivateKey,
    CertificateSpecPrivateKeyAlgorithm, CertificateSpecPrivateKeyEncoding,
    CertificateSpecPrivateKeyRotationPolicy, CertificateSpecUsages,
};
use crate::output::KubeObject;

/// Usages of the group's certificate: TLS servers and TLS clients (an extended key usage of only
/// `server auth` would make Redis refuse it for its outgoing links).
const USAGES: [CertificateSpecUsages; 4] = [
    CertificateSpecUsages::DigitalSignature,
    CertificateSpecUsages::KeyEncipherment,
    CertificateSpecUsages::ServerAuth,
    CertificateSpecUsages::ClientAuth,
];

/// Usages of the gateway's client certificate (mutual TLS): a TLS client only.
const CLIENT_USAGES: [CertificateSpecUsages; 3] = [
    CertificateSpecUsages::DigitalSignature,
    CertificateSpecUsages::KeyEncipherment,
    CertificateSpecUsages::ClientAuth,
];

/// The Certificates to render: none unless TLS is on with a cert-manager source; the group's,
/// and with mutual TLS the gateway's client certificate from the same issuer.
pub(crate) fn certificates(d: &Deployment, names: &Names) -> Vec<KubeObject> {
    let (
        Some(secret),
        Some(TlsCertificateSource::CertManager {
            issuer_ref,
            duration,
            renew_before,
            private_key,
        }),
    ) = (&names.tls_secret, &d.redis.tls.certificate)
    else {
        return Vec::new();
    };
    let certificate = |name: &String, spec: CertificateSpec| {
        KubeObject::Certificate(Certificate {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(names.namespace.clone()),
                labels: Some(names.object_labels("redis")),
                ..Default::default()
            },
            spec,
        })
    };
    let spec = CertificateSpec {
        issuer_ref: CertificateSpecIssuerRef {
            name: issuer_ref.name.clone(),
            kind: Some(issuer_ref.kind.as_str().into()),
            group: issuer_ref.group.clone(),
        },
        secret_name: secret.clone(),
        common_name: None,
        dns_names: Some(names.tls_dns_names()),
        usages: Some(USAGES.to_vec()),
        duration: duration.clone(),
        renew_before: renew_before.clone(),
        private_key: private_key.as_ref().map(key),
    };
    let mut objects = vec![certificate(secret, spec.clone())];
    if let Some(client) = &names.tls_client_secret {
        // A client certificate names the client, not a host it serves.
        objects.push(certificate(
            client,
            CertificateSpec {
                secret_name: client.clone(),
                common_name: Some(format!("{}-gateway", names.instance)),
                dns_names: None,
                usages: Some(CLIENT_USAGES.to_vec()),
                ..spec
            },
        ));
    }
    objects
}

fn key(key: &CertificatePrivateKey) -> CertificateSpecPrivateKey {
    CertificateSpecPrivateKey {
        algorithm: key.algorithm.map(|a| match a {
            KeyAlgorithm::Rsa => CertificateSpecPrivateKeyAlgorithm::Rsa,
            KeyAlgorithm::Ecdsa => CertificateSpecPrivateKeyAlgorithm::Ecdsa,
            KeyAlgorithm::Ed25519 => CertificateSpecPrivateKeyAlgorithm::Ed25519,
        }),
        encoding: key.encoding.map(|e| match e {
            KeyEncoding::Pkcs1 => CertificateSpecPrivateKeyEncoding::Pkcs1,
            KeyEncoding::Pkcs8 => CertificateSpecPrivateKeyEncoding::Pkcs8,
        }),
        size: key.size.map(i64::from),
        rotation_policy: key.rotation_policy.map(|p| match p {
            KeyRotationPolicy::Always => CertificateSpecPrivateKeyRotationPolicy::Always,
            KeyRotationPolicy::Never => CertificateSpecPrivateKeyRotationPolicy::Never,
        }),
    }
}
