//! The ACL users on real processes: the group started from the rendered config with the gateway's
//! restricted `default` user converges and fails over, and a client shaped like the gateway
//! (`HELLO 3 AUTH default`, Sentinel discovery with the three SENTINEL subcommands, `SCRIPT LOAD` +
//! `EVALSHA` of a rate-limit script calling only the recorded inner commands) keeps counting across
//! the failover with no acknowledged write lost, while everything else is refused.

mod common;

use std::time::{Duration, Instant};

use gatehouse_ha::cluster::{Cluster, POLL, Role, TEST_PASSWORD, restricted_deployment};
use gatehouse_ha::gateway_client::{
    GatewayClient, GatewayClientConfig, RATE_LIMIT_SCRIPT, script_commands,
};
use gatehouse_ha::pods::secret_value;
use gatehouse_ha::resp::{Connection, Reply};
use gatehouse_model::acl::gateway_commands::{self, Target};
use gatehouse_model::acl::{OPERATOR_USER, Side};

const LIMIT: Duration = Duration::from_secs(2);

fn refused(reply: &Reply) -> bool {
    matches!(reply, Reply::Error(e) if e.contains("NOPERM") || e.contains("no permissions") || e.contains("not allowed"))
}

/// The group of `d` (its gateway user restricted) started from the rendered config, converged:
/// every replica's link up, seen by the operator user, and every Sentinel listing every replica to
/// the gateway-shaped client (Sentinel reconfigures only replicas it has seen). Returns the master
/// the gateway discovers.
async fn start_restricted(d: gatehouse_model::Deployment) -> (Cluster, GatewayClient, String) {
    let mut cluster = Cluster::prepare(d, TEST_PASSWORD).expect("prepare");
    cluster.start_all().expect("start every pod");
    let operator_password = secret_value(TEST_PASSWORD, "OPERATOR_PASSWORD");
    let gateway = GatewayClient::new(GatewayClientConfig::of(&cluster, LIMIT));
    let deadline = Instant::now() + Duration::from_secs(60);
    let master = loop {
        assert!(
            Instant::now() < deadline,
            "no convergence:\n{}",
            cluster.log_tails()
        );
        tokio::time::sleep(POLL).await;
        let Ok(master) = gateway.discover().await else {
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
        let mut known = Vec::new();
        for sentinel in &cluster.sentinels {
            known.push(gateway.known_replicas(&sentinel.addr()).await.ok());
        }
        if up == cluster.data.len() - 1 && known.iter().all(|k| *k == Some(up)) {
            break master;
        }
    };
    (cluster, gateway, master)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_user_keeps_rate_limiting_across_a_failover_and_is_refused_everything_else() {
    if !common::redis_available() {
        return;
    }
    let d = restricted_deployment();
    let line = gatehouse_model::acl::chart_line(&d.gateway.version);
    // The client's script calls exactly the commands recorded for the line's scripts.
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
    let master_name = d.redis.master_name.clone();
    assert!(d.gateway_acl_rules(Side::DataNode).contains("~ratelimit:*"));

    let (mut cluster, mut gateway, master) = start_restricted(d).await;
    assert_eq!(cluster.chart_line, line);
    let operator_password = secret_value(TEST_PASSWORD, "OPERATOR_PASSWORD");

    let key = "ratelimit:acl-test";
    let mut acked = 0;
    for _ in 0..50 {
        let count = gateway.hit(key).await.expect("rate limit call");
        acked += 1;
        assert_eq!(count, acked);
    }

    // Everything else is refused to the gateway's user, on the master and on a Sentinel.
    let sha = gateway
        .command_on(&master, &["SCRIPT", "LOAD", RATE_LIMIT_SCRIPT])
        .await
        .expect("SCRIPT LOAD")
        .as_text()
        .expect("a sha");
    for command in [
        vec!["FLUSHALL"],
        vec!["CONFIG", "SET", "maxmemory", "1"],
        vec!["KEYS", "*"],
        vec!["DEBUG", "SLEEP", "0"],
        vec!["SHUTDOWN", "NOSAVE"],
        vec!["HGET", "other:key", "counter"],
        vec!["EVALSHA", &sha, "1", "other:key", "1"],
        vec!["GET", key],
    ] {
        let reply = gateway
            .command_on(&master, &command)
            .await
            .expect("an answer");
        assert!(refused(&reply), "{command:?} answered {reply:?}");
    }
    let sentinel = cluster.sentinels[0].addr();
    for command in [
        vec!["SENTINEL", "FAILOVER", master_name.as_str()],
        vec!["SENTINEL", "SET", master_name.as_str(), "quorum", "1"],
        vec!["SENTINEL", "REMOVE", master_name.as_str()],
    ] {
        let reply = gateway
            .command_on(&sentinel, &command)
            .await
            .expect("an answer");
        assert!(refused(&reply), "{command:?} answered {reply:?}");
    }

    // SIGKILL the master; the gateway-shaped client rediscovers, loads its script again and counts on.
    let port: u16 = master.rsplit(':').next().unwrap().parse().unwrap();
    let old = cluster.data_index(port).expect("a data node");
    cluster.kill_pod(Role::Data, old).await.expect("kill");
    let deadline = Instant::now() + Duration::from_secs(60);
    let value = loop {
        tokio::time::sleep(POLL).await;
        match gateway.hit(key).await {
            Ok(value) => break value,
            Err(e) => assert!(
                Instant::now() < deadline,
                "no failover (last answer: {e}):\n{}",
                cluster.log_tails()
            ),
        }
    };
    assert_ne!(gateway.discover().await.ok(), Some(master.clone()));
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

/// A command some user may not run: refused by the ACL (`NOPERM`), or unknown to the process
/// (Sentinel 7.0 has no `FLUSHALL`, `CONFIG`, `KEYS`): either way it did not run.
fn did_not_run(reply: &Reply) -> bool {
    refused(reply) || matches!(reply, Reply::Error(e) if e.contains("unknown command"))
}

/// Each named user on real processes: it logs in with its own password, does its job, and is
/// refused what issue 23 lists (`FLUSHALL`, `CONFIG SET`, `KEYS *`, `DEBUG`, `SHUTDOWN`, keys, and
/// on Sentinels `SENTINEL FAILOVER`/`SET`/`REMOVE`), except what its job is: the operator's
/// `CONFIG SET` on data nodes (TLS reloads) and `SENTINEL FAILOVER` (the pre-stop hand-over).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_named_user_does_its_job_and_is_refused_the_rest() {
    use gatehouse_model::acl::{
        EXPORTER_USER, NAMED_USERS, REPLICATION_USER, SENTINEL_PEER_USER, SENTINEL_USER,
    };
    if !common::redis_available() {
        return;
    }
    // With metrics on, so the exporter's user exists too.
    let d = restricted_deployment().with_metrics(true);
    let master_name = d.redis.master_name.clone();
    let (cluster, _gateway, master) = start_restricted(d).await;
    let (master_host, master_port) = master.rsplit_once(':').expect("host:port");
    let sentinel = cluster.sentinels[0].addr();
    let mut checked = 0;
    for user in NAMED_USERS {
        let variable = match user.user {
            REPLICATION_USER => "REPLICATION_PASSWORD",
            SENTINEL_USER => "SENTINEL_PASSWORD",
            SENTINEL_PEER_USER => "SENTINEL_PEER_PASSWORD",
            OPERATOR_USER => "OPERATOR_PASSWORD",
            EXPORTER_USER => "EXPORTER_PASSWORD",
            other => panic!("{other}: a named user this test does not know yet"),
        };
        let (addr, jobs, mut forbidden): (&str, Vec<Vec<&str>>, Vec<Vec<&str>>) = match user.side {
            Side::DataNode => (
                master.as_str(),
                match user.user {
                    REPLICATION_USER => vec![vec!["PING"], vec!["REPLCONF", "capa", "psync2"]],
                    SENTINEL_USER => vec![vec!["PING"], vec!["INFO", "replication"], vec!["ROLE"]],
                    EXPORTER_USER => vec![
                        vec!["INFO", "replication"],
                        vec!["SLOWLOG", "LEN"],
                        vec!["LATENCY", "LATEST"],
                    ],
                    _ => vec![
                        vec!["PING"],
                        vec!["INFO", "replication"],
                        vec!["CONFIG", "GET", "maxmemory"],
                    ],
                },
                vec![
                    vec!["FLUSHALL"],
                    vec!["KEYS", "*"],
                    vec!["DEBUG", "SLEEP", "0"],
                    vec!["SHUTDOWN", "NOSAVE"],
                    vec!["GET", "ratelimit:acl-test"],
                    vec!["SET", "other:key", "1"],
                    vec!["EVAL", "return 1", "0"],
                ],
            ),
            Side::Sentinel => (
                sentinel.as_str(),
                match user.user {
                    SENTINEL_PEER_USER => vec![
                        vec!["PING"],
                        vec![
                            "SENTINEL",
                            "IS-MASTER-DOWN-BY-ADDR",
                            master_host,
                            master_port,
                            "0",
                            "*",
                        ],
                    ],
                    EXPORTER_USER => vec![
                        vec!["INFO"],
                        vec!["SENTINEL", "MASTERS"],
                        vec!["SENTINEL", "SENTINELS", master_name.as_str()],
                        vec!["SENTINEL", "SLAVES", master_name.as_str()],
                        vec!["SENTINEL", "CKQUORUM", master_name.as_str()],
                    ],
                    _ => vec![
                        vec!["PING"],
                        vec!["SENTINEL", "GET-MASTER-ADDR-BY-NAME", master_name.as_str()],
                        vec!["SENTINEL", "REPLICAS", master_name.as_str()],
                    ],
                },
                vec![
                    vec!["SENTINEL", "SET", master_name.as_str(), "quorum", "1"],
                    vec!["SENTINEL", "REMOVE", master_name.as_str()],
                    vec!["FLUSHALL"],
                    vec!["KEYS", "*"],
                    vec!["DEBUG", "SLEEP", "0"],
                    vec!["SHUTDOWN", "NOSAVE"],
                ],
            ),
        };
        if user.user == EXPORTER_USER && user.side == Side::DataNode {
            // CONFIG GET would read `masterauth`, the replication user's password.
            forbidden.push(vec!["CONFIG", "GET", "masterauth"]);
        }
        if user.user != OPERATOR_USER {
            forbidden.push(match user.side {
                Side::DataNode => vec!["CONFIG", "SET", "maxmemory", "1"],
                Side::Sentinel => vec!["SENTINEL", "FAILOVER", master_name.as_str()],
            });
        }
        let mut c = Connection::connect_user(
            addr,
            Some(user.user),
            Some(&secret_value(TEST_PASSWORD, variable)),
            LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("{} logs in on {addr}: {e}", user.user));
        for job in &jobs {
            let reply = c.command(job).await.expect("an answer");
            assert!(
                !matches!(reply, Reply::Error(_)),
                "{} {:?}: {job:?} answered {reply:?}",
                user.user,
                user.side
            );
        }
        for command in &forbidden {
            let reply = c.command(command).await.expect("an answer");
            assert!(
                did_not_run(&reply),
                "{} {:?}: {command:?} answered {reply:?}",
                user.user,
                user.side
            );
        }
        // Its password is its own: another user's is refused.
        let other = if variable == "OPERATOR_PASSWORD" {
            "REPLICATION_PASSWORD"
        } else {
            "OPERATOR_PASSWORD"
        };
        assert!(
            Connection::connect_user(
                addr,
                Some(user.user),
                Some(&secret_value(TEST_PASSWORD, other)),
                LIMIT
            )
            .await
            .is_err(),
            "{} logs in with {other}",
            user.user
        );
        checked += 1;
    }
    assert_eq!(checked, NAMED_USERS.len());
    assert!(checked >= 5, "every named user on its side: {checked}");
}
