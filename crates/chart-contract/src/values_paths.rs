//! The key paths a chart's `values.yaml` documents, including the keys it only shows commented out.
//!
//! The `graviteeio/apim` chart has no values schema; its `values.yaml` is the only list of the keys
//! the templates read, and many of them (e.g. `gateway.ratelimit.redis.sentinel.nodes`,
//! `gateway.reporters.elasticsearch.enabled`, `gateway.deployment.revisionHistoryLimit`) appear
//! there only as commented-out examples. [`ValuesPaths::from_values_yaml`] therefore reads it twice:
//!
//! - the real keys (and the type of each value) come from serde-saphyr's parse of the file;
//! - the commented-out keys come from a line scan (no YAML library reads comments), which also
//!   follows the real lines only to know under which key a comment sits:
//!
//! - a line `key:` or `key: value` (or a list item `- key: value`) is a key at the column where the
//!   key starts; its parent is the closest key above it with a smaller column;
//! - a commented line (`# key: ...`, `#key: ...`, `#   key: ...`) is read the same way after
//!   removing the `#` and at most one space after it, so that `    # redis:` sits where `    redis:`
//!   would; a commented key can be the parent of other commented keys, never of a real key (a real
//!   line closes every commented key above it);
//! - keys must look like identifiers (`[A-Za-z_][A-Za-z0-9_.-]*`), which keeps prose comments such
//!   as `# Supported values for jdbc.driverSource:` out; lines inside a block scalar (`key: |`)
//!   are skipped;
//! - a list item's keys are children of the list's key with a `[]` segment
//!   (`gateway.ratelimit.redis.sentinel.nodes[].host`).
//!
//! Prose that happens to look like `word:` can add a spurious path; that only makes the check more
//! lenient, never stricter, and the contract test compares exact paths gatehouse emits.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ValueKind;

/// The key paths (dot-separated, `[]` for list items) documented by one `values.yaml`, each with
/// the type of its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValuesPaths {
    paths: BTreeMap<String, ValueKind>,
}

/// A `values.yaml` that is not YAML (its real keys cannot be read).
#[derive(Debug, thiserror::Error)]
#[error("the values.yaml is not valid YAML: {message}")]
pub struct ValuesYamlError {
    message: String,
}

#[derive(Debug, Clone)]
struct Open {
    indent: usize,
    path: String,
    /// A list item (`-`): its keys are `path.key` where `path` ends in `[]`.
    item: bool,
}

/// Keys above the current line: the real ones, and the commented ones since the last real line.
#[derive(Debug, Default)]
struct Stack {
    real: Vec<Open>,
    commented: Vec<Open>,
}

impl Stack {
    /// Closes what the line ends and returns the parent path of a key (or list) at this line.
    fn parent_for(&mut self, line: &Line<'_>) -> Option<String> {
        if !line.commented {
            self.commented.clear();
        }
        let stack = self.of(line.commented);
        if line.list_item {
            while stack
                .last()
                .is_some_and(|o| o.indent > line.indent || (o.indent == line.indent && o.item))
            {
                stack.pop();
            }
        } else {
            while stack.last().is_some_and(|o| o.indent >= line.key_indent) {
                stack.pop();
            }
        }
        let column = if line.list_item {
            line.indent + 1
        } else {
            line.key_indent
        };
        let own = if line.commented {
            self.commented.last()
        } else {
            None
        };
        own.or_else(|| self.real.iter().rev().find(|o| o.indent < column))
            .map(|o| o.path.clone())
    }

    /// The commented or the real keys.
    fn of(&mut self, commented: bool) -> &mut Vec<Open> {
        if commented {
            &mut self.commented
        } else {
            &mut self.real
        }
    }
}

impl ValuesPaths {
    /// Reads every key path of a `values.yaml` text, commented-out example keys included.
    pub fn from_values_yaml(text: &str) -> Result<ValuesPaths, ValuesYamlError> {
        // The chart's values.yaml is mostly comments: do not hand them to the reader (its default
        // lookahead buffer for comment events is too small for the chart's comment blocks).
        let mut options = serde_saphyr::Options::default();
        options.emit_comments = false;
        let tree: Value =
            serde_saphyr::from_str_with_options(text, options).map_err(|e| ValuesYamlError {
                message: e.to_string().lines().next().unwrap_or_default().to_string(),
            })?;
        let mut paths = BTreeMap::new();
        real_paths(&tree, "", &mut paths);
        for (path, kind) in commented_paths(text) {
            paths.entry(path).or_insert(kind);
        }
        // A key shown without a value whose children are shown is a map (or a list of maps).
        let keys: Vec<String> = paths.keys().cloned().collect();
        for path in keys.clone() {
            if paths[&path] != ValueKind::Null {
                continue;
            }
            let item = format!("{path}[].");
            let child = format!("{path}.");
            let kind = if keys.iter().any(|k| k.starts_with(&item)) {
                ValueKind::List
            } else if keys.iter().any(|k| k.starts_with(&child)) {
                ValueKind::Map
            } else {
                continue;
            };
            paths.insert(path, kind);
        }
        Ok(ValuesPaths { paths })
    }
}

