//! The Redis group with `redis.tls` on, started from the rendered configuration on real processes
//! with certificates made at test time (`gatehouse_ha::tls`, openssl): it converges, fails over
//! without losing acknowledged writes while a gateway-shaped client keeps rate limiting over TLS,
//! the old master rejoins, and nothing answers plain TCP or a client that cannot check the server.

mod common;

use std::time::{Duration, Instant};

use gatehouse_ha::gateway_client::{GatewayClient, GatewayClientConfig};
use gatehouse_ha::pods::loopback_command;
use gatehouse_ha::process::{Launch, run_to_end};
use gatehouse_ha::resp::{Connection, Transport};
use gatehouse_ha::scenario::Scenario;
use gatehouse_ha::tls::{CertRequest, served_not_after, sign};
use gatehouse_ha::workload::Writer;
use gatehouse_ha::{
    Cluster, Hook, MAX_LOST_PER_FAILOVER, Role, TEST_PASSWORD, failover_bound, tls_test_deployment,
};
use gatehouse_model::{Deployment, TlsClientAuth};

const LIMIT: Duration = Duration::from_secs(2);

/// The test deployment with TLS from an existing Secret.
fn tls_deployment(client_auth: TlsClientAuth) -> Deployment {
    tls_test_deployment(client_auth)
}

fn openssl_available() -> bool {
    let found = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        gatehouse_testkit::skip_or_fail("openssl", "apt-get install openssl");
    }
    found
}

async fn start(client_auth: TlsClientAuth) -> Option<Cluster> {
    if !openssl_available() {
        return None;
    }
    common::start_deployment(tls_deployment(client_auth)).await
}

fn gateway(cluster: &Cluster) -> GatewayClient {
    GatewayClient::new(GatewayClientConfig::of(cluster, LIMIT))
}

