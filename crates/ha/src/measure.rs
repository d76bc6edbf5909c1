//! Failover measurement: kill the master under write load and see how long writes fail and how many
//! acknowledged writes are lost.

use std::time::{Duration, Instant};

use crate::HarnessError;
use crate::cluster::{Cluster, Role};
use crate::resp::Reply;
use crate::workload::{WriteLog, Writer, WriterConfig};

/// Time a failover may take beyond `down-after-milliseconds`: the other Sentinels' agreement
/// (`+odown`, about 1 s), the leader election (start desynchronised by up to 1 s), the promotion
/// (Sentinel confirms it through INFO, polled every second during a failover) and the client's
/// re-discovery, with slack for a loaded 2-core CI machine. Measured: about 2 s (see the notes).
pub const FAILOVER_MARGIN: Duration = Duration::from_secs(8);

/// Acknowledged writes one SIGKILL of the master may lose, for a client with one command in flight:
/// replication is asynchronous, so the one write whose reply left before the replication stream
/// did can be lost; the next write cannot reach the dead master.
pub const MAX_LOST_PER_FAILOVER: u64 = 1;

/// How long writes flow to the master before it is killed.
pub const WARMUP: Duration = Duration::from_millis(1_000);

/// The bound a failover must meet: `down-after-milliseconds` + [`FAILOVER_MARGIN`].
pub fn failover_bound(down_after: Duration) -> Duration {
    down_after + FAILOVER_MARGIN
}

/// One failover as the writer saw it.
#[derive(Debug, Clone)]
pub struct Failover {
    /// Data node that was killed.
    pub killed: usize,
    /// Data node the writer reached afterwards.
    pub new_master: usize,
    /// From the SIGKILL to the first acknowledged write on the new master.
    pub time: Duration,
    /// Writes that failed in that window.
    pub failed_writes: u64,
}

/// Totals at the end of a run.
#[derive(Debug, Clone)]
pub struct Totals {
    /// Acknowledged writes.
    pub acked: u64,
    /// Failed writes.
    pub failed: u64,
    /// The counter on the master at the end.
    pub final_value: i64,
    /// Acknowledged writes whose id the final master does not hold: exactly the acknowledged
    /// writes lost (a failed write that was applied anyway does not hide a lost one).
    pub lost: u64,
    /// The first few lost ids, for failure messages.
    pub lost_sample: Vec<u64>,
}

impl Cluster {
    /// The writer's view of this cluster: Sentinels in ordinal order, the test password.
    pub fn writer_config(&self, key: &str, max_duration: Duration) -> WriterConfig {
        WriterConfig {
            sentinels: self.sentinels.iter().map(|p| p.addr()).collect(),
            sentinel_password: self.sentinel_auth.then(|| self.password.clone()),
            password: self.password.clone(),
            master_name: self.master_name.clone(),
            key: key.into(),
            max_duration,
            command_limit: crate::workload::WRITE_LIMIT,
            transport: self.transport.clone(),
        }
    }

    /// The data node the running Sentinels agree is master.
    pub async fn agreed_master(&self) -> Result<usize, HarnessError> {
        let views = self.sentinel_views().await;
        let ports: Vec<Option<u16>> = views.iter().map(|v| v.master_port).collect();
        match ports.first() {
            Some(Some(port)) if ports.iter().all(|p| p == &Some(*port)) => {
                self.data_index(*port).ok_or_else(|| HarnessError::State {
                    message: format!("Sentinels report unknown port {port}"),
                })
            }
            _ => Err(HarnessError::State {
                message: format!("Sentinels do not agree on a master: {ports:?}"),
            }),
        }
    }

    /// Polls [`Cluster::agreed_master`] until the running Sentinels agree (at most `limit`): after
    /// a failover the others learn the new master from the leader's hello messages (every 2 s).
    pub async fn wait_agreed_master(&self, limit: Duration) -> Result<usize, HarnessError> {
        let deadline = Instant::now() + limit;
        loop {
            match self.agreed_master().await {
                Ok(master) => return Ok(master),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(crate::cluster::POLL).await,
            }
        }
    }