/// Every path of the parsed document with the type of its value.
fn real_paths(value: &Value, path: &str, out: &mut BTreeMap<String, ValueKind>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = crate::join_path(path, key);
                out.insert(child_path.clone(), kind_of(child));
                real_paths(child, &child_path, out);
            }
        }
        Value::Array(items) => {
            for item in items.iter().filter(|i| i.is_object()) {
                real_paths(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

fn kind_of(value: &Value) -> ValueKind {
    match value {
        Value::Object(_) => ValueKind::Map,
        Value::Array(_) => ValueKind::List,
        Value::String(_) => ValueKind::String,
        Value::Bool(_) => ValueKind::Bool,
        Value::Number(n) if n.is_f64() => ValueKind::Float,
        Value::Number(_) => ValueKind::Int,
        Value::Null => ValueKind::Null,
    }
}

/// The type an example value written after a commented-out key shows.
fn example_kind(value: &str) -> ValueKind {
    match value.chars().next() {
        None => ValueKind::Null,
        Some('[') => ValueKind::List,
        Some('{') => ValueKind::Map,
        Some('|' | '>') => ValueKind::String,
        _ => serde_saphyr::from_str::<Value>(value)
            .map(|v| kind_of(&v))
            .unwrap_or(ValueKind::String),
    }
}

/// The commented-out keys, found by the line scan.
fn commented_paths(text: &str) -> Vec<(String, ValueKind)> {
    let mut paths = Vec::new();
    let mut stack = Stack::default();
    // Column (and commented-ness) of a key whose value is a block scalar: deeper lines are text.
    let mut block_scalar: Option<(usize, bool)> = None;
    for raw in text.lines() {
        if let Some((column, commented)) = block_scalar {
            let lead = raw.len() - raw.trim_start().len();
            if raw.trim().is_empty() {
                continue;
            }
            let inside = if commented {
                Line::parse(raw).is_none_or(|l| l.commented && l.indent > column)
                    && raw.trim_start().starts_with('#')
            } else {
                lead > column
            };
            if inside {
                continue;
            }
            block_scalar = None;
        }
        let Some(line) = Line::parse(raw) else {
            continue;
        };
        let parent = stack.parent_for(&line);
        let mut holder = parent.clone();
        if line.list_item {
            let item_path = format!("{}[]", parent.as_deref().unwrap_or(""));
            stack.of(line.commented).push(Open {
                indent: line.indent,
                path: item_path.clone(),
                item: true,
            });
            holder = Some(item_path);
        }
        let Some(key) = line.key else {
            continue;
        };
        let path = crate::join_path(holder.as_deref().unwrap_or_default(), key);
        if line.commented {
            paths.push((path.clone(), example_kind(line.value)));
        }
        if line.block_scalar {
            block_scalar = Some((line.key_indent, line.commented));
        }
        stack.of(line.commented).push(Open {
            indent: line.key_indent,
            path,
            item: false,
        });
    }
    paths
}

impl ValuesPaths {
    /// Whether `path` (e.g. `gateway.ratelimit.redis.sentinel.nodes[].host`) is documented.
    pub fn contains(&self, path: &str) -> bool {
        self.paths.contains_key(path)
    }

    /// The type of a documented path.
    pub fn kind(&self, path: &str) -> Option<ValueKind> {
        self.paths.get(path).copied()
    }

    /// Every documented path.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.paths.keys().map(String::as_str)
    }

    /// Every documented path with its type.
    pub fn into_map(self) -> BTreeMap<String, ValueKind> {
        self.paths
    }

    /// Number of documented paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether no path was found.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// One meaningful line of a `values.yaml`.
#[derive(Debug)]
struct Line<'a> {
    /// Column of the first character after the indentation (the dash for list items).
    indent: usize,
    /// Column of the key.
    key_indent: usize,
    key: Option<&'a str>,
    /// The value after the key, trailing comment removed.
    value: &'a str,
    commented: bool,
    list_item: bool,
    block_scalar: bool,
}

impl<'a> Line<'a> {
    fn parse(raw: &'a str) -> Option<Line<'a>> {
        let trimmed = raw.trim_start();
        if trimmed.is_empty() {
            return None;
        }
        let lead = raw.len() - trimmed.len();
        let (commented, body) = match trimmed.strip_prefix('#') {
            // Strip every further `#` (`##  tls:`), then at most one space.
            Some(rest) => {
                let rest = rest.trim_start_matches('#');
                (true, rest.strip_prefix(' ').unwrap_or(rest))
            }
            None => (false, trimmed),
        };
        let inner = body.trim_start();
        if inner.is_empty() {
            return None;
        }
        let indent = lead + (body.len() - inner.len());
        let (list_item, after_dash, key_indent) = if let Some(rest) = inner.strip_prefix("- ") {
            let item = rest.trim_start();
            (true, item, indent + 2 + (rest.len() - item.len()))
        } else if inner == "-" {
            (true, "", indent + 2)
        } else {
            (false, inner, indent)
        };
        let (key, value) = split_key(after_dash);
        if key.is_none() && !list_item {
            return None;
        }
        let value = value.map(strip_trailing_comment).unwrap_or_default();
        let block_scalar = key.is_some() && (value.starts_with('|') || value.starts_with('>'));
        Some(Line {
            indent,
            key_indent,
            key,
            value,
            commented,
            list_item,
            block_scalar,
        })
    }
}

/// `key: value` → (`key`, `value`) when `key` looks like a values key.
fn split_key(text: &str) -> (Option<&str>, Option<&str>) {
    let (key, value) = match text.split_once(':') {
        Some((key, rest)) if rest.is_empty() || rest.starts_with(' ') => (key, rest.trim()),
        _ => return (None, None),
    };
    let key = key.trim_matches(|c| c == '"' || c == '\'');
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
    if valid {
        (Some(key), Some(value))
    } else {
        (None, None)
    }
}

fn strip_trailing_comment(value: &str) -> &str {
    value.split_once(" #").map_or(value, |(v, _)| v).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
top: 1
gateway:
  ratelimit:
    # redis:
    #   host: redis
    #   password:
    #   sentinel:
    #     master: redis-master
    #     nodes:
    #       - host: sentinel1
    #         port: 26379
  management:
      http:
      #  url: \"https://bridge.example.com:18092\"
  deployment:
    strategy:
      type: RollingUpdate
    # revisionHistoryLimit: 10
    # Annotations to apply to the deployment
    annotations: {}
  extraText: |
    notakey: 1
    another: 2
  after: 1
#  reporters:
#    elasticsearch:
#      enabled: true
  env: []
  #   - name: ENV_VARIABLE
  #     value: ENV_VARIABLE_VALUE
  gracefulShutdown:
    delay: 0
ratelimit:
  type: mongodb
";

    fn paths() -> ValuesPaths {
        ValuesPaths::from_values_yaml(SAMPLE).expect("valid YAML")
    }

    #[test]
    fn real_keys_are_found_with_their_parents() {
        let p = paths();
        for path in [
            "top",
            "gateway.ratelimit",
            "gateway.deployment.strategy.type",
            "gateway.gracefulShutdown.delay",
            "ratelimit.type",
            "gateway.after",
        ] {
            assert!(p.contains(path), "{path} missing from {:?}", p.paths);
        }
    }

    #[test]
    fn commented_keys_are_found_under_the_right_parent() {
        let p = paths();
        for path in [
            "gateway.ratelimit.redis.host",
            "gateway.ratelimit.redis.password",
            "gateway.ratelimit.redis.sentinel.master",
            "gateway.ratelimit.redis.sentinel.nodes",
            "gateway.ratelimit.redis.sentinel.nodes[].host",
            "gateway.ratelimit.redis.sentinel.nodes[].port",
            "gateway.management.http.url",
            "gateway.deployment.revisionHistoryLimit",
            "gateway.reporters.elasticsearch.enabled",
            "gateway.env[].name",
            "gateway.env[].value",
        ] {
            assert!(p.contains(path), "{path} missing from {:?}", p.paths);
        }
    }

    #[test]
    fn real_keys_take_their_type_from_the_parse_and_commented_ones_from_the_example() {
        let p = paths();
        for (path, kind) in [
            ("top", ValueKind::Int),
            ("gateway.deployment.strategy.type", ValueKind::String),
            ("gateway.deployment.annotations", ValueKind::Map),
            ("gateway.env", ValueKind::List),
            ("gateway.extraText", ValueKind::String),
            // Commented out: the example value, or map/list from the keys shown below it.
            ("gateway.ratelimit.redis", ValueKind::Map),
            ("gateway.ratelimit.redis.sentinel.nodes", ValueKind::List),
            (
                "gateway.ratelimit.redis.sentinel.nodes[].port",
                ValueKind::Int,
            ),
            ("gateway.ratelimit.redis.password", ValueKind::Null),
            ("gateway.reporters.elasticsearch.enabled", ValueKind::Bool),
            ("gateway.management.http.url", ValueKind::String),
            // Real but empty, with commented children.
            ("gateway.management.http", ValueKind::Map),
        ] {
            assert_eq!(p.kind(path), Some(kind), "{path}");
        }
    }

    #[test]
    fn a_file_that_is_not_yaml_is_an_error() {
        assert!(ValuesPaths::from_values_yaml("a: [1, 2\nb: {").is_err());
    }

    #[test]
    fn block_scalar_text_and_prose_are_not_keys() {
        let p = paths();
        for path in [
            "gateway.extraText.notakey",
            "gateway.deployment.Annotations to apply to the deployment",
            "gateway.ratelimit.type",
            "gateway.deployment.revisionHistoryLimit.annotations",
        ] {
            assert!(!p.contains(path), "{path} wrongly found");
        }
        assert!(p.contains("gateway.deployment.annotations"));
    }
}
