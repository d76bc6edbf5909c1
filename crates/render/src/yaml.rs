//! YAML output that Helm and kubectl read back exactly as meant.
//!
//! serde-saphyr quotes every string a YAML 1.1 reader would turn into something else (`on`, `no`,
//! `12:30`, `0x1F`, ...), which is how Helm parses values. Maps come out in a stable order (structs in
//! field order, k8s-openapi maps as BTreeMaps), so the same input always gives the same bytes.

/// Serializes one value as a YAML document ending in a newline. Multi-line strings (config files,
/// scripts) are written as literal blocks (`|`); long single-line strings (URLs, host names) stay on
/// one line instead of being folded.
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX;
    let mut text = serde_saphyr::to_string_with_options(value, options)
        .expect("rendered values serialize to YAML");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
