//! Loading a deployment from a YAML config file, and the JSON schema of that file.

/// A config file that could not be read into the model.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    /// The YAML does not map onto the model (syntax error, unknown field, wrong type).
    #[error("{origin}:{line}:{column}: {message}")]
    #[diagnostic(help("see schema/gatehouse.schema.json or `cargo xtask schema` for every field"))]
    Syntax {
        /// File name (or `<input>`).
        origin: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What the parser said, with the field path when known.
        message: String,
    },
}

/// Reads a deployment from YAML. Unknown fields are refused; missing fields take the defaults.
///
/// ```
/// let d = gatehouse_model::from_yaml_str("namespace: apim\nredis:\n  replicas: 3\n", "inline").unwrap();
/// assert_eq!((d.namespace.as_str(), d.redis.replicas), ("apim", 3));
/// let err = gatehouse_model::from_yaml_str("redis:\n  replica: 3\n", "inline").unwrap_err();
/// assert!(err.to_string().starts_with("inline:2:3:"), "{err}");
/// ```
pub fn from_yaml_str(yaml: &str, origin: &str) -> Result<crate::Deployment, ConfigError> {
    serde_saphyr::from_str(yaml).map_err(|error| {
        let (line, column) = error
            .location()
            .map(|at| (at.line(), at.column()))
            .unwrap_or((0, 0));
        ConfigError::Syntax {
            origin: origin.to_string(),
            line,
            column,
            message: error.to_string(),
        }
    })
}

/// The JSON schema of the config file (and of [`crate::Deployment`]), pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(crate::Deployment);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}
