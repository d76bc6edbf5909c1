//! The rendered example passes `kubernetes-validate --strict` (PyPI), checking every object against
//! the Kubernetes OpenAPI schema of the oldest supported version, rejecting unknown fields.

use std::process::Command;

use gatehouse_model::Deployment;
use gatehouse_render::render;

/// The Kubernetes version k8s-openapi is built for (feature `v1_33`).
const KUBERNETES_VERSION: &str = "1.33.0";

#[test]
fn rendered_example_passes_strict_schema_validation() {
    let Some(validator) =
        gatehouse_testkit::external_tool("kubernetes-validate", "pip install kubernetes-validate")
    else {
        return;
    };
    let rendered = render(&Deployment::guide_example().validated().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, text) in rendered.files() {
        if let Some(file) = name.strip_prefix("manifests/") {
            let path = dir.path().join(file);
            std::fs::write(&path, text).unwrap();
            paths.push(path);
        }
    }
    assert_eq!(paths.len(), rendered.objects.len());
    let output = Command::new(validator)
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
        .args(&paths)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "kubernetes-validate failed:\n{stdout}\n{stderr}"
    );
    let passed = stdout
        .lines()
        .filter(|l| l.contains(" passed for resource "))
        .count();
    assert_eq!(
        passed,
        paths.len(),
        "not every object was validated:\n{stdout}{stderr}"
    );
}
