//! Scenario 5: the vendor guide's Redis configuration, as written, fails the way
//! `shared/notes/redis-sentinel-facts.md` describes. These tests keep the reasons gatehouse's design
//! differs (writable Sentinel state, host names resolved, replicas) proven on real processes.
//!
//! The configs below are the guide's ConfigMap `redis-config` verbatim; the tests change only the
//! ports (free loopback ports), the data directory and, where the test needs a reachable master,
//! the master's host name (`redis-master` becomes `127.0.0.1`).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use gatehouse_ha::ports::lease_ports;
use gatehouse_ha::process::{Launch, ManagedProcess};
use gatehouse_ha::resp::{Connection, Reply};

/// `redis.conf` from the guide.
const GUIDE_REDIS_CONF: &str = "dir /data
port 6379
bind 0.0.0.0
appendonly yes
protected-mode no
requirepass myredispassword
masterauth myredispassword
";

/// `sentinel.conf` from the guide.
const GUIDE_SENTINEL_CONF: &str = "port 26379
bind 0.0.0.0
sentinel monitor mymaster redis-master 6379 2
sentinel auth-pass mymaster myredispassword
sentinel down-after-milliseconds mymaster 10000
sentinel parallel-syncs mymaster 1
sentinel failover-timeout mymaster 180000
";

const LIMIT: Duration = Duration::from_secs(2);

fn sentinel_conf(port: u16, master_host: &str, master_port: u16) -> String {
    GUIDE_SENTINEL_CONF
        .replace("port 26379", &format!("port {port}"))
        .replace("redis-master 6379", &format!("{master_host} {master_port}"))
}

