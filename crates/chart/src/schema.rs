//! A JSON schema for a values file written by hand, per supported chart line.
//!
//! The chart has no `values.schema.json` and silently ignores keys it does not read. This schema
//! is built from the contract data (every path the line's `values.yaml` declares, commented-out
//! examples included, with its type, plus the template-only keys of the contract), so an editor
//! flags a misspelt or misplaced key (`gateway.replicas`, `gateway.ratelimit.type`) where the
//! chart would ignore it. Maps whose keys are the user's or pass through to `gravitee.yml` or
//! the pod spec stay open.

use std::collections::BTreeMap;

use gatehouse_chart_contract::{CHART_KEYS, Shape, SupportedChart, ValueKind};
use serde_json::{Map, Value, json};

#[derive(Default)]
struct Node {
    kind: Option<ValueKind>,
    children: BTreeMap<String, Node>,
    /// Keys of list items (`path[].key`).
    items: Option<Box<Node>>,
    path: String,
}

impl Node {
    fn insert(&mut self, path: &str, kind: ValueKind) {
        let mut node = self;
        let mut at = String::new();
        for segment in path.split('.') {
            let (key, item) = match segment.strip_suffix("[]") {
                Some(key) => (key, true),
                None => (segment, false),
            };
            at = gatehouse_chart_contract::join_path(&at, key);
            node = node.children.entry(key.to_string()).or_default();
            node.path = at.clone();
            if item {
                node.kind.get_or_insert(ValueKind::List);
                node = node.items.get_or_insert_with(Box::default);
                at.push_str("[]");
                node.path = at.clone();
                node.kind.get_or_insert(ValueKind::Map);
            }
        }
        node.kind = Some(match (node.kind, kind) {
            (Some(ValueKind::List), _) => ValueKind::List,
            (_, kind) => kind,
        });
    }

    fn open(&self) -> bool {
        CHART_KEYS.iter().any(|k| {
            matches!(
                k.shape,
                Shape::PassThrough | Shape::FreeFormMap | Shape::RawList
            ) && (self.path == k.path
                || self.path.starts_with(&format!("{}.", k.path))
                || self.path.starts_with(&format!("{}[]", k.path)))
        })
    }

    fn schema(&self) -> Value {
        let mut out = Map::new();
        if let Some(rule) = CHART_KEYS.iter().find(|k| k.path == self.path) {
            out.insert("description".into(), rule.fact.into());
        }
        let kind = if self.children.is_empty() {
            self.kind
        } else {
            Some(ValueKind::Map)
        };
        match kind {
            Some(ValueKind::Map) => {
                out.insert("type".into(), "object".into());
                if !self.children.is_empty() {
                    let properties: Map<String, Value> = self
                        .children
                        .iter()
                        .map(|(k, n)| (k.clone(), n.schema()))
                        .collect();
                    out.insert("properties".into(), properties.into());
                    if !self.open() {
                        out.insert("additionalProperties".into(), false.into());
                    }
                }
            }
            Some(ValueKind::List) => {
                out.insert("type".into(), "array".into());
                if let Some(items) = &self.items {
                    out.insert("items".into(), items.schema());
                }
            }
            // values.yaml shows an example; the chart takes text for it (Helm's YAML may read a
            // version or a number either way).
            Some(ValueKind::String) => {
                out.insert(
                    "type".into(),
                    json!(["string", "number", "boolean", "null"]),
                );
            }
            Some(ValueKind::Bool) => {
                out.insert("type".into(), json!(["boolean", "null"]));
            }
            Some(ValueKind::Int | ValueKind::Float) => {
                out.insert("type".into(), json!(["number", "string", "null"]));
            }
            Some(ValueKind::Null) | None => {}
        }
        out.into()
    }
}

/// The JSON schema (draft 2020-12) of a hand-written values file for `chart`.
pub fn values_schema(chart: &SupportedChart) -> Value {
    let mut root = Node::default();
    for (path, kind) in chart.declared {
        root.insert(path, *kind);
    }
    for key in CHART_KEYS.iter().filter(|k| !k.in_values_yaml) {
        root.insert(key.path, ValueKind::Null);
    }
    let mut schema = root.schema();
    let object = schema.as_object_mut().expect("the root is a map");
    object.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    object.insert(
        "title".into(),
        format!(
            "graviteeio/apim {} values (keys declared by values.yaml of {})",
            chart.line, chart.imported_from
        )
        .into(),
    );
    schema
}
