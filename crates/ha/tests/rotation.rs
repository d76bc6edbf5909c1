//! Password rotation without an outage, on real processes (issue 23): every password of the group
//! (the gateway's `default`, replication, Sentinel monitoring, Sentinel peers, operator) rotates
//! at once through the three Secret writes of `gatehouse_ha::rotation::RotationStep`, each
//! followed by a rolling restart of the data pods (the master's pod handing over in its pre-stop
//! hook) and then of the Sentinels, while a tagged writer and the gateway-shaped client keep
//! writing. Promised: no login refused anywhere at any time (no process's `ACL LOG` holds a
//! failed login, which counts a replica's `masterauth`, a Sentinel's
//! `auth-pass` and `sentinel-pass`, the probes' operator login and every client), 0 acknowledged
//! writes lost, every rate-limit call after a successful one counts on; afterwards the old
//! passwords open nothing and the new ones everything, and no ACL file holds a password.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_ha::cluster::{Cluster, TEST_PASSWORD};
use gatehouse_ha::gateway_client::{GatewayClient, GatewayClientConfig, GatewayError};
use gatehouse_ha::pods::secret_value;
use gatehouse_ha::resp::{Connection, Reply};
use gatehouse_ha::rotation::{AuthMonitor, RotationStep};
use gatehouse_ha::workload::Writer;
use gatehouse_model::acl::{NAMED_USERS, OPERATOR_USER, Side};
use tokio::sync::Mutex;

const LIMIT: Duration = Duration::from_secs(2);
/// The new password: characters that need quoting in a config file and a shell, like the old.
const NEW_PASSWORD: &str = "r0tated \"pw\" $HOME 'x' \\";

/// What the gateway-shaped load saw.
#[derive(Debug, Default)]
struct GatewayLog {
    counts: Vec<i64>,
    refusals: Vec<String>,
    unavailable: Vec<String>,
}

