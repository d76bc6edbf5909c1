//! YAML output that Helm (YAML 1.1) and kubectl (YAML 1.2) read back exactly as meant.
//!
//! A small block-style emitter: a serde `Serializer` writing straight into a string. Its quoting
//! rule is deliberately narrow: a string is written plain only when it starts with a letter or `/`
//! (or is a quantity like `512Mi`), uses nothing but letters, digits and `._/-:@+=%~`, does not end
//! in `:`, and is not one of the YAML 1.1 boolean or null words (`y`, `no`, `on`, `off`, `null`,
//! ...); everything else is double-quoted with escapes, except multi-line text (config files,
//! scripts), which is written as a literal block (`|`). So no string can turn into a boolean,
//! number, date or null in either YAML version.
//!
//! Maps come out in serialization order, which is stable: k8s-openapi objects give `apiVersion`,
//! `kind`, then their fields sorted; BTreeMaps are sorted; typed values keep their field order. The
//! same input always gives the same bytes.
//!
//! Why not serde-saphyr, which reads the config files: it quotes just as safely, but emitting with
//! it took two thirds of a render (measured with `perf` in `cargo xtask bench`). The property tests
//! read every rendered document back with serde-saphyr, and the chart tests read the Helm values
//! back with PyYAML; both must give exactly what was meant.

/// Serializes one value as a YAML document ending in a newline.
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    let mut out = String::with_capacity(2048);
    value
        .serialize(Emitter {
            out: &mut out,
            at: Place::Root,
        })
        .expect("rendered values serialize to YAML");
    out
}

/// Where the value being serialized goes.
#[derive(Clone, Copy)]
enum Place {
    /// The whole document.
    Root,
    /// After `key:` of a mapping whose keys stand at this width.
    MapValue(usize),
    /// An item of a sequence whose `- ` markers stand at this width.
    SeqItem(usize),
}

/// A serde serializer writing block-style YAML straight into a string (no intermediate tree).
struct Emitter<'a> {
    out: &'a mut String,
    at: Place,
}

/// Why a value cannot be written (only non-string map keys).
#[derive(Debug)]
pub struct YamlError(String);

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for YamlError {}

impl serde::ser::Error for YamlError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        YamlError(message.to_string())
    }
}

impl<'a> Emitter<'a> {
    /// Writes a scalar (already formatted, or a string to quote) at the current place.
    fn scalar(self, write: impl FnOnce(&mut String)) -> Result<(), YamlError> {
        match self.at {
            Place::Root => {}
            Place::MapValue(_) => self.out.push(' '),
            Place::SeqItem(width) => {
                indent(width, self.out);
                self.out.push_str("- ");
            }
        }
        write(self.out);
        self.out.push('\n');
        Ok(())
    }

    fn collection(self, kind: Collection) -> Writer<'a> {
        let (width, pending) = match (self.at, kind) {
            (Place::Root, _) => (0, Pending::Nothing),
            (Place::MapValue(width), Collection::Map) => (width + 2, Pending::Newline),
            (Place::MapValue(width), Collection::Seq) => (width, Pending::Newline),
            (Place::SeqItem(width), Collection::Map) => (width + 2, Pending::Dash(width)),
            (Place::SeqItem(width), Collection::Seq) => (width + 2, Pending::DashLine(width)),
        };
        Writer {
            out: self.out,
            at: self.at,
            kind,
            width,
            pending,
            entries: 0,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Collection {
    Map,
    Seq,
}

/// What must be written before the first entry of a collection.
#[derive(Clone, Copy)]
enum Pending {
    Nothing,
    /// End the `key:` line.
    Newline,
    /// The first key continues a `- ` at this width.
    Dash(usize),
    /// A sequence inside a sequence: `-` on its own line at this width.
    DashLine(usize),
}

/// A mapping or sequence being written.
struct Writer<'a> {
    out: &'a mut String,
    at: Place,
    kind: Collection,
    width: usize,
    pending: Pending,
    entries: usize,
}

impl Writer<'_> {
    /// Writes what precedes one entry: the pending header, then the indentation.
    fn start_entry(&mut self) {
        let mut inline = false;
        match std::mem::replace(&mut self.pending, Pending::Nothing) {
            Pending::Nothing => {}
            Pending::Newline => self.out.push('\n'),
            Pending::Dash(width) => {
                indent(width, self.out);
                self.out.push_str("- ");
                inline = true;
            }
            Pending::DashLine(width) => {
                indent(width, self.out);
                self.out.push_str("-\n");
            }
        }
        if self.kind == Collection::Map && !inline {
            indent(self.width, self.out);
        }
        self.entries += 1;
    }