    /// Waits until `writer` has an acknowledged write on data node `node` after `after`.
    pub async fn wait_write_on(
        &self,
        writer: &Writer,
        node: usize,
        after: Instant,
        limit: Duration,
    ) -> Result<(), HarnessError> {
        let port = self.data[node].port;
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if writer
                .snapshot()
                .successes
                .iter()
                .any(|(t, p)| *t > after && *p == port)
            {
                return Ok(());
            }
            tokio::time::sleep(crate::cluster::POLL).await;
        }
        Err(HarnessError::Timeout {
            what: format!("a write on {}", self.data[node].name),
            limit,
        })
    }

    /// SIGKILLs the master while `writer` writes, then waits (at most `limit`) for the first write
    /// acknowledged by another node.
    pub async fn kill_master(
        &mut self,
        writer: &Writer,
        limit: Duration,
    ) -> Result<Failover, HarnessError> {
        let killed = self.wait_agreed_master(Duration::from_secs(10)).await?;
        self.wait_write_on(writer, killed, Instant::now(), Duration::from_secs(10))
            .await?;
        // Writes flow for a while first, so there is something to lose.
        tokio::time::sleep(WARMUP).await;
        let killed_port = self.data[killed].port;
        let t0 = Instant::now();
        self.kill_pod(Role::Data, killed).await?;
        let deadline = t0 + limit;
        loop {
            let log: WriteLog = writer.snapshot();
            if let Some((t, port)) = log.first_success_after(t0, killed_port) {
                let new_master = self.data_index(port).ok_or_else(|| HarnessError::State {
                    message: format!("a write succeeded on unknown port {port}"),
                })?;
                return Ok(Failover {
                    killed,
                    new_master,
                    time: t - t0,
                    failed_writes: log.failures_between(t0, t),
                });
            }
            if Instant::now() >= deadline {
                return Err(HarnessError::NotConverged {
                    limit,
                    last: format!(
                        "no write succeeded on a new master after killing {}; last failures: {:?}",
                        self.data[killed].name,
                        log.failure_reasons.iter().rev().take(3).collect::<Vec<_>>()
                    ),
                    logs: self.log_tails(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops `writer` and compares the ids it was told succeeded with the ids the master holds.
    pub async fn totals(&self, writer: Writer, key: &str) -> Result<Totals, HarnessError> {
        let log = writer.stop().await;
        let master = self.wait_agreed_master(Duration::from_secs(15)).await?;
        self.totals_on(master, &log, key).await
    }

    /// Compares the ids of `log` with the ids data node `node` holds.
    pub async fn totals_on(
        &self,
        node: usize,
        log: &WriteLog,
        key: &str,
    ) -> Result<Totals, HarnessError> {
        let mut c = self.data_conn(node).await.map_err(HarnessError::from)?;
        let final_value = match c.ok(&["GET", key]).await.map_err(HarnessError::from)? {
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(&b).parse().unwrap_or(0),
            _ => 0,
        };
        let held: std::collections::HashSet<u64> = match c
            .ok(&["SMEMBERS", &format!("{key}:ids")])
            .await
            .map_err(HarnessError::from)?
        {
            Reply::Array(Some(items)) => items
                .iter()
                .filter_map(|i| i.as_text()?.parse().ok())
                .collect(),
            _ => Default::default(),
        };
        let lost: Vec<u64> = log
            .acked_ids
            .iter()
            .copied()
            .filter(|id| !held.contains(id))
            .collect();
        Ok(Totals {
            acked: log.acked,
            failed: log.failed,
            final_value,
            lost: lost.len() as u64,
            lost_sample: lost.into_iter().take(10).collect(),
        })
    }
}
