//! Merging a cluster's overrides over the base deployment.
//!
//! The merge works on the deployment's serde form (JSON), as RFC 7396 (JSON Merge Patch) does,
//! with one difference: a map holding `from` or `kind` is a choice (a secret source, a data
//! volume, a certificate source) and replaces the base's as a whole, because merging the fields of
//! two different choices would make a third nobody wrote.

use serde_json::Value;

use super::Overrides;
use crate::Deployment;

/// The keys that say which kind of choice a map is.
const CHOICE_KEYS: [&str; 2] = ["from", "kind"];

/// The base with `overrides` merged over it. An override that does not map onto a deployment
/// (a field that does not exist, a value of the wrong kind) is returned as a message.
///
/// ```
/// use gatehouse_model::{Deployment, Overrides, merge_overrides};
/// let base = Deployment::default().with_redis_replicas(2);
/// let merged = merge_overrides(&base, &Overrides(serde_json::json!({"redis": {"sentinel": {"count": 5}}}))).unwrap();
/// assert_eq!((merged.redis.replicas, merged.redis.sentinel.count), (2, 5));
/// ```
pub fn merge_overrides(base: &Deployment, overrides: &Overrides) -> Result<Deployment, String> {
    if overrides.is_empty() {
        return Ok(base.clone());
    }
    let mut merged = serde_json::to_value(base).expect("a deployment serializes");
    merge(&mut merged, &overrides.0);
    serde_json::from_value(merged).map_err(|error| error.to_string())
}

fn merge(base: &mut Value, patch: &Value) {
    match patch {
        Value::Object(fields) if !CHOICE_KEYS.iter().any(|k| fields.contains_key(*k)) => {
            if !base.is_object() {
                *base = Value::Object(serde_json::Map::new());
            }
            let target = base.as_object_mut().expect("made an object above");
            for (key, value) in fields {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        other => *base = other.clone(),
    }
}

/// Whether `path` (a deployment field path such as `redis.replicas`) is set by `overrides`: the
/// field itself or a value or choice above it.
pub(crate) fn overrides_path(overrides: &Overrides, path: &str) -> bool {
    let mut node = &overrides.0;
    for segment in path.split(['.', '[']) {
        match node {
            Value::Object(fields) if !CHOICE_KEYS.iter().any(|k| fields.contains_key(*k)) => {
                match fields.get(segment) {
                    Some(child) => node = child,
                    None => return false,
                }
            }
            Value::Object(_) => return true,
            // A list or a value replaces everything below it.
            _ => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretSource;
    use serde_json::json;

    #[test]
    fn maps_merge_values_replace_choices_replace_whole() {
        let base = Deployment::guide_example();
        let merged = merge_overrides(
            &base,
            &Overrides(json!({
                "namespace": "apim-eu",
                "redis": {"replicas": 4, "password": {"from": "existingSecret", "name": "eu", "key": "pw"}},
            })),
        )
        .unwrap();
        assert_eq!(merged.namespace, "apim-eu");
        assert_eq!(merged.redis.replicas, 4);
        assert_eq!(
            merged.redis.sentinel, base.redis.sentinel,
            "untouched maps stay"
        );
        assert_eq!(
            merged.redis.password,
            SecretSource::ExistingSecret {
                name: "eu".into(),
                key: "pw".into()
            }
        );
    }

    #[test]
    fn null_returns_a_field_to_its_default_and_bad_fields_are_refused() {
        let base = Deployment::default().with_namespace("x");
        let merged = merge_overrides(&base, &Overrides(json!({"namespace": null}))).unwrap();
        assert_eq!(merged.namespace, Deployment::default().namespace);
        let error = merge_overrides(&base, &Overrides(json!({"redis": {"replica": 3}})));
        assert!(error.unwrap_err().contains("replica"));
    }

    #[test]
    fn paths_under_an_override_are_found() {
        let o = Overrides(
            json!({"redis": {"replicas": 3, "password": {"from": "env", "variable": "X"}}, "gateway": {"plugins": []}}),
        );
        assert!(overrides_path(&o, "redis.replicas"));
        assert!(overrides_path(&o, "redis.password.variable"));
        assert!(overrides_path(&o, "gateway.plugins[0].url"));
        assert!(!overrides_path(&o, "redis.sentinel.count"));
        assert!(!overrides_path(&o, "namespace"));
    }
}
