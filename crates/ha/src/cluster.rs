//! A Redis master, its replicas and the Sentinels as local processes, started from the rendered
//! ConfigMap and pod specs exactly as the containers start them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gatehouse_model::{Deployment, ValidDeployment};
use k8s_openapi::api::core::v1::Container;
use tempfile::TempDir;

use crate::HarnessError;
use crate::pods::{LoopbackValues, RenderedRedis, exec_command, loopback_command, loopback_env};
use crate::ports::{PortLease, lease_ports, pod_address};
use crate::process::{Launch, ManagedProcess, run_to_end};
use crate::resp::{Connection, Reply, RespError, Transport};
use crate::tls::{CertRequest, TlsFiles};

/// The password the tests use: every character that needs quoting in redis.conf or a shell.
pub const TEST_PASSWORD: &str = "p@ss:w#rd\"\\x $HOME 'q'";

/// `down-after-milliseconds` in the tests (the production default stays 10000).
pub const TEST_DOWN_AFTER_MS: u32 = 2_000;

/// Time limit of one query to a process.
pub const QUERY_LIMIT: Duration = Duration::from_secs(2);
/// Interval of every polling loop.
pub const POLL: Duration = Duration::from_millis(100);

/// The deployment the tests run: the built-in example (1 master, 2 replicas, 3 Sentinels, Sentinel
/// auth, AOF) with `down-after-milliseconds` shortened to [`TEST_DOWN_AFTER_MS`]
/// (`min-replicas-max-lag` and `failover-timeout` are derived from it).
///
/// Its gateway user is unrestricted (`redis.acl.gateway: unrestricted`): the scenarios' writer tags
/// each write with `MULTI`/`INCR`/`SADD` and the harness reads Sentinel state (`SENTINEL MASTER`,
/// `CKQUORUM`) as `default`, which the restricted gateway user may not. Every named user
/// (replication, Sentinel monitoring and peers, the scripts' operator) keeps its minimal rules, so
/// every scenario runs them. [`restricted_deployment`] is the one with the gateway's own rules.
pub fn test_deployment() -> Deployment {
    let mut d = restricted_deployment();
    d.redis.acl.gateway = gatehouse_model::GatewayAccess::Unrestricted;
    d
}

/// [`test_deployment`] with every ACL user as rendered by default, the gateway's restricted.
pub fn restricted_deployment() -> Deployment {
    let mut d = Deployment::guide_example();
    d.redis.sentinel.down_after_milliseconds = TEST_DOWN_AFTER_MS;
    d
}

/// [`test_deployment`] with `redis.tls` on (certificate from an existing Secret, which the
/// harness makes with openssl; with mutual TLS the gateway's own client Secret `redis-tls-gateway`)
/// and `client_auth` as given: what the TLS tests and the TLS rows of `cargo xtask failover-report`
/// run.
pub fn tls_test_deployment(client_auth: gatehouse_model::TlsClientAuth) -> Deployment {
    let mut d = test_deployment();
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(gatehouse_model::TlsCertificateSource::Secret {
        name: "redis-tls".into(),
        client_secret: (client_auth == gatehouse_model::TlsClientAuth::Required)
            .then(|| "redis-tls-gateway".into()),
    });
    d.redis.tls.client_auth = client_auth;
    d
}

/// A data node or a Sentinel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A Redis data node (master or replica).
    Data,
    /// A Sentinel.
    Sentinel,
}

/// One pod as a local process.
#[derive(Debug)]
pub struct Pod {
    /// `<statefulset>-<ordinal>`.
    pub name: String,
    /// Data node or Sentinel.
    pub role: Role,
    /// Its own loopback address ([`pod_address`]), which it listens on, announces and sends from.
    pub host: std::net::Ipv4Addr,
    /// Its port.
    pub port: u16,
    /// Its working directory (holds `config/`, `data/` and the logs).
    pub dir: PathBuf,
    env: Vec<(String, String)>,
    values: LoopbackValues,
    /// The environment of its next start, when a Secret it reads changed since it started (the
    /// kubelet resolves `secretKeyRef` variables when a container starts).
    next_env: Option<Vec<(String, String)>>,
    pub(crate) process: Option<ManagedProcess>,
    starts: u32,
}

