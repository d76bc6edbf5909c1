//! Finding the Redis binaries, and skipping (or failing, in CI) when they are missing.

use std::path::PathBuf;

/// Environment variable that turns a missing external binary into a failure instead of a skip.
pub const REQUIRE_EXTERNAL: &str = "GATEHOUSE_REQUIRE_EXTERNAL";

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

/// Whether `GATEHOUSE_REQUIRE_EXTERNAL=1` is set (CI).
pub fn external_required() -> bool {
    std::env::var(REQUIRE_EXTERNAL).is_ok_and(|v| v == "1")
}

/// `true` when the Redis binaries are present. Otherwise prints why `test` is skipped and how to
/// install them, and returns `false` — or panics when `GATEHOUSE_REQUIRE_EXTERNAL=1`.
///
/// ```
/// if !gatehouse_ha::redis_available("doc example") {
///     return; // skipped, with a message on stderr
/// }
/// ```
pub fn redis_available(test: &str) -> bool {
    let missing = missing_binaries();
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: {} not found on PATH; {INSTALL_HINT}",
        missing.join(", ")
    );
    if external_required() {
        panic!("{message} ({REQUIRE_EXTERNAL}=1, so this is a failure, not a skip)");
    }
    // Written to the stderr handle, not with eprintln!, so the test harness's output capture
    // does not hide it: a skipped test must say so.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {message}");
    false
}
