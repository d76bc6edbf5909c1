//! `metrics` on real processes: Debian's redis_exporter runs with the rendered sidecar's arguments
//! (its own ACL user, TLS as rendered) against the real group; its scrapes show what each alert
//! reads, with the right values, before and after a SIGKILL failover and in each fault; and the
//! rendered rules, fed the recorded series, fire in each situation and stay silent in a healthy
//! group and during a normal failover's first seconds (`promtool test rules`).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_ha::exporter::{self, ExporterProcess, Sample, ScrapeTarget, scrape};
use gatehouse_ha::promtool::{STEP_SECONDS, Timeline, quoted};
use gatehouse_ha::resp::Reply;
use gatehouse_ha::{Cluster, Role, test_deployment};
use gatehouse_model::{Deployment, TlsCertificateSource, TlsClientAuth};
use gatehouse_render::metrics::alerts;
use gatehouse_render::metrics::monitors::rule_file;

/// Rounds of healthy history before the recording (the failover alert compares with 10 minutes
/// ago, as a group that has run for a while).
const HISTORY: usize = 660;

/// Every metric an alert reads.
const ALERT_METRICS: [&str; 9] = [
    "up",
    "redis_up",
    "redis_instance_info",
    "redis_master_link_up",
    "redis_connected_slave_lag_seconds",
    "redis_sentinel_master_status",
    "redis_sentinel_master_ok_sentinels",
    "redis_sentinel_master_ok_slaves",
    "redis_sentinel_tilt",
];

fn tools_available() -> bool {
    let mut ok = true;
    for (tool, hint) in [
        (exporter::BINARY, exporter::INSTALL_HINT),
        (
            "promtool",
            "install it with `sudo apt-get install -y prometheus`",
        ),
    ] {
        if gatehouse_ha::external::which(tool).is_none() {
            gatehouse_testkit::skip_or_fail(tool, hint);
            ok = false;
        }
    }
    ok
}

fn metrics_deployment(tls: bool) -> Deployment {
    let mut d = test_deployment();
    d.metrics.enabled = true;
    if tls {
        d.redis.tls.enabled = true;
        d.redis.tls.certificate = Some(TlsCertificateSource::Secret {
            name: "redis-tls".into(),
            // Mutual TLS gives the gateway a client Secret of its own.
            client_secret: Some("redis-tls-gateway".into()),
        });
        d.redis.tls.client_auth = TlsClientAuth::Required;
    }
    d
}

fn start_exporters(cluster: &Cluster) -> Vec<ExporterProcess> {
    (0..cluster.data.len())
        .map(|i| (Role::Data, i))
        .chain((0..cluster.sentinels.len()).map(|i| (Role::Sentinel, i)))
        .map(|(role, i)| {
            cluster
                .start_exporter(role, i)
                .expect("the rendered sidecar starts")
        })
        .collect()
}

async fn scrape_all(targets: &[ScrapeTarget]) -> Vec<Sample> {
    let mut all = Vec::new();
    for target in targets {
        all.extend(scrape(target, Duration::from_millis(800)).await);
    }
    all
}

/// Scrapes every target once per step in the background until dropped.
struct Recorder {
    timeline: Arc<Mutex<Timeline>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    fn start(targets: Vec<ScrapeTarget>) -> Recorder {
        let timeline = Arc::new(Mutex::new(Timeline::default()));
        let shared = timeline.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(STEP_SECONDS.into()));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let round = scrape_all(&targets).await;
                shared.lock().unwrap().rounds.push(round);
            }
        });
        Recorder { timeline, task }
    }

    /// The index of the next round (the first one after now).
    fn mark(&self) -> usize {
        self.timeline.lock().unwrap().rounds.len()
    }

    fn last(&self) -> usize {
        self.mark().saturating_sub(1)
    }

    async fn wait_rounds(&self, count: usize) {
        let until = self.mark() + count;
        while self.mark() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn finish(self) -> Timeline {
        self.task.abort();
        self.timeline.lock().unwrap().clone()
    }
}

fn pod_labels(pod: &str) -> [(&str, &str); 1] {
    [("pod", pod)]
}

