//! Hard faults on a running [`Cluster`]: network partitions between pods, frozen processes
//! (SIGSTOP/SIGCONT), restarts with an empty data directory, late starts.
//!
//! Partitions use the pods' own loopback addresses ([`crate::ports::pod_address`]): an iptables
//! chain of its own per partition drops every packet between the two sides, in both directions, and
//! is removed (rules, jump and chain) when the [`Partition`] is dropped, also while a test panics.
//! The test process talks from 127.0.0.1, outside every partition, like a client that still reaches
//! both sides. Chains left behind by a test process that was killed are removed by the next one.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use rustix::process::Signal;

use crate::HarnessError;
use crate::cluster::{Cluster, Pod, Role};
use crate::external::which;

/// Prefix of the chains this module creates: `GH<pid>-<n>`.
const CHAIN_PREFIX: &str = "GH";

/// Why partitions cannot be made here, if they cannot.
pub fn partitions_unavailable() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some("partitions need root (iptables rules between loopback addresses)".into());
    }
    if which("iptables").is_none() {
        return Some(
            "iptables not found on PATH; install it with `apt-get install -y iptables`".into(),
        );
    }
    None
}

fn iptables(args: &[&str]) -> Result<String, HarnessError> {
    // -w: wait for the xtables lock, which parallel tests share.
    let output = Command::new("iptables")
        .arg("-w")
        .arg("5")
        .args(args)
        .output()
        .map_err(|source| HarnessError::Io {
            what: format!("run iptables {}", args.join(" ")),
            source,
        })?;
    if !output.status.success() {
        return Err(HarnessError::State {
            message: format!(
                "iptables {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn remove_chain(chain: &str) {
    // Every jump to it (there is one), then its rules, then the chain. Errors mean "already gone".
    while iptables(&["-D", "OUTPUT", "-j", chain]).is_ok() {}
    let _ = iptables(&["-F", chain]);
    let _ = iptables(&["-X", chain]);
}

/// Removes the chains of test processes that no longer run (killed before their drop ran).
fn remove_stale_chains() {
    let Ok(listing) = iptables(&["-S"]) else {
        return;
    };
    for line in listing.lines() {
        let Some(chain) = line.strip_prefix("-N ") else {
            continue;
        };
        let Some(pid) = chain
            .strip_prefix(CHAIN_PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = rustix::process::Pid::from_raw(pid)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        if !alive {
            remove_chain(chain);
        }
    }
}

/// A network partition between two sets of addresses; healed when dropped.
#[derive(Debug)]
pub struct Partition {
    chain: String,
    healed: bool,
}

impl Partition {
    /// Drops every packet between an address of `a` and an address of `b` (both directions).
    pub fn between(a: &[Ipv4Addr], b: &[Ipv4Addr]) -> Result<Partition, HarnessError> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        if let Some(reason) = partitions_unavailable() {
            return Err(HarnessError::MissingTool {
                tool: "iptables (as root)".into(),
                why: reason,
            });
        }
        remove_stale_chains();
        let chain = format!(
            "{CHAIN_PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        iptables(&["-N", &chain])?;
        // From here on, dropping `partition` removes whatever was set up.
        let partition = Partition {
            chain,
            healed: false,
        };
        for x in a {
            for y in b {
                for (from, to) in [(x, y), (y, x)] {
                    let (from, to) = (from.to_string(), to.to_string());
                    iptables(&["-A", &partition.chain, "-s", &from, "-d", &to, "-j", "DROP"])?;
                }
            }
        }
        iptables(&["-I", "OUTPUT", "-j", &partition.chain])?;
        Ok(partition)
    }

    /// The iptables chain holding the rules.
    pub fn chain(&self) -> &str {
        &self.chain
    }

    /// Removes the partition now.
    pub fn heal(mut self) {
        self.remove();
    }

    fn remove(&mut self) {
        if !self.healed {
            remove_chain(&self.chain);
            self.healed = true;
        }
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.remove();
    }
}

impl Cluster {
    /// Cuts pod `i` off from every other pod of the cluster (data nodes and Sentinels); clients
    /// (the test process) still reach it.
    pub fn isolate(&self, role: Role, i: usize) -> Result<Partition, HarnessError> {
        let pods = match role {
            Role::Data => &self.data,
            Role::Sentinel => &self.sentinels,
        };
        let cut = pods[i].host;
        let others: Vec<Ipv4Addr> = self
            .data
            .iter()
            .chain(&self.sentinels)
            .map(|p| p.host)
            .filter(|h| *h != cut)
            .collect();
        Partition::between(&[cut], &others)
    }

    /// Freezes pod `i` (SIGSTOP to its process group): it holds its sockets but answers nothing,
    /// like a process stuck in a long GC pause or on a hung disk.
    pub fn freeze(&self, role: Role, i: usize) -> Result<(), HarnessError> {
        self.signal_pod(role, i, Signal::STOP)
    }

    /// Lets a frozen pod run again (SIGCONT).
    pub fn thaw(&self, role: Role, i: usize) -> Result<(), HarnessError> {
        self.signal_pod(role, i, Signal::CONT)
    }

    /// Empties the data directory of a stopped data node, like a pod rescheduled onto a new, empty
    /// volume (or one without a persistent volume).
    pub fn wipe_data(&self, i: usize) -> Result<(), HarnessError> {
        wipe(&self.data[i], "data")
    }

    /// Empties the state directory of a stopped Sentinel, like a Sentinel pod on an ephemeral
    /// volume (`emptyDir`) or one whose PVC was deleted: it starts again without a saved master.
    pub fn wipe_sentinel_state(&self, i: usize) -> Result<(), HarnessError> {
        wipe(&self.sentinels[i], "config")
    }
}

/// Empties the directory `sub` of a stopped pod (a volume rescheduled empty); a pod still running is
/// an error.
fn wipe(pod: &Pod, sub: &str) -> Result<(), HarnessError> {
    if pod.is_running() {
        return Err(HarnessError::State {
            message: format!("{} is running; stop it before wiping its {sub}", pod.name),
        });
    }
    let dir = pod.dir.join(sub);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(HarnessError::Io {
            what: format!("remove {}", dir.display()),
            source,
        }),
    }
}
