//! Loading a deployment from a YAML config file, and the JSON schema of that file.
//!
//! Every error of a config file is said here once, in the user's terms: the place in the file,
//! the field path, what was expected and what was found, never a value that could be a secret
//! and never more than 80 characters of any value (see [`crate::shown`]).

mod parse_error;
pub(crate) mod source_map;

use serde_saphyr::{DuplicateKeyPolicy, Options};

use crate::redact::Redactor;
use crate::{Deployment, ValidationError};
use source_map::SourceMap;

/// A config file that could not be turned into a valid deployment.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    /// The YAML does not map onto the model (syntax error, unknown field, wrong type).
    #[error("{origin}:{line}:{column}: {path}: {message}")]
    #[diagnostic(help("see schema/gatehouse.schema.json (`cargo xtask schema`) for every field"))]
    Syntax {
        /// File name (or another name for the input).
        origin: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// Field path at that place, e.g. `redis.sentinel.quorom`.
        path: String,
        /// What is wrong, in the user's terms.
        message: String,
    },
    /// The model maps but has errors; each line names the field (and its place in the file).
    #[error("{origin}: the deployment has {} error(s):\n{}", .error.errors().count(), .located.join("\n"))]
    Invalid {
        /// File name.
        origin: String,
        /// Every problem, as `line:column: <problem>` when the field is in the file.
        located: Vec<String>,
        /// The problems.
        error: ValidationError,
    },
}

/// The reader options: a duplicate key is an error (never silently one of the two).
fn options() -> Options {
    let mut options = Options::default();
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options
}

/// Reads a deployment from YAML. Unknown fields are refused; missing fields take the defaults
/// (also inside `image` and `resources`: a partial override keeps the rest of the default).
///
/// ```
/// let d = gatehouse_model::from_yaml_str("namespace: apim\nredis:\n  replicas: 3\n", "inline").unwrap();
/// assert_eq!((d.namespace.as_str(), d.redis.replicas), ("apim", 3));
/// let err = gatehouse_model::from_yaml_str("redis:\n  replica: 3\n", "inline").unwrap_err();
/// assert!(err.to_string().starts_with("inline:2:3: redis.replica: unknown field"), "{err}");
/// ```
pub fn from_yaml_str(yaml: &str, origin: &str) -> Result<Deployment, ConfigError> {
    if yaml.trim().is_empty()
        || yaml
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Ok(Deployment::default());
    }
    parse_located(yaml, origin)
}

/// Reads any config type from YAML, a syntax error located and worded as for a deployment file.
pub(crate) fn parse_located<T: serde::de::DeserializeOwned>(
    yaml: &str,
    origin: &str,
) -> Result<T, ConfigError> {
    serde_saphyr::from_str_with_options(yaml, options()).map_err(|error| {
        let map = SourceMap::of(yaml);
        let t = parse_error::translate(&error, map.as_ref(), yaml);
        let redactor = map
            .as_ref()
            .map(SourceMap::redactor)
            .cloned()
            .unwrap_or_default();
        ConfigError::Syntax {
            origin: origin.to_string(),
            line: t.line,
            column: t.column,
            path: at_most(redactor.scrub(&t.path)),
            message: at_most(redactor.scrub(&t.message)),
        }
    })
}

/// The most characters of a syntax error's path or message, whatever the parser said.
const MAX_MESSAGE: usize = 1_000;

/// `text` cut to [`MAX_MESSAGE`] characters (with `…`): an error stays small however large the
/// input.
fn at_most(text: String) -> String {
    if text.chars().count() <= MAX_MESSAGE {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_MESSAGE - 1).collect();
    cut.push('…');
    cut
}

/// Reads and validates a config file: syntax errors, or every validation problem located in the
/// file where the field is written.
pub fn load_yaml_str(yaml: &str, origin: &str) -> Result<crate::ValidDeployment, ConfigError> {
    let deployment = from_yaml_str(yaml, origin)?;
    deployment
        .validated()
        .map_err(|error| ConfigError::Invalid {
            origin: origin.to_string(),
            located: located_problems(yaml, origin, &error.problems),
            error,
        })
}

/// Each problem as `  origin:line:column: problem`, placed where its field is written in `yaml`
/// (without a place when the field is not written). The one way a file's problems are listed, for
/// a deployment file and a fleet file alike.
pub(crate) fn located_problems(
    yaml: &str,
    origin: &str,
    problems: &[crate::Problem],
) -> Vec<String> {
    let map = SourceMap::of(yaml).unwrap_or_default();
    problems
        .iter()
        .map(|problem| match map.place_of(&problem.path) {
            Some((line, column)) => format!("  {origin}:{line}:{column}: {problem}"),
            None => format!("  {problem}"),
        })
        .collect()
}

/// The place in a config file where `path` (or its closest written ancestor) is written.
///
/// ```
/// let yaml = "redis: {sentinel: {count: 2}}\n";
/// assert_eq!(gatehouse_model::place_in_file(yaml, "redis.sentinel.count"), Some((1, 20)));
/// ```
pub fn place_in_file(yaml: &str, path: &str) -> Option<(u64, u64)> {
    SourceMap::of(yaml)?.place_of(path)
}

/// [`place_in_file`] for many paths, reading the file once (a file with thousands of problems
/// is read once, not once per problem).
///
/// ```
/// let yaml = "redis: {replicas: 0, sentinel: {count: 2}}\n";
/// let places = gatehouse_model::places_in_file(yaml, ["redis.replicas", "gateway.version"]);
/// assert_eq!(places, vec![Some((1, 9)), None]);
/// ```
pub fn places_in_file<'a>(
    yaml: &str,
    paths: impl IntoIterator<Item = &'a str>,
) -> Vec<Option<(u64, u64)>> {
    let map = SourceMap::of(yaml);
    paths
        .into_iter()
        .map(|path| map.as_ref().and_then(|m| m.place_of(path)))
        .collect()
}

/// The JSON schema of the config file (and of [`crate::Deployment`]), pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(crate::Deployment);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// A redactor for a model's own values (used by validation).
pub(crate) fn redactor_of(deployment: &Deployment) -> Redactor {
    serde_json::to_value(deployment)
        .map(|json| Redactor::of_json(&json))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
