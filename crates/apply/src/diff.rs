//! Server-side diff: the dry-run result against the live object, server noise removed, Secret
//! data masked, as a unified diff.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

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

/// A unified diff of two texts, like `kubectl diff`: `--- live/<object>` and `+++ merged/<object>`.
///
/// ```
/// let text = gatehouse_apply::unified_diff("ConfigMap ns/a", "a: 1\n", "a: 2\n", false);
/// assert!(text.contains("-a: 1\n+a: 2\n"));
/// ```
pub fn unified_diff(object: &str, before: &str, after: &str, color: bool) -> String {
    let diff = TextDiff::from_lines(before, after);
    let mut out = String::new();
    let header = format!("--- live/{object}\n+++ merged/{object}\n");
    out.push_str(&if color {
        format!("\x1b[1m{header}\x1b[0m")
    } else {
        header
    });
    for group in diff.grouped_ops(3) {
        let (first, last) = (group[0], group[group.len() - 1]);
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        let hunk = format!(
            "@@ -{},{} +{},{} @@\n",
            old.start + 1,
            old.len(),
            new.start + 1,
            new.len()
        );
        out.push_str(&if color {
            format!("\x1b[36m{hunk}\x1b[0m")
        } else {
            hunk
        });
        for op in &group {
            for change in diff.iter_changes(op) {
                let (sign, code) = match change.tag() {
                    ChangeTag::Delete => ('-', "\x1b[31m"),
                    ChangeTag::Insert => ('+', "\x1b[32m"),
                    ChangeTag::Equal => (' ', ""),
                };
                let mut line = format!("{sign}{}", change.value());
                if !line.ends_with('\n') {
                    line.push('\n');
                }
                if color && !code.is_empty() {
                    out.push_str(&format!("{code}{}\x1b[0m\n", line.trim_end_matches('\n')));
                } else {
                    out.push_str(&line);
                }
            }
        }
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
        assert!(d.render(true).contains("\x1b[31m-  k: old\x1b[0m"));
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
