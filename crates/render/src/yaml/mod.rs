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

mod key;
mod plain;
mod writer;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The serializer options every rendered document is written with.
fn options() -> serde_saphyr::SerializerOptions {
    serde_saphyr::ser_options! {
        // Never fold a long line into a `>` block; multi-line text still becomes a `|` block.
        folded_wrap_chars: usize::MAX,
    }
}

/// Serializes one value as a YAML document ending in a newline: exactly the bytes of
/// [`serializer_yaml`] (unit and property tests hold them equal for every rendered document), about
/// three times faster for gatehouse's objects.
///
/// The layout is written directly and every string that needs a quoting decision goes to
/// serde-saphyr (see `writer.rs`); a value of a shape the writer leaves alone (enum variants with
/// data, byte strings, multi-line keys) is written by serde-saphyr as a whole.
///
/// ```
/// let valid = gatehouse_model::Deployment::guide_example().with_metrics(true).validated().unwrap();
/// let rendered = gatehouse_render::render(&valid);
/// for object in &rendered.objects {
///     assert_eq!(
///         gatehouse_render::yaml::to_yaml(object),
///         gatehouse_render::yaml::serializer_yaml(object)
///     );
/// }
/// ```
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    writer::write(value).unwrap_or_else(|_| serializer_yaml(value))
}

/// Appends [`to_yaml`] of `value` to `out`.
pub(crate) fn push_yaml<T: serde::Serialize>(out: &mut String, value: &T) {
    if writer::write_into(out, value).is_err() {
        out.push_str(&serializer_yaml(value));
    }
}

/// Serializes one value with serde-saphyr alone: the reference [`to_yaml`] is held to.
pub fn serializer_yaml<T: serde::Serialize>(value: &T) -> String {
    serde_saphyr::to_string_with_options(value, options())
        .expect("rendered values serialize to YAML")
}

/// Where a ConfigMap's `data` entries are written (the keys' column).
const DATA_COLUMN: usize = 2;

