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
//! (never derived from a value), and [`KEY_VERSION`], the counter's value when `<key>` (what
//! clients send) last changed. Each StatefulSet's pod template carries [`POD_SECRET_VERSIONS`]:
//! `name=version` of every Secret its containers read (all three keys), so a changed Secret rolls
//! exactly the pods that read it. The gateway reads only `<key>`: the release's
//! `gateway.podAnnotations` carry the same annotation with each Secret's [`KEY_VERSION`], so its
//! pods roll at step 2 and at no other step. A Secret the user holds (`existingSecret`) counts by
//! its `resourceVersion` for both, and so do the Secrets the gateway mounts (the TLS truststore
//! and, with mutual TLS, its client certificate, which the user or cert-manager renews): a deploy
//! after a renewal rolls the gateway, which reads those files only at start.
//!
//! A step is written only once every reader of the Secret runs the step before it: while a
//! rotation is under way, a deploy that finds a reader (a StatefulSet or the gateway's Deployment)
//! not rolled out with the live versions, or not ready, holds the Secret where it is
//! ([`HeldRotation`]) and only rolls the readers out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine;
use serde_json::{Value, json};

use crate::plan::{Plan, WriteMode};
use crate::secrets::Masker;

mod readers;
#[cfg(test)]
mod tests;

pub use readers::{GatewayReads, stamp_release};
use readers::{not_rolled_out, secrets_read};

/// Annotation of a password Secret: its version, raised on each change of its data.
pub const SECRET_VERSION: &str = "gatehouse/secret-version";
/// Annotation of a password Secret: the [`SECRET_VERSION`] at which `<key>` last changed.
pub const KEY_VERSION: &str = "gatehouse/key-version";
/// Annotation of each StatefulSet's pod template and of the gateway's (through
/// `gateway.podAnnotations`): `name=version` of the Secrets its pods read.
pub const POD_SECRET_VERSIONS: &str = gatehouse_render::names::annotations::SECRET_VERSIONS;

/// One Secret write of a rotation (the model's: the real-process proof writes the same states).
pub use gatehouse_model::RotationStep;

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
                 kept as {key}.previous; the pods that send it, the gateway's too, roll now); run \
                 deploy again once they have rolled"
            ),
            RotationStep::DropPrevious => write!(
                f,
                "Secret {secret}: password rotation step 3 of 3 ({key}.previous removed; only the \
                 new password opens the users)"
            ),
        }
    }
}

/// A rotation step a deploy did not write because readers of the Secret do not run the step
/// before it yet; the deploy rolls them out, and the next deploy writes the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRotation {
    /// `namespace/name` of the Secret.
    pub secret: String,
    /// The step not written yet.
    pub step: RotationStep,
    /// `Kind namespace/name` of each reader not rolled out, with why.
    pub waiting_for: Vec<String>,
}

impl fmt::Display for HeldRotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Secret {}: password rotation step {} of 3 not written yet: {} not rolled out with \
             the step before; this deploy rolls them out, run deploy again",
            self.secret,
            self.step.number(),
            self.waiting_for.join(", ")
        )
    }
}

/// What [`advance`] decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advanced {
    /// The steps the plan now writes.
    pub rotations: Vec<Rotation>,
    /// The steps held back until their readers have rolled out.
    pub held: Vec<HeldRotation>,
    /// The gateway pods' [`POD_SECRET_VERSIONS`] value (`None` when it reads no Secret).
    pub gateway_versions: Option<String>,
    /// The gateway pods' [`crate::gateway_tls::POD_CERTIFICATES_NOT_AFTER`] value (`None`
    /// without a cert-manager certificate it mounts, or before one is issued).
    pub gateway_not_after: Option<String>,
}

