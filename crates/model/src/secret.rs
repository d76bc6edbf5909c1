//! Where secret values come from, and which Kubernetes Secret key holds them.
//!
//! A secret never appears in the model as a plain string: the model only says where the value comes
//! from. Rendered output references the Secret key; the apply step makes sure the Secret exists.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the value of one secret (Redis password, license key, cloud token) comes from.
///
/// ```
/// use gatehouse_model::SecretSource;
/// let existing = SecretSource::ExistingSecret { name: "redis".into(), key: "password".into() };
/// let from_env = SecretSource::Env { variable: "REDIS_PASSWORD".into() };
/// assert_ne!(existing, from_env);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "from", rename_all = "camelCase", deny_unknown_fields)]
pub enum SecretSource {
    /// A Secret that already exists in the namespace; gatehouse only references it.
    ExistingSecret {
        /// Name of the Secret.
        name: String,
        /// Key inside the Secret's data.
        key: String,
    },
    /// The value of an environment variable of the process that runs `deploy`, written to a Secret
    /// managed by gatehouse.
    Env {
        /// Name of the environment variable.
        variable: String,
    },
    /// A random value generated once at deploy time into a Secret managed by gatehouse; an existing
    /// value is never overwritten or printed.
    #[default]
    Generated,
}

/// The user of the gateway's technical API (the Gravitee chart's `services.core.http`
/// authentication has this one user).
pub const TECHNICAL_API_USER: &str = "admin";
/// The key of the technical API's user name in its Secret.
pub const TECHNICAL_USER_KEY: &str = "username";

/// A reference to one key of a Kubernetes Secret (what pods read through `secretKeyRef`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key inside the Secret's data.
    pub key: String,
}

/// The secrets a deployment needs; each has exactly one source and one Secret key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SecretRole {
    /// The password of the Redis data nodes (and of the Sentinels when Sentinel auth is on).
    RedisPassword,
    /// The Gravitee license key (base64 of the license file).
    LicenseKey,
    /// The password of the replication ACL user.
    ReplicationPassword,
    /// The password of the Sentinels' monitoring ACL user.
    SentinelPassword,
    /// The password of the Sentinels' peer ACL user.
    SentinelPeerPassword,
    /// The password of the operator ACL user (probes, pre-stop, election, `gatehouse status`).
    OperatorPassword,
    /// The Gravitee Cloud token of the hybrid gateway.
    CloudToken,
    /// The password of the metrics exporter's ACL user (only while an exporter runs).
    ExporterPassword,
    /// The password of the gateway's technical API user (only while `metrics.gateway` scrapes
    /// it); its Secret also holds the user name, which Prometheus reads from a Secret too.
    GatewayTechnicalPassword,
}

impl SecretRole {
    /// Every role, in a stable order.
    pub const ALL: [SecretRole; 9] = [
        SecretRole::RedisPassword,
        SecretRole::LicenseKey,
        SecretRole::CloudToken,
        SecretRole::ReplicationPassword,
        SecretRole::SentinelPassword,
        SecretRole::SentinelPeerPassword,
        SecretRole::OperatorPassword,
        SecretRole::ExporterPassword,
        SecretRole::GatewayTechnicalPassword,
    ];

    /// Whether gatehouse may generate the value (Redis passwords), rather than it being issued by
    /// Gravitee.
    pub fn can_be_generated(self) -> bool {
        !matches!(self, SecretRole::LicenseKey | SecretRole::CloudToken)
    }

