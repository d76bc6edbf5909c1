//! Apply cost: requests per deploy against the in-memory API server, and deploy time beside
//! `kubectl apply --server-side -f` of the same objects, whole process against whole process, cold
//! (first run; kubectl with an empty discovery cache) and warm (repeated without change; kubectl
//! with its warm cache), on that server; and on a real cluster when `GATEHOUSE_E2E=1` and
//! `KUBECONFIG` point at one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gatehouse_apply::{Cluster, ConnectOptions, DeployOptions, RequestCounts};
use gatehouse_kube_mock::{MockApiServer, RecordedRequest};
use gatehouse_render::Rendered;

use super::Sample;

/// The requests a mock server recorded, counted with the classifier of gatehouse's own
/// request-counting layer, so that both sides are counted alike.
fn server_counts(requests: &[RecordedRequest]) -> RequestCounts {
    RequestCounts::of(
        requests
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.raw_query.as_deref())),
    )
}

/// The requests kubectl reported with `-v=6`: one `round_trippers.go` line per response, in the
/// structured form of kubectl ≥ 1.30 (`"Response" verb="GET" url="https://…/api?timeout=32s"
/// status="200 OK" milliseconds=5`) or the older plain one (`GET https://…/api?timeout=32s 200 OK
/// in 5 milliseconds`).
pub fn kubectl_log_counts(stderr: &str) -> RequestCounts {
    let mut requests: Vec<(String, String, Option<String>)> = Vec::new();
    for line in stderr.lines().filter(|l| l.contains("round_trippers.go")) {
        let (method, url) = if let Some((_, rest)) = line.split_once("\"Response\" verb=\"") {
            let (method, rest) = rest.split_once('"').unwrap_or_default();
            let url = rest
                .split_once("url=\"")
                .and_then(|(_, u)| u.split_once('"'))
                .map(|(u, _)| u)
                .unwrap_or_default();
            (method, url)
        } else {
            let Some((_, message)) = line.split_once("] ") else {
                continue;
            };
            let mut words = message.split_whitespace();
            match (words.next(), words.next()) {
                (Some(method), Some(url)) if url.contains("://") => (method, url),
                _ => continue,
            }
        };
        if method.is_empty() || !url.contains("://") {
            continue;
        }
        let after_host = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        let (path, query) = match after_host.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (after_host, None),
        };
        requests.push((method.to_string(), path.to_string(), query));
    }
    RequestCounts::of(
        requests
            .iter()
            .map(|(m, p, q)| (m.as_str(), p.as_str(), q.as_deref())),
    )
}

/// The Google Cloud SDK installs `kubectl` as a dispatcher (`kubectl version --client` says
/// `v1.32.4-dispatcher`) that asks the server's `/version` to pick the kubectl to run; that request
/// is sent by the dispatcher, outside kubectl's `-v=6` log, so it is added to the log's count.
fn dispatcher_requests() -> RequestCounts {
    static DISPATCHER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let dispatcher = *DISPATCHER.get_or_init(|| {
        Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("-dispatcher"))
    });
    RequestCounts::of(dispatcher.then_some(("GET", "/version", None)))
}

/// `n requests (x per object)`.
fn per_object(counts: &RequestCounts, objects: usize) -> String {
    format!(
        "{counts}; {:.2} per object ({objects} objects)",
        counts.total() as f64 / objects as f64
    )
}

/// gatehouse's requests per object over kubectl's (`theirs` requests for `their_objects`).
fn ratio(ours: &RequestCounts, our_objects: usize, theirs: usize, their_objects: usize) -> String {
    let ours = ours.total() as f64 / our_objects as f64;
    format!("{:.2}×", ours / (theirs as f64 / their_objects as f64))
}

/// What the apply part measured.
pub struct ApplyReport {
    /// Lines for the report.
    pub lines: Vec<String>,
    /// Timed rows: name and samples.
    pub rows: Vec<(String, Sample)>,
}

fn deploy_options() -> DeployOptions {
    DeployOptions {
        skip_release: true,
        timeout: Duration::from_secs(60),
        ..DeployOptions::default()
    }
}

/// Placeholder secret values for `from: env` sources; the mock server never shows them anywhere.
fn bench_env(_variable: &str) -> Option<String> {
    Some("bench-only-value".into())
}

/// One deploy as the CLI makes it (connect, then deploy): its time, the number of objects it
/// handled and the requests it sent, counted by gatehouse's own request-counting layer.
async fn deploy_counted(
    kubeconfig: &Path,
    rendered: &Rendered,
) -> Result<(Duration, usize, RequestCounts), String> {
    let start = Instant::now();
    let cluster = Cluster::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        context: None,
    })
    .await
    .map_err(|e| format!("connect: {e}"))?;
    let report = cluster
        .deploy_with_env(rendered, &deploy_options(), &bench_env)
        .await
        .map_err(|e| format!("deploy: {e}"))?;
    Ok((start.elapsed(), report.objects.len(), cluster.requests()))
}

