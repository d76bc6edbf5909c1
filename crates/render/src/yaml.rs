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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
