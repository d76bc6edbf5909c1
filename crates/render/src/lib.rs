//! Renders a validated gatehouse model into everything a cluster needs.
//!
//! [`render`] is pure and deterministic: no I/O, no clock, no randomness; the same model gives the
//! same bytes. It produces
//! - Kubernetes objects as k8s-openapi types ([`KubeObject`]), in apply order;
//! - the Redis and Sentinel config files (handlebars templates, [`RedisFiles`]) and the start, probe
//!   and pre-stop scripts the pods run, none of which ever contains a password;
//! - the typed Helm values of the `graviteeio/apim` chart ([`helm::GatewayValues`]);
//! - the list of Secrets the objects reference ([`SecretRequirement`]), for the apply step.
//!
//! ```
//! let valid = gatehouse_model::Deployment::guide_example().validated().unwrap();
//! let rendered = gatehouse_render::render(&valid);
//! assert_eq!(rendered.objects[0].kind(), "Namespace");
//! assert!(rendered.to_text(gatehouse_render::Format::Yaml).contains("ratelimit:"));
//! ```

mod certificate;
mod config_digest;
pub mod crds;
pub mod fleet;
pub mod gitops;
pub mod helm;
mod kinds;
pub mod metrics;
pub mod names;
mod objects;
mod output;
pub mod redis_files;
pub mod yaml;

use gatehouse_model::{SecretRole, ValidDeployment};

pub use crds::flux;
pub use kinds::{KINDS, ObjectKind, REFERENCED_KINDS, Scope};
pub use names::Names;
pub use output::{ApplyTier, Format, HelmRelease, KubeObject, Rendered, SecretRequirement};
pub use redis_files::{RedisFiles, redis_files};

/// Renders a validated deployment.
pub fn render(valid: &ValidDeployment) -> Rendered {
    let d = valid.deployment();
    let names = Names::of(d);
    let files = redis_files(valid);
    let objects = objects::kube_objects(d, &names, &files);
    let secrets = SecretRole::ALL
        .into_iter()
        .filter_map(|role| {
            Some(SecretRequirement {
                role,
                namespace: d.namespace.clone(),
                secret: d.secret_key_ref(role)?,
                source: d.secret_source(role)?.clone(),
            })
        })
        .collect();
    Rendered {
        objects,
        secrets,
        helm: HelmRelease {
            release_name: d.gateway_release_name(),
            namespace: d.namespace.clone(),
            repository: helm::CHART_REPOSITORY.into(),
            chart: helm::CHART_NAME.into(),
            version: d.gateway.version.clone(),
            values: helm::gateway_values(d, &names),
        },
    }
}
