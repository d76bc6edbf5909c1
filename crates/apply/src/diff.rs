//! Server-side diff: the dry-run result against the live object, server noise removed, Secret
//! data masked, as a unified diff.

use serde_json::Value;
use similar::TextDiff;

use crate::secrets::{Masker, mask_secret_data};

/// Metadata fields the server sets, left out of comparisons.
const NOISE: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// The object without server noise: `status`, and `metadata.managedFields`, `resourceVersion`,
/// `uid`, `creationTimestamp`, `generation`.
///
/// ```
/// let live = serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "a", "uid": "1",
///     "resourceVersion": "7"}, "data": {"k": "v"}, "status": {}});
/// assert_eq!(gatehouse_apply::normalize(&live),
///     serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}));
/// ```
pub fn normalize(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in NOISE {
                meta.remove(*field);
            }
            if meta
                .get("annotations")
                .and_then(Value::as_object)
                .is_some_and(|a| a.is_empty())
            {
                meta.remove("annotations");
            }
        }
    }
    object
}

/// The difference of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDiff {
    /// `Kind namespace/name`.
    pub object: String,
    /// Live object as YAML (empty when it does not exist).
    pub before: String,
    /// Dry-run result as YAML.
    pub after: String,
}

impl ObjectDiff {
    /// The diff of `live` (absent: a new object) against the dry-run `result`, or `None` when
    /// they are equal after normalization. Secret data is masked and every known secret value
    /// is replaced, so the text is safe to print.
    pub fn new(
        object: &str,
        live: Option<&Value>,
        result: &Value,
        masker: &Masker,
    ) -> Option<ObjectDiff> {
        let mut after = normalize(result);
        let mut before = live.map(normalize);
        if before.as_ref() == Some(&after) {
            return None;
        }
        let after_raw = after.clone();
        mask_secret_data(&mut after, before.as_ref(), "after");
        if let Some(b) = before.as_mut() {
            mask_secret_data(b, Some(&after_raw), "before");
        }
        let yaml = |v: &Value| masker.mask(&gatehouse_render::yaml::to_yaml(v));
        Some(ObjectDiff {
            object: object.into(),
            before: before.as_ref().map(yaml).unwrap_or_default(),
            after: yaml(&after),
        })
    }

    /// A unified diff with `---`/`+++` headers naming the object; `color` adds ANSI colors.
    pub fn render(&self, color: bool) -> String {
        unified_diff(&self.object, &self.before, &self.after, color)
    }
}

/// A unified diff of two texts, like `kubectl diff`: `--- live/<object>` and `+++ merged/<object>`,
/// three lines of context (similar's unified diff). `color` (the caller's choice) adds ANSI colours:
/// bold headers, cyan hunk headers, red removed and green added lines.
///
/// ```
/// let text = gatehouse_apply::unified_diff("ConfigMap ns/a", "a: 1\n", "a: 2\n", false);
/// assert!(text.contains("-a: 1\n+a: 2\n"));
/// ```
pub fn unified_diff(object: &str, before: &str, after: &str, color: bool) -> String {
    let plain = TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{object}"), &format!("merged/{object}"))
        .to_string();
    if !color {
        return plain;
    }
    let mut out = String::with_capacity(plain.len() + 256);
    for (index, line) in plain.lines().enumerate() {
        let code = match line.as_bytes().first() {
            // The first two lines are the `---`/`+++` file headers.
            _ if index < 2 => "\x1b[1m",
            Some(b'@') => "\x1b[36m",
            Some(b'-') => "\x1b[31m",
            Some(b'+') => "\x1b[32m",
            _ => "",
        };
        if code.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(&format!("{code}{line}\x1b[0m"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn noise_only_changes_are_no_diff() {
        let live = json!({"kind": "Service", "metadata": {"name": "s", "resourceVersion": "1",
            "managedFields": [{"manager": "x"}], "generation": 3}, "spec": {"a": 1}, "status": {"x": 1}});
        let result = json!({"kind": "Service", "metadata": {"name": "s", "resourceVersion": "2"},
            "spec": {"a": 1}});
        assert!(
            ObjectDiff::new("Service ns/s", Some(&live), &result, &Masker::default()).is_none()
        );
    }

    #[test]
    fn changed_field_appears_as_minus_plus() {
        let live = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "old"}});
        let result = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "new"}});
        let d =
            ObjectDiff::new("ConfigMap ns/c", Some(&live), &result, &Masker::default()).unwrap();
        let text = d.render(false);
        assert!(text.contains("-  k: old\n+  k: new\n"), "{text}");
        assert!(text.starts_with("--- live/ConfigMap ns/c\n+++ merged/ConfigMap ns/c\n"));
        let colored = d.render(true);
        assert!(colored.contains("\x1b[31m-  k: old\x1b[0m"), "{colored}");
        assert!(colored.contains("\x1b[32m+  k: new\x1b[0m"), "{colored}");
        assert!(
            colored.starts_with("\x1b[1m--- live/ConfigMap ns/c\x1b[0m\n"),
            "{colored}"
        );
    }

    #[test]
    fn secret_values_never_appear() {
        let mut masker = Masker::default();
        masker.add("topsecret");
        let encoded = "dG9wc2VjcmV0"; // base64("topsecret")
        let result = json!({"kind": "Secret", "metadata": {"name": "p",
            "annotations": {"note": "topsecret"}}, "data": {"password": encoded}});
        let d = ObjectDiff::new("Secret ns/p", None, &result, &masker).unwrap();
        let text = d.render(false);
        assert!(
            !text.contains("topsecret") && !text.contains(encoded),
            "{text}"
        );
        assert!(
            text.contains("password: '***'")
                || text.contains("password: \"***\"")
                || text.contains("password: ***"),
            "{text}"
        );
    }
}
