//! Where each field of a config file is written, from serde-saphyr's spans.
//!
//! The file is read a second time into an untyped tree whose keys and values are
//! [`serde_saphyr::Spanned`], so block and flow mappings (`{from: env, variable: X}`) and lists
//! are located alike. Duplicate keys are passed through here, so both places of a duplicate are
//! known.

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{DuplicateKeyPolicy, Location, Options, Spanned};

use crate::redact::Redactor;

/// What kind of YAML value a node is, in the user's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Map,
    List,
    Text,
    Number,
    Boolean,
    Null,
}

impl Kind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::Map => "a map",
            Kind::List => "a list",
            Kind::Text => "text",
            Kind::Number => "a number",
            Kind::Boolean => "a boolean",
            Kind::Null => "nothing (null)",
        }
    }
}

#[derive(Debug)]
enum Node {
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
    List(Vec<Spanned<Node>>),
    Text(String),
    Number(String),
    Boolean(bool),
    Null,
}

impl Node {
    fn kind(&self) -> Kind {
        match self {
            Node::Map(_) => Kind::Map,
            Node::List(_) => Kind::List,
            Node::Text(_) => Kind::Text,
            Node::Number(_) => Kind::Number,
            Node::Boolean(_) => Kind::Boolean,
            Node::Null => Kind::Null,
        }
    }

    fn key_text(&self) -> String {
        match self {
            Node::Text(text) | Node::Number(text) => text.clone(),
            Node::Boolean(value) => value.to_string(),
            Node::Null => "null".into(),
            Node::Map(_) | Node::List(_) => "?".into(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, value: bool) -> Result<Node, E> {
                Ok(Node::Boolean(value))
            }
            fn visit_i64<E>(self, value: i64) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }
            fn visit_u64<E>(self, value: u64) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }
            fn visit_i128<E>(self, value: i128) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }
            fn visit_u128<E>(self, value: u128) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }
            fn visit_f64<E>(self, value: f64) -> Result<Node, E> {
                Ok(Node::Number(value.to_string()))
            }
            fn visit_str<E>(self, value: &str) -> Result<Node, E> {
                Ok(Node::Text(value.to_string()))
            }
            fn visit_string<E>(self, value: String) -> Result<Node, E> {
                Ok(Node::Text(value))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
                Ok(Node::Text(String::new()))
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}

/// One located field (a map entry or a list item).
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Field path, e.g. `gateway.plugins[1].url`.
    pub path: String,
    /// Where the key is written (none for list items).
    pub key_at: Option<(u64, u64)>,
    /// Where the value starts.
    pub value_at: (u64, u64),
    /// What the value is.
    pub kind: Kind,
    /// The value's text, for a text scalar (to find where a refused word is written).
    pub text: Option<String>,
}

/// Every field of one config file with its place, and the file's values for the redactor.
#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    entries: Vec<Entry>,
    redactor: Redactor,
}

fn at(location: &Location) -> (u64, u64) {
    (location.line(), location.column())
}

impl SourceMap {
    /// Reads the spans of every field; `None` when the text is not YAML at all (the typed read
    /// reports that error).
    pub(crate) fn of(yaml: &str) -> Option<SourceMap> {
        let mut options = Options::default();
        options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
        let root: Spanned<Node> = serde_saphyr::from_str_with_options(yaml, options).ok()?;
        let mut map = SourceMap::default();
        map.walk("", None, &root);
        map.redactor.finish();
        Some(map)
    }

    fn walk(&mut self, path: &str, key_at: Option<(u64, u64)>, node: &Spanned<Node>) {
        if !path.is_empty() {
            self.entries.push(Entry {
                path: path.to_string(),
                key_at,
                value_at: at(&node.referenced),
                kind: node.value.kind(),
                text: match &node.value {
                    Node::Text(text) => Some(text.clone()),
                    _ => None,
                },
            });
        }
        match &node.value {
            Node::Map(entries) => {
                for (key, value) in entries {
                    let name = key.value.key_text();
                    // A key is a value too: an unknown key under a secret source may be a secret.
                    if !crate::redact::SECRET_SOURCE_FIELDS.contains(&name.as_str()) {
                        self.redactor.add(&format!("{path}.?"), &name);
                    }
                    let child = gatehouse_chart_contract::join_path(path, &name);
                    self.walk(&child, Some(at(&key.referenced)), value);
                }
            }
            Node::List(items) => {
                for (index, item) in items.iter().enumerate() {
                    self.walk(&format!("{path}[{index}]"), None, item);
                }
            }
            Node::Text(text) | Node::Number(text) => self.redactor.add(path, text),
            Node::Boolean(_) | Node::Null => {}
        }
    }

