//! Password rotation and the Secret versions that roll the pods.
//!
//! A password Secret gatehouse writes (an `env` source) moves through three states when its source
//! value changes, one per deploy; each state is rolled out before the next (ARCHITECTURE.md,
//! "Password rotation"):
//!
//! | step | `<key>` | `<key>.next` | `<key>.previous` |
//! |---|---|---|---|
//! | [`RotationStep::AddNext`] | old | new | — |
//! | [`RotationStep::Switch`] | new | — | old |
//! | [`RotationStep::DropPrevious`] | new | — | — |
//!
//! The pods accept every password present and send `<key>`. Which step comes next is read from
//! the live Secret alone, by comparing base64 strings; no value is decoded except to register it
//! with the [`Masker`].
//!
//! Every password Secret carries [`SECRET_VERSION`], a counter raised on each change of its data
//! (never derived from a value). Each StatefulSet's pod template carries [`POD_SECRET_VERSIONS`]:
//! `name=version` of every Secret its containers read, so a changed Secret rolls exactly the pods
//! that read it. A Secret the user holds (`existingSecret`) counts by its `resourceVersion`.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde_json::{Value, json};

use crate::plan::{Plan, WriteMode};
use crate::secrets::Masker;

/// Annotation of a password Secret: its version, raised on each change of its data.
pub const SECRET_VERSION: &str = "gatehouse/secret-version";
/// Annotation of each StatefulSet's pod template: `name=version` of the Secrets its pods read.
pub const POD_SECRET_VERSIONS: &str = "gatehouse/secret-versions";

/// One Secret write of a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    /// The new password added as `<key>.next`; clients still send the old one.
    AddNext,
    /// The new password in `<key>`, the old one kept as `<key>.previous`.
    Switch,
    /// `<key>.previous` removed: the rotation is complete.
    DropPrevious,
}

impl RotationStep {
    /// 1, 2 or 3.
    pub fn number(self) -> u8 {
        match self {
            RotationStep::AddNext => 1,
            RotationStep::Switch => 2,
            RotationStep::DropPrevious => 3,
        }
    }
}

/// A rotation step a deploy wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// `namespace/name` of the Secret.
    pub secret: String,
    /// The key holding the password.
    pub key: String,
    /// The step written.
    pub step: RotationStep,
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secret, key) = (&self.secret, &self.key);
        match self.step {
            RotationStep::AddNext => write!(
                f,
                "Secret {secret}: password rotation step 1 of 3 (new password added as {key}.next; \
                 every user accepts both); run deploy again once the pods have rolled"
            ),
            RotationStep::Switch => write!(
                f,
                "Secret {secret}: password rotation step 2 of 3 (new password in {key}, the old one \
                 kept as {key}.previous); restart the gateway pods, then run deploy again"
            ),
            RotationStep::DropPrevious => write!(
                f,
                "Secret {secret}: password rotation step 3 of 3 ({key}.previous removed; only the \
                 new password opens the users)"
            ),
        }
    }
}

/// `<key>.<suffix>` of a rotation key.
fn rotation_key(key: &str, suffix: &str) -> String {
    format!("{key}.{suffix}")
}

