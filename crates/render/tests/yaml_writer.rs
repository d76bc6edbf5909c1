//! The YAML writer (`yaml::to_yaml`) against both readers users have: every string, YAML 1.1 traps
//! included, reads back as itself through serde-saphyr and through PyYAML (YAML 1.1, as Helm), as a
//! key, a map value and a sequence item; and every rendered document reads back through both as
//! the object it was written from.

use std::collections::BTreeMap;

use gatehouse_model::Deployment;
use gatehouse_render::render;
use gatehouse_render::yaml::{serializer_yaml, to_yaml};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Strings a YAML reader could misread, and any others.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(gatehouse_model::arbitrary::YAML_11_TRAPS.to_vec())
            .prop_map(str::to_owned),
        proptest::sample::select(vec![
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "~",
            "null",
            "Null",
            "true",
            "False",
            "0o17",
            "0x1F",
            "1e3",
            "1_000",
            "12:30",
            "1:20:30.5",
            ".inf",
            "-.Inf",
            ".NaN",
            "nan",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "=",
            "<<",
            "-",
            "?",
            ":",
            "- a",
            "? a",
            "a: b",
            "a:",
            "a #b",
            "#a",
            "&a",
            "*a",
            "!a",
            "%a",
            "@a",
            "`a",
            "|",
            ">",
            "'a'",
            "\"a\"",
            "{a}",
            "[a]",
            ",a",
            "---",
            "...",
            "--- a",
            " lead",
            "trail ",
            "\t",
            "a\tb",
            "line\nline",
            "\nlead",
            "trail\n\n",
            " x\ny",
            "a\r\nb",
            "é",
            "日本",
            "\u{7}",
            "\u{85}",
            "\u{2028}",
            "\u{feff}a",
            "\u{10000}",
            "30s",
            "512Mi",
            "6379",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,16}",
        "[ -~\n\t]{0,24}",
        "[0-9][0-9a-zA-Z:._+ -]{0,8}",
        "\\PC{0,12}",
        "(?s).{0,12}",
    ]
}

/// The strings as keys, map values, sequence items and nested items of one document.
fn document(texts: &[String]) -> Value {
    let keys: BTreeMap<&str, usize> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let values: BTreeMap<String, &str> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("k{i:02}"), t.as_str()))
        .collect();
    json!({
        "keys": keys,
        "values": values,
        "items": texts,
        "nested": [texts, [{ "first": texts.first(), "all": texts }]],
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_string_reads_back_as_itself_through_both_readers(
        texts in proptest::collection::vec(text(), 1..64),
    ) {
        let value = document(&texts);
        let yaml = to_yaml(&value);
        prop_assert_eq!(&yaml, &serializer_yaml(&value));
        let back: Value = serde_saphyr::from_str(&yaml)
            .map_err(|e| TestCaseError::fail(format!("serde-saphyr: {e}\n{yaml}")))?;
        prop_assert_eq!(&back, &value, "serde-saphyr read\n{}", yaml);
        if let Some(read) = gatehouse_testkit::pyyaml_read_all(&yaml) {
            let back = read.map_err(|e| TestCaseError::fail(format!("PyYAML: {e}\n{yaml}")))?;
            prop_assert_eq!(&back, &vec![value], "PyYAML read\n{}", yaml);
        }
    }
}

#[test]
fn every_rendered_document_reads_back_through_both_readers() {
    for deployment in [
        Deployment::guide_example(),
        Deployment::guide_example().with_metrics(true),
        gatehouse_model::presets::production(),
    ] {
        let rendered = render(&deployment.validated().expect("valid"));
        let mut documents: Vec<(String, Value)> = rendered
            .objects
            .iter()
            .map(|o| (to_yaml(o), o.to_json()))
            .collect();
        documents.push((
            rendered.helm.values_yaml(),
            serde_json::to_value(&rendered.helm.values).expect("values are JSON"),
        ));
        for (yaml, expected) in &documents {
            let back: Value = serde_saphyr::from_str(yaml).expect("serde-saphyr reads it");
            assert_eq!(
                without_nulls(back),
                without_nulls(expected.clone()),
                "{yaml}"
            );
        }
        // One PyYAML run reads the whole stream, as `gatehouse render` writes it.
        let stream: Vec<&str> = documents.iter().map(|(yaml, _)| yaml.as_str()).collect();
        let Some(read) = gatehouse_testkit::pyyaml_read_all(&stream.join("---\n")) else {
            return;
        };
        let back = read.unwrap_or_else(|e| panic!("PyYAML refuses it: {e}"));
        assert_eq!(back.len(), documents.len());
        for (back, (yaml, expected)) in back.into_iter().zip(documents) {
            assert_eq!(without_nulls(back), without_nulls(expected), "{yaml}");
        }
    }
}

/// A value with null map entries removed (absent and null mean the same to Kubernetes and Helm).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}
