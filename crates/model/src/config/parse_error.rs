//! serde-saphyr's errors said in the user's terms: the field path, what was expected (with its
//! range), what was found (its kind, never its value), and the location once.

use serde_saphyr::Error;

use super::source_map::{Kind, SourceMap};
use crate::redact::is_secret_path;

/// A config-file error, located and worded for the user (before redaction).
pub(crate) struct Translated {
    pub line: u64,
    pub column: u64,
    pub path: String,
    pub message: String,
}

/// What the model expects, from serde's description of the Rust type.
fn expected_in_user_terms(expected: &str, path: &str) -> String {
    let e = expected.trim_start_matches("a ").trim_start_matches("an ");
    let range = |max: &str| format!("an integer from 0 to {max}");
    if e.contains("SecretSource") || path_is_secret_source(path) && e.starts_with("internally") {
        return "a map with from: env|existingSecret|generated".into();
    }
    if e.contains("DataVolume") {
        return "a map with kind: persistent|ephemeral".into();
    }
    match e {
        "u8" => range("255"),
        "u16" => range("65535"),
        "u32" => range("4294967295"),
        "u64" => range("18446744073709551615"),
        "i32" | "i64" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "bool" | "boolean" => "true or false".into(),
        "string" | "str" | "string scalar" | "borrowed string" => "text".into(),
        "sequence" => "a list".into(),
        "map" | "mapping" => "a map".into(),
        "char" => "a single character".into(),
        _ if e.starts_with("struct ") => "a map of settings".into(),
        _ if e.starts_with("enum ") || e.starts_with("variant") => match path {
            p if p.ends_with("pullPolicy") => "one of IfNotPresent, Always, Never".into(),
            p if p.ends_with("service.type") => "one of ClusterIP, NodePort, LoadBalancer".into(),
            _ => "one of the values listed in schema/gatehouse.schema.json".into(),
        },
        _ => "a value of another kind (see schema/gatehouse.schema.json)".into(),
    }
}

fn path_is_secret_source(path: &str) -> bool {
    crate::redact::SECRET_PATHS.contains(&path)
}

fn parent(path: &str) -> &str {
    path.rfind(['.', '['])
        .map(|i| &path[..i])
        .unwrap_or_default()
}