impl Pod {
    /// `<address>:<port>`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The copy of the rendered ConfigMap files this pod runs (see [`Cluster::prepare`]).
    pub fn template_dir(&self) -> PathBuf {
        self.dir.join("templates")
    }

    /// Whether the process is running (was started and not killed).
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// The log of the current (or last) start.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(format!("start-{}.log", self.starts.max(1)))
    }

    /// The text of the current log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Its next start gets `container`'s environment (a new release's pod spec).
    pub(crate) fn set_next_env(&mut self, container: &Container) -> Result<(), HarnessError> {
        self.next_env = Some(loopback_env(container, &self.values)?);
        Ok(())
    }

    /// The environment the pod's processes get (the mapped rendered env).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }
}

/// What Sentinel says about the master, asked of every running Sentinel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelView {
    /// Index of the Sentinel.
    pub sentinel: usize,
    /// The master port it reports (`None`: no answer).
    pub master_port: Option<u16>,
}

/// The cluster: temp directory, rendered templates, pods, leased ports.
#[derive(Debug)]
pub struct Cluster {
    /// Data nodes, ordinal order (node 0 is the bootstrap master).
    pub data: Vec<Pod>,
    /// Sentinels, ordinal order.
    pub sentinels: Vec<Pod>,
    /// The password.
    pub password: String,
    /// The Sentinel master group name.
    pub master_name: String,
    /// Whether the Sentinels require the password.
    pub sentinel_auth: bool,
    /// The chart line (`MAJOR.MINOR`) of the deployment's gateway (the gateway-shaped client's).
    pub chart_line: &'static str,
    /// `down-after-milliseconds` in force.
    pub down_after: Duration,
    /// How clients reach the processes: TLS trusting the test CA when the rendered pods speak TLS
    /// (with the group's own key pair as client certificate, which mutual TLS needs).
    pub transport: Transport,
    /// The test certificates (the TLS Secret's files), when the rendered pods speak TLS.
    pub tls: Option<TlsFiles>,
    pub(crate) template_dir: PathBuf,
    pub(crate) rendered: RenderedRedis,
    _leases: Vec<PortLease>,
    // Declared last: removed after every process is gone.
    dir: TempDir,
}

impl Cluster {
    /// Renders `deployment`, writes the ConfigMap files, starts every Sentinel and data node at
    /// once (like `podManagementPolicy: Parallel`) and waits until the group is healthy.
    pub async fn start(deployment: Deployment, password: &str) -> Result<Cluster, HarnessError> {
        let mut cluster = Cluster::prepare(deployment, password)?;
        cluster.start_all()?;
        let replicas = cluster.data.len() - 1;
        cluster
            .wait_converged(replicas, Duration::from_secs(60))
            .await?;
        Ok(cluster)
    }

    /// Starts every Sentinel, then every data node, without waiting (a prepared cluster's pods,
    /// all at once as `podManagementPolicy: Parallel` does).
    pub fn start_all(&mut self) -> Result<(), HarnessError> {
        for i in 0..self.sentinels.len() {
            self.start_pod(Role::Sentinel, i)?;
        }
        for i in 0..self.data.len() {
            self.start_pod(Role::Data, i)?;
        }
        Ok(())
    }

    /// Renders and lays out the cluster without starting anything.
    pub fn prepare(deployment: Deployment, password: &str) -> Result<Cluster, HarnessError> {
        Cluster::prepare_release(deployment, password, None)
    }

