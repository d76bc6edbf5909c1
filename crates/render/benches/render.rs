//! Criterion benchmarks of the pure parts of gatehouse: validation, rendering and YAML output.
//!
//! `cargo bench -p gatehouse-render` runs them; `cargo xtask bench` compares gatehouse with Helm,
//! kustomize and cdk8s side by side and fits the growth of the fleet series.

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gatehouse_model::{Deployment, ValidDeployment};
use gatehouse_render::{Format, Rendered, render};

/// Deployment `index` of a fleet: the built-in example in its own namespace, with its own names.
fn fleet_member(index: usize) -> Deployment {
    let mut d = Deployment::guide_example().with_namespace(format!("tenant-{index:05}"));
    d.name = format!("gw-{index:05}");
    d.redis.sentinel.service_name = Some(format!("gw-{index:05}-redis-sentinel-headless"));
    d.gateway.release_name = Some(format!("gw-{index:05}"));
    d
}

fn valid(d: Deployment) -> ValidDeployment {
    d.validated().expect("fleet members are valid")
}

/// Renders one deployment and serializes everything it produces, as `cargo xtask render` does.
fn render_all(v: &ValidDeployment) -> String {
    render(v).to_text(Format::Yaml)
}

fn validation(c: &mut Criterion) {
    let example = Deployment::guide_example();
    c.bench_function("validate/example", |b| {
        b.iter(|| black_box(&example).validate())
    });
    c.bench_function("validated/example", |b| {
        b.iter_batched(
            || example.clone(),
            |d| d.validated().expect("valid"),
            BatchSize::SmallInput,
        )
    });
}

fn render_example(c: &mut Criterion) {
    let example = valid(Deployment::guide_example());
    c.bench_function("render/example/objects", |b| {
        b.iter(|| render(black_box(&example)))
    });
    c.bench_function("render/example/objects+values+yaml", |b| {
        b.iter(|| render_all(black_box(&example)))
    });
    // The same example with `metrics` on: exporter sidecars, monitors and the alert rules.
    let metrics = valid(Deployment::guide_example().with_metrics(true));
    c.bench_function("render/example-metrics/objects", |b| {
        b.iter(|| render(black_box(&metrics)))
    });
    c.bench_function("render/example-metrics/objects+values+yaml", |b| {
        b.iter(|| render_all(black_box(&metrics)))
    });
}

fn yaml_only(c: &mut Criterion) {
    let rendered: Rendered = render(&valid(Deployment::guide_example()));
    c.bench_function("yaml/example/manifests", |b| {
        b.iter(|| black_box(&rendered).manifests_yaml())
    });
    c.bench_function("yaml/example/values", |b| {
        b.iter(|| black_box(&rendered).helm.values_yaml())
    });
    c.bench_function("json/example/all", |b| {
        b.iter(|| black_box(&rendered).to_text(Format::Json))
    });
}

fn fleets(c: &mut Criterion) {
    let mut group = c.benchmark_group("fleet");
    group.sample_size(10);
    for size in [10usize, 100, 1_000, 10_000] {
        let models: Vec<Deployment> = (0..size).map(fleet_member).collect();
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(
            BenchmarkId::new("validate+render+yaml", size),
            &models,
            |b, models| {
                b.iter(|| {
                    let mut bytes = 0usize;
                    for d in models {
                        bytes += render_all(&valid(d.clone())).len();
                    }
                    bytes
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, validation, render_example, yaml_only, fleets);
criterion_main!(benches);
