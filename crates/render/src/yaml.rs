//! YAML output that Helm (YAML 1.1) and kubectl (YAML 1.2) read back exactly as meant.
//!
//! serde-saphyr's serializer (the same library that reads the config files) with its YAML 1.1
//! compatibility left on: every string that a YAML 1.1 or 1.2 reader could take for a boolean,
//! number, date or null (`y`, `no`, `on`, `0o17`, `1_000`, `12:30`, `2001-12-14`, ...) is quoted;
//! multi-line text (config files, scripts) is written as a literal block (`|`). Its one default
//! that gatehouse turns off is folding long single-line strings into `>` blocks: a folded line is
//! harder to read and to `grep` in a rendered file, so the fold width is set beyond any string.
//!
//! Maps come out in serialization order, which is stable: k8s-openapi objects give `apiVersion`,
//! `kind`, then their fields sorted; BTreeMaps are sorted; typed values keep their field order. The
//! same input always gives the same bytes. The property tests read every rendered document back
//! with serde-saphyr, and the chart tests read the Helm values back with PyYAML; both must give
//! exactly what was meant.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::ConfigMap;

use crate::KubeObject;

/// The serializer options every rendered document is written with.
fn options() -> serde_saphyr::SerializerOptions {
    serde_saphyr::ser_options! {
        // Never fold a long line into a `>` block; multi-line text still becomes a `|` block.
        folded_wrap_chars: usize::MAX,
    }
}

/// Serializes one value as a YAML document ending in a newline.
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    serde_saphyr::to_string_with_options(value, options())
        .expect("rendered values serialize to YAML")
}

/// One rendered object as a YAML document: exactly the bytes of [`to_yaml`] (the property tests hold
/// them equal for generated models), but faster for the ConfigMap.
///
/// Its pod scripts (about 16 KB, the same in every render) dominated the time of a render: the
/// serializer checks every character of every string for what a YAML reader could misread. Their
/// entries are written by serde-saphyr once per process and reused; every other entry and the rest
/// of the object go through serde-saphyr each time.
///
/// ```
/// let valid = gatehouse_model::Deployment::guide_example().validated().unwrap();
/// let rendered = gatehouse_render::render(&valid);
/// for object in &rendered.objects {
///     assert_eq!(gatehouse_render::yaml::object_yaml(object), gatehouse_render::yaml::to_yaml(object));
/// }
/// ```
pub fn object_yaml(object: &KubeObject) -> String {
    match object {
        KubeObject::ConfigMap(map) if map.data.as_ref().is_some_and(|d| !d.is_empty()) => {
            config_map_yaml(map)
        }
        _ => to_yaml(object),
    }
}

/// A ConfigMap: the document without `data`, with the `data` block put back where the serializer
/// writes it (after `binaryData`, before `immutable` and `metadata`: k8s-openapi's field order).
fn config_map_yaml(map: &ConfigMap) -> String {
    let head = to_yaml(&ConfigMap {
        binary_data: map.binary_data.clone(),
        data: None,
        immutable: map.immutable,
        metadata: map.metadata.clone(),
    });
    let mut data = String::from("data:\n");
    for (key, value) in map.data.iter().flatten() {
        match constant_entry(key, value) {
            Some(entry) => data.push_str(entry),
            None => data.push_str(&entry_yaml(key, value)),
        }
    }
    let at = ["\nimmutable:", "\nmetadata:"]
        .iter()
        .filter_map(|field| head.find(field))
        .min()
        .map(|i| i + 1)
        .unwrap_or(head.len());
    let mut out = String::with_capacity(head.len() + data.len());
    out.push_str(&head[..at]);
    out.push_str(&data);
    out.push_str(&head[at..]);
    out
}

/// One `data` entry as the serializer writes it one level down: a one-entry map, indented.
fn entry_yaml(key: &str, value: &str) -> String {
    let single = to_yaml(&BTreeMap::from([(key, value)]));
    let mut out = String::with_capacity(single.len() + 64);
    for line in single.split_inclusive('\n') {
        if line != "\n" {
            out.push_str("  ");
        }
        out.push_str(line);
    }
    out
}

