"""Renders a chart with the Helm library, in-process (PyPI helm-python-sdk).

Usage: helm-render.py CHART_DIR VALUES_JSON ITERATIONS OUT_YAML

CHART_DIR is the chart `cargo xtask bench` writes from gatehouse's rendered objects; VALUES_JSON
holds `name`, `namespace` and `releaseName`. Writes the manifests of one render to OUT_YAML (for the equivalence check), then times ITERATIONS
renders two ways: chart load + render (what `helm template` does for each call) and render of a
chart loaded once. Prints one JSON object on stdout: the samples in nanoseconds and the peak RSS of
this process (the Go Helm SDK runs inside it) in KiB.
"""

import json
import resource
import sys
import time

import helm_python as helm


def main() -> None:
    chart_dir, values_path, iterations, out_path = sys.argv[1:5]
    iterations = int(iterations)
    with open(values_path, encoding="utf-8") as f:
        values = json.load(f)
    release = values["releaseName"]
    namespace = values["namespace"]

    with helm.Chart.load(chart_dir) as chart:
        manifests = chart.render(values, name=release, namespace=namespace)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n---\n".join(manifests[k] for k in sorted(manifests)))

    load_render = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        with helm.Chart.load(chart_dir) as chart:
            chart.render(values, name=release, namespace=namespace)
        load_render.append(time.perf_counter_ns() - start)

    render_only = []
    with helm.Chart.load(chart_dir) as chart:
        chart.render(values, name=release, namespace=namespace)  # warm-up, untimed
        for _ in range(iterations):
            start = time.perf_counter_ns()
            chart.render(values, name=release, namespace=namespace)
            render_only.append(time.perf_counter_ns() - start)

    print(
        json.dumps(
            {
                "load_render_ns": load_render,
                "render_ns": render_only,
                "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "helm_sdk": helm.helm_sdk_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
