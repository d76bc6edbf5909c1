//! Apply cost: requests per deploy against the in-memory API server, and deploy time beside
//! `kubectl apply --server-side -f` of the same objects (on that server, and on a real cluster when
//! `GATEHOUSE_E2E=1` and `KUBECONFIG` point at one).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gatehouse_apply::{Cluster, ConnectOptions, DeployOptions};
use gatehouse_kube_mock::{MockApiServer, RecordedRequest};
use gatehouse_render::Rendered;

use super::Sample;

/// Requests one deploy sent, by kind.
#[derive(Debug, Clone, Default)]
pub struct RequestCounts {
    /// Every request.
    pub total: usize,
    /// PATCH requests that change the cluster (not dry-run).
    pub patches: usize,
    /// Server dry-run requests.
    pub dry_runs: usize,
    /// Discovery requests (`/api`, `/apis`, group versions, `/version`).
    pub discovery: usize,
    /// Reads (GET, LIST, WATCH) of objects.
    pub reads: usize,
    /// Writes of any method (PATCH, POST, PUT, DELETE), not dry-run.
    pub writes: usize,
}

impl RequestCounts {
    fn of(requests: &[RecordedRequest]) -> RequestCounts {
        let discovery = |r: &RecordedRequest| {
            r.method == "GET"
                && (r.path == "/api"
                    || r.path == "/apis"
                    || r.path == "/version"
                    || r.path.starts_with("/openapi")
                    || r.path.split('/').filter(|s| !s.is_empty()).count()
                        <= if r.path.starts_with("/apis/") { 3 } else { 2 })
        };
        RequestCounts {
            total: requests.len(),
            patches: requests
                .iter()
                .filter(|r| r.method == "PATCH" && !r.is_dry_run())
                .count(),
            dry_runs: requests.iter().filter(|r| r.is_dry_run()).count(),
            discovery: requests.iter().filter(|r| discovery(r)).count(),
            reads: requests
                .iter()
                .filter(|r| r.method == "GET" && !discovery(r))
                .count(),
            writes: requests.iter().filter(|r| r.is_write()).count(),
        }
    }

    /// One line for the report.
    pub fn line(&self) -> String {
        format!(
            "{} requests: {} PATCH, {} dry-run, {} discovery, {} reads, {} writes in all",
            self.total, self.patches, self.dry_runs, self.discovery, self.reads, self.writes
        )
    }
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

/// One deploy: its time and the number of objects it handled.
async fn deploy_counted(
    kubeconfig: &Path,
    rendered: &Rendered,
) -> Result<(Duration, usize), String> {
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
    Ok((start.elapsed(), report.objects.len()))
}

async fn deploy(kubeconfig: &Path, rendered: &Rendered) -> Result<Duration, String> {
    Ok(deploy_counted(kubeconfig, rendered).await?.0)
}

/// `kubectl apply --server-side -f`. The mock server serves no OpenAPI document, so kubectl's
/// client-side schema download is turned off there (`mock`); a real cluster keeps the default.
/// Each call gets an empty discovery cache, as gatehouse starts without one.
fn kubectl_apply(kubeconfig: &Path, manifests: &Path, mock: bool) -> Result<Duration, String> {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = manifests.with_file_name(format!("kubectl-cache-{call}"));
    let start = Instant::now();
    let output = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(&cache)
        .args(["apply", "--server-side", "--field-manager", "kubectl-bench"])
        .args(mock.then_some("--validate=false"))
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
    Ok(elapsed)
}

/// The resource a request addresses (`statefulsets`, `namespaces`, ...), or its path for discovery.
fn resource_of(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let after_version = match segments.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return path.to_string(),
    };
    match segments.get(after_version) {
        Some(&"namespaces") if segments.len() > after_version + 2 => {
            segments[after_version + 2].to_string()
        }
        Some(resource) => resource.to_string(),
        None => path.to_string(),
    }
}

