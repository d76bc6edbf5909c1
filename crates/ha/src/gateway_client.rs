//! The one client shaped like the gateway's rate limiter. It replays, for one chart line, exactly
//! the sequence recorded in `gatehouse_model::acl::gateway_commands` (the table the rendered
//! `default` rules come from):
//!
//! - on one Sentinel: `HELLO 3 AUTH default <password>` (no `AUTH` without a password), then the
//!   line's `SENTINEL` subcommands in the table's order (`SENTINELS`, `GET-MASTER-ADDR-BY-NAME`,
//!   `SLAVES`); the connection is then closed;
//! - on the master: `HELLO 3 AUTH default <password>`, `SCRIPT LOAD` once, then `EVALSHA` per
//!   call on a `ratelimit:*` key in the line's key shape (numkeys 2 with the weight as `KEYS[2]`
//!   before 4.12, numkeys 1 with the weight in `ARGV` from 4.12), and on 4.12 `EVAL` with the
//!   script's source after a `NOSCRIPT` reply.
//!
//! TLS when the rendered pods speak it (the gateway's `ssl`, for the Sentinels and the master
//! alike). On any failure it forgets the master connection and discovers again, as the gateway
//! does after a failover. The script is ours (not the gateway's) and calls only the commands
//! recorded for the line's scripts ([`script_commands`]; a test holds them to the table).

use std::time::Duration;

use gatehouse_model::acl::gateway_commands::{self, Target};

use crate::cluster::{Cluster, parse_master_host_port};
use crate::resp::{Connection, Reply, Transport};

/// gatehouse's rate-limit script: counts `KEYS[1]` up by the weight (`KEYS[2]` before 4.12,
/// `ARGV[1]` from 4.12) the way the gateway's scripts do, calling only recorded commands; returns
/// `[counter, limit]`.
pub const RATE_LIMIT_SCRIPT: &str = "local weight = tonumber(KEYS[2] or ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'limit') == 0 then
  redis.call('HMSET', KEYS[1], 'limit', 1000000, 'reset', 32503680000000)
  redis.call('PEXPIREAT', KEYS[1], 32503680000000)
end
redis.call('HINCRBY', KEYS[1], 'counter', weight)
return redis.call('HMGET', KEYS[1], 'counter', 'limit')";

