//! YAML output that Helm (YAML 1.1) and kubectl (YAML 1.2) read back exactly as meant.
//!
//! A small block-style emitter over `serde_json::Value`. Its quoting rule is deliberately narrow:
//! a string is written plain only when it starts with a letter or `/`, uses nothing but letters,
//! digits and `._/-:@+=%~`, has no `: `, and is not one of the YAML 1.1 boolean or null words
//! (`y`, `no`, `on`, `off`, `null`, ...); everything else is double-quoted with escapes, except
//! multi-line text (config files, scripts), which is written as a literal block (`|`). So no
//! string can turn into a boolean, number, date or null in either YAML version.
//!
//! Maps are written in a stable order: `apiVersion` and `kind` first, then the keys sorted; the same
//! input always gives the same bytes.
//!
//! Why not serde-saphyr, which reads the config files: it quotes just as safely, but emitting with
//! it took two thirds of a render (measured with `perf` in `cargo xtask bench`); this emitter is a
//! plain walk. The property tests read every rendered document back with serde-saphyr and PyYAML.

use serde_json::{Map, Value};

/// Serializes one value as a YAML document ending in a newline.
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("rendered values serialize");
    let mut out = String::with_capacity(2048);
    match &value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, false, &mut out),
        Value::Array(items) if !items.is_empty() => write_seq(items, 0, &mut out),
        scalar => {
            write_inline(scalar, &mut out);
            out.push('\n');
        }
    }
    out
}

/// `apiVersion` and `kind` first (as kubectl prints objects), then the others in key order.
fn ordered(map: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    const FIRST: [&str; 2] = ["apiVersion", "kind"];
    FIRST
        .iter()
        .filter_map(|key| map.get_key_value(*key))
        .chain(map.iter().filter(|(key, _)| !FIRST.contains(&key.as_str())))
}

fn indent(width: usize, out: &mut String) {
    const SPACES: &str = "                                                                ";
    let mut left = width;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

/// A block mapping at `width`; with `inline_first`, the first key continues a `- ` line.
fn write_map(map: &Map<String, Value>, width: usize, inline_first: bool, out: &mut String) {
    for (position, (key, value)) in ordered(map).enumerate() {
        if position > 0 || !inline_first {
            indent(width, out);
        }
        write_string_inline(key, out);
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(inner, width + 2, false, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                write_seq(items, width, out);
            }
            Value::String(text) if is_block(text) => {
                out.push(' ');
                write_block(text, width + 2, out);
            }
            scalar => {
                out.push(' ');
                write_inline(scalar, out);
                out.push('\n');
            }
        }
    }
}

/// A block sequence whose `- ` markers stand at `width`.
fn write_seq(items: &[Value], width: usize, out: &mut String) {
    for item in items {
        indent(width, out);
        match item {
            Value::Object(map) if !map.is_empty() => {
                out.push_str("- ");
                write_map(map, width + 2, true, out);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                write_seq(inner, width + 2, out);
            }
            Value::String(text) if is_block(text) => {
                out.push_str("- ");
                write_block(text, width + 2, out);
            }
            scalar => {
                out.push_str("- ");
                write_inline(scalar, out);
                out.push('\n');
            }
        }
    }
}

/// A scalar or an empty collection on the current line.
fn write_inline(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => write_string_inline(text, out),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn write_string_inline(text: &str, out: &mut String) {
    if is_plain(text) {
        out.push_str(text);
    } else {
        write_quoted(text, out);
    }
}

/// Words YAML 1.1 reads as booleans or null (compared case-insensitively).
const RESERVED_WORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

/// Per byte: [`PLAIN`] when it may stand in a plain scalar, [`NOT_NUMERIC`] for letters that no YAML
/// number or timestamp contains (so a quantity like `512Mi` cannot be read as one).
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = PLAIN;
        }
        if c.is_ascii_alphabetic() {
            let lower = c.to_ascii_lowercase();
            if !matches!(lower, b'a'..=b'f' | b'o' | b't' | b'x') {
                table[b] |= NOT_NUMERIC;
            }
        }
        b += 1;
    }
    let extra = b"._/-:@+=%~";
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = PLAIN;
        i += 1;
    }
    table
};
const PLAIN: u8 = 1;
const NOT_NUMERIC: u8 = 2;