    /// [`Cluster::prepare`] with the pods of `release` (rendered by another gatehouse release,
    /// [`RenderedRedis::from_json`]) instead of `deployment`'s own rendering; `deployment` still
    /// gives the group's shape (pods, names, ports), which must be `release`'s.
    pub fn prepare_release(
        deployment: Deployment,
        password: &str,
        release: Option<RenderedRedis>,
    ) -> Result<Cluster, HarnessError> {
        let valid: ValidDeployment =
            deployment.validated().map_err(|e| HarnessError::Rendered {
                message: format!("the test deployment is invalid: {e}"),
            })?;
        let d = valid.deployment();
        let rendered = match release {
            Some(release) => release,
            None => RenderedRedis::of(&valid)?,
        };
        let data_count = d.redis.data_nodes() as usize;
        let sentinel_count = d.redis.sentinel.count as usize;
        let leases = lease_ports(data_count + sentinel_count)?;
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-ha-")
            .tempdir()
            .map_err(|source| HarnessError::Io {
                what: "create a temp directory".into(),
                source,
            })?;
        let template_dir = dir.path().join("templates");
        write_files(&template_dir, &rendered, None)?;
        let data_ports: Vec<u16> = leases[..data_count].iter().map(PortLease::port).collect();
        let sentinel_ports: Vec<u16> = leases[data_count..].iter().map(PortLease::port).collect();
        let tls_dir = dir.path().join("tls");
        let tls = rendered
            .data
            .env
            .iter()
            .flatten()
            .any(|v| v.name == "REDIS_TLS" && v.value.as_deref() == Some("yes"))
            .then(|| {
                // The names a rendered Certificate carries (what clients dial in a cluster), plus
                // each pod's loopback address, which clients dial here.
                let ips: Vec<_> = leases.iter().map(|l| pod_address(l.port())).collect();
                crate::tls::generate(
                    &tls_dir,
                    &CertRequest {
                        common_name: &rendered.names.data_statefulset,
                        ips: &ips,
                        dns: &rendered.names.tls_dns_names(),
                        days: 30,
                    },
                )
            })
            .transpose()?;
        let transport = match &tls {
            None => Transport::Plain,
            Some(files) => {
                Transport::tls_from_files(Some(&files.ca()), Some((&files.cert(), &files.key())))
                    .map_err(|source| HarnessError::Io {
                        what: "read the test certificates".into(),
                        source,
                    })?
            }
        };
        let sentinels_env = sentinel_ports
            .iter()
            .map(|&p| format!("{}:{p}", pod_address(p)))
            .collect::<Vec<_>>()
            .join(" ");
        let make_pods = |role: Role, ports: &[u16], container: &Container, sts: &str| {
            ports
                .iter()
                .enumerate()
                .map(|(i, &port)| {
                    let name = format!("{sts}-{i}");
                    let pod_dir = dir.path().join(&name);
                    std::fs::create_dir_all(&pod_dir).map_err(|source| HarnessError::Io {
                        what: format!("create {}", pod_dir.display()),
                        source,
                    })?;
                    let host = pod_address(port);
                    // Each pod reads its own copy of the ConfigMap, which differs from the rendered
                    // one in one line: `bind-source-addr <its address>`, so that its outgoing
                    // connections (replication, Sentinel links) come from its own address as they
                    // would from a pod IP, and partitions can be made by address.
                    write_files(&pod_dir.join("templates"), &rendered, Some(host))?;
                    let values = LoopbackValues {
                        pod_name: name.clone(),
                        announce_host: host.to_string(),
                        password: password.to_string(),
                        sentinels: sentinels_env.clone(),
                        bootstrap_master: format!(
                            "{}:{}",
                            pod_address(data_ports[0]),
                            data_ports[0]
                        ),
                        redis_port: if role == Role::Data {
                            port
                        } else {
                            data_ports[0]
                        },
                        sentinel_port: if role == Role::Sentinel {
                            port
                        } else {
                            sentinel_ports[0]
                        },
                        template_dir: pod_dir.join("templates").display().to_string(),
                        config_dir: pod_dir.join("config").display().to_string(),
                        data_dir: pod_dir.join("data").display().to_string(),
                        tls_dir: tls_dir.display().to_string(),
                    };
                    Ok(Pod {
                        name,
                        role,
                        host,
                        port,
                        dir: pod_dir,
                        env: loopback_env(container, &values)?,
                        values,
                        next_env: None,
                        process: None,
                        starts: 0,
                    })
                })
                .collect::<Result<Vec<_>, HarnessError>>()
        };
        let data = make_pods(
            Role::Data,
            &data_ports,
            &rendered.data,
            &rendered.names.data_statefulset,
        )?;
        let sentinels = make_pods(
            Role::Sentinel,
            &sentinel_ports,
            &rendered.sentinel,
            &rendered.names.sentinel_statefulset,
        )?;
        Ok(Cluster {
            data,
            sentinels,
            password: password.to_string(),
            master_name: d.redis.master_name.clone(),
            sentinel_auth: d.redis.sentinel.auth,
            chart_line: gatehouse_model::acl::chart_line(&d.gateway.version),
            down_after: Duration::from_millis(d.redis.sentinel.down_after_milliseconds.into()),
            transport,
            tls,
            template_dir,
            rendered,
            _leases: leases,
            dir,
        })
    }

