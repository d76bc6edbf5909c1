//! `cargo xtask bench`: gatehouse against what users would run instead, side by side in one run.
//!
//! The same Redis/Sentinel objects come from
//! - gatehouse (validate + render + YAML, in-process),
//! - the Helm library in-process (PyPI `helm-python-sdk`) rendering a chart whose templates are
//!   gatehouse's rendered objects,
//! - `kubectl kustomize` of a kustomization of the rendered manifests,
//! - `cdk8s synth` of `benches/cdk8s/`, a generic app making an `ApiObject` of each rendered object.
//!
//! The competitors' inputs are written at bench time from gatehouse's own objects ([`inputs`]), so
//! adding an object kind needs no edit to a foreign-language copy.
//!
//! Every competitor's output is parsed and compared with gatehouse's objects (as JSON, keyed by
//! kind/namespace/name) before anything is timed; a difference fails the run. Each measurement runs
//! in a fresh worker process (this binary, `bench --worker ...`) so its peak RSS is its own.
//! Timings are ratios taken in the same run on the same machine; nothing here is a test assertion.

mod apply;
mod build;
mod fleet_gitops;
mod inputs;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use gatehouse_model::{Deployment, ValidDeployment};
use gatehouse_render::{Format, render};
use gatehouse_testkit::workspace_root;
use serde_json::{Value, json};

/// Arguments of `cargo xtask bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// A short run (few iterations, fleets of 10 and 100) that checks everything works; allowed in a
    /// debug build, its timings mean little.
    #[arg(long)]
    pub quick: bool,
    /// Iterations of each in-process measurement (external commands run fewer).
    #[arg(long)]
    pub iterations: Option<usize>,
    /// Run one section only: `fleet-gitops` (a fleet of 125 to 1,000 clusters rendered to a
    /// GitOps directory).
    #[arg(long, value_name = "SECTION", value_parser = ["fleet-gitops"])]
    pub only: Option<String>,
    /// Internal: run one measurement in this process and print its result as JSON.
    #[arg(long, hide = true)]
    pub worker: Option<String>,
    /// Internal: working directory of the worker's command.
    #[arg(long, hide = true)]
    pub worker_cwd: Option<PathBuf>,
    /// Internal: where the worker writes the first run's stdout.
    #[arg(long, hide = true)]
    pub worker_out: Option<PathBuf>,
    /// Internal: the command a worker runs.
    #[arg(last = true, hide = true)]
    pub command: Vec<String>,
}

/// The row of the example rendered with metrics on (exporter sidecars, monitors, alert rules).
const METRICS_ROW: &str = "gatehouse: example with metrics on, objects + Helm values → YAML";

/// Fleet sizes of the growth series.
const FLEET_SIZES: [usize; 4] = [10, 100, 1_000, 10_000];

/// Runs the benchmark (or, with `--worker`, one measurement of it).
pub fn run(args: Args) -> Result<(), String> {
    if let Some(worker) = args.worker.clone() {
        return run_worker(&worker, &args);
    }
    if cfg!(debug_assertions) && !args.quick {
        return rerun_in_release();
    }
    Bench::new(args)?.run()
}

/// `cargo xtask` builds in debug; timings only mean something optimized, so run again in release.
fn rerun_in_release() -> Result<(), String> {
    eprintln!(
        "bench: debug build; running again with `cargo run --release -p xtask-devtools -- bench`"
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "xtask-devtools",
            "--",
            "bench",
        ])
        .args(std::env::args().skip(2))
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("release bench failed: {status}"))
    }
}

/// Runs `command` to its end; an error names `what` and carries the command's output.
fn output_of(command: &mut Command, what: &str) -> Result<std::process::Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    Ok(output)
}

/// Whether `program args` runs and succeeds (a competitor is installed).
fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------------------------------------
// Inputs shared by every side.

/// Deployment `index` of a fleet: the built-in example in its own namespace, with its own names.
pub fn fleet_member(index: usize) -> Deployment {
    let mut d = Deployment::guide_example().with_namespace(format!("tenant-{index:05}"));
    d.name = format!("gw-{index:05}");
    d.redis.sentinel.service_name = Some(format!("gw-{index:05}-redis-sentinel-headless"));
    d.gateway.release_name = Some(format!("gw-{index:05}"));
    d
}

