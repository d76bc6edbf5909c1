//! A client that writes the way the gateway's rate limiter does: it asks the Sentinels for the
//! master (`SENTINEL get-master-addr-by-name`), connects with the password and increments one
//! counter, one write at a time. On any error it drops the connection and asks the Sentinels
//! again.
//!
//! Every write is tagged, so that loss is counted exactly: write `n` is the transaction
//! `MULTI; INCR <key>; SADD <key>:ids n; EXEC`. The ids the writer was told succeeded, compared
//! with the ids the final master holds, are the acknowledged writes lost
//! ([`crate::measure::Totals`]); a failed write that was applied anyway is not counted as lost.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::cluster::parse_master_host_port;
use crate::resp::{Connection, Reply, Transport};

/// Pause between two writes (keeps the CPU free for the processes under test).
pub const WRITE_PACE: Duration = Duration::from_millis(2);
/// Pause after a failed write before asking the Sentinels again.
pub const RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Time limit of one write (or one Sentinel query).
pub const WRITE_LIMIT: Duration = Duration::from_millis(1_000);

/// Where to write.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// `address:port` of every Sentinel, in the order the client asks them.
    pub sentinels: Vec<String>,
    /// Password for the Sentinels (when Sentinel auth is on).
    pub sentinel_password: Option<String>,
    /// Password of the data nodes.
    pub password: String,
    /// The master group name.
    pub master_name: String,
    /// The counter.
    pub key: String,
    /// The writer stops by itself after this long (a bound for every test).
    pub max_duration: Duration,
    /// Time limit of one write, like a client's socket/command timeout ([`WRITE_LIMIT`] unless a
    /// scenario needs a client with a long one).
    pub command_limit: Duration,
    /// Plain TCP or TLS, for the Sentinels and the master alike (as the gateway's `ssl`).
    pub transport: Transport,
}

impl WriterConfig {
    /// The set holding the id of every applied write.
    pub fn ids_key(&self) -> String {
        format!("{}:ids", self.key)
    }
}

/// Everything the writer saw.
#[derive(Debug, Clone, Default)]
pub struct WriteLog {
    /// Acknowledged writes.
    pub acked: u64,
    /// The id of every acknowledged write.
    pub acked_ids: Vec<u64>,
    /// Writes that failed (error reply, refused connection, timeout, no master known).
    pub failed: u64,
    /// Largest counter value a write returned.
    pub max_value: i64,
    /// When each acknowledged write returned, and from which port.
    pub successes: Vec<(Instant, u16)>,
    /// When each failure happened.
    pub failures: Vec<Instant>,
    /// Why (the latest 50 failures).
    pub failure_reasons: Vec<String>,
}

impl WriteLog {
    /// The first acknowledged write after `after` on a port other than `not_port`.
    pub fn first_success_after(&self, after: Instant, not_port: u16) -> Option<(Instant, u16)> {
        self.successes
            .iter()
            .find(|(t, port)| *t > after && *port != not_port)
            .copied()
    }

    /// Failures in `[from, to]`.
    pub fn failures_between(&self, from: Instant, to: Instant) -> u64 {
        self.failures
            .iter()
            .filter(|t| **t >= from && **t <= to)
            .count() as u64
    }
}

/// A running writer.
#[derive(Debug)]
pub struct Writer {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<WriteLog>>,
    task: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts writing.
    pub fn start(config: WriterConfig) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(WriteLog::default()));
        let task = tokio::spawn(run(config, stop.clone(), log.clone()));
        Writer {
            stop,
            log,
            task: Some(task),
        }
    }

    /// A copy of what was seen so far.
    pub fn snapshot(&self) -> WriteLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Stops the writer and returns its log.
    pub async fn stop(mut self) -> WriteLog {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(WRITE_LIMIT * 4, task).await;
        }
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Asks the Sentinels, in order, for the master; the first address (`host`, `port`) wins.
pub async fn discover_master(config: &WriterConfig) -> Result<(String, u16), String> {
    let mut reasons = Vec::new();
    for sentinel in &config.sentinels {
        let answer = async {
            let mut c = Connection::connect_with(
                sentinel,
                config.sentinel_password.as_deref(),
                &config.transport,
                WRITE_LIMIT,
            )
            .await?;
            c.ok(&["SENTINEL", "get-master-addr-by-name", &config.master_name])
                .await
        }
        .await;
        match answer {
            Ok(reply) => match parse_master_host_port(&reply) {
                Some(addr) => return Ok(addr),
                None => reasons.push(format!("{sentinel}: {reply:?}")),
            },
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(format!(
        "no Sentinel knows the master: {}",
        reasons.join("; ")
    ))
}

async fn run(config: WriterConfig, stop: Arc<AtomicBool>, log: Arc<Mutex<WriteLog>>) {
    let started = Instant::now();
    let mut connection: Option<(Connection, u16)> = None;
    let ids_key = config.ids_key();
    let mut next_id: u64 = 0;
    while !stop.load(Ordering::SeqCst) && started.elapsed() < config.max_duration {
        if connection.is_none() {
            let attempt = async {
                let (host, port) = discover_master(&config).await?;
                let c = Connection::connect_with(
                    &format!("{host}:{port}"),
                    Some(&config.password),
                    &config.transport,
                    config.command_limit,
                )
                .await
                .map_err(|e| e.to_string())?;
                Ok::<_, String>((c, port))
            }
            .await;
            match attempt {
                Ok(c) => connection = Some(c),
                Err(reason) => {
                    record_failure(&log, reason);
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            }
        }
        let Some((c, port)) = connection.as_mut() else {
            continue;
        };
        let port = *port;
        next_id += 1;
        let id = next_id.to_string();
        let write: [&[&str]; 2] = [&["INCR", &config.key], &["SADD", &ids_key, &id]];
        match c.transaction(&write).await {
            Ok(Reply::Array(Some(replies)))
                if matches!(replies.first(), Some(Reply::Integer(_))) =>
            {
                if let Ok(mut l) = log.lock() {
                    l.acked += 1;
                    l.acked_ids.push(next_id);
                    if let Some(Reply::Integer(value)) = replies.first() {
                        l.max_value = l.max_value.max(*value);
                    }
                    l.successes.push((Instant::now(), port));
                }
                tokio::time::sleep(WRITE_PACE).await;
            }
            other => {
                record_failure(&log, format!("write {id} on {port}: {other:?}"));
                connection = None;
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

fn record_failure(log: &Mutex<WriteLog>, reason: String) {
    if let Ok(mut l) = log.lock() {
        l.failed += 1;
        l.failures.push(Instant::now());
        // The latest 50: failure messages show what happened last.
        if l.failure_reasons.len() >= 50 {
            l.failure_reasons.remove(0);
        }
        l.failure_reasons.push(reason);
    }
}