fn redis_conf(port: u16, dir: &Path) -> String {
    GUIDE_REDIS_CONF
        .replace("port 6379", &format!("port {port}"))
        .replace("dir /data", &format!("dir {}", dir.display()))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn launch(argv: &[&str], log: &Path, as_nobody: bool) -> Launch {
    Launch {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        log: log.to_path_buf(),
        as_nobody,
    }
}

/// Waits for the process to exit by itself and returns its log.
async fn exits_with_log(launch: &Launch) -> String {
    let mut process = ManagedProcess::spawn(launch).expect("spawn");
    let status = process
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("Sentinel exits at once");
    assert!(!status.success(), "Sentinel must fail: {status}");
    std::fs::read_to_string(&launch.log).unwrap_or_default()
}

/// `sentinel monitor mymaster redis-master ...` without `sentinel resolve-hostnames yes`.
#[tokio::test]
async fn guide_sentinel_refuses_the_master_host_name() {
    if !common::redis_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = lease_ports(1).expect("port");
    let conf = dir.path().join("sentinel.conf");
    // As written, except the port: the master is `redis-master`.
    write(
        &conf,
        &GUIDE_SENTINEL_CONF.replace("port 26379", &format!("port {}", ports[0].port())),
    );
    let log = exits_with_log(&launch(
        &["redis-sentinel", &conf.display().to_string()],
        &dir.path().join("sentinel.log"),
        false,
    ))
    .await;
    assert!(log.contains("Can't resolve instance hostname"), "{log}");
}

/// The guide mounts sentinel.conf read-only (a ConfigMap subPath); Sentinel must rewrite it.
#[tokio::test]
async fn guide_sentinel_exits_on_a_read_only_config() {
    if !common::redis_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = lease_ports(2).expect("ports");
    let config_dir = dir.path().join("config");
    std::fs::create_dir(&config_dir).expect("mkdir");
    let conf = config_dir.join("sentinel.conf");
    write(
        &conf,
        &sentinel_conf(ports[0].port(), "127.0.0.1", ports[1].port()),
    );
    // Read-only like a ConfigMap volume: file 0444 in a 0555 directory. Root ignores modes, so as
    // root Sentinel runs as `nobody` (setpriv), as the non-root redis user of the image would.
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    mode(&conf, 0o444);
    mode(&config_dir, 0o555);
    mode(dir.path(), 0o755);
    let log = exits_with_log(&launch(
        &["redis-sentinel", &conf.display().to_string()],
        &dir.path().join("sentinel.log"),
        true,
    ))
    .await;
    assert!(
        log.contains("is not writable: Permission denied. Exiting..."),
        "{log}"
    );
    mode(&config_dir, 0o755);
}

async fn sentinel_master(port: u16) -> Option<u16> {
    let mut c = Connection::connect(&format!("127.0.0.1:{port}"), LIMIT)
        .await
        .ok()?;
    let reply = c
        .ok(&["SENTINEL", "get-master-addr-by-name", "mymaster"])
        .await
        .ok()?;
    gatehouse_ha::cluster::parse_master_addr(&reply)
}

async fn sentinel_field(port: u16, field: &str) -> Option<String> {
    let mut c = Connection::connect(&format!("127.0.0.1:{port}"), LIMIT)
        .await
        .ok()?;
    match c.ok(&["SENTINEL", "MASTER", "mymaster"]).await.ok()? {
        Reply::Array(Some(items)) => {
            let texts: Vec<String> = items.iter().filter_map(Reply::as_text).collect();
            texts
                .chunks(2)
                .find(|kv| kv[0] == field)
                .and_then(|kv| kv.get(1).cloned())
        }
        _ => None,
    }
}

/// One master, no replicas, three Sentinels (writable configs, the master addressed by IP): the
/// master's death is detected, but there is nothing to fail over to, and writes stay down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guide_single_master_cannot_fail_over() {
    if !common::redis_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = lease_ports(4).expect("ports");
    let master_port = ports[0].port();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    let redis_conf_path = dir.path().join("redis.conf");
    write(&redis_conf_path, &redis_conf(master_port, &data));
    let master = ManagedProcess::spawn(&launch(
        &["redis-server", &redis_conf_path.display().to_string()],
        &dir.path().join("redis.log"),
        false,
    ))
    .expect("master starts");
    let mut sentinels = Vec::new();
    let mut sentinel_ports = Vec::new();
    for (i, lease) in ports[1..].iter().enumerate() {
        let conf = dir.path().join(format!("sentinel-{i}.conf"));
        write(
            &conf,
            &sentinel_conf(lease.port(), "127.0.0.1", master_port),
        );
        sentinels.push(
            ManagedProcess::spawn(&launch(
                &["redis-sentinel", &conf.display().to_string()],
                &dir.path().join(format!("sentinel-{i}.log")),
                false,
            ))
            .expect("sentinel starts"),
        );
        sentinel_ports.push(lease.port());
    }
    // The Sentinels find each other through the master, as in the guide's cluster.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut known = Vec::new();
        for &port in &sentinel_ports {
            known.push(sentinel_field(port, "num-other-sentinels").await);
        }
        if known.iter().all(|k| k.as_deref() == Some("2")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Sentinels did not meet: {known:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut client = Connection::connect_auth(
        &format!("127.0.0.1:{master_port}"),
        Some("myredispassword"),
        LIMIT,
    )
    .await
    .expect("master reachable");
    assert_eq!(
        client.ok(&["INCR", "k"]).await.expect("write"),
        Reply::Integer(1)
    );
    master.kill().await.expect("kill master");
    let killed = Instant::now();

    // Sentinel sees the master down after down-after (10 s as written) and gives up.
    let deadline = killed + Duration::from_secs(40);
    let aborted = loop {
        let logs: Vec<String> = (0..3)
            .map(|i| {
                std::fs::read_to_string(dir.path().join(format!("sentinel-{i}.log")))
                    .unwrap_or_default()
            })
            .collect();
        if let Some(log) = logs.iter().find(|l| {
            l.contains("-failover-abort-no-good-slave") && l.contains("Next failover delay")
        }) {
            break log.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no failover abort within 40 s:\n{}",
            logs.join("\n---\n")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(aborted.contains("+odown master mymaster"), "{aborted}");
    assert!(aborted.contains("Next failover delay"), "{aborted}");
    // Clients asking the Sentinels are still sent to the dead master, and writes fail.
    for &port in &sentinel_ports {
        assert_eq!(sentinel_master(port).await, Some(master_port));
    }
    let write = Connection::connect(&format!("127.0.0.1:{master_port}"), LIMIT).await;
    assert!(
        write.is_err(),
        "the only master is gone, writes cannot succeed"
    );
    drop(sentinels);
}
