//! A serde serializer that writes serde-saphyr's block layout directly and leaves every string
//! that needs thought to serde-saphyr.
//!
//! Why: serde-saphyr checks every key and string value for what a YAML 1.1 or 1.2 reader could
//! misread, in several passes of `char` iteration, and builds a `String` for every map key. In
//! gatehouse's objects almost every string is a name, a label, a path, a quantity or a word, which
//! those checks always let through plain. This writer lets such a string through after one byte
//! scan (`plain_key`, `plain_value`: stricter than serde-saphyr's rules, and a property test
//! holds every string they pass to serde-saphyr's plain output) and asks serde-saphyr for the token
//! of every other scalar, so every quoting decision that needs thought stays serde-saphyr's. Layout
//! (indentation, compact sequences, `{}`/`[]`, literal blocks moved to their column) is
//! serde-saphyr's default block style, which the unit and property tests hold byte for byte
//! against it. Anything outside the shapes handled here (enum variants with data, byte strings,
//! multi-line keys) returns [`Unsupported`], and the caller writes the whole document with
//! serde-saphyr instead.

use std::fmt;

use serde::ser::{self, Serialize};

use super::plain::plain_value;

/// The value needs a shape this writer leaves to serde-saphyr.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a shape left to serde-saphyr")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

pub(super) type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Writes `value` as one YAML document (ending in a newline), or says it cannot.
pub(crate) fn write<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let mut out = String::with_capacity(4096);
    write_into(&mut out, value)?;
    Ok(out)
}

/// Appends `value` to `out` as one YAML document (ending in a newline); on [`Unsupported`], `out`
/// is left as it was.
pub(crate) fn write_into<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result {
    let start = out.len();
    let mut writer = Writer {
        out: std::mem::take(out),
        at_line_start: true,
    };
    let result = value.serialize(Value {
        w: &mut writer,
        at: Place::Top,
    });
    *out = writer.out;
    if result.is_err() {
        out.truncate(start);
    }
    result
}

struct Writer {
    out: String,
    /// Nothing written on the current line yet.
    at_line_start: bool,
}

impl Writer {
    fn indent(&mut self, column: usize) {
        if self.at_line_start {
            spaces(&mut self.out, column);
            self.at_line_start = false;
        }
    }

    fn end_line(&mut self) {
        self.out.push('\n');
        self.at_line_start = true;
    }
}

/// Where the value being written goes.
#[derive(Clone, Copy)]
enum Place {
    /// The document itself.
    Top,
    /// After `key:` of a key written at this column.
    MapValue(usize),
    /// After `- ` of a dash written at this column.
    SeqItem(usize),
}

impl Place {
    /// Column of a map's keys or a sequence's dashes opened here, and whether its first line has
    /// yet to begin (after `key:`).
    fn block(self, is_map: bool) -> (usize, bool) {
        match self {
            Place::Top => (0, false),
            Place::MapValue(column) if is_map => (column + 2, true),
            // A sequence under a key is written at the key's column (compact).
            Place::MapValue(column) => (column, true),
            Place::SeqItem(column) => (column + 2, false),
        }
    }
}

/// Serializes one value at a place.
struct Value<'a> {
    w: &'a mut Writer,
    at: Place,
}

impl Value<'_> {
    /// Writes a scalar token (already decided) and ends the line.
    fn token(self, token: &str) -> Result {
        if let Place::MapValue(_) = self.at {
            self.w.out.push(' ');
        }
        self.w.out.push_str(token);
        self.w.end_line();
        Ok(())
    }

    /// Writes the token serde-saphyr gives `value` as a document of its own (a scalar without a
    /// line break: its quoting does not depend on the place).
    fn delegated_scalar<T: Serialize>(self, value: &T) -> Result {
        let text = super::serializer_yaml(value);
        match text.strip_suffix('\n') {
            Some(token) if !token.contains('\n') => self.token(token),
            _ => Err(Unsupported),
        }
    }

    /// A string with a line break: serde-saphyr writes it (a literal block, or quoted) at a place
    /// of the same kind in a document of its own, and the lines after the first move right by
    /// the place's column. Blank lines stay empty, as serde-saphyr writes them.
    fn multi_line(self, s: &str) -> Result {
        match self.at {
            Place::Top => self.w.out.push_str(&super::serializer_yaml(&s)),
            Place::MapValue(column) => self.w.out.push_str(&super::map_value_block(s, column)?),
            Place::SeqItem(column) => {
                self.w
                    .out
                    .push_str(&moved_right(&super::serializer_yaml(&[s]), "- ", column)?)
            }
        }
        self.w.at_line_start = true;
        Ok(())
    }
}