    /// The temp directory of the cluster.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Where the rendered ConfigMap files were written (as rendered; each pod runs its own copy,
    /// [`Pod::template_dir`]).
    pub fn template_dir(&self) -> &Path {
        &self.template_dir
    }

    /// The rendered objects the cluster runs.
    pub fn rendered(&self) -> &RenderedRedis {
        &self.rendered
    }

    fn pods(&self, role: Role) -> &Vec<Pod> {
        match role {
            Role::Data => &self.data,
            Role::Sentinel => &self.sentinels,
        }
    }

    pub(crate) fn pods_mut(&mut self, role: Role) -> &mut Vec<Pod> {
        match role {
            Role::Data => &mut self.data,
            Role::Sentinel => &mut self.sentinels,
        }
    }

    fn container(&self, role: Role) -> &Container {
        match role {
            Role::Data => &self.rendered.data,
            Role::Sentinel => &self.rendered.sentinel,
        }
    }

    /// Starts pod `i` with the rendered container command (`sh <TEMPLATE_DIR>/start-*.sh`).
    pub fn start_pod(&mut self, role: Role, i: usize) -> Result<(), HarnessError> {
        let command = self.container(role).command.clone().unwrap_or_default();
        let template_dir = self.pods(role)[i].template_dir();
        let argv = loopback_command(&command, &template_dir.display().to_string())?;
        let pod = &mut self.pods_mut(role)[i];
        if pod.process.is_some() {
            return Err(HarnessError::State {
                message: format!("{} is already running", pod.name),
            });
        }
        pod.starts += 1;
        if let Some(env) = pod.next_env.take() {
            pod.env = env;
        }
        let launch = Launch {
            argv,
            env: pod.env.clone(),
            log: pod.log_path(),
            as_nobody: false,
        };
        pod.process = Some(ManagedProcess::spawn(&launch)?);
        Ok(())
    }

    /// Writes the Secret of password variable `variable` (one of
    /// `gatehouse_render::redis_files::PASSWORD_ENV`): its key becomes `value`, its rotation keys
    /// `<key>.next`/`<key>.previous` become `next`/`previous` (absent when `None`). Running
    /// processes keep what they started with; each pod that reads the variable gets the new values
    /// at its next start, as from a `secretKeyRef`. Returns how many pods read it.
    pub fn write_password(
        &mut self,
        variable: &str,
        value: &str,
        next: Option<&str>,
        previous: Option<&str>,
    ) -> usize {
        let mut readers = 0;
        for role in [Role::Data, Role::Sentinel] {
            let declared: Vec<String> = self
                .container(role)
                .env
                .iter()
                .flatten()
                .map(|v| v.name.clone())
                .collect();
            if !declared.iter().any(|n| n == variable) {
                continue;
            }
            for pod in self.pods_mut(role) {
                readers += 1;
                let mut env = pod.next_env.take().unwrap_or_else(|| pod.env.clone());
                let next_name = format!("{variable}_NEXT");
                let previous_name = format!("{variable}_PREVIOUS");
                env.retain(|(k, _)| *k != next_name && *k != previous_name);
                for (k, v) in env.iter_mut() {
                    if k == variable {
                        *v = value.to_string();
                    }
                }
                for (name, extra) in [(next_name, next), (previous_name, previous)] {
                    if let Some(extra) = extra
                        && declared.contains(&name)
                    {
                        env.push((name, extra.to_string()));
                    }
                }
                pod.next_env = Some(env);
            }
        }
        readers
    }