/// What to write for a password Secret whose desired value (base64) is `new` under `key`, given
/// the live Secret's data: the data map and the step, `None` when nothing changes (a first write
/// has no step either).
pub fn next_data(
    key: &str,
    new: &str,
    live: Option<&Value>,
) -> (serde_json::Map<String, Value>, Option<RotationStep>) {
    let next_key = rotation_key(key, "next");
    let previous_key = rotation_key(key, "previous");
    let data = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
    };
    let Some(live) = live else {
        return (data(&[(key, new)]), None);
    };
    let field = |k: &str| live["data"][k].as_str();
    match (field(key), field(&next_key), field(&previous_key)) {
        // Steady, or a step 3 already written.
        (Some(current), None, None) if current == new => (data(&[(key, new)]), None),
        // Step 2 written: step 3 drops the old password.
        (Some(current), None, Some(_)) if current == new => {
            (data(&[(key, new)]), Some(RotationStep::DropPrevious))
        }
        // Step 1 written with this value: step 2 switches.
        (Some(current), Some(next), _) if next == new => (
            data(&[(key, new), (&previous_key, current)]),
            Some(RotationStep::Switch),
        ),
        // A new value: step 1 (also when another rotation was under way: its `<key>` is what
        // every client still sends, the abandoned value is dropped).
        (Some(current), _, _) => (
            data(&[(key, current), (&next_key, new)]),
            Some(RotationStep::AddNext),
        ),
        // A live Secret without the key: nothing reads it yet.
        (None, _, _) => (data(&[(key, new)]), None),
    }
}

/// Whether `encoded` is the value `diff` plans with for an unset variable.
fn is_placeholder(encoded: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .is_ok_and(|b| b == crate::report::PLACEHOLDER.as_bytes())
}