/// A multi-line string as the value of a key written at `column`, as serde-saphyr writes it: the
/// text after `key:`, its body lines moved right to the key's block.
///
/// The pod scripts (about 16 KB, the same in every render) are written once per process at the
/// column of a ConfigMap's entries and reused: the serializer checks every character of a string
/// for what a YAML reader could misread, which dominated a render's time. A string is looked up by
/// its whole content and the column, so a reused text is always the one written for exactly that
/// string there.
fn map_value_block(value: &str, column: usize) -> Result<Cow<'static, str>, writer::Unsupported> {
    static SCRIPTS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let written = |text: &str, column| {
        writer::moved_right(
            &serializer_yaml(&BTreeMap::from([("k", text)])),
            "k:",
            column,
        )
    };
    if column == DATA_COLUMN {
        let scripts = SCRIPTS.get_or_init(|| {
            crate::redis_files::SCRIPTS
                .iter()
                .map(|(_, text)| {
                    let entry = written(text, DATA_COLUMN).expect("a script is a block");
                    (*text, entry)
                })
                .collect()
        });
        if let Some((_, entry)) = scripts.iter().find(|(text, _)| *text == value) {
            return Ok(Cow::Borrowed(entry.as_str()));
        }
    }
    written(value, column).map(Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn config_maps_come_out_as_the_serializer_writes_them() {
        use crate::KubeObject;
        use k8s_openapi::api::core::v1::ConfigMap;
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
                let written = writer::write(&object).expect("a shape the writer handles");
                assert_eq!(written, serializer_yaml(&object), "{data:?}");
            }
        }
    }

    #[test]
    fn the_writer_lays_out_every_shape_as_the_serializer() {
        let values = [
            json!({}),
            json!([]),
            json!("plain"),
            json!("two\nlines\n"),
            json!(null),
            json!(12),
            json!(-3),
            json!(1.5),
            json!(true),
            json!({"a": {}, "b": [], "c": [{}], "d": [[]], "e": null, "f": 1.0e30}),
            json!({"k": [[["a", "b"], "c"], {"x": [1, 2], "y": {"z": "w"}}]}),
            json!([{"a": {"b": {"c": ["d"]}}, "e": ["f", {"g": "h"}]}]),
            json!({"block": "a\n b\n", "seq": ["x\ny", " lead\n", "keep\n\n\n", "\n"]}),
            json!([["x\ny\n"], {"k": ["a\nb"]}]),
            json!({"- a": 1, "a: b": 2, "": 3, "yes": 4, "#c": 5, "tab\tkey": 6, "ünï": 7}),
            json!({"v": ["", "~", "yes", "No", "0o17", "1e3", "12:30", "a: b", "- x", "é", "\u{7}", "a\rb"]}),
            json!({"cr": "a\r\nb\n", "nel": "a\u{85}b\nc"}),
        ];
        for value in values {
            let written = writer::write(&value).expect("a shape the writer handles");
            assert_eq!(written, serializer_yaml(&value), "{value}");
        }
        // Shapes JSON has no word for: options, unit variants, newtypes, tuples, characters.
        #[derive(serde::Serialize)]
        enum Policy {
            Always,
            #[serde(rename = "on")]
            On,
        }
        #[derive(serde::Serialize)]
        struct Quantity(String);
        #[derive(serde::Serialize)]
        struct Typed {
            none: Option<u8>,
            some: Option<&'static str>,
            policies: Vec<Policy>,
            quantity: Quantity,
            pair: (u16, char),
            unit: (),
            small: i8,
            big: u64,
        }
        let typed = Typed {
            none: None,
            some: Some("x"),
            policies: vec![Policy::Always, Policy::On],
            quantity: Quantity("512Mi".into()),
            pair: (6379, 'y'),
            unit: (),
            small: -128,
            big: u64::MAX,
        };
        let written = writer::write(&typed).expect("a shape the writer handles");
        assert_eq!(written, serializer_yaml(&typed));
    }

    #[test]
    fn every_rendered_document_is_written_by_the_writer() {
        use gatehouse_model::Deployment;
        for deployment in [
            Deployment::guide_example(),
            Deployment::guide_example().with_metrics(true),
            gatehouse_model::presets::production(),
        ] {
            let rendered = crate::render(&deployment.validated().expect("valid"));
            for object in rendered.objects.iter().chain(&rendered.flux_objects()) {
                let written = writer::write(object).expect("a shape the writer handles");
                assert_eq!(
                    written,
                    serializer_yaml(object),
                    "{}",
                    object.display_name()
                );
            }
            let written = writer::write(&rendered.helm.values).expect("values are handled");
            assert_eq!(written, serializer_yaml(&rendered.helm.values));
        }
    }

    #[test]
    fn what_the_writer_leaves_to_the_serializer_is_still_written() {
        #[derive(serde::Serialize)]
        enum E {
            Data(u8),
            Fields { a: u8 },
        }
        let value = json!({"a\nb": 1});
        assert!(writer::write(&value).is_err());
        assert_eq!(to_yaml(&value), serializer_yaml(&value));
        for value in [vec![E::Data(1)], vec![E::Fields { a: 2 }]] {
            assert!(writer::write(&value).is_err());
            assert_eq!(to_yaml(&value), serializer_yaml(&value));
            // Appending: what the writer had begun is taken back before serde-saphyr writes.
            let mut out = String::from("before\n");
            assert!(writer::write_into(&mut out, &(1, &value)).is_err());
            assert_eq!(out, "before\n");
            push_yaml(&mut out, &(1, &value));
            assert_eq!(out, format!("before\n{}", serializer_yaml(&(1, &value))));
        }
    }

    use proptest::prelude::Strategy as _;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Every string the writer lets through plain is one serde-saphyr writes plain (as a key
        /// or as a value), and it reads back as that string.
        #[test]
        fn plain_strings_are_plain_to_the_serializer(
            text in proptest::prop_oneof![
                proptest::string::string_regex("[a-zA-Z0-9/][ -~]{0,12}").unwrap(),
                proptest::string::string_regex("[0-9][0-9a-zA-Z:._+ -]{0,10}").unwrap(),
                proptest::string::string_regex("[a-zA-Z/][a-zA-Z0-9 ./_-]{0,12}").unwrap(),
                proptest::string::string_regex("(?i)(y|n|yes|no|on|off|true|false|null|nan|inf|~)").unwrap(),
            ],
        ) {
            if plain::plain_key(&text) {
                proptest::prop_assert_eq!(serializer_yaml(&json!({ &text: 0 })), format!("{text}: 0\n"));
                let back: BTreeMap<String, u8> = serde_saphyr::from_str(&format!("{text}: 0\n")).unwrap();
                proptest::prop_assert_eq!(back, BTreeMap::from([(text.clone(), 0)]));
            }
            if plain::plain_value(&text) {
                proptest::prop_assert_eq!(serializer_yaml(&json!({ "k": &text })), format!("k: {text}\n"));
                proptest::prop_assert_eq!(serializer_yaml(&json!([&text])), format!("- {text}\n"));
                let back: BTreeMap<String, String> = serde_saphyr::from_str(&format!("k: {text}\n")).unwrap();
                proptest::prop_assert_eq!(back, BTreeMap::from([("k".to_string(), text.clone())]));
            }
        }

        /// Any string, as a key, a map value and a sequence item: the writer's bytes are the
        /// serializer's.
        #[test]
        fn any_string_comes_out_as_the_serializer_writes_it(
            text in proptest::prop_oneof![
                proptest::string::string_regex("(?s).{0,24}").unwrap(),
                proptest::string::string_regex("[ -~\n\t]{0,24}").unwrap(),
                proptest::sample::select(gatehouse_model::arbitrary::YAML_11_TRAPS.to_vec())
                    .prop_map(str::to_owned),
            ],
        ) {
            let value = json!({ "k": &text, "s": [&text, [&text], { "i": &text }] });
            proptest::prop_assert_eq!(writer::write(&value).unwrap(), serializer_yaml(&value));
            if !text.contains(['\n', '\r']) {
                let keyed = json!({ &text: { &text: [&text] } });
                proptest::prop_assert_eq!(writer::write(&keyed).unwrap(), serializer_yaml(&keyed));
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
