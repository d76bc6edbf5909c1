//! A key gatehouse would emit that a supported chart version does not declare does not build:
//! `cargo check` of this crate with a copy of the contract data that emits such a key fails,
//! naming the key and the chart version. (A cargo subprocess on the real crate with the data
//! directory swapped through GATEHOUSE_CHART_CONTRACT_DIR, honoured only with the test feature
//! `contract-dir-override`: it shares the workspace's target directory, and the feature gives
//! the probe its own artifacts, so the normal build stays fresh.)

use std::path::Path;
use std::process::Command;

fn copy_contract(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("contract");
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn check_with(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO"))
        .args([
            "check",
            "--quiet",
            "-p",
            "gatehouse-chart-contract",
            "--features",
            "contract-dir-override",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GATEHOUSE_CHART_CONTRACT_DIR", dir)
        .output()
        .expect("run cargo")
}

#[test]
fn emitting_an_undeclared_key_fails_the_build_naming_the_key_and_the_version() {
    let dir = tempfile::tempdir().unwrap();
    copy_contract(dir.path());
    let emitted = dir.path().join("emitted.yaml");
    let mut text = std::fs::read_to_string(&emitted).unwrap();
    text.push_str(
        "  - path: gateway.ratelimit.redis.sentinel.retryAfter\n    rust: u32\n    fact: none\n",
    );
    std::fs::write(&emitted, text).unwrap();
    let output = check_with(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the build passed:\n{stderr}");
    for line in ["4.9", "4.10", "4.11", "4.12"] {
        assert!(
            stderr.contains(&format!(
                "`gateway.ratelimit.redis.sentinel.retryAfter`, which the graviteeio/apim chart {line} does not declare"
            )),
            "{line}:\n{stderr}"
        );
    }
}

#[test]
fn a_key_only_one_version_lacks_names_that_version_alone() {
    let dir = tempfile::tempdir().unwrap();
    copy_contract(dir.path());
    // 4.12 declares Redis Cluster nodes; the older lines do not.
    let emitted = dir.path().join("emitted.yaml");
    let mut text = std::fs::read_to_string(&emitted).unwrap();
    text = text.replace(
        "  gateway.ratelimit.redis.tcp: RedisTcp\n",
        "  gateway.ratelimit.redis.tcp: RedisTcp\n  gateway.ratelimit.redis.cluster: RedisCluster\n",
    );
    text.push_str(
        "  - path: gateway.ratelimit.redis.cluster.nodes\n    rust: Vec<String>\n    fact: none\n",
    );
    std::fs::write(&emitted, text).unwrap();
    let output = check_with(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the build passed:\n{stderr}");
    assert!(stderr.contains("chart 4.11 does not declare"), "{stderr}");
    assert!(!stderr.contains("chart 4.12 does not declare"), "{stderr}");
}