/// The `master_address` label every Sentinel's exporter reports in round `i`.
fn sentinel_master_addresses(t: &Timeline, i: usize) -> Vec<String> {
    t.rounds[i]
        .iter()
        .filter(|s| s.name == "redis_sentinel_master_status")
        .filter_map(|s| s.labels.get("master_address").cloned())
        .collect()
}

fn assert_healthy_round(t: &Timeline, i: usize, cluster: &Cluster, master: usize) {
    let master_pod = &cluster.data[master].name;
    for pod in cluster.data.iter().chain(&cluster.sentinels) {
        assert_eq!(
            t.values(i, "up", &pod_labels(&pod.name)),
            vec![1.0],
            "{}",
            pod.name
        );
        assert_eq!(
            t.values(i, "redis_up", &pod_labels(&pod.name)),
            vec![1.0],
            "{} reaches its process as the exporter user",
            pod.name
        );
    }
    let masters: Vec<&Sample> = t.rounds[i]
        .iter()
        .filter(|s| s.name == "redis_instance_info" && s.labels["role"] == "master")
        .collect();
    assert_eq!(masters.len(), 1, "{masters:?}");
    assert_eq!(&masters[0].labels["pod"], master_pod);
    for (j, pod) in cluster.data.iter().enumerate() {
        if j != master {
            assert_eq!(
                t.values(i, "redis_master_link_up", &pod_labels(&pod.name)),
                vec![1.0],
                "{}",
                pod.name
            );
        }
    }
    let online = t.values(
        i,
        "redis_connected_slave_lag_seconds",
        &[("pod", master_pod), ("slave_state", "online")],
    );
    assert_eq!(online.len(), cluster.data.len() - 1, "replicas online");
    let replicas = (cluster.data.len() - 1) as f64;
    let sentinels = cluster.sentinels.len() as f64;
    for pod in &cluster.sentinels {
        let p = pod_labels(&pod.name);
        assert_eq!(t.values(i, "redis_sentinel_master_status", &p), vec![1.0]);
        assert_eq!(
            t.values(i, "redis_sentinel_master_ok_sentinels", &p),
            vec![sentinels]
        );
        assert_eq!(
            t.values(i, "redis_sentinel_master_ok_slaves", &p),
            vec![replicas]
        );
        assert_eq!(t.values(i, "redis_sentinel_tilt", &p), vec![0.0]);
        assert_eq!(
            t.values(i, "redis_sentinel_master_ckquorum_status", &p),
            vec![1.0]
        );
    }
    let addresses = sentinel_master_addresses(t, i);
    assert_eq!(addresses.len(), cluster.sentinels.len());
    assert!(
        addresses.iter().all(|a| a == &cluster.data[master].addr()),
        "{addresses:?}"
    );
}

/// Every ACL refusal the processes logged (there must be none: the exporter user's rules are
/// enough and quiet).
async fn acl_refusals(cluster: &Cluster) -> Vec<String> {
    let mut found = Vec::new();
    for (role, pods) in [
        (Role::Data, &cluster.data),
        (Role::Sentinel, &cluster.sentinels),
    ] {
        for (i, pod) in pods.iter().enumerate().filter(|(_, p)| p.is_running()) {
            let mut c = match role {
                Role::Data => cluster.data_conn(i).await,
                Role::Sentinel => cluster.sentinel_conn(i).await,
            }
            .unwrap();
            if let Ok(Reply::Array(Some(entries))) = c.command(&["ACL", "LOG"]).await {
                found.extend(entries.iter().map(|e| format!("{}: {e:?}", pod.name)));
            }
        }
    }
    found
}