/// The commands [`RATE_LIMIT_SCRIPT`] calls, lower case (their ACL names).
pub fn script_commands() -> Vec<String> {
    RATE_LIMIT_SCRIPT
        .split("redis.call('")
        .skip(1)
        .map(|rest| {
            rest.split('\'')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .collect()
}

/// Where and how the client connects.
#[derive(Debug, Clone)]
pub struct GatewayClientConfig {
    /// `address:port` of every Sentinel (the gateway's `sentinel.nodes`).
    pub sentinels: Vec<String>,
    /// The password (sent to the Sentinels and the master alike, as user `default`).
    pub password: Option<String>,
    /// The master group name.
    pub master_name: String,
    /// Plain TCP or TLS (the gateway's `ssl`), for the Sentinels and the master alike.
    pub transport: Transport,
    /// Time limit of one operation.
    pub limit: Duration,
    /// The chart line (`MAJOR.MINOR`) whose gateway is replayed.
    pub line: &'static str,
}

impl GatewayClientConfig {
    /// The client of `cluster`'s rendered deployment: its Sentinels, transport, the password the
    /// gateway reads (`REDIS_PASSWORD`, sent to the Sentinels only when they require one) and its
    /// gateway's chart line.
    pub fn of(cluster: &Cluster, limit: Duration) -> GatewayClientConfig {
        GatewayClientConfig {
            sentinels: cluster.sentinels.iter().map(|p| p.addr()).collect(),
            password: Some(cluster.password.clone()),
            master_name: cluster.master_name.clone(),
            transport: cluster.transport.clone(),
            limit,
            line: cluster.chart_line,
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Redis or Sentinel refused the login or a command (`WRONGPASS`, `NOAUTH`, `NOPERM`): the
    /// gateway would run without rate limiting (it fails open).
    #[error("refused: {0}")]
    Refused(String),
    /// Anything else (no master known, connection lost, a replica's `READONLY`): the gateway
    /// retries.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl GatewayError {
    fn of(context: &str, text: String) -> GatewayError {
        let refusal = [
            "WRONGPASS",
            "NOAUTH",
            "NOPERM",
            "no permissions",
            "not allowed",
        ];
        if refusal.iter().any(|r| text.contains(r)) {
            GatewayError::Refused(format!("{context}: {text}"))
        } else {
            GatewayError::Unavailable(format!("{context}: {text}"))
        }
    }
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

    /// The client as a restarted gateway pod: it logs in with `password` from now on (the
    /// Secret's value when it started), over new connections.
    pub fn restart_with_password(&mut self, password: Option<String>) {
        self.config.password = password;
        self.master = None;
    }

    /// A connection to `addr` logged in as the gateway logs in: `HELLO 3 AUTH default <password>`
    /// (`HELLO 3` without a password).
    pub async fn login(&self, addr: &str) -> Result<Connection, GatewayError> {
        let mut c = Connection::connect_user_with(
            addr,
            None,
            None,
            &self.config.transport,
            self.config.limit,
        )
        .await
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let mut hello = vec!["HELLO", "3"];
        if let Some(password) = &self.config.password {
            hello.extend(["AUTH", "default", password.as_str()]);
        }
        match c.command(&hello).await {
            // A RESP3 map is the success answer (the harness reads RESP2 shapes only).
            Ok(Reply::Error(e)) if e.starts_with("unexpected RESP3 reply") => Ok(c),
            Ok(Reply::Error(e)) => Err(GatewayError::of(&format!("HELLO on {addr}"), e)),
            Ok(other) => Err(GatewayError::Unavailable(format!(
                "HELLO on {addr} answered {other:?}"
            ))),
            Err(e) => Err(GatewayError::of(&format!("HELLO on {addr}"), e.to_string())),
        }
    }

    /// The line's Sentinel discovery on one logged-in connection: each recorded `SENTINEL`
    /// subcommand in order; the master's `address:port` from `GET-MASTER-ADDR-BY-NAME`.
    async fn discover_on(&self, c: &mut Connection) -> Result<String, GatewayError> {
        let name = self.config.master_name.as_str();
        let mut master = None;
        for command in gateway_commands::commands_on(self.config.line, Target::Sentinel) {
            if command.acl.is_none() {
                continue; // HELLO, sent by `login`
            }
            let mut args: Vec<&str> = command.sent.split_whitespace().collect();
            args.push(name);
            let reply = c
                .command(&args)
                .await
                .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
            match &reply {
                Reply::Error(e) => return Err(GatewayError::of(command.sent, e.clone())),
                Reply::Array(_) if command.sent.ends_with("GET-MASTER-ADDR-BY-NAME") => {
                    master = parse_master_host_port(&reply).map(|(h, p)| format!("{h}:{p}"));
                }
                Reply::Array(_) => {}
                other => {
                    return Err(GatewayError::Unavailable(format!(
                        "{} answered {other:?}",
                        command.sent
                    )));
                }
            }
        }
        master.ok_or_else(|| GatewayError::Unavailable(format!("no master named {name}")))
    }

    /// The master address the Sentinels report, asked as the gateway asks; the first Sentinel
    /// that answers wins. A refusal by any Sentinel is returned as such.
    pub async fn discover(&self) -> Result<String, GatewayError> {
        let mut reasons = Vec::new();
        for sentinel in &self.config.sentinels {
            let answer = async {
                let mut c = self.login(sentinel).await?;
                self.discover_on(&mut c).await
            }
            .await;
            match answer {
                Ok(master) => return Ok(master),
                Err(refused @ GatewayError::Refused(_)) => return Err(refused),
                Err(e) => reasons.push(format!("{sentinel}: {e}")),
            }
        }
        Err(GatewayError::Unavailable(format!(
            "no Sentinel named the master: {}",
            reasons.join("; ")
        )))
    }

    /// The `EVALSHA`/`EVAL` arguments after the script (sha or source): numkeys, the key and the
    /// weight 1 in the line's shape.
    fn call_args<'a>(&self, key: &'a str) -> Vec<&'a str> {
        match gateway_commands::rate_limit_numkeys(self.config.line) {
            2 => vec!["2", key, "1"],
            _ => vec!["1", key, "1"],
        }
    }

    /// One rate-limit call on `key` (a `ratelimit:*` key): the counter after it. Connects (and
    /// loads the script) first when needed; any failure drops the connection.
    pub async fn hit(&mut self, key: &str) -> Result<i64, GatewayError> {
        if self.master.is_none() {
            let addr = self.discover().await?;
            let mut c = self.login(&addr).await?;
            let sha = match c.command(&["SCRIPT", "LOAD", RATE_LIMIT_SCRIPT]).await {
                Ok(Reply::Error(e)) => return Err(GatewayError::of("SCRIPT LOAD", e)),
                Ok(reply) => reply.as_text().ok_or_else(|| {
                    GatewayError::Unavailable(format!("SCRIPT LOAD answered {reply:?}"))
                })?,
                Err(e) => return Err(GatewayError::Unavailable(e.to_string())),
            };
            self.master = Some((c, sha));
        }
        let args = self.call_args(key);
        let eval_fallback = gateway_commands::commands_on(self.config.line, Target::DataNode)
            .any(|c| c.sent == "EVAL");
        let Some((c, sha)) = self.master.as_mut() else {
            return Err(GatewayError::Unavailable("no master connection".into()));
        };
        let mut evalsha = vec!["EVALSHA", sha.as_str()];
        evalsha.extend(&args);
        let mut reply = c.command(&evalsha).await;
        if eval_fallback && matches!(&reply, Ok(Reply::Error(e)) if e.starts_with("NOSCRIPT")) {
            let mut eval = vec!["EVAL", RATE_LIMIT_SCRIPT];
            eval.extend(&args);
            reply = c.command(&eval).await;
        }
        let failure = match reply {
            Ok(Reply::Array(Some(items))) => {
                match items
                    .first()
                    .and_then(Reply::as_text)
                    .and_then(|t| t.parse().ok())
                {
                    Some(count) => return Ok(count),
                    None => GatewayError::Unavailable(format!("EVALSHA on {key}: {items:?}")),
                }
            }
            Ok(Reply::Error(e)) => GatewayError::of(&format!("EVALSHA on {key}"), e),
            Ok(other) => GatewayError::Unavailable(format!("EVALSHA on {key}: {other:?}")),
            Err(e) => GatewayError::Unavailable(format!("EVALSHA on {key}: {e}")),
        };
        self.master = None;
        Err(failure)
    }

    /// Sends `args` as one command on a gateway-style login to `addr` (the refusal tests).
    pub async fn command_on(&self, addr: &str, args: &[&str]) -> Result<Reply, GatewayError> {
        let mut c = self.login(addr).await?;
        c.command(args)
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))
    }

    /// How many replicas `sentinel` lists (`SENTINEL SLAVES`, asked as the gateway asks).
    pub async fn known_replicas(&self, sentinel: &str) -> Result<usize, GatewayError> {
        match self
            .command_on(sentinel, &["SENTINEL", "SLAVES", &self.config.master_name])
            .await?
        {
            Reply::Array(Some(replicas)) => Ok(replicas.len()),
            Reply::Error(e) => Err(GatewayError::of("SENTINEL SLAVES", e)),
            other => Err(GatewayError::Unavailable(format!(
                "SENTINEL SLAVES answered {other:?}"
            ))),
        }
    }
}
