//! The JSON schema of hand-written values files (`chart-check --schema`), checked with the Python
//! `jsonschema` package: gatehouse's own values pass for every supported chart line, the guide's
//! misplaced keys fail, each reported at its path.

mod common;

use std::process::Command;

use gatehouse_chart::schema::values_schema;
use gatehouse_model::Deployment;
use serde_json::{Value, json};

fn jsonschema_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        gatehouse_testkit::skip_or_fail(
            "python3 with the jsonschema package",
            "pip install jsonschema",
        );
    }
    ok
}

/// The paths (dot-joined) of every schema error of each document.
fn errors(schema: &Value, documents: &[Value]) -> Vec<Vec<String>> {
    const SCRIPT: &str = r#"
import json, sys, jsonschema
data = json.load(sys.stdin)
validator = jsonschema.Draft202012Validator(data["schema"])
out = []
for document in data["documents"]:
    found = []
    for error in validator.iter_errors(document):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "additionalProperties":
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            found += [(path + "." if path else "") + k for k in extra]
        else:
            found.append(path)
    out.append(sorted(found))
json.dump(out, sys.stdout)
"#;
    let input = json!({"schema": schema, "documents": documents}).to_string();
    let out =
        gatehouse_testkit::output_with_stdin(Command::new("python3").args(["-c", SCRIPT]), &input);
    assert!(out.status.success(), "jsonschema failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn gatehouse_values_fit_the_schema_of_their_chart_line_and_misplaced_keys_do_not() {
    if !jsonschema_available() {
        return;
    }
    for chart in gatehouse_chart::SUPPORTED {
        let schema = values_schema(chart);
        let mut d = Deployment::guide_example().with_gateway_version(chart.imported_from);
        d = d.with_plugin("https://p.example.com/x-1.zip", Some(&"0".repeat(64)));
        let valid = d.validated().unwrap();
        let ours = serde_json::to_value(gatehouse_render::render(&valid).helm.values).unwrap();
        let mut misplaced = ours.clone();
        misplaced["gateway"]["ratelimit"]["type"] = "redis".into();
        misplaced["gateway"]["replicas"] = 3.into();
        misplaced["gateway"]["autoscaling"]["enabled"] = json!({"on": true});
        let found = errors(&schema, &[ours, misplaced, common::guide_values()]);
        assert_eq!(found[0], Vec::<String>::new(), "{}", chart.line);
        assert_eq!(
            found[1],
            [
                "gateway.autoscaling.enabled",
                "gateway.ratelimit.type",
                "gateway.replicas"
            ],
            "{}",
            chart.line
        );
        assert!(
            found[2].contains(&"gateway.ratelimit.type".to_string()),
            "{}: {:?}",
            chart.line,
            found[2]
        );
    }
}