/// One promtool test: the rounds of `frames` (one per second after [`HISTORY`] rounds of the
/// first frame), and at each listed second the alerts that must be firing (none: silence).
struct PromtoolCase {
    name: String,
    frames: Vec<usize>,
    checks: Vec<(usize, Vec<&'static str>)>,
}

fn promtool_file(timeline: &Timeline, cases: &[PromtoolCase]) -> String {
    let mut out = String::from("rule_files: [rules.yml]\nevaluation_interval: 1s\ntests:\n");
    for case in cases {
        let mut frames = vec![case.frames[0]; HISTORY];
        frames.extend(&case.frames);
        out.push_str(&format!(
            "- name: {}\n  interval: 1s\n  input_series:\n",
            quoted(&case.name)
        ));
        for (series, values) in timeline.input_series(&frames, &ALERT_METRICS) {
            out.push_str(&format!(
                "  - series: {}\n    values: {}\n",
                quoted(&series),
                quoted(&values)
            ));
        }
        out.push_str("  promql_expr_test:\n");
        for (second, firing) in &case.checks {
            let at = HISTORY + second;
            out.push_str(&format!(
                "  - expr: 'group by (alertname) (ALERTS{{alertstate=\"firing\"}})'\n    eval_time: {at}s\n    exp_samples:{}\n",
                if firing.is_empty() { " []" } else { "" }
            ));
            for alert in firing {
                out.push_str(&format!(
                    "    - labels: '{{alertname=\"{alert}\"}}'\n      value: 1\n"
                ));
            }
        }
    }
    out
}

fn run_promtool(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_over_tls_show_each_alerts_metrics_through_a_failover_and_the_rules_fire_on_them()
{
    if !tools_available() {
        return;
    }
    let deployment = metrics_deployment(true);
    let Some(mut cluster) = common::start_deployment(deployment.clone()).await else {
        return;
    };
    let mut exporters = start_exporters(&cluster);
    let recorder = Recorder::start(exporters.iter().map(ExporterProcess::target).collect());
    let replicas = cluster.data.len() - 1;
    let master = cluster
        .wait_converged(replicas, Duration::from_secs(30))
        .await
        .unwrap();

    // Healthy: every exporter up, logged in as its own user, values as the group is.
    recorder.wait_rounds(4).await;
    let healthy = recorder.last();
    {
        let t = recorder.timeline.lock().unwrap().clone();
        assert_healthy_round(&t, healthy, &cluster, master);
    }

    // A normal failover: SIGKILL the master, the Sentinels promote a replica, the kubelet
    // restarts the killed pod, which rejoins as a replica.
    let killed_at = recorder.mark();
    cluster.kill_pod(Role::Data, master).await.unwrap();
    let new_master = cluster
        .wait_agreed_master(Duration::from_secs(30))
        .await
        .ok()
        .filter(|m| *m != master);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let new_master = match new_master {
        Some(m) => m,
        None => loop {
            if let Ok(m) = cluster.agreed_master().await
                && m != master
            {
                break m;
            }
            assert!(tokio::time::Instant::now() < deadline, "no failover");
            tokio::time::sleep(Duration::from_millis(100)).await;
        },
    };
    recorder.wait_rounds(3).await;
    {
        let t = recorder.timeline.lock().unwrap().clone();
        let i = recorder.last();
        let old = &cluster.data[master].name;
        assert_eq!(
            t.values(i, "up", &pod_labels(old)),
            vec![1.0],
            "the sidecar outlives its Redis"
        );
        assert_eq!(
            t.values(i, "redis_up", &pod_labels(old)),
            vec![0.0],
            "but cannot reach it"
        );
        let addresses = sentinel_master_addresses(&t, i);
        assert!(
            addresses
                .iter()
                .all(|a| a == &cluster.data[new_master].addr()),
            "{addresses:?}"
        );
    }
    cluster.start_pod(Role::Data, master).unwrap();
    cluster
        .wait_converged(replicas, Duration::from_secs(60))
        .await
        .unwrap();
    recorder.wait_rounds(3).await;
    let rejoined = recorder.last();
    {
        let t = recorder.timeline.lock().unwrap().clone();
        assert_healthy_round(&t, rejoined, &cluster, new_master);
    }
    let refusals = acl_refusals(&cluster).await;
    assert!(refusals.is_empty(), "ACL refusals: {refusals:#?}");

    // TILT: a Sentinel frozen for 3 s (its timer jumps more than 2 s) enters TILT for 30 s.
    // (The last Sentinel: it is killed and restarted next, which ends its TILT, so the other
    // Sentinels' values stay what a group without TILT shows.)
    let sentinels = cluster.sentinels.len();
    cluster
        .signal_pod(Role::Sentinel, sentinels - 1, rustix::process::Signal::STOP)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster
        .signal_pod(Role::Sentinel, sentinels - 1, rustix::process::Signal::CONT)
        .unwrap();
    recorder.wait_rounds(3).await;
    let tilt = recorder.last();
    {
        let t = recorder.timeline.lock().unwrap().clone();
        let sentinel = &cluster.sentinels[sentinels - 1].name;
        assert_eq!(
            t.values(tilt, "redis_sentinel_tilt", &pod_labels(sentinel)),
            vec![1.0]
        );
    }

    // A Sentinel lost: the others count one Sentinel less once down-after has passed.
    cluster
        .kill_pod(Role::Sentinel, sentinels - 1)
        .await
        .unwrap();
    tokio::time::sleep(cluster.down_after + Duration::from_secs(2)).await;
    recorder.wait_rounds(2).await;
    let sentinel_lost = recorder.last();
    {
        let t = recorder.timeline.lock().unwrap().clone();
        let ok = t.values(
            sentinel_lost,
            "redis_sentinel_master_ok_sentinels",
            &pod_labels(&cluster.sentinels[1].name),
        );
        assert_eq!(ok, vec![(sentinels - 1) as f64]);
    }
    cluster.start_pod(Role::Sentinel, sentinels - 1).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        recorder.wait_rounds(1).await;
        let t = recorder.timeline.lock().unwrap().clone();
        let ok = t.values(
            recorder.last(),
            "redis_sentinel_master_ok_sentinels",
            &pod_labels(&cluster.sentinels[1].name),
        );
        if ok == vec![sentinels as f64] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the Sentinel is not seen back: {ok:?}"
        );
    }

