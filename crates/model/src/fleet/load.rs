//! Loading a fleet from a YAML file, with the same located errors as a deployment file, and the
//! JSON schema of that file.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::{Delivery, Fleet, FleetError, Overrides, ValidFleet};
use crate::Deployment;
use crate::config::source_map::SourceMap;
use crate::config::{ConfigError, located_problems, parse_located};

/// A fleet file that could not be turned into a valid fleet.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FleetConfigError {
    /// The YAML does not map onto a fleet (syntax error, unknown field, wrong type), located.
    #[error(transparent)]
    #[diagnostic(help("see schema/gatehouse-fleet.schema.json for every field"))]
    Syntax(ConfigError),
    /// The fleet maps but has errors; each line names the field (and its place in the file).
    #[error("{origin}: the fleet has {} error(s):\n{}", .error.errors().count(), .located.join("\n"))]
    Invalid {
        /// File name.
        origin: String,
        /// Every problem, as `line:column: <problem>` when the field is in the file.
        located: Vec<String>,
        /// The problems.
        error: FleetError,
    },
}

/// The second reading of a fleet file: each cluster's overrides as a typed deployment, so that a
/// wrong field there is located like one in a deployment file. Other fields were checked by the
/// first reading.
#[derive(Deserialize)]
struct TypedOverrides {
    #[serde(default)]
    clusters: Vec<TypedCluster>,
}

#[derive(Deserialize)]
struct TypedCluster {
    #[serde(default)]
    overrides: Deployment,
}

/// Reads a fleet from YAML. Unknown fields are refused everywhere, in `base` and in each
/// cluster's `overrides` too; the overrides keep exactly the fields written.
///
/// ```
/// let yaml = "base: {namespace: apim}\nclusters:\n  - name: eu\n    overrides: {redis: {replicas: 3}}\n";
/// let fleet = gatehouse_model::fleet_from_yaml_str(yaml, "fleet.yaml").unwrap();
/// assert_eq!(fleet.merged(&fleet.clusters[0]).unwrap().redis.replicas, 3);
/// let bad = "clusters:\n  - name: eu\n    overrides: {redis: {replica: 3}}\n";
/// let error = gatehouse_model::fleet_from_yaml_str(bad, "fleet.yaml").unwrap_err();
/// assert!(error.to_string().starts_with("fleet.yaml:3:25: clusters[0].overrides.redis.replica: unknown field"), "{error}");
/// ```
pub fn fleet_from_yaml_str(yaml: &str, origin: &str) -> Result<Fleet, FleetConfigError> {
    let mut fleet: Fleet = parse_located(yaml, origin).map_err(FleetConfigError::Syntax)?;
    if fleet.clusters.iter().all(|c| c.overrides.is_empty()) {
        return Ok(fleet);
    }
    let typed: TypedOverrides = parse_located(yaml, origin).map_err(FleetConfigError::Syntax)?;
    // The first reading keeps what YAML says (`4.10` is a number there); the typed reading says
    // what the deployment means (`4.10` is a version). Keep the typed values of the written fields.
    let map = SourceMap::of(yaml).unwrap_or_default();
    let written: HashSet<&str> = map.paths().collect();
    for (i, (cluster, typed)) in fleet.clusters.iter_mut().zip(typed.clusters).enumerate() {
        if cluster.overrides.is_empty() {
            continue;
        }
        let full = serde_json::to_value(&typed.overrides).expect("a deployment serializes");
        cluster.overrides = Overrides(written_only(
            &full,
            &format!("clusters[{i}].overrides"),
            &written,
        ));
    }
    Ok(fleet)
}

/// The fields of `typed` (a deployment's serde form) written in the file under `at`: a map of
/// settings keeps only its written fields, a list, a value or a choice (`from`, `kind`) is kept
/// whole.
fn written_only(typed: &Value, at: &str, written: &HashSet<&str>) -> Value {
    let Value::Object(fields) = typed else {
        return typed.clone();
    };
    let mut kept = serde_json::Map::new();
    for (key, value) in fields {
        let path = gatehouse_chart_contract::join_path(at, key);
        if !written.contains(path.as_str()) {
            continue;
        }
        let choice = value
            .as_object()
            .is_some_and(|o| o.contains_key("from") || o.contains_key("kind"));
        let kept_value = if value.is_object() && !choice {
            written_only(value, &path, written)
        } else {
            value.clone()
        };
        kept.insert(key.clone(), kept_value);
    }
    Value::Object(kept)
}

/// Reads and validates a fleet file for `delivery`: syntax errors, or every problem located in
/// the file where the field is written.
pub fn load_fleet_yaml_str(
    yaml: &str,
    origin: &str,
    delivery: Delivery,
) -> Result<ValidFleet, FleetConfigError> {
    let fleet = fleet_from_yaml_str(yaml, origin)?;
    fleet
        .validated(delivery)
        .map_err(|error| FleetConfigError::Invalid {
            origin: origin.to_string(),
            located: located_problems(yaml, origin, &error.problems),
            error,
        })
}

/// The JSON schema of the fleet file (and of [`Fleet`]), pretty-printed.
pub fn fleet_json_schema() -> String {
    let schema = schemars::schema_for!(Fleet);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}
