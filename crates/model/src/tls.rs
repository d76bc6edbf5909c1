//! `redis.tls`: TLS on every Redis and Sentinel link, and where its certificate comes from.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// TLS on every link of the Redis group: data nodes, replication, Sentinels, probes and the
/// gateway. Off by default (an existing group keeps speaking plain TCP until this is turned on).
///
/// ```
/// let tls = gatehouse_model::RedisTls::default();
/// assert!(!tls.enabled);
/// assert_eq!(tls.client_auth, gatehouse_model::TlsClientAuth::Optional);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RedisTls {
    /// Speak TLS only: every Redis and Sentinel port becomes a TLS port (plain TCP is refused),
    /// replication and Sentinel links use TLS, and the gateway connects with `ssl: true`, its
    /// certificate check and hostname verification on.
    #[serde(deserialize_with = "crate::serde_helpers::strict_bool")]
    pub enabled: bool,
    /// Where the server certificate, its key and the CA come from. Required when `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<TlsCertificateSource>,
    /// Whether clients must present a certificate signed by the CA (`tls-auth-clients`).
    pub client_auth: TlsClientAuth,
}

/// Where the Redis group's TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum TlsCertificateSource {
    /// An existing Secret in the deployment's namespace with the keys `tls.crt`, `tls.key` and
    /// `ca.crt` (the layout cert-manager writes). Its certificate must name every address a
    /// client dials: each pod's name under the headless Services and the Service names.
    Secret {
        /// Name of the Secret.
        name: String,
        /// With `clientAuth: required`: a second Secret with the gateway's own client
        /// certificate (`tls.crt`, `tls.key`, signed by the same CA), so the gateway never holds
        /// the servers' private key. Required then, refused otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_secret: Option<String>,
    },
    /// A cert-manager `Certificate` that gatehouse renders, issued by an Issuer or ClusterIssuer
    /// the user names, with every name a client dials and the Secret (`<name>-redis-tls`) the pods
    /// mount. cert-manager renews it; the pods pick the renewed files up without losing writes.
    /// With `clientAuth: required` a second Certificate (client auth only, Secret
    /// `<name>-redis-tls-gateway`) gives the gateway a key pair of its own.
    #[serde(rename_all = "camelCase")]
    CertManager {
        /// The Issuer or ClusterIssuer that signs the certificate (it must exist at deploy time).
        issuer_ref: IssuerRef,
        /// Validity of each issued certificate, a Go duration such as `2160h` (cert-manager's
        /// default, 90 days, when left out).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<String>,
        /// How long before expiry cert-manager renews, a Go duration such as `360h` (a third of the
        /// duration when left out).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        renew_before: Option<String>,
        /// The private key's algorithm, size, encoding and rotation (cert-manager's defaults when
        /// left out: RSA 2048, PKCS1, rotated on every renewal).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_key: Option<CertificatePrivateKey>,
    },
}

/// The field naming the cert-manager issuer, as errors about it (the apply preflight's) name it.
pub const ISSUER_REF_FIELD: &str = "redis.tls.certificate.issuerRef";

/// The cert-manager issuer of a rendered `Certificate`.
///
/// ```
/// use gatehouse_model::{IssuerKind, IssuerRef};
/// let issuer = IssuerRef::new("internal-ca", IssuerKind::ClusterIssuer);
/// assert_eq!(issuer.group, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerRef {
    /// Name of the Issuer (in the deployment's namespace) or ClusterIssuer. Required (validation
    /// names `redis.tls.certificate.issuerRef.name` when it is missing or empty).
    #[serde(default)]
    pub name: String,
    /// `Issuer` or `ClusterIssuer`.
    #[serde(default)]
    pub kind: IssuerKind,
    /// API group of an external issuer; left out for cert-manager's own (`cert-manager.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl IssuerRef {
    /// An issuer of cert-manager's own group.
    pub fn new(name: impl Into<String>, kind: IssuerKind) -> IssuerRef {
        IssuerRef {
            name: name.into(),
            kind,
            group: None,
        }
    }
}

/// Whether a cert-manager issuer is namespaced (`Issuer`) or cluster-wide (`ClusterIssuer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum IssuerKind {
    /// An Issuer in the deployment's namespace.
    #[default]
    Issuer,
    /// A cluster-wide ClusterIssuer.
    ClusterIssuer,
}

impl IssuerKind {
    /// cert-manager's spelling of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerKind::Issuer => "Issuer",
            IssuerKind::ClusterIssuer => "ClusterIssuer",
        }
    }
}

/// The private key of a cert-manager `Certificate` (`spec.privateKey`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[non_exhaustive]
pub struct CertificatePrivateKey {
    /// `RSA`, `ECDSA` or `Ed25519`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<KeyAlgorithm>,
    /// Key size: 2048 to 8192 bits for RSA, 256, 384 or 521 for ECDSA; none for Ed25519.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// `PKCS1` or `PKCS8`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<KeyEncoding>,
    /// `Always` (a new key on each renewal) or `Never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_policy: Option<KeyRotationPolicy>,
}

/// A private key algorithm cert-manager can issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KeyAlgorithm {
    /// RSA.
    #[serde(rename = "RSA")]
    Rsa,
    /// ECDSA.
    #[serde(rename = "ECDSA")]
    Ecdsa,
    /// Ed25519.
    Ed25519,
}

/// How cert-manager encodes the private key in the Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KeyEncoding {
    /// PKCS#1 (RSA only; cert-manager's default).
    #[serde(rename = "PKCS1")]
    Pkcs1,
    /// PKCS#8.
    #[serde(rename = "PKCS8")]
    Pkcs8,
}

/// Whether cert-manager makes a new private key on renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KeyRotationPolicy {
    /// A new key on every renewal.
    Always,
    /// Keep the key.
    Never,
}

/// `tls-auth-clients`: whether a client must present a certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TlsClientAuth {
    /// A client may present a certificate (checked against the CA when it does); the password
    /// authenticates it. The default: the gateway's client key pair (a PEM keystore) is not yet
    /// proven on a real gateway, and a wrong one would turn rate limiting off silently.
    #[default]
    Optional,
    /// Mutual TLS: every client (replicas, Sentinels, probes, the gateway) must present a
    /// certificate signed by the CA.
    Required,
}

impl TlsClientAuth {
    /// The `tls-auth-clients` value.
    pub fn redis_value(self) -> &'static str {
        match self {
            TlsClientAuth::Optional => "optional",
            TlsClientAuth::Required => "yes",
        }
    }
}
