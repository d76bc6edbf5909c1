//! Finding the Redis binaries. Whether a test skips or fails without them is decided in the tests,
//! by the workspace's one rule (`gatehouse_testkit::skip_or_fail`); `cargo xtask failover-report`
//! refuses to run without them.

use std::path::PathBuf;

/// How to install what the real-process tests need.
pub const INSTALL_HINT: &str = "install Redis 7 with `sudo apt-get install -y redis-server redis-sentinel` \
     (Debian/Ubuntu; the binaries redis-server, redis-sentinel and redis-cli must be on PATH)";

/// The binaries the harness and the rendered scripts run.
pub const REQUIRED: [&str; 3] = ["redis-server", "redis-sentinel", "redis-cli"];

/// The first executable `name` on `PATH`, if any.
pub fn which(name: &str) -> Option<PathBuf> {
    ::which::which(name).ok()
}

/// The required binaries that are not on `PATH`.
pub fn missing_binaries() -> Vec<&'static str> {
    REQUIRED
        .into_iter()
        .filter(|name| which(name).is_none())
        .collect()
}
