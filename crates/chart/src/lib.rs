//! The contract between gatehouse and the `graviteeio/apim` Helm chart.
//!
//! The chart has no values schema and silently ignores keys it does not read, so a values file can
//! look right and deploy something else (the vendor guide's values give a gateway that rate-limits
//! in MongoDB and carries its secrets in plain text). This crate encodes what the chart reads:
//! - [`contract`]: every values path gatehouse relies on, each tied to the chart fact behind it
//!   (the table is generated from `crates/chart-contract/contract/emitted.yaml`), and
//!   [`contract::check`], which checks any values document (`serde_json::Value`) and names each
//!   defect with its path, the chart fact and the fix;
//! - [`values_paths`]: the key paths a chart's `values.yaml` documents, commented-out examples
//!   included (from gatehouse-chart-contract, which holds them per supported chart line);
//! - [`schema`]: a JSON schema of a hand-written values file for one supported chart line;
//! - [`rendered`]: checks of what the chart actually rendered (`gravitee.yml` in both the 4.9 and
//!   the 4.12 layout, the gateway Deployment's env), with a renderer that uses a `helm` binary or
//!   the PyPI package `helm-python-sdk`; [`gateway_tls`]: the gateway's Redis TLS settings in force
//!   in a rendered chart (env over `gravitee.yml` over the gateway's defaults).
//!
//! No check ever puts a value found at a secret-bearing path into a message.

pub mod contract;
pub mod gateway_tls;
pub mod rendered;
pub mod schema;

pub use gatehouse_chart_contract::values_paths;
pub use gatehouse_chart_contract::{SUPPORTED, SupportedChart, supported_chart};

pub use contract::{ChartKey, ContractError, Report, Severity, check};
pub use rendered::{ChartLayout, Expected, RenderError, RenderedError, Renderer};
pub use values_paths::ValuesPaths;