fn example() -> ValidDeployment {
    Deployment::guide_example()
        .validated()
        .expect("the built-in example is valid")
}

/// The Redis/Sentinel objects of one deployment as multi-document YAML (what every competitor
/// produces).
fn objects_yaml(valid: &ValidDeployment) -> String {
    render(valid).manifests_yaml()
}

// ---------------------------------------------------------------------------------------------
// Semantic comparison.

/// Objects keyed by `kind/namespace/name`, nulls removed (absent and null mean the same to the API).
pub fn objects_by_key(yaml: &str) -> Result<BTreeMap<String, Value>, String> {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|e| format!("unparsable YAML: {e}"))?;
    let mut objects = BTreeMap::new();
    for mut document in documents {
        strip_nulls(&mut document);
        if document.is_null() || document == json!({}) {
            continue;
        }
        let key = format!(
            "{}/{}/{}",
            document["kind"].as_str().unwrap_or("?"),
            document["metadata"]["namespace"].as_str().unwrap_or(""),
            document["metadata"]["name"].as_str().unwrap_or("?")
        );
        if objects.insert(key.clone(), document).is_some() {
            return Err(format!("{key} appears twice"));
        }
    }
    Ok(objects)
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The first difference between two JSON values, as `path: expected … got …`.
pub fn first_difference(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for key in e.keys().chain(a.keys()) {
                let sub = format!("{path}.{key}");
                match (e.get(key), a.get(key)) {
                    (Some(ev), Some(av)) => {
                        if let Some(d) = first_difference(&sub, ev, av) {
                            return Some(d);
                        }
                    }
                    (Some(ev), None) => return Some(format!("{sub}: expected {ev}, missing")),
                    (None, Some(av)) => return Some(format!("{sub}: unexpected {av}")),
                    (None, None) => unreachable!(),
                }
            }
            None
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (ev, av))| first_difference(&format!("{path}[{i}]"), ev, av)),
        _ if expected == actual => None,
        _ => Some(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// Checks that `actual` holds exactly the expected objects, naming the first difference.
fn same_objects(
    who: &str,
    expected: &BTreeMap<String, Value>,
    actual_yaml: &str,
) -> Result<(), String> {
    let actual = objects_by_key(actual_yaml).map_err(|e| format!("{who}: {e}"))?;
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !actual.contains_key(*k))
        .collect();
    let extra: Vec<&String> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(format!(
            "{who} did not produce the same objects as gatehouse: missing {missing:?}, extra {extra:?}"
        ));
    }
    for (key, e) in expected {
        if let Some(d) = first_difference(key, e, &actual[key]) {
            return Err(format!(
                "{who} did not produce the same objects as gatehouse: {d}"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Workers: one measurement per process.

/// What a worker reports.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Sample {
    /// Duration of each iteration, in nanoseconds.
    ns: Vec<u64>,
    /// Peak resident set size in KiB (this process, or the commands it ran).
    max_rss_kb: i64,
}

fn run_worker(worker: &str, args: &Args) -> Result<(), String> {
    let iterations = args.iterations.unwrap_or(1).max(1);
    let sample = match worker.split_once(':').unwrap_or((worker, "")) {
        ("objects", _) => {
            let valid = example();
            in_process(iterations, false, || {
                let valid = valid.deployment().clone().validated().expect("valid");
                objects_yaml(&valid).len()
            })?
        }
        ("objects-json", _) => {
            let valid = example();
            in_process(iterations, false, || {
                let valid = valid.deployment().clone().validated().expect("valid");
                let objects = render(&valid).objects;
                serde_json::to_string(&objects).expect("serializes").len()
            })?
        }
        ("example", metrics) => {
            let deployment = example()
                .deployment()
                .clone()
                .with_metrics(metrics == "metrics");
            in_process(iterations, false, || {
                let valid = deployment.clone().validated().expect("valid");
                render(&valid).to_text(Format::Yaml).len()
            })?
        }
        ("fleet", size) => {
            let size: usize = size.parse().map_err(|_| format!("bad fleet size {size}"))?;
            in_process(iterations, size >= 100, || render_fleet(size))?
        }
        ("fleet-gitops-memory", size) => {
            let size: usize = size.parse().map_err(|_| format!("bad fleet size {size}"))?;
            let fleet = fleet_gitops::fleet(size);
            in_process(iterations, true, || fleet_gitops::render(&fleet))?
        }
        ("fleet-gitops", size) => {
            let size: usize = size.parse().map_err(|_| format!("bad fleet size {size}"))?;
            let fleet = fleet_gitops::fleet(size);
            let dir =
                std::env::temp_dir().join(format!("gatehouse-fleet-gitops-{}", std::process::id()));
            let sample = in_process(iterations, true, || fleet_gitops::render_to(&fleet, &dir))?;
            let _ = std::fs::remove_dir_all(&dir);
            sample
        }
        ("exec", _) => exec_worker(iterations, args)?,
        _ => return Err(format!("unknown worker {worker}")),
    };
    println!("{}", serde_json::to_string(&sample).expect("serializes"));
    Ok(())
}

/// Validates, renders and serializes a fleet, streaming each deployment's YAML to a sink (as a
/// tool writing files would) rather than holding the whole fleet's text in memory.
fn render_fleet(size: usize) -> usize {
    let mut out = std::io::sink();
    let mut bytes = 0;
    for index in 0..size {
        let valid = fleet_member(index)
            .validated()
            .expect("fleet members are valid");
        let text = render(&valid).to_text(Format::Yaml);
        bytes += text.len();
        out.write_all(text.as_bytes()).expect("a sink accepts");
    }
    bytes
}

/// Times `work` with criterion (samples of one or more iterations, after a warm-up) and reports
/// the time per iteration of each sample with this process's peak RSS. `flat` keeps every sample at
/// the same iteration count, for work that takes long (large fleets).
fn in_process(
    samples: usize,
    flat: bool,
    mut work: impl FnMut() -> usize,
) -> Result<Sample, String> {
    let dir = std::env::temp_dir().join(format!("gatehouse-criterion-{}", std::process::id()));
    let mut criterion = criterion::Criterion::default()
        .output_directory(&dir)
        .without_plots()
        .sample_size(samples.max(10))
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    let mut group = criterion.benchmark_group("gatehouse");
    if flat {
        group.sampling_mode(criterion::SamplingMode::Flat);
    }
    group.bench_function("worker", |b| b.iter(|| std::hint::black_box(work())));
    group.finish();
    let saved = dir.join("gatehouse/worker/new/sample.json");
    let saved: Value =
        serde_json::from_str(&read(&saved)?).map_err(|e| format!("{}: {e}", saved.display()))?;
    let _ = std::fs::remove_dir_all(&dir);
    let numbers = |key: &str| -> Vec<f64> {
        saved[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let ns = numbers("iters")
        .iter()
        .zip(numbers("times"))
        .map(|(iters, time)| (time / iters.max(1.0)) as u64)
        .collect();
    Ok(Sample {
        ns,
        max_rss_kb: max_rss(nix::sys::resource::UsageWho::RUSAGE_SELF),
    })
}

fn exec_worker(iterations: usize, args: &Args) -> Result<Sample, String> {
    let (program, rest) = args
        .command
        .split_first()
        .ok_or("exec worker without a command")?;
    let mut ns = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let mut command = Command::new(program);
        command.args(rest);
        if let Some(dir) = &args.worker_cwd {
            command.current_dir(dir);
        }
        let start = Instant::now();
        let output = output_of(&mut command, &args.command.join(" "))?;
        ns.push(start.elapsed().as_nanos() as u64);
        if i == 0
            && let Some(path) = &args.worker_out
        {
            write(path, &String::from_utf8_lossy(&output.stdout))?;
        }
    }
    // This worker's only children are the measured commands (and what they waited for).
    Ok(Sample {
        ns,
        max_rss_kb: max_rss(nix::sys::resource::UsageWho::RUSAGE_CHILDREN),
    })
}

// `c_long` is `i64` on 64-bit Linux only.
#[allow(clippy::useless_conversion)]
fn max_rss(who: nix::sys::resource::UsageWho) -> i64 {
    nix::sys::resource::getrusage(who)
        .map(|u| i64::from(u.max_rss()))
        .unwrap_or(-1)
}

// ---------------------------------------------------------------------------------------------
// The run.

struct Row {
    /// Rows of a group are compared with the group's first row.
    group: Group,
    name: String,
    sample: Sample,
    /// Deployments per iteration (fleet rows).
    per: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Render,
    Apply,
    Build,
}

struct Bench {
    args: Args,
    root: PathBuf,
    work: PathBuf,
    expected: BTreeMap<String, Value>,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Bench {
    fn new(args: Args) -> Result<Bench, String> {
        let root = workspace_root();
        let work = std::env::temp_dir().join(format!("gatehouse-bench-{}", std::process::id()));
        std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        let expected = objects_by_key(&objects_yaml(&example()))?;
        Ok(Bench {
            args,
            root,
            work,
            expected,
            rows: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn iterations(&self, default: usize) -> usize {
        if self.args.quick {
            return 3.min(default);
        }
        self.args.iterations.unwrap_or(default)
    }

    fn run(mut self) -> Result<(), String> {
        eprintln!("bench: working in {}", self.work.display());
        if self.args.only.as_deref() == Some("fleet-gitops") {
            let table = self.fleet_gitops()?;
            print!("{table}");
            let _ = std::fs::remove_dir_all(&self.work);
            return Ok(());
        }
        for (kind, name) in [
            ("objects", "gatehouse: Redis/Sentinel objects → YAML"),
            (
                "objects-json",
                "gatehouse: Redis/Sentinel objects → JSON (serializer share)",
            ),
            (
                "example",
                "gatehouse: example, objects + Helm values → YAML",
            ),
            ("example:metrics", METRICS_ROW),
        ] {
            let sample = self.worker(kind, self.iterations(200), |_| {})?;
            self.push(Group::Render, name.into(), sample, None);
        }

        self.helm()?;
        self.kustomize()?;
        self.cdk8s()?;
        self.fleets()?;
        self.apply()?;
        self.build_script()?;

        print!("{}", self.table());
        let _ = std::fs::remove_dir_all(&self.work);
        Ok(())
    }

    fn push(&mut self, group: Group, name: String, sample: Sample, per: Option<usize>) {
        eprintln!("bench: {name}: done");
        self.rows.push(Row {
            group,
            name,
            sample,
            per,
        });
    }

    /// Skips a competitor that is not installed (noted under the table), or fails the run under
    /// `GATEHOUSE_REQUIRE_EXTERNAL=1`: the testkit's one skip-or-fail rule.
    fn skip(&mut self, what: &str, install: &str) -> Result<(), String> {
        let message = gatehouse_testkit::skip_message(what, install)?;
        eprintln!("bench: {message}");
        self.notes.push(message);
        Ok(())
    }

    /// Runs one worker process (`setup` adds its options: `--worker-cwd`, `--worker-out`, the
    /// environment, `-- COMMAND`) and reads its sample.
    fn worker(
        &self,
        kind: &str,
        iterations: usize,
        setup: impl FnOnce(&mut Command),
    ) -> Result<Sample, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
        let mut c = Command::new(exe);
        c.args(["bench", "--worker", kind, "--iterations"])
            .arg(iterations.to_string());
        setup(&mut c);
        let output = output_of(&mut c, &format!("worker {kind}"))?;
        // The sample is the last line; criterion reports on the lines before it.
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
        serde_json::from_str(last.unwrap_or_default())
            .map_err(|e| format!("worker {kind} output: {e}"))
    }

    /// (a) The Helm library, in-process in Python.
    fn helm(&mut self) -> Result<(), String> {
        if !runs("python3", &["-c", "import helm_python"]) {
            return self.skip(
                "the Helm library (python3 with the helm_python module)",
                "pip install helm-python-sdk",
            );
        }
        type ChartWriter = fn(&Deployment, &Path) -> Result<Value, String>;
        let charts: [(&str, ChartWriter); 2] = [
            ("literal chart (floor)", inputs::helm_chart),
            ("realistic chart", inputs::realistic_helm_chart),
        ];
        for (label, write_chart) in charts {
            let slug = label.split(' ').next().unwrap_or(label);
            let chart = self.work.join(format!("chart-{slug}"));
            let values = self.work.join(format!("values-{slug}.json"));
            let chart_values = write_chart(example().deployment(), &chart)?;
            write(
                &values,
                &serde_json::to_string_pretty(&chart_values).expect("json"),
            )?;
            let out = self.work.join(format!("helm-{slug}.yaml"));
            let iterations = self.iterations(100);
            let output = output_of(
                Command::new("python3")
                    .arg(self.root.join("benches/helm-render.py"))
                    .arg(&chart)
                    .arg(&values)
                    .arg(iterations.to_string())
                    .arg(&out),
                &format!("Helm render of the {label}"),
            )?;
            same_objects(&format!("the Helm {label}"), &self.expected, &read(&out)?)?;
            let result: Value = serde_json::from_slice(&output.stdout)
                .map_err(|e| format!("helm-render.py output: {e}"))?;
            let rss = result["max_rss_kb"].as_i64().unwrap_or(-1);
            let samples = |key: &str| -> Vec<u64> {
                result[key]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default()
            };
            let sdk = result["helm_sdk"].as_str().unwrap_or("?").to_string();
            for (what, key) in [
                ("load + render", "load_render_ns"),
                ("render, chart preloaded", "render_ns"),
            ] {
                let sample = Sample {
                    ns: samples(key),
                    max_rss_kb: rss,
                };
                let name = format!("Helm {sdk} library (in-process), {label}: {what}");
                self.push(Group::Render, name, sample, None);
            }
        }
        Ok(())
    }

    /// (b) `kubectl kustomize` of the rendered manifests.
    fn kustomize(&mut self) -> Result<(), String> {
        if !runs("kubectl", &["version", "--client"]) {
            return self.skip("kubectl (for kubectl kustomize)", "install kubectl");
        }
        let dir = self.work.join("kustomize");
        inputs::kustomization(&render(&example()), &dir)?;
        let out = self.work.join("kustomize.yaml");
        let sample = self.worker("exec", self.iterations(20), |c| {
            c.arg("--worker-out").arg(&out);
            c.args(["--", "kubectl", "kustomize"]).arg(&dir);
        })?;
        same_objects("kubectl kustomize", &self.expected, &read(&out)?)?;
        self.push(
            Group::Render,
            "kubectl kustomize (process)".into(),
            sample,
            None,
        );
        Ok(())
    }

    /// (c) `cdk8s synth` of the equivalent cdk8s app.
    fn cdk8s(&mut self) -> Result<(), String> {
        let app = self.root.join("benches/cdk8s");
        let cli = app.join("node_modules/.bin/cdk8s");
        if !cli.exists() {
            return self.skip(
                "cdk8s (benches/cdk8s/node_modules)",
                "run `npm ci` in benches/cdk8s",
            );
        }
        let values = self.work.join("cdk8s-objects.json");
        write(&values, &inputs::cdk8s_objects(&render(&example())))?;
        let dist = self.work.join("cdk8s-dist");
        let sample = self.worker("exec", self.iterations(5), |c| {
            c.arg("--worker-cwd").arg(&app);
            // The app reads its input from this variable; the worker's children inherit it.
            c.env("GATEHOUSE_BENCH_INPUT", &values);
            c.arg("--").arg(&cli).args(["synth", "--output"]).arg(&dist);
        })?;
        let mut synthesized = String::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dist)
            .map_err(|e| format!("{}: {e}", dist.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        entries.sort();
        for path in entries {
            synthesized.push_str(&read(&path)?);
            synthesized.push_str("\n---\n");
        }
        same_objects("cdk8s synth", &self.expected, &synthesized)?;
        self.push(Group::Render, "cdk8s synth (process)".into(), sample, None);
        Ok(())
    }

    /// The growth series: fleets of distinct deployments, each in its own worker.
    fn fleets(&mut self) -> Result<(), String> {
        let sizes: &[usize] = if self.args.quick {
            &FLEET_SIZES[..2]
        } else {
            &FLEET_SIZES
        };
        for &size in sizes {
            let iterations = self.iterations(match size {
                0..=100 => 50,
                101..=1_000 => 10,
                _ => 3,
            });
            let sample = self.worker(&format!("fleet:{size}"), iterations, |_| {})?;
            let name = format!("gatehouse fleet of {size} (validate+render+YAML)");
            self.push(Group::Render, name, sample, Some(size));
        }
        Ok(())
    }

    /// A fleet rendered to a GitOps directory (`fleet render --gitops`, Flux), 125 to 1,000
    /// clusters: time, peak RSS and the growth exponent, with the goal (under 2 s and 200 MiB at
    /// 1,000 clusters) as a verdict.
    fn fleet_gitops(&mut self) -> Result<String, String> {
        let sizes: &[usize] = if self.args.quick {
            &fleet_gitops::SIZES[..2]
        } else {
            &fleet_gitops::SIZES
        };
        let mut t = String::from(
            "| fleet → GitOps directory (validate + render + write) | median | min | max | per cluster | peak RSS |\n|---|---:|---:|---:|---:|---:|\n",
        );
        let mut points = Vec::new();
        let mut memory = String::new();
        for &size in sizes {
            let sample = self.worker(
                &format!("fleet-gitops-memory:{size}"),
                self.iterations(10),
                |_| {},
            )?;
            let _ = writeln!(
                memory,
                "| {size} clusters, files in memory (validate + render) | {} | {} | {} | {} | {} |",
                duration(median(&sample.ns)),
                duration(sample.ns.iter().min().copied().unwrap_or(0) as f64),
                duration(sample.ns.iter().max().copied().unwrap_or(0) as f64),
                duration(median(&sample.ns) / size as f64),
                rss(sample.max_rss_kb)
            );
            let sample =
                self.worker(&format!("fleet-gitops:{size}"), self.iterations(10), |_| {})?;
            let m = median(&sample.ns);
            let (min, max) = (
                sample.ns.iter().min().copied().unwrap_or(0) as f64,
                sample.ns.iter().max().copied().unwrap_or(0) as f64,
            );
            let _ = writeln!(
                t,
                "| {size} clusters | {} | {} | {} | {} | {} |",
                duration(m),
                duration(min),
                duration(max),
                duration(m / size as f64),
                rss(sample.max_rss_kb)
            );
            eprintln!("bench: fleet-gitops {size}: done");
            points.push((size as f64, m, sample.max_rss_kb));
        }
        t.push_str(&memory);
        if points.len() >= 2 {
            let xy: Vec<(f64, f64)> = points.iter().map(|(x, y, _)| (*x, *y)).collect();
            let _ = writeln!(
                t,
                "\nfleet → GitOps growth: time ∝ clusters^{:.3} (least squares on log-log; 1.0 is linear)",
                log_log_slope(&xy)
            );
        }
        if let Some((size, m, kb)) = points.last().filter(|(size, ..)| *size >= 1_000.0) {
            let ok = *m < 2e9 && *kb >= 0 && (*kb as f64) < 200.0 * 1024.0;
            let _ = writeln!(
                t,
                "target: {size} clusters under 2 s and 200 MiB: {} ({}, {})",
                if ok { "met" } else { "NOT met" },
                duration(*m),
                rss(*kb)
            );
        }
        Ok(t)
    }

    /// Apply cost against the in-memory API server (and a real one with `GATEHOUSE_E2E=1`).
    fn apply(&mut self) -> Result<(), String> {
        let kubectl = runs("kubectl", &["version", "--client"]);
        if !kubectl {
            self.skip(
                "kubectl (for kubectl apply --server-side)",
                "install kubectl",
            )?;
        }
        let report = apply::measure(
            &render(&example()),
            &self.work,
            self.iterations(10),
            kubectl,
        )?;
        self.notes.extend(report.lines);
        for (name, sample) in report.rows {
            self.push(Group::Apply, name, sample, None);
        }
        Ok(())
    }

    /// Build-script codegen: incremental `cargo build` after a config change (`bench/build.rs`).
    fn build_script(&mut self) -> Result<(), String> {
        let report = build::measure(&self.root, &self.work, self.iterations(5))?;
        self.notes.extend(report.lines);
        for (name, sample) in report.rows {
            self.push(Group::Build, name, sample, None);
        }
        Ok(())
    }

    fn group_table(&self, t: &mut String, group: Group, header: &str) {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| r.group == group).collect();
        let Some(first) = rows.first() else {
            return;
        };
        let baseline = median(&first.sample.ns).max(1.0);
        let _ = writeln!(t, "\n{header}");
        let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|---:|");
        for row in rows {
            let ns = &row.sample.ns;
            let med = median(ns);
            let per = row
                .per
                .map(|n| duration(med / n as f64))
                .unwrap_or_default();
            // A fleet renders many deployments: its ratio to one render says nothing.
            let ratio = match row.per {
                Some(_) => String::new(),
                None => format!("{:.1}×", med / baseline),
            };
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} |",
                row.name,
                duration(med),
                duration(ns.iter().copied().min().unwrap_or(0) as f64),
                duration(ns.iter().copied().max().unwrap_or(0) as f64),
                ratio,
                rss(row.sample.max_rss_kb),
                per
            );
        }
    }

    fn median_of(&self, prefix: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.name.starts_with(prefix))
            .map(|r| median(&r.sample.ns))
    }

    /// How many times longer the Helm library takes to load and render `chart` than gatehouse takes
    /// to write the same objects.
    fn helm_ratio(&self, chart: &str) -> Option<f64> {
        let ours = self.median_of("gatehouse: Redis/Sentinel objects → YAML")?;
        let helm = self
            .rows
            .iter()
            .find(|r| r.name.starts_with("Helm ") && r.name.contains(&format!("{chart}: load")))?;
        Some(median(&helm.sample.ns) / ours)
    }

    /// The targets, each with the measured figure and whether it was met. The render target
    /// is against a chart as people write one; the literal chart (templates that only copy text) is
    /// Helm's floor and is printed as a note.
    fn targets(&self) -> Vec<String> {
        let verdict = |met: bool| if met { "met" } else { "MISSED" };
        let mut out = Vec::new();
        if let Some(ratio) = self.helm_ratio("realistic chart") {
            out.push(format!(
                "render ≥ 20× faster than the Helm library, realistic chart (load + render): {ratio:.1}× ({})",
                verdict(ratio >= 20.0)
            ));
        }
        if let Some(row) = self.rows.iter().find(|r| r.per == Some(1_000)) {
            let time = median(&row.sample.ns);
            let mib = row.sample.max_rss_kb as f64 / 1024.0;
            out.push(format!(
                "1,000 deployments < 1 s and < 100 MiB: {} and {mib:.1} MiB ({})",
                duration(time),
                verdict(time < 1e9 && row.sample.max_rss_kb >= 0 && mib < 100.0)
            ));
        }
        // Process against process, each cache state against the same state.
        for state in ["cold", "warm"] {
            if let (Some(ours), Some(kubectl)) = (
                self.median_of(&format!("gatehouse deploy (process), {state}")),
                self.median_of(&format!("kubectl apply --server-side (process), {state}")),
            ) {
                let ratio = kubectl / ours;
                out.push(format!(
                    "apply ({state}) ≥ 2× faster than kubectl apply --server-side, process against process (mock API server; a real cluster needs GATEHOUSE_E2E=1): {ratio:.1}× ({})",
                    verdict(ratio >= 2.0)
                ));
            }
        }
        out
    }

    fn table(&self) -> String {
        let mut t = String::new();
        for (group, header) in [
            (
                Group::Render,
                "| render | median | min | max | × gatehouse objects | peak RSS | per deployment |",
            ),
            (
                Group::Apply,
                "| apply | median | min | max | × gatehouse deploy | peak RSS | |",
            ),
            (
                Group::Build,
                "| build-script codegen (cargo build, dev profile) | median | min | max | × after a config change | peak RSS | |",
            ),
        ] {
            self.group_table(&mut t, group, header);
        }
        let fleet: Vec<(f64, f64)> = self
            .rows
            .iter()
            .filter_map(|r| r.per.map(|n| (n as f64, median(&r.sample.ns))))
            .collect();
        if fleet.len() >= 2 {
            let slope = log_log_slope(&fleet);
            let _ = writeln!(
                t,
                "\nfleet growth: time ∝ deployments^{slope:.3} (least squares on log-log; 1.0 is linear)"
            );
        }
        for note in &self.notes {
            let _ = writeln!(t, "note: {note}");
        }
        if let (Some(off), Some(on)) = (
            self.median_of("gatehouse: example, objects + Helm values → YAML"),
            self.median_of(METRICS_ROW),
        ) {
            let _ = writeln!(
                t,
                "note: the example with metrics on takes {:.2}× the time with metrics off (issue 24: at most 1.10× a render before metrics existed; README, Performance, says how to compare with that commit)",
                on / off
            );
        }
        if let Some(ratio) = self.helm_ratio("literal chart (floor)") {
            let _ = writeln!(
                t,
                "note: the Helm library's literal chart (floor: templates that only copy text), load + render: {ratio:.1}× gatehouse"
            );
        }
        for verdict in self.targets() {
            let _ = writeln!(t, "target: {verdict}");
        }
        let _ = writeln!(
            t,
            "(iterations: in-process {}, build: {})",
            self.iterations(200),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
        );
        t
    }
}

// ---------------------------------------------------------------------------------------------
// Numbers.

/// Median of samples, in the samples' unit.
pub fn median(samples: &[u64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid] as f64
    } else {
        (sorted[mid - 1] as f64 + sorted[mid] as f64) / 2.0
    }
}

/// Least-squares slope of ln(y) against ln(x): the exponent k of y ∝ x^k.
pub fn log_log_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let xs: Vec<f64> = points.iter().map(|(x, _)| x.ln()).collect();
    let ys: Vec<f64> = points.iter().map(|(_, y)| y.ln()).collect();
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let var: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    cov / var
}

fn duration(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

fn rss(kb: i64) -> String {
    if kb < 0 {
        "n/a".into()
    } else {
        format!("{:.1} MiB", kb as f64 / 1024.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Files.

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `text` to `path`, creating the directories above it.
fn write(path: &Path, text: &str) -> Result<(), String> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .and_then(|()| std::fs::write(path, text))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_log_slope_recovers_the_exponent() {
        let linear: Vec<(f64, f64)> = [10.0, 100.0, 1000.0].map(|x| (x, 3.0 * x)).to_vec();
        assert!((log_log_slope(&linear) - 1.0).abs() < 1e-9);
        let quadratic: Vec<(f64, f64)> = [10.0, 100.0, 1000.0].map(|x| (x, x * x)).to_vec();
        assert!((log_log_slope(&quadratic) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(&[5, 1, 3]), 3.0);
        assert_eq!(median(&[4, 1, 3, 2]), 2.5);
    }

    #[test]
    fn gatehouse_objects_compare_equal_to_themselves_and_differences_are_named() {
        let yaml = objects_yaml(&example());
        let expected = objects_by_key(&yaml).unwrap();
        assert!(expected.contains_key("StatefulSet/gravitee-apim/gravitee-apim-redis"));
        same_objects("gatehouse", &expected, &yaml).unwrap();
        let changed = yaml.replace("replicas: 3", "replicas: 4");
        let error = same_objects("changed", &expected, &changed).unwrap_err();
        assert!(
            error.contains(".spec.replicas: expected 3, got 4"),
            "{error}"
        );
        let dropped = yaml.replacen("kind: Namespace", "kind: Other", 1);
        let error = same_objects("dropped", &expected, &dropped).unwrap_err();
        assert!(
            error.contains("missing [\"Namespace//gravitee-apim\"]"),
            "{error}"
        );
    }
}
