//! What `status` runs inside the pods (redis-cli as the operator user, every value from the
//! container's own environment) and how their answers are read: pure, tested on recorded
//! answers here and on real processes in gatehouse-ha.

use super::{LastFailover, ReplicaLag};

/// What one Sentinel says of the master it monitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentinelFacts {
    /// Milliseconds since the master's role last changed as this Sentinel saw it: since its
    /// switch to this master, or since it started monitoring.
    pub master_for_ms: u64,
    /// The master's configuration epoch.
    pub config_epoch: u64,
    /// The Sentinel's uptime in seconds.
    pub uptime_seconds: u64,
}

/// A master younger than the Sentinel's uptime by more than this was switched to while the
/// Sentinel ran (a Sentinel creates the master's entry when it loads its config, at start).
const STARTED_WITH_IT_SECONDS: u64 = 5;

/// The last failover the answering Sentinels saw: the switch seen by the longest-running
/// Sentinel that saw one, or none (with the oldest uptime) when each started after it.
pub fn last_failover(facts: &[(String, SentinelFacts)]) -> Option<LastFailover> {
    let oldest = facts.iter().max_by_key(|(_, f)| f.uptime_seconds)?;
    let config_epoch = facts.iter().map(|(_, f)| f.config_epoch).max().unwrap_or(0);
    // Every failover raises the epoch; a role change without one (a node that started as a
    // candidate) does not count.
    let saw = facts
        .iter()
        .filter(|(_, f)| f.config_epoch > 0)
        .filter(|(_, f)| f.master_for_ms / 1000 + STARTED_WITH_IT_SECONDS < f.uptime_seconds)
        .max_by_key(|(_, f)| f.uptime_seconds);
    Some(match saw {
        Some((pod, f)) => LastFailover {
            seconds_ago: Some(f.master_for_ms / 1000),
            seen_by: pod.clone(),
            oldest_sentinel_uptime: oldest.1.uptime_seconds,
            config_epoch,
        },
        None => LastFailover {
            seconds_ago: None,
            seen_by: oldest.0.clone(),
            oldest_sentinel_uptime: oldest.1.uptime_seconds,
            config_epoch,
        },
    })
}

/// The shell command run in a Sentinel container: every value from the container's own
/// environment (`SENTINEL_PORT`, `MASTER_NAME`, `OPERATOR_USER`, `OPERATOR_PASSWORD`, and with TLS
/// `REDIS_TLS` and the `TLS_*_FILE` paths of the mounted Secret), logged in as the operator user,
/// the password passed to redis-cli through `REDISCLI_AUTH`, never on a command line. `LOCAL_HOST`
/// (default 127.0.0.1) is the address the Sentinel listens on.
pub const ASK_MASTER_SCRIPT: &str = r#"export REDISCLI_AUTH="$OPERATOR_PASSWORD"; set --; if [ "${REDIS_TLS:-no}" = yes ]; then set -- --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"; fi; exec redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$SENTINEL_PORT" --no-raw SENTINEL get-master-addr-by-name "$MASTER_NAME""#;

/// The shell command run in a Sentinel container after [`ASK_MASTER_SCRIPT`], with the same
/// environment and login: `SENTINEL MASTER` (its fields one per line) and `INFO server`.
pub const SENTINEL_FACTS_SCRIPT: &str = r#"export REDISCLI_AUTH="$OPERATOR_PASSWORD"; set --; if [ "${REDIS_TLS:-no}" = yes ]; then set -- --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"; fi; redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$SENTINEL_PORT" --raw SENTINEL MASTER "$MASTER_NAME" && exec redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$SENTINEL_PORT" --raw INFO server"#;

/// The shell command run in the master's data container: `INFO replication` as the operator user,
/// from the container's own environment (`REDIS_PORT` and the variables of [`ASK_MASTER_SCRIPT`]).
pub const REPLICATION_SCRIPT: &str = r#"export REDISCLI_AUTH="$OPERATOR_PASSWORD"; set --; if [ "${REDIS_TLS:-no}" = yes ]; then set -- --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"; fi; exec redis-cli "$@" --no-auth-warning --user "$OPERATOR_USER" -h "${LOCAL_HOST:-127.0.0.1}" -p "$REDIS_PORT" --raw INFO replication"#;

/// Parses [`SENTINEL_FACTS_SCRIPT`]'s output: `SENTINEL MASTER`'s fields as alternating name and
/// value lines, then `INFO server`'s `name:value` lines.
pub fn parse_sentinel_facts(text: &str) -> Result<SentinelFacts, String> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let field = |name: &str| -> Result<u64, String> {
        lines
            .windows(2)
            .find(|w| w[0] == name)
            .and_then(|w| w[1].parse().ok())
            .ok_or_else(|| format!("the Sentinel's answer has no `{name}`"))
    };
    let uptime = lines
        .iter()
        .find_map(|l| l.strip_prefix("uptime_in_seconds:"))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| "the Sentinel's answer has no uptime".to_string())?;
    Ok(SentinelFacts {
        master_for_ms: field("role-reported-time")?,
        config_epoch: field("config-epoch")?,
        uptime_seconds: uptime,
    })
}