/// `METHOD resource ×n` for every kind of request, in first-seen order.
fn breakdown(requests: &[RecordedRequest]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in requests {
        let key = format!(
            "{}{} {}",
            if r.is_watch() { "WATCH" } else { &r.method },
            if r.is_dry_run() { " (dry-run)" } else { "" },
            resource_of(&r.path)
        );
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counts.push((key, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
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

    // Requests of a first deploy and of a re-deploy with no change.
    let server = MockApiServer::start();
    let kubeconfig = server.write_kubeconfig(work);
    let (_, objects) = runtime.block_on(deploy_counted(&kubeconfig, rendered))?;
    let first_requests = server.requests();
    let first = RequestCounts::of(&first_requests);
    server.clear_requests();
    runtime.block_on(deploy(&kubeconfig, rendered))?;
    let again_requests = server.requests();
    let again = RequestCounts::of(&again_requests);
    lines.push(format!(
        "gatehouse deploy of {} objects (mock API server), first: {}",
        rendered.objects.len(),
        first.line()
    ));
    lines.push(format!(
        "gatehouse first deploy, requests by kind: {}",
        breakdown(&first_requests)
    ));
    lines.push(format!("gatehouse re-deploy, no change: {}", again.line()));
    lines.push(format!(
        "gatehouse re-deploy, no change, requests by kind: {}",
        breakdown(&again_requests)
    ));
    lines.push(format!(
        "gatehouse re-deploy, no change: {:.2} requests per object ({} requests, {objects} objects)",
        again.total as f64 / objects as f64,
        again.total
    ));
    drop(server);

    let mut rows = Vec::new();
    let mut times = Vec::new();
    for _ in 0..iterations {
        let server = MockApiServer::start();
        let kubeconfig = server.write_kubeconfig(work);
        times.push(runtime.block_on(deploy(&kubeconfig, rendered))?);
    }
    rows.push((
        "gatehouse deploy, objects only (mock API server)".to_string(),
        sample(&times),
    ));

    if kubectl {
        let server = MockApiServer::start();
        let kubeconfig = server.write_kubeconfig(work);
        kubectl_apply(&kubeconfig, &manifests, true)?;
        lines.push(format!(
            "kubectl apply --server-side of the same objects (mock API server, empty discovery cache): {}",
            RequestCounts::of(&server.requests()).line()
        ));
        // The same apply again: kubectl's no-op re-apply, beside gatehouse's no-op re-deploy.
        server.clear_requests();
        kubectl_apply(&kubeconfig, &manifests, true)?;
        let kubectl_again = RequestCounts::of(&server.requests());
        let kubectl_objects = rendered.objects.len();
        let without_discovery = kubectl_again.total - kubectl_again.discovery;
        lines.push(format!(
            "kubectl re-apply, no change: {} requests ({} without discovery) for {kubectl_objects} objects: {:.2} per object without discovery; gatehouse / kubectl requests per object: {:.2}",
            kubectl_again.total,
            without_discovery,
            without_discovery as f64 / kubectl_objects as f64,
            (again.total as f64 / objects as f64)
                / (without_discovery as f64 / kubectl_objects as f64)
        ));
        drop(server);
        let mut times = Vec::new();
        for _ in 0..iterations {
            let server = MockApiServer::start();
            let kubeconfig = server.write_kubeconfig(work);
            times.push(kubectl_apply(&kubeconfig, &manifests, true)?);
        }
        rows.push((
            "kubectl apply --server-side (process, mock API server)".to_string(),
            sample(&times),
        ));
    }

    if std::env::var("GATEHOUSE_E2E").as_deref() == Ok("1") {
        let kubeconfig = std::env::var("KUBECONFIG")
            .map(PathBuf::from)
            .map_err(|_| "GATEHOUSE_E2E=1 needs KUBECONFIG naming the cluster's kubeconfig")?;
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..iterations {
            ours.push(runtime.block_on(deploy(&kubeconfig, rendered))?);
            if kubectl {
                theirs.push(kubectl_apply(&kubeconfig, &manifests, false)?);
            }
        }
        rows.push(("gatehouse deploy (real cluster)".to_string(), sample(&ours)));
        if kubectl {
            rows.push((
                "kubectl apply --server-side (real cluster)".to_string(),
                sample(&theirs),
            ));
        }
    }
    Ok(ApplyReport { lines, rows })
}

#[cfg(test)]
mod tests {
    #[test]
    fn resources_are_named_from_request_paths() {
        use super::resource_of;
        assert_eq!(resource_of("/api/v1/namespaces/ns"), "namespaces");
        assert_eq!(resource_of("/api/v1/namespaces/ns/secrets/s"), "secrets");
        assert_eq!(
            resource_of("/apis/apps/v1/namespaces/ns/statefulsets/x"),
            "statefulsets"
        );
        assert_eq!(resource_of("/apis/apps/v1"), "/apis/apps/v1");
        assert_eq!(resource_of("/version"), "/version");
    }
}