    /// The suffix of the Secret gatehouse manages for this role (`<deployment name>-<suffix>`).
    pub fn managed_secret_suffix(self) -> &'static str {
        match self {
            SecretRole::RedisPassword => "redis-password",
            SecretRole::LicenseKey => "license-key",
            SecretRole::CloudToken => "cloud-token",
            SecretRole::ReplicationPassword => "redis-replication-password",
            SecretRole::SentinelPassword => "redis-sentinel-password",
            SecretRole::SentinelPeerPassword => "redis-sentinel-peer-password",
            SecretRole::OperatorPassword => "redis-operator-password",
            SecretRole::ExporterPassword => "redis-exporter-password",
            SecretRole::GatewayTechnicalPassword => "gateway-technical-password",
        }
    }

    /// The key inside the Secret gatehouse manages for this role.
    pub fn managed_secret_key(self) -> &'static str {
        match self {
            SecretRole::RedisPassword
            | SecretRole::ReplicationPassword
            | SecretRole::SentinelPassword
            | SecretRole::SentinelPeerPassword
            | SecretRole::OperatorPassword
            | SecretRole::ExporterPassword
            | SecretRole::GatewayTechnicalPassword => "password",
            SecretRole::LicenseKey => "license-key",
            SecretRole::CloudToken => "token",
        }
    }

    /// Entries that are not secret but must sit in the same Secret as the value (a consumer that
    /// reads both from one Secret): gatehouse writes them beside a value it writes, and an existing
    /// Secret must hold them.
    pub fn fixed_entries(self) -> &'static [(&'static str, &'static str)] {
        match self {
            SecretRole::GatewayTechnicalPassword => &[(TECHNICAL_USER_KEY, TECHNICAL_API_USER)],
            _ => &[],
        }
    }

    /// The Redis ACL user that logs in with this password (`default` is the gateway's), if any.
    ///
    /// ```
    /// use gatehouse_model::SecretRole;
    /// assert_eq!(SecretRole::RedisPassword.acl_user(), Some("default"));
    /// assert_eq!(SecretRole::ReplicationPassword.acl_user(), Some("gatehouse-replication"));
    /// assert_eq!(SecretRole::LicenseKey.acl_user(), None);
    /// ```
    pub fn acl_user(self) -> Option<&'static str> {
        match self {
            SecretRole::RedisPassword => Some("default"),
            SecretRole::ReplicationPassword => Some(crate::acl::REPLICATION_USER),
            SecretRole::SentinelPassword => Some(crate::acl::SENTINEL_USER),
            SecretRole::SentinelPeerPassword => Some(crate::acl::SENTINEL_PEER_USER),
            SecretRole::OperatorPassword => Some(crate::acl::OPERATOR_USER),
            SecretRole::ExporterPassword => Some(crate::acl::EXPORTER_USER),
            SecretRole::LicenseKey
            | SecretRole::CloudToken
            | SecretRole::GatewayTechnicalPassword => None,
        }
    }

    /// The model field that holds this role's source, for error messages.
    pub fn field_path(self) -> &'static str {
        match self {
            SecretRole::RedisPassword => "redis.password",
            SecretRole::LicenseKey => "gateway.licenseKey",
            SecretRole::CloudToken => "gateway.cloudToken",
            SecretRole::ReplicationPassword => "redis.acl.replication.password",
            SecretRole::SentinelPassword => "redis.acl.sentinel.password",
            SecretRole::SentinelPeerPassword => "redis.acl.sentinelPeer.password",
            SecretRole::OperatorPassword => "redis.acl.operator.password",
            SecretRole::ExporterPassword => "redis.acl.exporter.password",
            SecretRole::GatewayTechnicalPassword => "metrics.gatewayTechnicalPassword",
        }
    }
}

impl std::fmt::Display for SecretRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.field_path())
    }
}

/// One Secret write of a password rotation. Every Redis user can hold two passwords, so a
/// password changes in three writes of its Secret, each rolled out to every pod that reads it
/// before the next: `gatehouse deploy` writes them (gatehouse-apply), and the proof on real
/// processes (gatehouse-ha) writes the same states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    /// The new password added as `<key>.next`: every user accepts both, clients still send the
    /// old one.
    AddNext,
    /// The new password in `<key>`, the old one kept as `<key>.previous`.
    Switch,
    /// `<key>.previous` removed: only the new password opens the users.
    DropPrevious,
}

impl RotationStep {
    /// The three steps in order.
    pub const ALL: [RotationStep; 3] = [
        RotationStep::AddNext,
        RotationStep::Switch,
        RotationStep::DropPrevious,
    ];

    /// 1, 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            RotationStep::AddNext => 1,
            RotationStep::Switch => 2,
            RotationStep::DropPrevious => 3,
        }
    }

    /// The Secret's `(<key>, <key>.next, <key>.previous)` once this step is written, rotating
    /// `old` to `new`.
    pub fn secret<'a>(
        self,
        old: &'a str,
        new: &'a str,
    ) -> (&'a str, Option<&'a str>, Option<&'a str>) {
        match self {
            RotationStep::AddNext => (old, Some(new), None),
            RotationStep::Switch => (new, None, Some(old)),
            RotationStep::DropPrevious => (new, None, None),
        }
    }
}
