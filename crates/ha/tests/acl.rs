//! The ACL users on real processes: the group started from the rendered config with the gateway's
//! restricted `default` user converges and fails over, and a client shaped like the gateway
//! (`HELLO 3 AUTH default`, Sentinel discovery with the three SENTINEL subcommands, `SCRIPT LOAD` +
//! `EVALSHA` of a rate-limit script calling only the recorded inner commands) keeps counting across
//! the failover with no acknowledged write lost, while everything else is refused.

mod common;

use std::time::{Duration, Instant};

use gatehouse_ha::cluster::{
    Cluster, POLL, Role, TEST_PASSWORD, parse_master_host_port, restricted_deployment,
};
use gatehouse_ha::pods::secret_value;
use gatehouse_ha::resp::{Connection, Reply};
use gatehouse_model::acl::gateway_commands::{self, Target};
use gatehouse_model::acl::{OPERATOR_USER, Side};

const LIMIT: Duration = Duration::from_secs(2);

/// gatehouse's own rate-limit script (not the gateway's): it counts `KEYS[1]` up by the weight the
/// way the gateway's scripts do and calls only the commands recorded for the line's scripts.
/// Before 4.12 the weight is `KEYS[2]` (numkeys 2), from 4.12 `ARGV[1]`.
const SCRIPT: &str = "local weight = tonumber(KEYS[2] or ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'limit') == 0 then
  redis.call('HMSET', KEYS[1], 'limit', 1000000, 'reset', 32503680000000)
  redis.call('PEXPIREAT', KEYS[1], 32503680000000)
end
redis.call('HINCRBY', KEYS[1], 'counter', weight)
return redis.call('HMGET', KEYS[1], 'counter', 'limit')";

/// The commands `SCRIPT` calls.
fn script_commands() -> Vec<String> {
    SCRIPT
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

/// A connection that logs in the way the gateway does: `HELLO 3 AUTH default <password>`; `None`
/// when nothing answers at `addr` (yet). A refused login fails the test.
async fn gateway_connection(addr: &str) -> Option<Connection> {
    let mut c = Connection::connect(addr, LIMIT).await.ok()?;
    let hello = c
        .command(&["HELLO", "3", "AUTH", "default", TEST_PASSWORD])
        .await
        .ok()?;
    // A RESP3 map is the success answer (the harness reads RESP2 shapes only).
    match &hello {
        Reply::Error(e) => assert!(
            e.starts_with("unexpected RESP3 reply"),
            "HELLO refused: {e}"
        ),
        other => panic!("HELLO answered {other:?}"),
    }
    Some(c)
}

/// The gateway's discovery on one Sentinel: the three subcommands, the master's address from
/// `GET-MASTER-ADDR-BY-NAME`.
async fn discover(cluster: &Cluster, master_name: &str) -> Option<String> {
    for sentinel in &cluster.sentinels {
        let Ok(Some(mut c)) =
            tokio::time::timeout(LIMIT, gateway_connection(&sentinel.addr())).await
        else {
            continue;
        };
        let sentinels = c
            .command(&["SENTINEL", "SENTINELS", master_name])
            .await
            .ok()?;
        assert!(
            matches!(sentinels, Reply::Array(_)),
            "SENTINEL SENTINELS: {sentinels:?}"
        );
        let master = c
            .command(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_name])
            .await
            .ok()?;
        let slaves = c.command(&["SENTINEL", "SLAVES", master_name]).await.ok()?;
        assert!(
            matches!(slaves, Reply::Array(_)),
            "SENTINEL SLAVES: {slaves:?}"
        );
        if let Some((host, port)) = parse_master_host_port(&master) {
            return Some(format!("{host}:{port}"));
        }
    }
    None
}

/// How many replicas each Sentinel lists (`SENTINEL SLAVES`, asked as the gateway).
async fn known_replicas(cluster: &Cluster, master_name: &str) -> Vec<usize> {
    let mut counts = Vec::new();
    for sentinel in &cluster.sentinels {
        let mut count = 0;
        if let Ok(Some(mut c)) =
            tokio::time::timeout(LIMIT, gateway_connection(&sentinel.addr())).await
            && let Ok(Reply::Array(Some(replicas))) =
                c.command(&["SENTINEL", "SLAVES", master_name]).await
        {
            count = replicas.len();
        }
        counts.push(count);
    }
    counts
}

/// One rate-limit call the way the gateway makes it: `EVALSHA sha numkeys ratelimit:<key> ...`.
async fn rate_limit(c: &mut Connection, sha: &str, numkeys: usize) -> Reply {
    let args: Vec<&str> = if numkeys == 2 {
        vec!["EVALSHA", sha, "2", "ratelimit:acl-test", "1"]
    } else {
        vec!["EVALSHA", sha, "1", "ratelimit:acl-test", "1"]
    };
    c.command(&args)
        .await
        .unwrap_or_else(|e| Reply::Error(e.to_string()))
}

fn counter(reply: &Reply) -> Option<i64> {
    match reply {
        Reply::Array(Some(items)) => items.first()?.as_text()?.parse().ok(),
        _ => None,
    }
}