/// `kubectl apply --server-side -f`. The mock server serves no OpenAPI document, so kubectl's
/// client-side schema download is turned off there (`mock`); a real cluster keeps the default.
/// Each call gets an empty discovery cache unless `cache` names one to reuse (warm). With `log`,
/// kubectl runs with `-v=6` and its requests are counted from the log (timed runs go without it).
fn kubectl_apply(
    kubeconfig: &Path,
    manifests: &Path,
    mock: bool,
    log: bool,
) -> Result<(Duration, RequestCounts), String> {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = manifests.with_file_name(format!("kubectl-cache-{call}"));
    kubectl_apply_cached(kubeconfig, manifests, mock, log, &cache)
}

/// [`kubectl_apply`] with the discovery cache in `cache` (kept between calls: warm after the
/// first).
fn kubectl_apply_cached(
    kubeconfig: &Path,
    manifests: &Path,
    mock: bool,
    log: bool,
    cache: &Path,
) -> Result<(Duration, RequestCounts), String> {
    let start = Instant::now();
    let output = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .args(["apply", "--server-side", "--field-manager", "kubectl-bench"])
        .args(mock.then_some("--validate=false"))
        .args(log.then_some("-v=6"))
        .arg("-f")
        .arg(manifests)
        .output()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        return Err(format!(
            "kubectl apply --server-side failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok((
        elapsed,
        kubectl_log_counts(&String::from_utf8_lossy(&output.stderr)) + dispatcher_requests(),
    ))
}

/// The `gatehouse` binary of the profile this bench runs in (built here when it is missing or
/// stale: cargo decides), so that it is timed as a process like kubectl.
fn gatehouse_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let dir = exe.parent().ok_or("the bench binary has no directory")?;
    let release = dir.file_name().is_some_and(|n| n == "release");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["build", "--quiet", "-p", "gatehouse", "--bin", "gatehouse"])
        .args(release.then_some("--release"))
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("cargo build -p gatehouse --bin gatehouse failed".into());
    }
    let binary = dir.join("gatehouse");
    binary
        .is_file()
        .then_some(binary)
        .ok_or_else(|| format!("no gatehouse binary beside {}", exe.display()))
}