    /// SIGKILLs pod `i` (its whole process group) and waits until it is reaped.
    pub async fn kill_pod(&mut self, role: Role, i: usize) -> Result<(), HarnessError> {
        let pod = &mut self.pods_mut(role)[i];
        match pod.process.take() {
            Some(process) => process.kill().await,
            None => Err(HarnessError::State {
                message: format!("{} is not running", pod.name),
            }),
        }
    }

    /// Sends `signal` to pod `i`'s process group.
    pub fn signal_pod(
        &self,
        role: Role,
        i: usize,
        signal: rustix::process::Signal,
    ) -> Result<(), HarnessError> {
        let pod = &self.pods(role)[i];
        match &pod.process {
            Some(process) => {
                process.signal(signal);
                Ok(())
            }
            None => Err(HarnessError::State {
                message: format!("{} is not running", pod.name),
            }),
        }
    }

    /// What the kubelet does for a container that exited (`restartPolicy: Always`): starts again
    /// every pod whose process exited by itself. Returns the names of the restarted pods.
    pub fn restart_exited(&mut self) -> Result<Vec<String>, HarnessError> {
        let mut restarted = Vec::new();
        for role in [Role::Sentinel, Role::Data] {
            for i in 0..self.pods(role).len() {
                let pod = &mut self.pods_mut(role)[i];
                let exited = pod.process.as_mut().is_some_and(|p| p.has_exited());
                if exited {
                    pod.process = None;
                    restarted.push(pod.name.clone());
                    self.start_pod(role, i)?;
                }
            }
        }
        Ok(restarted)
    }

