//! gatehouse: a Gravitee API Management hybrid gateway with a highly available Redis (one master,
//! replicas, three Sentinels) on Kubernetes, from one typed model.
//!
//! This crate is the one dependency a Rust program needs. It re-exports the parts:
//! [`model`] (the deployment as data, validation, config files), [`render`] (Kubernetes objects,
//! Redis configuration, Helm values; pure), [`chart`] (the contract with the `graviteeio/apim`
//! chart) and, with the default feature `apply`, [`apply`] (server-side apply to a cluster).
//!
//! A render-only user turns the defaults off and drops kube, tokio and hyper:
//!
//! ```toml
//! gatehouse = { version = "0.1", default-features = false }
//! ```
//!
//! ```
//! use gatehouse::prelude::*;
//!
//! let config = "namespace: apim\nredis:\n  replicas: 2\n";
//! let valid = load_yaml_str(config, "inline").expect("a valid config");
//! let rendered = render(&valid);
//! assert!(rendered.objects.iter().any(|o| o.kind() == "StatefulSet"));
//! assert!(!rendered.manifests_yaml().is_empty());
//! ```
//!
//! Deploying (feature `apply`): see `examples/deploy.rs`, which connects like kubectl, reports
//! progress through an [`apply::EventSink`] and prints the report.

pub use gatehouse_chart as chart;
pub use gatehouse_model as model;
pub use gatehouse_render as render;

#[cfg(feature = "apply")]
pub use gatehouse_apply as apply;

#[cfg(feature = "cli-render")]
#[doc(hidden)]
pub mod cli;

/// Prints an error the way the `gatehouse` command does (feature `cli`, on by default).
#[cfg(feature = "cli")]
pub use cli::{CliError as Error, print_error};

/// What most programs need, in one `use`.
pub mod prelude {
    pub use gatehouse_model::{
        ConfigError, Deployment, Problem, SecretSource, Severity, ValidDeployment, ValidationError,
        from_yaml_str, load_yaml_str,
    };
    pub use gatehouse_render::{Format, KubeObject, Rendered, render};

    #[cfg(feature = "apply")]
    pub use gatehouse_apply::{
        ApplyError, Cluster, ConnectOptions, DeployOptions, DeployReport, DiffReport, Event,
        EventSink, ReleaseMode, Status,
    };
}