/// Every process's listener: `(name, address)`.
fn listeners(cluster: &Cluster) -> Vec<(String, String)> {
    cluster
        .data
        .iter()
        .chain(&cluster.sentinels)
        .map(|p| (p.name.clone(), p.addr()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_group_fails_over_without_loss_and_the_gateway_client_follows() {
    let Some(mut cluster) = start(TlsClientAuth::Optional).await else {
        return;
    };
    let config = std::fs::read_to_string(cluster.data[0].dir.join("config/redis.conf"))
        .expect("the start script wrote redis.conf");
    for line in ["port 0", "tls-replication yes", "tls-auth-clients optional"] {
        assert!(config.lines().any(|l| l == line), "{line} in:\n{config}");
    }
    let mut gateway = gateway(&cluster);
    assert_eq!(
        gateway
            .hit("ratelimit:tls")
            .await
            .expect("rate limit over TLS"),
        1
    );

    let key = "ratelimit:tls-writes";
    let writer = Writer::start(cluster.writer_config(key, Duration::from_secs(150)));
    let bound = failover_bound(cluster.down_after);
    let failover = cluster
        .kill_master(&writer, bound + Duration::from_secs(20))
        .await
        .expect("writes resume on a new master");
    eprintln!("TLS failover: {failover:?}");
    assert_ne!(failover.new_master, failover.killed);
    assert!(
        failover.time <= bound,
        "failover took {:?}; the bound is {bound:?}",
        failover.time
    );

    // The gateway-shaped client finds the new master through the Sentinels, reloads its script
    // there and counts on.
    let deadline = Instant::now() + Duration::from_secs(20);
    let count = loop {
        match gateway.hit("ratelimit:tls").await {
            Ok(count) => break count,
            Err(e) => assert!(Instant::now() < deadline, "gateway client: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        count >= 2,
        "the counter replicated before the failover: {count}"
    );

    // The old master rejoins as a replica, over TLS replication.
    cluster
        .start_pod(Role::Data, failover.killed)
        .expect("restart");
    let master = cluster
        .wait_converged(2, Duration::from_secs(40))
        .await
        .expect("the old master rejoins");
    assert_eq!(master, failover.new_master);
    let totals = cluster.totals(writer, key).await.expect("counter readable");
    eprintln!("{totals:?}");
    assert!(totals.acked > 0, "the writer wrote nothing");
    assert!(
        totals.lost <= MAX_LOST_PER_FAILOVER,
        "{} acknowledged writes lost: {totals:?}",
        totals.lost
    );
    assert_eq!(totals.lost, 0, "{totals:?}");

    // The probes and the pre-stop hook's queries speak TLS too.
    for i in 0..3 {
        let (ok, out) = cluster
            .run_hook(Role::Data, i, Hook::Readiness, Duration::from_secs(15))
            .await
            .expect("probe runs");
        assert!(ok, "data {i} readiness over TLS: {out}");
        let (ok, out) = cluster
            .run_hook(Role::Sentinel, i, Hook::Readiness, Duration::from_secs(15))
            .await
            .expect("probe runs");
        assert!(ok, "sentinel {i} readiness over TLS: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tcp_and_clients_without_the_ca_are_refused_on_every_port() {
    let Some(cluster) = start(TlsClientAuth::Optional).await else {
        return;
    };
    let password = Some(cluster.password.as_str());
    let without_ca = Transport::Tls {
        ca: None,
        client: None,
    };
    for (name, addr) in listeners(&cluster) {
        let plain = Connection::connect_with(&addr, password, &Transport::Plain, LIMIT).await;
        let plain = match plain {
            Ok(mut c) => c.command(&["PING"]).await.map(|r| format!("{r:?}")),
            Err(e) => Err(e),
        };
        assert!(plain.is_err(), "{name} answered plain TCP: {plain:?}");
        let unchecked = Connection::connect_with(&addr, password, &without_ca, LIMIT).await;
        assert!(
            unchecked.is_err(),
            "{name}: a client without the CA connected"
        );
        // Optional client certificates: the CA alone is enough, with the password.
        let server_only =
            Transport::tls_from_files(cluster.tls.as_ref().map(|t| t.ca()).as_deref(), None)
                .expect("read the CA");
        let mut c = Connection::connect_with(&addr, password, &server_only, LIMIT)
            .await
            .unwrap_or_else(|e| panic!("{name}: TLS with the CA and no client certificate: {e}"));
        assert_eq!(
            c.ok(&["PING"]).await.expect("PING").as_text().as_deref(),
            Some("PONG")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_a_client_without_a_certificate_and_serves_the_gateways_own() {
    let Some(cluster) = start(TlsClientAuth::Required).await else {
        return;
    };
    let config = std::fs::read_to_string(cluster.sentinels[0].dir.join("data/sentinel.conf"))
        .or_else(|_| std::fs::read_to_string(cluster.sentinels[0].dir.join("config/sentinel.conf")))
        .expect("the start script wrote sentinel.conf");
    assert!(
        config.lines().any(|l| l == "tls-auth-clients yes"),
        "{config}"
    );
    let password = Some(cluster.password.as_str());
    let ca = cluster.tls.as_ref().map(|t| t.ca());
    let server_only = Transport::tls_from_files(ca.as_deref(), None).expect("read the CA");
    for (name, addr) in listeners(&cluster) {
        let refused = async {
            let mut c = Connection::connect_with(&addr, password, &server_only, LIMIT).await?;
            c.command(&["PING"]).await
        }
        .await;
        assert!(
            refused.is_err(),
            "{name} answered a client without a certificate: {refused:?}"
        );
        let mut c = Connection::connect_with(&addr, password, &cluster.transport, LIMIT)
            .await
            .unwrap_or_else(|e| panic!("{name}: with the client certificate: {e}"));
        assert_eq!(
            c.ok(&["PING"]).await.expect("PING").as_text().as_deref(),
            Some("PONG")
        );
    }
    // `gatehouse status` asks each Sentinel through redis-cli in its container: over mutual TLS
    // with the container's own environment.
    let master = cluster.agreed_master().await.expect("master");
    for sentinel in &cluster.sentinels {
        let launch = Launch {
            argv: vec![
                "sh".into(),
                "-c".into(),
                gatehouse_apply::ASK_MASTER_SCRIPT.into(),
            ],
            env: sentinel.env().to_vec(),
            log: sentinel.dir.join("status.log"),
            as_nobody: false,
        };
        let (status, output) = run_to_end(&launch, Duration::from_secs(10))
            .await
            .expect("the status query runs");
        assert!(status.success(), "{}: {output}", sentinel.name);
        assert_eq!(
            gatehouse_apply::parse_master(&output),
            Ok(cluster.data[master].addr()),
            "{}: {output}",
            sentinel.name
        );
    }
    // The gateway-shaped client with a key pair of its own (the rendered deployment mounts the
    // client Secret `redis-tls-gateway` into the gateway, never the servers' key), signed by the
    // group's CA, rate-limits over mutual TLS.
    let files = cluster.tls.as_ref().expect("TLS files");
    let own = sign(
        files,
        &files.dir.join("..").join("gateway"),
        &CertRequest {
            common_name: "gravitee-apim-gateway",
            ips: &[],
            dns: &["gravitee-apim-gateway".to_string()],
            days: 30,
        },
    )
    .expect("sign the gateway's client certificate");
    assert_ne!(
        std::fs::read(own.key()).unwrap(),
        std::fs::read(files.key()).unwrap()
    );
    let transport = Transport::tls_from_files(Some(&files.ca()), Some((&own.cert(), &own.key())))
        .expect("read the gateway's key pair");
    let mut gateway = GatewayClient::new(GatewayClientConfig {
        transport,
        ..GatewayClientConfig::of(&cluster, LIMIT)
    });
    assert_eq!(
        gateway
            .hit("ratelimit:mtls")
            .await
            .expect("rate limit over mutual TLS with the gateway's own certificate"),
        1
    );
}

/// Runs data pod 0's rendered start command against the cluster's current TLS files; returns
/// whether it kept running (killed after `limit`) and its output.
async fn start_once(cluster: &Cluster) -> (bool, String) {
    let pod = &cluster.data[0];
    let command = cluster.rendered().data.command.clone().unwrap_or_default();
    let argv = loopback_command(&command, &pod.template_dir().display().to_string())
        .expect("start command");
    let launch = Launch {
        argv,
        env: pod.env().to_vec(),
        log: pod.dir.join("bad-cert.log"),
        as_nobody: false,
    };
    match run_to_end(&launch, Duration::from_secs(20)).await {
        Ok((status, output)) => (status.success(), output),
        Err(e) => (true, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_wrong_name_certificate_stops_the_start_with_the_fix() {
    if !common::redis_available() || !openssl_available() {
        return;
    }
    let cluster =
        Cluster::prepare(tls_deployment(TlsClientAuth::Optional), TEST_PASSWORD).expect("prepare");
    let files = cluster
        .tls
        .clone()
        .expect("the TLS group has test certificates");
    let all: Vec<_> = cluster
        .data
        .iter()
        .chain(&cluster.sentinels)
        .map(|p| p.host)
        .collect();
    let cases = [
        (-1, all.clone(), "has expired"),
        (
            30,
            vec![std::net::Ipv4Addr::new(127, 9, 9, 9)],
            "does not name",
        ),
    ];
    for (days, ips, expected) in cases {
        sign(
            &files,
            &files.dir,
            &CertRequest {
                common_name: "redis",
                ips: &ips,
                dns: &[],
                days,
            },
        )
        .expect("sign");
        let (ran, output) = start_once(&cluster).await;
        assert!(
            !ran,
            "the start script ran with a bad certificate: {output}"
        );
        assert!(
            output.contains(expected) && output.contains("Secret redis-tls"),
            "the message names the problem and the Secret: {output}"
        );
    }
    // An unreadable key: redis-server is never started with it.
    std::fs::remove_file(files.key()).expect("remove the key");
    let (ran, output) = start_once(&cluster).await;
    assert!(!ran, "{output}");
    assert!(output.contains("missing or unreadable"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_reaches_every_process_without_losing_a_write() {
    let Some(mut cluster) = start(TlsClientAuth::Optional).await else {
        return;
    };
    let files = cluster.tls.clone().expect("test certificates");
    let listeners = listeners(&cluster);
    let before: Vec<_> = listeners
        .iter()
        .map(|(_, addr)| served_not_after(addr, &files).expect("served certificate"))
        .collect();
    let key = "ratelimit:renewal";
    let writer = Writer::start(cluster.writer_config(key, Duration::from_secs(150)));
    let mut gateway = gateway(&cluster);
    gateway
        .hit("ratelimit:renewal-gw")
        .await
        .expect("rate limit before");
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The renewal as cert-manager does it: a new key pair from the same CA, longer validity,
    // written over the mounted files.
    let all: Vec<_> = cluster
        .data
        .iter()
        .chain(&cluster.sentinels)
        .map(|p| p.host)
        .collect();
    sign(
        &files,
        &files.dir,
        &CertRequest {
            common_name: "redis-renewed",
            ips: &all,
            dns: &[],
            days: 60,
        },
    )
    .expect("renew");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // The kubelet's part: a Sentinel that stopped to read the new files is started again.
        cluster.restart_exited().expect("restart exited pods");
        let served: Vec<_> = listeners
            .iter()
            .map(|(_, addr)| served_not_after(addr, &files))
            .collect();
        if served
            .iter()
            .zip(&before)
            .all(|(now, old)| now.as_ref().is_some_and(|n| n != old))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every process serves the renewed certificate: {served:?} (before {before:?})\n{}",
            cluster.log_tails()
        );
        gateway
            .hit("ratelimit:renewal-gw")
            .await
            .expect("the gateway client is never refused during the renewal");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for pod in &cluster.data {
        assert!(
            pod.log().contains("reloaded the renewed TLS certificate"),
            "{} reloaded in place: {}",
            pod.name,
            pod.log()
        );
    }
    gateway
        .hit("ratelimit:renewal-gw")
        .await
        .expect("rate limit after the renewal");
    cluster
        .wait_converged(2, Duration::from_secs(30))
        .await
        .expect("the group is whole after the renewal");
    let log = writer.snapshot();
    assert_eq!(log.failed, 0, "writes failed: {:?}", log.failure_reasons);
    let totals = cluster.totals(writer, key).await.expect("counter readable");
    eprintln!("renewal: {totals:?}");
    assert!(totals.acked > 0);
    assert_eq!(totals.lost, 0, "{totals:?}");
}

/// With TLS on every link (and the ACL users), a rolling restart of both StatefulSets keeps the
/// promises it keeps on plain TCP (`Outcome::broken_promises`: loss bounds, one master, the stale
/// node never master).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_the_rolling_restart_keeps_its_promises() {
    keeps_its_promises_over_tls(Scenario::RollingRestart).await;
}

/// With TLS on every link (and the ACL users), a full restart with the Sentinels' state lost keeps
/// the promises it keeps on plain TCP. (A test of its own, not a second step of the rolling
/// restart's: the two run side by side.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_a_full_restart_with_the_sentinels_state_lost_keeps_its_promises() {
    keeps_its_promises_over_tls(Scenario::LostSentinelState).await;
}

async fn keeps_its_promises_over_tls(scenario: Scenario) {
    if !openssl_available() || !common::redis_available() {
        return;
    }
    let outcome = scenario
        .run(tls_deployment(TlsClientAuth::Optional), TEST_PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{} over TLS: {e}", scenario.title()));
    eprintln!("{} over TLS: {outcome:?}", scenario.title());
    let broken = outcome.broken_promises();
    assert!(
        broken.is_empty(),
        "{} over TLS: {}\n{outcome:?}",
        scenario.title(),
        broken.join("; ")
    );
}
