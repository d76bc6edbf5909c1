//! The two kinds of contract files under `contract/`, as serde types, and the check that every
//! key gatehouse emits is declared by every supported chart version.
//!
//! This file is compiled twice: into the library and, through `#[path]`, into the build script,
//! which generates the tables and the values types from the same data and refuses to build when
//! [`undeclared`] finds anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `contract/apim-<line>.yaml`: every key path one chart version's `values.yaml` declares
/// (commented-out example keys included) with the type of its value. Written by
/// `cargo xtask chart-import`, never by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Declared {
    /// The chart (`apim`).
    pub chart: String,
    /// The chart line, `MAJOR.MINOR` (`4.12`).
    pub version: String,
    /// The exact chart version whose `values.yaml` was read (`4.12.17`).
    pub imported_from: String,
    /// Dot-separated path (`[]` for list items) → type of the value.
    pub paths: BTreeMap<String, ValueKind>,
}

/// The type of a declared value, as `values.yaml` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// A map (keys below it may be declared too).
    Map,
    /// A list.
    List,
    /// Text.
    String,
    /// `true`/`false`.
    Bool,
    /// A whole number.
    Int,
    /// A number with a fraction.
    Float,
    /// Declared without a value (`key:`): any type.
    Null,
}

/// `contract/emitted.yaml`, written by hand: the chart lines gatehouse supports, what differs
/// between their layouts, and every values key gatehouse emits or checks, with the chart fact
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Emitted {
    /// Supported chart lines, oldest first.
    pub versions: Vec<VersionEntry>,
    /// The layouts of the gateway's `gravitee.yml` and what the gateway reads in each.
    pub layouts: Vec<LayoutEntry>,
    /// Rust names of the maps gatehouse emits, by path (`""` for the document).
    pub structs: BTreeMap<String, String>,
    /// The values keys gatehouse emits or checks.
    pub keys: Vec<KeyEntry>,
}

/// One supported chart line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionEntry {
    /// `MAJOR.MINOR`.
    pub line: String,
    /// Name of its layout in `layouts`.
    pub layout: String,
}

/// One `gravitee.yml` layout.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LayoutEntry {
    /// Rust name of the layout (`V4_9`).
    pub name: String,
    /// Where the rendered `gravitee.yml` keeps the rate-limit repository.
    pub ratelimit_path: String,
    /// The env variable the gateway reads the Redis password from.
    pub redis_password_env: String,
    /// The env variable the gateway reads the Sentinel password from.
    pub sentinel_password_env: String,
    /// The facts, with their sources, behind the names above.
    pub fact: String,
}

/// How the chart uses the value at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShapeEntry {
    /// A scalar the templates insert.
    #[default]
    Scalar,
    /// A map of the user's keys.
    FreeFormMap,
    /// A list inserted with `toYaml`.
    RawList,
    /// A map copied with `toYaml` into `gravitee.yml` or the pod spec.
    PassThrough,
    /// A string of YAML inserted with `tpl`.
    YamlText,
}

/// One values key of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyEntry {
    /// Dot-separated path, `[]` for list items.
    pub path: String,
    /// How the chart uses it.
    #[serde(default)]
    pub shape: ShapeEntry,
    /// The template fact (what reads it, how).
    pub fact: String,
    /// The Rust type of the field when gatehouse emits the key; absent for keys only checked.
    #[serde(default)]
    pub rust: Option<String>,
    /// Emitted only when there is something to say (`Option`, left out when `None`).
    #[serde(default)]
    pub optional: bool,
    /// A list left out when empty.
    #[serde(default)]
    pub skip_empty: bool,
    /// Read by a template but absent from `values.yaml` (not even commented out).
    #[serde(default)]
    pub template_only: bool,
}

/// A key gatehouse would emit that a supported chart version does not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared {
    /// The key path.
    pub path: String,
    /// The chart line.
    pub line: String,
    /// The chart version whose `values.yaml` was read.
    pub imported_from: String,
}

impl std::fmt::Display for Undeclared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gatehouse would emit the values key `{}`, which the graviteeio/apim chart {} does not \
             declare (contract/apim-{}.yaml, read from values.yaml of {}): the chart ignores keys it \
             does not read; remove the key from contract/emitted.yaml or mark it templateOnly with \
             the template that reads it",
            self.path, self.line, self.line, self.imported_from
        )
    }
}

/// Every key in `emitted` that gatehouse emits (it has a Rust type and is not template-only)
/// and that a chart version in `declared` does not declare, neither itself nor through a
/// declared pass-through map above it.
pub fn undeclared(emitted: &Emitted, declared: &[Declared]) -> Vec<Undeclared> {
    let pass_through: Vec<&str> = emitted
        .keys
        .iter()
        .filter(|k| k.shape == ShapeEntry::PassThrough)
        .map(|k| k.path.as_str())
        .collect();
    let mut out = Vec::new();
    for chart in declared {
        for key in &emitted.keys {
            if key.rust.is_none() || key.template_only {
                continue;
            }
            let covered = chart.paths.contains_key(&key.path)
                || pass_through.iter().any(|parent| {
                    key.path.starts_with(&format!("{parent}.")) && chart.paths.contains_key(*parent)
                });
            if !covered {
                out.push(Undeclared {
                    path: key.path.clone(),
                    line: chart.version.clone(),
                    imported_from: chart.imported_from.clone(),
                });
            }
        }
    }
    out
}