/// Parses [`REPLICATION_SCRIPT`]'s output (`INFO replication` of a master):
///
/// ```text
/// role:master
/// connected_slaves:1
/// slave0:ip=redis-data-1.redis-data.apim.svc,port=6379,state=online,offset=1290,lag=0
/// master_repl_offset:1304
/// ```
pub fn parse_replication(text: &str) -> Result<Vec<ReplicaLag>, String> {
    let value = |name: &str| {
        text.lines().find_map(|l| {
            l.trim_end_matches('\r')
                .strip_prefix(name)?
                .strip_prefix(':')
        })
    };
    match value("role") {
        Some("master") => {}
        Some(other) => return Err(format!("the pod reports the role {other}, not master")),
        None => {
            return Err(format!(
                "unexpected answer from redis-cli: {}",
                text.lines().next().unwrap_or("(empty)")
            ));
        }
    }
    let master_offset: u64 = value("master_repl_offset")
        .and_then(|v| v.parse().ok())
        .ok_or("the answer has no master_repl_offset")?;
    let mut replicas = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        let Some((key, fields)) = line.split_once(':') else {
            continue;
        };
        if !key.starts_with("slave") || !key[5..].chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let get = |name: &str| {
            fields
                .split(',')
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or_default()
        };
        let offset: u64 = get("offset").parse().unwrap_or(0);
        replicas.push(ReplicaLag {
            replica: format!("{}:{}", get("ip"), get("port")),
            state: get("state").to_owned(),
            bytes_behind: master_offset.saturating_sub(offset),
            seconds_since_ack: get("lag").parse().unwrap_or(0),
        });
    }
    Ok(replicas)
}

/// Parses redis-cli's `--no-raw` answer to `SENTINEL get-master-addr-by-name`:
///
/// ```text
/// 1) "redis-data-1.redis-data.apim.svc.cluster.local"
/// 2) "6379"
/// ```
pub fn parse_master(answer: &str) -> Result<String, String> {
    let fields: Vec<&str> = answer
        .lines()
        .filter_map(|l| l.split_once(") ").map(|(_, v)| v.trim().trim_matches('"')))
        .collect();
    match fields.as_slice() {
        [host, port] => Ok(format!("{host}:{port}")),
        _ if answer.contains("(nil)") => Err("the Sentinel knows no such master".into()),
        _ => Err(format!(
            "unexpected answer from redis-cli: {}",
            answer.lines().next().unwrap_or("(empty)")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{
        SentinelFacts, last_failover, parse_master, parse_replication, parse_sentinel_facts,
    };

    #[test]
    fn replication_lag_is_the_master_offset_minus_each_replica_offset() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
            slave0:ip=redis-data-1.redis-data.apim.svc,port=6379,state=online,offset=1290,lag=0\r\n\
            slave1:ip=redis-data-2.redis-data.apim.svc,port=6379,state=wait_bgsave,offset=0,lag=7\r\n\
            master_failover_state:no-failover\r\nmaster_repl_offset:1304\r\nslave_read_only:1\r\n";
        let replicas = parse_replication(info).unwrap();
        assert_eq!(replicas.len(), 2, "{replicas:?}");
        assert_eq!(replicas[0].replica, "redis-data-1.redis-data.apim.svc:6379");
        assert_eq!(
            (replicas[0].bytes_behind, replicas[0].seconds_since_ack),
            (14, 0)
        );
        assert_eq!(
            (
                replicas[1].state.as_str(),
                replicas[1].bytes_behind,
                replicas[1].seconds_since_ack
            ),
            ("wait_bgsave", 1304, 7)
        );
        assert!(
            parse_replication("role:slave\nmaster_repl_offset:3\n")
                .unwrap_err()
                .contains("role slave")
        );
        assert!(parse_replication("NOPERM this user has no permissions").is_err());
    }

    #[test]
    fn sentinel_facts_and_the_last_failover_they_date() {
        let text = "name\nmymaster\nrole-reported-time\n42000\nconfig-epoch\n3\n\
            # Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:600\r\n";
        let facts = parse_sentinel_facts(text).unwrap();
        assert_eq!(
            facts,
            SentinelFacts {
                master_for_ms: 42_000,
                config_epoch: 3,
                uptime_seconds: 600
            }
        );
        assert!(parse_sentinel_facts("uptime_in_seconds:1\n").is_err());
        let started_after = SentinelFacts {
            master_for_ms: 99_000,
            config_epoch: 3,
            uptime_seconds: 100,
        };
        // One Sentinel ran through the switch 42 s ago; another started after it.
        let last = last_failover(&[
            ("sentinel-0".into(), started_after),
            ("sentinel-1".into(), facts),
        ])
        .unwrap();
        assert_eq!(
            (last.seconds_ago, last.seen_by.as_str(), last.config_epoch),
            (Some(42), "sentinel-1", 3)
        );
        // Every Sentinel started with the current master: no failover seen.
        let last = last_failover(&[("sentinel-0".into(), started_after)]).unwrap();
        assert_eq!((last.seconds_ago, last.oldest_sentinel_uptime), (None, 100));
        assert_eq!(last_failover(&[]), None);
        // A master whose role changed while the Sentinel ran, at epoch 0: no failover.
        let candidate = SentinelFacts {
            config_epoch: 0,
            ..facts
        };
        let last = last_failover(&[("sentinel-0".into(), candidate)]).unwrap();
        assert_eq!((last.seconds_ago, last.config_epoch), (None, 0));
    }

    #[test]
    fn parses_the_master_address_or_says_why_not() {
        assert_eq!(
            parse_master("1) \"redis-data-1.redis-data.apim.svc\"\n2) \"6379\"\n"),
            Ok("redis-data-1.redis-data.apim.svc:6379".to_string())
        );
        assert!(
            parse_master("(nil)\n")
                .unwrap_err()
                .contains("no such master")
        );
        assert!(parse_master("").is_err());
    }
}