/// Calls the rate limiter every 20 ms until `stop`.
fn gateway_load(
    client: Arc<Mutex<GatewayClient>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<GatewayLog> {
    tokio::spawn(async move {
        let mut log = GatewayLog::default();
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let result = client.lock().await.hit("ratelimit:rotation").await;
            match result {
                Ok(count) => log.counts.push(count),
                Err(GatewayError::Refused(e)) => log.refusals.push(e),
                Err(GatewayError::Unavailable(e)) => log.unavailable.push(e),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        log
    })
}

/// Whether `user` logs in to `addr` with `password`.
async fn logs_in(cluster: &Cluster, addr: &str, user: &str, password: &str) -> bool {
    let Ok(mut c) =
        Connection::connect_user_with(addr, Some(user), Some(password), &cluster.transport, LIMIT)
            .await
    else {
        return false;
    };
    matches!(c.command(&["PING"]).await, Ok(Reply::Simple(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_password_rotates_in_three_rolled_steps_under_load_without_a_refused_login() {
    let Some(mut cluster) = common::start().await else {
        return;
    };
    let monitor = AuthMonitor::start(&cluster);
    let gateway = Arc::new(Mutex::new(GatewayClient::new(GatewayClientConfig::of(
        &cluster, LIMIT,
    ))));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = gateway_load(gateway.clone(), stop.clone());
    let mut writer = Writer::start(cluster.writer_config("rotation:old", Duration::from_secs(600)));
    let mut old_writes = None;
    let started = Instant::now();

    for step in RotationStep::ALL {
        cluster.write_rotation_step(step, TEST_PASSWORD, NEW_PASSWORD);
        if step == RotationStep::Switch {
            // Clients that start from now on read the new password: the harness's own queries,
            // a new writer, the gateway (as a restarted gateway pod).
            monitor.set_password(NEW_PASSWORD);
            gateway
                .lock()
                .await
                .restart_with_password(Some(NEW_PASSWORD.to_string()));
            let new_writer =
                Writer::start(cluster.writer_config("rotation:new", Duration::from_secs(600)));
            old_writes = Some(std::mem::replace(&mut writer, new_writer).stop().await);
        }
        let rolled = cluster
            .roll_both()
            .await
            .unwrap_or_else(|e| panic!("{step:?}: the roll failed: {e}"));
        assert_eq!(rolled.len(), cluster.data.len() + cluster.sentinels.len());
        // A master's pod hands the master over before it stops (it may be handed to a pod the
        // roll reaches later, which hands it over again).
        for pod in rolled.iter().filter(|p| p.was_master) {
            assert!(
                pod.pre_stop_output.contains("master handed over"),
                "{step:?}: {pod:?}"
            );
        }
        cluster
            .wait_converged(cluster.data.len() - 1, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{step:?}: not converged after the roll: {e}"));
        eprintln!("{step:?} rolled after {:?}", started.elapsed());
    }

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let gateway_log = load.await.expect("gateway load");
    let master = cluster
        .wait_agreed_master(Duration::from_secs(15))
        .await
        .expect("one master");
    let old_log = old_writes.expect("the old writer stopped at the switch");
    let old = cluster
        .totals_on(master, &old_log, "rotation:old")
        .await
        .expect("old writer's counter");
    let new = cluster
        .totals(writer, "rotation:new")
        .await
        .expect("new writer's counter");
    let (refusals, polls) = monitor.stop().await;
    eprintln!(
        "writes {old:?} / {new:?}; gateway calls {} ok, {} unavailable; monitor polls {polls}",
        gateway_log.counts.len(),
        gateway_log.unavailable.len()
    );

    // No login refused anywhere, by anyone, during the whole rotation.
    assert!(polls > 100, "the monitor read too few answers: {polls}");
    assert!(
        refusals.is_empty(),
        "refused logins: {refusals:?}\n{}",
        cluster.log_tails()
    );
    assert!(
        gateway_log.refusals.is_empty(),
        "the gateway was refused: {:?}",
        gateway_log.refusals
    );
    // 0 acknowledged writes lost, by either writer or the rate limiter.
    assert!(old.acked > 0 && new.acked > 0, "{old:?} {new:?}");
    assert_eq!((old.lost, new.lost), (0, 0), "{old:?} {new:?}");
    assert!(gateway_log.counts.len() > 10, "{gateway_log:?}");
    for pair in gateway_log.counts.windows(2) {
        assert!(
            pair[1] > pair[0],
            "an acknowledged rate-limit call was lost: {:?}",
            gateway_log.counts
        );
    }

    // Afterwards the old passwords open nothing, the new ones everything. (The exporter's user
    // exists only with `metrics` on, which this group runs without; its password variable rotates
    // through the same `_NEXT`/`_PREVIOUS` entries as every other.)
    for (variable, user, side) in std::iter::once(("REDIS_PASSWORD", "default", None)).chain(
        NAMED_USERS
            .iter()
            .filter(|u| u.user != gatehouse_model::acl::EXPORTER_USER)
            .map(|u| (password_variable(u.user), u.user, Some(u.side))),
    ) {
        let pods = cluster
            .data
            .iter()
            .map(|p| (Side::DataNode, p))
            .chain(cluster.sentinels.iter().map(|p| (Side::Sentinel, p)));
        for (pod_side, pod) in pods {
            if side.is_some_and(|s| s != pod_side) {
                continue;
            }
            let addr = pod.addr();
            assert!(
                logs_in(&cluster, &addr, user, &secret_value(NEW_PASSWORD, variable)).await,
                "{user} with the new password on {}",
                pod.name
            );
            assert!(
                !logs_in(
                    &cluster,
                    &addr,
                    user,
                    &secret_value(TEST_PASSWORD, variable)
                )
                .await,
                "{user} with the old password on {}",
                pod.name
            );
        }
    }
    // The monitor sees refusals on every kind of process: the old passwords just tried show on
    // each data node and Sentinel.
    let check = AuthMonitor::start(&cluster);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let (seen, _) = check.stop().await;
    for pod in cluster.data.iter().chain(&cluster.sentinels) {
        assert!(
            seen.iter().any(|r| r.addr == pod.addr()),
            "the monitor misses refusals on {}: {seen:?}",
            pod.name
        );
    }

    // The ACL files hold hashes only.
    for pod in cluster.data.iter().chain(&cluster.sentinels) {
        let acl = std::fs::read_to_string(pod.dir.join("config/users.acl")).expect("users.acl");
        for (variable, _) in gatehouse_render::redis_files::PASSWORD_ENV {
            for password in [TEST_PASSWORD, NEW_PASSWORD] {
                assert!(
                    !acl.contains(&secret_value(password, variable)),
                    "{}: a password in users.acl",
                    pod.name
                );
            }
        }
        assert!(acl.contains(OPERATOR_USER), "{}: {acl}", pod.name);
    }
}

/// The password variable of a named user.
fn password_variable(user: &str) -> &'static str {
    use gatehouse_model::acl;
    match user {
        acl::REPLICATION_USER => "REPLICATION_PASSWORD",
        acl::SENTINEL_USER => "SENTINEL_PASSWORD",
        acl::SENTINEL_PEER_USER => "SENTINEL_PEER_PASSWORD",
        _ => "OPERATOR_PASSWORD",
    }
}

/// The proof above writes the three Secret states into the pods' environment, so it holds for
/// every source whose Secret goes through them: a generated password (`deploy --rotate`) reaches
/// the pods exactly as an `env` one does (same Secret, same keys, same pod templates), and
/// gatehouse-apply's tests check that deploy writes the same three states for both.
#[test]
fn a_generated_password_reaches_the_pods_exactly_as_an_env_one() {
    use gatehouse_ha::pods::RenderedRedis;
    use gatehouse_model::SecretSource;
    let pods = |source: SecretSource| {
        let mut d = gatehouse_ha::cluster::test_deployment();
        for password in [
            &mut d.redis.password,
            &mut d.redis.acl.replication.password,
            &mut d.redis.acl.sentinel.password,
            &mut d.redis.acl.sentinel_peer.password,
            &mut d.redis.acl.operator.password,
        ] {
            *password = source.clone();
        }
        let r = RenderedRedis::of(&d.validated().expect("valid")).expect("rendered");
        (r.data_template, r.sentinel_template)
    };
    let generated = pods(SecretSource::Generated);
    let env = pods(SecretSource::Env {
        variable: "GATEHOUSE_REDIS_PASSWORD".into(),
    });
    assert_eq!(generated, env);
    let rotation_keys = serde_json::to_string(&generated.0).unwrap();
    assert!(
        rotation_keys.contains("password.next") && rotation_keys.contains("password.previous"),
        "the pods read both rotation keys: {rotation_keys}"
    );
}
