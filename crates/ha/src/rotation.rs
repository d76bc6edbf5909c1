//! Password rotation on the running group, as `gatehouse deploy` drives it (ARCHITECTURE.md,
//! "Password rotation"): three Secret writes, each followed by a rolling restart of both
//! StatefulSets (data pods first, the master's pod handing over in its pre-stop hook, then the
//! Sentinels).
//!
//! | step | Secret `<key>` | `<key>.next` | `<key>.previous` | users accept | clients send |
//! |---|---|---|---|---|---|
//! | [`RotationStep::AddNext`] | old | new | — | old, new | old |
//! | [`RotationStep::Switch`] | new | — | old | new, old | new |
//! | [`RotationStep::DropPrevious`] | new | — | — | new | new |
//!
//! Two steps cannot do it: a link's sender and receiver are in different pods (a replica and its
//! master, two Sentinels, a Sentinel and a data node, the gateway and both), and during a roll some
//! have restarted and some not. After `AddNext` every process accepts both before any sends the
//! new one; after `Switch` every process sends the new one before any stops accepting the old.
//!
//! [`AuthMonitor`] watches every process's `ACL LOG` while that happens (redis 7.0.15's INFO
//! has no `acl_access_denied_auth`, measured), so a refused login anywhere (a replica's `masterauth`, a Sentinel's `auth-pass` or
//! `sentinel-pass`, a probe, the gateway, the harness) is seen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::HarnessError;
use crate::cluster::{Cluster, Role};
use crate::pods::secret_value;
use crate::resp::{Connection, Reply, Transport};
use crate::rollout::RolledPod;

/// One Secret write of a rotation (see the module table): the model's, which `gatehouse deploy`
/// writes too.
pub use gatehouse_model::RotationStep;

impl Cluster {
    /// Writes step `step` of rotating every password of the group (each user's
    /// [`secret_value`] of `old` to that of `new`) into the pods' Secrets, and makes `new` the
    /// harness's own password once clients send it (from [`RotationStep::Switch`]).
    pub fn write_rotation_step(&mut self, step: RotationStep, old: &str, new: &str) {
        for (variable, _) in gatehouse_render::redis_files::PASSWORD_ENV {
            let (old_value, new_value) = (secret_value(old, variable), secret_value(new, variable));
            let (value, next, previous) = step.secret(&old_value, &new_value);
            self.write_password(variable, value, next, previous);
        }
        if step != RotationStep::AddNext {
            self.password = new.to_string();
        }
    }

    /// Rolls the data pods, then the Sentinels, as Kubernetes does after a Secret version in both
    /// pod templates changed.
    pub async fn roll_both(&mut self) -> Result<Vec<RolledPod>, HarnessError> {
        let mut rolled = self.roll(Role::Data).await?;
        rolled.extend(self.roll(Role::Sentinel).await?);
        Ok(rolled)
    }
}

/// Refused logins seen by [`AuthMonitor`] on one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The process (`address:port`).
    pub addr: String,
    /// The failed logins its `ACL LOG` held when seen (since the process started).
    pub denied: u64,
    /// Who failed: `user@client-address` of each entry.
    pub who: Vec<String>,
}

/// Polls `ACL LOG` of every process of the group (as `default`, with the password the harness
/// holds at the time) and records every process whose log holds a failed login (reason `auth`).
#[derive(Debug)]
pub struct AuthMonitor {
    stop: Arc<AtomicBool>,
    password: Arc<Mutex<String>>,
    refusals: Arc<Mutex<Vec<Refusal>>>,
    polls: Arc<Mutex<u64>>,
    task: Option<JoinHandle<()>>,
}

/// Pause between two rounds of the monitor.
pub const MONITOR_PERIOD: Duration = Duration::from_millis(100);

impl AuthMonitor {
    /// Starts watching `cluster`'s processes. Its default user must be allowed `ACL LOG` on data
    /// nodes and Sentinels (the test deployment's unrestricted gateway user).
    pub fn start(cluster: &Cluster) -> AuthMonitor {
        let addrs: Vec<String> = cluster
            .data
            .iter()
            .chain(&cluster.sentinels)
            .map(|p| p.addr())
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let password = Arc::new(Mutex::new(cluster.password.clone()));
        let refusals = Arc::new(Mutex::new(Vec::new()));
        let polls = Arc::new(Mutex::new(0));
        let task = tokio::spawn(watch(
            addrs,
            cluster.transport.clone(),
            stop.clone(),
            password.clone(),
            refusals.clone(),
            polls.clone(),
        ));
        AuthMonitor {
            stop,
            password,
            refusals,
            polls,
            task: Some(task),
        }
    }

    /// The password the monitor logs in with from now on.
    pub fn set_password(&self, password: &str) {
        if let Ok(mut p) = self.password.lock() {
            *p = password.to_string();
        }
    }

    /// Stops; returns the refusals seen and how many ACL LOG answers were read.
    pub async fn stop(mut self) -> (Vec<Refusal>, u64) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let refusals = self.refusals.lock().map(|r| r.clone()).unwrap_or_default();
        let polls = self.polls.lock().map(|p| *p).unwrap_or_default();
        (refusals, polls)
    }
}

impl Drop for AuthMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The failed logins an `ACL LOG` reply records: the `count` of every entry whose `reason` is
/// `auth`, and `user@client-address` of each.
pub fn failed_logins(entries: &[Reply]) -> (u64, Vec<String>) {
    let mut total = 0;
    let mut who = Vec::new();
    for entry in entries {
        let Reply::Array(Some(fields)) = entry else {
            continue;
        };
        let field = |name: &str| {
            fields
                .chunks(2)
                .find(|pair| pair[0].as_text().as_deref() == Some(name))
                .and_then(|pair| pair.get(1))
        };
        if field("reason").and_then(Reply::as_text).as_deref() != Some("auth") {
            continue;
        }
        if let Some(Reply::Integer(count)) = field("count") {
            total += u64::try_from(*count).unwrap_or(0);
        }
        let user = field("username")
            .and_then(Reply::as_text)
            .unwrap_or_default();
        let client = field("client-info")
            .and_then(Reply::as_text)
            .unwrap_or_default();
        let addr = client
            .split(' ')
            .find_map(|kv| kv.strip_prefix("addr="))
            .unwrap_or("?")
            .to_string();
        who.push(format!("{user}@{addr}"));
    }
    (total, who)
}

async fn watch(
    addrs: Vec<String>,
    transport: Transport,
    stop: Arc<AtomicBool>,
    password: Arc<Mutex<String>>,
    refusals: Arc<Mutex<Vec<Refusal>>>,
    polls: Arc<Mutex<u64>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let current = password.lock().map(|p| p.clone()).unwrap_or_default();
        for addr in &addrs {
            let Ok(mut c) =
                Connection::connect_with(addr, Some(&current), &transport, Duration::from_secs(1))
                    .await
            else {
                continue; // restarting
            };
            let Ok(Reply::Array(Some(entries))) = c.command(&["ACL", "LOG"]).await else {
                continue;
            };
            let (denied, who) = failed_logins(&entries);
            let denied = Some(denied);
            if let Ok(mut p) = polls.lock() {
                *p += 1;
            }
            if let Some(denied) = denied.filter(|d| *d > 0)
                && let Ok(mut r) = refusals.lock()
            {
                let seen = r.iter().any(|x| x.addr == *addr && x.denied == denied);
                if !seen {
                    r.push(Refusal {
                        addr: addr.clone(),
                        denied,
                        who,
                    });
                }
            }
        }
        tokio::time::sleep(MONITOR_PERIOD).await;
    }
}
