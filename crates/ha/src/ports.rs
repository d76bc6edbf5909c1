//! Free loopback ports that stay reserved for the whole life of a test cluster.
//!
//! Ports come from 20000–32767, below Linux's ephemeral range (32768–60999), so the outgoing
//! connections of Redis and Sentinel never occupy a port a killed node must get back on restart.
//! Each port is leased with a lock file in the temp directory, so tests in other processes (nextest
//! runs every test in its own process) never pick it while this one holds it; leases of dead
//! processes are taken over.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::HarnessError;

const FIRST: u16 = 20_000;
const LAST: u16 = 32_767;
/// Candidates tried before giving up.
const ATTEMPTS: usize = 2_000;

/// One leased port; the lease ends when dropped.
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    lock: PathBuf,
}

impl PortLease {
    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("gatehouse-ha-ports")
}

fn holder_alive(lock: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(lock) else {
        // Being written right now by its owner.
        return true;
    };
    match text
        .trim()
        .parse::<i32>()
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        Some(pid) => rustix::process::test_kill_process(pid).is_ok(),
        None => false,
    }
}

fn try_lease(port: u16) -> Option<PortLease> {
    let dir = lock_dir();
    std::fs::create_dir_all(&dir).ok()?;
    let lock = dir.join(format!("{port}.lock"));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock);
    let mut file = match file {
        Ok(f) => f,
        Err(_) => {
            if holder_alive(&lock) {
                return None;
            }
            let _ = std::fs::remove_file(&lock);
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
                .ok()?
        }
    };
    use std::io::Write;
    write!(file, "{}", std::process::id()).ok()?;
    let lease = PortLease { port, lock };
    // The port must also be free right now (not used by anything outside the harness).
    TcpListener::bind(("127.0.0.1", port)).ok()?;
    Some(lease)
}

/// The loopback address of the pod listening on `port`: `127.1.<port / 256>.<port % 256>`.
///
/// The whole of 127.0.0.0/8 is loopback on Linux, and leased ports are unique among running
/// clusters, so every pod of every cluster gets an address of its own (its "pod IP"): partitions
/// between pods can then be made with address-based firewall rules without touching other tests, and
/// the test process itself (127.0.0.1) stays outside every partition, like a client in another zone.
pub fn pod_address(port: u16) -> std::net::Ipv4Addr {
    let [high, low] = port.to_be_bytes();
    std::net::Ipv4Addr::new(127, 1, high, low)
}

/// Leases `count` free ports.
pub fn lease_ports(count: usize) -> Result<Vec<PortLease>, HarnessError> {
    let span = u64::from(LAST - FIRST) + 1;
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (u64::from(std::process::id()) << 20);
    let mut leases = Vec::with_capacity(count);
    for attempt in 0..ATTEMPTS as u64 {
        if leases.len() == count {
            break;
        }
        let port = FIRST + ((seed.wrapping_add(attempt * 7919)) % span) as u16;
        if let Some(lease) = try_lease(port) {
            leases.push(lease);
        }
    }
    if leases.len() < count {
        return Err(HarnessError::NoFreePorts { wanted: count });
    }
    Ok(leases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_addresses_are_distinct_loopback_addresses() {
        assert_eq!(pod_address(20_000), std::net::Ipv4Addr::new(127, 1, 78, 32));
        assert_ne!(pod_address(20_000), pod_address(20_001));
        assert!(pod_address(32_767).is_loopback());
    }
}
