//! The one table of object kinds gatehouse writes: [`KubeObject`] (one variant per kind), its
//! apply tier, and [`KINDS`] (group, version, kind, plural, scope of each) all come from the single
//! `object_kinds!` list below. Built-in kinds take their identity from k8s-openapi's `Resource`
//! constants, the custom kinds (Flux, ...) from the types generated from the kept subsets in
//! `crates/render/crds/` (which implement the same trait), so nothing here spells a group, a version or a plural by hand.
//!
//! Adding a kind: its model, the render function that builds it, and one line in `object_kinds!`.
//! The apply crate's kinds and stages, and the mock API server's resource types, derive from
//! [`KINDS`] and [`ApplyTier`].
//!
//! ```
//! use gatehouse_render::{ApplyTier, KINDS};
//! let release = KINDS.iter().find(|k| k.kind == "HelmRelease").unwrap();
//! assert_eq!((release.group, release.plural, release.tier), ("helm.toolkit.fluxcd.io", "helmreleases", ApplyTier::Release));
//! ```

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};
use serde::Serialize;

use crate::crds::argocd::{AppProject, ApplicationSet};
use crate::crds::cert_manager::{Certificate, ClusterIssuer, Issuer};
use crate::crds::flux::{GitRepository, HelmRelease, HelmRepository, Kustomization};
use crate::crds::prometheus_operator::{PodMonitor, PrometheusRule, ServiceMonitor};

/// The order in which objects reach the cluster: each tier is applied (and, for workloads and the
/// release, waited for) before the next one starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ApplyTier {
    /// Namespaces.
    Namespace,
    /// Secrets, ConfigMaps and ServiceAccounts.
    Config,
    /// Services, NetworkPolicies and PodDisruptionBudgets.
    Network,
    /// StatefulSets and Deployments.
    Workload,
    /// The gateway release as Flux objects (the Helm CLI release is not an object).
    Release,
}

impl ApplyTier {
    /// All tiers in apply order.
    pub const ALL: [ApplyTier; 5] = [
        ApplyTier::Namespace,
        ApplyTier::Config,
        ApplyTier::Network,
        ApplyTier::Workload,
        ApplyTier::Release,
    ];
}

/// One kind gatehouse writes, checks or prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectKind {
    /// API group (empty for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// `apiVersion` (`group/version`, or the version for core).
    pub api_version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural (the resource's URL path segment).
    pub plural: &'static str,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
    /// A custom resource (served only once its CRD is installed), not a built-in kind.
    pub custom: bool,
    /// The tier it is applied in.
    pub tier: ApplyTier,
}

/// Whether a k8s-openapi resource scope is a namespace.
pub trait Scope {
    /// `true` for namespaced kinds.
    const NAMESPACED: bool;
}

impl Scope for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}

impl Scope for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

impl ObjectKind {
    /// The entry of a k8s-openapi (or generated) resource type.
    pub const fn of<R: Resource>(tier: ApplyTier, custom: bool) -> ObjectKind
    where
        R::Scope: Scope,
    {
        ObjectKind {
            group: R::GROUP,
            version: R::VERSION,
            api_version: R::API_VERSION,
            kind: R::KIND,
            plural: R::URL_PATH_SEGMENT,
            namespaced: <R::Scope as Scope>::NAMESPACED,
            custom,
            tier,
        }
    }

    /// Looks a kind up by `apiVersion` and `kind`.
    pub fn find(api_version: &str, kind: &str) -> Option<&'static ObjectKind> {
        KINDS
            .iter()
            .find(|k| k.api_version == api_version && k.kind == kind)
    }
}

/// Declares the kinds: `Variant(Type) => Tier, built-in | custom`. Generates [`KubeObject`],
/// its per-kind accessors and [`KINDS`], in the order listed.
macro_rules! object_kinds {
    ($($variant:ident($ty:ty) => $tier:ident, $origin:ident;)+) => {
        /// One Kubernetes object gatehouse writes, typed (k8s-openapi, or generated for Flux).
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        #[allow(clippy::large_enum_variant)]
        pub enum KubeObject {
            $(
                #[doc = concat!("A ", stringify!($variant), ".")]
                $variant($ty),
            )+
        }

        /// Every kind gatehouse writes, checks or prunes, in the order declared.
        pub const KINDS: &[ObjectKind] = &[
            $(ObjectKind::of::<$ty>(ApplyTier::$tier, object_kinds!(@custom $origin)),)+
        ];

        impl KubeObject {
            /// The kind's entry in [`KINDS`].
            pub fn object_kind(&self) -> &'static ObjectKind {
                const fn entry<R: Resource>() -> usize {
                    let mut i = 0;
                    while i < KINDS.len() {
                        if str_eq(KINDS[i].api_version, R::API_VERSION) && str_eq(KINDS[i].kind, R::KIND) {
                            return i;
                        }
                        i += 1;
                    }
                    panic!("a KubeObject variant missing from KINDS");
                }
                match self {
                    $(KubeObject::$variant(_) => &KINDS[const { entry::<$ty>() }],)+
                }
            }

            /// Object metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self {
                    $(KubeObject::$variant(o) => &o.metadata,)+
                }
            }
        }
    };
    (@custom builtin) => { false };
    (@custom custom) => { true };
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

