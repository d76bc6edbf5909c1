//! Unit tests of the rotation steps, the Secret versions and the readers.

use super::readers::secrets_read;
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