/// The version of a live Secret gatehouse wrote (1 when it has none).
fn live_version(live: &Value) -> u64 {
    live["metadata"]["annotations"][SECRET_VERSION]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Registers every password a live Secret holds with `masker` (the old ones are sent again).
fn mask_live(live: &Value, masker: &mut Masker) {
    if let Some(data) = live["data"].as_object() {
        for value in data.values().filter_map(Value::as_str) {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(value)
                && let Ok(text) = String::from_utf8(bytes)
            {
                masker.add(&text);
            }
        }
    }
}

/// Advances the password Secrets of `plan` by one rotation step where their value changed, sets
/// their [`SECRET_VERSION`], and stamps each StatefulSet's pod template with
/// [`POD_SECRET_VERSIONS`]. `find_live` finds a live Secret by namespace and name; `existing` gives
/// the `resourceVersion` of each Secret the user holds. Returns the steps written.
pub fn advance(
    plan: &mut Plan,
    find_live: &dyn Fn(&str, &str) -> Option<Value>,
    existing: &BTreeMap<(String, String), String>,
    masker: &mut Masker,
) -> Vec<Rotation> {
    let mut versions: BTreeMap<(String, String), String> = existing
        .iter()
        .map(|(k, v)| (k.clone(), format!("r{v}")))
        .collect();
    let mut rotations = Vec::new();
    for d in plan.objects.iter_mut().filter(|d| d.kind.kind == "Secret") {
        let namespace = d.namespace().unwrap_or_default().to_string();
        let name = d.name().to_string();
        let live = find_live(&namespace, &name);
        if let Some(l) = &live {
            mask_live(l, masker);
        }
        let Some((key, new)) = d.body["data"]
            .as_object()
            .and_then(|m| m.iter().next())
            .and_then(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        else {
            continue;
        };
        let version = match d.mode {
            // Generated: created once, never changed.
            WriteMode::CreateOnce => live.as_ref().map_or(1, live_version),
            // `diff` without the variable set: the value is unknown, so the live data stands.
            WriteMode::Apply if is_placeholder(&new) => {
                if let Some(data) = live.as_ref().and_then(|l| l["data"].as_object()) {
                    d.body["data"] = Value::Object(data.clone());
                }
                live.as_ref().map_or(1, live_version)
            }
            WriteMode::Apply => {
                let (data, step) = next_data(&key, &new, live.as_ref());
                let changed = live
                    .as_ref()
                    .is_some_and(|l| l["data"] != Value::Object(data.clone()));
                d.body["data"] = Value::Object(data);
                if let Some(step) = step {
                    rotations.push(Rotation {
                        secret: format!("{namespace}/{name}"),
                        key,
                        step,
                    });
                }
                match &live {
                    Some(l) if changed => live_version(l) + 1,
                    Some(l) => live_version(l),
                    None => 1,
                }
            }
        };
        d.body["metadata"]["annotations"][SECRET_VERSION] = json!(version.to_string());
        versions.insert((namespace, name), version.to_string());
    }
    for d in plan
        .objects
        .iter_mut()
        .filter(|d| d.kind.kind == "StatefulSet")
    {
        let namespace = d.namespace().unwrap_or_default().to_string();
        let read = secrets_read(&d.body["spec"]["template"]["spec"]);
        let stamp: Vec<String> = read
            .iter()
            .filter_map(|name| {
                let version = versions.get(&(namespace.clone(), name.clone()))?;
                Some(format!("{name}={version}"))
            })
            .collect();
        if !stamp.is_empty() {
            d.body["spec"]["template"]["metadata"]["annotations"][POD_SECRET_VERSIONS] =
                json!(stamp.join(","));
        }
    }
    rotations
}

/// The names of the Secrets a pod spec's containers read through `secretKeyRef`, sorted, once.
fn secrets_read(pod_spec: &Value) -> std::collections::BTreeSet<String> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|field| pod_spec[*field].as_array())
        .flatten()
        .filter_map(|c| c["env"].as_array())
        .flatten()
        .filter_map(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(pairs: &[(&str, &str)]) -> Value {
        let data: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        json!({"data": data})
    }

    #[test]
    fn a_changed_value_moves_through_three_steps_then_stays() {
        let (data, step) = next_data("pw", "TkVX", Some(&live(&[("pw", "T0xE")])));
        assert_eq!(step, Some(RotationStep::AddNext));
        assert_eq!(
            Value::Object(data.clone()),
            json!({"pw": "T0xE", "pw.next": "TkVX"})
        );
        let (data, step) = next_data(
            "pw",
            "TkVX",
            Some(&Value::Object(
                [("data".to_string(), Value::Object(data))]
                    .into_iter()
                    .collect(),
            )),
        );
        assert_eq!(step, Some(RotationStep::Switch));
        assert_eq!(
            Value::Object(data.clone()),
            json!({"pw": "TkVX", "pw.previous": "T0xE"})
        );
        let after_switch = json!({ "data": data });
        let (data, step) = next_data("pw", "TkVX", Some(&after_switch));
        assert_eq!(step, Some(RotationStep::DropPrevious));
        assert_eq!(Value::Object(data.clone()), json!({"pw": "TkVX"}));
        let (_, step) = next_data("pw", "TkVX", Some(&json!({ "data": data })));
        assert_eq!(step, None);
    }

    #[test]
    fn a_value_changed_again_mid_rotation_starts_over_from_what_clients_send() {
        // Step 1 written for "NEW", then the source changed to "NEWER".
        let (data, step) = next_data(
            "pw",
            "TkVXRVI=",
            Some(&live(&[("pw", "T0xE"), ("pw.next", "TkVX")])),
        );
        assert_eq!(step, Some(RotationStep::AddNext));
        assert_eq!(
            Value::Object(data),
            json!({"pw": "T0xE", "pw.next": "TkVXRVI="})
        );
        // Step 2 written, then the source changed: the switched value is what clients send now.
        let (data, step) = next_data(
            "pw",
            "TkVXRVI=",
            Some(&live(&[("pw", "TkVX"), ("pw.previous", "T0xE")])),
        );
        assert_eq!(step, Some(RotationStep::AddNext));
        assert_eq!(
            Value::Object(data),
            json!({"pw": "TkVX", "pw.next": "TkVXRVI="})
        );
        assert_eq!(next_data("pw", "TkVX", None).1, None);
    }

    #[test]
    fn pod_templates_name_the_versions_of_the_secrets_they_read() {
        let spec = json!({"containers": [
            {"env": [
                {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}},
                {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s2", "key": "k", "optional": true}}},
                {"name": "C", "value": "plain"}
            ]},
            {"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k.next"}}}]}
        ]});
        let read: Vec<String> = secrets_read(&spec).into_iter().collect();
        assert_eq!(read, ["s1", "s2"]);
    }
}