    /// Runs one of the pod's rendered exec hooks (`readiness`, `liveness`, `preStop`) as the
    /// kubelet would, with the pod's environment; returns whether it succeeded, and its output.
    pub async fn run_hook(
        &self,
        role: Role,
        i: usize,
        hook: Hook,
        limit: Duration,
    ) -> Result<(bool, String), HarnessError> {
        let container = self.container(role);
        let action = match hook {
            Hook::Readiness => container
                .readiness_probe
                .as_ref()
                .and_then(|p| p.exec.as_ref()),
            Hook::Liveness => container
                .liveness_probe
                .as_ref()
                .and_then(|p| p.exec.as_ref()),
            Hook::PreStop => container
                .lifecycle
                .as_ref()
                .and_then(|l| l.pre_stop.as_ref())
                .and_then(|h| h.exec.as_ref()),
        };
        let command = exec_command(action, &format!("{hook:?}"))?;
        let pod = &self.pods(role)[i];
        let argv = loopback_command(&command, &pod.template_dir().display().to_string())?;
        let log = pod.dir.join(format!(
            "{hook:?}-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        let launch = Launch {
            argv,
            env: pod.env.clone(),
            log,
            as_nobody: false,
        };
        let (status, output) = run_to_end(&launch, limit).await?;
        Ok((status.success(), output))
    }

    /// An authenticated connection to data node `i`.
    pub async fn data_conn(&self, i: usize) -> Result<Connection, RespError> {
        Connection::connect_with(
            &self.data[i].addr(),
            Some(&self.password),
            &self.transport,
            QUERY_LIMIT,
        )
        .await
    }

    /// A connection to Sentinel `i`, authenticated when Sentinel auth is on.
    pub async fn sentinel_conn(&self, i: usize) -> Result<Connection, RespError> {
        let password = self.sentinel_auth.then_some(self.password.as_str());
        Connection::connect_with(
            &self.sentinels[i].addr(),
            password,
            &self.transport,
            QUERY_LIMIT,
        )
        .await
    }

    /// The master port Sentinel `i` reports.
    pub async fn sentinel_master_port(&self, i: usize) -> Result<u16, RespError> {
        let mut c = self.sentinel_conn(i).await?;
        let reply = c
            .ok(&["SENTINEL", "get-master-addr-by-name", &self.master_name])
            .await?;
        parse_master_addr(&reply).ok_or_else(|| RespError::Protocol {
            addr: c.addr().to_string(),
            message: format!("no master address in {reply:?}"),
        })
    }

    /// What every running Sentinel reports.
    pub async fn sentinel_views(&self) -> Vec<SentinelView> {
        let mut views = Vec::new();
        for (i, pod) in self.sentinels.iter().enumerate() {
            if pod.is_running() {
                views.push(SentinelView {
                    sentinel: i,
                    master_port: self.sentinel_master_port(i).await.ok(),
                });
            }
        }
        views
    }

    /// Index of the data node listening on `port`.
    pub fn data_index(&self, port: u16) -> Option<usize> {
        self.data.iter().position(|p| p.port == port)
    }

    /// `INFO replication` of data node `i`.
    pub async fn replication(
        &self,
        i: usize,
    ) -> Result<std::collections::BTreeMap<String, String>, RespError> {
        self.data_conn(i).await?.info("replication").await
    }

    /// Indexes of the running data nodes that say they are a master.
    pub async fn masters(&self) -> Vec<usize> {
        let mut masters = Vec::new();
        for (i, pod) in self.data.iter().enumerate() {
            if pod.is_running()
                && let Ok(info) = self.replication(i).await
                && info.get("role").map(String::as_str) == Some("master")
            {
                masters.push(i);
            }
        }
        masters
    }

    /// One fact-finding pass: `Ok(master index)` when every running Sentinel reports the same
    /// master, it is running and says it is a master with at least `replicas` connected replicas,
    /// every other running data node is its replica with the link up, and every Sentinel knows the
    /// others. `Err(reason)` otherwise.
    pub async fn converged(&self, replicas: usize) -> Result<usize, String> {
        let views = self.sentinel_views().await;
        let ports: Vec<Option<u16>> = views.iter().map(|v| v.master_port).collect();
        let Some(Some(port)) = ports.first().copied() else {
            return Err(format!("Sentinels report {ports:?}"));
        };
        if ports.iter().any(|p| *p != Some(port)) {
            return Err(format!("Sentinels disagree: {ports:?}"));
        }
        let Some(master) = self.data_index(port) else {
            return Err(format!("Sentinels report unknown port {port}"));
        };
        if !self.data[master].is_running() {
            return Err(format!(
                "Sentinels report {} which is down",
                self.data[master].name
            ));
        }
        let info = self.replication(master).await.map_err(|e| e.to_string())?;
        let connected: usize = info
            .get("connected_slaves")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if info.get("role").map(String::as_str) != Some("master") || connected < replicas {
            return Err(format!(
                "{}: role {:?}, {connected} replicas",
                self.data[master].name,
                info.get("role")
            ));
        }
        for (i, pod) in self.data.iter().enumerate() {
            if i == master || !pod.is_running() {
                continue;
            }
            let info = self.replication(i).await.map_err(|e| e.to_string())?;
            let ok = info.get("role").map(String::as_str) == Some("slave")
                && info.get("master_port").map(String::as_str) == Some(&port.to_string())
                && info.get("master_link_status").map(String::as_str) == Some("up")
                && info.get("master_sync_in_progress").map(String::as_str) == Some("0");
            if !ok {
                return Err(format!(
                    "{} is not a synced replica of {port}: {info:?}",
                    pod.name
                ));
            }
        }
        let running = self.sentinels.iter().filter(|p| p.is_running()).count();
        for view in &views {
            let others = self
                .sentinel_master_field(view.sentinel, "num-other-sentinels")
                .await
                .unwrap_or_default();
            if others.parse::<usize>().unwrap_or(0) + 1 < running {
                return Err(format!(
                    "Sentinel {} knows {others} other Sentinels",
                    view.sentinel
                ));
            }
            // A Sentinel learns replicas from the master's INFO (every 10 s). Until it knows them,
            // a failover aborts with -failover-abort-no-good-slave, and a replica it never saw is
            // not reconfigured to follow the new master.
            let known = self
                .sentinel_master_field(view.sentinel, "num-slaves")
                .await
                .unwrap_or_default();
            if known.parse::<usize>().unwrap_or(0) < replicas {
                return Err(format!("Sentinel {} knows {known} replicas", view.sentinel));
            }
        }
        Ok(master)
    }

    /// Polls [`Cluster::converged`] until it holds (at most `limit`).
    pub async fn wait_converged(
        &self,
        replicas: usize,
        limit: Duration,
    ) -> Result<usize, HarnessError> {
        let deadline = Instant::now() + limit;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.converged(replicas).await {
                Ok(master) => return Ok(master),
                Err(reason) => last = reason,
            }
            tokio::time::sleep(POLL).await;
        }
        Err(HarnessError::NotConverged {
            limit,
            last,
            logs: self.log_tails(),
        })
    }