    /// The redactor holding this file's secret and long values.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Line and column of `path` (its key, or its value for a list item), or of its closest
    /// ancestor written in the file.
    pub(crate) fn place_of(&self, path: &str) -> Option<(u64, u64)> {
        let mut candidate = path;
        loop {
            if let Some(entry) = self.entries.iter().find(|e| e.path == candidate) {
                return Some(entry.key_at.unwrap_or(entry.value_at));
            }
            candidate = &candidate[..candidate.rfind(['.', '['])?];
        }
    }

    /// The entry whose key or value is written exactly at `(line, column)`.
    pub(crate) fn entry_at(&self, place: (u64, u64)) -> Option<&Entry> {
        // A key is more specific than the block map that starts with it.
        self.key_at(place)
            .or_else(|| self.entries.iter().find(|e| e.value_at == place))
    }

    /// The entry whose key is written exactly at `(line, column)`.
    pub(crate) fn key_at(&self, place: (u64, u64)) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key_at == Some(place))
    }

    /// The last field written at or before `(line, column)`.
    pub(crate) fn last_before(&self, place: (u64, u64)) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.key_at.unwrap_or(e.value_at) <= place)
            .max_by_key(|e| e.key_at.unwrap_or(e.value_at))
    }

    /// The first text value below `path` (a descendant, not `path` itself) written as `text`:
    /// serde reports a refused word inside an internally tagged map at the map, not at the word.
    pub(crate) fn text_below(&self, path: &str, text: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.text.as_deref() == Some(text)
                && e.path.len() > path.len()
                && e.path.starts_with(path)
                && (path.is_empty() || e.path[path.len()..].starts_with(['.', '[']))
        })
    }

    /// The path of every written field.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.path.as_str())
    }

    /// Every entry at `path` (more than one for a duplicate key), in file order.
    pub(crate) fn all_at(&self, path: &str) -> Vec<&Entry> {
        self.entries.iter().filter(|e| e.path == path).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_flow_and_list_fields_are_located() {
        let yaml = "namespace: apim\nredis:\n  password: {from: env, variable: X}\n  sentinel: {count: 3}\ngateway:\n  plugins:\n    - url: https://x/a.zip\n    - {url: https://x/b.zip, sha256: ab}\n";
        let map = SourceMap::of(yaml).unwrap();
        assert_eq!(map.place_of("namespace"), Some((1, 1)));
        assert_eq!(map.place_of("redis.password.variable"), Some((3, 25)));
        assert_eq!(map.place_of("redis.sentinel.count"), Some((4, 14)));
        assert_eq!(
            map.place_of("redis.sentinel.quorum"),
            Some((4, 3)),
            "parent"
        );
        assert_eq!(map.place_of("gateway.plugins[0].url"), Some((7, 7)));
        assert_eq!(map.place_of("gateway.plugins[1].sha256"), Some((8, 30)));
        assert_eq!(map.place_of("gateway.plugins[1]"), Some((8, 7)));
        assert_eq!(
            map.last_before((8, 40)).map(|e| e.path.as_str()),
            Some("gateway.plugins[1].sha256")
        );
    }

    #[test]
    fn duplicate_keys_are_both_kept() {
        let map = SourceMap::of("namespace: a\nname: b\nnamespace: c\n").unwrap();
        let lines: Vec<u64> = map
            .all_at("namespace")
            .iter()
            .map(|e| e.key_at.unwrap().0)
            .collect();
        assert_eq!(lines, vec![1, 3]);
    }
}
