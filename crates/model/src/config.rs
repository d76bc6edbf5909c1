//! Loading a deployment from a YAML config file, and the JSON schema of that file.

use crate::{Deployment, ValidationError};

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
        /// Field path of the key at that line, e.g. `redis.sentinel.quorom`.
        path: String,
        /// What the parser said.
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

/// Reads a deployment from YAML. Unknown fields are refused; missing fields take the defaults.
///
/// ```
/// let d = gatehouse_model::from_yaml_str("namespace: apim\nredis:\n  replicas: 3\n", "inline").unwrap();
/// assert_eq!((d.namespace.as_str(), d.redis.replicas), ("apim", 3));
/// let err = gatehouse_model::from_yaml_str("redis:\n  replica: 3\n", "inline").unwrap_err();
/// assert!(err.to_string().starts_with("inline:2:3: redis.replica: unknown field"), "{err}");
/// ```
pub fn from_yaml_str(yaml: &str, origin: &str) -> Result<Deployment, ConfigError> {
    serde_saphyr::from_str(yaml).map_err(|error| {
        let (line, column) = error
            .location()
            .map(|at| (at.line(), at.column()))
            .unwrap_or((0, 0));
        let message = error.without_snippet().to_string();
        let message = match message.split_once(": ") {
            Some((prefix, rest)) if prefix.starts_with("line ") => rest.to_string(),
            _ => message,
        };
        ConfigError::Syntax {
            origin: origin.to_string(),
            line,
            column,
            path: KeyIndex::of(yaml)
                .path_at(line as usize)
                .unwrap_or_else(|| "(document)".into()),
            message,
        }
    })
}

/// Reads and validates a config file: syntax errors, or every validation problem located in the
/// file where the field is written.
pub fn load_yaml_str(yaml: &str, origin: &str) -> Result<crate::ValidDeployment, ConfigError> {
    let deployment = from_yaml_str(yaml, origin)?;
    deployment.validated().map_err(|error| {
        let index = KeyIndex::of(yaml);
        let located = error
            .problems
            .iter()
            .map(|problem| match index.place_of(&problem.path) {
                Some((line, column)) => format!("  {origin}:{line}:{column}: {problem}"),
                None => format!("  {problem}"),
            })
            .collect();
        ConfigError::Invalid {
            origin: origin.to_string(),
            located,
            error,
        }
    })
}

/// The field path of every key in a block-style YAML document, with its line and column.
///
/// A small indentation walk, enough for config files: `a:` nested under `b:` gives `b.a`, list
/// items give `[index]`. It only locates keys for messages; parsing is serde-saphyr's job.
struct KeyIndex {
    keys: Vec<(String, usize, usize)>,
}