/// Translates one parse error; `map` is `None` when the text is not YAML.
pub(crate) fn translate(error: &Error, map: Option<&SourceMap>, yaml: &str) -> Translated {
    let error = error.without_snippet();
    let place = error
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let empty = SourceMap::default();
    let map = map.unwrap_or(&empty);
    // The field at the error: the value or key written exactly there, else the last one before.
    let exact = map.entry_at(place);
    let near = exact.or_else(|| map.last_before(place));
    let mut path = near.map(|e| e.path.clone()).unwrap_or_default();
    let found = exact.map(|e| e.kind);
    let found_text = |kind: Option<Kind>| match kind {
        Some(kind) => format!(", found {}", kind.describe()),
        None => String::new(),
    };
    let expected_found = |expected: String, found: Option<Kind>| match found {
        Some(Kind::Null) => format!("needs {expected}; the value is empty (null)"),
        kind => format!("expected {expected}{}", found_text(kind)),
    };
    let message = match error {
        Error::AliasError { error, .. } => return translate(error, Some(map), yaml),
        // A scalar written where none is recorded is text.
        Error::InvalidScalar { ty, .. } => expected_found(
            expected_in_user_terms(ty, &path),
            found.or(Some(Kind::Text)),
        ),
        Error::NullIntoString { .. } => "needs text; the value is empty (null)".into(),
        Error::InvalidBooleanStrict { .. } => "expected true or false (without quotes)".into(),
        Error::SerdeInvalidType { expected, .. } | Error::SerdeInvalidValue { expected, .. } => {
            expected_found(expected_in_user_terms(expected, &path), found)
        }
        Error::Unexpected { expected, .. } => {
            let expected = match *expected {
                "string scalar" | "scalar" => "text".to_string(),
                "mapping start" => "a map of settings".to_string(),
                "sequence start" => "a list".to_string(),
                other => expected_in_user_terms(other, &path),
            };
            expected_found(expected, found)
        }
        Error::SerdeInvalidLength { expected, .. } => {
            format!("has the wrong number of items (expected {expected})")
        }
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            if let Some(entry) = map.text_below(&path, variant) {
                path = entry.path.clone();
            }
            let choices = expected.join(", ");
            if is_secret_path(&path) || path_is_secret_source(parent(&path)) {
                format!("unknown value; use one of {choices}")
            } else {
                format!("unknown value `{variant}`; use one of {choices}")
            }
        }
        Error::SerdeUnknownField {
            field, expected, ..
        } => {
            // The error points at the unknown key: its path is the parent's plus the key.
            if let Some(entry) = map.key_at(place) {
                path = entry.path.clone();
            }
            let known = if expected.is_empty() {
                "it takes no other fields".to_string()
            } else {
                format!("known fields: {}", expected.join(", "))
            };
            if is_secret_path(&path) {
                format!("unknown field; {known}")
            } else {
                format!("unknown field `{field}`; {known}")
            }
        }
        Error::SerdeMissingField { field, .. } => {
            // serde points at the map that lacks the field: its first key, or the key that holds
            // the map (internally tagged maps such as secret sources).
            if let Some(entry) = map.key_at(place) {
                path = if entry.kind == Kind::Map && !path_is_secret_source(&path)
                    || path_is_secret_source(&entry.path)
                {
                    entry.path.clone()
                } else {
                    parent(&entry.path).to_string()
                };
            }
            if path_is_secret_source(&path) {
                format!(
                    "the field `{field}` is missing; a secret source is a map with from: \
                     env (and variable), existingSecret (and name, key) or generated"
                )
            } else {
                format!("the field `{field}` is missing")
            }
        }
        Error::DuplicateMappingKey { key, .. } => {
            if let Some(entry) = map.key_at(place) {
                path = entry.path.clone();
            }
            let lines: Vec<String> = map
                .all_at(&path)
                .iter()
                .filter_map(|e| e.key_at.map(|(line, _)| line.to_string()))
                .collect();
            let key = key
                .clone()
                .unwrap_or_else(|| path.rsplit('.').next().unwrap_or_default().to_string());
            if lines.len() > 3 {
                // Never one entry per occurrence: a generated file can repeat a key many times.
                format!(
                    "duplicate key `{key}` (written {} times, first at line {} and line {}); \
                     write each key once",
                    lines.len(),
                    lines[0],
                    lines[1]
                )
            } else if lines.len() >= 2 {
                format!(
                    "duplicate key `{key}` (line {}); write each key once",
                    lines.join(" and line ")
                )
            } else {
                format!("duplicate key `{key}`; write each key once")
            }
        }
        Error::MultipleDocuments { .. } => {
            path = String::new();
            let documents = serde_saphyr::from_str_multiple::<serde::de::IgnoredAny, Vec<_>>(yaml)
                .map(|d: Vec<serde::de::IgnoredAny>| d.len().to_string())
                .unwrap_or_else(|_| "more than one".into());
            format!(
                "the file has {documents} YAML documents; gatehouse reads one (remove the `---` \
                 separators or split the file)"
            )
        }
        Error::Eof { .. } => "the file ends in the middle of a value".into(),
        Error::Budget { .. } => {
            "the file is too large or too deeply nested for a config file".into()
        }
        Error::UnknownAnchor { .. } => "refers to an anchor (`*name`) that is not defined".into(),
        Error::Message { msg, .. } | Error::HookError { msg, .. } => msg.clone(),
        other => {
            // Syntax errors from the YAML parser: its words are about YAML, not Rust. Drop the
            // location it appends (we print it once, in front).
            let text = other.to_string();
            let text = text.rfind(" at line ").map_or(&*text, |i| &text[..i]);
            let text = text.trim_start_matches("error: ");
            match text.split_once(": ") {
                Some((prefix, rest)) if prefix.starts_with("line ") => rest.to_string(),
                _ => text.to_string(),
            }
        }
    };
    let path = if path.is_empty() {
        "(document)".to_string()
    } else {
        path
    };
    Translated {
        line: place.0,
        column: place.1,
        path,
        message,
    }
}