    /// One field of `SENTINEL MASTER <name>` from Sentinel `i`.
    pub async fn sentinel_master_field(&self, i: usize, field: &str) -> Result<String, RespError> {
        let mut c = self.sentinel_conn(i).await?;
        let reply = c.ok(&["SENTINEL", "MASTER", &self.master_name]).await?;
        let items = match reply {
            Reply::Array(Some(items)) => items,
            other => {
                return Err(RespError::Protocol {
                    addr: c.addr().into(),
                    message: format!("SENTINEL MASTER answered {other:?}"),
                });
            }
        };
        let texts: Vec<String> = items.iter().filter_map(Reply::as_text).collect();
        Ok(texts
            .chunks(2)
            .find(|kv| kv[0] == field)
            .and_then(|kv| kv.get(1).cloned())
            .unwrap_or_default())
    }

    /// The last lines of every pod's log, for failure messages.
    pub fn log_tails(&self) -> String {
        let mut out = String::new();
        for pod in self.data.iter().chain(&self.sentinels) {
            let log = pod.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(15)..];
            out.push_str(&format!(
                "--- {} ({}) ---\n{}\n",
                pod.name,
                pod.port,
                tail.join("\n")
            ));
        }
        out
    }
}

/// A rendered exec hook of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `readinessProbe.exec`.
    Readiness,
    /// `livenessProbe.exec`.
    Liveness,
    /// `lifecycle.preStop.exec`.
    PreStop,
}

/// The port of a `get-master-addr-by-name` reply.
pub fn parse_master_addr(reply: &Reply) -> Option<u16> {
    parse_master_host_port(reply).map(|(_, port)| port)
}

/// Host and port of a `get-master-addr-by-name` reply.
pub fn parse_master_host_port(reply: &Reply) -> Option<(String, u16)> {
    match reply {
        Reply::Array(Some(items)) if items.len() == 2 => {
            Some((items[0].as_text()?, items[1].as_text()?.parse().ok()?))
        }
        _ => None,
    }
}

pub(crate) fn write_files(
    dir: &Path,
    rendered: &RenderedRedis,
    source_address: Option<std::net::Ipv4Addr>,
) -> Result<(), HarnessError> {
    std::fs::create_dir_all(dir).map_err(|source| HarnessError::Io {
        what: format!("create {}", dir.display()),
        source,
    })?;
    for (name, text) in &rendered.files {
        let path = dir.join(name);
        let text = match source_address {
            Some(host) if name.ends_with(".conf") => format!("{text}\nbind-source-addr {host}\n"),
            _ => text.clone(),
        };
        // Replaced, not written over: the previous copy is read-only (see below).
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, text).map_err(|source| HarnessError::Io {
            what: format!("write {}", path.display()),
            source,
        })?;
        use std::os::unix::fs::PermissionsExt;
        // The ConfigMap volume's defaultMode.
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444));
    }
    Ok(())
}