    fn key(&mut self, key: &str) {
        self.start_entry();
        write_string_inline(key, self.out);
        self.out.push(':');
    }

    fn value<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), YamlError> {
        let at = match self.kind {
            Collection::Map => Place::MapValue(self.width),
            Collection::Seq => {
                self.start_entry();
                Place::SeqItem(self.width)
            }
        };
        value.serialize(Emitter { out: self.out, at })
    }

    fn finish(self) -> Result<(), YamlError> {
        if self.entries == 0 {
            let empty = if self.kind == Collection::Map {
                "{}"
            } else {
                "[]"
            };
            Emitter {
                out: self.out,
                at: self.at,
            }
            .scalar(|out| out.push_str(empty))?;
        }
        Ok(())
    }
}

impl<'a> serde::Serializer for Emitter<'a> {
    type Ok = ();
    type Error = YamlError;
    type SerializeSeq = Writer<'a>;
    type SerializeTuple = Writer<'a>;
    type SerializeTupleStruct = Writer<'a>;
    type SerializeTupleVariant = Writer<'a>;
    type SerializeMap = Writer<'a>;
    type SerializeStruct = Writer<'a>;
    type SerializeStructVariant = Writer<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), YamlError> {
        self.scalar(|out| out.push_str(if v { "true" } else { "false" }))
    }
    fn serialize_i8(self, v: i8) -> Result<(), YamlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), YamlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), YamlError> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), YamlError> {
        self.scalar(|out| out.push_str(itoa::Buffer::new().format(v)))
    }
    fn serialize_u8(self, v: u8) -> Result<(), YamlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), YamlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), YamlError> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), YamlError> {
        self.scalar(|out| out.push_str(itoa::Buffer::new().format(v)))
    }
    fn serialize_f32(self, v: f32) -> Result<(), YamlError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), YamlError> {
        self.scalar(|out| match serde_json::Number::from_f64(v) {
            Some(number) => out.push_str(&number.to_string()),
            None if v.is_nan() => out.push_str(".nan"),
            None if v > 0.0 => out.push_str(".inf"),
            None => out.push_str("-.inf"),
        })
    }
    fn serialize_char(self, v: char) -> Result<(), YamlError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), YamlError> {
        if is_block(v) {
            let width = match self.at {
                Place::Root => {
                    write_block(v, 2, self.out);
                    return Ok(());
                }
                Place::MapValue(width) => {
                    self.out.push(' ');
                    width
                }
                Place::SeqItem(width) => {
                    indent(width, self.out);
                    self.out.push_str("- ");
                    width
                }
            };
            write_block(v, width + 2, self.out);
            Ok(())
        } else {
            self.scalar(|out| write_string_inline(v, out))
        }
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), YamlError> {
        use serde::ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for byte in v {
            seq.serialize_element(byte)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), YamlError> {
        self.scalar(|out| out.push_str("null"))
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<(), YamlError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), YamlError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), YamlError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), YamlError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), YamlError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), YamlError> {
        let mut map = self.collection(Collection::Map);
        map.key(variant);
        map.value(value)?;
        map.finish()
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Writer<'a>, YamlError> {
        Ok(self.collection(Collection::Seq))
    }
    fn serialize_tuple(self, len: usize) -> Result<Writer<'a>, YamlError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Writer<'a>, YamlError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Writer<'a>, YamlError> {
        Err(YamlError(format!(
            "tuple variant {variant} is not supported"
        )))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Writer<'a>, YamlError> {
        Ok(self.collection(Collection::Map))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Writer<'a>, YamlError> {
        Ok(self.collection(Collection::Map))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Writer<'a>, YamlError> {
        Err(YamlError(format!(
            "struct variant {variant} is not supported"
        )))
    }
}

