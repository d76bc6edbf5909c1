//! Metrics and alerts (`metrics` in the model): the exporter sidecars, the Prometheus Operator
//! monitors and the alert rules.

pub mod alerts;
pub mod exporter;
pub mod monitors;