fn is_plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    let mut classes = PLAIN;
    let mut any_not_numeric = 0;
    for &b in bytes {
        let class = CLASS[b as usize];
        classes &= class;
        any_not_numeric |= class & NOT_NUMERIC;
    }
    let starts_safely = first.is_ascii_alphabetic()
        || first == b'/'
        // A quantity such as `512Mi` or `500m`: a digit first is safe when some letter cannot be
        // part of a YAML number or timestamp (hex digits, `e`, `o`, `x`, `t` can).
        || (first.is_ascii_digit() && any_not_numeric != 0);
    classes & PLAIN != 0
        && starts_safely
        && !text.ends_with(':')
        && (bytes.len() > 5
            || !RESERVED_WORDS
                .iter()
                .any(|word| word.eq_ignore_ascii_case(text)))
}

/// Multi-line text whose first line starts with a visible character and that holds only
/// printable characters, tabs and line feeds, with no trailing blanks on any line.
fn is_block(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.first().is_none_or(|b| b.is_ascii_whitespace()) || !bytes.contains(&b'\n') {
        return false;
    }
    let mut previous = 0u8;
    for &b in bytes {
        match b {
            b'\n' if previous == b' ' || previous == b'\t' => return false,
            b'\n' | b'\t' | 0x20..=0x7e => {}
            0x80.. => {
                // Outside ASCII: decide character by character (rare in rendered text).
                return text.split('\n').all(|line| !line.ends_with([' ', '\t']))
                    && text
                        .chars()
                        .all(|c| c == '\n' || c == '\t' || is_printable(c));
            }
            _ => return false,
        }
        previous = b;
    }
    previous != b' ' && previous != b'\t'
}

/// A literal block scalar: `|` keeps one final line break, `|-` none, `|+` all of them.
fn write_block(text: &str, width: usize, out: &mut String) {
    let (chomping, body) = match text.strip_suffix('\n') {
        None => ("|-", text),
        Some(rest) if rest.ends_with('\n') => ("|+", rest),
        Some(rest) => ("|", rest),
    };
    out.push_str(chomping);
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(width, out);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// Characters YAML allows unescaped (printable, and not a line break in YAML 1.1).
fn is_printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A double-quoted scalar; everything not printable is escaped.
fn write_quoted(text: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    if text
        .bytes()
        .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(text);
        out.push('"');
        return;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xffff => {
                write!(out, "\\u{:04x}", c as u32).expect("writes to a String")
            }
            c => write!(out, "\\U{:08x}", c as u32).expect("writes to a String"),
        }
    }
    out.push('"');
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
            "apiVersion: v1\nkind: Pod\ndata:\n  a.sh: |\n    #!/bin/sh\n    echo hi\n  b: |-\n    x\n    y\n  c: |+\n    x\n\nnested:\n-\n  - a\nspec:\n  containers:\n  - command:\n    - sh\n    - \"-c\"\n    name: redis\n  empty: {}\n  none: []\n"
        );
    }

    #[test]
    fn strings_that_yaml_would_retype_are_quoted() {
        for text in [
            "on",
            "Off",
            "yes",
            "N",
            "TRUE",
            "null",
            "~",
            "",
            "12:30",
            "0x1F",
            "1e3",
            "010",
            ".inf",
            "2001-12-14",
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
            "a,b",
            "tab\there",
            "cr\rlf",
            "bell\u{7}",
            "line\u{2028}sep",
            "nel\u{85}",
            "bom\u{feff}",
        ] {
            let yaml = to_yaml(&json!({ "k": text }));
            assert!(yaml.starts_with("k: \""), "{text:?} must be quoted: {yaml}");
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
        ] {
            assert_eq!(to_yaml(&json!({ "k": text })), format!("k: {text}\n"));
        }
    }
}