/// Sequences, tuples and tuple structs are all written as block sequences.
macro_rules! sequence_like {
    ($($trait:ident :: $method:ident),*) => {$(
        impl serde::ser::$trait for Writer<'_> {
            type Ok = ();
            type Error = YamlError;
            fn $method<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), YamlError> {
                self.value(value)
            }
            fn end(self) -> Result<(), YamlError> {
                self.finish()
            }
        }
    )*};
}

sequence_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl serde::ser::SerializeMap for Writer<'_> {
    type Ok = ();
    type Error = YamlError;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), YamlError> {
        let key = key.serialize(KeyText)?;
        self.key(&key);
        Ok(())
    }
    fn serialize_value<T: serde::Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), YamlError> {
        self.value(value)
    }
    fn end(self) -> Result<(), YamlError> {
        self.finish()
    }
}

/// Structs (and struct variants) are written as block mappings.
macro_rules! struct_like {
    ($($trait:ident),*) => {$(
        impl serde::ser::$trait for Writer<'_> {
            type Ok = ();
            type Error = YamlError;
            fn serialize_field<T: serde::Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), YamlError> {
                self.key(key);
                self.value(value)
            }
            fn end(self) -> Result<(), YamlError> {
                self.finish()
            }
        }
    )*};
}

struct_like!(SerializeStruct, SerializeStructVariant);

/// Map keys: strings (and integers, written as their digits).
struct KeyText;

impl serde::Serializer for KeyText {
    type Ok = String;
    type Error = YamlError;
    type SerializeSeq = serde::ser::Impossible<String, YamlError>;
    type SerializeTuple = serde::ser::Impossible<String, YamlError>;
    type SerializeTupleStruct = serde::ser::Impossible<String, YamlError>;
    type SerializeTupleVariant = serde::ser::Impossible<String, YamlError>;
    type SerializeMap = serde::ser::Impossible<String, YamlError>;
    type SerializeStruct = serde::ser::Impossible<String, YamlError>;
    type SerializeStructVariant = serde::ser::Impossible<String, YamlError>;

    fn serialize_str(self, v: &str) -> Result<String, YamlError> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, YamlError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, YamlError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, YamlError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, YamlError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, YamlError> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
    ) -> Result<String, YamlError> {
        Ok(v.to_string())
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, YamlError> {
        v.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_i8(self, _: i8) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_i16(self, _: i16) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_u8(self, _: u8) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_u16(self, _: u16) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_f32(self, _: f32) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_f64(self, _: f64) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_none(self) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, _: &T) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_unit(self) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, YamlError> {
        Err(not_a_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, YamlError> {
        Err(not_a_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, YamlError> {
        Err(not_a_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, YamlError> {
        Err(not_a_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, YamlError> {
        Err(not_a_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, YamlError> {
        Err(not_a_key())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, YamlError> {
        Err(not_a_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, YamlError> {
        Err(not_a_key())
    }
}

fn not_a_key() -> YamlError {
    YamlError("map keys must be strings or integers".into())
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
            "apiVersion: v1\ndata:\n  a.sh: |\n    #!/bin/sh\n    echo hi\n  b: |-\n    x\n    y\n  c: |+\n    x\n\nkind: Pod\nnested:\n-\n  - a\nspec:\n  containers:\n  - command:\n    - sh\n    - \"-c\"\n    name: redis\n  empty: {}\n  none: []\n"
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
            "a,b",
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