    // An exporter lost: Prometheus records `up 0` for it.
    let last_sentinel_exporter = exporters.len() - 1;
    exporters[last_sentinel_exporter].kill().await.unwrap();
    recorder.wait_rounds(2).await;
    let exporter_lost = recorder.last();

    // Every replica lost: the master refuses writes, then no Sentinel sees a healthy replica;
    // then the master too: no failover is possible and the Sentinels see it down.
    for i in 0..cluster.data.len() {
        if i != new_master {
            cluster.kill_pod(Role::Data, i).await.unwrap();
        }
    }
    tokio::time::sleep(cluster.down_after + Duration::from_secs(2)).await;
    recorder.wait_rounds(2).await;
    let replicas_lost = recorder.last();
    {
        let t = recorder.timeline.lock().unwrap().clone();
        let master_pod = &cluster.data[new_master].name;
        assert!(
            t.values(
                replicas_lost,
                "redis_connected_slave_lag_seconds",
                &pod_labels(master_pod)
            )
            .is_empty()
        );
        for pod in &cluster.sentinels[..sentinels - 1] {
            assert_eq!(
                t.values(
                    replicas_lost,
                    "redis_sentinel_master_ok_slaves",
                    &pod_labels(&pod.name)
                ),
                vec![0.0],
                "{}",
                pod.name
            );
        }
    }
    cluster.kill_pod(Role::Data, new_master).await.unwrap();
    tokio::time::sleep(cluster.down_after + Duration::from_secs(2)).await;
    recorder.wait_rounds(2).await;
    let master_lost = recorder.last();
    let timeline = recorder.finish();
    {
        let master_status: Vec<f64> = cluster.sentinels[..sentinels - 1]
            .iter()
            .flat_map(|p| {
                timeline.values(
                    master_lost,
                    "redis_sentinel_master_status",
                    &pod_labels(&p.name),
                )
            })
            .collect();
        assert_eq!(
            master_status,
            vec![0.0; sentinels - 1],
            "the Sentinels see the master down"
        );
    }