object_kinds! {
    Namespace(Namespace) => Namespace, builtin;
    Secret(Secret) => Config, builtin;
    ConfigMap(ConfigMap) => Config, builtin;
    ServiceAccount(ServiceAccount) => Config, builtin;
    Certificate(Certificate) => Config, custom;
    Service(Service) => Network, builtin;
    NetworkPolicy(NetworkPolicy) => Network, builtin;
    PodDisruptionBudget(PodDisruptionBudget) => Network, builtin;
    StatefulSet(StatefulSet) => Workload, builtin;
    Deployment(Deployment) => Workload, builtin;
    PodMonitor(PodMonitor) => Workload, custom;
    ServiceMonitor(ServiceMonitor) => Workload, custom;
    PrometheusRule(PrometheusRule) => Workload, custom;
    HelmRepository(HelmRepository) => Release, custom;
    HelmRelease(HelmRelease) => Release, custom;
    // A fleet's GitOps objects (`fleet render`): written to Git, never applied by gatehouse.
    GitRepository(GitRepository) => Release, custom;
    Kustomization(Kustomization) => Release, custom;
    AppProject(AppProject) => Release, custom;
    ApplicationSet(ApplicationSet) => Release, custom;
}

/// Kinds gatehouse only reads, never writes: the cert-manager issuers a rendered `Certificate`
/// names, which the apply preflight looks up (their identity comes from the generated types like
/// [`KINDS`]; the tier is unused).
pub const REFERENCED_KINDS: &[ObjectKind] = &[
    ObjectKind::of::<Issuer>(ApplyTier::Config, true),
    ObjectKind::of::<ClusterIssuer>(ApplyTier::Config, true),
];

impl KubeObject {
    /// The tier the object is applied in.
    pub fn tier(&self) -> ApplyTier {
        self.object_kind().tier
    }

    /// `apiVersion` of the object.
    pub fn api_version(&self) -> &'static str {
        self.object_kind().api_version
    }

    /// `kind` of the object.
    pub fn kind(&self) -> &'static str {
        self.object_kind().kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_unique_and_every_tier_has_a_kind_in_order() {
        let mut seen = std::collections::BTreeSet::new();
        for k in KINDS {
            assert!(seen.insert((k.api_version, k.kind)), "{} twice", k.kind);
            assert_eq!(ObjectKind::find(k.api_version, k.kind), Some(k));
        }
        for tier in ApplyTier::ALL {
            assert!(KINDS.iter().any(|k| k.tier == tier), "{tier:?} has no kind");
        }
        assert!(ApplyTier::ALL.windows(2).all(|w| w[0] < w[1]));
        // The declared order keeps tiers together, so listing KINDS is listing by tier.
        assert!(KINDS.windows(2).all(|w| w[0].tier <= w[1].tier));
    }

    #[test]
    fn identity_comes_from_the_types() {
        let by_kind = |kind: &str| KINDS.iter().find(|k| k.kind == kind).unwrap();
        let sts = by_kind("StatefulSet");
        assert_eq!(
            (sts.api_version, sts.plural, sts.namespaced),
            ("apps/v1", "statefulsets", true)
        );
        let ns = by_kind("Namespace");
        assert_eq!((ns.group, ns.namespaced, ns.custom), ("", false, false));
        let repo = by_kind("HelmRepository");
        assert_eq!(
            (repo.api_version, repo.plural, repo.custom),
            ("source.toolkit.fluxcd.io/v1", "helmrepositories", true)
        );
    }

    #[test]
    fn every_rendered_object_serializes_the_kind_of_its_table_entry() {
        let mut cert_manager = gatehouse_model::Deployment::guide_example();
        cert_manager.redis.tls.enabled = true;
        cert_manager.redis.tls.certificate =
            Some(gatehouse_model::TlsCertificateSource::CertManager {
                issuer_ref: gatehouse_model::IssuerRef::new(
                    "ca",
                    gatehouse_model::IssuerKind::Issuer,
                ),
                duration: None,
                renew_before: None,
                private_key: None,
            });
        let mut objects = Vec::new();
        for d in [
            gatehouse_model::Deployment::guide_example().with_metrics(true),
            cert_manager,
        ] {
            let rendered = crate::render(&d.validated().unwrap());
            objects.extend(rendered.flux_objects());
            objects.extend(rendered.objects);
        }
        // A fleet's engine objects, for both engines.
        let mut fleet = gatehouse_model::Fleet::default();
        fleet.gitops.repository = Some("https://git.example.com/fleet.git".into());
        let secret = |key: &str| gatehouse_model::SecretSource::ExistingSecret {
            name: "gravitee".into(),
            key: key.into(),
        };
        fleet.base.gateway.license_key = Some(secret("license"));
        fleet.base.gateway.cloud_token = secret("token");
        fleet.clusters = vec![
            gatehouse_model::Cluster::new("a", 1),
            gatehouse_model::Cluster::new("b", 2).with_context("b"),
        ];
        fleet.clusters[1].flux_kube_config =
            Some(gatehouse_model::KubeConfigSecret::named("b-kubeconfig"));
        objects.extend(
            [
                gatehouse_model::Delivery::Flux,
                gatehouse_model::Delivery::ArgoCd,
            ]
            .into_iter()
            .flat_map(|d| crate::fleet::engine_objects(&fleet.clone().validated(d).unwrap())),
        );
        let mut kinds = std::collections::BTreeSet::new();
        for object in &objects {
            let json = object.to_json();
            let found = ObjectKind::find(
                json["apiVersion"].as_str().unwrap(),
                json["kind"].as_str().unwrap(),
            );
            assert_eq!(
                found,
                Some(object.object_kind()),
                "{}",
                object.display_name()
            );
            kinds.insert(object.kind());
        }
        // Every kind of the table but the two apply writes or reads itself is rendered (a fleet's
        // engine objects included).
        let not_rendered: Vec<&str> = KINDS
            .iter()
            .map(|k| k.kind)
            .filter(|k| !kinds.contains(k))
            .collect();
        assert_eq!(not_rendered, ["Secret", "Deployment"]);
    }
}
