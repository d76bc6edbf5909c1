//! The checked-in JSON schema is what the model generates (a codegen test: it fails when stale).

use std::path::Path;

#[test]
fn checked_in_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/gatehouse.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = gatehouse_model::json_schema();
    assert!(
        checked_in == generated,
        "{} is stale: run `cargo xtask schema` and commit the result",
        path.display()
    );
}

#[test]
fn schema_describes_the_config_file() {
    let schema: serde_json::Value = serde_json::from_str(&gatehouse_model::json_schema()).unwrap();
    let properties = schema["properties"].as_object().expect("an object schema");
    for field in ["namespace", "name", "redis", "gateway"] {
        assert!(properties.contains_key(field), "no `{field}` in the schema");
    }
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false),
        "unknown fields must be refused"
    );
}

#[test]
fn checked_in_fleet_schema_is_current() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/gatehouse-fleet.schema.json");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = gatehouse_model::fleet_json_schema();
    assert!(
        checked_in == generated,
        "{} is stale: run `cargo xtask schema` and commit the result",
        path.display()
    );
}

#[test]
fn fleet_schema_refuses_unknown_fields_and_describes_overrides_as_a_deployment() {
    let schema: serde_json::Value =
        serde_json::from_str(&gatehouse_model::fleet_json_schema()).unwrap();
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
    let cluster = &schema["$defs"]["Cluster"];
    assert_eq!(
        cluster["additionalProperties"],
        serde_json::Value::Bool(false)
    );
    assert_eq!(
        cluster["properties"]["overrides"]["$ref"],
        serde_json::json!("#/$defs/Deployment"),
        "{cluster}"
    );
    assert!(
        schema["properties"]["base"]
            .to_string()
            .contains("#/$defs/Deployment")
    );
}