/// The version of a Secret gatehouse does not write (the user's, or cert-manager's) in
/// [`POD_SECRET_VERSIONS`]: `r<resourceVersion>`, so it never equals a counter of its own.
pub fn held_version(resource_version: &str) -> String {
    format!("r{resource_version}")
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
    let (current, step) = match (field(key), field(&next_key), field(&previous_key)) {
        // Steady, or a step 3 already written.
        (Some(current), None, None) if current == new => return (data(&[(key, new)]), None),
        // Step 2 written: step 3 drops the old password.
        (Some(current), None, Some(_)) if current == new => (current, RotationStep::DropPrevious),
        // Step 1 written with this value: step 2 switches.
        (Some(current), Some(next), _) if next == new => (current, RotationStep::Switch),
        // A new value: step 1 (also when another rotation was under way: its `<key>` is what
        // every client still sends, the abandoned value is dropped).
        (Some(current), _, _) => (current, RotationStep::AddNext),
        // A live Secret without the key: nothing reads it yet.
        (None, _, _) => return (data(&[(key, new)]), None),
    };
    let (value, next, previous) = step.secret(current, new);
    let mut pairs = vec![(key, value)];
    pairs.extend(next.map(|next| (next_key.as_str(), next)));
    pairs.extend(previous.map(|previous| (previous_key.as_str(), previous)));
    (data(&pairs), Some(step))
}

