//! What every real-process test of this crate does first: check for the Redis binaries (and, for
//! partitions, root and iptables) through the workspace's one skip-or-fail rule
//! ([`gatehouse_testkit::skip_or_fail`]), and start the group.
#![allow(dead_code)] // each test file uses a part

use gatehouse_ha::external::{INSTALL_HINT, missing_binaries};
use gatehouse_ha::faults::partitions_unavailable;
use gatehouse_ha::{Cluster, TEST_PASSWORD, test_deployment};
use gatehouse_model::Deployment;

/// `true` when redis-server, redis-sentinel and redis-cli are on PATH; otherwise skips (or fails,
/// in CI) with what is missing and how to install it.
pub fn redis_available() -> bool {
    let missing = missing_binaries();
    if missing.is_empty() {
        return true;
    }
    gatehouse_testkit::skip_or_fail(&missing.join(", "), INSTALL_HINT);
    false
}

/// `true` when partitions can be made (root and iptables); otherwise skips (or fails, in CI).
pub fn partitions_available() -> bool {
    match partitions_unavailable() {
        None => true,
        Some(reason) => {
            gatehouse_testkit::skip_or_fail("root and iptables (for partitions)", &reason);
            false
        }
    }
}

/// The group of `deployment` started from the rendered configuration, or `None` (skipped) when
/// the Redis binaries are missing.
pub async fn start_deployment(deployment: Deployment) -> Option<Cluster> {
    if !redis_available() {
        return None;
    }
    Some(
        Cluster::start(deployment, TEST_PASSWORD)
            .await
            .expect("the group starts from the rendered configuration"),
    )
}

/// The test deployment's group ([`test_deployment`]), or `None` (skipped).
pub async fn start() -> Option<Cluster> {
    start_deployment(test_deployment()).await
}