/// One `gatehouse deploy --skip-release` of the built-in example as a process (what a user runs;
/// the example is what the bench renders), timed from spawn to exit.
fn gatehouse_process(binary: &Path, kubeconfig: &Path) -> Result<Duration, String> {
    let start = Instant::now();
    let output = Command::new(binary)
        .args([
            "deploy",
            "--skip-release",
            "--timeout",
            "60s",
            "--kubeconfig",
        ])
        .arg(kubeconfig)
        .env("GATEHOUSE_REDIS_PASSWORD", "bench-only-value")
        .env("GRAVITEE_LICENSE_KEY", "bench-only-value")
        .env("GRAVITEE_CLOUD_TOKEN", "bench-only-value")
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot run gatehouse: {e}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        return Err(format!(
            "gatehouse deploy failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(elapsed)
}

/// Process against process on the mock API server, cold and warm: `gatehouse deploy` as a first
/// deploy (fresh server) and repeated without change (same server: gatehouse keeps no cache), and
/// `kubectl apply --server-side` of the same objects first with an empty discovery cache (fresh
/// server) and repeated with its warm cache (same server, same `--cache-dir`).
fn process_rows(
    manifests: &Path,
    work: &Path,
    iterations: usize,
    kubectl: bool,
) -> Result<Vec<(String, Sample)>, String> {
    let binary = gatehouse_binary()?;
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..iterations {
        let server = MockApiServer::start();
        let kubeconfig = server.write_kubeconfig(work);
        cold.push(gatehouse_process(&binary, &kubeconfig)?);
        warm.push(gatehouse_process(&binary, &kubeconfig)?);
    }
    let mut rows = vec![
        (
            "gatehouse deploy (process), cold: first deploy".to_string(),
            sample(&cold),
        ),
        (
            "gatehouse deploy (process), warm: repeated, no change".to_string(),
            sample(&warm),
        ),
    ];
    if kubectl {
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for i in 0..iterations {
            let server = MockApiServer::start();
            let kubeconfig = server.write_kubeconfig(work);
            let cache = work.join(format!("kubectl-warm-cache-{i}"));
            let _ = std::fs::remove_dir_all(&cache);
            cold.push(kubectl_apply_cached(&kubeconfig, manifests, true, false, &cache)?.0);
            warm.push(kubectl_apply_cached(&kubeconfig, manifests, true, false, &cache)?.0);
        }
        rows.push((
            "kubectl apply --server-side (process), cold: first apply, empty discovery cache"
                .to_string(),
            sample(&cold),
        ));
        rows.push((
            "kubectl apply --server-side (process), warm: repeated, no change, warm discovery cache"
                .to_string(),
            sample(&warm),
        ));
    }
    Ok(rows)
}

fn sample(times: &[Duration]) -> Sample {
    Sample {
        ns: times.iter().map(|d| d.as_nanos() as u64).collect(),
        max_rss_kb: -1,
    }
}

/// Measures the apply cost against fresh in-memory API servers (and a real one when asked).
pub fn measure(
    rendered: &Rendered,
    work: &Path,
    iterations: usize,
    kubectl: bool,
) -> Result<ApplyReport, String> {
    // kube's rustls needs a process-wide crypto provider; the binary chooses it (ring). An error
    // only means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let manifests = work.join("apply-manifests.yaml");
    std::fs::write(&manifests, rendered.manifests_yaml())
        .map_err(|e| format!("{}: {e}", manifests.display()))?;
    let mut lines = Vec::new();

    // Requests of a first deploy and of a re-deploy with no change, each a connect + deploy as
    // the CLI makes it, counted by gatehouse's request-counting layer. The server's own count
    // must agree (a check of the layer).
    let server = MockApiServer::start();
    let kubeconfig = server.write_kubeconfig(work);
    let (_, objects, first) = runtime.block_on(deploy_counted(&kubeconfig, rendered))?;
    let first_server = server_counts(&server.requests());
    server.clear_requests();
    let (_, _, again) = runtime.block_on(deploy_counted(&kubeconfig, rendered))?;
    let again_server = server_counts(&server.requests());
    if first != first_server || again != again_server {
        return Err(format!(
            "gatehouse's request count disagrees with the mock API server's: client {first} / {again}, server {first_server} / {again_server}"
        ));
    }
    drop(server);
    lines.push(format!(
        "gatehouse first deploy (mock API server): {}",
        per_object(&first, objects)
    ));
    lines.push(format!(
        "gatehouse re-deploy, no change (mock API server): {}, {} writes",
        per_object(&again, objects),
        again.writes()
    ));

    // Timed whole process against whole process (start-up, connect, apply, exit on both sides).
    let mut rows = process_rows(&manifests, work, iterations, kubectl)?;

    let kubectl_objects = rendered.objects.len();
    if kubectl {
        let server = MockApiServer::start();
        let kubeconfig = server.write_kubeconfig(work);
        let (_, logged) = kubectl_apply(&kubeconfig, &manifests, true, true)?;
        let kubectl_first = server_counts(&server.requests());
        // The same apply again: kubectl's no-op re-apply, beside gatehouse's no-op re-deploy.
        server.clear_requests();
        let (_, logged_again) = kubectl_apply(&kubeconfig, &manifests, true, true)?;
        let kubectl_again = server_counts(&server.requests());
        drop(server);
        // The `-v=6` log count is what a real cluster gives; on the mock it must match the server.
        let log_check = if (&logged, &logged_again) == (&kubectl_first, &kubectl_again) {
            "its -v=6 log counts the same".to_string()
        } else {
            format!("its -v=6 log counts {logged} / {logged_again}: MISMATCH")
        };
        lines.push(format!(
            "kubectl apply --server-side, first (mock API server, empty discovery cache): {}; gatehouse makes {} kubectl's requests per object",
            per_object(&kubectl_first, kubectl_objects),
            ratio(&first, objects, kubectl_first.total(), kubectl_objects)
        ));
        lines.push(format!(
            "kubectl re-apply, no change (mock API server): {}; gatehouse makes {} kubectl's requests per object ({} of kubectl's without its discovery); {log_check}",
            per_object(&kubectl_again, kubectl_objects),
            ratio(&again, objects, kubectl_again.total(), kubectl_objects),
            // kubectl keeps a discovery cache between runs; gatehouse needs only `/version`.
            ratio(
                &again,
                objects,
                kubectl_again.total() - kubectl_again.discovery(),
                kubectl_objects
            )
        ));
    }

    if std::env::var("GATEHOUSE_E2E").as_deref() == Ok("1") {
        let kubeconfig = std::env::var("KUBECONFIG")
            .map(PathBuf::from)
            .map_err(|_| "GATEHOUSE_E2E=1 needs KUBECONFIG naming the cluster's kubeconfig")?;
        // Requests: a deploy (the first, unless an earlier run left the objects), then a no-op
        // re-deploy, counted by the layer; kubectl's from its -v=6 log.
        let (_, objects, first) = runtime.block_on(deploy_counted(&kubeconfig, rendered))?;
        let (_, _, again) = runtime.block_on(deploy_counted(&kubeconfig, rendered))?;
        lines.push(format!(
            "gatehouse deploy (real cluster): {}; re-deploy, no change: {}",
            per_object(&first, objects),
            per_object(&again, objects)
        ));
        if kubectl {
            let (_, theirs) = kubectl_apply(&kubeconfig, &manifests, false, true)?;
            lines.push(format!(
                "kubectl re-apply (real cluster, -v=6 log): {}; gatehouse's re-deploy makes {} kubectl's requests per object",
                per_object(&theirs, kubectl_objects),
                ratio(&again, objects, theirs.total(), kubectl_objects)
            ));
        }
        // Both as processes, warm: the objects exist (deployed above), and kubectl keeps one
        // discovery cache, filled by a first untimed apply.
        let binary = gatehouse_binary()?;
        let cache = work.join("kubectl-real-cluster-cache");
        if kubectl {
            kubectl_apply_cached(&kubeconfig, &manifests, false, false, &cache)?;
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..iterations {
            ours.push(gatehouse_process(&binary, &kubeconfig)?);
            if kubectl {
                theirs.push(kubectl_apply_cached(&kubeconfig, &manifests, false, false, &cache)?.0);
            }
        }
        rows.push((
            "gatehouse deploy (process, real cluster), warm: repeated, no change".to_string(),
            sample(&ours),
        ));
        if kubectl {
            rows.push((
                "kubectl apply --server-side (process, real cluster), warm: repeated, warm discovery cache".to_string(),
                sample(&theirs),
            ));
        }
    } else {
        lines.push(
            "real cluster: not measured (set GATEHOUSE_E2E=1 and KUBECONFIG to a disposable cluster to count and time deploy and kubectl there)".to_string(),
        );
    }
    Ok(ApplyReport { lines, rows })
}

#[cfg(test)]
mod tests {
    use gatehouse_apply::ApiVerb;

    use super::*;

    #[test]
    fn kubectl_request_lines_are_counted_in_both_log_forms() {
        let log = r#"I1203 15:01:48.664876   25565 loader.go:402] Config loaded from file:  kc.yaml
I1203 15:01:48.666725   25565 round_trippers.go:632] "Response" verb="GET" url="https://10.0.0.1:6443/version?timeout=32s" status="200 OK" milliseconds=1
I1203 15:01:48.666725   25565 round_trippers.go:632] "Response" verb="PATCH" url="https://10.0.0.1:6443/api/v1/namespaces/ns/configmaps/c?fieldManager=kubectl&force=false" status="200 OK" milliseconds=3
I1203 15:01:48.667000   25565 round_trippers.go:553] GET https://10.0.0.1:6443/apis/apps/v1/namespaces/ns/statefulsets 200 OK in 5 milliseconds
I1203 15:01:48.667100   25565 round_trippers.go:553] PATCH https://10.0.0.1:6443/api/v1/namespaces/ns/secrets/s?dryRun=All 200 OK in 2 milliseconds
I1203 15:01:48.667200   25565 cached_discovery.go:88] skipped caching discovery info
"#;
        let counts = kubectl_log_counts(log);
        assert_eq!(counts.total(), 4, "{counts}");
        assert_eq!(counts.verb(ApiVerb::Version), 1);
        assert_eq!(counts.verb(ApiVerb::List), 1);
        assert_eq!((counts.writes(), counts.dry_runs()), (1, 1));
    }

    /// kubectl's `-v=6` log, counted, equals what the mock API server received: the count the
    /// bench takes from a real cluster's kubectl runs is right.
    #[test]
    fn kubectl_log_counts_what_the_server_received() {
        if gatehouse_testkit::external_tool("kubectl", "install kubectl").is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let rendered = gatehouse_render::render(
            &gatehouse_model::Deployment::guide_example()
                .validated()
                .unwrap(),
        );
        let manifests = dir.path().join("objects.yaml");
        std::fs::write(&manifests, rendered.manifests_yaml()).unwrap();
        let server = MockApiServer::start();
        let kubeconfig = server.write_kubeconfig(dir.path());
        let (_, logged) = kubectl_apply(&kubeconfig, &manifests, true, true).unwrap();
        let received = server_counts(&server.requests());
        assert!(received.writes() >= rendered.objects.len(), "{received}");
        assert_eq!(logged, received);
        // A re-apply without change, too.
        server.clear_requests();
        let (_, logged) = kubectl_apply(&kubeconfig, &manifests, true, true).unwrap();
        assert_eq!(logged, server_counts(&server.requests()));
    }
}
