//! A client shaped like the gateway's rate limiter (facts: redis-tls-acl-metrics-facts.md §3.2):
//! on one Sentinel it asks `SENTINEL SENTINELS`, `SENTINEL GET-MASTER-ADDR-BY-NAME` and
//! `SENTINEL SLAVES`, closes that connection and dials the master with the same scheme and
//! password; on the master it loads its script once (`SCRIPT LOAD`) and then calls it with
//! `EVALSHA` on a `ratelimit:*` key. On any error it forgets the connection and discovers again,
//! as the gateway does after a failover.
//!
//! The script is ours, in the shape of the gateway's: a hash per key, counted with `HINCRBY`,
//! expired with `PEXPIREAT`.

use std::time::Duration;

use crate::cluster::parse_master_host_port;
use crate::resp::{Connection, Reply, RespError, Transport};

/// The rate-limit script: counts one call in the hash at `KEYS[1]` and sets its expiry to
/// `ARGV[1]` (unix milliseconds) on the first call; returns the count.
pub const RATE_LIMIT_SCRIPT: &str = "\
local count = redis.call('HINCRBY', KEYS[1], 'counter', 1)
if count == 1 then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
return count";

/// Where and how the client connects.
#[derive(Debug, Clone)]
pub struct GatewayClientConfig {
    /// `address:port` of every Sentinel (the gateway's `sentinel.nodes`).
    pub sentinels: Vec<String>,
    /// The password (sent to the Sentinels and the master alike, facts §0.2).
    pub password: Option<String>,
    /// The master group name.
    pub master_name: String,
    /// Plain TCP or TLS (the gateway's `ssl`), for the Sentinels and the master alike.
    pub transport: Transport,
    /// Time limit of one operation.
    pub limit: Duration,
}

/// The gateway-shaped client with its current master connection and script digest.
#[derive(Debug)]
pub struct GatewayClient {
    config: GatewayClientConfig,
    master: Option<(Connection, String)>,
}

impl GatewayClient {
    /// A client that has not connected yet.
    pub fn new(config: GatewayClientConfig) -> GatewayClient {
        GatewayClient {
            config,
            master: None,
        }
    }

    /// The master address the Sentinels report, asked as the gateway asks (the three `SENTINEL`
    /// subcommands on one connection, then closed).
    pub async fn discover(&self) -> Result<String, String> {
        let mut reasons = Vec::new();
        for sentinel in &self.config.sentinels {
            let answer = async {
                let mut c = Connection::connect_with(
                    sentinel,
                    self.config.password.as_deref(),
                    &self.config.transport,
                    self.config.limit,
                )
                .await?;
                let name = self.config.master_name.as_str();
                c.ok(&["SENTINEL", "SENTINELS", name]).await?;
                let master = c.ok(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]).await?;
                c.ok(&["SENTINEL", "SLAVES", name]).await?;
                Ok::<Reply, RespError>(master)
            }
            .await;
            match answer {
                Ok(reply) => match parse_master_host_port(&reply) {
                    Some((host, port)) => return Ok(format!("{host}:{port}")),
                    None => reasons.push(format!("{sentinel}: {reply:?}")),
                },
                Err(e) => reasons.push(e.to_string()),
            }
        }
        Err(format!(
            "no Sentinel named the master: {}",
            reasons.join("; ")
        ))
    }

    /// One rate-limit call on `key` (a `ratelimit:*` key): the counter after it. Connects (and
    /// loads the script) first when needed; any failure drops the connection.
    pub async fn hit(&mut self, key: &str) -> Result<i64, String> {
        if self.master.is_none() {
            let addr = self.discover().await?;
            let mut c = Connection::connect_with(
                &addr,
                self.config.password.as_deref(),
                &self.config.transport,
                self.config.limit,
            )
            .await
            .map_err(|e| e.to_string())?;
            let sha = c
                .ok(&["SCRIPT", "LOAD", RATE_LIMIT_SCRIPT])
                .await
                .map_err(|e| e.to_string())?
                .as_text()
                .ok_or("SCRIPT LOAD answered no digest")?;
            self.master = Some((c, sha));
        }
        let Some((c, sha)) = self.master.as_mut() else {
            return Err("no master connection".into());
        };
        let expiry = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 60_000)
            .unwrap_or(0)
            .to_string();
        let sha = sha.clone();
        match c.ok(&["EVALSHA", &sha, "1", key, &expiry]).await {
            Ok(Reply::Integer(count)) => Ok(count),
            other => {
                self.master = None;
                Err(format!("EVALSHA on {key}: {other:?}"))
            }
        }
    }
}