/// `text` (a one-entry document serde-saphyr wrote) without its `prefix` (`k:` or `- `), every line
/// after the first moved right by `column` spaces; blank lines stay empty.
pub(super) fn moved_right(text: &str, prefix: &str, column: usize) -> Result<String> {
    let rest = text.strip_prefix(prefix).ok_or(Unsupported)?;
    let mut out = String::with_capacity(rest.len() + rest.len() / 8 * column);
    let mut lines = rest.split_inclusive('\n');
    out.push_str(lines.next().ok_or(Unsupported)?);
    for line in lines {
        if line != "\n" {
            spaces(&mut out, column);
        }
        out.push_str(line);
    }
    Ok(out)
}

fn spaces(out: &mut String, mut count: usize) {
    const SPACES: &str = "                                                                ";
    while count > 0 {
        let n = count.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        count -= n;
    }
}

macro_rules! integers {
    ($($method:ident: $type:ty),*) => {$(
        fn $method(self, v: $type) -> Result {
            self.token(&v.to_string())
        }
    )*};
}

impl<'a> ser::Serializer for Value<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = Map<'a>;
    type SerializeStruct = Map<'a>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result {
        self.token(if v { "true" } else { "false" })
    }

    integers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64
    );

    fn serialize_f32(self, v: f32) -> Result {
        self.delegated_scalar(&v)
    }

    fn serialize_f64(self, v: f64) -> Result {
        self.delegated_scalar(&v)
    }

    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_str(self, v: &str) -> Result {
        if plain_value(v) {
            self.token(v)
        } else if v.contains('\n') {
            self.multi_line(v)
        } else {
            self.delegated_scalar(&v)
        }
    }

    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result {
        self.token("null")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.token("null")
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.token("null")
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result {
        // serde-saphyr's own wrappers (flow style, block strings, tags...) announce themselves by
        // newtype name; none of gatehouse's types use them.
        if name.starts_with("__") {
            return Err(Unsupported);
        }
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Unsupported)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>> {
        let (column, opens_line) = self.at.block(false);
        Ok(Seq {
            w: self.w,
            at: self.at,
            column,
            opens_line,
            empty: true,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq<'a>> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Map<'a>> {
        let (column, opens_line) = self.at.block(true);
        Ok(Map {
            w: self.w,
            at: self.at,
            column,
            opens_line,
            empty: true,
        })
    }

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map<'a>> {
        self.serialize_map(Some(len))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

/// An empty collection is written in flow style where the collection goes.
fn empty(w: &mut Writer, at: Place, token: &str) -> Result {
    Value { w, at }.token(token)
}

/// A block sequence being written.
struct Seq<'a> {
    w: &'a mut Writer,
    at: Place,
    /// Column of the dashes.
    column: usize,
    /// The first item starts a new line (the sequence is a map value).
    opens_line: bool,
    empty: bool,
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        if self.empty && self.opens_line {
            self.w.end_line();
        }
        self.empty = false;
        self.w.indent(self.column);
        self.w.out.push_str("- ");
        value.serialize(Value {
            w: self.w,
            at: Place::SeqItem(self.column),
        })
    }

    fn end(self) -> Result {
        if self.empty {
            return empty(self.w, self.at, "[]");
        }
        Ok(())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        ser::SerializeSeq::end(self)
    }
}

/// A block map (or struct) being written.
pub(super) struct Map<'a> {
    w: &'a mut Writer,
    at: Place,
    /// Column of the keys.
    column: usize,
    /// The first key starts a new line (the map is a map value).
    opens_line: bool,
    empty: bool,
}

impl Map<'_> {
    /// Writes `token:` where the next key goes.
    pub(super) fn key_token(&mut self, token: &str) {
        if self.empty && self.opens_line {
            self.w.end_line();
        }
        self.empty = false;
        self.w.indent(self.column);
        self.w.out.push_str(token);
        self.w.out.push(':');
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(Value {
            w: self.w,
            at: Place::MapValue(self.column),
        })
    }
}

impl ser::SerializeMap for Map<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        key.serialize(super::key::Key(self))
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.value(value)
    }

    fn end(self) -> Result {
        if self.empty {
            return empty(self.w, self.at, "{}");
        }
        Ok(())
    }
}

impl ser::SerializeStruct for Map<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        ser::SerializeMap::serialize_key(self, key)?;
        self.value(value)
    }

    fn end(self) -> Result {
        ser::SerializeMap::end(self)
    }
}