/// The entry of a constant pod script, written once per process; `None` for anything else.
fn constant_entry(key: &str, value: &str) -> Option<&'static str> {
    static ENTRIES: OnceLock<Vec<(&'static str, &'static str, String)>> = OnceLock::new();
    let entries = ENTRIES.get_or_init(|| {
        crate::redis_files::SCRIPTS
            .iter()
            .map(|(name, text)| (*name, *text, entry_yaml(name, text)))
            .collect()
    });
    entries
        .iter()
        .find(|(name, text, _)| *name == key && *text == value)
        .map(|(_, _, entry)| entry.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_maps_come_out_as_the_serializer_writes_them() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
        let script = crate::redis_files::SCRIPTS[0];
        let cases = [
            BTreeMap::from([(script.0.to_string(), script.1.to_string())]),
            BTreeMap::from([
                (script.0.to_string(), script.1.to_string()),
                ("a.conf".into(), "port 1\n\n  indented\n".into()),
                ("z".into(), "yes".into()),
                ("m: k".into(), " lead\ntrail \n\n\n".into()),
            ]),
        ];
        for data in cases {
            for immutable in [None, Some(true)] {
                let object = KubeObject::ConfigMap(ConfigMap {
                    data: Some(data.clone()),
                    immutable,
                    metadata: ObjectMeta {
                        name: Some("c".into()),
                        ..ObjectMeta::default()
                    },
                    ..ConfigMap::default()
                });
                assert_eq!(object_yaml(&object), to_yaml(&object), "{data:?}");
            }
        }
    }

    #[test]
    fn layout_of_maps_sequences_and_blocks() {
        let value = json!({
            "spec": {"containers": [{"name": "redis", "command": ["sh", "-c"]}], "empty": {}, "none": []},
            "kind": "Pod",
            "apiVersion": "v1",
            "data": {"a.sh": "#!/bin/sh\necho hi\n", "b": "x\ny", "c": "x\n\n"},
            "nested": [["a"]],
        });
        assert_eq!(
            to_yaml(&value),
            "apiVersion: v1\ndata:\n  a.sh: |\n    #!/bin/sh\n    echo hi\n  b: |-\n    x\n    y\n  c: |+\n    x\n\nkind: Pod\nnested:\n- - a\nspec:\n  containers:\n  - command:\n    - sh\n    - -c\n    name: redis\n  empty: {}\n  none: []\n"
        );
    }

    #[test]
    fn strings_that_yaml_would_retype_are_quoted() {
        let extra = [
            "",
            "TRUE",
            "Off",
            "2001-12-14t21:59:43.10-05:00",
            "0o17",
            "0b101",
            "1_000",
            "4.9.0",
            "10E3",
            "0xFF",
            "- a",
            "a: b",
            "#x",
            "x #y",
            " lead",
            "trail ",
            "@at",
            "a:",
            "*ref",
            "&anchor",
            "!tag",
            "%dir",
            "{x}",
            "[x]",
            "'q'",
            "\"q\"",
            "tab\there",
            "cr\rlf",
            "bell\u{7}",
            "line\u{2028}sep",
            "nel\u{85}",
            "bom\u{feff}",
        ];
        for text in gatehouse_model::arbitrary::YAML_11_TRAPS
            .into_iter()
            .chain(extra)
        {
            let yaml = to_yaml(&json!({ "k": text }));
            assert!(
                yaml.starts_with("k: \"") || yaml.starts_with("k: '"),
                "{text:?} must be quoted: {yaml}"
            );
            let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
            assert_eq!(back["k"], json!(text), "{yaml}");
        }
    }

    #[test]
    fn ordinary_names_stay_plain() {
        for text in [
            "redis",
            "gravitee-apim",
            "app.kubernetes.io/name",
            "redis:7.2.0",
            "https://helm.gravitee.io",
            "/etc/gatehouse",
            "512Mi",
            "IfNotPresent",
            // A comma is special only inside flow collections, which are never written.
            "a,b",
        ] {
            assert_eq!(to_yaml(&json!({ "k": text })), format!("k: {text}\n"));
        }
    }

    #[test]
    fn long_lines_are_not_folded() {
        let text = "a sentence long enough that a folding emitter would break it ".repeat(4);
        let yaml = to_yaml(&json!({ "k": text.trim_end() }));
        assert_eq!(yaml.lines().count(), 1, "{yaml}");
        let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back["k"], json!(text.trim_end()));
    }
}