fn refused(reply: &Reply) -> bool {
    matches!(reply, Reply::Error(e) if e.contains("NOPERM") || e.contains("no permissions") || e.contains("not allowed"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_user_keeps_rate_limiting_across_a_failover_and_is_refused_everything_else() {
    if !common::redis_available() {
        return;
    }
    let d = restricted_deployment();
    let line = gatehouse_model::acl::chart_line(&d.gateway.version);
    // The test script calls exactly the commands recorded for the line's scripts.
    let recorded: Vec<String> = gateway_commands::commands_on(line, Target::Script)
        .filter_map(|c| c.acl)
        .map(str::to_string)
        .collect();
    for command in script_commands() {
        assert!(
            recorded.contains(&command),
            "{command} is not recorded for {line}: {recorded:?}"
        );
    }
    let numkeys = gateway_commands::rate_limit_numkeys(line);
    let master_name = d.redis.master_name.clone();
    assert!(d.gateway_acl_rules(Side::DataNode).contains("~ratelimit:*"));

    let mut cluster = Cluster::prepare(d, TEST_PASSWORD).expect("prepare");
    for i in 0..cluster.sentinels.len() {
        cluster
            .start_pod(Role::Sentinel, i)
            .expect("start sentinel");
    }
    for i in 0..cluster.data.len() {
        cluster.start_pod(Role::Data, i).expect("start data node");
    }
    let operator_password = secret_value(TEST_PASSWORD, "OPERATOR_PASSWORD");

    // Converged: every replica's link up, seen by the operator user.
    let deadline = Instant::now() + Duration::from_secs(60);
    let master = loop {
        assert!(
            Instant::now() < deadline,
            "no convergence:\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(POLL).await;
        let Some(master) = discover(&cluster, &master_name).await else {
            continue;
        };
        let mut up = 0;
        for node in &cluster.data {
            let Ok(mut c) = Connection::connect_user(
                &node.addr(),
                Some(OPERATOR_USER),
                Some(&operator_password),
                LIMIT,
            )
            .await
            else {
                continue;
            };
            if let Ok(Reply::Bulk(Some(info))) = c.command(&["INFO", "replication"]).await
                && String::from_utf8_lossy(&info).contains("master_link_status:up")
            {
                up += 1;
            }
        }
        // And every Sentinel knows every replica (Sentinel reconfigures only replicas it has seen).
        if up == cluster.data.len() - 1
            && known_replicas(&cluster, &master_name).await == vec![up; cluster.sentinels.len()]
        {
            break master;
        }
    };

    let mut c = gateway_connection(&master)
        .await
        .expect("the master answers");
    let sha = c
        .command(&["SCRIPT", "LOAD", SCRIPT])
        .await
        .expect("SCRIPT LOAD")
        .as_text()
        .expect("a sha");
    let mut acked = 0;
    for _ in 0..50 {
        let reply = rate_limit(&mut c, &sha, numkeys).await;
        acked += 1;
        assert_eq!(counter(&reply), Some(acked), "{reply:?}");
    }

    // Everything else is refused to the gateway's user, on the master and on a Sentinel.
    for command in [
        vec!["FLUSHALL"],
        vec!["CONFIG", "SET", "maxmemory", "1"],
        vec!["KEYS", "*"],
        vec!["DEBUG", "SLEEP", "0"],
        vec!["SHUTDOWN", "NOSAVE"],
        vec!["HGET", "other:key", "counter"],
        vec!["EVALSHA", &sha, "1", "other:key", "1"],
        vec!["GET", "ratelimit:acl-test"],
    ] {
        let reply = c.command(&command).await.expect("an answer");
        assert!(refused(&reply), "{command:?} answered {reply:?}");
    }
    let mut s = gateway_connection(&cluster.sentinels[0].addr())
        .await
        .expect("a Sentinel answers");
    for command in [
        vec!["SENTINEL", "FAILOVER", master_name.as_str()],
        vec!["SENTINEL", "SET", master_name.as_str(), "quorum", "1"],
        vec!["SENTINEL", "REMOVE", master_name.as_str()],
    ] {
        let reply = s.command(&command).await.expect("an answer");
        assert!(refused(&reply), "{command:?} answered {reply:?}");
    }

    // SIGKILL the master; the gateway-shaped client rediscovers, loads its script again and counts on.
    let port: u16 = master.rsplit(':').next().unwrap().parse().unwrap();
    let old = cluster.data_index(port).expect("a data node");
    cluster.kill_pod(Role::Data, old).await.expect("kill");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    let value = loop {
        assert!(
            Instant::now() < deadline,
            "no failover (last answer: {last}):\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(POLL).await;
        let Some(next) = discover(&cluster, &master_name).await else {
            continue;
        };
        if next == master {
            continue;
        }
        let Ok(Some(mut c)) = tokio::time::timeout(LIMIT, gateway_connection(&next)).await else {
            continue;
        };
        let Ok(reply) = c.command(&["SCRIPT", "LOAD", SCRIPT]).await else {
            continue;
        };
        let Some(sha) = reply.as_text() else { continue };
        let reply = rate_limit(&mut c, &sha, numkeys).await;
        last = format!("{next}: {reply:?}");
        if let Some(value) = counter(&reply) {
            break value;
        }
    };
    // 0 acknowledged writes lost: the new master continues from the last acknowledged count.
    assert_eq!(
        value,
        acked + 1,
        "acknowledged writes lost across the failover"
    );

    // The old master rejoins as a replica, its replication user let in by the new master.
    cluster
        .start_pod(Role::Data, old)
        .expect("restart the old master");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the old master did not rejoin:\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(POLL).await;
        let Ok(mut c) = Connection::connect_user(
            &cluster.data[old].addr(),
            Some(OPERATOR_USER),
            Some(&operator_password),
            LIMIT,
        )
        .await
        else {
            continue;
        };
        if let Ok(Reply::Bulk(Some(info))) = c.command(&["INFO", "replication"]).await {
            let info = String::from_utf8_lossy(&info);
            if info.contains("role:slave") && info.contains("master_link_status:up") {
                break;
            }
        }
    }
}
