//! Proves the Redis Sentinel group gatehouse renders on real `redis-server` and `redis-sentinel`
//! processes.
//!
//! [`Cluster`] renders a model, writes the rendered ConfigMap files into a temp directory and starts
//! every pod's rendered command (`sh <TEMPLATE_DIR>/start-redis.sh`, `start-sentinel.sh`) as a
//! local process group on free loopback ports, with the pod spec's environment in which only hosts,
//! ports, paths and the password are replaced ([`pods`]). [`workload::Writer`] finds the master
//! the way the gateway does and counts writes; [`measure`] kills masters and measures failovers.
//! Every process is killed when its owner is dropped, also when a test panics.
//!
//! Without the Redis binaries ([`external::missing_binaries`]) the tests skip with a message, or
//! fail when `GATEHOUSE_REQUIRE_EXTERNAL=1` (`gatehouse_testkit::skip_or_fail`, in the tests'
//! shared `common` module). [`rollout`] rolls the StatefulSets after a config change as Kubernetes
//! does.

pub mod cluster;
pub mod exporter;
pub mod external;
pub mod faults;
mod full_restart;
pub mod gateway_client;
pub mod measure;
pub mod pods;
pub mod ports;
pub mod process;
pub mod promtool;
pub mod resp;
pub mod rollout;
pub mod rotation;
pub mod scenario;
pub mod tls;
pub mod workload;

use std::time::Duration;

pub use cluster::{
    Cluster, Hook, Role, TEST_DOWN_AFTER_MS, TEST_PASSWORD, test_deployment, tls_test_deployment,
};
pub use external::INSTALL_HINT;
pub use faults::{Partition, partitions_unavailable};
pub use measure::{FAILOVER_MARGIN, MAX_LOST_PER_FAILOVER, failover_bound};

/// What went wrong while running the processes.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The rendered objects are not what the harness (and the pods) need.
    #[error("rendered pod spec: {message}")]
    Rendered {
        /// What is wrong.
        message: String,
    },
    /// The rendered pod spec sets a variable the harness does not know how to map to loopback.
    #[error(
        "container {container}: env {variable} is rendered but the harness does not know it; \
         add it to gatehouse_ha::pods::LOOPBACK_VARIABLES (if it holds a host, port or path) or \
         PASSED_THROUGH"
    )]
    UnknownVariable {
        /// The container.
        container: String,
        /// The variable.
        variable: String,
    },
    /// A tool the harness needs is missing.
    #[error("{tool} is needed {why}")]
    MissingTool {
        /// The tool.
        tool: String,
        /// What for.
        why: String,
    },
    /// No free ports could be leased.
    #[error("could not lease {wanted} free loopback ports in 20000-32767")]
    NoFreePorts {
        /// How many were wanted.
        wanted: usize,
    },
    /// Something did not happen in time.
    #[error("timed out after {limit:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        limit: Duration,
    },
    /// The group did not reach the awaited state in time.
    #[error("not converged within {limit:?}: {last}\n{logs}")]
    NotConverged {
        /// The limit.
        limit: Duration,
        /// The last reason.
        last: String,
        /// Log tails of every process.
        logs: String,
    },
    /// The harness was asked for something impossible in the current state.
    #[error("{message}")]
    State {
        /// What.
        message: String,
    },
    /// Talking to a process failed.
    #[error(transparent)]
    Resp(#[from] resp::RespError),
}
