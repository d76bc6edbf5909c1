//! Applies rendered gatehouse output to a cluster: the only crate that talks to one.
//!
//! It takes [`gatehouse_render::Rendered`] (never the model) and makes the cluster match:
//! 1. preflight: secret sources (environment variables read, existing Secrets checked), Flux CRDs;
//! 2. a server dry-run (`dryRun=All`, server-side apply, field manager `gatehouse`) of EVERY object,
//!    compared with the live objects (one LIST per kind and namespace, which also yields the
//!    ApplySet parent), so bad input fails before the first write;
//! 3. the writes, stage by stage (Namespace → Secrets/ConfigMaps/ServiceAccounts →
//!    Services/NetworkPolicies/PDBs → StatefulSets), bounded concurrency within a stage, one PATCH
//!    per changed object and none for unchanged ones;
//! 4. a watch-based wait for the workloads, then the gateway release (Helm CLI or Flux objects);
//! 5. with `prune`, deletion of ApplySet members that are no longer rendered.
//!
//! The library never draws on a terminal: progress is reported as typed [`Event`]s to the
//! [`EventSink`] in [`DeployOptions::events`] (none by default), and results are returned as data
//! ([`DeployReport`], [`DiffReport`], [`Status`]), and so are the HTTP requests the connection
//! sent ([`Cluster::requests`], [`DeployReport::requests`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), gatehouse_apply::ApplyError> {
//! # let valid: gatehouse_model::ValidDeployment = unimplemented!();
//! let rendered = gatehouse_render::render(&valid);
//! let cluster = gatehouse_apply::Cluster::connect(&Default::default()).await?;
//! let options = gatehouse_apply::DeployOptions {
//!     events: Some(gatehouse_apply::EventSink::new(|event| eprintln!("{event}"))),
//!     ..Default::default()
//! };
//! let report = cluster.deploy(&rendered, &options).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```

pub mod applyset;
mod cert_manager;
mod connection;
mod deploy;
mod destroy;
mod diff;
mod error;
mod events;
pub mod fleet;
pub mod gateway_tls;
pub mod helm;
pub mod plan;
mod preflight;
mod report;
mod requests;
pub mod rotation;
pub mod secrets;
mod status;
mod wait;

pub use connection::{Cluster, ConnectOptions, USER_AGENT, api_resource};
pub use deploy::{Action, DeployOptions};
pub use diff::{ObjectDiff, normalize, unified_diff};
pub use error::{ApplyError, FieldConflict, ForeignObject, Owner, Rejection, RotateProblem, Verb};
pub use events::{Event, EventSink};
pub use plan::{Desired, ObjectKind, Plan, ReleaseMode, Stage, WriteMode};
pub use report::{DeployReport, DiffReport, UnverifiedSecret};
pub use requests::{ApiVerb, RequestCounts, RequestKind};
pub use status::{
    ASK_MASTER_SCRIPT, LastFailover, REPLICATION_SCRIPT, ReplicaLag, Replication,
    SENTINEL_FACTS_SCRIPT, SentinelFacts, SentinelView, Status, WorkloadStatus, last_failover,
    parse_master, parse_replication, parse_sentinel_facts,
};
pub use wait::{deployment_ready, helmrelease_ready, statefulset_ready};

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "gatehouse";
