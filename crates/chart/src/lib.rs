//! The contract between gatehouse and the `graviteeio/apim` Helm chart.
//!
//! The chart has no values schema and silently ignores keys it does not read, so a values file can
//! look right and deploy something else (the vendor guide's values give a gateway that rate-limits
//! in MongoDB and carries its secrets in plain text). This crate encodes what the chart reads:
//! - [`contract`]: every values path gatehouse relies on, each tied to the chart fact behind it, and
//!   [`contract::check`], which checks any values document (`serde_json::Value`) and names each
//!   defect with its path, the chart fact and the fix;
//! - [`values_paths`]: the key paths a chart's `values.yaml` documents, commented-out examples
//!   included, to prove that every emitted path is one the chart knows;
//! - [`rendered`]: checks of what the chart actually rendered (`gravitee.yml` in both the 4.9 and
//!   the 4.12 layout, the gateway Deployment's env), with a renderer that uses a `helm` binary or
//!   the PyPI package `helm-python-sdk`.
//!
//! No check ever puts a value found at a secret-bearing path into a message.

pub mod contract;
pub mod rendered;
pub mod values_paths;

pub use contract::{ChartKey, ContractError, Report, Severity, check};
pub use rendered::{ChartLayout, Expected, RenderError, RenderedError, Renderer};
pub use values_paths::ValuesPaths;