    // The rules on these series.
    let d = deployment.validated().unwrap();
    let rules = rule_file(d.deployment()).expect("metrics on renders rules");
    let alert_names: Vec<&str> =
        alerts::alerts(d.deployment(), &gatehouse_render::Names::of(d.deployment()))
            .iter()
            .map(|a| a.name)
            .collect();
    let s = d.deployment().redis.sentinel.clone();
    let failover_timeout = s.effective_failover_timeout_milliseconds().div_ceil(1000) as usize;
    let hold = |frame: usize, seconds: usize| -> Vec<usize> { vec![frame; seconds] };
    // Every case starts at the first healthy round (held for the history before it).
    let upto = |end: usize| -> Vec<usize> { (healthy..=end).collect() };
    let long = failover_timeout * 3;
    let mut cases = vec![PromtoolCase {
        name: "recorded: healthy, SIGKILL failover, rejoin".into(),
        frames: upto(rejoined),
        checks: {
            // Silent while healthy and in every second of the failover until the rejoin, but for
            // the failover notice once the Sentinels name the new master.
            let mut checks: Vec<(usize, Vec<&'static str>)> =
                (0..killed_at - healthy).map(|s| (s, vec![])).collect();
            for round in killed_at..=rejoined {
                let named = sentinel_master_addresses(&timeline, round)
                    .iter()
                    .any(|a| a == &cluster.data[new_master].addr());
                checks.push((
                    round - healthy,
                    if named {
                        vec!["GatehouseRedisFailover"]
                    } else {
                        vec![]
                    },
                ));
            }
            checks
        },
    }];
    let mut situation = |name: &str, frame: usize, firing: Vec<&'static str>| {
        let mut frames = upto(rejoined);
        frames.extend(hold(frame, long));
        let end = frames.len() - 1;
        cases.push(PromtoolCase {
            name: name.into(),
            frames,
            checks: vec![(end, firing)],
        });
    };
    situation(
        "a Sentinel in TILT",
        tilt,
        vec!["GatehouseRedisFailover", "GatehouseRedisSentinelTilt"],
    );
    situation(
        "a Sentinel lost",
        sentinel_lost,
        vec![
            "GatehouseRedisExporterDown",
            "GatehouseRedisFailover",
            "GatehouseRedisQuorumAtRisk",
        ],
    );
    situation(
        "an exporter lost",
        exporter_lost,
        vec!["GatehouseRedisExporterDown", "GatehouseRedisFailover"],
    );
    situation(
        "every replica lost",
        replicas_lost,
        vec![
            "GatehouseRedisExporterDown",
            "GatehouseRedisFailover",
            "GatehouseRedisNoHealthyReplica",
            "GatehouseRedisWritesRefused",
        ],
    );
    situation(
        "the master lost with no replica left",
        master_lost,
        vec![
            "GatehouseRedisExporterDown",
            "GatehouseRedisFailover",
            "GatehouseRedisMasterNotOk",
            "GatehouseRedisNoHealthyReplica",
        ],
    );
    // Situations a test cannot make on one machine in a few seconds, built from the recorded
    // healthy round with only what the fault changes: a second node calling itself master (a
    // partitioned old master), one Sentinel still naming the old master, a replica whose link
    // stays down.
    let mut timeline = timeline;
    let base = timeline.rounds[rejoined].clone();
    let replica_pod = cluster.data[master].name.clone();
    let edit = |f: &dyn Fn(&mut Sample)| -> Vec<Sample> {
        let mut round = base.clone();
        round.iter_mut().for_each(f);
        round
    };
    let two_masters = edit(&|s| {
        if s.name == "redis_instance_info" && s.labels["pod"] == replica_pod {
            s.labels.insert("role".into(), "master".into());
        }
    });
    let old_address = cluster.data[master].addr();
    let first_sentinel = cluster.sentinels[0].name.clone();
    let disagree = edit(&|s| {
        if s.name.starts_with("redis_sentinel_master") && s.labels["pod"] == first_sentinel {
            s.labels
                .insert("master_address".into(), old_address.clone());
        }
    });
    let link_down = edit(&|s| {
        if s.name == "redis_master_link_up" && s.labels["pod"] == replica_pod {
            s.value = 0.0;
        }
    });
    for (name, round, firing) in [
        (
            // A master that takes writes while it has no replica refuses them (min-replicas).
            "two masters",
            two_masters,
            vec![
                "GatehouseRedisFailover",
                "GatehouseRedisTwoMasters",
                "GatehouseRedisWritesRefused",
            ],
        ),
        (
            "Sentinels disagree",
            disagree,
            vec!["GatehouseRedisFailover", "GatehouseRedisSentinelsDisagree"],
        ),
        (
            "a replica link stays down",
            link_down,
            vec!["GatehouseRedisFailover", "GatehouseRedisReplicaLinkDown"],
        ),
    ] {
        timeline.rounds.push(round);
        let frame = timeline.rounds.len() - 1;
        let mut frames = upto(rejoined);
        frames.extend(hold(frame, long));
        let end = frames.len() - 1;
        cases.push(PromtoolCase {
            name: name.into(),
            frames,
            checks: vec![(end, firing)],
        });
    }
    // Every alert is proven to fire somewhere.
    let fired: std::collections::BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.checks.iter().flat_map(|(_, f)| f.iter().copied()))
        .collect();
    for name in &alert_names {
        assert!(fired.contains(name), "no situation makes {name} fire");
    }

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), &rules).unwrap();
    std::fs::write(
        dir.path().join("tests.yml"),
        promtool_file(&timeline, &cases),
    )
    .unwrap();
    let (ok, output) = run_promtool(dir.path(), &["check", "rules", "rules.yml"]);
    assert!(ok, "promtool check rules:\n{output}\n{rules}");
    let (ok, output) = run_promtool(dir.path(), &["test", "rules", "tests.yml"]);
    if !ok {
        let keep = std::env::temp_dir().join("gatehouse-metrics-promtool");
        let _ = std::fs::create_dir_all(&keep);
        for f in ["rules.yml", "tests.yml"] {
            let _ = std::fs::copy(dir.path().join(f), keep.join(f));
        }
        panic!(
            "promtool test rules (files kept in {}):\n{}",
            keep.display(),
            &output[..output.len().min(20_000)]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporters_without_tls_scrape_every_process_as_the_exporter_user_and_nothing_else() {
    if !tools_available() {
        return;
    }
    let Some(cluster) = common::start_deployment(metrics_deployment(false)).await else {
        return;
    };
    let replicas = cluster.data.len() - 1;
    let master = cluster
        .wait_converged(replicas, Duration::from_secs(30))
        .await
        .unwrap();
    let exporters = start_exporters(&cluster);
    let targets: Vec<ScrapeTarget> = exporters.iter().map(ExporterProcess::target).collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut timeline = Timeline::default();
    timeline.rounds.push(scrape_all(&targets).await);
    timeline.rounds.push(scrape_all(&targets).await);
    assert_healthy_round(&timeline, 1, &cluster, master);
    // Each exporter logs in as its own user, never `default` or the operator: with that user
    // switched off, the master's exporter can no longer reach it; switched on, it can again.
    let user = gatehouse_model::acl::EXPORTER_USER;
    let master_pod = cluster.data[master].name.clone();
    let master_target = targets
        .iter()
        .find(|t| t.target_labels["pod"] == master_pod)
        .unwrap()
        .clone();
    let redis_up = |samples: &[Sample]| -> Vec<f64> {
        samples
            .iter()
            .filter(|s| s.name == "redis_up")
            .map(|s| s.value)
            .collect()
    };
    let mut c = cluster.data_conn(master).await.unwrap();
    c.ok(&["ACL", "SETUSER", user, "off"]).await.unwrap();
    let off = scrape(&master_target, Duration::from_secs(2)).await;
    c.ok(&["ACL", "SETUSER", user, "on"]).await.unwrap();
    let on = scrape(&master_target, Duration::from_secs(2)).await;
    assert_eq!((redis_up(&off), redis_up(&on)), (vec![0.0], vec![1.0]));
    c.ok(&["ACL", "LOG", "RESET"]).await.unwrap();
    let _ = scrape_all(&targets).await;
    let refusals = acl_refusals(&cluster).await;
    assert!(refusals.is_empty(), "ACL refusals: {refusals:#?}");
}
