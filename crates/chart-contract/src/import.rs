//! `cargo xtask chart-import`: an upstream `values.yaml` → `contract/apim-<line>.yaml`.
//!
//! Only key paths and the types of their values are written, never upstream text, values or
//! comments. The drift test runs the same function on the upstream files and compares bytes.

use std::path::{Path, PathBuf};

use crate::data::Declared;
use crate::values_paths::{ValuesPaths, ValuesYamlError};

/// Why a `values.yaml` cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The version is not `MAJOR.MINOR.PATCH`.
    #[error("--version {0}: write the exact chart version, MAJOR.MINOR.PATCH (e.g. 4.12.17)")]
    Version(String),
    /// The file is not YAML.
    #[error(transparent)]
    Yaml(#[from] ValuesYamlError),
}

/// The declared paths and types of one chart version's `values.yaml`.
pub fn declared_from_values_yaml(text: &str, version: &str) -> Result<Declared, ImportError> {
    let parts: Vec<&str> = version.split('.').collect();
    let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if parts.len() != 3 || !parts.iter().all(|p| numeric(p)) {
        return Err(ImportError::Version(version.to_string()));
    }
    Ok(Declared {
        chart: "apim".into(),
        version: format!("{}.{}", parts[0], parts[1]),
        imported_from: version.to_string(),
        paths: ValuesPaths::from_values_yaml(text)?.into_map(),
    })
}

/// The text of a contract file: a header of ours, then the data.
pub fn to_yaml(declared: &Declared) -> String {
    let body = serde_saphyr::to_string(declared).expect("plain data serializes");
    format!(
        "# The key paths the graviteeio/apim chart {} declares in its values.yaml (commented-out\n\
         # example keys included) and the type of each value. Written by\n\
         # `cargo xtask chart-import <values.yaml> --version {}`; do not edit by hand.\n{body}",
        declared.imported_from, declared.imported_from
    )
}

/// This crate's `contract/` directory.
pub fn contract_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contract")
}

/// The contract file of a chart line.
pub fn contract_file(line: &str) -> PathBuf {
    contract_dir().join(format!("apim-{line}.yaml"))
}
