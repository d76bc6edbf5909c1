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
//! its `resourceVersion` for both.
//!
//! A step is written only once every reader of the Secret runs the step before it: while a
//! rotation is under way, a deploy that finds a reader (a StatefulSet or the gateway's Deployment)
//! not rolled out with the live versions, or not ready, holds the Secret where it is
//! ([`HeldRotation`]) and only rolls the readers out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine;
use serde_json::{Value, json};

use gatehouse_render::HelmRelease;

use crate::plan::{Plan, WriteMode};
use crate::secrets::Masker;

/// Annotation of a password Secret: its version, raised on each change of its data.
pub const SECRET_VERSION: &str = "gatehouse/secret-version";
/// Annotation of a password Secret: the [`SECRET_VERSION`] at which `<key>` last changed.
pub const KEY_VERSION: &str = "gatehouse/key-version";
/// Annotation of each StatefulSet's pod template and of the gateway's (through
/// `gateway.podAnnotations`): `name=version` of the Secrets its pods read.
pub const POD_SECRET_VERSIONS: &str = gatehouse_render::names::annotations::SECRET_VERSIONS;

/// What the gateway's pods read, from the release: the Secrets its `gateway.env` names (it reads
/// only `<key>` of each) and the Deployment the chart makes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayReads {
    /// The release's namespace.
    pub namespace: String,
    /// The gateway's Deployment.
    pub deployment: String,
    /// The Secrets named by `secretKeyRef` in `gateway.env`.
    pub secrets: BTreeSet<String>,
}

impl GatewayReads {
    /// What the gateway of `release` reads.
    pub fn of(release: &HelmRelease) -> GatewayReads {
        let env = serde_json::to_value(&release.values.gateway.env).unwrap_or_default();
        GatewayReads {
            namespace: release.namespace.clone(),
            deployment: release.gateway_deployment(),
            secrets: secrets_read(&json!({"containers": [{"env": env}]})),
        }
    }
}

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
}

/// The release with the gateway's Secret versions as a pod annotation (`gateway.podAnnotations`),
/// so that `helm upgrade` rolls the gateway's pods exactly when a Secret value they read changed.
pub fn stamp_release(release: &HelmRelease, versions: Option<&str>) -> HelmRelease {
    let mut stamped = release.clone();
    if let Some(v) = versions {
        stamped
            .values
            .gateway
            .pod_annotations
            .insert(POD_SECRET_VERSIONS.to_string(), v.to_string());
    }
    stamped
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

/// Whether a live pod template's [`POD_SECRET_VERSIONS`] names `secret=version`.
fn stamped_with(template: &Value, secret: &str, version: &str) -> bool {
    template["metadata"]["annotations"][POD_SECRET_VERSIONS]
        .as_str()
        .is_some_and(|s| s.split(',').any(|v| v == format!("{secret}={version}")))
}

/// The live readers of Secret `namespace/name` that do not run its live versions (StatefulSets
/// of `plan` that read it, stamped with `version`; the gateway's Deployment when it reads it,
/// stamped with `key_version`), or are not ready: `Kind namespace/name (why)`. A reader that does
/// not exist yet runs nothing old.
fn not_rolled_out(
    plan: &Plan,
    find_live: &dyn Fn(&str, &str, &str) -> Option<Value>,
    (namespace, name): (&str, &str),
    version: u64,
    key_version: u64,
) -> Vec<String> {
    let mut readers: Vec<(&str, String, u64)> = plan
        .objects
        .iter()
        .filter(|d| d.kind.kind == "StatefulSet" && d.namespace() == Some(namespace))
        .filter(|d| secrets_read(&d.body["spec"]["template"]["spec"]).contains(name))
        .map(|d| ("StatefulSet", d.name().to_string(), version))
        .collect();
    if plan.gateway.namespace == namespace && plan.gateway.secrets.contains(name) {
        readers.push(("Deployment", plan.gateway.deployment.clone(), key_version));
    }
    readers
        .into_iter()
        .filter_map(|(kind, reader, version)| {
            let live = find_live(kind, namespace, &reader)?;
            let why = if !stamped_with(&live["spec"]["template"], name, &version.to_string()) {
                format!("its pod template is not at {name}={version}")
            } else if !crate::wait::progress_of(kind, &live).0 {
                "its pods are not all updated and ready".to_string()
            } else {
                return None;
            };
            Some(format!("{kind} {namespace}/{reader} ({why})"))
        })
        .collect()
}

/// Advances the password Secrets of `plan` by one rotation step where their value changed and
/// every reader runs the step before, sets their [`SECRET_VERSION`] and [`KEY_VERSION`], stamps
/// each StatefulSet's pod template (and a Flux `HelmRelease`'s `gateway.podAnnotations`) with
/// [`POD_SECRET_VERSIONS`], and returns the gateway's value of it for a Helm release.
/// `find_live` finds a live object by kind (`Secret`, `StatefulSet`, `Deployment`), namespace and
/// name; `existing` gives the `resourceVersion` of each Secret the user holds.
pub fn advance(
    plan: &mut Plan,
    find_live: &dyn Fn(&str, &str, &str) -> Option<Value>,
    existing: &BTreeMap<(String, String), String>,
    masker: &mut Masker,
) -> Advanced {
    let mut versions: BTreeMap<(String, String), String> = existing
        .iter()
        .map(|(k, v)| (k.clone(), format!("r{v}")))
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
        &plan.gateway.secrets,
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

/// The names of the Secrets a pod spec's containers read through `secretKeyRef`, sorted, once.
fn secrets_read(pod_spec: &Value) -> BTreeSet<String> {
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
    fn a_rotated_password_keeps_the_fixed_entries_beside_it() {
        // The gateway technical API's Secret: its user name (a fixed entry) sorts before this
        // password key, and is still not taken for the password.
        let fixed = gatehouse_model::SecretRole::GatewayTechnicalPassword.fixed_entries()[0].0;
        let body = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "tech", "namespace": "ns"},
            "data": {fixed: "YWRtaW4=", "zz-password": "TkVX"}});
        assert_eq!(
            password_entry(&body),
            Some(("zz-password".to_string(), "TkVX".to_string()))
        );
        let mut plan = Plan {
            applyset: crate::applyset::ApplySet::for_deployment("ns", "x"),
            objects: vec![crate::Desired {
                kind: crate::plan::secret_kind(),
                body,
                mode: WriteMode::Apply,
                member: true,
            }],
            existing_secrets: Vec::new(),
            gateway: GatewayReads::default(),
            rotate: BTreeSet::new(),
        };
        let live = json!({"metadata": {"annotations": {SECRET_VERSION: "4"}},
            "data": {fixed: "YWRtaW4=", "zz-password": "T0xE"}});
        let advanced = advance(
            &mut plan,
            &|kind, _, _| (kind == "Secret").then(|| live.clone()),
            &BTreeMap::new(),
            &mut Masker::default(),
        );
        assert_eq!(advanced.rotations.len(), 1);
        assert_eq!(
            plan.objects[0].body["data"],
            json!({fixed: "YWRtaW4=", "zz-password": "T0xE", "zz-password.next": "TkVX"})
        );
        assert_eq!(
            plan.objects[0].body["metadata"]["annotations"],
            json!({SECRET_VERSION: "5", KEY_VERSION: "4"})
        );
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
