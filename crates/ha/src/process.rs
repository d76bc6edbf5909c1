//! Child processes that never outlive their owner.
//!
//! Every process is started in its own process group; dropping a [`ManagedProcess`] (also while a
//! test panics) sends SIGKILL to the whole group, so the shell, `redis-cli` calls of the start
//! script and the `redis-server` it `exec`s all go. When `setpriv` is available the process also gets
//! `--pdeathsig KILL`, so it dies with the test process even if that one is killed (a test timeout).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};
use tokio::process::{Child, Command};

use crate::HarnessError;

/// Time allowed for a killed process to be reaped.
const REAP_LIMIT: Duration = Duration::from_secs(5);

/// How to start one process: program, arguments, the complete environment, and a log file.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The complete environment (nothing is inherited but `PATH`).
    pub env: Vec<(String, String)>,
    /// Where stdout and stderr go (appended).
    pub log: PathBuf,
    /// Run as the `nobody` user (uid/gid 65534) via `setpriv`, when the harness runs as root.
    pub as_nobody: bool,
}

/// A running child process (group), killed when dropped.
#[derive(Debug)]
pub struct ManagedProcess {
    child: Child,
    pgid: Option<Pid>,
    log: PathBuf,
}

fn setpriv() -> Option<PathBuf> {
    crate::external::which("setpriv")
}

impl ManagedProcess {
    /// Starts the process in a new process group.
    pub fn spawn(launch: &Launch) -> Result<ManagedProcess, HarnessError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log)
            .map_err(|source| HarnessError::Io {
                what: format!("open log {}", launch.log.display()),
                source,
            })?;
        let err_log = log.try_clone().map_err(|source| HarnessError::Io {
            what: format!("duplicate log {}", launch.log.display()),
            source,
        })?;
        let mut argv: Vec<String> = Vec::new();
        if let Some(setpriv) = setpriv() {
            argv.push(setpriv.display().to_string());
            argv.push("--pdeathsig".into());
            argv.push("KILL".into());
            if launch.as_nobody && rustix::process::geteuid().is_root() {
                argv.extend(["--reuid=65534", "--regid=65534", "--clear-groups"].map(String::from));
            }
        } else if launch.as_nobody && rustix::process::geteuid().is_root() {
            return Err(HarnessError::MissingTool {
                tool: "setpriv".into(),
                why: "to run a process as an unprivileged user".into(),
            });
        }
        argv.extend(launch.argv.iter().cloned());
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err_log)
            .process_group(0)
            .kill_on_drop(true);
        let child = command.spawn().map_err(|source| HarnessError::Io {
            what: format!("start {}", argv.join(" ")),
            source,
        })?;
        let pgid = child.id().and_then(|id| Pid::from_raw(id as i32));
        Ok(ManagedProcess {
            child,
            pgid,
            log: launch.log.clone(),
        })
    }

    /// The log file of this process.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Sends `signal` to the process group.
    pub fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.pgid {
            // The group may already be gone; that is what we want.
            let _ = kill_process_group(pgid, signal);
        }
    }

    /// SIGKILL to the whole group, then waits (bounded) until the process is reaped.
    pub async fn kill(mut self) -> Result<(), HarnessError> {
        self.signal(Signal::KILL);
        match tokio::time::timeout(REAP_LIMIT, self.child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => Err(HarnessError::Timeout {
                what: format!("reaping the process logging to {}", self.log.display()),
                limit: REAP_LIMIT,
            }),
        }
    }

    /// Waits (at most `limit`) for the process to exit by itself.
    pub async fn wait_exit(&mut self, limit: Duration) -> Result<ExitStatus, HarnessError> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(source)) => Err(HarnessError::Io {
                what: "wait for a child process".into(),
                source,
            }),
            Err(_) => Err(HarnessError::Timeout {
                what: format!("the process logging to {} to exit", self.log.display()),
                limit,
            }),
        }
    }

    /// Whether the process has exited already.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.signal(Signal::KILL);
        let _ = self.child.start_kill();
    }
}

/// Runs a short command (a probe, a pre-stop hook) to completion within `limit`; returns its exit
/// status and combined output. The process group is killed when the limit passes.
pub async fn run_to_end(
    launch: &Launch,
    limit: Duration,
) -> Result<(ExitStatus, String), HarnessError> {
    let mut process = ManagedProcess::spawn(launch)?;
    let status = process.wait_exit(limit).await?;
    let output = std::fs::read_to_string(&launch.log).unwrap_or_default();
    Ok((status, output))
}
