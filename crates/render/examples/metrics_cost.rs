//! What `metrics` costs a render, measured as `cargo xtask bench`'s "example" row does: the guide
//! example validated, rendered and written as YAML (objects + Helm values), with metrics off and on.
//!
//! `cargo run --release -p gatehouse-render --example metrics_cost -- on 20 200` renders the
//! example with metrics on in 20 batches of 200 renders and prints the time per render of the
//! fastest batch and of the median batch (µs); `off` does the same with metrics off. To compare
//! two builds (this one against an older commit with the same file), run their binaries by turns
//! several times: load on a shared machine moves every figure, the fastest batch least.
//! `... -- on 100 1` under `valgrind --tool=callgrind` gives instruction counts, which load does
//! not move.

use std::hint::black_box;
use std::time::Instant;

use gatehouse_model::Deployment;
use gatehouse_render::{Format, render};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| {
        args.get(i)
            .map(|n| n.parse().expect("a count"))
            .unwrap_or(default)
    };
    let metrics = match args.first().map(String::as_str) {
        Some("on") => true,
        Some("off") => false,
        _ => panic!("usage: metrics_cost on|off [batches] [renders per batch]"),
    };
    let deployment = Deployment::guide_example().with_metrics(metrics);
    let (batches, per_batch) = (number(1, 20), number(2, 200));
    let once = || {
        let valid = black_box(&deployment).clone().validated().expect("valid");
        black_box(render(&valid).to_text(Format::Yaml).len())
    };
    // Warm-up: the per-process caches (the pod scripts' YAML) and the allocator.
    for _ in 0..per_batch.min(50) {
        once();
    }
    let mut times: Vec<f64> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                once();
            }
            start.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "metrics {}: fastest {:.1} µs, median {:.1} µs per render ({batches} batches of {per_batch})",
        if metrics { "on" } else { "off" },
        times[0],
        times[times.len() / 2]
    );
}