impl KeyIndex {
    fn of(yaml: &str) -> KeyIndex {
        // (indent, path) of the open mappings; list counters per (indent of the `-`).
        let mut stack: Vec<(usize, String)> = Vec::new();
        let mut list_index: Vec<(usize, String, usize)> = Vec::new();
        let mut keys = Vec::new();
        for (number, raw) in yaml.lines().enumerate() {
            let content = raw.trim_start();
            if content.is_empty() || content.starts_with('#') || content.starts_with("---") {
                continue;
            }
            let mut indent = raw.len() - content.len();
            let mut rest = content;
            let mut item_of = None;
            if let Some(after) = rest
                .strip_prefix("- ")
                .or_else(|| (rest == "-").then_some(""))
            {
                while stack.last().is_some_and(|(i, _)| *i > indent) {
                    stack.pop();
                }
                let parent = stack.last().map(|(_, p)| p.clone()).unwrap_or_default();
                list_index.retain(|(i, _, _)| *i <= indent);
                let index = match list_index
                    .iter_mut()
                    .find(|(i, p, _)| *i == indent && *p == parent)
                {
                    Some(entry) => {
                        entry.2 += 1;
                        entry.2
                    }
                    None => {
                        list_index.push((indent, parent.clone(), 0));
                        0
                    }
                };
                item_of = Some(format!("{parent}[{index}]"));
                indent += 2;
                rest = after.trim_start();
            }
            while stack.last().is_some_and(|(i, _)| *i >= indent) {
                stack.pop();
            }
            let base =
                item_of.unwrap_or_else(|| stack.last().map(|(_, p)| p.clone()).unwrap_or_default());
            if let Some(item_path) = (rest.is_empty() || !rest.contains(':')).then(|| base.clone())
            {
                keys.push((item_path, number + 1, indent + 1));
                continue;
            }
            let key = rest
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\'']);
            let path = if base.is_empty() {
                key.to_string()
            } else {
                format!("{base}.{key}")
            };
            if base.ends_with(']') {
                stack.push((indent.saturating_sub(1), base.clone()));
            }
            keys.push((path.clone(), number + 1, indent + 1));
            stack.push((indent, path));
        }
        KeyIndex { keys }
    }

    /// The path of the last key at or before `line`.
    fn path_at(&self, line: usize) -> Option<String> {
        self.keys
            .iter()
            .rev()
            .find(|(_, l, _)| *l <= line)
            .map(|(p, _, _)| p.clone())
    }

    /// Line and column of `path`, or of its closest ancestor written in the file.
    fn place_of(&self, path: &str) -> Option<(usize, usize)> {
        let mut candidate = path;
        loop {
            if let Some((_, line, column)) = self.keys.iter().find(|(p, _, _)| p == candidate) {
                return Some((*line, *column));
            }
            candidate = &candidate[..candidate.rfind(['.', '['])?];
        }
    }
}

/// The place in a config file where `path` (or its closest written ancestor) is written.
///
/// ```
/// let yaml = "redis:\n  sentinel:\n    count: 2\n";
/// assert_eq!(gatehouse_model::place_in_file(yaml, "redis.sentinel.count"), Some((3, 5)));
/// ```
pub fn place_in_file(yaml: &str, path: &str) -> Option<(u64, u64)> {
    KeyIndex::of(yaml)
        .place_of(path)
        .map(|(line, column)| (line as u64, column as u64))
}

/// The JSON schema of the config file (and of [`crate::Deployment`]), pretty-printed.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(crate::Deployment);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
namespace: apim
redis:
  sentinel:
    count: 3
    quorum: 4
gateway:
  plugins:
    - url: https://x.example/a.zip
    - url: http://x.example/b.zip
      sha256: nope
  env:
    - name: A
      value: b
";

    #[test]
    fn key_index_finds_nested_and_listed_keys() {
        let index = KeyIndex::of(CONFIG);
        assert_eq!(index.place_of("redis.sentinel.quorum"), Some((5, 5)));
        assert_eq!(index.place_of("gateway.plugins[1].url"), Some((9, 7)));
        assert_eq!(index.place_of("gateway.plugins[1].sha256"), Some((10, 7)));
        assert_eq!(index.place_of("gateway.env[0].value"), Some((13, 7)));
        assert_eq!(
            index.place_of("redis.replicas"),
            Some((2, 1)),
            "falls back to the parent"
        );
        assert_eq!(
            index.path_at(10).as_deref(),
            Some("gateway.plugins[1].sha256")
        );
    }

    #[test]
    fn validation_errors_point_into_the_file() {
        let err = load_yaml_str(CONFIG, "c.yaml").unwrap_err().to_string();
        assert!(
            err.contains("c.yaml:5:5: error: redis.sentinel.quorum: 4 exceeds"),
            "{err}"
        );
        assert!(
            err.contains("c.yaml:9:7: error: gateway.plugins[1].url:"),
            "{err}"
        );
        assert!(
            err.contains("c.yaml:10:7: error: gateway.plugins[1].sha256:"),
            "{err}"
        );
    }

    #[test]
    fn syntax_errors_name_line_column_and_path() {
        let err = from_yaml_str("redis:\n  sentinel:\n    quorom: 2\n", "f.yaml").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("f.yaml:3:5: redis.sentinel.quorom: unknown field `quorom`"),
            "{text}"
        );
        let err = from_yaml_str("redis:\n  replicas: two\n", "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("f.yaml:2:13: redis.replicas: "), "{err}");
    }
}