/// The key and value (base64) of the password in a planned Secret: its one entry that is not a
/// role's fixed entry ([`gatehouse_model::SecretRole::fixed_entries`]).
fn password_entry(body: &Value) -> Option<(String, String)> {
    let fixed: BTreeSet<&str> = gatehouse_model::SecretRole::ALL
        .iter()
        .flat_map(|r| r.fixed_entries())
        .map(|(k, _)| *k)
        .collect();
    body["data"]
        .as_object()?
        .iter()
        .find(|(k, _)| !fixed.contains(k.as_str()))
        .and_then(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
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

/// The version of `<key>` in a live Secret gatehouse wrote (its Secret version when it has none).
fn live_key_version(live: &Value) -> u64 {
    live["metadata"]["annotations"][KEY_VERSION]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| live_version(live))
}

/// Whether a live Secret is mid-rotation (`<key>.next` or `<key>.previous` present).
pub fn under_way(key: &str, live: &Value) -> bool {
    ["next", "previous"]
        .iter()
        .any(|suffix| !live["data"][rotation_key(key, suffix)].is_null())
}

/// Advances the password Secrets of `plan` by one rotation step where their value changed and
/// every reader runs the step before, sets their [`SECRET_VERSION`] and [`KEY_VERSION`], stamps
/// each StatefulSet's pod template (and a Flux `HelmRelease`'s `gateway.podAnnotations`) with
/// [`POD_SECRET_VERSIONS`], and returns the gateway's value of it for a Helm release.
/// `find_live` finds a live object by kind (`Secret`, `StatefulSet`, `Deployment`), namespace and
/// name; `existing` gives the `resourceVersion` of each Secret the user holds and of each Secret
/// the gateway mounts.
pub fn advance(
    plan: &mut Plan,
    find_live: &dyn Fn(&str, &str, &str) -> Option<Value>,
    existing: &BTreeMap<(String, String), String>,
    masker: &mut Masker,
) -> Advanced {
    let mut versions: BTreeMap<(String, String), String> = existing
        .iter()
        .map(|(k, v)| (k.clone(), held_version(v)))
        .collect();
    let mut key_versions = versions.clone();
    let mut advanced = Advanced::default();
    let secrets: Vec<usize> = (0..plan.objects.len())
        .filter(|&i| plan.objects[i].kind.kind == "Secret")
        .collect();
    for i in secrets {
        let d = &plan.objects[i];
        let namespace = d.namespace().unwrap_or_default().to_string();
        let name = d.name().to_string();
        let mode = d.mode;
        let live = find_live("Secret", &namespace, &name);
        if let Some(l) = &live {
            mask_live(l, masker);
        }
        let Some((key, new)) = password_entry(&d.body) else {
            continue;
        };
        let live_versions = live
            .as_ref()
            .map(|l| (live_version(l), live_key_version(l)));
        let (mut data, mut step) = match (mode, &live) {
            // Generated: created once; rotated only from `--rotate` on (a fresh value as the
            // target), then onwards from what the live Secret holds.
            (WriteMode::CreateOnce | WriteMode::TakeOver, Some(l)) => {
                let field = |suffix: &str| l["data"][rotation_key(&key, suffix)].as_str();
                let target = if plan.rotate.contains(&(namespace.clone(), name.clone())) {
                    Some(new.as_str())
                } else if let Some(next) = field("next") {
                    Some(next)
                } else if field("previous").is_some() {
                    l["data"][&key].as_str()
                } else {
                    None
                };
                match target {
                    Some(target) => {
                        let (data, step) = next_data(&key, target, Some(l));
                        (Some(data), step)
                    }
                    None => (None, None),
                }
            }
            (WriteMode::CreateOnce | WriteMode::TakeOver, None) => (None, None),
            // `diff` without the variable set: the value is unknown, so the live data stands.
            (WriteMode::Apply, _) if is_placeholder(&new) => (
                live.as_ref().and_then(|l| l["data"].as_object().cloned()),
                None,
            ),
            (WriteMode::Apply, _) => {
                let (data, step) = next_data(&key, &new, live.as_ref());
                (Some(data), step)
            }
        };
        if let (Some(s), Some(l), Some((version, key_version))) = (step, &live, live_versions)
            && under_way(&key, l)
        {
            let waiting_for =
                not_rolled_out(plan, find_live, (&namespace, &name), version, key_version);
            if !waiting_for.is_empty() {
                advanced.held.push(HeldRotation {
                    secret: format!("{namespace}/{name}"),
                    step: s,
                    waiting_for,
                });
                data = l["data"].as_object().cloned();
                step = None;
            }
        }
        let d = &mut plan.objects[i];
        // Entries beside the password (a role's fixed entries) stay as planned.
        if let (Some(data), Some(planned)) = (&mut data, d.body["data"].as_object()) {
            for (k, v) in planned {
                if *k != key {
                    data.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        if step.is_some() && d.mode == WriteMode::CreateOnce {
            d.mode = WriteMode::TakeOver;
        }
        let (version, key_version) = match (live_versions, &data) {
            (None, _) => (1, 1),
            (Some(v), None) => v,
            (Some((version, key_version)), Some(data)) => {
                let l = live
                    .as_ref()
                    .expect("live versions come from the live Secret");
                let changed = l["data"] != Value::Object(data.clone());
                let version = if changed { version + 1 } else { version };
                let key_changed = l["data"][&key] != data[&key];
                (version, if key_changed { version } else { key_version })
            }
        };
        if let Some(data) = data {
            d.body["data"] = Value::Object(data);
        }
        if let Some(step) = step {
            advanced.rotations.push(Rotation {
                secret: format!("{namespace}/{name}"),
                key,
                step,
            });
        }
        let annotations = &mut d.body["metadata"]["annotations"];
        annotations[SECRET_VERSION] = json!(version.to_string());
        annotations[KEY_VERSION] = json!(key_version.to_string());
        versions.insert((namespace.clone(), name.clone()), version.to_string());
        key_versions.insert((namespace, name), key_version.to_string());
    }
    let stamp_of = |namespace: &str, read: &BTreeSet<String>, versions: &BTreeMap<_, String>| {
        let stamp: Vec<String> = read
            .iter()
            .filter_map(|name| {
                let version = versions.get(&(namespace.to_string(), name.clone()))?;
                Some(format!("{name}={version}"))
            })
            .collect();
        (!stamp.is_empty()).then(|| stamp.join(","))
    };
    advanced.gateway_versions = stamp_of(
        &plan.gateway.namespace,
        &plan.gateway.stamped(),
        &key_versions,
    );
    for d in plan.objects.iter_mut() {
        let namespace = d.namespace().unwrap_or_default().to_string();
        match d.kind.kind {
            "StatefulSet" => {
                let read = secrets_read(&d.body["spec"]["template"]["spec"]);
                if let Some(stamp) = stamp_of(&namespace, &read, &versions) {
                    d.body["spec"]["template"]["metadata"]["annotations"][POD_SECRET_VERSIONS] =
                        json!(stamp);
                }
            }
            "HelmRelease" => {
                if let Some(stamp) = &advanced.gateway_versions {
                    d.body["spec"]["values"]["gateway"]["podAnnotations"][POD_SECRET_VERSIONS] =
                        json!(stamp);
                }
            }
            _ => {}
        }
    }
    advanced
}
