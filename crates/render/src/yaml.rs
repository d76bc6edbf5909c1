//! YAML output that Helm and kubectl read back exactly as meant.
//!
//! serde-saphyr quotes every string a YAML 1.1 reader would turn into something else (`on`, `no`,
//! `12:30`, `0x1F`, ...), which is how Helm parses values. Maps come out in a stable order (structs in
//! field order, k8s-openapi maps as BTreeMaps), so the same input always gives the same bytes.

/// Serializes one value as a YAML document ending in a newline.
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_saphyr::to_string(value).expect("rendered values serialize to YAML");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
